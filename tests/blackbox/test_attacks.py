"""
test_attacks.py - the attack table of issue 7, against a real lighttpd +
tokencat.fcgi. Cases already in test_auth.py (ForgedJwt, Lockout),
test_enforce.py and test_errors.py (Robustness, Routing) are not repeated.

- Forged JWTs: "alg" spellings and types, header/signature algorithm
  mismatch, kid/jku/jwk/x5u header tricks, typ and crit, extra segments,
  base64 junk, huge and deep tokens, nbf, exp edge values, duplicate header
  members, token_use swaps, the jti of a logged-out session or revoked
  API token re-signed with a fresh exp.
- Brute force: the lockout holds whatever X-Forwarded-For says and on both
  login paths.
- API tokens on every management route of the route table: 403, nothing
  changed.
- X-Forwarded-For: not believed from an untrusted peer; junk from a trusted
  proxy fails closed.
- Path tricks in ids, non-UTF-8 and HTML in names (stored and returned
  literally, as JSON strings).
- Junk on every route x method of src/routes/router.c's table (read from the
  source): invalid JSON, wrong types, empty, huge, other media types -
  never a 5xx, every error a JSON detail, no worker restarted, nothing
  stored.
"""

import hashlib
import hmac
import json
import os
import re
import time
import unittest

from harness import (ADMIN, ALICE, BOB, MSG_API_TOKEN, MSG_BAD_LOGIN,
                     TOP_SRCDIR, InstanceTestCase, b64url, jwt_claims,
                     sign_jwt, MSG_BAD_TOKEN, MSG_REVOKED)


def raw_jwt(key, header_text, claims_text):
    """HS256 JWT over the exact JSON texts given (duplicate members, odd
    spacing and all), signed with key."""
    si = b64url(header_text) + "." + b64url(claims_text)
    return si + "." + b64url(hmac.new(key, si.encode(), hashlib.sha256)
                              .digest())


