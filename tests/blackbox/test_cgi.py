"""
test_cgi.py - tokencat.fcgi started without a FastCGI socket answers one
request as plain CGI (OPERATIONS.md: shared hosting without FastCGI).
The worker is run the way a web server runs a CGI program: CGI variables
in the environment, the body on stdin, the response on stdout.
"""

import json
import os
import subprocess

from harness import ALICE, FCGI, PASSWORDS, InstanceTestCase


class PlainCgi(InstanceTestCase):

    def cgi(self, method, uri, body=b"", token=None, extra=None):
        env = {"PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1",
               "TOKENCAT_CONFIG": self.inst.conf_path,
               "REQUEST_METHOD": method, "REQUEST_URI": uri,
               "SCRIPT_NAME": "/cgi-bin/tokencat.fcgi",
               "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1"}
        path = uri.split("?")[0]
        env["PATH_INFO"] = path[len("/cgi-bin/tokencat.fcgi"):] \
            if path.startswith("/cgi-bin/tokencat.fcgi") else path
        if body:
            env["CONTENT_TYPE"] = "application/json"
            env["CONTENT_LENGTH"] = str(len(body))
        if token:
            env["HTTP_AUTHORIZATION"] = "Bearer " + token
        env.update(extra or {})
        p = subprocess.run([FCGI], input=body, env=env, capture_output=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        head, _, payload = p.stdout.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.assertTrue(lines[0].startswith("Status: "), lines)
        status = int(lines[0].split()[1])
        headers = dict(l.split(": ", 1) for l in lines[1:])
        return status, headers, json.loads(payload) if payload else None

    def test_login_and_token_round_trip_as_cgi(self):
        body = json.dumps({"email": ALICE, "password": PASSWORDS[ALICE]}).encode()
        st, hdr, out = self.cgi("POST", "/cgi-bin/tokencat.fcgi/auth/login", body)
        self.assertEqual(st, 200, out)
        self.assertEqual(hdr["Cache-Control"], "no-store")
        sess = out["access_token"]
        body = json.dumps({"name": "via-cgi", "expires_in_days": 2}).encode()
        st, _, out = self.cgi("POST", "/cgi-bin/tokencat.fcgi/v1/tokens", body, sess)
        self.assertEqual(st, 201, out)
        st, _, out = self.cgi("GET", "/cgi-bin/tokencat.fcgi/tokens?limit=5",
                              token=sess, extra={"QUERY_STRING": "limit=5"})
        self.assertEqual(st, 200, out)
        self.assertEqual([t["name"] for t in out["tokens"]], ["via-cgi"])
        self.assertEqual(out["limit"], 5)

    def test_errors_as_cgi(self):
        st, hdr, out = self.cgi("GET", "/cgi-bin/tokencat.fcgi/nowhere")
        self.assertEqual((st, out), (404, {"detail": "Not found"}))
        st, hdr, out = self.cgi("GET", "/cgi-bin/tokencat.fcgi/tokens")
        self.assertEqual(st, 401)
        self.assertEqual(hdr["WWW-Authenticate"], 'Bearer realm="tokencat"')
        st, _, out = self.cgi("POST", "/cgi-bin/tokencat.fcgi/auth/login", b"{")
        self.assertEqual(st, 400, out)
