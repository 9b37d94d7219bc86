"""
test_tokens.py - the token catalog over HTTP: POST/GET /tokens, GET/PUT/
DELETE /tokens/{id} (API.md 4, 5, 5.1, 5.2, 6 validation, 9), and the
isolation of API tokens from the management API (API.md 3).
"""

import json
import time
import uuid

from harness import (ADMIN, ALICE, BOB, FULL_NAMES, MSG_API_TOKEN,
                     MSG_DUP_NAME, MSG_NOT_FOUND, TOKEN_FIELDS,
                     InstanceTestCase, clock_past, jwt_claims, parse_time, MSG_REVOKED, MSG_DISABLED, MSG_BAD_TOKEN)

DAY = 86400

FULL_SCOPE = {
    "server_id": "srv-1",
    "permissions": ["tools.read", "servers.use"],
    "ip_restrictions": [" 10.0.0.0/8 ", "192.168.1.5", "2001:db8::/32"],
    "time_restrictions": {"start_time": "08:00", "end_time": "18:30:15",
                          "timezone": "Europe/Paris",
                          "days": ["Monday", "Wednesday", "Friday"]},
    "usage_limits": {"requests_per_minute": 10, "requests_per_hour": 100,
                     "requests_per_day": 1000},
}
FULL_SCOPE_IPS = ["10.0.0.0/8", "192.168.1.5", "2001:db8::/32"]
EMPTY_SCOPE_FIELDS = {"server_id": None, "resource_scopes": [],
                      "ip_restrictions": [], "time_restrictions": {},
                      "usage_limits": {}}


class TokenTestCase(InstanceTestCase):
    """Shared helpers: make a token and assert success."""

    def mk(self, session, name, days=30, **fields):
        """Create a token; assert 201; return (TokenResponse, raw JWT)."""
        st, out = self.inst.create_token(session, name, days, **fields)
        self.assertEqual(st, 201, "create %r: %r" % (name, out))
        return out["token"], out["access_token"]

    def get(self, session, tid):
        st, _, out = self.req("GET", "/tokens/" + tid, token=session)
        self.assertEqual(st, 200, out)
        self.assertTokenShape(out)
        return out

    def ids(self, session, query=""):
        st, _, out = self.req("GET", "/tokens" + query, token=session)
        self.assertEqual(st, 200, out)
        return [t["id"] for t in out["tokens"]]

    def assert422(self, resp, field):
        return self.assertDetail(resp, 422, prefix=field)

    def create(self, session, body):
        return self.req("POST", "/tokens", body, token=session)


