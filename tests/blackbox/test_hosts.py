"""
test_hosts.py - two hosts on one PostgreSQL database: host A and host B
are two Instances (their own directory, tokencat.conf, lighttpd, port and
workers) that share one database on the run's private PostgreSQL cluster
and one signing key (Instance(join=A), harness.py). Runs on PostgreSQL
whatever TOKENCAT_STORE says; skipped when PostgreSQL 15 is missing,
unless CI=true (then that is a failure).

- one name, one active token: 20 racing creates of one name by one user,
  spread over both hosts, have one 201 and 19 409s (API.md 5.1);
- a token created on A authenticates on B at once;
- a change on A is read by every worker of A at once (60 switches of
  is_active, each checked on A straight after its answer);
- revocation, a disabled owner, a scope edit and the owner's removal from
  the token's team, each done on A, refuse the token on B within 1 s
  (the delay is printed: the store is read at every use);
- a limit of 10 uses a minute admits exactly 10 of concurrent uses spread
  over A and B;
- usage statistics and last_used cover the uses of both hosts within 1 s
  (uses are written in batches at most USE_FLUSH_MS old);
- kill -9 of workers of either host during creates on both loses no
  acknowledged (201) token: each is listed and works afterwards.

Times are measured with time.monotonic and printed, never asserted
beyond the 1 s bounds above (speed is measured in bench/run.sh).
"""

import http.client
import os
import random
import signal
import sys
import threading
import time
import unittest

import harness
from harness import (ADMIN, ALICE, BOB, MSG_DUP_NAME, Instance, concurrently,
                     started, wait_until)

RULES = ["GET /tools/ tools.read", "* /tools/run tools.execute"]
CONF = {"rule": RULES}
WORKERS = 2                     # /api workers a host
CAROL = "carol@example.com"     # the user that test_deactivation disables
CAROL_PASSWORD = "carol-password-004"
SPREAD = 1.0                    # s: a change on A applies on B within


def setUpModule():
    sys.path.insert(0, os.path.join(harness.TOP_SRCDIR, "tests", "pg"))
    import pgcluster
    if not pgcluster.available():
        if os.environ.get("CI") == "true":
            raise AssertionError("PostgreSQL 15 not found (CI=true: two "
                                 "hosts on one database must be tested)")
        raise unittest.SkipTest("PostgreSQL 15 not found "
                                "(apt-get install postgresql-15)")


def say(what):
    """One line of figures in the run's output."""
    print("      " + what, flush=True)


class HostsTestCase(unittest.TestCase):
    """Host A (cls.a) and host B (cls.b, joined to A's database)."""

    a = b = None

    @classmethod
    def setUpClass(cls):
        cls.a = started(Instance(cls.__name__ + "-A", conf=CONF,
                                 workers=WORKERS, store="pg"))
        try:
            cls.b = started(Instance(cls.__name__ + "-B", conf=CONF,
                                     workers=WORKERS, join=cls.a))
        except BaseException:
            cls.a.close()
            raise

    @classmethod
    def tearDownClass(cls):
        for inst in (cls.b, cls.a):
            if inst is not None:
                inst.close()

    def check(self, inst, tok, uri="/tools/list", method="GET"):
        """GET /auth/check on inst for a request to uri: the status."""
        return inst.req("GET", "/auth/check", token=tok, headers={
            "X-Original-URI": uri, "X-Original-Method": method})[0]

    def token(self, inst, session, name, **fields):
        """A token created on inst: (id, access token)."""
        st, out = inst.create_token(session, name, **fields)
        self.assertEqual(st, 201, out)
        return out["token"]["id"], out["access_token"]


