"""
test_sandbox.py - the workers' seccomp sandbox (sandbox = on, the
default; src/transport/sandbox.c) while they really serve. Which calls the filter
kills is tested in tests/test_sandbox.c; here, that serving still works
inside it:

- every worker (/api and the Authorizer's) runs with one seccomp filter
  ("Seccomp: 2", "Seccomp_filters: 1", "NoNewPrivs: 1" in
  /proc/PID/status) and said "sandbox on" once; with sandbox = off none
  is filtered and each said why;
- both LMDB maps grow inside the filter: with map_size_mb = 1 (the usage
  map then starts at 1 MiB too), hundreds of large tokens and thousands of
  checks with long paths; every use is counted, both data files pass
  1 MiB, the workers logged the growth and are the same processes as
  before (none was killed by the filter and respawned);
- the idle flush: uses of a few checks reach <database>/usage (read with
  mdb_stat, lmdb-utils) with no further request, from the accept timeout;
- time windows in IANA zones (preloaded before the filter) allow and deny
  as in UTC, and an unknown zone is still refused;
- a worker started by hand on a listening socket (as spawn-fcgi and
  systemd start it) answers FastCGI and leaves with status 0 on SIGTERM,
  writing its pending uses on the way out.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import unittest

from harness import (ALICE, FCGI, ON_PG, Instance, InstanceTestCase,
                     pg_cluster, skip_on_pg, wait_until)

MDB_STAT = shutil.which("mdb_stat")
MIB = 1 << 20
RULE = {"rule": "GET /tools/ tools.read"}      # what the test tokens may do


def proc_status(pid):
    """/proc/PID/status as a dict of its fields."""
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f
                    if ":\t" in line)


def worker_log(inst, until=lambda log: True, what="the workers' log"):
    """The workers' stderr, once until(it) holds: a worker may still be
    starting, or be about to write its line, when a test looks."""
    def read():
        with open(inst.worklog, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        return log if until(log) else None
    return wait_until(read, 30, what)


def said(pids, words):
    """A condition on the log: each of pids has a line holding words."""
    return lambda log: all(
        any(l.startswith("tokencat[%d]: " % p) and words in l
            for l in log.splitlines()) for p in pids)


def uses_written(inst):
    """Uses the store holds for inst: rows of the uses table on
    PostgreSQL, else entries of the "uses" database of <db>/usage
    (mdb_stat)."""
    if ON_PG:
        return int(pg_cluster().psql("SELECT count(*) FROM uses",
                                     dbname=inst.pg_name))
    p = subprocess.run([MDB_STAT, "-s", "uses", os.path.join(inst.db,
                                                             "usage")],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError("mdb_stat: " + p.stderr)
    return int(re.search(r"Entries: (\d+)", p.stdout).group(1))


class SandboxTestCase(InstanceTestCase):
    """An InstanceTestCase that waits for all its workers at start."""

    CONF = RULE

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        deadline = time.time() + 15
        while time.time() < deadline and (
                len(cls.inst.worker_pids()) < cls.WORKERS or
                not cls.inst.worker_pids("authorizer")):
            time.sleep(0.1)

    def pids(self):
        return self.inst.worker_pids() + self.inst.worker_pids("authorizer")

    def token(self, name, scope=None, **fields):
        st, out = self.inst.create_token(self.login(ALICE), name,
                                         scope=scope or {}, **fields)
        self.assertEqual(st, 201, out)
        return out["token"]["id"], out["access_token"]

    def check(self, tok, uri="/tools/list"):
        return self.req("GET", "/auth/check", token=tok,
                        headers={"X-Original-URI": uri,
                                 "X-Original-Method": "GET"})[0]


class On(SandboxTestCase):
    """The default: every worker filtered, and saying so once."""

    def test_every_worker_runs_with_one_filter(self):
        pids = self.pids()
        self.assertEqual(len(pids), self.WORKERS + 1, pids)
        for pid in pids:
            st = proc_status(pid)
            self.assertEqual(st.get("Seccomp"), "2", "worker %d" % pid)
            if "Seccomp_filters" in st:         # Linux 5.9 and later
                self.assertEqual(st["Seccomp_filters"], "1")
            self.assertEqual(st.get("NoNewPrivs"), "1")

    def test_each_worker_said_sandbox_on(self):
        log = worker_log(self.inst, said(self.pids(), "sandbox"),
                         "each worker's sandbox line")
        for pid in self.pids():
            lines = [l for l in log.splitlines()
                     if l.startswith("tokencat[%d]: " % pid) and "sandbox" in l]
            self.assertEqual(len(lines), 1, log)
            self.assertRegex(lines[0], r": info: sandbox on: seccomp "
                             r"allow-list installed, \d+ zones read$")


class Off(SandboxTestCase):
    """sandbox = off: no filter, and the log says why."""

    CONF = dict(RULE, sandbox="off")

    def test_no_filter_and_the_reason_in_the_log(self):
        log = worker_log(self.inst, said(self.pids(), "sandbox off"),
                         "each worker's sandbox line")
        for pid in self.pids():
            self.assertEqual(proc_status(pid).get("Seccomp"), "0")
            self.assertIn("tokencat[%d]: info: sandbox off (sandbox = off "
                          "in the config)" % pid, log)
        self.assertEqual(self.req("GET", "/health")[0], 200)


@skip_on_pg("the maps of the LMDB environments")
class MapsGrow(SandboxTestCase):
    """Both maps start at 1 MiB and must grow inside the filter."""

    CONF = dict(RULE, map_size_mb="1")
    TOKENS = 400
    CHECKS = 4000
    THREADS = 4

    def parallel(self, n, fn):
        """fn(i) for i in range(n) from THREADS threads; the errors."""
        errors = []

        def run(w):
            for i in range(w, n, self.THREADS):
                try:
                    fn(i)
                except (AssertionError, OSError,
                        http.client.HTTPException) as e:
                    errors.append("%d: %r" % (i, e))
        threads = [threading.Thread(target=run, args=(w,))
                   for w in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return errors[:5]

    def test_both_maps_grow_and_every_use_counts(self):
        before = sorted(self.pids())
        s = self.login(ALICE)

        def create(i):
            st, out = self.inst.create_token(
                s, "grow-%04d" % i, description="d" * 1000,
                scope={"permissions": ["tools.read"]})
            if st != 201:
                raise AssertionError("create %d: %d %r" % (i, st, out))
        self.assertEqual(self.parallel(self.TOKENS, create), [])
        tid, tok = self.token("used", {"permissions": ["tools.read"]})

        def check(i):
            st, _, out = self.req(
                "GET", "/auth/check", token=tok,
                headers={"X-Original-URI": "/tools/%04d/%s" % (i, "p" * 200),
                         "X-Original-Method": "GET",
                         "User-Agent": "sandbox-test/%d %s" % (i, "a" * 200)})
            if st != 200:
                raise AssertionError("check %d: %d %r" % (i, st, out))
        self.assertEqual(self.parallel(self.CHECKS, check), [])

        def usage():            # written by each worker's idle flush
            st, _, u = self.req("GET", "/tokens/%s/usage?days=1" % tid,
                                token=s)
            self.assertEqual(st, 200, u)
            return u if u["total_requests"] >= self.CHECKS else None
        u = wait_until(usage, 30, "the uses written")
        self.assertEqual(u["total_requests"], self.CHECKS, u)
        for f in ("data.mdb", "usage/data.mdb"):
            size = os.path.getsize(os.path.join(self.inst.db, f))
            self.assertGreater(size, MIB, "%s did not outgrow its map" % f)
        grown = ["store: growing the map of %s to 2 MiB" % d
                 for d in (self.inst.db, os.path.join(self.inst.db, "usage"))]
        log = worker_log(self.inst, lambda log: all(g in log for g in grown),
                         "both maps grown")
        for g in grown:
            self.assertIn(g, log)
        self.assertEqual(sorted(self.pids()), before,
                         "a worker died and was replaced:\n" + log[-3000:])
        for pid in before:
            self.assertEqual(proc_status(pid).get("Seccomp"), "2")


class IdleFlush(SandboxTestCase):
    """Uses reach the store from the accept timeout alone."""

    WORKERS = 1

    def test_uses_are_written_without_another_request(self):
        if not ON_PG and MDB_STAT is None:
            self.skipTest("mdb_stat not found (apt-get install lmdb-utils)")
        _, tok = self.token("idle", {"permissions": ["tools.read"]})
        before = uses_written(self.inst)
        for _ in range(5):
            self.assertEqual(self.check(tok), 200)
        deadline = time.time() + 5
        while uses_written(self.inst) < before + 5 and \
                time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(uses_written(self.inst), before + 5)


class Zones(SandboxTestCase):
    """Time windows in zones: the zones were read before the filter."""

    def window(self, zone, start, end):
        return {"permissions": ["tools.read"],
                "time_restrictions": {"start_time": start, "end_time": end,
                                      "timezone": zone}}

    def test_windows_in_zones_allow_and_deny(self):
        now = time.time()
        for zone, off in (("Asia/Kolkata", 19800), ("Pacific/Chatham", None),
                          ("America/Argentina/Buenos_Aires", -10800)):
            _, always = self.token("always-" + zone.replace("/", "-"),
                                   self.window(zone, "00:00", "23:59:59"))
            self.assertEqual(self.check(always), 200, zone)
            if off is None:
                continue
            # a window of two hours, twelve hours away in that zone
            t = time.gmtime(now + off + 12 * 3600)
            start = "%02d:00" % t.tm_hour
            end = "%02d:59:59" % ((t.tm_hour + 1) % 24)
            _, never = self.token("never-" + zone.replace("/", "-"),
                                  self.window(zone, start, end))
            self.assertEqual(self.check(never), 403, zone)

    def test_an_unknown_zone_is_refused(self):
        st, out = self.inst.create_token(
            self.login(ALICE), "mars",
            scope=self.window("Mars/Olympus_Mons", "09:00", "17:00"))
        self.assertEqual(st, 422, out)
        self.assertIn("timezone", out["detail"])


# --- a worker started by hand, as spawn-fcgi and systemd start it ---

def fcgi_record(rtype, content, rid=1):
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), 0, 0) + content


def fcgi_params(params):
    out = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        for n in (len(k), len(v)):
            out += struct.pack(">B", n) if n < 128 else \
                struct.pack(">I", n | 0x80000000)
        out += k + v
    return out


def fcgi_request(path, method, uri, params=None, body=b""):
    """A FastCGI Responder request of method and uri (below /api) on the
    UNIX socket path, with the extra CGI params and the body; the
    response's stdout (CGI headers and body)."""
    env = {"REQUEST_METHOD": method, "REQUEST_URI": "/api" + uri,
           "SCRIPT_NAME": "/api", "PATH_INFO": uri, "QUERY_STRING": "",
           "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
           "GATEWAY_INTERFACE": "CGI/1.1"}
    if body:
        env.update(CONTENT_TYPE="application/json",
                   CONTENT_LENGTH=str(len(body)))
    env.update(params or {})
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    data = b""
    try:
        s.connect(path)
        s.sendall(fcgi_record(1, struct.pack(">HB5x", 1, 0)) +
                  fcgi_record(4, fcgi_params(env)) + fcgi_record(4, b"") +
                  (fcgi_record(5, body) if body else b"") +
                  fcgi_record(5, b""))
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    out = b""
    while len(data) >= 8:
        _, rtype, _, n, pad, _ = struct.unpack(">BBHHBB", data[:8])
        if rtype == 6:                  # FCGI_STDOUT
            out += data[8:8 + n]
        data = data[8 + n + pad:]
    return out


