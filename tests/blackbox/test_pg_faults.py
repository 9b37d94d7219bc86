"""
test_pg_faults.py - PostgreSQL going away and coming back (run only when
the suite runs on PostgreSQL, TOKENCAT_STORE=pg): while the server is
stopped every route that needs it, /health and the enforcement point
included, answers 503 with a JSON body, never 200 and never a crash; once
it is started again the same workers serve again without a restart; a
worker started while the server is down answers 503 until it connects.
"""

import os
import shutil
import threading
import time
import unittest

import harness
from harness import ADMIN, ALICE, InstanceTestCase


def wait_status(inst, path, want, timeout=30, token=None):
    """Poll GET path until it answers want; the last (status, body)."""
    deadline = time.time() + timeout
    while True:
        try:
            st, _, out = inst.req("GET", path, token=token, timeout=5)
        except OSError as e:
            st, out = None, repr(e)
        if st == want or time.time() > deadline:
            return st, out
        time.sleep(0.1)


@unittest.skipUnless(harness.ON_PG, "PostgreSQL only (TOKENCAT_STORE=pg)")
class ServerStops(InstanceTestCase):
    CONF = {"rule": ["GET /protected/ files.read"]}

    def assert503(self, st, out, what):
        self.assertEqual(st, 503, "%s: %r" % (what, out))
        self.assertIsInstance(out, dict, what)
        self.assertIn("detail", out, what)

    def test_stop_503_then_resume_without_restart(self):
        s = self.login(ADMIN)
        st, out = self.inst.create_token(
            s, "faults", scope={"permissions": ["files.read"]})
        self.assertEqual(st, 201, out)
        tok = out["access_token"]
        # every worker has the token's record in its cache (the feed is up)
        for _ in range(4 * self.inst.workers):
            st, _, out = self.req("GET", "/auth/check", token=tok, headers={
                "X-Original-URI": "/protected/hello.txt"})
            self.assertEqual(st, 200, out)
        pids = sorted(self.inst.worker_pids())
        cluster = harness.pg_cluster()
        stop_traffic = threading.Event()
        seen = []

        def traffic():
            while not stop_traffic.is_set():
                try:
                    seen.append(self.req("GET", "/tokens", token=s,
                                         timeout=10)[0])
                except OSError:
                    seen.append("conn")
        t = threading.Thread(target=traffic)
        t.start()
        try:
            time.sleep(0.3)
            cluster.stop_server("fast")
            for path, token in (("/health", None), ("/tokens", s),
                                ("/auth/me", s),
                                ("/auth/check", tok)):
                st, _, out = self.req("GET", path, token=token,
                                      headers={"X-Original-URI": "/tools/x"}
                                      if path == "/auth/check" else None)
                self.assert503(st, out, path)
            st, out = self.inst.create_token(s, "while-down")
            self.assert503(st, out, "POST /tokens")
            # the FastCGI Authorizer door lets nothing through
            st, _, _ = self.req("GET", "/protected/hello.txt", prefix="",
                                headers={"Authorization": "Bearer " + tok})
            self.assertEqual(st, 503, "the authorizer door while down")
            time.sleep(0.5)
        finally:
            cluster.start_server()
            stop_traffic.set()
            t.join(30)
        self.assertTrue(set(seen) <= {200, 503}, sorted(set(map(str, seen))))
        st, out = wait_status(self.inst, "/health", 200)
        self.assertEqual(st, 200, out)
        st, out = wait_status(self.inst, "/tokens", 200, token=s)
        self.assertEqual(st, 200, out)
        self.assertIn("faults", [x["name"] for x in out["tokens"]])
        st, out = self.inst.create_token(s, "after-resume")
        self.assertEqual(st, 201, out)
        st, _, _ = self.req("GET", "/protected/hello.txt", prefix="",
                            headers={"Authorization": "Bearer " + tok})
        self.assertEqual(st, 200, "the authorizer door after resuming")
        self.assertEqual(sorted(self.inst.worker_pids()), pids,
                         "the same workers serve again")

    def test_worker_started_while_down_answers_503_then_serves(self):
        cluster = harness.pg_cluster()
        self.inst.stop()
        self.inst.port = None           # set again by start()
        cluster.stop_server("fast")
        seen = {}

        # lighttpd is started from this thread (its children die with the
        # thread that forked them); another one watches the 503s, then
        # starts the server
        def watch():
            try:
                if self._port_soon():
                    seen["health"] = wait_status(self.inst, "/health", 503,
                                                 timeout=20)
                    seen["pids"] = sorted(self.inst.worker_pids())
                    time.sleep(1)
                    seen["pids_later"] = sorted(self.inst.worker_pids())
            finally:
                cluster.start_server()
        th = threading.Thread(target=watch)
        th.start()
        try:
            self.inst.start(timeout=60)
        finally:
            th.join(90)
            if not cluster.running:
                cluster.start_server()
        st, out = seen.get("health", (None, "no port"))
        self.assertEqual(st, 503, out)
        self.assertIsInstance(out, dict)
        pids = seen["pids"]
        self.assertEqual(len(pids), self.inst.workers)
        self.assertEqual(seen["pids_later"], pids, "the workers keep running")
        st, out = wait_status(self.inst, "/health", 200)
        self.assertEqual(st, 200, out)
        s = self.login(ALICE)
        st, out = self.inst.create_token(s, "after-late-start")
        self.assertEqual(st, 201, out)
        self.assertEqual(sorted(self.inst.worker_pids()), pids,
                         "no worker was restarted")

    def _port_soon(self, timeout=10):
        deadline = time.time() + timeout
        while self.inst.port is None and time.time() < deadline:
            time.sleep(0.05)
        return self.inst.port is not None


