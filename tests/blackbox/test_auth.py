"""
test_auth.py - POST /auth/login (+ alias), session JWT claims, GET /auth/me,
POST /auth/logout, login lockout, and forged JWTs over HTTP (API.md 3).
"""

import os
import statistics
import time
import uuid

from harness import (ADMIN, ALICE, BOB, FULL_NAMES, MSG_API_TOKEN,
                     MSG_BAD_LOGIN, PASSWORDS, USER_FIELDS, InstanceTestCase,
                     b64url, is_uuid4, jwt_claims, jwt_header, parse_time,
                     sign_jwt, MSG_REVOKED, MSG_DISABLED)


class Login(InstanceTestCase):
    """Successful logins, their JWT, and the 401/422 answers."""

    def assertUser(self, user, email, full_name, is_admin):
        self.assertEqual(sorted(user), sorted(USER_FIELDS))
        self.assertTrue(is_uuid4(user["id"]), user["id"])
        self.assertEqual(user["email"], email)
        self.assertEqual(user["full_name"], full_name)
        self.assertIs(user["is_admin"], is_admin)
        self.assertIs(user["is_active"], True)
        self.assertNear(parse_time(user["created_at"]), time.time(), 600)

    def test_login_200_shape(self):
        st, h, out = self.req("POST", "/auth/login",
                              {"email": ALICE, "password": PASSWORDS[ALICE]})
        self.assertEqual(st, 200, out)
        self.assertStdHeaders(h)
        self.assertEqual(sorted(out), ["access_token", "expires_in",
                                       "token_type", "user"])
        self.assertEqual(out["token_type"], "bearer")
        self.assertEqual(out["expires_in"], 3600)
        self.assertIsInstance(out["access_token"], str)
        self.assertUser(out["user"], ALICE, FULL_NAMES[ALICE], False)

    def test_admin_login_is_admin(self):
        out = self.inst.login_full(ADMIN)
        self.assertUser(out["user"], ADMIN, "Administrator", True)

    def test_email_login_alias(self):
        st, _, out = self.req("POST", "/auth/email/login",
                              {"email": BOB, "password": PASSWORDS[BOB]})
        self.assertEqual(st, 200, out)
        self.assertEqual(out["user"]["email"], BOB)
        self.assertEqual(out["token_type"], "bearer")
        st, _, me = self.req("GET", "/auth/me", token=out["access_token"])
        self.assertEqual((st, me["user"]["email"]), (200, BOB))

    def test_login_email_case_insensitive_answer_lowercase(self):
        st, _, out = self.req("POST", "/auth/login",
                              {"email": "Alice@EXAMPLE.com",
                               "password": PASSWORDS[ALICE]})
        self.assertEqual(st, 200, out)
        self.assertEqual(out["user"]["email"], ALICE)

    def test_unknown_fields_ignored(self):
        st, _, out = self.req("POST", "/auth/login",
                              {"email": BOB, "password": PASSWORDS[BOB],
                               "remember_me": True, "x": {"y": [1]}})
        self.assertEqual(st, 200, out)

    def test_session_jwt_claims(self):
        t0 = int(time.time())
        out = self.inst.login_full(ALICE)
        tok = out["access_token"]
        hdr = jwt_header(tok)
        self.assertEqual(hdr.get("alg"), "HS256")
        c = jwt_claims(tok)
        self.assertEqual(c["sub"], out["user"]["id"])
        self.assertIsInstance(c["jti"], str)
        self.assertTrue(c["jti"])
        self.assertIsInstance(c["iat"], int)
        self.assertIsInstance(c["exp"], int)
        self.assertNear(c["iat"], t0, 5)
        self.assertEqual(c["exp"] - c["iat"], 3600)
        self.assertEqual(c["iss"], "tokencat")
        self.assertEqual(c["aud"], "tokencat-api")
        self.assertEqual(c["token_use"], "session")
        self.assertEqual(c["auth_provider"], "local")
        self.assertNotIn("teams", c)
        self.assertNotIn("password", tok)
        tok2 = self.login(ALICE)
        self.assertNotEqual(jwt_claims(tok2)["jti"], c["jti"])

    def test_wrong_password_401(self):
        resp = self.req("POST", "/auth/login",
                        {"email": BOB, "password": "not-the-password"})
        self.assertDetail(resp, 401, MSG_BAD_LOGIN)

    def test_422_missing_or_wrong_types(self):
        cases = [
            ({}, "email"),
            ({"password": "x" * 12}, "email"),
            ({"email": ADMIN}, "password"),
            ({"email": 5, "password": "x" * 12}, "email"),
            ({"email": None, "password": "x" * 12}, "email"),
            ({"email": [ADMIN], "password": "x" * 12}, "email"),
            ({"email": ADMIN, "password": 123456789012}, "password"),
            ({"email": ADMIN, "password": None}, "password"),
            ({"email": ADMIN, "password": {"p": 1}}, "password"),
            ({"email": ADMIN, "password": True}, "password"),
            ({"email": ADMIN, "password": PASSWORDS[ADMIN], "teams": "x"},
             "teams"),
            ({"email": ADMIN, "password": PASSWORDS[ADMIN], "teams": [1]},
             "teams"),
        ]
        for body, field in cases:
            self.assertDetail(self.req("POST", "/auth/login", body), 422,
                              prefix=field)
        # none of these counted as a failure: admin can still log in
        self.login(ADMIN)