class Create(TokenTestCase):
    """POST /tokens: the 201 answer, the JWT, every validation rule."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls.inst.login(ALICE)
        cls.bob = cls.inst.login(BOB)
        cls.admin = cls.inst.login(ADMIN)
        cls.alice_id = jwt_claims(cls.alice)["sub"]

    def test_create_201_every_field(self):
        t0 = time.time()
        st, h, out = self.create(self.alice, {"name": "first",
                                              "description": "my first",
                                              "expires_in_days": 30})
        self.assertEqual(st, 201, out)
        self.assertStdHeaders(h)
        self.assertEqual(sorted(out), ["access_token", "token"])
        tok = out["token"]
        self.assertEqual(sorted(tok), sorted(TOKEN_FIELDS))
        self.assertTokenShape(tok)
        expect = dict(EMPTY_SCOPE_FIELDS, name="first",
                      description="my first", user_email=ALICE,
                      team_id=None, last_used=None, is_active=True,
                      is_revoked=False, revoked_at=None, revoked_by=None,
                      revocation_reason=None, tags=[], created_by=ALICE)
        for k, v in expect.items():
            self.assertEqual(tok[k], v, k)
        created = parse_time(tok["created_at"])
        self.assertNear(created, t0, 60)
        self.assertNear(parse_time(tok["expires_at"]), created + 30 * DAY, 2)

    def test_user_email_is_lowercase(self):
        self.inst.add_user("Mixed.Case@Example.COM", "mixed-password-1")
        s = self.login("mixed.case@example.com", "mixed-password-1")
        tok, _ = self.mk(s, "mixed")
        self.assertEqual(tok["user_email"], "mixed.case@example.com")
        self.assertEqual(tok["created_by"], "mixed.case@example.com")

    def test_api_token_jwt_claims(self):
        t0 = int(time.time())
        tok, raw = self.mk(self.alice, "claims", days=7)
        c = jwt_claims(raw)
        self.assertEqual(c["sub"], self.alice_id)
        self.assertIsInstance(c["jti"], str)
        self.assertTrue(c["jti"])
        self.assertEqual(c["token_use"], "api")
        self.assertEqual(c["iss"], "tokencat")
        self.assertEqual(c["aud"], "tokencat-api")
        self.assertNear(c["iat"], t0, 5)
        self.assertNear(c["exp"], c["iat"] + 7 * DAY, 1)
        self.assertNear(c["exp"], parse_time(tok["expires_at"]), 1)
        self.assertEqual(c["user"], {"email": ALICE,
                                     "full_name": FULL_NAMES[ALICE],
                                     "is_admin": False,
                                     "auth_provider": "api_token"})
        self.assertIn("teams", c)
        self.assertIsNone(c["teams"])
        self.assertEqual(c["scopes"], {"server_id": None, "permissions": [],
                                       "ip_restrictions": [],
                                       "time_restrictions": {},
                                       "usage_limits": {}})
        jti2 = jwt_claims(self.mk(self.alice, "claims-2")[1])["jti"]
        self.assertNotEqual(jti2, c["jti"])
        # the jti is a UUID v7 (README): its first 48 bits are the ms of
        # its making, so a later token's sorts after; the id stays v4
        for j in (c["jti"], jti2):
            u = uuid.UUID(j)
            self.assertEqual((u.version, str(u)), (7, j))
        ms = [uuid.UUID(j).int >> 80 for j in (c["jti"], jti2)]
        self.assertNear(ms[0], c["iat"] * 1000, 5000)
        self.assertLessEqual(ms[0], ms[1])

    def test_raw_token_shown_only_once(self):
        tok, raw = self.mk(self.alice, "shown-once")
        st, _, one = self.req("GET", "/tokens/" + tok["id"],
                              token=self.alice)
        self.assertNotIn("access_token", one)
        self.assertNotIn(raw.encode(), self.inst.last_body)
        self.assertNotIn(raw.split(".")[2].encode(), self.inst.last_body)
        st, _, lst = self.req("GET", "/tokens?include_inactive=true",
                              token=self.alice)
        self.assertNotIn(raw.split(".")[2].encode(), self.inst.last_body)
        for t in lst["tokens"]:
            self.assertNotIn("access_token", t)

    def test_expires_in_days_rules(self):
        self.assertDetail(self.create(self.alice, {"name": "no-exp"}), 400)
        self.assertDetail(self.create(self.alice, {
            "name": "too-long", "expires_in_days": 366}), 400)
        for bad in (0, -1, "5", 1.5, True, [5], {"d": 5}):
            self.assert422(self.create(self.alice, {
                "name": "bad-exp", "expires_in_days": bad}),
                "expires_in_days")
        t365, _ = self.mk(self.alice, "max-exp", days=365)
        self.assertNear(parse_time(t365["expires_at"]) -
                        parse_time(t365["created_at"]), 365 * DAY, 2)
        t1, _ = self.mk(self.alice, "min-exp", days=1)
        self.assertNear(parse_time(t1["expires_at"]),
                        time.time() + DAY, 60)

    def test_name_rules(self):
        self.assert422(self.create(self.alice, {"expires_in_days": 1}),
                       "name")
        for bad in ("", "x" * 256, "é" * 256, 5, None, ["n"], {"n": 1},
                    True):
            self.assert422(self.create(self.alice, {
                "name": bad, "expires_in_days": 1}), "name")
        tok, _ = self.mk(self.alice, "é" * 255)
        self.assertEqual(tok["name"], "é" * 255)
        self.assertEqual(self.get(self.alice, tok["id"])["name"], "é" * 255)
        tok, _ = self.mk(self.alice, "x" * 255)
        self.assertEqual(len(tok["name"]), 255)

    def test_name_as_raw_utf8_and_as_escapes(self):
        # the same name as \u escapes (the harness sends raw UTF-8)
        name = "\u00e9" * 255
        st, _, out = self.req("POST", "/tokens", raw=json.dumps(
            {"name": name, "expires_in_days": 1}, ensure_ascii=True),
            token=self.alice, headers={"Content-Type": "application/json"})
        self.assertEqual(st, 201, out)
        self.assertEqual(out["token"]["name"], name)
        self.inst.req("DELETE", "/tokens/" + out["token"]["id"],
                      token=self.alice)
        # four-byte code points, as raw UTF-8 and as surrogate pairs
        name = "\U0001F600" * 255
        st, _, out = self.req("POST", "/tokens", raw=json.dumps(
            {"name": name, "expires_in_days": 1}, ensure_ascii=True),
            token=self.alice, headers={"Content-Type": "application/json"})
        self.assertEqual(st, 201, out)
        self.assertEqual(out["token"]["name"], name)
        self.inst.req("DELETE", "/tokens/" + out["token"]["id"],
                      token=self.alice)
        body = json.dumps({"name": name, "expires_in_days": 1},
                          ensure_ascii=False).encode()
        st, _, out = self.req("POST", "/tokens", raw=body, token=self.alice,
                              headers={"Content-Type": "application/json"})
        self.assertEqual(st, 201, out)
        self.assertEqual(out["token"]["name"], name)
        body = json.dumps({"name": name + "\U0001F600",
                           "expires_in_days": 1}, ensure_ascii=False).encode()
        resp = self.req("POST", "/tokens", raw=body, token=self.alice,
                        headers={"Content-Type": "application/json"})
        self.assert422(resp, "name")

    def test_description_rules(self):
        self.assert422(self.create(self.alice, {
            "name": "d1", "expires_in_days": 1, "description": "d" * 1001}),
            "description")
        self.assert422(self.create(self.alice, {
            "name": "d2", "expires_in_days": 1, "description": 5}),
            "description")
        tok, _ = self.mk(self.alice, "d3", description="ü" * 1000)
        self.assertEqual(tok["description"], "ü" * 1000)
        tok, _ = self.mk(self.alice, "d4", description=None)
        self.assertIsNone(tok["description"])

    def test_duplicate_active_name_409_and_reuse_after_revoke(self):
        first, _ = self.mk(self.alice, "dup")
        self.assertDetail(self.create(self.alice, {
            "name": "dup", "expires_in_days": 1}), 409, MSG_DUP_NAME)
        st, _, _ = self.req("DELETE", "/tokens/" + first["id"],
                            token=self.alice)
        self.assertEqual(st, 204)
        second, _ = self.mk(self.alice, "dup")
        self.assertNotEqual(second["id"], first["id"])
        self.assertDetail(self.create(self.alice, {
            "name": "dup", "expires_in_days": 1}), 409, MSG_DUP_NAME)

    def test_deactivated_token_does_not_hold_its_name(self):
        first, _ = self.mk(self.alice, "held")
        st, _, out = self.req("PUT", "/tokens/" + first["id"],
                              {"is_active": False}, token=self.alice)
        self.assertEqual(st, 200, out)
        self.mk(self.alice, "held")

    def test_same_name_for_different_users(self):
        a, _ = self.mk(self.alice, "shared-name")
        b, _ = self.mk(self.bob, "shared-name")
        self.assertEqual(a["user_email"], ALICE)
        self.assertEqual(b["user_email"], BOB)

    def test_unknown_fields_ignored(self):
        tok, _ = self.mk(self.alice, "extra", foo="bar", nested={"x": [1]})
        self.assertNotIn("foo", tok)

    def test_is_active_false_at_create(self):
        tok, raw = self.mk(self.alice, "born-inactive", is_active=False)
        self.assertIs(tok["is_active"], False)
        self.assertNotIn(tok["id"], self.ids(self.alice))
        self.assertIn(tok["id"], self.ids(self.alice,
                                          "?include_inactive=true"))
        self.assert401(self.req("GET", "/auth/me", token=raw))
        self.assert422(self.create(self.alice, {
            "name": "bad-active", "expires_in_days": 1, "is_active": "no"}),
            "is_active")

    def test_scope_validation_422(self):
        cases = [
            ({"permissions": ["servers.read", "bogus"]},
             "scope.permissions[1]"),
            ({"permissions": ["tools.read", "a.b.c"]},
             "scope.permissions[1]"),
            ({"permissions": [5]}, "scope.permissions[0]"),
            ({"permissions": [""]}, "scope.permissions[0]"),
            ({"permissions": ["1tools.read"]}, "scope.permissions[0]"),
            ({"permissions": "tools.read"}, "scope.permissions"),
            ({"ip_restrictions": ["10.0.0.0/33"]}, "scope.ip_restrictions"),
            ({"ip_restrictions": ["192.168.1.1", "300.1.1.1"]},
             "scope.ip_restrictions"),
            ({"ip_restrictions": ["::1/129"]}, "scope.ip_restrictions"),
            ({"ip_restrictions": ["hello"]}, "scope.ip_restrictions"),
            ({"ip_restrictions": [""]}, "scope.ip_restrictions"),
            ({"ip_restrictions": [7]}, "scope.ip_restrictions"),
            ({"ip_restrictions": "10.0.0.1"}, "scope.ip_restrictions"),
            ({"time_restrictions": {"start_time": "25:00",
                                    "end_time": "10:00"}},
             "scope.time_restrictions"),
            ({"time_restrictions": {"start_time": "09:00",
                                    "end_time": "17:60"}},
             "scope.time_restrictions"),
            ({"time_restrictions": {"start_time": "09:00"}},
             "scope.time_restrictions"),
            ({"time_restrictions": {"end_time": "09:00"}},
             "scope.time_restrictions"),
            ({"time_restrictions": {"start_time": "09:00",
                                    "end_time": "17:00",
                                    "days": ["Funday"]}},
             "scope.time_restrictions"),
            ({"time_restrictions": {"start_time": "09:00",
                                    "end_time": "17:00",
                                    "days": ["monday"]}},
             "scope.time_restrictions"),
            ({"time_restrictions": {"start_time": "09:00",
                                    "end_time": "17:00",
                                    "timezone": "Mars/Olympus"}},
             "scope.time_restrictions"),
            ({"time_restrictions": {"start_time": "09:00",
                                    "end_time": "17:00",
                                    "timezone": "../../../etc/passwd"}},
             "scope.time_restrictions"),
            ({"time_restrictions": {"start_time": "09:00",
                                    "end_time": "17:00",
                                    "timezone": "/usr/share/zoneinfo/UTC"}},
             "scope.time_restrictions"),
            ({"time_restrictions": {"business_hours_only": "yes"}},
             "scope.time_restrictions"),
            ({"time_restrictions": "always"}, "scope.time_restrictions"),
            ({"usage_limits": {"requests_per_week": 5}},
             "scope.usage_limits"),
            ({"usage_limits": {"requests_per_minute": 0}},
             "scope.usage_limits"),
            ({"usage_limits": {"requests_per_minute": -1}},
             "scope.usage_limits"),
            ({"usage_limits": {"requests_per_minute": "5"}},
             "scope.usage_limits"),
            ({"usage_limits": {"requests_per_hour": 1.5}},
             "scope.usage_limits"),
            ({"usage_limits": [1]}, "scope.usage_limits"),
            ({"server_id": "s" * 256}, "scope.server_id"),
            ({"server_id": 5}, "scope.server_id"),
        ]
        for scope, field in cases:
            self.assert422(self.create(self.alice, {
                "name": "bad-scope", "expires_in_days": 1, "scope": scope}),
                field)
        self.assert422(self.create(self.alice, {
            "name": "bad-scope", "expires_in_days": 1, "scope": "x"}),
            "scope")
        self.assert422(self.create(self.alice, {
            "name": "bad-scope", "expires_in_days": 1,
            "scope": {"permissions": ["tools.read"] * 101}}),
            "scope.permissions")
        # nothing was created by the refused requests
        st, _, lst = self.req("GET", "/tokens?include_inactive=true&"
                              "limit=1000", token=self.alice)
        self.assertNotIn("bad-scope", [t["name"] for t in lst["tokens"]])

    def test_permission_containment_400(self):
        for perm in ("admin.all", "*", "tools.*", "teams.manage",
                     "tokens.introspect"):
            resp = self.create(self.alice, {
                "name": "contain", "expires_in_days": 1,
                "scope": {"permissions": ["tools.read", perm]}})
            self.assertDetail(resp, 400, "Cannot grant permission '%s' - "
                              "not in your effective permissions." % perm)
        tok, _ = self.mk(self.alice, "within", scope={
            "permissions": ["tools.read", "tools:execute", "servers.use",
                            "prompts.read"]})
        self.assertEqual(tok["resource_scopes"],
                         ["tools.read", "tools:execute", "servers.use",
                          "prompts.read"])
        tok, _ = self.mk(self.admin, "admin-star", scope={
            "permissions": ["*", "admin.all", "tokens.introspect"]})
        self.assertEqual(tok["resource_scopes"],
                         ["*", "admin.all", "tokens.introspect"])

    def test_valid_full_scope_stored_and_returned(self):
        tok, raw = self.mk(self.alice, "full-scope", scope=FULL_SCOPE)
        for t in (tok, self.get(self.alice, tok["id"])):
            self.assertEqual(t["server_id"], "srv-1")
            self.assertEqual(t["resource_scopes"], FULL_SCOPE["permissions"])
            self.assertEqual(t["ip_restrictions"], FULL_SCOPE_IPS)
            self.assertEqual(t["time_restrictions"],
                             FULL_SCOPE["time_restrictions"])
            self.assertEqual(t["usage_limits"], FULL_SCOPE["usage_limits"])
        c = jwt_claims(raw)
        self.assertEqual(c["scopes"], {
            "server_id": "srv-1",
            "permissions": FULL_SCOPE["permissions"],
            "ip_restrictions": FULL_SCOPE_IPS,
            "time_restrictions": FULL_SCOPE["time_restrictions"],
            "usage_limits": FULL_SCOPE["usage_limits"]})

    def test_other_time_vocabulary_and_partial_scope(self):
        tr = {"business_hours_only": True, "weekdays_only": False}
        tok, _ = self.mk(self.alice, "business", scope={
            "time_restrictions": tr, "usage_limits": {"requests_per_day": 5}})
        self.assertEqual(tok["time_restrictions"], tr)
        self.assertEqual(tok["usage_limits"], {"requests_per_day": 5})
        self.assertEqual(tok["resource_scopes"], [])
        self.assertEqual(tok["ip_restrictions"], [])
        self.assertIsNone(tok["server_id"])
        tok, _ = self.mk(self.alice, "wrapping", scope={
            "time_restrictions": {"start_time": "22:00", "end_time": "06:00",
                                  "timezone": "America/New_York"}})
        self.assertEqual(tok["time_restrictions"]["start_time"], "22:00")
        tok, _ = self.mk(self.alice, "empty-scope", scope={})
        for k, v in EMPTY_SCOPE_FIELDS.items():
            self.assertEqual(tok[k], v, k)

    def test_tags(self):
        tags = ["prod", {"env": "staging", "team": "ops"}, "ünï"]
        tok, _ = self.mk(self.alice, "tagged", tags=tags)
        self.assertEqual(tok["tags"], tags)
        self.assertEqual(self.get(self.alice, tok["id"])["tags"], tags)
        for bad in ("prod", [5], [""], ["t" * 256], [{"k": 5}],
                    [["nested"]], [None], ["t"] * 51):
            self.assert422(self.create(self.alice, {
                "name": "bad-tags", "expires_in_days": 1, "tags": bad}),
                "tags")
        tok, _ = self.mk(self.alice, "fifty-tags",
                         tags=["t%d" % i for i in range(50)])
        self.assertEqual(len(tok["tags"]), 50)


class List(TokenTestCase):
    """GET /tokens: order, pagination, include_inactive, query errors."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.inst.add_user("pager@example.com", "pager-password-1")
        cls.pager = cls.inst.login("pager@example.com", "pager-password-1")
        cls.alice = cls.inst.login(ALICE)
        cls.bob = cls.inst.login(BOB)

    def test_empty_list(self):
        st, h, out = self.req("GET", "/tokens", token=self.bob)
        self.assertEqual(st, 200, out)
        self.assertStdHeaders(h)
        self.assertEqual(out, {"tokens": [], "total": 0, "limit": 50,
                               "offset": 0})

    def test_pagination_newest_first(self):
        made = []
        for i in range(7):
            tok = self.mk(self.pager, "page-%d" % i)[0]
            made.append(tok["id"])
            clock_past(parse_time(tok["created_at"]))     # the next is newer
        newest_first = list(reversed(made))
        seen = []
        for offset, size in ((0, 3), (3, 3), (6, 1)):
            st, _, out = self.req("GET", "/tokens?limit=3&offset=%d" % offset,
                                  token=self.pager)
            self.assertEqual(st, 200, out)
            self.assertEqual((out["total"], out["limit"], out["offset"]),
                             (7, 3, offset))
            self.assertEqual(len(out["tokens"]), size)
            for t in out["tokens"]:
                self.assertTokenShape(t)
            seen += [t["id"] for t in out["tokens"]]
        self.assertEqual(seen, newest_first)
        st, _, out = self.req("GET", "/tokens?offset=7&limit=3",
                              token=self.pager)
        self.assertEqual((out["tokens"], out["total"], out["offset"]),
                         ([], 7, 7))
        st, _, out = self.req("GET", "/tokens?offset=1000", token=self.pager)
        self.assertEqual((st, out["tokens"], out["total"]), (200, [], 7))
        st, _, out = self.req("GET", "/tokens", token=self.pager)
        self.assertEqual([t["id"] for t in out["tokens"]], newest_first)
        self.assertEqual((out["limit"], out["offset"]), (50, 0))
        times = [parse_time(t["created_at"]) for t in out["tokens"]]
        self.assertEqual(times, sorted(times, reverse=True))
        st, _, out = self.req("GET", "/tokens?limit=1000&offset=0",
                              token=self.pager)
        self.assertEqual((st, out["limit"], len(out["tokens"])),
                         (200, 1000, 7))

    def test_include_inactive(self):
        self.inst.add_user("lister@example.com", "lister-password1")
        s = self.login("lister@example.com", "lister-password1")
        a = self.mk(s, "a")[0]["id"]
        b = self.mk(s, "b")[0]["id"]
        c = self.mk(s, "c")[0]["id"]
        self.assertEqual(self.req("DELETE", "/tokens/" + b, token=s)[0], 204)
        st, _, out = self.req("PUT", "/tokens/" + c, {"is_active": False},
                              token=s)
        self.assertEqual(st, 200, out)
        for q in ("", "?include_inactive=false"):
            st, _, out = self.req("GET", "/tokens" + q, token=s)
            self.assertEqual(([t["id"] for t in out["tokens"]],
                              out["total"]), ([a], 1), q)
        st, _, out = self.req("GET", "/tokens?include_inactive=true",
                              token=s)
        self.assertEqual(out["total"], 3)
        by_id = {t["id"]: t for t in out["tokens"]}
        self.assertEqual(sorted(by_id), sorted([a, b, c]))
        self.assertEqual((by_id[b]["is_revoked"], by_id[b]["is_active"]),
                         (True, False))
        self.assertEqual(by_id[b]["revocation_reason"], "Revoked by user")
        self.assertEqual((by_id[c]["is_revoked"], by_id[c]["is_active"]),
                         (False, False))
        self.assertEqual((by_id[a]["is_revoked"], by_id[a]["is_active"]),
                         (False, True))
        st, _, out = self.req("GET", "/tokens?include_inactive=true&limit=1"
                              "&offset=2", token=s)
        self.assertEqual((out["total"], len(out["tokens"])), (3, 1))

    def test_only_own_tokens(self):
        mine = self.mk(self.alice, "alice-own")[0]["id"]
        self.assertIn(mine, self.ids(self.alice))
        self.assertNotIn(mine, self.ids(self.bob,
                                        "?include_inactive=true&limit=1000"))
        self.assertNotIn(mine, self.ids(self.pager,
                                        "?include_inactive=true"))

    def test_bad_query_422(self):
        for q, field in (("limit=0", "limit"), ("limit=1001", "limit"),
                         ("limit=x", "limit"), ("limit=-1", "limit"),
                         ("limit=1.5", "limit"), ("limit=", "limit"),
                         ("limit=99999999999999999999999", "limit"),
                         ("offset=-1", "offset"), ("offset=x", "offset"),
                         ("offset=", "offset"),
                         ("include_inactive=maybe", "include_inactive"),
                         ("include_inactive=1", "include_inactive"),
                         ("include_inactive=", "include_inactive")):
            self.assert422(self.req("GET", "/tokens?" + q, token=self.alice),
                           field)

    def test_unknown_query_parameters_ignored(self):
        st, _, out = self.req("GET", "/tokens?foo=bar&limit=5",
                              token=self.alice)
        self.assertEqual((st, out["limit"]), (200, 5))


