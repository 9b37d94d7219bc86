"""
test_lighttpd.py - etc/lighttpd/tokencat.conf with Debian's lighttpd: the
API under /api (workers spawned by lighttpd), the page of www/ with its
Content-Security-Policy, /protected/ guarded by the FastCGI Authorizer
role, and the API at / of its own host name (fix-root-scriptname).
"""

import os
import re
import unittest

from servers import (ALICE, LIGHTTPD, ServerChecks, ServerInstance,
                     raw_get)

CSP = "default-src 'self'; frame-ancestors 'none'"


class LighttpdInstance(ServerInstance):
    SERVER = "lighttpd"

    def write_server_conf(self):
        self.lconf_path = self.render("lighttpd/tokencat.conf", [
            ("server.port = 80",
             'server.bind = "127.0.0.1"\nserver.port = %d' % self.port),
            ("/run/lighttpd-tokencat.pid",
             os.path.join(self.run, "lighttpd.pid")),
            ("/run/lighttpd", self.run),
            ("/var/log/lighttpd", self.logs),
            ('"docroot" => "/var/www"', '"docroot" => "%s"' % self.dir),
        ])

    def server_argv(self):
        return [LIGHTTPD, "-D", "-f", self.lconf_path]


class Lighttpd(ServerChecks, unittest.TestCase):
    INSTANCE = LighttpdInstance
    PROGRAMS = {"lighttpd": LIGHTTPD}

    def stall_idle(self):
        with open(self.inst.lconf_path) as f:
            m = re.search(r"^server\.max-read-idle = (\d+)$", f.read(), re.M)
        self.assertIsNotNone(m, "the sample sets no server.max-read-idle")
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
        st, h, _ = self.req("GET", "/health")
        self.assertEqual(st, 200)
        self.assertIsNone(h.get("Content-Security-Policy"),
                          "the API answers are not the page's")

    def test_api_at_the_root_of_its_host(self):
        host = {"Host": "api.tokencat.example"}
        st, _, body = raw_get(self.inst.port, "/health", host)
        self.assertEqual((st, body), (200, b'{"status":"ok"}'))
        sess = self.inst.login(ALICE)
        st, _, body = raw_get(self.inst.port, "/v1/auth/me",
                              dict(host, Authorization="Bearer " + sess))
        self.assertEqual(st, 200, body)
        self.assertIn(ALICE.encode(), body)
        st, _, _ = raw_get(self.inst.port, "/nowhere", host)
        self.assertEqual(st, 404)
        # routed on the decoded PATH_INFO that fix-root-scriptname makes;
        # on the raw REQUEST_URI "/he%61lth" would be unknown
        st, _, body = raw_get(self.inst.port, "/he%61lth", host)
        self.assertEqual((st, body), (200, b'{"status":"ok"}'))

    def test_workers_log_to_the_breakagelog(self):
        self.req("GET", "/health")
        self.assertIn("GET /health 200",
                      self.inst.read_log("tokencat-workers.log"))