class ForgedJwtMore(InstanceTestCase):
    """Forgeries test_auth.ForgedJwt does not make."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = cls.inst.signing_key()
        cls.real = cls.inst.login(ALICE)
        cls.claims = jwt_claims(cls.real)

    def me(self, token):
        return self.req("GET", "/auth/me", token=token)

    def ok(self, token, why):
        st, _, out = self.me(token)
        self.assertEqual(st, 200, "%s: %r" % (why, out))

    def c(self, **changes):
        c = dict(self.claims)
        c.update(changes)
        return c

    def test_control(self):
        self.ok(sign_jwt(self.key, self.c()), "the faithful copy")

    def test_alg_spellings_and_types(self):
        for alg in ("None", "NONE", "nOnE", "", "hs256", "HS256 ", " HS256",
                    "HS256\u0000", "HS2560", "ES256", "PS256", "EdDSA",
                    "HS256,none"):
            hdr = json.dumps({"alg": alg, "typ": "JWT"})
            self.assert401(self.me(raw_jwt(self.key, hdr,
                                           json.dumps(self.c()))), alg)
            self.assert401(self.me(".".join((b64url(hdr), b64url(json.dumps(
                self.c())), ""))))
        for alg in (None, 256, ["HS256"], {"HS256": 1}, True):
            hdr = json.dumps({"alg": alg, "typ": "JWT"})
            self.assert401(self.me(raw_jwt(self.key, hdr,
                                           json.dumps(self.c()))))
        self.assert401(self.me(raw_jwt(self.key, '{"typ":"JWT"}',
                                       json.dumps(self.c()))))

    def assert401(self, resp, what=None, detail=None):
        super().assert401(resp, detail=detail)

    def test_header_alg_and_signature_algorithm_disagree(self):
        c = json.dumps(self.c())
        si = b64url('{"alg":"HS256","typ":"JWT"}') + "." + b64url(c)
        for digest in (hashlib.sha384, hashlib.sha512, hashlib.sha1,
                       hashlib.md5):
            sig = hmac.new(self.key, si.encode(), digest).digest()
            self.assert401(self.me(si + "." + b64url(sig)))
        good = hmac.new(self.key, si.encode(), hashlib.sha256).digest()
        for sig in (good[:16], good + b"\0", good[:-1] + bytes([good[-1] ^ 1]),
                    b""):
            self.assert401(self.me(si + "." + b64url(sig)))

    def test_key_selection_headers_are_ignored(self):
        evil = b"attacker-chosen-secret-0123456789"
        c = self.c()
        for extra in ({"kid": "../../../../dev/null"}, {"kid": "' OR 1=1 --"},
                      {"kid": ""}, {"kid": "/proc/self/environ"},
                      {"jku": "http://127.0.0.1:1/jwks.json"},
                      {"x5u": "http://127.0.0.1:1/cert.pem"},
                      {"jwk": {"kty": "oct", "k": b64url(evil)}},
                      {"x5c": ["MIIB"]}):
            hdr = dict({"alg": "HS256", "typ": "JWT"}, **extra)
            # signed with the attacker's key: refused
            self.assert401(self.me(sign_jwt(evil, c, header=hdr)))
            self.assert401(self.me(sign_jwt(b"", c, header=hdr)))
            # signed with the server's key: the header member changes nothing
            self.ok(sign_jwt(self.key, c, header=hdr), "harmless %r" % extra)

    def test_typ_and_crit(self):
        c = self.c()
        for hdr in ({"alg": "HS256", "typ": 1}, {"alg": "HS256", "typ": None},
                    {"alg": "HS256", "typ": "JOSE"},
                    {"alg": "HS256", "typ": "JWT", "crit": ["exp"]},
                    {"alg": "HS256", "typ": "JWT", "crit": []}):
            self.assert401(self.me(sign_jwt(self.key, c, header=hdr)))
        self.ok(sign_jwt(self.key, c, header={"alg": "HS256"}), "typ absent")

    def test_duplicate_header_members_are_read_alike(self):
        c = json.dumps(self.c())
        # json-c (tokencat's check) and jansson (libjwt) both keep the last
        self.assert401(self.me(raw_jwt(self.key,
                                       '{"alg":"HS256","alg":"none"}', c)))
        self.ok(raw_jwt(self.key, '{"alg":"none","alg":"HS256"}', c),
                "the same last alg for both parsers")
        self.assert401(self.me(raw_jwt(
            self.key, '{"alg":"HS256","typ":"JWT","typ":"at+jwt"}', c)))

    def test_segments_and_base64_junk(self):
        tok = sign_jwt(self.key, self.c())
        h, p, s = tok.split(".")
        for bad in (tok + ".", tok + ".AAAA", tok + ".AAAA.BBBB", "." + tok,
                    h + "." + p + "." + s + "=", h + "==." + p + "." + s,
                    h + "." + p + "." + "+" + s[1:],
                    h + "." + p + "." + s[:-1] + "/",
                    h + ". " + p + "." + s, h + "." + p + "." + s[:-1],
                    h + "." + p + "." + s[:-2], h + "." + p + "." + s + "A",
                    h + "." + p + "." + s + "AA",
                    "A" + tok, h + "." + "A" * len(p) + "." + s):
            self.assert401(self.me(bad))
        # base64url is not malleable: the other spellings of the last
        # signature character (same bytes, other unused low bits) fail
        alpha = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                 "0123456789-_")
        v = alpha.index(s[-1])
        for alt in alpha[v & ~3:(v & ~3) + 4]:
            if alt != s[-1]:
                self.assert401(self.me(h + "." + p + "." + s[:-1] + alt))
        # valid base64url, not JSON / not an object
        for hdr_text in ("null", "[]", '"HS256"', "{", "{}x", "\u00ff"):
            self.assert401(self.me(b64url(hdr_text) + "." + p + "." + s))
        for body in ("null", "[]", "1", "{", '{"sub":'):
            self.assert401(self.me(raw_jwt(self.key,
                                           '{"alg":"HS256"}', body)))

    def test_huge_and_deep_tokens(self):
        big = sign_jwt(self.key, self.c(pad="x" * 5400))
        self.assertLess(len(big), 8192)
        self.ok(big, "a large but valid token")
        self.assert401(self.me(big[:-1] + ("A" if big[-1] != "A" else "B")))
        deep = json.loads("[" * 20 + "]" * 20)
        self.assert401(self.me(sign_jwt(self.key, self.c(d=deep))))
        self.assert401(self.me(sign_jwt(self.key, self.c(), header={
            "alg": "HS256", "x": json.loads("[" * 30 + "]" * 30)})))
        self.assert401(self.me("A" * 7000 + "." + "B" * 500 + "." + "C" * 43))

    def test_time_claims(self):
        now = int(time.time())
        self.assert401(self.me(sign_jwt(self.key, self.c(nbf=now + 3600))))
        self.assert401(self.me(sign_jwt(self.key, self.c(nbf=str(now - 10)))))
        self.assert401(self.me(sign_jwt(self.key, self.c(nbf=None))))
        self.ok(sign_jwt(self.key, self.c(nbf=now - 10)), "nbf in the past")
        for exp in (float(now + 600), now + 600.5, 2 ** 64 + 5, -1, 0, True,
                    None, [now + 600]):
            self.assert401(self.me(sign_jwt(self.key, self.c(exp=exp))))
        for iat in (float(now), "now", None):
            self.assert401(self.me(sign_jwt(self.key, self.c(iat=iat))))

    def test_token_use_swaps(self):
        s = self.inst.login(ALICE)
        st, out = self.inst.create_token(s, "swap-me")
        self.assertEqual(st, 201, out)
        api = out["access_token"]
        ac = jwt_claims(api)
        # a session at the enforcement point and in introspection: refused
        st, _, out = self.req("GET", "/auth/check", token=s, headers={
            "X-Original-URI": "/x", "X-Original-Method": "GET"})
        self.assertEqual(st, 401, out)
        st, _, out = self.req("POST", "/auth/introspect", {"token": s},
                              token=self.inst.login(ADMIN))
        self.assertEqual((st, out), (200, {"active": False}))
        # the API token's claims called a session: its jti names no session
        # but the user is real - with the key this would be a login, so the
        # key is the only thing that stands here; without it, refused
        self.assert401(self.me(sign_jwt(b"k" * 32, dict(ac,
                                                        token_use="session"))))
        # the session's claims called "api": no catalog record
        self.assert401(self.me(sign_jwt(self.key, self.c(token_use="api"))))
        self.assert401(self.me(sign_jwt(self.key, dict(ac, token_use=None))))

    def test_jti_of_a_logged_out_session_resigned(self):
        s = self.inst.login(BOB)
        c = jwt_claims(s)
        self.assertEqual(self.req("POST", "/auth/logout", token=s)[0], 200)
        now = int(time.time())
        # the jti is revoked whoever the token names and however long it
        # says it lives: "Token has been revoked"
        self.assert401(self.me(sign_jwt(self.key, dict(
            c, iat=now, exp=now + 7200))), detail=MSG_REVOKED)
        self.assert401(self.me(sign_jwt(self.key, dict(
            c, sub=self.claims["sub"]))), detail=MSG_REVOKED)

    def test_jti_of_a_revoked_api_token_resigned(self):
        s = self.inst.login(ALICE)
        st, out = self.inst.create_token(s, "revoke-then-forge")
        api, tid = out["access_token"], out["token"]["id"]
        c = jwt_claims(api)
        self.assertEqual(self.req("DELETE", "/tokens/" + tid, token=s)[0], 204)
        now = int(time.time())
        for changes in ({}, {"exp": now + 99999}, {"iat": now}):
            forged = sign_jwt(self.key, dict(c, **changes))
            # the same bytes are the revoked token; others hold its jti but
            # not its digest, so they are no token of the catalog
            self.assert401(self.me(forged), detail=MSG_REVOKED
                           if forged == api else MSG_BAD_TOKEN)
            st, _, out = self.req("GET", "/auth/check", token=forged, headers={
                "X-Original-URI": "/x", "X-Original-Method": "GET"})
            self.assertEqual(st, 401, out)
        self.assert401(self.me(api), detail=MSG_REVOKED)

    def test_bearer_scheme_spellings(self):
        for auth, want in (("bearer " + self.real, 200),
                           ("BEARER " + self.real, 200),
                           ("Bearer  " + self.real, 200),
                           ("Bearer " + self.real + " x", 401),
                           ("Bearer\t" + self.real, 401),
                           ("Bearer" + self.real, 401),
                           ("Bearer " + self.real + ",Bearer " + self.real,
                            401),
                           ("Basic " + b64url(ALICE + ":x"), 401),
                           ("Bearer", 401), ("Bearer ", 401)):
            st, _, out = self.req("GET", "/auth/me",
                                  headers={"Authorization": auth})
            self.assertEqual(st, want, (auth[:20], out))


class BruteForce(InstanceTestCase):
    """login_max_failures = 3, login_lockout_minutes = 1 (BASE_CONF)."""

    def test_lockout_ignores_forwarded_for_and_alias(self):
        email, pw = "brute@example.com", "brute-password-01"
        self.inst.add_user(email, pw)
        for i in range(3):
            path = "/auth/login" if i % 2 else "/auth/email/login"
            st, _, out = self.req("POST", path, {
                "email": email, "password": "guess-%d" % i},
                headers={"X-Forwarded-For": "198.51.100.%d" % i})
            self.assertIn(st, (401, 429), out)
        for xff in ("203.0.113.1", "127.0.0.1", "::1", None):
            for path in ("/auth/login", "/auth/email/login"):
                resp = self.req("POST", path, {"email": email, "password": pw},
                                headers={"X-Forwarded-For": xff})
                self.assertDetail(resp, 429)
                self.assertTrue(1 <= int(resp[1].get("Retry-After")) <= 60)
        for variant in (" brute@example.com", "brute@example.com ",
                        "brute@example.com\u0000", "brute@example.com.",
                        "BRUTE@EXAMPLE.COM"):
            st, _, out = self.req("POST", "/auth/login",
                                  {"email": variant, "password": pw})
            self.assertIn(st, (401, 422, 429), (variant, out))
            self.assertNotEqual(st, 200)

    def test_lockout_answers_do_not_tell_users_apart(self):
        known, pw = "known@example.com", "known-password-01"
        self.inst.add_user(known, pw)
        answers = []
        for email in (known, "nobody-here@example.com"):
            seq = []
            for i in range(5):
                st, h, out = self.req("POST", "/auth/login",
                                      {"email": email, "password": "bad"})
                seq.append((st, out["detail"]))
            answers.append(seq)
        self.assertEqual(answers[0], answers[1])
        self.assertEqual(answers[0][0], (401, MSG_BAD_LOGIN))


def route_table():
    """(method, pattern, flags) of every row of src/routes/router.c's table."""
    with open(os.path.join(TOP_SRCDIR, "src", "routes", "router.c")) as f:
        src = f.read()
    table = src[src.index("routes[] = {"):]
    table = table[:table.index("};")]
    rows = re.findall(r'\{\s*"([A-Z]+)",\s*"([^"]+)",\s*\w+,\s*([^}]*)\}',
                      table)
    if len(rows) < 20:
        raise AssertionError("could not read the route table: %r" % rows)
    return [(m, p, f.strip()) for m, p, f in rows]