class GetPutDelete(TokenTestCase):
    """GET, PUT and DELETE /tokens/{id}."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls.inst.login(ALICE)
        cls.bob = cls.inst.login(BOB)
        cls.admin = cls.inst.login(ADMIN)

    def test_get_owner_revocation_fields_before_and_after(self):
        tok, _ = self.mk(self.alice, "life")
        got = self.get(self.alice, tok["id"])
        self.assertEqual(got, tok)
        self.assertEqual((got["is_revoked"], got["revoked_at"],
                          got["revoked_by"], got["revocation_reason"]),
                         (False, None, None, None))
        t0 = time.time()
        st, h, body = self.req("DELETE", "/tokens/" + tok["id"],
                               token=self.alice)
        self.assertEqual((st, body, self.inst.last_body), (204, None, b""))
        got = self.get(self.alice, tok["id"])
        self.assertIs(got["is_revoked"], True)
        self.assertIs(got["is_active"], False)
        self.assertNear(parse_time(got["revoked_at"]), t0, 60)
        self.assertEqual(got["revoked_by"], ALICE)
        self.assertEqual(got["revocation_reason"], "Revoked by user")
        for k in ("name", "created_at", "expires_at", "user_email"):
            self.assertEqual(got[k], tok[k])

    def test_delete_custom_reason_and_second_delete_keeps_first(self):
        tok, raw = self.mk(self.alice, "reasoned")
        st, _, _ = self.req("DELETE", "/tokens/" + tok["id"],
                            {"reason": "leaked in a CI log"},
                            token=self.alice)
        self.assertEqual(st, 204)
        first = self.get(self.alice, tok["id"])
        self.assertEqual(first["revocation_reason"], "leaked in a CI log")
        clock_past(parse_time(first["revoked_at"]))   # a new time would show
        st, _, _ = self.req("DELETE", "/tokens/" + tok["id"],
                            {"reason": "second time"}, token=self.alice)
        self.assertEqual(st, 204)
        st, _, _ = self.req("DELETE", "/tokens/" + tok["id"],
                            token=self.alice)
        self.assertEqual(st, 204)
        again = self.get(self.alice, tok["id"])
        self.assertEqual((again["revoked_at"], again["revocation_reason"],
                          again["revoked_by"]),
                         (first["revoked_at"], "leaked in a CI log", ALICE))
        self.assert401(self.req("GET", "/auth/me", token=raw),
                       detail=MSG_REVOKED)

    def test_delete_reason_limits(self):
        tok, _ = self.mk(self.alice, "reason-limits")
        for bad in ("r" * 256, 5, ["x"], True):
            self.assert422(self.req("DELETE", "/tokens/" + tok["id"],
                                    {"reason": bad}, token=self.alice),
                           "reason")
        self.assertFalse(self.get(self.alice, tok["id"])["is_revoked"])
        st, _, _ = self.req("DELETE", "/tokens/" + tok["id"],
                            {"reason": "ř" * 255}, token=self.alice)
        self.assertEqual(st, 204)
        self.assertEqual(self.get(self.alice, tok["id"])
                         ["revocation_reason"], "ř" * 255)

    def test_delete_empty_json_object_uses_default_reason(self):
        tok, _ = self.mk(self.alice, "empty-reason-body")
        st, _, _ = self.req("DELETE", "/tokens/" + tok["id"], {},
                            token=self.alice)
        self.assertEqual(st, 204)
        self.assertEqual(self.get(self.alice, tok["id"])
                         ["revocation_reason"], "Revoked by user")

    def test_foreign_token_is_404_for_get_put_delete(self):
        tok, raw = self.mk(self.alice, "private")
        for who in (self.bob, self.admin):
            self.assertDetail(self.req("GET", "/tokens/" + tok["id"],
                                       token=who), 404, MSG_NOT_FOUND)
            self.assertDetail(self.req("PUT", "/tokens/" + tok["id"],
                                       {"name": "stolen"}, token=who),
                              404, MSG_NOT_FOUND)
            self.assertDetail(self.req("DELETE", "/tokens/" + tok["id"],
                                       token=who), 404, MSG_NOT_FOUND)
        got = self.get(self.alice, tok["id"])
        self.assertEqual((got["name"], got["is_revoked"], got["is_active"]),
                         ("private", False, True))
        self.assertEqual(self.req("GET", "/auth/me", token=raw)[0], 200)

    def test_unknown_and_malformed_ids_404(self):
        for tid in (str(uuid.uuid4()), "not-a-uuid", "0" * 36,
                    str(uuid.uuid4()).upper()):
            self.assertDetail(self.req("GET", "/tokens/" + tid,
                                       token=self.alice), 404, MSG_NOT_FOUND)
            self.assertDetail(self.req("PUT", "/tokens/" + tid,
                                       {"name": "x"}, token=self.alice),
                              404, MSG_NOT_FOUND)
            self.assertDetail(self.req("DELETE", "/tokens/" + tid,
                                       token=self.alice), 404, MSG_NOT_FOUND)

    def test_slash_and_dots_in_id_404(self):
        tok, _ = self.mk(self.alice, "dots")
        # lighttpd decodes %2f and removes dot segments before the worker
        # sees the path; none of these may reach the token
        for path in ("/tokens/abc%2fdef", "/tokens/%2e%2e",
                     "/tokens/..%2fx", "/tokens/a/../b",
                     "/tokens/%2e%2e%2f" + tok["id"],
                     "/tokens/" + tok["id"] + "%2fx",
                     "/tokens/" + tok["id"] + "/..%2f..%2fx"):
            for method in ("GET", "DELETE"):
                st, _, out = self.req(method, path, token=self.alice)
                self.assertEqual(st, 404, "%s %s: %r" % (method, path, out))
                self.assertIsInstance(out, dict)
        self.assertFalse(self.get(self.alice, tok["id"])["is_revoked"])

    def test_put_rename(self):
        tok, _ = self.mk(self.alice, "old-name")
        st, h, out = self.req("PUT", "/tokens/" + tok["id"],
                              {"name": "new-name"}, token=self.alice)
        self.assertEqual(st, 200, out)
        self.assertStdHeaders(h)
        self.assertTokenShape(out)
        self.assertEqual((out["id"], out["name"]), (tok["id"], "new-name"))
        self.assertEqual(self.get(self.alice, tok["id"])["name"], "new-name")
        # the old name is free again, the new one is held
        self.mk(self.alice, "old-name")
        self.assertDetail(self.create(self.alice, {
            "name": "new-name", "expires_in_days": 1}), 409, MSG_DUP_NAME)
        # renaming to its own name is no conflict
        st, _, out = self.req("PUT", "/tokens/" + tok["id"],
                              {"name": "new-name"}, token=self.alice)
        self.assertEqual(st, 200, out)

    def test_put_taken_name_409(self):
        a, _ = self.mk(self.alice, "taken-a")
        b, _ = self.mk(self.alice, "taken-b")
        self.assertDetail(self.req("PUT", "/tokens/" + b["id"],
                                   {"name": "taken-a"}, token=self.alice),
                          409, MSG_DUP_NAME)
        self.assertEqual(self.get(self.alice, b["id"])["name"], "taken-b")

    def test_put_is_active_false_and_back(self):
        tok, raw = self.mk(self.alice, "switch")
        st, _, out = self.req("PUT", "/tokens/" + tok["id"],
                              {"is_active": False}, token=self.alice)
        self.assertEqual(st, 200, out)
        self.assertEqual((out["is_active"], out["is_revoked"]),
                         (False, False))
        self.assertNotIn(tok["id"], self.ids(self.alice, "?limit=1000"))
        self.assertIn(tok["id"], self.ids(self.alice, "?limit=1000&"
                                          "include_inactive=true"))
        self.assert401(self.req("GET", "/auth/me", token=raw))
        st, _, out = self.req("PUT", "/tokens/" + tok["id"],
                              {"is_active": True}, token=self.alice)
        self.assertEqual((st, out["is_active"]), (200, True))
        self.assertEqual(self.req("GET", "/auth/me", token=raw)[0], 200)

    def test_put_scope_replaces_all_five_fields(self):
        tok, raw = self.mk(self.alice, "rescope", scope=FULL_SCOPE)
        st, _, out = self.req("PUT", "/tokens/" + tok["id"],
                              {"scope": {"permissions": ["tools.read"]}},
                              token=self.alice)
        self.assertEqual(st, 200, out)
        self.assertEqual(out["resource_scopes"], ["tools.read"])
        self.assertIsNone(out["server_id"])
        self.assertEqual(out["ip_restrictions"], [])
        self.assertEqual(out["time_restrictions"], {})
        self.assertEqual(out["usage_limits"], {})
        self.assertEqual(self.get(self.alice, tok["id"]), out)
        st, _, out = self.req("PUT", "/tokens/" + tok["id"],
                              {"scope": {}}, token=self.alice)
        for k, v in EMPTY_SCOPE_FIELDS.items():
            self.assertEqual(out[k], v, k)
        st, _, out = self.req("PUT", "/tokens/" + tok["id"],
                              {"scope": FULL_SCOPE}, token=self.alice)
        self.assertEqual(out["ip_restrictions"], FULL_SCOPE_IPS)
        self.assertEqual(out["usage_limits"], FULL_SCOPE["usage_limits"])

    def test_put_null_and_absent_fields_leave_values(self):
        tok, _ = self.mk(self.alice, "keep", description="stay",
                         tags=["t1"], scope=FULL_SCOPE)
        for body in ({"name": None, "description": None, "scope": None,
                      "tags": None, "is_active": None}, {},
                     {"unknown": 1}):
            st, _, out = self.req("PUT", "/tokens/" + tok["id"], body,
                                  token=self.alice)
            self.assertEqual(st, 200, out)
            self.assertEqual(out, tok, body)

    def test_put_description_and_tags(self):
        tok, _ = self.mk(self.alice, "edit-me", description="before")
        st, _, out = self.req("PUT", "/tokens/" + tok["id"],
                              {"description": "after",
                               "tags": [{"k": "v"}]}, token=self.alice)
        self.assertEqual(st, 200, out)
        self.assertEqual((out["description"], out["tags"], out["name"]),
                         ("after", [{"k": "v"}], "edit-me"))

    def test_put_validation_422(self):
        tok, _ = self.mk(self.alice, "validate-put")
        for body, field in (({"name": ""}, "name"),
                            ({"name": "x" * 256}, "name"),
                            ({"name": 5}, "name"),
                            ({"description": "d" * 1001}, "description"),
                            ({"scope": {"permissions": ["bad perm"]}},
                             "scope.permissions[0]"),
                            ({"scope": {"ip_restrictions": ["1.2.3.4/40"]}},
                             "scope.ip_restrictions"),
                            ({"tags": "x"}, "tags"),
                            ({"is_active": "yes"}, "is_active")):
            self.assert422(self.req("PUT", "/tokens/" + tok["id"], body,
                                    token=self.alice), field)
        self.assertEqual(self.get(self.alice, tok["id"]), tok)

    def test_put_containment_400(self):
        tok, _ = self.mk(self.alice, "contain-put")
        self.assertDetail(self.req("PUT", "/tokens/" + tok["id"],
                                   {"scope": {"permissions": ["admin.all"]}},
                                   token=self.alice), 400,
                          "Cannot grant permission 'admin.all' - not in "
                          "your effective permissions.")

    def test_put_reactivate_revoked_400(self):
        tok, _ = self.mk(self.alice, "dead")
        self.assertEqual(self.req("DELETE", "/tokens/" + tok["id"],
                                  token=self.alice)[0], 204)
        self.assertDetail(self.req("PUT", "/tokens/" + tok["id"],
                                   {"is_active": True}, token=self.alice),
                          400)
        got = self.get(self.alice, tok["id"])
        self.assertEqual((got["is_active"], got["is_revoked"]),
                         (False, True))

    def test_put_reactivate_into_taken_name_409(self):
        a, _ = self.mk(self.alice, "again")
        self.req("PUT", "/tokens/" + a["id"], {"is_active": False},
                 token=self.alice)
        b, _ = self.mk(self.alice, "again")
        self.assertDetail(self.req("PUT", "/tokens/" + a["id"],
                                   {"is_active": True}, token=self.alice),
                          409, MSG_DUP_NAME)
        self.assertIs(self.get(self.alice, a["id"])["is_active"], False)
        self.assertIs(self.get(self.alice, b["id"])["is_active"], True)


class ApiTokenIsolation(TokenTestCase):
    """API tokens: 403 on the management API; dead ones 401 first."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls.inst.login(ALICE)

    def management_calls(self, api, tid):
        return [
            ("POST", "/tokens", {"name": "by-api", "expires_in_days": 1}),
            ("GET", "/tokens", None),
            ("GET", "/tokens?include_inactive=true", None),
            ("GET", "/tokens/" + tid, None),
            ("PUT", "/tokens/" + tid, {"name": "renamed-by-api"}),
            ("DELETE", "/tokens/" + tid, None),
            ("GET", "/tokens/" + str(uuid.uuid4()), None),
            ("POST", "/v1/tokens", {"name": "by-api", "expires_in_days": 1}),
        ]

    def test_live_api_token_gets_403_with_the_exact_sentence(self):
        tok, api = self.mk(self.alice, "isolated")
        other, _ = self.mk(self.alice, "other")
        for tid in (tok["id"], other["id"]):
            for method, path, body in self.management_calls(api, tid):
                self.assertDetail(self.req(method, path, body, token=api),
                                  403, MSG_API_TOKEN)
        for t in (tok, other):
            got = self.get(self.alice, t["id"])
            self.assertEqual((got["name"], got["is_revoked"]),
                             (t["name"], False))
        self.assertNotIn("by-api", [t["name"] for t in self.req(
            "GET", "/tokens?include_inactive=true&limit=1000",
            token=self.alice)[2]["tokens"]])

    def assertDeadEverywhere(self, api, tid, detail=MSG_BAD_TOKEN):
        """401 with detail (the reference API's sentence) on every route."""
        self.assert401(self.req("GET", "/auth/me", token=api), detail=detail)
        self.assert401(self.req("POST", "/auth/logout", token=api),
                       detail=detail)
        for method, path, body in self.management_calls(api, tid):
            self.assert401(self.req(method, path, body, token=api),
                           detail=detail)

    def test_revoked_api_token_401_everywhere(self):
        tok, api = self.mk(self.alice, "revoked-api")
        self.assertEqual(self.req("DELETE", "/tokens/" + tok["id"],
                                  token=self.alice)[0], 204)
        self.assertDeadEverywhere(api, tok["id"], MSG_REVOKED)

    def test_deactivated_api_token_401_everywhere(self):
        tok, api = self.mk(self.alice, "inactive-api")
        st, _, out = self.req("PUT", "/tokens/" + tok["id"],
                              {"is_active": False}, token=self.alice)
        self.assertEqual(st, 200, out)
        self.assertDeadEverywhere(api, tok["id"])

    def test_api_token_of_disabled_user_401(self):
        self.inst.add_user("frank@example.com", "frank-password-1")
        s = self.login("frank@example.com", "frank-password-1")
        tok, api = self.mk(s, "franks")
        self.assertEqual(self.req("GET", "/auth/me", token=api)[0], 200)
        self.inst.cli("user", "set", "frank@example.com", "--disable")
        self.assertDeadEverywhere(api, tok["id"], MSG_DISABLED)
        self.assert401(self.req("GET", "/auth/me", token=s), detail=MSG_DISABLED)
