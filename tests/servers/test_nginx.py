"""
test_nginx.py - etc/nginx/tokencat.conf with Debian's nginx in front of a
pool started by etc/spawn-fcgi/tokencat-spawn.sh: the API under /api
(PATH_INFO from fastcgi_split_path_info), the page with its
Content-Security-Policy, and /protected/ guarded by auth_request and GET
/auth/check. The same site in front of the systemd units is in
test_systemd.py.

The instance runs with trust_remote_user = true: the sample must not let
a client name a user with a Basic header nobody checked.
"""

import http.server
import os
import re
import threading
import unittest

from servers import (ADMIN, ALICE, NGINX, SPAWN_FCGI, IS_ROOT, WWW_USER,
                     sample,
                     ServerChecks, ServerInstance, basic, give_to_www,
                     raw_get, wait_for)

CSP = "default-src 'self'; frame-ancestors 'none'"

# Debian's nginx.conf, as far as the site needs it: the samples go where
# Debian includes sites-enabled/*, inside http { }.
NGINX_MAIN = """\
daemon off;
%(user)s
worker_processes 2;
pid %(run)s/nginx.pid;
error_log %(logs)s/nginx-error.log info;
%(limits)s
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path %(run)s/client_body;
    fastcgi_temp_path %(run)s/fastcgi;
    proxy_temp_path %(run)s/proxy;
    uwsgi_temp_path %(run)s/uwsgi;
    scgi_temp_path %(run)s/scgi;
    include %(site)s;
}
"""


def main_limits():
    """The lines the sample's comment asks for in nginx.conf's main
    context (worker_rlimit_nofile, events { worker_connections }), taken
    from the sample itself."""
    want = []
    for name in ("worker_rlimit_nofile", "events"):
        m = re.search(r"^#\s+(%s\b.*;.*)$" % name, sample("nginx/tokencat.conf"),
                      re.M)
        if m is None:
            raise AssertionError("etc/nginx/tokencat.conf no longer shows "
                                 "the %s line for nginx.conf" % name)
        want.append(m.group(1).strip())
    return "\n".join(want)


class EchoHandler(http.server.BaseHTTPRequestHandler):
    """The application behind /servers/: answers every GET with the
    request target it received, as it received it."""

    def do_GET(self):
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class NginxInstance(ServerInstance):
    SERVER = "nginx"
    echo = None

    def start_echo(self):
        """The sample's application on 127.0.0.1:8081 (EchoHandler, on a
        free port), and files under protected/abc/ and protected/def/
        that name their own path."""
        self.echo = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                    EchoHandler)
        threading.Thread(target=self.echo.serve_forever, daemon=True).start()
        for sub in ("abc", "def"):
            d = os.path.join(self.dir, "protected", sub)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "who.txt"), "w") as f:
                f.write("/protected/%s/who.txt" % sub)
            give_to_www(d)

    def stop(self, timeout=10):
        super().stop(timeout)
        if self.echo is not None:
            self.echo.shutdown()
            self.echo.server_close()
            self.echo = None

    def start_pool(self):
        """The workers: a spawn-fcgi pool on run/tokencat.sock."""
        self.spawn_pool(os.path.join(self.run, "tokencat.sock"))

    def write_server_conf(self):
        self.start_pool()
        self.start_echo()
        self.site_path = site = self.render("nginx/tokencat.conf", [
            ("listen 80;", "listen 127.0.0.1:%d;" % self.port),
            ("http://127.0.0.1:8081/",
             "http://127.0.0.1:%d/" % self.echo.server_address[1]),
            ("/run/tokencat", self.run),
            ("/var/log/nginx", self.logs),
            ("root /var/www;", "root %s;" % self.dir),
        ])
        self.nconf_path = os.path.join(self.confdir, "nginx.conf")
        with open(self.nconf_path, "w") as f:
            f.write(NGINX_MAIN % {
                "user": "user %s;" % WWW_USER if IS_ROOT else "",
                "run": self.run, "logs": self.logs, "site": site,
                "limits": main_limits()})
        give_to_www(self.confdir)

    def server_argv(self):
        return [NGINX, "-e", os.path.join(self.logs, "nginx-error.log"),
                "-p", self.dir, "-c", self.nconf_path]


