"""
test_logging.py - what the workers write to stderr (the web server's
error log, here lighttpd's server.breakagelog): one line per request with
its id, method, path, status and duration; audit events; never a password
or a token; control characters escaped; log_level obeyed.
"""

import json
import re
import subprocess

from harness import ALICE, FCGI, PASSWORDS, InstanceTestCase, wait_until

# tokencat[<pid>]: info: req=<16 hex> <METHOD> <path> <status> <ms>ms
REQ_LINE = re.compile(r"^tokencat\[(\d+)\]: info: req=([0-9a-f]{16}) "
                      r"(\S+) (\S+) (\d{3}) (\d+\.\d\d)ms$")


def worker_log(inst, until=None):
    """The workers' stderr so far; with until (a regular expression), once
    it holds a match. A worker writes a request's line before it finishes
    the request (main_fcgi.c serve), so lines of answered requests are
    there; until waits for the file anyway, whatever the load."""
    def read():
        with open(inst.worklog, "rb") as f:
            return f.read().decode("utf-8", "replace")
    def matched():
        text = read()
        return text if re.search(until, text, re.M) else None
    if until is None:
        return read()
    return wait_until(matched, 15, "%r in the workers' log" % until)


class RequestLines(InstanceTestCase):

    def test_one_line_per_request_and_audit_without_secrets(self):
        s = self.login(ALICE)
        st, made = self.inst.create_token(s, "logged-token")
        self.assertEqual(st, 201, made)
        raw = made["access_token"]
        st, _, _ = self.req("GET", "/auth/check", token=raw,
                            headers={"X-Original-URI": "/tools/x?key=v"})
        self.assertEqual(st, 200)
        self.assertEqual(self.req("GET", "/nowhere/at/all")[0], 404)
        st, _, _ = self.req("POST", "/auth/login",
                            {"email": ALICE, "password": "wrong-Passw0rd!"})
        self.assertEqual(st, 401)
        log = worker_log(self.inst, until=r" POST /auth/login 401 [0-9.]+ms$")

        lines = [REQ_LINE.match(l) for l in log.splitlines()]
        reqs = [m.groups() for m in lines if m]
        seen = {(m, p, int(st)) for _, _, m, p, st, _ in reqs}
        for want in (("POST", "/auth/login", 200), ("POST", "/tokens", 201),
                     ("GET", "/auth/check", 200),
                     ("GET", "/nowhere/at/all", 404),
                     ("POST", "/auth/login", 401)):
            self.assertIn(want, seen, log)
        ids = [i for _, i, _, _, _, _ in reqs]
        self.assertEqual(len(ids), len(set(ids)), "request ids repeat")
        # the audit event names the request it came from
        create = [i for _, i, m, p, st, _ in reqs
                  if (m, p, st) == ("POST", "/tokens", "201")]
        self.assertRegex(log, r"info: req=%s: audit token.create by %s"
                         % (create[-1], re.escape(ALICE)))
        # no secret in the log, in any form
        sig = raw.rsplit(".", 1)[1]
        for secret in (PASSWORDS[ALICE], "wrong-Passw0rd!", raw, sig,
                       s.rsplit(".", 1)[1]):
            self.assertNotIn(secret, log)
        self.assertNotIn("key=v", log, "query strings are not logged")


class Quiet(InstanceTestCase):
    CONF = {"log_level": "warn"}

    def test_warn_level_drops_request_lines(self):
        s = self.login(ALICE)
        self.assertEqual(self.inst.create_token(s, "quiet")[0], 201)
        log = worker_log(self.inst)
        self.assertFalse([l for l in log.splitlines() if REQ_LINE.match(l)],
                         log)
        self.assertNotIn("audit", log)


class Escaping(InstanceTestCase):
    """A path cannot forge a log line: lighttpd refuses control characters
    in URLs, so the worker is run as plain CGI with one in PATH_INFO."""

    def test_control_characters_escaped(self):
        forged = "/x\ntokencat[1]: info: req=0 forged\r\x1b[31m\x7f"
        env = {"PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1",
               "TOKENCAT_CONFIG": self.inst.conf_path,
               "REQUEST_METHOD": "GET", "REQUEST_URI": "/api/x",
               "PATH_INFO": forged, "REMOTE_ADDR": "127.0.0.1",
               "SERVER_PROTOCOL": "HTTP/1.1"}
        p = subprocess.run([FCGI], env=env, capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stderr)
        head, _, body = p.stdout.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"Status: 404"), p.stdout)
        self.assertEqual(json.loads(body), {"detail": "Not found"})
        err = p.stderr.decode()
        lines = [l for l in err.splitlines() if " req=" in l]
        self.assertEqual(len(lines), 1, err)
        self.assertNotIn("\x1b", err)
        self.assertNotIn("\r", err)
        self.assertNotIn("\x7f", err)
        self.assertRegex(lines[0], r"^tokencat\[\d+\]: info: req=[0-9a-f]{16}"
                         r" GET /x\\x0atokencat\[1\]: info: req=0 forged"
                         r"\\x0d\\x1b\[31m\\x7f 404 \d+\.\d\dms$")
