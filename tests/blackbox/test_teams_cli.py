"""
test_teams_cli.py - teams made with `tokencat team ...` as seen over HTTP:
/auth/me lists them, team tokens follow the rules of API.md 5.1 (a named
team must exist and hold the owner; the only team is inherited), narrowed
sessions, the last-owner rule and the CLI's exit statuses.
"""

from harness import ADMIN, ALICE, BOB, PASSWORDS, InstanceTestCase, jwt_claims


class Teams(InstanceTestCase):

    def team(self, name, owner=None):
        args = ["team", "add", name] + (["--owner", owner] if owner else [])
        tid = self.inst.cli(*args).stdout.strip()
        self.assertRegex(tid, r"^[0-9a-f]{32}$")
        return tid

    def test_membership_shows_in_me_and_team_tokens_follow_it(self):
        carol = "carol@example.com"     # a user of her own: no other teams
        self.inst.add_user(carol, "carol-password-1")
        tid = self.team("Blue", owner=carol)
        alice = self.login(carol, "carol-password-1")
        st, _, me = self.req("GET", "/auth/me", token=alice)
        self.assertEqual(st, 200, me)
        self.assertEqual(me["teams"], [{"id": tid, "name": "Blue", "role": "owner"}])
        # the only team is inherited by a token without team_id
        st, out = self.inst.create_token(alice, "inherits")
        self.assertEqual(st, 201, out)
        self.assertEqual(out["token"]["team_id"], tid)
        self.assertEqual(jwt_claims(out["access_token"])["teams"], [tid])
        # the same name is free in another team context only
        st, out = self.inst.create_token(alice, "inherits", team_id=tid)
        self.assertEqual(st, 409, out)

    def test_named_team_must_exist_and_hold_the_owner(self):
        tid = self.team("Green", owner=ADMIN)
        bob = self.login(BOB)
        st, out = self.inst.create_token(bob, "not-member", team_id=tid)
        self.assertEqual((st, out["detail"]),
                         (400, "team_id: the token owner is not a member of this team"))
        st, out = self.inst.create_token(bob, "no-team", team_id="0" * 32)
        self.assertEqual((st, out["detail"]), (400, "team_id: team not found"))
        st, out = self.inst.create_token(bob, "bad-id", team_id="XYZ")
        self.assertEqual(st, 422, out)
        self.assertTrue(out["detail"].startswith("team_id:"), out)
        self.inst.cli("team", "member", "add", tid, BOB)
        st, out = self.inst.create_token(bob, "member-now", team_id=tid)
        self.assertEqual(st, 201, out)
        self.assertEqual(out["token"]["team_id"], tid)
        # an un-narrowed admin may name any team for itself
        other = self.team("Orange")
        st, out = self.inst.create_token(self.login(ADMIN), "admin-any", team_id=other)
        self.assertEqual((st, out["token"]["team_id"]), (201, other))

    def test_narrowed_session(self):
        t1 = self.team("Red", owner=ALICE)
        t2 = self.team("Yellow", owner=ALICE)
        st, _, out = self.req("POST", "/auth/login", body={
            "email": ALICE, "password": PASSWORDS[ALICE], "teams": [t1]})
        self.assertEqual(st, 200, out)
        sess = out["access_token"]
        self.assertEqual(jwt_claims(sess)["teams"], [t1])
        st, _, me = self.req("GET", "/auth/me", token=sess)
        self.assertEqual(me["token_teams"], [t1])
        st, out = self.inst.create_token(sess, "outside", team_id=t2)
        self.assertEqual((st, out["detail"]), (403, "Your session is not scoped to this team"))
        # teams the user does not belong to cannot be asked for
        other = self.team("Purple")
        st, _, out = self.req("POST", "/auth/login", body={
            "email": ALICE, "password": PASSWORDS[ALICE], "teams": [other]})
        self.assertEqual(st, 400, out)
        st, _, out = self.req("POST", "/auth/login", body={
            "email": ALICE, "password": PASSWORDS[ALICE], "teams": "x"})
        self.assertEqual(st, 422, out)

    def test_cli_member_rules_and_exit_statuses(self):
        tid = self.team("Cyan", owner=ALICE)
        p = self.inst.cli("team", "member", "remove", tid, ALICE, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("last owner", p.stderr)
        p = self.inst.cli("team", "member", "add", tid, ALICE, "--role", "member",
                          check=False)
        self.assertEqual(p.returncode, 1)
        self.inst.cli("team", "member", "add", tid, BOB, "--role", "owner")
        self.inst.cli("team", "member", "remove", tid, ALICE)
        st, _, me = self.req("GET", "/auth/me", token=self.login(ALICE))
        self.assertEqual(me["teams"], [])
        p = self.inst.cli("team", "add", "cyan", check=False)
        self.assertEqual(p.returncode, 1, "team names are unique, ignoring case")
        p = self.inst.cli("team", "member", "add", "f" * 32, BOB, check=False)
        self.assertEqual(p.returncode, 1)
        p = self.inst.cli("team", "member", "add", tid, BOB, "--role", "boss",
                          check=False)
        self.assertEqual(p.returncode, 2)
        p = self.inst.cli("team", "add", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage:", p.stderr)
