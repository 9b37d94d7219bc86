"""
test_enforce.py - the enforcement point (API.md 7) through lighttpd: GET
/auth/check (nginx auth_request), the FastCGI Authorizer role guarding a
static directory, introspection (RFC 7662), self-revocation (RFC 7009),
usage statistics, rotation, and the rule that the store record decides at
every use.
"""

import os
import signal
import time
import urllib.parse

from harness import ADMIN, ALICE, BOB, WWW_AUTH, WWW_AUTH_INVALID, \
    InstanceTestCase, wait_until

RULES = ["GET /tools/ tools.read", "* /tools/run tools.execute"]


class Check(InstanceTestCase):
    CONF = {"rule": RULES, "trusted_proxies": "127.0.0.1"}

    def token(self, name, scope=None, who=ALICE, **fields):
        st, out = self.inst.create_token(self.login(who), name,
                                         scope=scope or {}, **fields)
        self.assertEqual(st, 201, out)
        return out["token"]["id"], out["access_token"]

    def check(self, tok, uri="/tools/list", method="GET", xff=None):
        hdrs = {"X-Original-URI": uri, "X-Original-Method": method}
        if xff is not None:
            hdrs["X-Forwarded-For"] = xff
        return self.req("GET", "/auth/check", token=tok, headers=hdrs)

    def test_allow_sets_identity_headers(self):
        tid, tok = self.token("chk-allow", {"permissions": ["tools.read"]})
        st, h, out = self.check(tok, "/tools/list?x=1")
        self.assertEqual(st, 200, out)
        self.assertEqual(h.get("X-Tokencat-User"), ALICE)
        self.assertEqual(h.get("X-Tokencat-Token-Id"), tid)
        self.assertEqual(h.get("X-Tokencat-Scopes"), "tools.read")
        # no team: the header is empty, which lighttpd passes on as absent
        self.assertIn(h.get("X-Tokencat-Teams"), (None, ""))
        self.assertEqual(out["allowed"], True)

    def test_denials_and_their_statuses(self):
        _, tok = self.token("chk-deny", {"permissions": ["tools.read"]})
        st, h, out = self.check(None)
        self.assertEqual((st, h.get("WWW-Authenticate")), (401, WWW_AUTH))
        st, h, out = self.check("not.a.jwt")
        self.assertEqual((st, h.get("WWW-Authenticate")), (401, WWW_AUTH_INVALID))
        st, _, out = self.check(self.login(ALICE))
        self.assertEqual(st, 401, "a session is not accepted at the enforcement point")
        st, _, out = self.check(tok, "/tools/run", "POST")
        self.assertEqual(st, 403, out)
        self.assertIn("tools.execute", out["detail"])
        st, _, out = self.check(tok, "/elsewhere")
        self.assertEqual(st, 403, "a restricted token without a matching rule")
        st, _, out = self.req("GET", "/auth/check", token=tok)
        self.assertEqual(st, 400, out)
        self.assertTrue(out["detail"].startswith("X-Original-URI"))

    def test_the_store_record_decides_at_once(self):
        tid, tok = self.token("chk-live")
        sess = self.login(ALICE)
        self.assertEqual(self.check(tok)[0], 200)
        st, _, _ = self.req("PUT", "/tokens/" + tid, token=sess,
                            body={"is_active": False})
        self.assertEqual(st, 200)
        self.assertEqual(self.check(tok)[0], 401, "deactivation applies at once")
        self.req("PUT", "/tokens/" + tid, token=sess, body={"is_active": True})
        self.assertEqual(self.check(tok)[0], 200)
        self.req("PUT", "/tokens/" + tid, token=sess,
                 body={"scope": {"ip_restrictions": ["10.9.9.9"]}})
        self.assertEqual(self.check(tok)[0], 403, "a scope edit applies at once")
        self.req("PUT", "/tokens/" + tid, token=sess, body={"scope": {}})
        self.assertEqual(self.check(tok)[0], 200)
        self.inst.cli("user", "set", ALICE, "--disable")
        try:
            self.assertEqual(self.check(tok)[0], 401, "a disabled owner")
        finally:
            self.inst.cli("user", "set", ALICE, "--enable")
        self.assertEqual(self.check(tok)[0], 200)
        self.assertEqual(self.req("DELETE", "/tokens/" + tid, token=sess)[0], 204)
        self.assertEqual(self.check(tok)[0], 401, "revocation applies at once")

    def test_usage_limit_429_with_retry_after(self):
        _, tok = self.token("chk-limit", {"usage_limits": {"requests_per_minute": 3}})
        for i in range(3):
            self.assertEqual(self.check(tok)[0], 200, "use %d" % (i + 1))
        st, h, out = self.check(tok)
        self.assertEqual(st, 429, out)
        retry = int(h.get("Retry-After"))
        # counted in 1 s buckets: the oldest use leaves within 61 s
        self.assertTrue(1 <= retry <= 61, retry)
        self.assertIn("per minute", out["detail"])

    def test_usage_limit_is_exact_across_workers(self):
        """Each check is a new connection and may go to either worker: an
        allowed use of a limited token is counted in the host's admission
        table before the answer, so whichever worker takes the next check
        counts it (the cross-worker case itself is pinned down by
        test_handlers and test_store, with several processes)."""
        self.assertEqual(len(self.inst.worker_pids()), 2)
        for limit in (1, 2, 5, 7):
            _, tok = self.token("chk-exact-%d" % limit,
                                {"usage_limits": {"requests_per_minute": limit}})
            got = [self.check(tok)[0] for _ in range(limit + 4)]
            self.assertEqual(got, [200] * limit + [429] * 4, limit)

    def test_usage_limit_counts_the_uses_of_killed_workers(self):
        """SIGKILL of every worker, with the uses they admitted still in
        their batches (LMDB: counted in the admission table; PostgreSQL:
        in the database): the workers lighttpd starts again count them."""
        _, tok = self.token("chk-kill9", {"usage_limits": {"requests_per_minute": 4}})
        self.assertEqual([self.check(tok)[0] for _ in range(2)], [200, 200])
        old = self.inst.worker_pids()
        for p in old:
            os.kill(p, signal.SIGKILL)
        wait_until(lambda: len(set(self.inst.worker_pids()) - set(old)) == 2 and
                   self.req("GET", "/health")[0] == 200, 15,
                   "lighttpd started the workers again")
        got = [self.check(tok)[0] for _ in range(4)]
        self.assertEqual(got, [200, 200, 429, 429])

    def test_forwarded_for_from_a_trusted_proxy(self):
        _, tok = self.token("chk-ip", {"ip_restrictions": ["192.0.2.7"]})
        self.assertEqual(self.check(tok, xff="192.0.2.7")[0], 200)
        self.assertEqual(self.check(tok, xff="198.51.100.1, 192.0.2.7")[0], 200)
        self.assertEqual(self.check(tok, xff="192.0.2.7, 198.51.100.1")[0], 403)
        self.assertEqual(self.check(tok)[0], 403, "the proxy itself is not allowed")

    def test_team_token_of_a_removed_member(self):
        tid_team = self.inst.cli("team", "add", "Enforcers", "--owner", ADMIN).stdout.strip()
        self.inst.cli("team", "member", "add", tid_team, BOB)
        _, tok = self.token("chk-team", who=BOB, team_id=tid_team)
        st, h, _ = self.check(tok)
        self.assertEqual((st, h.get("X-Tokencat-Teams")), (200, tid_team))
        self.inst.cli("team", "member", "remove", tid_team, BOB)
        self.assertEqual(self.check(tok)[0], 403)

    def test_usage_statistics_after_known_uses(self):
        tid, tok = self.token("chk-stats", {"permissions": ["tools.read"]})
        sess = self.login(ALICE)
        for uri in ("/tools/a", "/tools/a?q=1", "/tools/b"):
            self.assertEqual(self.check(tok, uri)[0], 200)
        self.assertEqual(self.check(tok, "/tools/run", "POST")[0], 403)
        st, _, u = self.req("GET", "/tokens/%s/usage?days=7" % tid, token=sess)
        self.assertEqual(st, 200, u)
        self.assertEqual(u["period_days"], 7)
        self.assertEqual((u["total_requests"], u["successful_requests"],
                          u["blocked_requests"]), (4, 3, 1))
        self.assertEqual(u["success_rate"], 0.75)
        self.assertGreater(u["average_response_time_ms"], 0)
        self.assertEqual(u["top_endpoints"][0], ["/tools/a", 2])
        self.assertEqual(sorted(map(tuple, u["top_endpoints"])),
                         [("/tools/a", 2), ("/tools/b", 1), ("/tools/run", 1)])
        self.assertEqual(len(u["daily"]), 7)
        self.assertEqual(u["daily"][-1]["date"], time.strftime("%Y-%m-%d", time.gmtime()))
        self.assertEqual((u["daily"][-1]["allowed"], u["daily"][-1]["blocked"]), (3, 1))
        st, _, t = self.req("GET", "/tokens/" + tid, token=sess)
        self.assertIsNotNone(t["last_used"], "last_used is the last allowed use")
        for bad in ("0", "3651", "x"):
            st, _, out = self.req("GET", "/tokens/%s/usage?days=%s" % (tid, bad),
                                  token=sess)
            self.assertEqual(st, 422, out)
            self.assertTrue(out["detail"].startswith("days:"))
        st, _, _ = self.req("GET", "/tokens/%s/usage" % tid, token=self.login(BOB))
        self.assertEqual(st, 404, "another user's token")


