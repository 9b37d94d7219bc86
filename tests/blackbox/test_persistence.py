"""
test_persistence.py - everything survives a restart of lighttpd and its
workers (same database, same signing key); the command line and the
running service share the database; backup gives a usable copy.
"""

import os
import shutil
import tempfile
import threading
import time

import harness
from harness import (ADMIN, ALICE, BOB, Instance, InstanceTestCase, MSG_REVOKED)

FULL_SCOPE = {
    "server_id": "srv-9",
    "permissions": ["tools.read"],
    "ip_restrictions": ["127.0.0.1", "::1"],
    "time_restrictions": {"start_time": "00:00", "end_time": "23:59:59",
                          "timezone": "UTC"},
    "usage_limits": {"requests_per_hour": 500},
}


class Restart(InstanceTestCase):

    def test_restart_keeps_tokens_revocations_users_and_sessions(self):
        alice = self.login(ALICE)
        bob = self.login(BOB)
        gone = self.login(ALICE)
        self.assertEqual(self.req("POST", "/auth/logout", token=gone)[0], 200)
        made = {}
        for name, extra in (("keep", {"scope": FULL_SCOPE,
                                      "tags": ["a", {"b": "c"}],
                                      "description": "kept"}),
                            ("revoked", {}), ("paused", {})):
            st, out = self.inst.create_token(alice, name, 30, **extra)
            self.assertEqual(st, 201, out)
            made[name] = out
        st, out = self.inst.create_token(bob, "bobs", 5)
        self.assertEqual(st, 201, out)
        made["bobs"] = out
        rid = made["revoked"]["token"]["id"]
        self.assertEqual(self.req("DELETE", "/tokens/" + rid,
                                  {"reason": "rotated by hand"},
                                  token=alice)[0], 204)
        pid = made["paused"]["token"]["id"]
        self.assertEqual(self.req("PUT", "/tokens/" + pid,
                                  {"is_active": False}, token=alice)[0], 200)

        def snapshot():
            snap = {}
            for name, out in made.items():
                who = bob if name == "bobs" else alice
                st, _, got = self.req("GET", "/tokens/" + out["token"]["id"],
                                      token=who)
                self.assertEqual(st, 200, got)
                snap[name] = got
            st, _, lst = self.req("GET", "/tokens?include_inactive=true",
                                  token=alice)
            self.assertEqual(st, 200, lst)
            snap["list"] = lst
            st, _, lst = self.req("GET", "/tokens", token=alice)
            snap["active"] = lst
            st, _, me = self.req("GET", "/auth/me", token=alice)
            self.assertEqual(st, 200, me)
            snap["me"] = me
            return snap

        before = snapshot()
        self.assertEqual(before["revoked"]["revocation_reason"],
                         "rotated by hand")
        old_workers = set(self.inst.worker_pids())
        key_before = self.inst.signing_key()

        self.inst.restart()

        self.assertEqual(self.inst.leftover_workers, [],
                         "workers did not exit when lighttpd stopped them")
        self.assertTrue(old_workers.isdisjoint(self.inst.worker_pids()))
        self.assertEqual(self.inst.signing_key(), key_before)
        after = snapshot()
        self.assertEqual(after, before)
        self.assertEqual([t["id"] for t in after["active"]["tokens"]],
                         [made["keep"]["token"]["id"]])
        # sessions: the live one works, the logged-out one is still refused
        self.assertEqual(self.req("GET", "/auth/me", token=bob)[0], 200)
        self.assert401(self.req("GET", "/auth/me", token=gone),
                       detail=MSG_REVOKED)
        # API tokens: live works, revoked and paused refused
        self.assertEqual(self.req("GET", "/auth/me",
                                  token=made["keep"]["access_token"])[0], 200)
        self.assertEqual(self.req("GET", "/auth/me",
                                  token=made["bobs"]["access_token"])[0], 200)
        self.assert401(self.req("GET", "/auth/me",
                                token=made["revoked"]["access_token"]),
                       detail=MSG_REVOKED)
        self.assert401(self.req("GET", "/auth/me",
                                token=made["paused"]["access_token"]))
        # the active name is still held; the revoked one is free
        self.assertEqual(self.inst.create_token(alice, "keep")[0], 409)
        self.assertEqual(self.inst.create_token(alice, "revoked")[0], 201)
        # users and passwords
        for email in (ADMIN, ALICE, BOB):
            self.login(email)

    def test_stop_leaves_no_worker(self):
        self.assertEqual(len(self.inst.worker_pids()), 2)
        self.inst.stop()
        try:
            self.assertEqual(self.inst.leftover_workers, [])
            self.assertEqual(self.inst.worker_pids(), [])
        finally:
            self.inst.start()
        self.assertEqual(self.req("GET", "/health")[0], 200)


