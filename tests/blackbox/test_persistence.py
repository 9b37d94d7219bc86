"""
test_persistence.py - everything survives a restart of lighttpd and its
workers (same database, same signing key); the command line and the
running service share the database; backup gives a usable copy.
"""

import os
import shutil
import tempfile

from harness import (ADMIN, ALICE, BOB, InstanceTestCase,
                     jwt_claims)

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
        self.assert401(self.req("GET", "/auth/me", token=gone))
        # API tokens: live works, revoked and paused refused
        self.assertEqual(self.req("GET", "/auth/me",
                                  token=made["keep"]["access_token"])[0], 200)
        self.assertEqual(self.req("GET", "/auth/me",
                                  token=made["bobs"]["access_token"])[0], 200)
        self.assert401(self.req("GET", "/auth/me",
                                token=made["revoked"]["access_token"]))
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

    def test_backup_is_a_usable_copy(self):
        s = self.login(ALICE)
        st, out = self.inst.create_token(s, "in-backup")
        self.assertEqual(st, 201, out)
        dest = tempfile.mkdtemp(prefix="tcbb-backup-")
        try:
            target = os.path.join(dest, "copy")
            os.mkdir(target)
            self.inst.cli("backup", target)
            self.assertTrue(os.listdir(target), "backup wrote nothing")
            # the copy opens on its own: a second config pointing at it
            key = os.path.join(dest, "signing.key")
            shutil.copyfile(os.path.join(self.inst.db, "signing.key"), key)
            os.chmod(key, 0o600)
            conf = os.path.join(dest, "copy.conf")
            with open(conf, "w") as f:
                f.write("database = %s\nsigning_key_file = %s\n"
                        % (target, key))
            listing = self.inst.cli("-c", conf, "user", "list",
                                    conf=False).stdout
            for email in (ADMIN, ALICE, BOB):
                self.assertIn(email, listing)
            tok = self.inst.cli("-c", conf, "session", ALICE,
                                conf=False).stdout.strip()
            self.assertEqual(jwt_claims(tok)["sub"], jwt_claims(s)["sub"])
        finally:
            shutil.rmtree(dest, ignore_errors=True)
        # the service is unaffected
        self.assertEqual(self.req("GET", "/auth/me", token=s)[0], 200)
        self.assertEqual(self.inst.create_token(s, "after-backup")[0], 201)