class RouteTable(InstanceTestCase):
    """Every route x method, with API tokens and with junk."""

    METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        inst = cls.inst
        cls.routes = route_table()
        cls.admin = inst.login(ADMIN)
        cls.alice = inst.login(ALICE)
        cls.team = inst.cli("team", "add", "Attack Team", "--owner",
                            ALICE).stdout.strip()
        inst.cli("team", "member", "add", cls.team, BOB)
        st, out = inst.create_token(cls.alice, "victim")
        assert st == 201, out
        cls.tid = out["token"]["id"]
        st, out = inst.create_token(cls.admin, "admins-api")
        cls.admin_api = out["access_token"]
        st, out = inst.create_token(cls.alice, "alices-api")
        cls.alice_api = out["access_token"]
        cls.pids = sorted(inst.worker_pids())

    def path_of(self, pattern):
        return (pattern.replace("{id}", self.tid if "tokens" in pattern
                                else self.team)
                .replace("{team}", self.team)
                .replace("{email}", "bob%40example.com"))

    def snapshot(self):
        """What a refused request must not change."""
        def get(path):
            st, _, out = self.req("GET", path, token=self.admin)
            self.assertEqual(st, 200, (path, out))
            return out
        toks = get("/tokens/admin/all?include_inactive=true&limit=1000")
        return {
            "tokens": sorted((t["id"], t["name"], t["is_active"],
                              t["is_revoked"], t["description"],
                              json.dumps(t["tags"]), t["expires_at"])
                             for t in toks["tokens"]),
            "teams": sorted((t["id"], t["name"], t["member_count"])
                            for t in get("/teams?all=true")),
            "members": sorted((m["email"], m["role"]) for m in
                              get("/teams/%s/members" % self.team)),
            "users": sorted((u["email"], u["is_admin"], u["is_active"],
                             u["full_name"]) for u in
                            get("/admin/users?limit=1000")["users"]),
            "audit": get("/tokens/admin/audit?limit=1")["total"],
        }

    def assertSane(self, resp, what):
        st, hdrs, out = resp
        self.assertLess(st, 500, "%s -> %d %r" % (what, st,
                                                   self.inst.last_body[:200]))
        if st >= 400:
            self.assertIsInstance(out, dict, "%s: %d not JSON: %r" % (
                what, st, self.inst.last_body[:100]))
            self.assertIsInstance(out.get("detail"), str, what)
            self.assertEqual(hdrs.get("X-Content-Type-Options"), "nosniff")

    def tearDown(self):
        self.assertEqual(sorted(self.inst.worker_pids()), self.pids,
                         "a worker died and was respawned")

    def test_route_table_was_read(self):
        pats = {p for _, p, _ in self.routes}
        for p in ("/tokens", "/tokens/{id}", "/auth/login", "/teams/{id}"):
            self.assertIn(p, pats)

    def test_api_tokens_on_every_management_route_403(self):
        before = self.snapshot()
        n = 0
        for method, pattern, flags in self.routes:
            if "RF_SESSION" not in flags and "RF_ADMIN" not in flags:
                continue
            for tok in (self.alice_api, self.admin_api):
                body = {"name": "via-api", "expires_in_days": 1,
                        "email": "x@example.com", "password": "p" * 16,
                        "role": "owner", "is_active": False} \
                    if method in ("POST", "PUT", "PATCH") else None
                resp = self.req(method, self.path_of(pattern), body, token=tok)
                self.assertDetail(resp, 403, MSG_API_TOKEN)
                n += 1
        self.assertGreater(n, 30)
        self.assertEqual(self.snapshot(), before)

    WRONG = {"name": 1, "description": 2, "expires_in_days": "30",
             "scope": [], "tags": {}, "team_id": 5, "is_active": "no",
             "user_email": [], "reason": {}, "email": 7, "password": 8,
             "teams": "red", "token": 9, "full_name": [], "is_admin": "y",
             "role": 1}

    def junk_bodies(self, method, flags):
        """(body, content type) pairs that no route may act on. An empty
        body, {} and all-null fields are valid on routes whose body is
        optional or whose fields all are, and so are only sent where a
        body with fields is required (POST with RF_BODY)."""
        junk = [
            (b"{", "application/json"),
            (b'{"name": "x",}', "application/json"),
            (b"\xff\xfe{}", "application/json"),
            (b'{"name": "\xc0\xaf"}', "application/json"),
            (b'{"name": "\\ud800", "reason": "\\udc00"}', "application/json"),
            (b"[" * 40 + b"]" * 40, "application/json"),
            (b'{"a":' * 30 + b"1" + b"}" * 30, "application/json"),
            (b"null", "application/json"),
            (b"[]", "application/json"),
            (b'"string"', "application/json"),
            (b"12", "application/json"),
            (json.dumps(self.WRONG).encode(), "application/json"),
            (b'{"name": "' + b"x" * 5000 + b'"}', "application/json"),
            (b"<x/>", "text/xml"),
            (os.urandom(300), "application/octet-stream"),
            (b'{"name": 1, "reason": 1, "full_name": 1, "token": 1}',
             "application/json; charset=" + "x" * 100),
        ]
        if method == "POST" and "RF_BODY" in flags:
            junk += [
                (b"", "application/json"),
                (b"{}", "application/json"),
                (json.dumps({k: None for k in self.WRONG}).encode(),
                 "application/json"),
                (b"name=x&reason=y", "application/x-www-form-urlencoded"),
            ]
        return junk

    def test_junk_on_every_route_and_method(self):
        before = self.snapshot()
        seen = set()
        n = 0
        for method in self.METHODS:
            for _, pattern, flags in self.routes:
                path = self.path_of(pattern)
                if (method, path) in seen:
                    continue
                seen.add((method, path))
                if pattern.endswith("{email}") and method == "DELETE":
                    continue    # reads no body: would remove bob; below
                # the flags of the row that serves this method, if any
                row = [f for m, p, f in self.routes
                       if p == pattern and m == method]
                rflags = row[0] if row else ""
                for raw, ctype in self.junk_bodies(method, rflags):
                    tok = self.admin
                    if pattern == "/auth/logout" and method == "POST":
                        tok = self.inst.login(ADMIN)    # reads no body
                    resp = self.req(method, path, raw=raw, token=tok,
                                    headers={"Content-Type": ctype})
                    n += 1
                    if method == "GET" and resp[0] == 400:
                        continue        # lighttpd refuses a GET with a body
                    self.assertSane(resp, "%s %s %r" % (method, path, raw[:30]))
                    if method in ("PUT", "PATCH", "DELETE") and row and \
                            "{" in pattern and resp[0] < 300:
                        self.fail("%s %s acted on junk %r: %d" % (
                            method, path, raw[:40], resp[0]))
        self.assertGreater(n, 1000)
        # the body-less DELETE of a member: junk on a non-member
        for raw, ctype in self.junk_bodies("DELETE", ""):
            resp = self.req("DELETE", "/teams/%s/members/%s" % (
                self.team, "carol%40example.com"), raw=raw, token=self.admin,
                headers={"Content-Type": ctype})
            self.assertSane(resp, "DELETE member %r" % raw[:30])
        after = self.snapshot()
        # a junk body never creates, edits or revokes anything
        self.assertEqual(after["tokens"], before["tokens"])
        self.assertEqual(after["users"], before["users"])
        self.assertEqual(after["members"], before["members"])
        self.assertEqual(after["teams"], before["teams"])
        self.assertEqual(self.req("GET", "/health")[0], 200)

    def test_every_route_without_credentials_and_with_garbage(self):
        for method in self.METHODS:
            for _, pattern, flags in self.routes:
                for tok in (None, "garbage", "a.b.c", self.alice_api):
                    resp = self.req(method, self.path_of(pattern), token=tok)
                    self.assertSane(resp, "%s %s %s" % (method, pattern,
                                                        (tok or "")[:10]))

    def test_authorizer_door_with_junk(self):
        for path in ("/protected/hello.txt", "/protected/%2e%2e/x",
                     "/protected/" + "a" * 1500, "/protected/x?" + "q" * 1500):
            for tok in (None, "junk", self.alice):
                st, _, out = self.req("GET", path, token=tok, prefix="")
                self.assertIn(st, (401, 403, 404), (path[:30], st, out))