class SharedDatabase(InstanceTestCase):
    """The CLI writes while the workers run; both see the same data."""

    def test_user_added_by_cli_while_running_can_log_in(self):
        self.inst.add_user("live@example.com", "live-password-01")
        out = self.inst.login_full("live@example.com", "live-password-01")
        self.assertEqual(out["user"]["email"], "live@example.com")
        listing = self.inst.cli("user", "list").stdout
        for email in (ADMIN, ALICE, BOB, "live@example.com"):
            self.assertIn(email, listing)

    def test_cli_session_accepted_by_running_workers(self):
        tok = self.inst.cli("session", BOB).stdout.strip()
        st, _, me = self.req("GET", "/auth/me", token=tok)
        self.assertEqual((st, me["user"]["email"]), (200, BOB))

    def test_backup_while_writing_restores_and_serves(self):
        """tokencat backup while a writer creates tokens: every token
        acknowledged before the backup began is in the copy, which holds
        the signing key and the usage statistics, and a service whose
        database is the copy serves it (sessions and API tokens)."""
        if harness.ON_PG:       # pg_dump's business: tokencat says so
            p = self.inst.cli("backup", os.path.join(self.inst.dir, "b"),
                              check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("pg_dump", p.stderr)
            self.assertFalse(os.path.exists(os.path.join(self.inst.dir, "b")))
            return
        s = self.login(ALICE)
        st, used = self.inst.create_token(s, "used-before")
        self.assertEqual(st, 201, used)
        raw = used["access_token"]
        for _ in range(3):
            self.assertEqual(self.req("GET", "/auth/check", token=raw,
                                      headers={"X-Original-URI": "/x"})[0],
                             200)
        # the uses are written within a second (API.md 7); then back up
        usage = "/tokens/%s/usage?days=1" % used["token"]["id"]
        deadline = time.time() + 5
        while self.req("GET", usage, token=s)[2]["total_requests"] < 3:
            self.assertLess(time.time(), deadline, "uses not written")
            time.sleep(0.05)
        acked, stop, errors = [], threading.Event(), []

        def writer():
            n = 0
            while not stop.is_set():
                n += 1
                st, out = self.inst.create_token(s, "w-%d" % n)
                if st == 201:
                    acked.append((time.time(), out["token"]["id"]))
                else:
                    errors.append((st, out))

        def wait_for(cond):             # the writer's pace depends on load
            deadline = time.time() + 20
            while not cond() and time.time() < deadline and not errors:
                time.sleep(0.02)

        t = threading.Thread(target=writer)
        t.start()
        try:
            wait_for(lambda: len(acked) >= 3)       # the writer is going
            dest = tempfile.mkdtemp(prefix="tcbb-backup-")
            target = os.path.join(dest, "copy")
            began = time.time()
            out = self.inst.cli("backup", target).stdout
            ended = time.time()
            wait_for(lambda: acked and acked[-1][0] > ended + 0.05)
        finally:
            stop.set()
            t.join(30)
        self.assertEqual(errors, [], "writes failed during the backup")
        self.assertIn("backup written to", out)
        before = [i for at, i in acked if at < began]
        after = [i for at, i in acked if at > ended]
        self.assertGreater(len(before), 0, "no write before the backup")
        self.assertGreater(len(after), 0, "no write after the backup")
        self.assertEqual(sorted(os.listdir(target)),
                         ["data.mdb", "signing.key", "usage"])
        for f in ("data.mdb", "signing.key", "usage/data.mdb"):
            mode = os.stat(os.path.join(target, f)).st_mode & 0o777
            self.assertEqual(mode, 0o600, f)
        # the same directory again is refused, the copy untouched
        again = self.inst.cli("backup", target, check=False)
        self.assertEqual(again.returncode, 1, again.stderr)

        # restore: a second instance whose database is the copy
        copy = Instance("restored")
        try:
            shutil.rmtree(copy.db)
            shutil.copytree(target, copy.db)
            os.chmod(copy.db, 0o700)
            copy.start()
            alice = copy.login(ALICE)
            st, _, lst = copy.req("GET", "/tokens?limit=1000", token=alice)
            self.assertEqual(st, 200, lst)
            self.assertLess(lst["total"], 1000, "more than one page")
            ids = {tok["id"] for tok in lst["tokens"]}
            missing = [i for i in before if i not in ids]
            self.assertEqual(missing, [], "acknowledged tokens lost")
            self.assertTrue(all(i not in ids for i in after))
            # the API token signed before the backup still works there
            st, _, chk = copy.req("GET", "/auth/check", token=raw,
                                  headers={"X-Original-URI": "/x"})
            self.assertEqual(st, 200, chk)
            st, _, u = copy.req("GET", usage, token=alice)
            self.assertEqual(st, 200, u)
            self.assertGreaterEqual(u["total_requests"], 3, u)
            self.assertEqual(copy.create_token(alice, "in-restored")[0], 201)
        finally:
            copy.close()
            shutil.rmtree(dest, ignore_errors=True)
        # the original service is unaffected
        self.assertEqual(self.req("GET", "/auth/me", token=s)[0], 200)
        self.assertEqual(self.inst.create_token(s, "after-backup")[0], 201)
