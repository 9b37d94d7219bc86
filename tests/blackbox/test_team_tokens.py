"""
test_team_tokens.py - team tokens over HTTP (API.md 5): POST and GET
/tokens/teams/{team_id}, team tokens in GET /tokens for every member, reads
and edits for the owner only, revocation by a team owner.
"""

from harness import ADMIN, ALICE, BOB, PASSWORDS, InstanceTestCase


class TeamTokens(InstanceTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team = cls.inst.cli("team", "add", "Platform", "--owner", ALICE).stdout.strip()
        cls.inst.cli("team", "member", "add", cls.team, BOB)
        cls.other = cls.inst.cli("team", "add", "Elsewhere", "--owner", ADMIN).stdout.strip()

    def create(self, who, name, team, **body):
        body = dict({"name": name, "expires_in_days": 5}, **body)
        return self.req("POST", "/tokens/teams/" + team, token=self.login(who), body=body)

    def test_create_on_the_team_route(self):
        st, _, out = self.create(BOB, "bob-platform", self.team, team_id=self.other)
        self.assertEqual(st, 201, out)
        self.assertEqual(out["token"]["team_id"], self.team, "the path wins over the body")
        st, _, out = self.create(BOB, "bob-elsewhere", self.other)
        self.assertEqual(st, 400, "bob is not a member of that team")
        st, _, out = self.create(ADMIN, "admin-platform", self.team)
        self.assertEqual(st, 201, "an un-narrowed admin creates for itself anywhere")
        st, _, out = self.create(BOB, "nowhere", "f" * 32)
        self.assertEqual(st, 404, out)
        st, _, out = self.create(ADMIN, "for-bob", self.other, user_email=BOB)
        self.assertEqual(st, 400, "delegation needs the target in the team")

    def test_the_body_team_id_is_ignored_whatever_it_holds(self):
        for i, junk in enumerate(("ignored", "", 42, None, ["x"], {"a": 1},
                                  "F" * 32, "../x")):
            st, _, out = self.create(BOB, "ignored-%d" % i, self.team,
                                     team_id=junk)
            self.assertEqual(st, 201, (junk, out))
            self.assertEqual(out["token"]["team_id"], self.team)
        # on POST /tokens a bad team_id is still a field error
        st, _, out = self.req("POST", "/tokens", token=self.login(BOB), body={
            "name": "bad-team", "expires_in_days": 1, "team_id": "ignored"})
        self.assertEqual(st, 422, out)
        self.assertTrue(out["detail"].startswith("team_id:"), out)

    def test_members_see_team_tokens_owner_edits_team_owner_revokes(self):
        st, _, out = self.create(BOB, "bob-visible", self.team)
        tid = out["token"]["id"]
        alice = self.login(ALICE)
        st, _, lst = self.req("GET", "/tokens?limit=1000", token=alice)
        self.assertIn(tid, [t["id"] for t in lst["tokens"]], "team members see it")
        self.assertEqual(lst["total"], len(lst["tokens"]))
        self.assertEqual(self.req("GET", "/tokens/" + tid, token=alice)[0], 404,
                         "only the owner reads one")
        self.assertEqual(self.req("PUT", "/tokens/" + tid, token=alice,
                                  body={"name": "x"})[0], 404, "or edits it")
        st, _, own = self.req("POST", "/tokens", token=alice,
                              body={"name": "alice-own", "expires_in_days": 1,
                                    "team_id": self.team})
        self.assertEqual(self.req("DELETE", "/tokens/" + own["token"]["id"],
                                  token=self.login(BOB))[0], 404,
                         "a member does not revoke others' tokens")
        self.assertEqual(self.req("DELETE", "/tokens/" + tid, token=alice)[0], 204,
                         "the team owner revokes any token of the team")
        st, _, t = self.req("GET", "/tokens/" + tid, token=self.login(BOB))
        self.assertEqual((t["is_revoked"], t["revoked_by"]), (True, ALICE))

    def test_team_list_route(self):
        self.create(BOB, "bob-listed", self.team)
        st, _, out = self.req("GET", "/tokens/teams/" + self.team, token=self.login(BOB))
        self.assertEqual(st, 200, out)
        self.assertEqual({t["team_id"] for t in out["tokens"]}, {self.team})
        self.assertIn("bob-listed", [t["name"] for t in out["tokens"]])
        self.assertEqual(self.req("GET", "/tokens/teams/" + self.other,
                                  token=self.login(BOB))[0], 403)
        self.assertEqual(self.req("GET", "/tokens/teams/" + self.team,
                                  token=self.login(ADMIN))[0], 200)
        st, _, narrowed = self.req("POST", "/auth/login", body={
            "email": ADMIN, "password": PASSWORDS[ADMIN], "teams": []})
        self.assertEqual(self.req("GET", "/tokens/teams/" + self.team,
                                  token=narrowed["access_token"])[0], 403,
                         "a narrowed admin loses the team bypass")
        self.assertEqual(self.req("GET", "/tokens/teams/" + "e" * 32,
                                  token=self.login(BOB))[0], 404)
        self.assertEqual(self.req("GET", "/tokens/teams/%s?limit=0" % self.team,
                                  token=self.login(BOB))[0], 422)