class NginxChecks(ServerChecks):
    """What the nginx site must do, whatever starts its workers."""

    CONF = {"rule": ["GET /protected/ files.read",
                     "GET /protected/abc/ files.abc",
                     "GET /protected/def/ files.def"],
            "trust_remote_user": "true"}

    # -- the path judged is the path served (issue 11, item 1)

    # (request target, the path nginx serves it as; None: nginx refuses
    # it with 400 before anything is judged or served)
    SPELLINGS = (
        ("/servers/abc/x", "/servers/abc/x"),
        ("/servers/ab%63/x", "/servers/abc/x"),
        ("/servers/abc/./x", "/servers/abc/x"),
        ("/servers/def/../abc/x", "/servers/abc/x"),
        ("/servers/abc/../def", "/servers/def"),
        ("/servers/abc/%2e%2e/def", "/servers/def"),
        ("/servers/abc/.%2E/def", "/servers/def"),
        ("/servers/abc%2F..%2Fdef", "/servers/def"),
        ("/servers/abc/..%2Fdef/x", "/servers/def/x"),
        ("//servers/def", "/servers/def"),
        ("/servers//def//x", "/servers/def/x"),
        # what nginx decodes to "%", "?" or "#" would be decoded again or
        # cut by tokencat: refused
        ("/servers/abc/%252e%252e/def", None),
        ("/servers/abc/%252Fdef", None),
        ("/servers/abc%3F/x", None),
        ("/servers/abc/%23x", None),
        ("/servers/abc/100%25", None),
    )

    def judged(self, session, tid):
        """The path tokencat judged for the one use of token tid (its
        usage statistics, written within a second)."""
        def top():
            st, _, out = self.req("GET", "/tokens/%s/usage?days=1" % tid,
                                  token=session)
            self.assertEqual(st, 200, out)
            return out["top_endpoints"] if out["total_requests"] else None
        got = wait_for(top, 15, "the use of token %s" % tid)
        self.assertEqual(len(got), 1, got)
        return got[0][0]

    def through(self, session, scope, path):
        """A fresh token of scope used once on path (a raw request
        target): (status, body, the path tokencat judged or None when the
        request never reached it)."""
        st, out = self.inst.create_token(session, "path-%s" % os.urandom(6).hex(),
                                         scope=scope)
        self.assertEqual(st, 201, out)
        st, _, body = raw_get(self.inst.port, path, {
            "Host": "127.0.0.1",
            "Authorization": "Bearer " + out["access_token"]})
        judged = None if st == 400 else self.judged(session, out["token"]["id"])
        return st, body, judged

    def test_proxied_application_gets_the_judged_path(self):
        """/servers/ (proxy_pass to an application that echoes the path
        it receives), with tokens bound to server abc and to def: every
        spelling is judged as the path the application receives, so a
        token reaches its own server only, however the path is spelled."""
        sess = self.inst.login(ADMIN)
        for path, served in self.SPELLINGS:
            for sid in ("abc", "def"):
                st, body, judged = self.through(sess, {"server_id": sid}, path)
                if served is None:
                    self.assertEqual((st, judged), (400, None), "%s with a "
                                     "token of %s: %s, judged as %s, served "
                                     "%r" % (path, sid, st, judged, body))
                    continue
                self.assertEqual(judged, served, "%s judged as %s, nginx "
                                 "serves %s" % (path, judged, served))
                mine = served == "/servers/" + sid or \
                    served.startswith("/servers/%s/" % sid)
                if mine:
                    self.assertEqual((st, body.decode()), (200, served),
                                     "%s with a token of %s" % (path, sid))
                else:
                    self.assertEqual(st, 403, "%s reached %s with a token of "
                                     "%s: %r" % (path, body, sid, body))

    def test_static_files_are_judged_on_the_path_served(self):
        """/protected/ (files; each names its own path) with tokens for
        /protected/abc/ only and /protected/def/ only."""
        sess = self.inst.login(ADMIN)
        rows = (
            ("/protected/abc/who.txt", "/protected/abc/who.txt"),
            ("/protected/def/../abc/who.txt", "/protected/abc/who.txt"),
            ("/protected/abc/../def/who.txt", "/protected/def/who.txt"),
            ("/protected/abc/%2e%2e/def/who.txt", "/protected/def/who.txt"),
            ("/protected/abc%2F..%2Fdef/who.txt", "/protected/def/who.txt"),
            ("//protected//def/who.txt", "/protected/def/who.txt"),
            ("/protected/abc/%252e%252e/def/who.txt", None),
        )
        for path, served in rows:
            for sub in ("abc", "def"):
                st, body, judged = self.through(
                    sess, {"permissions": ["files." + sub]}, path)
                if served is None:
                    self.assertEqual((st, judged), (400, None), path)
                    continue
                self.assertEqual(judged, served, path)
                if served.startswith("/protected/%s/" % sub):
                    self.assertEqual((st, body.decode()), (200, served),
                                     "%s with files.%s" % (path, sub))
                else:
                    self.assertEqual(st, 403, "%s with files.%s: %r"
                                     % (path, sub, body))

    def stall_idle(self):
        with open(self.inst.site_path) as f:
            m = re.search(r"^ *client_header_timeout (\d+)s;$", f.read(), re.M)
        self.assertIsNotNone(m, "the sample sets no client_header_timeout")
        return int(m.group(1))

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

    def test_path_info_query_and_body_parameters(self):
        # PATH_INFO: /api/v1/health is /health (no mount_prefix is set,
        # so without PATH_INFO the worker would see /api/v1/health: 404)
        self.assertEqual(self.req("GET", "/v1/health")[0], 200)
        # decoded by nginx: /he%61lth is /health
        self.assertEqual(self.req("GET", "/he%61lth")[0], 200)
        sess = self.inst.login(ALICE)
        # QUERY_STRING
        st, _, out = self.req("GET", "/tokens?limit=3&offset=0", token=sess)
        self.assertEqual((st, out["limit"]), (200, 3))
        # CONTENT_TYPE
        st, _, out = self.req("POST", "/tokens", raw="name=x", token=sess,
                              headers={"Content-Type": "text/plain"})
        self.assertEqual(st, 415, out)

    def test_auth_check_through_the_api_uses_remote_addr(self):
        """/api/auth/check itself, with the client's X-Original-* headers
        and the client address from REMOTE_ADDR."""
        sess = self.inst.login(ADMIN)
        for ips, want in ((["127.0.0.1"], 200), (["10.9.9.9"], 403)):
            st, out = self.inst.create_token(
                sess, "ip-%s" % ips[0],
                scope={"permissions": ["files.read"], "ip_restrictions": ips})
            self.assertEqual(st, 201, out)
            st, h, body = self.req("GET", "/auth/check",
                                   token=out["access_token"], headers={
                                       "X-Original-URI": "/protected/x",
                                       "X-Original-Method": "GET"})
            self.assertEqual(st, want, body)

    def test_guard_takes_the_real_uri_and_the_client_address(self):
        sess = self.inst.login(ADMIN)
        st, out = self.inst.create_token(
            sess, "guard-ip", scope={"permissions": ["files.read"],
                                     "ip_restrictions": ["10.9.9.9"]})
        self.assertEqual(st, 201, out)
        st, _, _ = self.get_protected("Bearer " + out["access_token"])
        self.assertEqual(st, 403, "REMOTE_ADDR reaches the check")
        # a client's own X-Original-URI does not replace the real one
        tid, tok = self.files_token("guard-uri")
        st, _, _ = self.req("GET", self.PROTECTED, prefix="", headers={
            "Authorization": "Bearer " + tok,
            "X-Original-URI": "/elsewhere", "X-Original-Method": "DELETE"})
        self.assertEqual(st, 200, self.inst.last_body)

    def test_access_log_names_the_allowed_user(self):
        tid, tok = self.files_token("logged")
        self.assertEqual(self.get_protected("Bearer " + tok)[0], 200)
        # nginx writes the line after the answer: wait for it
        def logged():
            log = self.inst.read_log("tokencat-access.log")
            return log if tid in log else None
        log = wait_for(logged, 15, "the access log line of token " + tid)
        line = [ln for ln in log.splitlines() if tid in ln]
        self.assertTrue(line, log[-2000:])
        self.assertIn("user=%s token=%s" % (ADMIN, tid), line[-1])
        self.assertIn('"GET /protected/hello.txt HTTP/1.1" 200', line[-1])

    def test_workers_log_lines(self):
        self.req("GET", "/health")
        self.assertIn("GET /health 200", self.inst.read_log("workers.log"))

    def test_a_basic_header_names_nobody(self):
        """nginx sets $remote_user from any Basic header; the sample does
        not pass it, so trust_remote_user (on here) gets nothing."""
        st, _, out = self.req("GET", "/auth/me", headers={
            "Authorization": basic(ALICE, "not-checked-by-anyone")})
        self.assertEqual(st, 401, out)


class Nginx(NginxChecks, unittest.TestCase):
    INSTANCE = NginxInstance
    PROGRAMS = {"nginx": NGINX, "spawn-fcgi": SPAWN_FCGI}
