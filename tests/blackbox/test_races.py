"""
test_races.py - concurrency and crashes (issue 7): several tokencat.fcgi
workers behind lighttpd writing the same LMDB environment at once, and
workers killed with SIGKILL in the middle of a stream of writes.

- 20 concurrent creates of one token name: exactly one 201, the others
  409 with the sentence of API.md 5.1; the same for team names, user
  e-mails, and rotations of one token (one 201, the others 400).
- 8 writers x 25 creates of distinct names: all 200 acknowledged tokens
  are in GET /tokens, readable one by one, and in a `tokencat backup` copy
  of the database (counted with mdb_stat, lmdb-utils).
- kill -9 of workers during a stream of creates: no acknowledged (201)
  token is lost, lighttpd respawns the workers and the service answers
  again; the LMDB reader slots of the killed workers are cleared (mdb_stat
  -r lists only live processes) and nothing stale is left to clear.
"""

import functools
import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time
import unittest
import http.client

import harness
from harness import (ADMIN, ALICE, BOB, MSG_DUP_NAME, Instance,
                     InstanceTestCase, started, wait_until)

MDB_STAT = shutil.which("mdb_stat")
WORKERS = 4


class MultiWorkerTestCase(InstanceTestCase):
    """InstanceTestCase over an Instance with WORKERS /api workers."""

    WORKERS = WORKERS

    @classmethod
    def setUpClass(cls):
        cls.inst = Instance(cls.__name__, conf=cls.CONF, workers=cls.WORKERS)
        started(cls.inst, lambda: cls.wait_workers(WORKERS))

    @classmethod
    def wait_workers(cls, n, timeout=15):
        """Wait until n /api workers run; returns their pids."""
        deadline = time.time() + timeout
        pids = cls.inst.worker_pids()
        while len(pids) < n and time.time() < deadline:
            time.sleep(0.1)
            pids = cls.inst.worker_pids()
        if len(pids) < n:
            raise AssertionError("only %d of %d workers: %r\n%s" % (
                len(pids), n, pids, cls.inst.log_tail()))
        return pids

    def concurrently(self, n, fn):
        """Run fn(i) in n threads released together; returns the results
        in order (AssertionError if one raised)."""
        return harness.concurrently([functools.partial(fn, i)
                                     for i in range(n)])


class SameNameRaces(MultiWorkerTestCase):
    """Uniqueness holds under concurrency (one write transaction decides)."""

    N = 20

    def test_workers_running(self):
        self.assertGreaterEqual(len(self.inst.worker_pids()), WORKERS)

    def test_20_concurrent_creates_of_one_name(self):
        s = self.login(ALICE)
        res = self.concurrently(self.N, lambda i: self.inst.create_token(
            s, "race-same-name"))
        codes = sorted(st for st, _ in res)
        self.assertEqual(codes.count(201), 1, codes)
        self.assertEqual(codes.count(409), self.N - 1, codes)
        for st, out in res:
            if st == 409:
                self.assertEqual(out, {"detail": MSG_DUP_NAME})
        toks = [t for t in self.inst.all_tokens(s).values()
                if t["name"] == "race-same-name"]
        self.assertEqual(len(toks), 1, toks)
        # revoked, the name is free again - once
        winner = [out for st, out in res if st == 201][0]["token"]["id"]
        self.assertEqual(self.req("DELETE", "/tokens/" + winner,
                                  token=s)[0], 204)
        res = self.concurrently(self.N, lambda i: self.inst.create_token(
            s, "race-same-name"))
        codes = sorted(st for st, _ in res)
        self.assertEqual((codes.count(201), codes.count(409)),
                         (1, self.N - 1), codes)

    def test_same_name_different_owners_all_succeed(self):
        sa, sb = self.login(ALICE), self.login(BOB)
        res = self.concurrently(10, lambda i: self.inst.create_token(
            sa if i % 2 else sb, "race-two-owners"))
        codes = sorted(st for st, _ in res)
        self.assertEqual((codes.count(201), codes.count(409)), (2, 8), codes)

    def test_concurrent_team_creates_of_one_name(self):
        s = self.login(ALICE)
        res = self.concurrently(self.N, lambda i: self.req(
            "POST", "/teams", {"name": "race-team"}, token=s))
        codes = sorted(r[0] for r in res)
        self.assertEqual((codes.count(201), codes.count(409)),
                         (1, self.N - 1), codes)
        for st, _, out in res:
            self.assertIn("detail" if st == 409 else "id", out)

    def test_concurrent_user_creates_of_one_email(self):
        s = self.login(ADMIN)
        body = {"email": "racer@example.com", "password": "racer-password-1",
                "full_name": "Racer", "is_admin": False}
        res = self.concurrently(8, lambda i: self.req(
            "POST", "/admin/users", body, token=s))
        codes = sorted(r[0] for r in res)
        self.assertEqual((codes.count(201), codes.count(409)), (1, 7), codes)
        self.assertEqual(len(self.inst.login_full(
            "racer@example.com", "racer-password-1")["access_token"]) > 0,
            True)

    def test_concurrent_rotations_of_one_token(self):
        s = self.login(ALICE)
        st, out = self.inst.create_token(s, "race-rotate")
        self.assertEqual(st, 201, out)
        tid = out["token"]["id"]
        res = self.concurrently(10, lambda i: self.req(
            "POST", "/tokens/%s/rotate" % tid, token=s))
        codes = sorted(r[0] for r in res)
        self.assertEqual(codes.count(201), 1, codes)
        self.assertEqual(codes.count(400), 9, codes)
        live = [t for t in self.inst.all_tokens(s).values()
                if t["name"] == "race-rotate" and t["is_active"]]
        self.assertEqual(len(live), 1, live)

    def test_concurrent_revokes_keep_the_first_revocation(self):
        s = self.login(ALICE)
        st, out = self.inst.create_token(s, "race-revoke")
        tid = out["token"]["id"]
        res = self.concurrently(10, lambda i: self.req(
            "DELETE", "/tokens/" + tid, {"reason": "reason-%d" % i},
            token=s))
        self.assertEqual(sorted(r[0] for r in res), [204] * 10)
        st, _, tok = self.req("GET", "/tokens/" + tid, token=s)
        self.assertEqual(st, 200)
        self.assertTrue(tok["is_revoked"])
        self.assertRegex(tok["revocation_reason"], r"^reason-\d$")

    def test_concurrent_failed_logins_all_count(self):
        # BASE_CONF: login_max_failures = 3; 12 wrong passwords at once
        email, pw = "locked-racer@example.com", "locked-racer-pw-1"
        self.inst.add_user(email, pw)
        res = self.concurrently(12, lambda i: self.req(
            "POST", "/auth/login", {"email": email, "password": "wrong-%d" % i}))
        codes = sorted(r[0] for r in res)
        self.assertTrue(set(codes) <= {401, 429}, codes)
        self.assertGreaterEqual(codes.count(401), 3, codes)
        st, hdrs, out = self.req("POST", "/auth/login",
                                 {"email": email, "password": pw})
        self.assertEqual(st, 429, out)
        self.assertTrue(hdrs.get("Retry-After", "").isdigit())