class ByHand(unittest.TestCase):
    """tokencat.fcgi on a listening socket of our own: serve, SIGTERM."""

    def setUp(self):
        self.inst = Instance("ByHand", conf=RULE, workers=1)
        self.addCleanup(self.inst.close)
        self.path = os.path.join(self.inst.dir, "byhand.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(self.listener.close)
        self.listener.bind(self.path)
        self.listener.listen(8)
        self.errpath = os.path.join(self.inst.dir, "byhand.err")
        with open(self.errpath, "wb") as err:
            self.proc = subprocess.Popen(
                [FCGI], stdin=self.listener.fileno(),
                stdout=subprocess.DEVNULL, stderr=err,
                env={"PATH": "/usr/bin:/bin",
                     "TOKENCAT_CONFIG": self.inst.conf_path,
                     **{k: v for k, v in os.environ.items()
                        if k.endswith("SAN_OPTIONS")}})
        self.addCleanup(self.stop)
        deadline = time.time() + 15
        while time.time() < deadline and self.proc.poll() is None:
            with open(self.errpath) as f:
                if "sandbox on" in f.read():
                    break
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def test_serves_then_leaves_with_status_0_on_sigterm(self):
        self.assertIsNone(self.proc.poll(), open(self.errpath).read())
        self.assertEqual(proc_status(self.proc.pid).get("Seccomp"), "2")
        out = fcgi_request(self.path, "GET", "/health")
        self.assertTrue(out.startswith(b"Status: 200"), out)
        session = self.inst.cli("session", ALICE).stdout.strip()
        out = fcgi_request(self.path, "POST", "/tokens", {
            "HTTP_AUTHORIZATION": "Bearer " + session}, json.dumps({
                "name": "byhand", "expires_in_days": 1,
                "scope": {"permissions": ["tools.read"]}}).encode())
        head, _, payload = out.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"Status: 201"), out)
        tok = json.loads(payload)["access_token"]
        # three uses, then SIGTERM at once: written on the way out
        for _ in range(3):
            out = fcgi_request(self.path, "GET", "/auth/check", {
                "HTTP_AUTHORIZATION": "Bearer " + tok,
                "HTTP_X_ORIGINAL_URI": "/tools/x",
                "HTTP_X_ORIGINAL_METHOD": "GET"})
            self.assertTrue(out.startswith(b"Status: 200"), out)
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=30)
        err = open(self.errpath).read()
        self.assertEqual(rc, 0, "exit status %d (-31 is SIGSYS):\n%s"
                         % (rc, err))
        if ON_PG or MDB_STAT is not None:
            self.assertEqual(uses_written(self.inst), 3)


if __name__ == "__main__":
    unittest.main()