class Authorizer(InstanceTestCase):
    CONF = {"rule": ["GET /protected/ files.read"]}

    def get(self, tok):
        hdrs = {"Authorization": "Bearer " + tok} if tok else {}
        return self.req("GET", "/protected/hello.txt", prefix="", headers=hdrs)

    def test_guarded_directory(self):
        st, h, _ = self.get(None)
        self.assertEqual(st, 401)
        sess = self.login(ADMIN)
        st, out = self.inst.create_token(sess, "authz", scope={"permissions": ["files.read"]})
        self.assertEqual(st, 201, out)
        tok, tid = out["access_token"], out["token"]["id"]
        st, h, _ = self.get(tok)
        self.assertEqual(st, 200)
        self.assertEqual(self.inst.last_body, b"hello from behind the authorizer\n")
        st, out = self.inst.create_token(sess, "authz-other",
                                         scope={"permissions": ["tools.read"]})
        self.assertEqual(self.get(out["access_token"])[0], 403)
        self.assertEqual(self.req("DELETE", "/tokens/" + tid, token=sess)[0], 204)
        self.assertEqual(self.get(tok)[0], 401)


class Introspection(InstanceTestCase):

    def test_introspect_and_self_revoke(self):
        admin = self.login(ADMIN)
        st, out = self.inst.create_token(self.login(ALICE), "intro",
                                         scope={"permissions": ["tools.read"]})
        tok, tid = out["access_token"], out["token"]["id"]
        st, _, r = self.req("POST", "/auth/introspect", token=admin, body={"token": tok})
        self.assertEqual(st, 200, r)
        self.assertEqual((r["active"], r["username"], r["token_type"], r["scope"]),
                         (True, ALICE, "api", "tools.read"))
        for k in ("sub", "jti", "exp", "iat", "iss", "aud", "teams", "server_id"):
            self.assertIn(k, r)
        form = urllib.parse.urlencode({"token": tok})
        st, _, r = self.req("POST", "/auth/introspect", token=admin, raw=form,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((st, r["active"]), (200, True))
        st, _, r = self.req("POST", "/auth/introspect", token=self.login(ALICE),
                            body={"token": tok})
        self.assertEqual(st, 403, "a non-admin session")
        st, out = self.inst.create_token(admin, "introspector",
                                         scope={"permissions": ["tokens.introspect"]})
        st, _, r = self.req("POST", "/auth/introspect", token=out["access_token"],
                            body={"token": tok})
        self.assertEqual((st, r["active"]), (200, True))
        st, _, r = self.req("POST", "/auth/introspect", token=admin, body={"token": "junk"})
        self.assertEqual((st, r), (200, {"active": False}))
        # RFC 7009: the token revokes itself; always 200
        st, _, _ = self.req("POST", "/auth/revoke", raw=form,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200)
        st, _, r = self.req("POST", "/auth/introspect", token=admin, body={"token": tok})
        self.assertEqual(r, {"active": False})
        st, _, t = self.req("GET", "/tokens/" + tid, token=self.login(ALICE))
        self.assertTrue(t["is_revoked"])
        for body in ({"token": tok}, {"token": "junk"}, {"nothing": 1}):
            self.assertEqual(self.req("POST", "/auth/revoke", body=body)[0], 200)


class Rotation(InstanceTestCase):
    CONF = {"rule": RULES}

    def test_rotate(self):
        sess = self.login(ALICE)
        st, out = self.inst.create_token(sess, "rot", days=10, tags=["a"],
                                         scope={"permissions": ["tools.read"]})
        old_id, old_tok = out["token"]["id"], out["access_token"]
        old_exp = out["token"]["expires_at"]
        st, _, new = self.req("POST", "/tokens/%s/rotate" % old_id, token=sess)
        self.assertEqual(st, 201, new)
        t = new["token"]
        self.assertNotEqual(t["id"], old_id)
        self.assertEqual((t["name"], t["resource_scopes"], t["tags"], t["expires_at"]),
                         ("rot", ["tools.read"], ["a"], old_exp))
        st, _, old = self.req("GET", "/tokens/" + old_id, token=sess)
        self.assertEqual((old["is_revoked"], old["revocation_reason"]), (True, "Rotated"))
        hdrs = {"X-Original-URI": "/tools/x", "X-Original-Method": "GET"}
        self.assertEqual(self.req("GET", "/auth/check", token=old_tok, headers=hdrs)[0], 401)
        self.assertEqual(self.req("GET", "/auth/check", token=new["access_token"],
                                  headers=hdrs)[0], 200)
        st, _, out = self.req("POST", "/tokens/%s/rotate" % old_id, token=sess)
        self.assertEqual(st, 400, "a revoked token cannot be rotated")
        st, _, out = self.req("POST", "/tokens/%s/rotate" % t["id"], token=self.login(BOB))
        self.assertEqual(st, 404)
        st, _, out = self.req("POST", "/tokens/%s/rotate" % t["id"], token=sess,
                              body={"expires_in_days": 2})
        self.assertEqual(st, 201, out)
        self.assertNotEqual(out["token"]["expires_at"], old_exp)
        st, _, out = self.req("POST", "/tokens/%s/rotate" % out["token"]["id"],
                              token=sess, body={"expires_in_days": 0})
        self.assertEqual(st, 422, out)