class PathTricks(InstanceTestCase):
    """Ids with traversal, encoded separators and NULs stay ids."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.inst.login(ALICE)
        cls.admin = cls.inst.login(ADMIN)
        st, out = cls.inst.create_token(cls.s, "path-victim")
        cls.tid = out["token"]["id"]
        cls.team = cls.inst.cli("team", "add", "Path Team", "--owner",
                                ALICE).stdout.strip()

    # "..", ".", "%2e%2e" and "%2e%2e%2f" are resolved by lighttpd before
    # routing (it decodes PATH_INFO, %2F included, and removes dot segments)
    TRICKS = ("..%2f..%2fadmin%2fall", "%2fadmin%2fall", "admin%2fall", "%00",
              "a%00b", "%0a", "%0d%0a", "%252f", "%25", "%", "%zz", "%2", "%c0%af", "%ff", "%e2%80%ae",
              "%20", "+", "~", "*", "{id}", "%7bid%7d", "\\", "%5c",
              "..;", ";", "a;b=c", "%3f", "%23")

    def test_token_ids(self):
        # lighttpd decodes PATH_INFO, %2F included: "admin%2fall" is the
        # path /tokens/admin/all (403 for alice), never a token id; NUL,
        # CR, LF and overlong or invalid UTF-8 are refused by lighttpd (400)
        for trick in self.TRICKS + (self.tid + "%00", self.tid + "%0a",
                                    "%2e%2e%2f" + self.tid,
                                    self.tid.upper(), self.tid + "x"):
            for method, body in (("GET", None), ("PUT", {"name": "moved"}),
                                 ("DELETE", None)):
                st, _, out = self.req(method, "/tokens/" + trick, body,
                                      token=self.s)
                self.assertIn(st, (400, 403, 404, 405), (method, trick, out))
            st, _, out = self.req("GET", "/tokens/%s/usage" % trick,
                                  token=self.s)
            self.assertIn(st, (400, 403, 404), (trick, out))
        st, _, tok = self.req("GET", "/tokens/" + self.tid, token=self.s)
        self.assertEqual((st, tok["name"], tok["is_active"]),
                         (200, "path-victim", True))

    def test_admin_list_is_never_an_id(self):
        for path in ("/tokens/admin/all", "/tokens/admin/all/",
                     "/v1/tokens/admin/all", "/tokens//admin/all",
                     "/tokens/./admin/all", "/tokens/x/../admin/all"):
            st, _, out = self.req("GET", path, token=self.s)
            self.assertIn(st, (403, 404), (path, out))
            if st == 403:
                self.assertEqual(out["detail"], "Admin access required")

    def test_team_and_member_ids(self):
        for trick in self.TRICKS:
            for path in ("/teams/" + trick, "/teams/%s/members" % trick,
                         "/tokens/teams/" + trick):
                st, _, out = self.req("GET", path, token=self.s)
                self.assertIn(st, (400, 403, 404, 405), (path, out))
            st, _, out = self.req("DELETE", "/teams/%s/members/%s" % (
                self.team, trick), token=self.s)
            self.assertIn(st, (400, 404, 405), (trick, out))
            st, _, out = self.req("PATCH", "/admin/users/" + trick,
                                  {"full_name": "x"}, token=self.admin)
            self.assertIn(st, (400, 404, 405, 422), (trick, out))
        st, _, members = self.req("GET", "/teams/%s/members" % self.team,
                                  token=self.s)
        self.assertEqual([m["email"] for m in members], [ALICE])


class NamesAreData(InstanceTestCase):
    """Names are stored and answered literally, as JSON strings."""

    NAMES = ('<script>alert(1)</script>', '"quoted" \\ back\\slash',
             "</script><img src=x onerror=alert(1)>", "a\u2028b\u2029c",
             "tab\there", "new\nline", "\u202eevil.exe", "{{7*7}}",
             "${jndi:ldap://x/a}", "'; DROP TABLE tokens; --", "\u00e9\u00e8",
             "\U0001f600 emoji", "%00", "\\u0000", "&lt;b&gt;", "\x7f")

    def test_names_round_trip_literally(self):
        s = self.login(ALICE)
        for i, name in enumerate(self.NAMES):
            st, out = self.inst.create_token(
                s, name, description=name, tags=[name, {"k": name}])
            self.assertEqual(st, 201, (name, out))
            tok = json.loads(self.inst.last_body)["token"]
            self.assertEqual((tok["name"], tok["description"], tok["tags"]),
                             (name, name, [name, {"k": name}]))
            st, hdrs, got = self.req("GET", "/tokens/" + tok["id"], token=s)
            self.assertEqual(got["name"], name)
            self.assertEqual(hdrs.get("Content-Type").split(";")[0],
                             "application/json")
            self.assertEqual(hdrs.get("X-Content-Type-Options"), "nosniff")
        st, _, page = self.req("GET", "/tokens?limit=1000", token=s)
        self.assertTrue(set(self.NAMES) <= {t["name"] for t in page["tokens"]})

    def test_team_and_user_names_round_trip(self):
        admin = self.login(ADMIN)
        for i, name in enumerate(self.NAMES[:6]):
            st, _, team = self.req("POST", "/teams", {"name": name + str(i)},
                                   token=admin)
            self.assertEqual((st, team["name"]), (201, name + str(i)))
        st, _, u = self.req("POST", "/admin/users", {
            "email": "html@example.com", "password": "html-password-01",
            "full_name": self.NAMES[0], "is_admin": False}, token=admin)
        self.assertEqual((st, u["full_name"]), (201, self.NAMES[0]))
        me = self.inst.login_full("html@example.com", "html-password-01")
        self.assertEqual(me["user"]["full_name"], self.NAMES[0])

    def test_non_utf8_and_bad_escapes_refused(self):
        s = self.login(ALICE)
        for raw in (b'{"name": "\xff", "expires_in_days": 1}',
                    b'{"name": "\xc3", "expires_in_days": 1}',
                    b'{"name": "\xe0\x80\xaf", "expires_in_days": 1}',
                    b'{"name": "\xf8\x88\x80\x80\x80", "expires_in_days": 1}',
                    b'{"name": "\xed\xb0\x80", "expires_in_days": 1}',
                    b'{"name": "\xf4\x90\x80\x80", "expires_in_days": 1}',
                    b'{"name": "\\udc00", "expires_in_days": 1}',
                    b'{"name": "\\ud83d", "expires_in_days": 1}',
                    b'{"name": "\\ud83dx", "expires_in_days": 1}',
                    b'{"name": "\\ud83d\\ud83d", "expires_in_days": 1}',
                    b'{"name": "x", "tags": ["\\udfff"], "expires_in_days": 1}',
                    b'{"name": "a\\u0000b", "expires_in_days": 1}',
                    b'{"name": "\\uZZZZ", "expires_in_days": 1}',
                    b'{"name\xff": "x", "name": "y", "expires_in_days": 1}'):
            st, _, out = self.req("POST", "/tokens", raw=raw, token=s,
                                  headers={"Content-Type": "application/json"})
            self.assertIn(st, (400, 422), (raw, out))
            self.assertIn("detail", out)
            if b"\\ud" in raw:     # json-c would store U+FFFD instead
                self.assertEqual(out["detail"],
                                 "Invalid JSON: unpaired surrogate in string")
        st, _, out = self.req("GET", "/tokens?limit=1000", token=s)
        self.assertEqual(out["total"], len([t for t in out["tokens"]]))
        for t in out["tokens"]:
            self.assertNotIn("\ufffd", t["name"])
        # a proper surrogate pair is one character
        st, _, out = self.req("POST", "/tokens", raw=b'{"name": "\\ud83d\\ude00'
                              b'", "expires_in_days": 1}', token=s,
                              headers={"Content-Type": "application/json"})
        self.assertEqual((st, out["token"]["name"]), (201, "\U0001f600"))


class ForwardedForUntrusted(InstanceTestCase):
    """No trusted_proxies: X-Forwarded-For is never believed (API.md 6.3)."""

    CONF = {"rule": ["* / tools.read"]}

    def check(self, tok, xff):
        return self.req("GET", "/auth/check", token=tok, headers={
            "X-Original-URI": "/tools", "X-Original-Method": "GET",
            "X-Forwarded-For": xff})

    def test_spoofed_forwarded_for_is_ignored(self):
        s = self.login(ALICE)
        st, out = self.inst.create_token(s, "ip-bound", scope={
            "ip_restrictions": ["203.0.113.7", "2001:db8::/32"]})
        tok = out["access_token"]
        for xff in ("203.0.113.7", "127.0.0.1, 203.0.113.7",
                    "203.0.113.7, 203.0.113.7", "2001:db8::1",
                    "::ffff:203.0.113.7", "203.0.113.7:443",
                    "for=203.0.113.7", " 203.0.113.7 ", "203.0.113.7\t"):
            st, _, out = self.check(tok, xff)
            self.assertEqual(st, 403, (xff, out))
        st, out = self.inst.create_token(s, "ip-local", scope={
            "ip_restrictions": ["127.0.0.1"]})
        tok = out["access_token"]
        self.assertEqual(self.check(tok, "203.0.113.7")[0], 200,
                         "the peer address decides")


class ForwardedForTrusted(InstanceTestCase):
    """trusted_proxies = 127.0.0.1: junk in X-Forwarded-For fails closed."""

    CONF = {"rule": ["* / tools.read"], "trusted_proxies": "127.0.0.1"}

    def test_junk_forwarded_for_fails_closed(self):
        s = self.login(ALICE)
        st, out = self.inst.create_token(s, "ip-proxied", scope={
            "ip_restrictions": ["192.0.2.7"]})
        tok = out["access_token"]
        pids = sorted(self.inst.worker_pids())
        for xff in ("garbage", "192.0.2.7, garbage", "192.0.2.7, ",
                    "192.0.2.7,,", ", , ,", "192.0.2.7:80", "[192.0.2.7]",
                    "192.0.2.7/32", "192.0.2.7 192.0.2.7",
                    ", ".join(["10.0.0.%d" % (i % 250) for i in range(700)]),
                    "192.0.2.7, " + "127.0.0.1, " * 300 + "x",
                    "\u00e9", "192.0.2.7\u0000"):
            try:
                st, _, out = self.req("GET", "/auth/check", token=tok, headers={
                    "X-Original-URI": "/t", "X-Original-Method": "GET",
                    "X-Forwarded-For": xff})
            except (ValueError, UnicodeEncodeError):
                continue        # http.client will not send it
            # 400 and 431: lighttpd refused the header itself
            self.assertIn(st, (400, 403, 431), (xff[:40], out))
        # trusted proxies on the right are skipped: the client is 192.0.2.7
        st, _, out = self.req("GET", "/auth/check", token=tok, headers={
            "X-Original-URI": "/t", "X-Original-Method": "GET",
            "X-Forwarded-For": "192.0.2.7, 127.0.0.1, 127.0.0.1"})
        self.assertEqual(st, 200, out)
        self.assertEqual(sorted(self.inst.worker_pids()), pids)


if __name__ == "__main__":
    unittest.main()
