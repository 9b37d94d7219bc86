"""
test_narrowing.py - a session narrowed to teams acts only within them, on
every route (API.md 8): the team routes of a team outside the scope are
403 "Your session is not scoped to this team" (members, adds, removals
and invitations included), the team list holds only the teams in scope,
and the caller's own tokens of a team outside the scope are 404 "Token
not found" on get, put, delete, rotate and usage and absent from GET
/tokens. Team-less own tokens stay visible.
"""

from harness import (ADMIN, ALICE, BOB, MSG_NOT_FOUND, PASSWORDS,
                     InstanceTestCase)

NOT_SCOPED = "Your session is not scoped to this team"


class Narrowing(InstanceTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cli = cls.inst.cli
        cls.a = cli("team", "add", "Team A", "--owner", ALICE).stdout.strip()
        cls.b = cli("team", "add", "Team B", "--owner", ALICE).stdout.strip()
        cli("team", "member", "add", cls.a, BOB)
        alice = cls.inst.login(ALICE)
        cls.tok = {}
        for name, team in (("alice-own", None), ("alice-a", cls.a),
                           ("alice-b", cls.b)):
            body = {"name": name, "expires_in_days": 5}
            if team is not None:
                body["team_id"] = team
            st, _, out = cls.inst.req("POST", "/tokens", body, token=alice)
            assert st == 201, (st, out)
            cls.tok[name] = out["token"]["id"]
        st, _, out = cls.inst.req("POST", "/tokens", {
            "name": "bob-a", "expires_in_days": 5, "team_id": cls.a},
            token=cls.inst.login(BOB))
        assert st == 201, (st, out)
        cls.tok["bob-a"] = out["token"]["id"]

    def narrowed(self, teams, email=ALICE):
        st, _, out = self.req("POST", "/auth/login", body={
            "email": email, "password": PASSWORDS[email], "teams": teams})
        self.assertEqual(st, 200, out)
        return out["access_token"]

    def scopes(self):
        """(name, session) of each session that does not cover team A."""
        return (("narrowed to B", self.narrowed([self.b])),
                ("public-only", self.narrowed([])))

    # -- teams

    def test_team_reads_outside_the_scope(self):
        for name, s in self.scopes():
            for path in ("/teams/" + self.a, "/teams/%s/members" % self.a,
                         "/teams/%s/invitations" % self.a,
                         "/tokens/teams/" + self.a):
                resp = self.req("GET", path, token=s)
                self.assertEqual(resp[0], 403, "%s: GET %s" % (name, path))
                self.assertDetail(resp, 403, NOT_SCOPED)
        s = self.narrowed([self.b])
        self.assertEqual(self.req("GET", "/teams/" + self.b, token=s)[0], 200)
        self.assertEqual(self.req("GET", "/teams/%s/members" % self.b, token=s)[0], 200)
        s = self.narrowed([self.a])
        self.assertEqual(self.req("GET", "/teams/" + self.a, token=s)[0], 200)

    def test_team_changes_outside_the_scope(self):
        for name, s in self.scopes():
            for method, path, body in (
                    ("POST", "/teams/%s/members" % self.a, {"email": "x@example.com"}),
                    ("DELETE", "/teams/%s/members/%s" % (self.a, BOB), None),
                    ("DELETE", "/teams/%s/invitations/%s" % (
                        self.a, "x@example.com"), None)):
                resp = self.req(method, path, body, token=s)
                self.assertEqual(resp[0], 403, "%s: %s %s" % (name, method, path))
                self.assertDetail(resp, 403, NOT_SCOPED)
        st, _, members = self.req("GET", "/teams/%s/members" % self.a,
                                  token=self.login(ALICE))
        self.assertEqual(sorted(m["email"] for m in members), sorted([ALICE, BOB]))
        st, _, out = self.req("GET", "/teams/%s/invitations" % self.a,
                              token=self.login(ALICE))
        self.assertEqual((st, out), (200, []), "nobody was invited")

    def test_a_narrowed_admin_reads_no_team_outside(self):
        s = self.narrowed([self.b], ADMIN)
        self.assertDetail(self.req("GET", "/teams/" + self.a, token=s), 403, NOT_SCOPED)
        self.assertDetail(self.req("POST", "/teams/%s/members" % self.a, token=s,
                                   body={"email": ADMIN}), 403, NOT_SCOPED)

    def test_the_team_list_holds_the_teams_in_scope(self):
        st, _, out = self.req("GET", "/teams", token=self.narrowed([self.b]))
        self.assertEqual((st, [t["id"] for t in out]), (200, [self.b]))
        st, _, out = self.req("GET", "/teams", token=self.narrowed([]))
        self.assertEqual((st, out), (200, []))
        st, _, out = self.req("GET", "/teams?all=true",
                              token=self.narrowed([self.b], ADMIN))
        self.assertEqual((st, [t["id"] for t in out]), (200, [self.b]))

    # -- the caller's own tokens

    def test_own_tokens_of_a_team_outside_are_not_found(self):
        tid = self.tok["alice-a"]
        for name, s in self.scopes():
            for method, path, body in (
                    ("GET", "/tokens/" + tid, None),
                    ("PUT", "/tokens/" + tid, {"name": "renamed"}),
                    ("PUT", "/tokens/" + tid, {"scope": {"permissions": []}}),
                    ("GET", "/tokens/%s/usage" % tid, None),
                    ("POST", "/tokens/%s/rotate" % tid, None),
                    ("DELETE", "/tokens/" + tid, None)):
                resp = self.req(method, path, body, token=s)
                self.assertEqual(resp[0], 404, "%s: %s %s %r" % (name, method,
                                                                 path, body))
                self.assertDetail(resp, 404, MSG_NOT_FOUND)
        st, _, t = self.req("GET", "/tokens/" + tid, token=self.login(ALICE))
        self.assertEqual((st, t["name"], t["is_active"], t["is_revoked"]),
                         (200, "alice-a", True, False), "nothing changed")
        # within the scope, and team-less, they are the caller's as ever
        s = self.narrowed([self.a])
        self.assertEqual(self.req("GET", "/tokens/" + tid, token=s)[0], 200)
        self.assertEqual(self.req("GET", "/tokens/%s/usage" % tid, token=s)[0], 200)
        s = self.narrowed([])
        self.assertEqual(self.req("GET", "/tokens/" + self.tok["alice-own"],
                                  token=s)[0], 200)

    def test_the_token_list_holds_own_tokens_in_scope(self):
        cases = ((self.narrowed([self.b]), {"alice-own", "alice-b"}),
                 (self.narrowed([]), {"alice-own"}),
                 (self.narrowed([self.a]), {"alice-own", "alice-a", "bob-a"}),
                 (self.login(ALICE), {"alice-own", "alice-a", "alice-b", "bob-a"}))
        for s, want in cases:
            for inactive in ("false", "true"):
                st, _, out = self.req("GET", "/tokens?limit=1000&include_inactive="
                                      + inactive, token=s)
                self.assertEqual(st, 200, out)
                ids = {t["id"] for t in out["tokens"]}
                mine = {n for n, i in self.tok.items() if i in ids}
                self.assertEqual(mine, want, "include_inactive=" + inactive)
                self.assertEqual(out["total"], len(out["tokens"]))
            # a page of one still counts only what is in scope
            st, _, page = self.req("GET", "/tokens?limit=1&offset=0", token=s)
            self.assertEqual(page["total"], len(want))
