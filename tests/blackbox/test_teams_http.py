"""
test_teams_http.py - the team routes of API.md 8 through lighttpd: create
and list teams, read one, list, add (an owner invites, an admin adds) and
remove members, with the owner and admin rules, the last-owner rule and
the error statuses. Invitations in detail: test_invitations.py.
"""

from harness import ADMIN, ALICE, BOB, InstanceTestCase

TEAM_FIELDS = ("id", "name", "created_at", "member_count", "role")


class TeamRoutes(InstanceTestCase):

    def test_create_list_read(self):
        alice = self.login(ALICE)
        st, h, t = self.req("POST", "/teams", token=alice, body={"name": "Ops"})
        self.assertEqual(st, 201, t)
        self.assertStdHeaders(h)
        for k in TEAM_FIELDS:
            self.assertIn(k, t)
        self.assertRegex(t["id"], r"^[0-9a-f]{32}$")
        self.assertEqual((t["name"], t["member_count"], t["role"]), ("Ops", 1, "owner"))
        st, _, out = self.req("POST", "/teams", token=alice, body={"name": "ops"})
        self.assertEqual(st, 409, out)
        st, _, out = self.req("POST", "/teams", token=alice, body={"name": ""})
        self.assertEqual(st, 422, out)
        self.assertTrue(out["detail"].startswith("name:"))
        st, _, out = self.req("GET", "/teams", token=alice)
        self.assertEqual(st, 200, out)
        self.assertIn(t["id"], [x["id"] for x in out])
        st, _, out = self.req("GET", "/teams/" + t["id"], token=alice)
        self.assertEqual((st, out["name"]), (200, "Ops"))
        bob = self.login(BOB)
        self.assertEqual(self.req("GET", "/teams/" + t["id"], token=bob)[0], 403)
        self.assertEqual(self.req("GET", "/teams/" + "0" * 32, token=bob)[0], 404)
        st, _, out = self.req("GET", "/teams", token=bob)
        self.assertNotIn(t["id"], [x["id"] for x in out])
        admin = self.login(ADMIN)
        st, _, out = self.req("GET", "/teams?all=true", token=admin)
        self.assertIn(t["id"], [x["id"] for x in out])
        self.assertEqual(self.req("GET", "/teams?all=maybe", token=admin)[0], 422)
        self.assertEqual(self.req("GET", "/teams/" + t["id"], token=admin)[0], 200)

    def test_members(self):
        alice, bob = self.login(ALICE), self.login(BOB)
        st, _, t = self.req("POST", "/teams", token=alice, body={"name": "Dev"})
        tid = t["id"]
        path = "/teams/%s/members" % tid
        st, _, out = self.req("POST", path, token=bob, body={"email": BOB})
        self.assertEqual(st, 403, "only an owner adds members")
        # a team owner invites; the invitee joins by accepting
        st, _, out = self.req("POST", path, token=alice, body={"email": BOB})
        self.assertEqual((st, out["role"], out["status"]), (202, "member", "pending"))
        st, _, out = self.req("POST", "/teams/invitations/%s/accept" % tid, token=bob)
        self.assertEqual((st, out["role"]), (200, "member"), out)
        st, _, out = self.req("POST", path, token=alice, body={"email": BOB, "role": "owner"})
        self.assertEqual((st, out["role"]), (200, "owner"), "an existing member: role updated")
        st, _, out = self.req("POST", path, token=alice, body={"email": "no@example.com"})
        self.assertEqual(st, 202, out)
        st, _, out = self.req("POST", path, token=alice, body={"email": BOB, "role": "boss"})
        self.assertEqual(st, 422, out)
        st, _, out = self.req("POST", path, token=alice, body={"email": "not-an-email"})
        self.assertEqual(st, 422, out)
        st, _, out = self.req("GET", path, token=bob)
        self.assertEqual(st, 200, out)
        self.assertEqual(sorted((m["email"], m["role"]) for m in out),
                         [(ALICE, "owner"), (BOB, "owner")])
        for m in out:
            self.assertIsNotNone(m["joined_at"])
        self.assertEqual(self.req("DELETE", "%s/%s" % (path, ALICE), token=bob)[0], 204)
        st, _, out = self.req("DELETE", "%s/%s" % (path, BOB), token=bob)
        self.assertEqual(st, 409, "the last owner stays")
        self.assertEqual(self.req("DELETE", "%s/%s" % (path, ALICE), token=bob)[0], 404)
        st, _, out = self.req("GET", "/teams/" + tid, token=bob)
        self.assertEqual(out["member_count"], 1)
        # an un-narrowed admin manages any team, and adds at once
        admin = self.login(ADMIN)
        st, _, out = self.req("POST", path, token=admin, body={"email": ALICE})
        self.assertEqual(st, 201, out)
        st, _, out = self.req("POST", path, token=admin, body={"email": "no@example.com"})
        self.assertEqual((st, out["detail"]), (400, "email: user not found"))

    def test_team_creation_needs_a_session(self):
        st, out = self.inst.create_token(self.login(ALICE), "team-maker")
        st, _, out = self.req("POST", "/teams", token=out["access_token"],
                              body={"name": "Nope"})
        self.assertEqual(st, 403)
        self.assertEqual(self.req("GET", "/teams")[0], 401)


class TeamCreationRestricted(InstanceTestCase):
    CONF = {"allow_team_creation": "false"}

    def test_only_admins_create_teams(self):
        st, _, out = self.req("POST", "/teams", token=self.login(ALICE),
                              body={"name": "Blocked"})
        self.assertEqual((st, out["detail"]), (403, "Team creation is restricted to admins"))
        st, _, out = self.req("POST", "/teams", token=self.login(ADMIN),
                              body={"name": "Allowed"})
        self.assertEqual(st, 201, out)