class ManyWriters(MultiWorkerTestCase):
    """8 writers x 25 creates: nothing lost."""

    WRITERS = 8
    EACH = 25

    def test_8_writers_x_25_creates_lose_nothing(self):
        s = self.login(ALICE)

        def writer(w):
            got = []
            for i in range(self.EACH):
                st, out = self.inst.create_token(s, "w%d-%02d" % (w, i))
                got.append((st, out))
            return got
        res = self.concurrently(self.WRITERS, writer)
        ids = set()
        for got in res:
            for st, out in got:
                self.assertEqual(st, 201, out)
                ids.add(out["token"]["id"])
        self.assertEqual(len(ids), self.WRITERS * self.EACH)
        listed = self.inst.all_tokens(s)
        names = {t["name"] for t in listed.values()}
        self.assertTrue(ids <= set(listed), "missing from GET /tokens: %r"
                        % sorted(ids - set(listed))[:5])
        for w in range(self.WRITERS):
            for i in range(self.EACH):
                self.assertIn("w%d-%02d" % (w, i), names)
        st, _, page = self.req("GET", "/tokens?limit=1", token=s)
        self.assertEqual(page["total"], len(ids))
        for tid in random.Random(1).sample(sorted(ids), 20):
            self.assertEqual(self.req("GET", "/tokens/" + tid,
                                      token=s)[0], 200)
        # the command line's consistent copy holds them too
        self.assert_backup_holds(len(ids))

    def assert_backup_holds(self, n):
        """`tokencat backup` while the service runs, then the number of
        records in its "tokens" database (mdb_stat -s tokens)."""
        if harness.ON_PG:       # the same count, from the database itself
            self.assertEqual(self.inst.psql(
                "SELECT count(*) FROM tokens").strip(), str(n))
            return
        dest = os.path.join(self.inst.dir, "backup-%d" % n)
        self.inst.cli("backup", dest)
        if MDB_STAT is None:
            self.skipTest("mdb_stat not found (apt-get install lmdb-utils)")
        p = subprocess.run([MDB_STAT, "-s", "tokens", dest],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        m = re.search(r"Entries: (\d+)", p.stdout)
        self.assertIsNotNone(m, p.stdout)
        self.assertEqual(int(m.group(1)), n, p.stdout)


def reader_pids(db):
    """(pids in the LMDB reader table of db, raw mdb_stat -r output)."""
    p = subprocess.run([MDB_STAT, "-r", db], capture_output=True, text=True,
                       timeout=30)
    # mdb_stat 0.9.24 exits 1 after -r even when it worked: read the text
    if "Reader Table Status" not in p.stdout:
        raise AssertionError("mdb_stat -r %s: exit %d: %s" % (
            db, p.returncode, p.stderr))
    pids = []
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 2 and f[0].isdigit():
            pids.append(int(f[0]))
    return pids, p.stdout


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0): look at its state
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class KillNine(MultiWorkerTestCase):
    """SIGKILL of workers while clients create tokens."""

    WRITERS = 4
    KILLS = 10
    PER_KILL = 5        # creates acknowledged between two kills

    def stream(self, session, stop, w, acked, other):
        i = 0
        while not stop.is_set():
            name = "k%d-%04d" % (w, i)
            i += 1
            try:
                st, out = self.inst.create_token(session, name)
            except (OSError, http.client.HTTPException) as e:
                other.append((name, repr(e)))
                continue
            if st == 201:
                acked.append((name, out["token"]["id"]))
            else:
                other.append((name, st))

    def test_kill9_during_creates_loses_no_acknowledged_token(self):
        s = self.login(ALICE)
        before = set(self.inst.worker_pids())
        stop = threading.Event()
        acked, other = [], []
        threads = [threading.Thread(target=self.stream,
                                    args=(s, stop, w, acked, other))
                   for w in range(self.WRITERS)]
        for t in threads:
            t.start()
        killed = []
        rnd = random.Random(9)

        def progress(what):
            """Wait until PER_KILL more creates were acknowledged."""
            seen = len(acked)
            wait_until(lambda: len(acked) >= seen + self.PER_KILL, 60,
                       "%d creates acknowledged %s" % (self.PER_KILL, what))

        try:
            while len(killed) < self.KILLS:
                progress("before kill %d" % (len(killed) + 1))
                pids = [p for p in self.inst.worker_pids() if p not in killed]
                if not pids:
                    continue
                victim = rnd.choice(pids)
                try:
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)
                except ProcessLookupError:
                    pass
            progress("after the last kill")
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        self.assertGreaterEqual(len(killed), 3, "could not kill workers")
        self.assertGreater(len(acked), 20, "too few creates went through: "
                           "%d acked, %r" % (len(acked), other[:10]))
        # the service comes back: lighttpd respawns the workers
        pids = self.wait_workers(WORKERS, timeout=20)
        self.assertTrue(set(pids) - before, "no worker was respawned")
        for p in killed:
            self.assertNotIn(p, pids)
        wait_until(lambda: self.req("GET", "/health")[0] == 200, 15,
                   "/health to answer 200 again")
        s2 = self.login(ALICE)
        st, out = self.inst.create_token(s2, "after-kill9")
        self.assertEqual(st, 201, out)
        # nothing acknowledged is lost
        listed = self.inst.all_tokens(s2)
        lost = [(n, i) for n, i in acked if i not in listed]
        self.assertEqual(lost, [], "acknowledged tokens lost after kill -9")
        for n, i in acked:
            self.assertEqual(listed[i]["name"], n)
        # statuses seen while workers died: only 201 or a gateway error
        for name, what in other:
            if isinstance(what, int):
                self.assertIn(what, (500, 502, 503, 504), (name, what))
        self.__class__.killed = killed

    @harness.skip_on_pg("the reader table is LMDB's; a killed worker's "
                        "PostgreSQL session ends with its socket")
    def test_kill9_stale_readers_are_cleared(self):
        if MDB_STAT is None:
            self.skipTest("mdb_stat not found (apt-get install lmdb-utils)")
        s = self.login(ALICE)
        # every worker has read (cached read transaction = a reader slot)
        for i in range(3 * WORKERS):
            self.req("GET", "/tokens", token=s)
        pids, raw = reader_pids(self.inst.db)
        # the victims are workers that hold a reader slot right now
        victims = [p for p in self.inst.worker_pids() if p in pids][:2]
        self.assertTrue(victims, "no worker holds a reader slot?\n" + raw)
        before = set(self.inst.worker_pids())
        for v in victims:
            os.kill(v, signal.SIGKILL)
        def respawned():
            now = self.inst.worker_pids()
            return len(now) >= WORKERS and not set(victims) & set(now)
        wait_until(respawned, 20, "lighttpd to replace the killed workers")
        # a replacement clears stale slots when it opens the database,
        # before it serves: wait until each one says it has (its sandbox
        # line comes right after the store is open), since lighttpd may
        # send the requests below to the workers that were never killed
        new = set(self.inst.worker_pids()) - before

        def opened():
            with open(self.inst.worklog, errors="replace") as f:
                log = f.read()
            return all("tokencat[%d]: info: sandbox " % p in log for p in new)
        wait_until(opened, 20, "the replacement workers to open the store")
        for i in range(3 * WORKERS):
            self.assertEqual(self.req("GET", "/tokens", token=s)[0], 200)
        for db in (self.inst.db, os.path.join(self.inst.db, "usage")):
            pids, raw = reader_pids(db)
            dead = [p for p in pids if not alive(p)]
            self.assertEqual(dead, [], "stale reader slots of dead "
                             "processes in %s:\n%s" % (db, raw))
            for v in victims:
                self.assertNotIn(v, pids, raw)
            p = subprocess.run([MDB_STAT, "-rr", db], capture_output=True,
                               text=True, timeout=30)
            m = re.search(r"(\d+) stale readers cleared", p.stdout)
            self.assertIsNotNone(m, p.stdout)
            self.assertEqual(m.group(1), "0", p.stdout)


if __name__ == "__main__":
    unittest.main()
