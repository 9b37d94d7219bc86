"""
test_cli_http.py - the `tokencat` command line (OPERATIONS.md) checked
through the running service: sessions it prints, users it adds, enables,
disables and re-passwords; exit statuses; config errors.
"""

import os
import subprocess
import time

from harness import (ADMIN, ALICE, BOB, MSG_BAD_LOGIN, PASSWORDS, TOKENCAT,
                     InstanceTestCase, is_uuid4, jwt_claims, MSG_REVOKED, MSG_DISABLED)


class CliSession(InstanceTestCase):

    def test_session_jwt_works_on_me(self):
        p = self.inst.cli("session", ALICE)
        tok = p.stdout.strip()
        self.assertEqual(p.stdout.count("\n"), 1, "one line expected")
        self.assertEqual(len(tok.split(".")), 3)
        c = jwt_claims(tok)
        self.assertEqual(c["token_use"], "session")
        self.assertEqual((c["iss"], c["aud"]), ("tokencat", "tokencat-api"))
        self.assertNear(c["iat"], time.time(), 5)
        self.assertEqual(c["exp"] - c["iat"], 3600)
        self.assertNotIn("teams", c)
        st, _, me = self.req("GET", "/auth/me", token=tok)
        self.assertEqual(st, 200, me)
        self.assertEqual(me["user"]["email"], ALICE)
        self.assertEqual(me["user"]["id"], c["sub"])
        self.assertEqual(me["auth_method"], "jwt")
        self.assertIsNone(me["token_teams"])
        # a CLI session is a full session: it manages tokens
        st, out = self.inst.create_token(tok, "from-cli-session")
        self.assertEqual(st, 201, out)
        self.assertEqual(out["token"]["created_by"], ALICE)

    def test_session_email_case(self):
        tok = self.inst.cli("session", "ALICE@Example.Com").stdout.strip()
        st, _, me = self.req("GET", "/auth/me", token=tok)
        self.assertEqual((st, me["user"]["email"]), (200, ALICE))

    def test_session_minutes(self):
        tok = self.inst.cli("session", BOB, "--minutes", "1").stdout.strip()
        c = jwt_claims(tok)
        self.assertEqual(c["exp"] - c["iat"], 60)
        self.assertEqual(self.req("GET", "/auth/me", token=tok)[0], 200)

    def test_session_public_only(self):
        tok = self.inst.cli("session", BOB, "--teams", "").stdout.strip()
        c = jwt_claims(tok)
        self.assertEqual(c.get("teams"), [])
        st, _, me = self.req("GET", "/auth/me", token=tok)
        self.assertEqual(st, 200, me)
        self.assertEqual(me["token_teams"], [])

    def test_session_errors(self):
        p = self.inst.cli("session", "nobody@example.com", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertTrue(p.stderr.strip())
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        for bad in (["--minutes", "0"], ["--minutes", "x"],
                    ["--minutes", "-5"], ["--minutes"]):
            p = self.inst.cli("session", ALICE, *bad, check=False)
            self.assertIn(p.returncode, (1, 2), bad)
            self.assertEqual(p.stdout, "", bad)
        p = self.inst.cli("session", check=False)
        self.assertEqual(p.returncode, 2)

    def test_two_sessions_are_distinct_and_logout_is_per_session(self):
        a = self.inst.cli("session", ALICE).stdout.strip()
        b = self.inst.cli("session", ALICE).stdout.strip()
        self.assertNotEqual(jwt_claims(a)["jti"], jwt_claims(b)["jti"])
        self.assertEqual(self.req("POST", "/auth/logout", token=a)[0], 200)
        self.assert401(self.req("GET", "/auth/me", token=a), detail=MSG_REVOKED)
        self.assertEqual(self.req("GET", "/auth/me", token=b)[0], 200)


class CliUsers(InstanceTestCase):

    def test_user_add_and_login(self):
        self.inst.add_user("gina@example.com", "gina-password-01",
                           full_name="Gina Q. Example")
        out = self.inst.login_full("gina@example.com", "gina-password-01")
        u = out["user"]
        self.assertTrue(is_uuid4(u["id"]))
        self.assertEqual((u["email"], u["full_name"], u["is_admin"],
                          u["is_active"]),
                         ("gina@example.com", "Gina Q. Example", False, True))

    def test_user_add_admin(self):
        self.inst.add_user("root2@example.com", "root2-password-1",
                           admin=True)
        out = self.inst.login_full("root2@example.com", "root2-password-1")
        self.assertIs(out["user"]["is_admin"], True)

    def test_user_add_refusals(self):
        p = self.inst.cli("user", "add", ALICE, input="another-password\n",
                          check=False)
        self.assertEqual(p.returncode, 1, "duplicate user")
        self.assertTrue(p.stderr.strip())
        self.login(ALICE)           # untouched
        p = self.inst.cli("user", "add", "short@example.com",
                          input="short\n", check=False)
        self.assertEqual(p.returncode, 1, "password under 12 characters")
        self.assertDetail(self.req("POST", "/auth/login", {
            "email": "short@example.com", "password": "short"}), 401,
            MSG_BAD_LOGIN)
        p = self.inst.cli("user", "add", "not-an-email",
                          input="long-enough-password\n", check=False)
        self.assertEqual(p.returncode, 1, "invalid e-mail")
        p = self.inst.cli("user", "add", "nopw@example.com", input="",
                          check=False)
        self.assertEqual(p.returncode, 1, "no password on stdin")
        p = self.inst.cli("user", "add", check=False)
        self.assertEqual(p.returncode, 2, "missing EMAIL")
        p = self.inst.cli("user", "add", "x@example.com", "--bogus",
                          input="long-enough-password\n", check=False)
        self.assertEqual(p.returncode, 2, "unknown option")

    def test_user_set_password(self):
        self.inst.add_user("hank@example.com", "hank-password-01")
        s = self.login("hank@example.com", "hank-password-01")
        self.inst.cli("user", "set", "hank@example.com", "--password",
                      input="hank-password-02\n")
        self.assertDetail(self.req("POST", "/auth/login", {
            "email": "hank@example.com", "password": "hank-password-01"}),
            401, MSG_BAD_LOGIN)
        self.login("hank@example.com", "hank-password-02")
        p = self.inst.cli("user", "set", "hank@example.com", "--password",
                          input="short\n", check=False)
        self.assertEqual(p.returncode, 1)
        self.login("hank@example.com", "hank-password-02")
        self.assertEqual(self.req("GET", "/auth/me", token=s)[0], 200)

    def test_user_set_disable_enable(self):
        self.inst.add_user("ivan@example.com", "ivan-password-01")
        s = self.login("ivan@example.com", "ivan-password-01")
        st, out = self.inst.create_token(s, "ivans")
        self.assertEqual(st, 201, out)
        api = out["access_token"]
        self.inst.cli("user", "set", "ivan@example.com", "--disable")
        self.assert401(self.req("GET", "/auth/me", token=s), detail=MSG_DISABLED)
        self.assert401(self.req("GET", "/tokens", token=s), detail=MSG_DISABLED)
        self.assert401(self.req("GET", "/auth/me", token=api),
                       detail=MSG_DISABLED)
        self.assertDetail(self.req("POST", "/auth/login", {
            "email": "ivan@example.com", "password": "ivan-password-01"}),
            401, MSG_BAD_LOGIN)
        listing = self.inst.cli("user", "list").stdout
        self.assertIn("ivan@example.com", listing)
        self.inst.cli("user", "set", "ivan@example.com", "--enable")
        s2 = self.login("ivan@example.com", "ivan-password-01")
        st, _, me = self.req("GET", "/auth/me", token=s2)
        self.assertEqual((st, me["user"]["is_active"]), (200, True))

    def test_user_set_admin_flags(self):
        self.inst.add_user("jill@example.com", "jill-password-01")
        s = self.login("jill@example.com", "jill-password-01")
        self.inst.cli("user", "set", "jill@example.com", "--admin")
        self.assertIs(self.req("GET", "/auth/me", token=s)[2]["user"]
                      ["is_admin"], True)
        self.inst.cli("user", "set", "jill@example.com", "--no-admin")
        self.assertIs(self.req("GET", "/auth/me", token=s)[2]["user"]
                      ["is_admin"], False)

    def test_user_set_unknown_user(self):
        p = self.inst.cli("user", "set", "nobody@example.com", "--disable",
                          check=False)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.strip())

    def test_user_list(self):
        out = self.inst.cli("user", "list").stdout
        for email in (ADMIN, ALICE, BOB):
            self.assertIn(email, out)
        self.assertNotIn(PASSWORDS[ALICE], out)
        self.assertNotIn("scrypt", out)


