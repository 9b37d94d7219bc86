"""
test_admin.py - admin oversight (API.md 5), admin-delegated creation
(5.3), the audit trail and users over HTTP (8), through lighttpd.
"""

from harness import ADMIN, ALICE, BOB, MSG_API_TOKEN, PASSWORDS, InstanceTestCase

MSG_ADMIN = "Admin access required"
MSG_NARROWED = "Token oversight requires un-narrowed admin access"
MSG_DELEG_ADMIN = "Admin access required to create tokens for other users"
MSG_DELEG_NARROWED = ("Admin-delegated token creation requires un-narrowed admin "
                      "access. Your session is narrowed to specific teams.")
ADMIN_ROUTES = (("GET", "/tokens/admin/all"), ("GET", "/tokens/admin/audit"),
                ("DELETE", "/tokens/admin/00000000-0000-4000-8000-000000000000"),
                ("GET", "/admin/users"))


class Admin(InstanceTestCase):

    def narrowed_admin(self):
        st, _, out = self.req("POST", "/auth/login", body={
            "email": ADMIN, "password": PASSWORDS[ADMIN], "teams": []})
        self.assertEqual(st, 200, out)
        return out["access_token"]

    def test_who_may_use_the_admin_routes(self):
        alice, narrowed = self.login(ALICE), self.narrowed_admin()
        st, out = self.inst.create_token(self.login(ADMIN), "admin-api")
        api = out["access_token"]
        for method, path in ADMIN_ROUTES:
            self.assertDetail(self.req(method, path, token=alice), 403, MSG_ADMIN)
            self.assertDetail(self.req(method, path, token=narrowed), 403, MSG_NARROWED)
            self.assertDetail(self.req(method, path, token=api), 403, MSG_API_TOKEN)
            self.assertEqual(self.req(method, path)[0], 401)

    def test_all_tokens_and_admin_revoke(self):
        admin = self.login(ADMIN)
        st, a1 = self.inst.create_token(self.login(ALICE), "a-one")
        st, b1 = self.inst.create_token(self.login(BOB), "b-one")
        st, _, out = self.req("GET", "/tokens/admin/all", token=admin)
        self.assertEqual(st, 200, out)
        ids = [t["id"] for t in out["tokens"]]
        self.assertIn(a1["token"]["id"], ids)
        self.assertIn(b1["token"]["id"], ids)
        self.assertEqual(out["limit"], 100)
        self.assertGreaterEqual(out["total"], 2)
        st, _, out = self.req("GET", "/tokens/admin/all?user_email=ALICE@example.com",
                              token=admin)
        self.assertEqual({t["user_email"] for t in out["tokens"]}, {ALICE})
        st, _, out = self.req("GET", "/tokens/admin/all?user_email=nobody@example.com",
                              token=admin)
        self.assertEqual((st, out["total"], out["tokens"]), (200, 0, []))
        self.assertEqual(self.req("GET", "/tokens/admin/all?user_email=x",
                                  token=admin)[0], 422)
        self.assertEqual(self.req("GET", "/tokens/admin/all?limit=0", token=admin)[0], 422)
        tid = b1["token"]["id"]
        self.assertEqual(self.req("DELETE", "/tokens/admin/" + tid, token=admin)[0], 204)
        st, _, t = self.req("GET", "/tokens/" + tid, token=self.login(BOB))
        self.assertEqual((t["is_revoked"], t["revoked_by"], t["revocation_reason"]),
                         (True, ADMIN, "Revoked by admin " + ADMIN))
        self.assertEqual(self.req("DELETE", "/tokens/admin/" + tid, token=admin)[0], 204)
        self.assertEqual(self.req("DELETE", "/tokens/admin/00000000-0000-4000-8000-"
                                  "000000000000", token=admin)[0], 404)
        st, _, out = self.req("GET", "/tokens/admin/all", token=admin)
        self.assertNotIn(tid, [t["id"] for t in out["tokens"]])
        st, _, out = self.req("GET", "/tokens/admin/all?include_inactive=true", token=admin)
        self.assertIn(tid, [t["id"] for t in out["tokens"]])

    def test_delegated_creation(self):
        admin, alice, narrowed = self.login(ADMIN), self.login(ALICE), self.narrowed_admin()
        st, out = self.inst.create_token(admin, "for-alice", user_email=ALICE)
        self.assertEqual(st, 201, out)
        self.assertEqual((out["token"]["user_email"], out["token"]["created_by"]),
                         (ALICE, ADMIN))
        st, _, me = self.req("GET", "/auth/me", token=out["access_token"])
        self.assertEqual(me["user"]["email"], ALICE, "the token belongs to the target")
        st, out = self.inst.create_token(alice, "for-bob", user_email=BOB)
        self.assertEqual((st, out["detail"]), (403, MSG_DELEG_ADMIN))
        st, out = self.inst.create_token(narrowed, "narrow-bob", user_email=BOB)
        self.assertEqual((st, out["detail"]), (403, MSG_DELEG_NARROWED))
        st, out = self.inst.create_token(alice, "self-case", user_email="Alice@Example.com")
        self.assertEqual((st, out["token"]["user_email"]), (201, ALICE))
        st, out = self.inst.create_token(admin, "admin-self", user_email=ADMIN)
        self.assertEqual((st, out["token"]["created_by"]), (201, ADMIN))
        st, out = self.inst.create_token(narrowed, "narrow-self", user_email=ADMIN)
        self.assertEqual(st, 201, out)
        st, out = self.inst.create_token(admin, "ghost", user_email="ghost@example.com")
        self.assertEqual(st, 400, out)
        st, out = self.inst.create_token(admin, "bad", user_email="not-an-email")
        self.assertEqual(st, 422, out)
        tid = self.inst.cli("team", "add", "Delegates", "--owner", ADMIN).stdout.strip()
        st, out = self.inst.create_token(admin, "team-alice", user_email=ALICE, team_id=tid)
        self.assertEqual(st, 400, "the target must be a member: no admin bypass")
        self.inst.cli("team", "member", "add", tid, ALICE)
        st, out = self.inst.create_token(admin, "team-alice", user_email=ALICE, team_id=tid)
        self.assertEqual((st, out["token"]["team_id"]), (201, tid))

    def test_audit_trail(self):
        admin, alice = self.login(ADMIN), self.login(ALICE)
        st, own = self.inst.create_token(alice, "audited")
        st, dele = self.inst.create_token(admin, "audited-deleg", user_email=ALICE)
        tid = own["token"]["id"]
        self.req("PUT", "/tokens/" + tid, token=alice, body={"description": "x"})
        st, _, rot = self.req("POST", "/tokens/%s/rotate" % tid, token=alice)
        self.req("DELETE", "/tokens/" + rot["token"]["id"], token=alice)
        self.req("DELETE", "/tokens/admin/" + dele["token"]["id"], token=admin)
        st, _, out = self.req("GET", "/tokens/admin/audit?user_email=" + ALICE, token=admin)
        self.assertEqual(st, 200, out)
        actions = [e["action"] for e in out["events"]]
        for a in ("token.create", "token.create.delegated", "token.update",
                  "token.rotate", "token.revoke", "token.admin_revoke"):
            self.assertIn(a, actions)
        self.assertEqual(actions[0], "token.admin_revoke", "newest first")
        deleg = [e for e in out["events"] if e["action"] == "token.create.delegated"][0]
        self.assertEqual((deleg["actor"], deleg["target_user"], deleg["token_id"]),
                         (ADMIN, ALICE, dele["token"]["id"]))
        for k in ("at", "actor", "action", "token_id", "target_user", "detail"):
            self.assertIn(k, deleg)
        cli = [e for e in out["events"] if e["actor"] == "tokencat(1)"]
        self.assertIn("user.create", [e["action"] for e in cli],
                      "users added with tokencat(1) are in the trail too")
        st, _, page = self.req("GET", "/tokens/admin/audit?limit=2&offset=1", token=admin)
        self.assertEqual((len(page["events"]), page["limit"], page["offset"]), (2, 2, 1))


