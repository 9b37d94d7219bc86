"""
test_apache.py - etc/apache2/tokencat.conf and tokencat-sso.conf with
Debian's Apache 2.4 (event MPM) in front of two pools started by
etc/spawn-fcgi/tokencat-spawn.sh: the API under /api through
mod_proxy_fcgi (PATH_INFO, CGIPassAuth), the page with its
Content-Security-Policy, /protected/ guarded by mod_authnz_fcgi, and
/sso/api behind HTTP Basic, which gives an interactive session only with
trust_remote_user = true.
"""

import os
import re
import subprocess
import unittest

from servers import (ADMIN, ALICE, APACHE2, APACHE_MODULES, BOB, HTPASSWD,
                     IS_ROOT, SPAWN_FCGI, WWW_USER, ServerChecks,
                     ServerInstance, basic, free_port, give_to_www,
                     pids_with_env, sample, wait_for)

CSP = "default-src 'self'; frame-ancestors 'none'"
SSO_PASSWORD = "apache-basic-password"

# Debian's apache2.conf, ports.conf and envvars, as far as the samples
# need them: the samples are included where Debian includes
# sites-enabled/*.conf (or conf-enabled/*.conf).
APACHE_MAIN = """\
ServerRoot "%(dir)s"
DefaultRuntimeDir %(run)s
PidFile %(run)s/apache2.pid
Mutex file:%(run)s default
Listen 127.0.0.1:%(port)d
ServerName 127.0.0.1
%(user)s
ErrorLog %(logs)s/apache-error.log
LogLevel warn
Define APACHE_LOG_DIR %(logs)s
CustomLog %(logs)s/apache-access.log "%%h %%t %%r %%>s %%b"
%(modules)s
TypesConfig /etc/mime.types
AccessFileName .htaccess
<Directory />
    Options FollowSymLinks
    AllowOverride None
    Require all denied
</Directory>
<Directory /var/www/>
    Require all granted
</Directory>
<FilesMatch "^\\.ht">
    Require all denied
</FilesMatch>
%(body)s
"""

BASE_MODULES = ("mpm_event", "authz_core", "authn_core", "authz_host",
                "mime", "dir", "alias", "env", "setenvif", "headers",
                "reqtimeout")


class ApacheInstance(ServerInstance):
    """Apache in the foreground with APACHE_MAIN around the samples that
    apache_body() includes."""

    SERVER = "apache"
    MODULES = BASE_MODULES

    def apache_body(self):
        raise NotImplementedError

    def write_server_conf(self):
        body = self.apache_body()
        self.aconf_path = os.path.join(self.confdir, "apache2.conf")
        with open(self.aconf_path, "w") as f:
            f.write(APACHE_MAIN % {
                "dir": self.dir, "run": self.run, "logs": self.logs,
                "port": self.port, "body": body,
                "user": "User %s\nGroup %s" % (WWW_USER, WWW_USER)
                        if IS_ROOT else "",
                "modules": "\n".join(
                    "LoadModule %s_module %s/mod_%s.so" % (m, APACHE_MODULES, m)
                    for m in self.MODULES)})
        give_to_www(self.confdir)

    def server_argv(self):
        return [APACHE2, "-DFOREGROUND", "-f", self.aconf_path]


class ApacheProxyInstance(ApacheInstance):
    """tokencat.conf (+ tokencat-sso.conf) with two spawn-fcgi pools."""

    MODULES = BASE_MODULES + ("proxy", "proxy_fcgi", "authnz_fcgi",
                              "auth_basic", "authn_file", "authz_user")

    def apache_body(self):
        # the API's pool, on the UNIX socket
        self.spawn_pool(os.path.join(self.run, "tokencat.sock"))
        # the authorizer's, on TCP, never trusting REMOTE_USER
        authz_conf = os.path.join(self.dir, "authorizer.conf")
        with open(self.conf_path) as f, open(authz_conf, "w") as g:
            g.write("".join(ln for ln in f
                            if not ln.startswith("trust_remote_user")))
        give_to_www(authz_conf)
        self.authz_port = free_port()
        saved, self.conf_path = self.conf_path, authz_conf
        try:
            self.spawn_pool("127.0.0.1:%d" % self.authz_port)
        finally:
            self.conf_path = saved
        self.htpasswd = os.path.join(self.dir, "htpasswd")
        for i, user in enumerate((ALICE, BOB)):
            subprocess.run([HTPASSWD, "-b", "-B"] + (["-c"] if i == 0 else [])
                           + [self.htpasswd, user, SSO_PASSWORD], check=True,
                           capture_output=True, timeout=30)
        give_to_www(self.htpasswd)
        sso = self.render("apache2/tokencat-sso.conf", [
            ("/run/tokencat", self.run),
            ("/etc/tokencat/htpasswd", self.htpasswd),
        ])
        site = self.render("apache2/tokencat.conf", [
            ("<VirtualHost *:80>", "<VirtualHost *:%d>" % self.port),
            ("fcgi://127.0.0.1:9010/",
             "fcgi://127.0.0.1:%d/" % self.authz_port),
            ("/run/tokencat", self.run),
            ("/var/www/protected/", os.path.join(self.dir, "protected") + "/"),
            ("/etc/apache2/tokencat-sso.conf", sso),
        ])
        return "Include %s\n" % site

    def worker_pids(self, door="any"):
        pids = super().worker_pids(door)
        entry = ("TOKENCAT_CONFIG=" + os.path.join(self.dir, "authorizer.conf")
                 ).encode()
        return pids + [p for p in pids_with_env(entry) if p != os.getpid()]