class CliMisc(InstanceTestCase):

    def test_version_and_help(self):
        p = self.inst.cli("--version", conf=False)
        self.assertIn("tokencat", p.stdout)
        self.assertIn("0.1.0", p.stdout)
        p = self.inst.cli("--help", conf=False)
        self.assertIn("usage", (p.stdout + p.stderr).lower())
        for sub in (["user", "add", "--help"], ["user", "set", "--help"],
                    ["user", "list", "--help"], ["session", "--help"],
                    ["init", "--help"], ["backup", "--help"]):
            p = self.inst.cli(*sub, check=False)
            self.assertEqual(p.returncode, 0, sub)
            self.assertTrue(p.stdout.strip(), sub)

    def test_usage_errors_exit_2(self):
        for args in ([], ["frobnicate"], ["user"], ["user", "frob"],
                     ["session"]):
            p = self.inst.cli(*args, check=False)
            self.assertEqual(p.returncode, 2, args)

    def test_init_is_idempotent(self):
        key = self.inst.signing_key()
        s = self.login(ALICE)
        self.inst.cli("init")
        self.inst.cli("init")
        self.assertEqual(self.inst.signing_key(), key)
        self.assertEqual(self.req("GET", "/auth/me", token=s)[0], 200)
        self.login(BOB)

    def test_config_errors_name_file_line_and_key(self):
        bad = os.path.join(self.inst.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write("# comment\ndatabase = %s\nmapszie = 5\n" % self.inst.db)
        p = subprocess.run([TOKENCAT, "-c", bad, "user", "list"],
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 1)
        self.assertIn("bad.conf:3", p.stderr)
        self.assertIn("mapszie", p.stderr)
        with open(bad, "w") as f:
            f.write("database = %s\nsession_minutes = lots\n" % self.inst.db)
        p = subprocess.run([TOKENCAT, "-c", bad, "user", "list"],
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 1)
        self.assertIn("bad.conf:2", p.stderr)
        self.assertIn("session_minutes", p.stderr)
        p = subprocess.run([TOKENCAT, "-c", bad + ".missing", "user",
                            "list"], capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.strip())

    def test_config_from_environment(self):
        env = dict(os.environ, TOKENCAT_CONFIG=self.inst.conf_path)
        p = subprocess.run([TOKENCAT, "user", "list"], capture_output=True,
                           text=True, timeout=30, env=env,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(ALICE, p.stdout)