class Users(InstanceTestCase):

    def test_users_over_http(self):
        admin = self.login(ADMIN)
        st, _, out = self.req("GET", "/admin/users?limit=2", token=admin)
        self.assertEqual((st, out["total"], len(out["users"])), (200, 3, 2))
        body = {"email": "Carol@Example.com", "password": "carol-password-1",
                "full_name": "Carol", "is_admin": False}
        st, _, u = self.req("POST", "/admin/users", token=admin, body=body)
        self.assertEqual(st, 201, u)
        self.assertEqual((u["email"], u["is_active"], u["is_admin"]),
                         ("carol@example.com", True, False))
        self.assertEqual(self.req("POST", "/admin/users", token=admin, body=body)[0], 409)
        short = dict(body, email="dave@example.com", password="short")
        st, _, out = self.req("POST", "/admin/users", token=admin, body=short)
        self.assertEqual(st, 422, out)
        self.assertTrue(out["detail"].startswith("password:"))
        carol = self.login("carol@example.com", "carol-password-1")
        st, tok = self.inst.create_token(carol, "carol-token")
        hdrs = {"X-Original-URI": "/x", "X-Original-Method": "GET"}
        self.assertEqual(self.req("GET", "/auth/check", token=tok["access_token"],
                                  headers=hdrs)[0], 200)
        st, _, u = self.req("PATCH", "/admin/users/carol@example.com", token=admin,
                            body={"is_active": False})
        self.assertEqual((st, u["is_active"]), (200, False))
        self.assertEqual(self.req("GET", "/auth/me", token=carol)[0], 401,
                         "disabling stops sessions at once")
        self.assertEqual(self.req("GET", "/auth/check", token=tok["access_token"],
                                  headers=hdrs)[0], 401, "and tokens")
        st, _, u = self.req("PATCH", "/admin/users/carol@example.com", token=admin,
                            body={"is_active": True, "password": "carol-password-2"})
        self.assertEqual(st, 200, u)
        self.login("carol@example.com", "carol-password-2")
        self.assertEqual(self.req("PATCH", "/admin/users/nobody@example.com", token=admin,
                                  body={"is_admin": True})[0], 404)
        self.assertEqual(self.req("PATCH", "/admin/users/carol@example.com", token=admin,
                                  body={"is_admin": "yes"})[0], 422)