@unittest.skipUnless(harness.ON_PG, "PostgreSQL only (TOKENCAT_STORE=pg)")
class ChangeFeed(InstanceTestCase):
    """Each worker caches what checks read while its change feed (a
    LISTEN connection) says nothing changed; without a feed it reads
    through."""

    FEED = "info: store: change feed connected"

    def check(self, tok):
        return self.req("GET", "/auth/check", token=tok, headers={
            "X-Original-URI": "/tools/x"})[0]

    def feeds_connected(self):
        """How many times this instance's workers connected a feed."""
        with open(self.inst.worklog, errors="replace") as f:
            return f.read().count(self.FEED)

    def feed_sessions(self, end=False):
        """The feed sessions of this database; with end, ended first
        (pg_terminate_backend with a timeout returns when they have)."""
        what = "pg_terminate_backend(pid, 10000)" if end else "*"
        return int(self.inst.psql(
            "SELECT count(%s) FROM pg_stat_activity WHERE application_name "
            "= 'tokencat feed' AND datname = current_database()" % what))

    def test_a_lost_feed_drops_the_cache_and_comes_back(self):
        s = self.login(ALICE)
        st, out = self.inst.create_token(s, "feed-1")
        self.assertEqual(st, 201, out)
        tid, tok = out["token"]["id"], out["access_token"]
        for _ in range(4 * self.inst.workers):
            self.assertEqual(self.check(tok), 200)
        # every worker connects its feed when it starts
        harness.wait_until(lambda: self.feed_sessions() >= self.inst.workers,
                           20, "the workers to connect their feeds")
        sessions, feeds = self.feed_sessions(), self.feeds_connected()
        # a change whose notification is lost: triggers off for it
        self.inst.psql("SET session_replication_role = replica; "
                       "UPDATE tokens SET is_revoked = true WHERE id = '%s'"
                       % tid)
        self.assertEqual(self.feed_sessions(end=True), sessions)
        # the cache goes with the feed: every check reads the revocation
        for _ in range(4 * self.inst.workers):
            self.assertEqual(self.check(tok), 401)
        with open(self.inst.worklog, errors="replace") as f:
            self.assertIn("store: change feed lost", f.read())
        # a feed comes back (its worker tries again after a second) ...
        st, out = self.inst.create_token(s, "feed-2")
        self.assertEqual(st, 201, out)
        tid2, tok2 = out["token"]["id"], out["access_token"]

        def back():
            self.assertEqual(self.check(tok2), 200)
            return self.feeds_connected() > feeds
        harness.wait_until(back, 20, "a worker to connect its feed again")
        for _ in range(4 * self.inst.workers):
            self.assertEqual(self.check(tok2), 200)
        # ... and notify: a revocation is refused by the next check
        st, _, out = self.req("DELETE", "/tokens/" + tid2, token=s)
        self.assertEqual(st, 204, out)
        for _ in range(4 * self.inst.workers):
            self.assertEqual(self.check(tok2), 401)


@unittest.skipUnless(harness.ON_PG, "PostgreSQL only (TOKENCAT_STORE=pg)")
class StartupChecks(InstanceTestCase):
    """A host with another signing key, or a database with an older
    schema, refuses to start with one line; `tokencat init` upgrades."""

    def test_another_key_is_refused_in_one_line(self):
        key = os.path.join(self.inst.db, "signing.key")
        shutil.copy(key, key + ".saved")
        try:
            with open(key, "w") as f:
                f.write("ab" * 32 + "\n")
            p = self.inst.cli("user", "list", check=False)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertIn("not the key of this database", p.stderr)
            p = self.inst.cli("init", check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("another signing key", p.stderr)
        finally:
            os.replace(key + ".saved", key)
        self.assertEqual(self.inst.cli("user", "list").returncode, 0)
        # the fingerprint is an HMAC, not the key
        fp = self.inst.psql("SELECT value FROM meta WHERE key = "
                            "'key_fingerprint'").strip()
        self.assertRegex(fp, "^[0-9a-f]{64}$")
        with open(key, "rb") as f:
            self.assertNotIn(fp.encode(), f.read())

    def test_older_schema_refused_until_init(self):
        self.inst.stop()
        try:
            # undo the newest migration (004_use_batches; init puts
            # tc_use_put, which calls it, back with it)
            self.inst.psql("DROP FUNCTION tc_use_put_many; "
                           "DELETE FROM schema_version WHERE version = 4")
            p = self.inst.cli("user", "list", check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("tokencat init", p.stderr)
            self.inst.cli("init")
            self.inst.cli("init")   # idempotent
        finally:
            self.inst.start()
        st, _, out = self.req("GET", "/health")
        self.assertEqual(st, 200, out)

    def test_backup_says_pg_dump_even_with_the_server_down(self):
        cluster = harness.pg_cluster()
        cluster.stop_server("fast")
        try:
            p = self.inst.cli("backup", os.path.join(self.inst.dir, "b"),
                              check=False)
        finally:
            cluster.start_server()
        self.assertEqual(p.returncode, 1)
        self.assertIn("pg_dump", p.stderr)
        st, out = wait_status(self.inst, "/health", 200)
        self.assertEqual(st, 200, out)