class TwoHosts(HostsTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a.add_user(CAROL, CAROL_PASSWORD, full_name="Carol Example")

    def test_hosts_share_the_database_not_the_directories(self):
        self.assertNotEqual(self.a.dir, self.b.dir)
        self.assertNotEqual(self.a.port, self.b.port)
        # one database, two spellings of its URI: not one host's change
        # counter (harness.Instance, join=)
        self.assertEqual(self.a.pg_name, self.b.pg_name)
        self.assertTrue(self.b.pg_uri.startswith(self.a.pg_uri + "&"))
        self.assertEqual(self.a.signing_key(), self.b.signing_key())
        self.assertEqual(len(self.a.worker_pids()), WORKERS)
        self.assertEqual(len(self.b.worker_pids()), WORKERS)
        self.assertFalse(set(self.a.worker_pids()) & set(self.b.worker_pids()))
        # a user added on A (its CLI) logs in on B
        self.assertTrue(self.b.login(CAROL, CAROL_PASSWORD))

    def test_a_change_is_read_at_once_by_the_other_workers_of_its_host(self):
        # each answer to a PUT on A, then at once a check on A, which
        # another worker of A may serve before its feed has told it
        s = self.a.login(ALICE)
        tid, tok = self.token(self.a, s, "switch-%d" % random.randrange(1 << 30))
        self.assertEqual(self.check(self.a, tok), 200)
        for i in range(60):
            on = i % 2 == 1
            st, _, out = self.a.req("PUT", "/tokens/" + tid,
                                    {"is_active": on}, token=s)
            self.assertEqual(st, 200, out)
            self.assertEqual(self.check(self.a, tok), 200 if on else 401,
                             "switch %d to %s" % (i, on))

    def test_20_racing_creates_of_one_name_over_both_hosts(self):
        s = self.a.login(ALICE)
        hosts = [self.a, self.b] * 10
        res = concurrently([lambda h=h: h.create_token(s, "race-hosts")
                            for h in hosts])
        codes = [st for st, _ in res]
        self.assertEqual(sorted(codes).count(201), 1, codes)
        self.assertEqual(sorted(codes).count(409), 19, codes)
        for st, out in res:
            if st == 409:
                self.assertEqual(out, {"detail": MSG_DUP_NAME})
        winner = [out for st, out in res if st == 201][0]["token"]["id"]
        for h in (self.a, self.b):
            named = [t["id"] for t in h.all_tokens(s).values()
                     if t["name"] == "race-hosts"]
            self.assertEqual(named, [winner], h.name)
        say("race: one 201 (on host %s), 19 409s" %
            "AB"[codes.index(201) % 2])

    def test_created_on_a_works_on_b_at_once(self):
        sa = self.a.login(ALICE)
        t0 = time.monotonic()
        tid, tok = self.token(self.a, sa, "a-to-b",
                              scope={"permissions": ["tools.read"]})
        t1 = time.monotonic()
        self.assertEqual(self.check(self.b, tok), 200,
                         "the first use on B, right after the 201 on A")
        t2 = time.monotonic()
        # a session from A manages the token on B
        st, _, out = self.b.req("GET", "/tokens/" + tid, token=sa)
        self.assertEqual((st, out["name"]), (200, "a-to-b"), out)
        say("create on A %.1f ms, then first check on B %.1f ms: 200"
            % ((t1 - t0) * 1000, (t2 - t1) * 1000))

    def refused_on_b(self, what, tok, act, want, undo=None, uri="/tools/list"):
        """tok is allowed on B; act() on A (returns its status, checked to
        be 2xx); then poll B until the check answers want, within SPREAD
        seconds of A's answer. Prints and returns the delay (s)."""
        self.assertEqual(self.check(self.b, tok, uri), 200, what + ": before")
        st = act()
        acked = time.monotonic()
        self.assertTrue(200 <= st < 300, "%s on A: %r" % (what, st))
        polls = []
        try:
            def refused():
                polls.append(self.check(self.b, tok, uri))
                return polls[-1] == want
            wait_until(refused, timeout=SPREAD, interval=0.001,
                       what="%s on A to refuse the token on B (%r)"
                       % (what, polls[-5:]))
            delay = time.monotonic() - acked
        finally:
            if undo is not None:
                undo()
        say("%s on A: refused (%d) on B after %.1f ms, %d poll(s)%s"
            % (what, want, delay * 1000, len(polls),
               "" if delay < 0.1 else " (goal < 100 ms)"))
        return delay

    def test_revocation_on_a_applies_on_b(self):
        sa = self.a.login(ALICE)
        tid, tok = self.token(self.a, sa, "revoke-me")
        self.refused_on_b("revocation", tok, lambda: self.a.req(
            "DELETE", "/tokens/" + tid, token=sa)[0], 401)

    def test_deactivation_of_the_owner_on_a_applies_on_b(self):
        sc = self.a.login(CAROL, CAROL_PASSWORD)
        admin = self.a.login(ADMIN)
        _, tok = self.token(self.a, sc, "carol-disabled")

        def patch(active):
            return self.a.req("PATCH", "/admin/users/" + CAROL, token=admin,
                              body={"is_active": active})[0]
        self.refused_on_b("owner disabled", tok, lambda: patch(False), 401,
                          undo=lambda: self.assertEqual(patch(True), 200))
        self.assertEqual(self.check(self.b, tok), 200, "enabled again")

    def test_scope_edit_on_a_applies_on_b(self):
        sa = self.a.login(ALICE)
        tid, tok = self.token(self.a, sa, "scope-edit")
        self.refused_on_b("scope edit", tok, lambda: self.a.req(
            "PUT", "/tokens/" + tid, token=sa,
            body={"scope": {"ip_restrictions": ["10.9.9.9"]}})[0], 403)

    def test_removal_from_the_team_on_a_applies_on_b(self):
        admin = self.a.login(ADMIN)
        st, _, team = self.a.req("POST", "/teams", token=admin,
                                 body={"name": "Hosts"})
        self.assertEqual(st, 201, team)
        path = "/teams/%s/members" % team["id"]
        st, _, out = self.a.req("POST", path, token=admin,
                                body={"email": BOB})
        self.assertEqual(st, 201, out)
        _, tok = self.token(self.a, self.a.login(BOB), "team-bob",
                            team_id=team["id"])
        st, h, _ = self.b.req("GET", "/auth/check", token=tok, headers={
            "X-Original-URI": "/tools/list"})
        self.assertEqual((st, h.get("X-Tokencat-Teams")), (200, team["id"]))
        self.refused_on_b("removal from the team", tok, lambda: self.a.req(
            "DELETE", "%s/%s" % (path, BOB), token=admin)[0], 403)

    def test_usage_limit_exact_over_both_hosts(self):
        sa = self.a.login(ALICE)
        limit, uses = 10, 30
        _, tok = self.token(self.a, sa, "limit-hosts", scope={
            "usage_limits": {"requests_per_minute": limit}})
        hosts = [self.a, self.b] * (uses // 2)
        t0 = time.monotonic()
        got = concurrently([lambda h=h: (h.name, self.check(h, tok))
                            for h in hosts])
        dt = time.monotonic() - t0
        codes = [st for _, st in got]
        self.assertEqual(sorted(codes).count(200), limit, got)
        self.assertEqual(sorted(codes).count(429), uses - limit, got)
        # no more afterwards on either host
        self.assertEqual(self.check(self.a, tok), 429)
        self.assertEqual(self.check(self.b, tok), 429)
        allowed = {}
        for name, st in got:
            if st == 200:
                allowed[name] = allowed.get(name, 0) + 1
        say("limit %d/min, %d concurrent uses over A and B in %.2f s: "
            "%d allowed (%s)" % (limit, uses, dt, codes.count(200), ", ".join(
                "%s %d" % kv for kv in sorted(allowed.items()))))

    def test_usage_statistics_and_last_used_cover_both_hosts(self):
        sa = self.a.login(ALICE)
        tid, tok = self.token(self.a, sa, "stats-hosts",
                              scope={"permissions": ["tools.read"]})
        before = time.time()
        for h, uri in ((self.a, "/tools/a"), (self.b, "/tools/b"),
                       (self.b, "/tools/b"), (self.a, "/tools/a")):
            self.assertEqual(self.check(h, tok, uri), 200)
        self.assertEqual(self.check(self.b, tok, "/tools/run", "POST"), 403)
        self.assertEqual(self.check(self.b, tok, "/tools/b"), 200)
        done = time.monotonic()

        def stats(inst):
            st, _, u = inst.req("GET", "/tokens/%s/usage?days=1" % tid,
                                token=sa)
            self.assertEqual(st, 200, u)
            return (u["total_requests"], u["successful_requests"],
                    u["blocked_requests"]) == (6, 5, 1) and u
        for inst in (self.a, self.b):
            u = wait_until(lambda: stats(inst), timeout=SPREAD,
                           interval=0.01, what="the uses of both hosts in "
                           "the statistics on " + inst.name)
            self.assertEqual(sorted(map(tuple, u["top_endpoints"])),
                             [("/tools/a", 2), ("/tools/b", 3),
                              ("/tools/run", 1)])
        seen = time.monotonic() - done

        def last_used(inst):
            st, _, t = inst.req("GET", "/tokens/" + tid, token=sa)
            self.assertEqual(st, 200, t)
            return t["last_used"] and \
                harness.parse_time(t["last_used"]) >= before - 1 and t
        for inst in (self.b, self.a):
            wait_until(lambda: last_used(inst), timeout=SPREAD,
                       interval=0.01, what="last_used on " + inst.name)
        # a last use on B alone moves last_used as seen from A
        t = last_used(self.a)
        harness.clock_past(harness.parse_time(t["last_used"]))
        self.assertEqual(self.check(self.b, tok, "/tools/c"), 200)
        wait_until(lambda: (last_used(self.a)["last_used"] !=
                            t["last_used"]), timeout=SPREAD, interval=0.01,
                   what="a use on B in last_used on A")
        say("uses of A and B in the statistics of both %.1f ms after the "
            "last use" % (seen * 1000))


class KillNineOnBothHosts(HostsTestCase):
    """SIGKILL of workers of A and of B while clients create on both."""

    WRITERS = 4                 # threads, half of them on each host
    KILLS = 8
    PER_KILL = 5                # creates acknowledged between two kills

    def stream(self, inst, session, stop, w, acked, other):
        i = 0
        while not stop.is_set():
            name = "k%d-%04d" % (w, i)
            i += 1
            try:
                st, out = inst.create_token(session, name)
            except (OSError, http.client.HTTPException) as e:
                other.append((name, repr(e)))
                continue
            if st == 201:
                acked.append((name, out["token"]["id"],
                              out["access_token"]))
            else:
                other.append((name, st))

    def wait_workers(self, inst):
        """Wait until inst runs WORKERS /api workers; returns their pids."""
        return wait_until(lambda: len(inst.worker_pids()) >= WORKERS and
                          inst.worker_pids(), 20,
                          "%d workers of %s" % (WORKERS, inst.name))

    def test_kill9_on_both_hosts_loses_no_acknowledged_token(self):
        s = self.a.login(ALICE)
        hosts = (self.a, self.b)
        before = {h.name: set(h.worker_pids()) for h in hosts}
        stop = threading.Event()
        acked, other = [], []
        threads = [threading.Thread(target=self.stream, args=(
            hosts[w % 2], s, stop, w, acked, other))
            for w in range(self.WRITERS)]
        for t in threads:
            t.start()
        killed = {h.name: [] for h in hosts}
        rnd = random.Random(9)

        def progress(what):
            seen = len(acked)
            wait_until(lambda: len(acked) >= seen + self.PER_KILL, 60,
                       "%d creates acknowledged %s" % (self.PER_KILL, what))
        t0 = time.monotonic()
        try:
            for k in range(self.KILLS):
                progress("before kill %d" % (k + 1))
                h = hosts[k % 2]
                pids = [p for p in h.worker_pids() if p not in killed[h.name]]
                if not pids:
                    continue
                victim = rnd.choice(pids)
                try:
                    os.kill(victim, signal.SIGKILL)
                    killed[h.name].append(victim)
                except ProcessLookupError:
                    pass
            progress("after the last kill")
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        dt = time.monotonic() - t0
        for h in hosts:
            self.assertGreaterEqual(len(killed[h.name]), 2,
                                    "could not kill workers of " + h.name)
        self.assertGreater(len(acked), 20, "too few creates went through: "
                           "%d acked, %r" % (len(acked), other[:10]))
        for h in hosts:
            pids = self.wait_workers(h)
            self.assertTrue(set(pids) - before[h.name],
                            "no worker of %s was respawned" % h.name)
            wait_until(lambda: h.req("GET", "/health")[0] == 200, 15,
                       "/health on %s to answer 200 again" % h.name)
        # nothing acknowledged is lost, seen from either host
        for h in hosts:
            listed = h.all_tokens(s)
            lost = [(n, i) for n, i, _ in acked if i not in listed]
            self.assertEqual(lost, [], "acknowledged tokens lost after "
                             "kill -9, listed on " + h.name)
            for n, i, _ in acked:
                self.assertEqual(listed[i]["name"], n)
        # and each works, on the other host than the one that made it
        # (the name's writer number says which)
        for n, _, tok in acked:
            h = hosts[(int(n[1:n.index("-")]) + 1) % 2]
            self.assertEqual(self.check(h, tok), 200, n)
        for name, what in other:
            if isinstance(what, int):
                self.assertIn(what, (500, 502, 503, 504), (name, what))
        kinds = {}
        for _, what in other:
            k = what if isinstance(what, int) else what.split("(")[0]
            kinds[k] = kinds.get(k, 0) + 1
        say("kill -9: %d workers of A, %d of B killed in %.1f s; %d creates "
            "acknowledged, all listed and working; other answers: %s" % (
                len(killed[self.a.name]), len(killed[self.b.name]), dt,
                len(acked), ", ".join("%s %d" % (k, n) for k, n in
                                      sorted(kinds.items(), key=str))
                or "none"))


if __name__ == "__main__":
    unittest.main()
