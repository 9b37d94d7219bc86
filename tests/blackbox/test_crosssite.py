"""
test_crosssite.py - cross-site requests (issue 11, item 4). A JSON body
must say it is JSON (415 otherwise: an untyped Blob or a form needs no
CORS preflight), and a session that comes from the web server's login
(REMOTE_USER, trust_remote_user = true) refuses a state-changing request
whose Origin or Sec-Fetch-Site says it is cross-site (403). lighttpd's
Basic login in front of /sso/api sets REMOTE_USER here.
"""

import base64

from harness import ALICE, SSO_USERS, Instance, InstanceTestCase, started

CROSS = "Cross-site request refused for a web-server login (Origin or " \
    "Sec-Fetch-Site)"
JSON = "application/json"


def basic(email):
    """The Authorization value of lighttpd's Basic login for email."""
    raw = ("%s:%s" % (email, SSO_USERS[email])).encode()
    return "Basic " + base64.b64encode(raw).decode()


class RemoteUserCrossSite(InstanceTestCase):

    @classmethod
    def setUpClass(cls):
        cls.inst = started(Instance(cls.__name__, sso=True, conf={
            "trust_remote_user": "true"}))

    def sso(self, method, path, body=None, headers=None, raw=None):
        hdrs = {"Authorization": basic(ALICE)}
        hdrs.update(headers or {})
        return self.req(method, path, body, raw=raw, headers=hdrs,
                        prefix="/sso/api")

    def origin(self):
        return "http://127.0.0.1:%d" % self.inst.port

    def test_the_web_server_login_is_a_session(self):
        st, _, me = self.sso("GET", "/auth/me")
        self.assertEqual(st, 200, me)
        self.assertEqual((me["auth_method"], me["user"]["email"]),
                         ("remote_user", ALICE))

    def test_same_origin_and_plain_clients_may_write(self):
        for i, hdrs in enumerate(({}, {"Origin": self.origin()},
                                  {"Sec-Fetch-Site": "same-origin"},
                                  {"Sec-Fetch-Site": "none"},
                                  {"Origin": self.origin(),
                                   "Sec-Fetch-Site": "same-origin"})):
            st, _, out = self.sso("POST", "/tokens", {
                "name": "sso-ok-%d" % i, "expires_in_days": 1}, hdrs)
            self.assertEqual(st, 201, (hdrs, out))

    def test_cross_site_writes_are_refused(self):
        before = self.sso("GET", "/tokens?limit=1000")[2]["total"]
        for hdrs in ({"Origin": "http://evil.example"},
                     {"Origin": "null"},
                     {"Origin": "http://127.0.0.1:1"},
                     {"Origin": "https://127.0.0.1:%d" % self.inst.port
                      + ".evil.example"},
                     {"Sec-Fetch-Site": "cross-site"},
                     {"Sec-Fetch-Site": "same-site"},
                     {"Origin": self.origin(), "Sec-Fetch-Site": "cross-site"}):
            for method, path, body in (
                    ("POST", "/tokens", {"name": "csrf", "expires_in_days": 1}),
                    ("POST", "/teams", {"name": "csrf-team"}),
                    ("POST", "/auth/logout", None)):
                resp = self.sso(method, path, body, hdrs)
                self.assertDetail(resp, 403, CROSS)
        self.assertEqual(self.sso("GET", "/tokens?limit=1000")[2]["total"],
                         before, "nothing was created")

    def test_cross_site_reads_stay_readable_by_nobody_else(self):
        # a GET changes nothing; the browser keeps its answer from the
        # other site (no CORS headers), so it is answered
        st, h, _ = self.sso("GET", "/auth/me",
                            headers={"Origin": "http://evil.example",
                                     "Sec-Fetch-Site": "cross-site"})
        self.assertEqual(st, 200)
        self.assertIsNone(h.get("Access-Control-Allow-Origin"))

    def test_an_untyped_blob_is_415_before_anything_else(self):
        for ct in (None, "text/plain", "application/x-www-form-urlencoded",
                   "multipart/form-data; boundary=x"):
            resp = self.sso("POST", "/tokens", raw=b'{"name": "blob", '
                            b'"expires_in_days": 1}',
                            headers={"Content-Type": ct})
            self.assertDetail(resp, 415, "Content-Type must be application/json")

    def test_bearer_sessions_are_not_subject_to_origin(self):
        # a Bearer token must be presented by script: a forged cross-site
        # request cannot carry it, so Origin does not matter there
        s = self.login(ALICE)
        st, _, out = self.req("POST", "/tokens", {"name": "bearer-x",
                                                  "expires_in_days": 1},
                              token=s, headers={"Origin": "http://evil.example",
                                                "Sec-Fetch-Site": "cross-site"})
        self.assertEqual(st, 201, out)


class TypedBodiesEverywhere(InstanceTestCase):
    """Every route that takes a JSON body answers 415 for any other type."""

    ROUTES = (("POST", "/auth/login"), ("POST", "/tokens"),
              ("POST", "/teams"), ("POST", "/admin/users"),
              ("POST", "/auth/introspect"), ("POST", "/auth/revoke"))

    def test_415_names_the_type_to_use(self):
        s = self.login("admin@example.com")
        for method, path in self.ROUTES:
            for ct in (None, "text/plain", "text/json", "application/jsonp",
                       "application/json-seq"):
                resp = self.req(method, path, raw=b'{"x": 1}', token=s,
                                headers={"Content-Type": ct})
                self.assertDetail(resp, 415,
                                  "Content-Type must be application/json")
            for ct in (JSON, "application/json; charset=utf-8",
                       "Application/JSON"):
                st, _, out = self.req(method, path, raw=b'{"x": 1}', token=s,
                                      headers={"Content-Type": ct})
                self.assertNotIn(st, (415, 500, 503), (path, ct, out))