class ApacheChecks(ServerChecks):
    INSTANCE = ApacheProxyInstance
    PROGRAMS = {"apache2": APACHE2, "spawn-fcgi": SPAWN_FCGI,
                "htpasswd": HTPASSWD}

    def sso(self, method, path, user=ALICE, password=SSO_PASSWORD, **kw):
        hdrs = {"Authorization": basic(user, password)} if user else {}
        return self.req(method, path, prefix="/sso/api", headers=hdrs, **kw)


class Apache(ApacheChecks, unittest.TestCase):
    """trust_remote_user is off (the default)."""

    # fewer than the sample's MaxRequestWorkers (1,024): each connection
    # still sending its request holds a worker thread (the sample says so)
    STALLED = 900

    def stall_idle(self):
        """The header timeout of RequestReadTimeout, after the 30 s the
        kernel holds a connection that has sent nothing (AcceptFilter http
        data: TCP_DEFER_ACCEPT, 30 s in Apache)."""
        text = sample("apache2/tokencat.conf")
        m = re.search(r"^\s*RequestReadTimeout .*\bheader=\d+-(\d+)",
                      text, re.M)
        self.assertIsNotNone(m, "the sample sets no RequestReadTimeout")
        self.assertRegex(text, r"(?m)^AcceptFilter http data$")
        return 30 + int(m.group(1))

    def test_page_has_the_content_security_policy(self):
        st, h, _ = self.req("GET", "/", prefix="")
        self.assertEqual(st, 200)
        self.assertIn(b"<title>tokencat</title>", self.inst.last_body)
        self.assertEqual(h.get("Content-Security-Policy"), CSP)
        self.assertEqual(h.get("X-Frame-Options"), "DENY")
        # the page's scripts too (a frame could load any file of it)
        st, h, _ = self.req("GET", "/js/app.js", prefix="")
        self.assertEqual((st, h.get("Content-Security-Policy"),
                          h.get("X-Frame-Options")), (200, CSP, "DENY"))

    def test_path_info(self):
        # no mount_prefix: without PATH_INFO the worker would route
        # /api/v1/health and answer 404
        self.assertEqual(self.req("GET", "/v1/health")[0], 200)
        self.assertEqual(self.req("GET", "/he%61lth")[0], 200)
        self.assertEqual(self.req("GET", "/nowhere")[0], 404)

    def test_authorizer_identity_in_the_access_log(self):
        tid, tok = self.files_token("logged")
        self.assertEqual(self.get_protected("Bearer " + tok)[0], 200)
        # Apache writes the line after the answer: wait for it
        def logged():
            log = self.inst.read_log("tokencat-access.log")
            return log if tid in log else None
        log = wait_for(logged, 15, "the access log line of token " + tid)
        line = [ln for ln in log.splitlines() if tid in ln]
        self.assertTrue(line, log[-2000:])
        self.assertIn("user=%s token=%s" % (ADMIN, tid), line[-1])

    def test_refusals_keep_the_workers_answer(self):
        st, h, out = self.get_protected()
        self.assertEqual(st, 401)
        self.assertEqual(h.get("WWW-Authenticate"), 'Bearer realm="tokencat"')
        self.assertEqual(out, {"detail": "Authorization token required"})
        _, other = self.files_token("unfit", perms=("tools.read",))
        st, h, out = self.get_protected("Bearer " + other)
        self.assertEqual(st, 403)
        self.assertIn("files.read", out["detail"])

    def test_remote_user_is_not_trusted_without_the_key(self):
        st, _, out = self.sso("GET", "/auth/me")
        self.assertEqual(st, 401, out)
        self.assertEqual(out, {"detail": "Authorization token required"})
        st, _, _ = self.sso("GET", "/auth/me", password="wrong")
        self.assertEqual(st, 401, "Apache refuses a wrong password itself")


class ApacheTrustRemoteUser(ApacheChecks, unittest.TestCase):
    """trust_remote_user = true: Apache's login is a session."""

    CONF = {"rule": ["GET /protected/ files.read"],
            "trust_remote_user": "true"}

    def test_basic_login_is_an_interactive_session(self):
        st, _, me = self.sso("GET", "/auth/me")
        self.assertEqual(st, 200, me)
        self.assertEqual((me["user"]["email"], me["auth_method"]),
                         (ALICE, "remote_user"))
        st, _, out = self.sso("POST", "/tokens",
                              body={"name": "made-by-sso",
                                    "expires_in_days": 3})
        self.assertEqual(st, 201, out)
        self.assertEqual(out["token"]["user_email"], ALICE)
        st, _, lst = self.sso("GET", "/tokens")
        self.assertEqual(st, 200, lst)
        self.assertEqual([t["name"] for t in lst["tokens"]], ["made-by-sso"])
        st, _, me = self.sso("GET", "/auth/me", user=BOB)
        self.assertEqual((st, me["user"]["email"]), (200, BOB))

    def test_apache_refuses_without_a_login(self):
        self.assertEqual(self.sso("GET", "/auth/me", user=None)[0], 401)
        self.assertEqual(self.sso("GET", "/auth/me", password="wrong")[0], 401)

    def test_the_plain_api_still_wants_a_token(self):
        st, _, out = self.req("GET", "/auth/me",
                              headers={"Authorization": basic(ALICE, SSO_PASSWORD)})
        self.assertEqual(st, 401, "no REMOTE_USER outside /sso/api")

    def test_the_authorizer_pool_does_not_trust_remote_user(self):
        with open(os.path.join(self.inst.dir, "authorizer.conf")) as f:
            self.assertNotIn("trust_remote_user", f.read())
