"""
test_canon.py - the path a token is judged for is the canonical path
(issue 11, item 1): at GET /auth/check and in the FastCGI Authorizer role,
every spelling of a request - "..", "%2e", "%2F", "//", double encodings,
case, a trailing slash, "/v1" - is judged as the one resource it names,
server_id and rule prefixes match whole segments, and what cannot be made
canonical (a climb above "/", an encoded slash or dot segment left after
one decoding) is refused with a detail naming the path. Run one by one
and all at once from 20 threads.
"""

import os
import threading

from harness import ALICE, InstanceTestCase

RULES = ["GET /tools/ tools.read", "* /admin admin.all",
         "GET /protected/a/ files.read"]


class CheckDoor(InstanceTestCase):
    CONF = {"rule": RULES}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.inst.login(ALICE)
        st, out = cls.inst.create_token(s, "bound-abc",
                                        scope={"server_id": "abc"})
        assert st == 201, out
        cls.abc = out["access_token"]
        st, out = cls.inst.create_token(s, "tools-only", scope={
            "permissions": ["tools.read"]})
        assert st == 201, out
        cls.tools = out["access_token"]

    def check(self, tok, uri, method="GET"):
        return self.req("GET", "/auth/check", token=tok, headers={
            "X-Original-URI": uri, "X-Original-Method": method})

    # (X-Original-URI, status, reason in the detail or None) for bound-abc
    SERVER_ROWS = (
        ("/servers/abc/tools", 200, None),
        ("/servers/abc", 200, None),
        ("/servers/abc/", 200, None),
        ("/servers/abc/./tools", 200, None),
        ("/servers/abc//tools", 200, None),
        ("//servers//abc/tools", 200, None),
        ("/servers/def/../abc/tools", 200, None),
        ("/servers/%61bc/tools", 200, None),
        ("/servers/abc/tools?next=/servers/def", 200, None),
        ("/health", 200, None),
        ("/health/../health", 200, None),
        # the review's bypasses
        ("/servers/abc/../def/tools", 403, "restricted to server"),
        ("/servers/abc/%2e%2e/def/tools", 403, "restricted to server"),
        ("/servers/abc/%2E%2E/def", 403, "restricted to server"),
        ("/servers/abc/.%2e/def", 403, "restricted to server"),
        ("/servers/abc/%2e./def", 403, "restricted to server"),
        ("/health/../servers/def", 403, "restricted to server"),
        ("/health/%2e%2e/servers/def", 403, "restricted to server"),
        ("//servers//def", 403, "restricted to server"),
        ("/servers/abcd/tools", 403, "restricted to server"),
        ("/servers/abc.d", 403, "restricted to server"),
        ("/servers/ABC/tools", 403, "restricted to server"),
        ("/SERVERS/abc/tools", 403, "restricted to server"),
        ("/v1/servers/abc/tools", 403, "restricted to server"),
        ("/healthz", 403, "restricted to server"),
        # not canonical: refused, naming the path
        ("/servers/abc%2F..%2Fdef", 403, "encoded slash"),
        ("/servers/abc%2f..%2fdef/tools", 403, "encoded slash"),
        ("/servers/abc/..%5Cdef", 403, "encoded slash"),
        ("/servers/abc/%252e%252e/def", 403, "encoded dot segment"),
        ("/servers/abc%252Fdef", 403, "encoded slash"),
        ("/servers/abc/%00", 403, "encoded NUL"),
        ("/../servers/abc", 403, "climbs above /"),
        ("/servers/../../abc", 403, "climbs above /"),
        ("/servers/abc/%zz", 403, "malformed percent-encoding"),
    )

    def test_server_bound_token_under_every_spelling(self):
        for uri, status, why in self.SERVER_ROWS:
            st, _, out = self.check(self.abc, uri)
            self.assertEqual(st, status, (uri, out))
            if why is not None:
                self.assertIn(why, out["detail"], uri)
            if why is not None and status == 403 and "restricted" not in why:
                self.assertIn("Request path refused:", out["detail"])
                self.assertIn(uri.split("?")[0][:40], out["detail"], uri)

    def test_rule_prefixes_match_whole_segments(self):
        for uri, status in (("/tools/list", 200), ("/tools/", 200),
                            ("/tools", 200), ("/toolsx/list", 403),
                            ("/tools/../admin/x", 403),
                            ("/tools/%2e%2e/admin", 403),
                            ("/admin/../tools/list", 200),
                            ("/x/..//tools/list", 200),
                            ("/Tools/list", 403)):
            st, _, out = self.check(self.tools, uri)
            self.assertEqual(st, status, (uri, out))

    def test_all_spellings_at_once(self):
        rows = [(self.abc,) + r[:2] for r in self.SERVER_ROWS] + \
               [(self.tools, "/tools/a", 200), (self.tools, "/tools/../x", 403)]
        got = [None] * len(rows)
        barrier = threading.Barrier(20)

        def run(k):
            barrier.wait(30)
            for i in range(k, len(rows), 20):
                got[i] = self.check(rows[i][0], rows[i][1])[0]
        threads = [threading.Thread(target=run, args=(k,)) for k in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(got, [r[2] for r in rows])

    def test_refused_paths_are_recorded_as_uses(self):
        s = self.login(ALICE)
        st, out = self.inst.create_token(s, "recorded-refusals",
                                         scope={"server_id": "abc"})
        tok, tid = out["access_token"], out["token"]["id"]
        for uri in ("/servers/abc/%252e%252e/def", "/../x",
                    "/servers/abc/ok"):
            self.check(tok, uri)
        st, _, u = self.req("GET", "/tokens/%s/usage" % tid, token=s)
        self.assertEqual(st, 200, u)
        self.assertEqual((u["total_requests"], u["blocked_requests"]), (3, 2))


class AuthorizerDoor(InstanceTestCase):
    """lighttpd serves the file of the path it normalized; tokencat judges
    REQUEST_URI, canonicalized: the two always name the same file."""

    CONF = {"rule": RULES, "user_permissions": "tools.read files.read"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for sub, name, text in (("a", "open.txt", "a's file\n"),
                                ("b", "secret.txt", "b's secret\n")):
            d = os.path.join(cls.inst.dir, "protected", sub)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        s = cls.inst.login(ALICE)
        st, out = cls.inst.create_token(s, "files-a", scope={
            "permissions": ["files.read"]})
        assert st == 201, out
        cls.tok = out["access_token"]

    def get(self, path):
        return self.req("GET", path, prefix="",
                        headers={"Authorization": "Bearer " + self.tok})

    def test_allowed_directory_under_its_spellings(self):
        for path in ("/protected/a/open.txt", "/protected/a//open.txt",
                     "/protected/a/./open.txt", "/protected/b/../a/open.txt",
                     "/protected/%61/open.txt"):
            st, _, _ = self.get(path)
            self.assertEqual((path, st), (path, 200))
            self.assertEqual(self.inst.last_body, b"a's file\n", path)

    def test_the_other_directory_under_every_spelling(self):
        for path in ("/protected/b/secret.txt", "/protected/a/../b/secret.txt",
                     "/protected/a/%2e%2e/b/secret.txt",
                     "/protected/a/.%2E/b/secret.txt",
                     "/protected/a//../b/secret.txt",
                     "/protected/a/%2e%2e%2fb/secret.txt",
                     "/protected/a%2f..%2fb/secret.txt",
                     "/protected/a/%252e%252e/b/secret.txt"):
            st, _, out = self.get(path)
            self.assertEqual(st, 403, (path, out))
            self.assertNotIn(b"b's secret", self.inst.last_body, path)