class LoginAnswersAlike(InstanceTestCase):
    """Unknown user, wrong password and disabled account: the same 401."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for who in ("carol", "carol1", "carol2"):
            cls.inst.add_user(who + "@example.com", "carol-password-01")
            cls.inst.cli("user", "set", who + "@example.com", "--disable")

    def _fail(self, email, pw):
        t = time.monotonic()
        st, h, out = self.req("POST", "/auth/login",
                              {"email": email, "password": pw})
        dt = time.monotonic() - t
        return st, dict((k.lower(), v) for k, v in h.items()
                        if k.lower() not in ("date",)), \
            self.inst.last_body, dt

    def test_three_failures_identical(self):
        unknown = self._fail("nobody@example.com", "whatever-password")
        wrong = self._fail(BOB, "whatever-password")
        disabled = self._fail("carol@example.com", "carol-password-01")
        for r in (unknown, wrong, disabled):
            self.assertEqual(r[0], 401)
        self.assertEqual(unknown[2], wrong[2])
        self.assertEqual(disabled[2], wrong[2])
        self.assertIn(b"Invalid email or password", wrong[2])
        self.assertEqual(unknown[1], wrong[1])
        self.assertEqual(disabled[1], wrong[1])

    def test_about_the_same_time(self):
        samples = {"unknown": [], "wrong": [], "disabled": []}
        for i in range(3):
            samples["unknown"].append(
                self._fail("ghost%d@example.com" % i, "pw-pw-pw-pw-pw")[3])
            samples["wrong"].append(self._fail(
                [ADMIN, ALICE, BOB][i], "pw-pw-pw-pw-pw")[3])
            samples["disabled"].append(self._fail(
                ["carol", "carol1", "carol2"][i] + "@example.com",
                "carol-password-01")[3])
        wrong = statistics.median(samples["wrong"])
        for kind in ("unknown", "disabled"):
            t = statistics.median(samples[kind])
            self.assertGreater(t, wrong / 3, "%s %.3fs vs wrong %.3fs"
                               % (kind, t, wrong))
            self.assertLess(t, wrong * 3 + 0.05, "%s %.3fs vs wrong %.3fs"
                            % (kind, t, wrong))

    def test_disabled_then_enabled(self):
        self.inst.add_user("dora@example.com", "dora-password-001")
        self.login("dora@example.com", "dora-password-001")
        self.inst.cli("user", "set", "dora@example.com", "--disable")
        self.assertDetail(self.req("POST", "/auth/login",
                                   {"email": "dora@example.com",
                                    "password": "dora-password-001"}),
                          401, MSG_BAD_LOGIN)
        self.inst.cli("user", "set", "dora@example.com", "--enable")
        self.login("dora@example.com", "dora-password-001")


class Lockout(InstanceTestCase):
    """login_max_failures = 3, login_lockout_minutes = 1 (tc-decisions)."""

    def _login(self, email, pw):
        return self.req("POST", "/auth/login", {"email": email,
                                                "password": pw})

    def assert429(self, resp):
        self.assertDetail(resp, 429)
        ra = resp[1].get("Retry-After")
        self.assertIsNotNone(ra, "429 without Retry-After")
        self.assertTrue(ra.isdigit(), ra)
        self.assertTrue(1 <= int(ra) <= 60, ra)

    def test_lockout_after_three_failures_even_for_right_password(self):
        email, pw = "lock@example.com", "lock-password-001"
        self.inst.add_user(email, pw)
        for _ in range(2):
            self.assertDetail(self._login(email, "bad-password-x"), 401,
                              MSG_BAD_LOGIN)
        third = self._login(email, "bad-password-x")
        self.assertIn(third[0], (401, 429))
        self.assert429(self._login(email, pw))
        self.assert429(self._login(email, "bad-password-x"))
        self.assert429(self.req("POST", "/auth/email/login",
                                {"email": email, "password": pw}))
        # per e-mail: others are not locked
        self.login(ALICE)

    def test_unknown_email_is_counted(self):
        email = "ghost@example.com"
        for _ in range(3):
            self._login(email, "bad-password-x")
        self.assert429(self._login(email, "bad-password-x"))

    def test_email_case_counts_together(self):
        email, pw = "case@example.com", "case-password-01"
        self.inst.add_user(email, pw)
        for variant in ("CASE@example.com", "Case@Example.com",
                        "case@EXAMPLE.COM"):
            self._login(variant, "bad-password-x")
        self.assert429(self._login(email, pw))

    def test_success_resets_the_count(self):
        email, pw = "reset@example.com", "reset-password-1"
        self.inst.add_user(email, pw)
        for _ in range(3):
            for _ in range(2):
                self.assertDetail(self._login(email, "bad-password-x"), 401,
                                  MSG_BAD_LOGIN)
            st, _, out = self._login(email, pw)
            self.assertEqual(st, 200, out)


class Me(InstanceTestCase):
    """GET /auth/me for sessions and API tokens."""

    def test_me_with_session(self):
        out = self.inst.login_full(ALICE)
        st, h, me = self.req("GET", "/auth/me", token=out["access_token"])
        self.assertEqual(st, 200, me)
        self.assertStdHeaders(h)
        self.assertEqual(me["user"], out["user"])
        self.assertEqual(me["auth_method"], "jwt")
        self.assertEqual(me["teams"], [])
        self.assertIn("token_teams", me)
        self.assertIsNone(me["token_teams"])
        # tokencat's addition for token forms: the expiry policy (config)
        self.assertEqual(me["token_policy"], {"max_token_days": 365,
                                              "require_token_expiration": True})

    def test_me_with_api_token(self):
        s = self.login(BOB)
        st, out = self.inst.create_token(s, "me-token")
        self.assertEqual(st, 201, out)
        st, _, me = self.req("GET", "/auth/me", token=out["access_token"])
        self.assertEqual(st, 200, me)
        self.assertEqual(me["auth_method"], "api_token")
        self.assertEqual(me["user"]["email"], BOB)
        self.assertEqual(me["user"]["full_name"], FULL_NAMES[BOB])
        self.assertIs(me["user"]["is_admin"], False)
        self.assertIsNone(me["token_teams"])

    def test_me_admin_flag_read_from_store(self):
        s = self.login(BOB)
        st, _, me = self.req("GET", "/auth/me", token=s)
        self.assertIs(me["user"]["is_admin"], False)
        self.inst.cli("user", "set", BOB, "--admin")
        try:
            st, _, me = self.req("GET", "/auth/me", token=s)
            self.assertEqual(st, 200)
            self.assertIs(me["user"]["is_admin"], True)
        finally:
            self.inst.cli("user", "set", BOB, "--no-admin")
        st, _, me = self.req("GET", "/auth/me", token=s)
        self.assertIs(me["user"]["is_admin"], False)


class Logout(InstanceTestCase):

    def test_logout_then_refused(self):
        s = self.login(ALICE)
        other = self.login(ALICE)
        st, h, out = self.req("POST", "/auth/logout", token=s)
        self.assertEqual((st, out), (200, {"message":
                                           "Logged out successfully"}))
        self.assertStdHeaders(h)
        self.assert401(self.req("GET", "/auth/me", token=s),
                       detail=MSG_REVOKED)
        self.assert401(self.req("GET", "/tokens", token=s), detail=MSG_REVOKED)
        self.assert401(self.req("POST", "/auth/logout", token=s),
                       detail=MSG_REVOKED)
        st, _, me = self.req("GET", "/auth/me", token=other)
        self.assertEqual(st, 200, "another session of the user must live")

    def test_logout_with_body_is_accepted(self):
        s = self.login(BOB)
        st, _, out = self.req("POST", "/auth/logout", {}, token=s)
        self.assertEqual(st, 200, out)
        self.assert401(self.req("GET", "/auth/me", token=s),
                       detail=MSG_REVOKED)

    def test_logout_without_credentials_401(self):
        self.assert401(self.req("POST", "/auth/logout"), invalid_token=False)

    def test_logout_with_api_token_403(self):
        s = self.login(ALICE)
        st, out = self.inst.create_token(s, "logout-api")
        api = out["access_token"]
        self.assertDetail(self.req("POST", "/auth/logout", token=api), 403,
                          MSG_API_TOKEN)
        st, _, me = self.req("GET", "/auth/me", token=api)
        self.assertEqual(st, 200, "the API token must still work")


class ForgedJwt(InstanceTestCase):
    """Tokens built by the test with the instance's own signing key."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = cls.inst.signing_key()
        cls.real = cls.inst.login(ALICE)
        cls.claims = jwt_claims(cls.real)
        cls.alice_id = cls.claims["sub"]
        cls.bob_id = jwt_claims(cls.inst.login(BOB))["sub"]

    def base(self, **changes):
        """The claims of alice's real session (same jti, so that a server
        keeping a list of issued sessions accepts them too) with changes
        applied; a change to None removes the claim."""
        c = dict(self.claims)
        for k, v in changes.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    def me(self, token):
        return self.req("GET", "/auth/me", token=token)

    def test_key_file(self):
        path = os.path.join(self.inst.db, "signing.key")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with open(path, "rb") as f:
            raw = f.read()
        self.assertRegex(raw.decode(), r"^[0-9a-f]{64}\n$")

    def test_control_forged_with_right_key_is_accepted(self):
        # proves the forging below is faithful: only the changed part fails
        st, _, me = self.me(sign_jwt(self.key, self.base()))
        self.assertEqual(st, 200, me)
        self.assertEqual(me["user"]["email"], ALICE)
        st, _, me = self.me(sign_jwt(self.key, self.base(
            aud=["other", "tokencat-api"])))
        self.assertEqual(st, 200, me)

    def test_alg_none(self):
        self.assert401(self.me(sign_jwt(b"", self.base(), alg="none")))
        forged = sign_jwt(self.key, self.base())
        head, payload, sig = forged.split(".")
        none_head = b64url('{"alg":"none","typ":"JWT"}')
        self.assert401(self.me(".".join((none_head, payload, sig))))
        self.assert401(self.me(".".join((none_head, payload, ""))))

    def test_other_algorithms_with_the_right_key(self):
        for alg in ("HS512", "HS384"):
            self.assert401(self.me(sign_jwt(self.key, self.base(), alg=alg)))
        # HS256 signature but a header claiming RS256
        self.assert401(self.me(sign_jwt(self.key, self.base(), header={
            "alg": "RS256", "typ": "JWT"})))

    def test_wrong_key(self):
        for key in (b"0" * 64, os.urandom(32).hex().encode(),
                    bytes.fromhex(self.key.decode()), self.key + b"\n"):
            self.assert401(self.me(sign_jwt(key, self.base())))

    def test_tampered_payload(self):
        head, payload, sig = self.real.split(".")
        c = dict(self.claims, sub=self.bob_id)
        evil = b64url('{"sub":"%s","jti":"%s","iat":%d,"exp":%d,"iss":'
                      '"tokencat","aud":"tokencat-api","token_use":"session",'
                      '"auth_provider":"local"}' % (c["sub"], c["jti"],
                                                    c["iat"], c["exp"]))
        self.assert401(self.me(".".join((head, evil, sig))))
        flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
        self.assert401(self.me(".".join((head, payload, flipped))))
        self.assert401(self.me(".".join((head, payload))))
        self.assert401(self.me(self.real + "x"))

    def test_expired(self):
        now = int(time.time())
        self.assert401(self.me(sign_jwt(self.key, self.base(
            iat=now - 7200, exp=now - 60))))
        self.assert401(self.me(sign_jwt(self.key, self.base(
            iat=now - 7200, exp=now))))

    def test_wrong_iss_and_aud(self):
        for ch in ({"iss": "evil"}, {"iss": "tokencat "}, {"iss": ""},
                   {"aud": "other-api"}, {"aud": ["a", "b"]}, {"aud": ""},
                   {"iss": 1}, {"aud": 1}):
            self.assert401(self.me(sign_jwt(self.key, self.base(**ch))))

    def test_missing_required_claims(self):
        for claim in ("jti", "iss", "aud", "exp", "token_use", "sub", "iat"):
            self.assert401(self.me(sign_jwt(self.key, self.base(
                **{claim: None}))))

    def test_wrongly_typed_claims(self):
        for ch in ({"exp": str(int(time.time()) + 600)}, {"jti": 5},
                   {"sub": 5}, {"token_use": ["session"]},
                   {"token_use": "refresh"}, {"token_use": "Session"}):
            self.assert401(self.me(sign_jwt(self.key, self.base(**ch))))

    def test_api_token_use_without_catalog_record(self):
        c = self.base(token_use="api", auth_provider=None,
                      user={"email": ALICE, "full_name": "Alice Example",
                            "is_admin": False, "auth_provider": "api_token"},
                      teams=None,
                      scopes={"server_id": None, "permissions": [],
                              "ip_restrictions": [], "time_restrictions": {},
                              "usage_limits": {}})
        c["teams"] = None
        self.assert401(self.me(sign_jwt(self.key, c)))
        self.assert401(self.req("GET", "/tokens",
                                token=sign_jwt(self.key, c)))

    def test_resigned_api_token(self):
        st, out = self.inst.create_token(self.real, "forge-me")
        self.assertEqual(st, 201, out)
        api = out["access_token"]
        c = jwt_claims(api)
        # control: the same claims signed again are the same token
        st, _, me = self.me(sign_jwt(self.key, c))
        self.assertEqual((st, me["auth_method"]), (200, "api_token"))
        now = int(time.time())
        for ch in ({"exp": now - 10}, {"iss": "evil"}, {"aud": "x"},
                   {"jti": str(uuid.uuid4())}, {"sub": self.bob_id},
                   {"token_use": "refresh"}, {"jti": None}):
            bad = dict(c)
            for k, v in ch.items():
                if v is None:
                    bad.pop(k)
                else:
                    bad[k] = v
            self.assert401(self.me(sign_jwt(self.key, bad)))
        self.assert401(self.me(sign_jwt(self.key, c, alg="HS512")))
        self.assert401(self.me(sign_jwt(b"", c, alg="none")))

    def test_unknown_sub(self):
        self.assert401(self.me(sign_jwt(self.key, self.base(
            sub=str(uuid.uuid4())))))
        self.assert401(self.me(sign_jwt(self.key, self.base(
            sub=str(uuid.uuid4()), jti=str(uuid.uuid4())))))
        self.assert401(self.me(sign_jwt(self.key, self.base(sub=ALICE))))
        self.assert401(self.me(sign_jwt(self.key, self.base(sub=""))))

    def test_resigned_session_of_disabled_user(self):
        self.inst.add_user("erin@example.com", "erin-password-01")
        real = self.inst.login("erin@example.com", "erin-password-01")
        tok = sign_jwt(self.key, jwt_claims(real))
        self.assertEqual(self.me(tok)[0], 200)
        self.inst.cli("user", "set", "erin@example.com", "--disable")
        self.assert401(self.me(tok), detail=MSG_DISABLED)
        self.assert401(self.me(real), detail=MSG_DISABLED)

    def test_bad_typ_header(self):
        self.assert401(self.me(sign_jwt(self.key, self.base(), header={
            "alg": "HS256", "typ": "at+jwt"})))

    def test_garbage_and_other_schemes(self):
        for auth in ("Bearer x", "Bearer ..", "Bearer a.b.c",
                     "Bearer " + self.real.split(".")[1]):
            self.assert401(self.req("GET", "/auth/me",
                                    headers={"Authorization": auth}))
        resp = self.req("GET", "/auth/me",
                        headers={"Authorization": "Basic abc"})
        self.assertEqual(resp[0], 401)
        self.assertDetail(resp, 401)
        resp = self.req("GET", "/auth/me", headers={
            "Authorization": "Token " + self.real})
        self.assertEqual(resp[0], 401)
