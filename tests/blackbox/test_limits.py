"""
test_limits.py - limits (issue 7): a database that must grow, requests
that are too big, and a database that cannot be written.

- map_size_mb = 1 (the smallest map tokencat.conf(5) allows): 3000 creates
  from 4 workers at once all succeed, the map grows (data.mdb > 1 MiB) and
  everything is still there after a restart.
- 24 creates at once, 8 of them with one name: each answered once (16 + 1
  are 201, 7 are 409), one audit event for each token made, and on LMDB
  every one through the workers' group commit file.
- Oversized input gets a 4xx JSON {"detail"} naming the problem when it
  reaches tokencat: Authorization values, bodies over max_body_bytes (with
  and without Content-Length), long ids and paths, deep JSON, long names.
  Headers over lighttpd's own limit (8 KiB) are refused by lighttpd with
  431 before tokencat sees them; that answer is lighttpd's HTML.
- A full disk: the database on a 1 MiB tmpfs mounted in a private mount
  namespace (unshare -m as root, unshare -rm otherwise; skipped with the
  reason when neither is permitted). Writes get 507 {"detail": "Insufficient
  storage"}, reads and the enforcement point keep working, no worker dies
  (this caught SIGBUS in the usage store, opened with MDB_WRITEMAP).
- A database the worker may not write (read-only files; as root, the
  worker runs as "nobody"): see UnwritableDatabase for the current gap.
"""

import functools
import http.client
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import threading
import unittest

import harness
from harness import (ADMIN, ALICE, FCGI, PASSWORDS, Instance,
                     InstanceTestCase, concurrently, wait_until)

WORKERS = 4


class MapGrowth(InstanceTestCase):
    """map_size_mb = 1 keeps accepting thousands of creates."""

    CONF = {"map_size_mb": "1"}
    WORKERS = WORKERS
    TOTAL = 3000
    THREADS = 6

    def test_3000_creates_with_a_1_mib_map(self):
        s = self.login(ALICE)
        errors = []
        ok = [0] * self.THREADS
        per = self.TOTAL // self.THREADS

        def writer(w):
            for i in range(per):
                try:
                    st, out = self.inst.create_token(
                        s, "grow-%d-%04d" % (w, i),
                        description="d" * 200,
                        scope={"permissions": ["tools.read"],
                               "ip_restrictions": ["10.0.0.0/8"]})
                except (OSError, http.client.HTTPException) as e:
                    errors.append(repr(e))
                    continue
                if st == 201:
                    ok[w] += 1
                else:
                    errors.append((st, out))
        threads = [threading.Thread(target=writer, args=(w,))
                   for w in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        self.assertEqual(errors[:5], [])
        self.assertEqual(sum(ok), per * self.THREADS)
        if not harness.ON_PG:   # the map is LMDB's
            size = os.path.getsize(os.path.join(self.inst.db, "data.mdb"))
            self.assertGreater(size, 1 << 20,
                               "data.mdb did not grow past 1 MiB")
        st, _, page = self.req("GET", "/tokens?limit=1", token=s)
        self.assertEqual((st, page["total"]), (200, per * self.THREADS))
        if not harness.ON_PG:
            self.assertIn("growing the map", open(self.inst.worklog).read())
        # the grown map is adopted when the workers open it again
        self.inst.restart()
        st, _, page = self.req("GET", "/tokens?limit=1000&offset=2000",
                               token=s)
        self.assertEqual((st, page["total"]), (200, per * self.THREADS))
        self.assertEqual(len(page["tokens"]), per * self.THREADS - 2000)
        st, out = self.inst.create_token(s, "after-restart")
        self.assertEqual(st, 201, out)


class ConcurrentCreates(InstanceTestCase):
    """Creates at once from 4 workers: on LMDB they share durable commits
    through <database>/commitq (tokencat.fcgi(8), Storage); each is
    answered once, after the commit that holds it, and a taken name fails
    that create alone."""

    WORKERS = WORKERS

    def group_writes(self):
        """The writes that went through the group commit file (its header:
        magic, two uint32, the boot id, then commits, writes, queued)."""
        with open(os.path.join(self.inst.db, "commitq"), "rb") as f:
            return struct.unpack("<8xII40xQQQ", f.read(80))[3]

    def test_creates_at_once_each_answered_once(self):
        s = self.login(ALICE)
        admin = self.login(ADMIN)
        before = None if harness.ON_PG else self.group_writes()
        names = ["at-once-%d" % k for k in range(16)] + ["same-name"] * 8
        got = concurrently([functools.partial(self.inst.create_token, s, n)
                            for n in names])
        self.assertEqual([g[0] for g in got[:16]], [201] * 16, got[:16])
        self.assertEqual(sorted(g[0] for g in got[16:]), [201] + [409] * 7,
                         got[16:])
        ids = [g[1]["token"]["id"] for g in got if g[0] == 201]
        st, _, page = self.req("GET", "/tokens?limit=100", token=s)
        self.assertEqual(st, 200, page)
        self.assertEqual(sorted(t["id"] for t in page["tokens"]), sorted(ids))
        st, _, out = self.req("GET", "/tokens/admin/audit?limit=100&user_email="
                              + ALICE, token=admin)
        created = [e["token_id"] for e in out["events"]
                   if e["action"] == "token.create"]
        self.assertEqual(sorted(created), sorted(ids),
                         "one event for each token made, none for a 409")
        if not harness.ON_PG:
            self.assertEqual(self.group_writes() - before, len(names),
                             "every create went through the group commit")


class Oversized(InstanceTestCase):
    """Too long or too big: 4xx with a JSON detail naming the problem."""

    # BASE_CONF: max_body_bytes = 4096

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.inst.login(ALICE)
        cls.pids = sorted(cls.inst.worker_pids())

    def tearDown(self):
        self.assertEqual(sorted(self.inst.worker_pids()), self.pids,
                         "a worker died")

    def test_long_authorization_values(self):
        # up to lighttpd's 8 KiB header limit the value reaches tokencat
        for n in (1, 100, 4000, 8000):
            self.assert401(self.req("GET", "/auth/me", headers={
                "Authorization": "Bearer " + "A" * n}))
            self.assert401(self.req("GET", "/auth/me", headers={
                "Authorization": "Bearer " + ".".join(["QUFB" * (n // 12)] * 3)}))

    def test_headers_over_the_web_server_limit_are_refused_by_it(self):
        for hdrs in ({"Authorization": "Bearer " + "A" * 9000},
                     {"X-Forwarded-For": "1.2.3.4, " * 2000},
                     {"X-Junk-%d" % i: "v" * 100 for i in range(100)}):
            st, _, _ = self.req("GET", "/auth/me", headers=hdrs)
            self.assertEqual(st, 431)       # lighttpd's answer, not ours
        self.assertEqual(self.req("GET", "/health")[0], 200)

    def test_bodies_over_max_body_bytes_413(self):
        big = {"name": "n", "expires_in_days": 1, "description": "x" * 5000}
        for path, tok in (("/tokens", self.s), ("/auth/login", None),
                          ("/teams", self.s), ("/auth/revoke", None)):
            self.assertDetail(self.req("POST", path, big, token=tok), 413,
                              "Request body too large")
        # the limit counts bytes, not characters
        at = {"name": "n", "expires_in_days": 1}
        pad = 4096 - len(json.dumps(at)) - len(', "description": ""')
        at["description"] = "é" * (pad // 2 + 1)
        resp = self.req("POST", "/tokens", at, token=self.s)
        self.assertDetail(resp, 413, "Request body too large")

    def test_chunked_body_over_limit_413(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.inst.port,
                                          timeout=15)
        try:
            conn.putrequest("POST", "/api/tokens")
            conn.putheader("Authorization", "Bearer " + self.s)
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            chunk = b'{"name": "c", "description": "' + b"y" * 6000 + b'"}'
            for i in range(0, len(chunk), 1000):
                part = chunk[i:i + 1000]
                conn.send(b"%x\r\n%s\r\n" % (len(part), part))
            conn.send(b"0\r\n\r\n")
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        self.assertEqual(resp.status, 413, body[:200])
        self.assertEqual(json.loads(body), {"detail": "Request body too large"})

    def test_long_ids_and_paths(self):
        for tid in ("a" * 37, "a" * 300, "%41" * 100, "%C3%A9" * 200):
            for method in ("GET", "PUT", "DELETE"):
                body = {"name": "n"} if method == "PUT" else None
                st, _, out = self.req(method, "/tokens/" + tid, body,
                                      token=self.s)
                self.assertEqual(st, 404, (method, tid[:20], out))
                self.assertIn(out["detail"], ("Token not found", "Not found"))
        self.assertDetail(self.req("GET", "/tokens/" + "a" * 2100,
                                   token=self.s), 414, "URI too long")
        self.assertDetail(self.req("GET", "/tokens/x" + "/y" * 1100,
                                   token=self.s), 414, "URI too long")
        self.assertDetail(self.req("GET", "/teams/" + "f" * 300,
                                   token=self.s), 404)
        self.assertDetail(self.req(
            "DELETE", "/teams/%s/members/%s" % ("0" * 32, "m" * 300 + "@x.y"),
            token=self.s), 404)
        self.assertDetail(self.req(
            "PATCH", "/admin/users/" + "u" * 250 + "%40example.com",
            {"full_name": "x"}, token=self.inst.login("admin@example.com")),
            404)

    def test_deep_json_400_names_nesting(self):
        for depth in (17, 50, 1000):
            raw = '{"name":"n","expires_in_days":1,"tags":%s%s}' % (
                "[" * depth, "]" * depth)
            self.assertDetail(self.req(
                "POST", "/tokens", raw=raw, token=self.s,
                headers={"Content-Type": "application/json"}), 400,
                "Invalid JSON: nesting too deep")
        raw = '{"name":"n","expires_in_days":1,"scope":' + \
            '{"a":' * 20 + "1" + "}" * 20 + "}"
        self.assertDetail(self.req(
            "POST", "/tokens", raw=raw, token=self.s,
            headers={"Content-Type": "application/json"}), 400,
            "Invalid JSON: nesting too deep")

    def test_long_names_and_fields_422_name_the_field(self):
        s = self.s
        st, out = self.inst.create_token(s, "n" * 255)
        self.assertEqual(st, 201, out)
        st, out = self.inst.create_token(s, "😀" * 255)     # 1020 bytes
        self.assertEqual(st, 201, out)
        self.assertEqual(out["token"]["name"], "😀" * 255)
        cases = [
            ({"name": "n" * 256}, "name: must be 1 to 255 characters"),
            ({"name": "😀" * 256}, "name: must be 1 to 255 characters"),
            ({"name": ""}, "name: must be 1 to 255 characters"),
            ({"name": "d", "description": "x" * 1001}, "description:"),
            ({"name": "t", "tags": ["t"] * 51}, "tags:"),
            ({"name": "t", "tags": ["x" * 256]}, "tags:"),
            ({"name": "p", "scope": {"permissions": ["tools.read"] * 101}},
             "scope.permissions:"),
            ({"name": "i", "scope": {"ip_restrictions": ["10.0.0.1"] * 101}},
             "scope.ip_restrictions:"),
            ({"name": "s", "scope": {"server_id": "s" * 256}},
             "scope.server_id:"),
            ({"name": "e", "expires_in_days": 10 ** 30}, "expires_in_days:"),
            ({"name": "u", "user_email": "u" * 250 + "@example.com"},
             "user_email:"),
        ]
        for body, prefix in cases:
            body.setdefault("expires_in_days", 1)
            self.assertDetail(self.req("POST", "/tokens", body, token=s), 422,
                              prefix=prefix)
        big_perm = "a" * 200 + "." + "b" * 100
        self.assertDetail(self.req("POST", "/tokens", {
            "name": "bp", "expires_in_days": 1,
            "scope": {"permissions": [big_perm]}}, token=s), 422,
            prefix="scope.permissions[0]: invalid permission")
        # the quoted excerpt is cut: no detail echoes 300 bytes of input
        self.assertLess(len(self.inst.last_body), 400)

    def test_long_query_values(self):
        for q in ("limit=" + "1" * 5000, "offset=" + "9" * 3000,
                  "include_inactive=" + "true" * 1000,
                  "&".join("limit=%d" % i for i in range(400))):
            st, _, out = self.req("GET", "/tokens?" + q, token=self.s)
            self.assertIn(st, (200, 422), (q[:30], out))
        self.assertDetail(self.req("GET", "/tokens?limit=" + "1" * 5000,
                                   token=self.s), 422, prefix="limit:")


# ---------------------------------------------------------------- full disk

def _namespace_prefix():
    """The unshare(1) argv that gives a private mount namespace in which
    tmpfs may be mounted, or (None, reason)."""
    unshare = shutil.which("unshare")
    mount = shutil.which("mount")
    if unshare is None or mount is None:
        return None, "unshare(1)/mount(8) not found (util-linux)"
    probe = tempfile.mkdtemp(prefix="tcbb-ns-")
    try:
        tries = ([unshare, "-m"], [unshare, "-rm"]) if os.geteuid() == 0 \
            else ([unshare, "-rm"],)
        why = ""
        for argv in tries:
            p = subprocess.run(argv + ["sh", "-c", "mount -t tmpfs -o size=64k "
                                       "tcprobe '%s'" % probe],
                               capture_output=True, text=True, timeout=20)
            if p.returncode == 0:
                return argv, None
            why = p.stderr.strip()
        return None, ("mounting a tmpfs in a private mount namespace is not "
                      "permitted here (%s)" % why)
    finally:
        os.rmdir(probe)


class TmpfsInstance(Instance):
    """An Instance whose lighttpd (and so its workers) runs in a private
    mount namespace where the database directory is a tmpfs of SIZE, seeded
    with what `tokencat init` and the users put there. Outside the
    namespace the test still sees the original directory."""

    SIZE = "1m"
    NS = None

    def start(self, timeout=15):
        seed = os.path.join(self.dir, "seed")
        os.makedirs(seed, exist_ok=True)
        wrapper = os.path.join(self.dir, "lighttpd-on-tmpfs.sh")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nset -e\n"
                    "cp -a '%(db)s/.' '%(seed)s/'\n"
                    "mount -t tmpfs -o size=%(size)s,mode=0700 tcfull '%(db)s'\n"
                    "cp -a '%(seed)s/.' '%(db)s/'\n"
                    "exec %(ns)s '%(lighttpd)s' \"$@\"\n"
                    % {"db": self.db, "seed": seed, "size": self.SIZE,
                       "ns": "", "lighttpd": harness.LIGHTTPD})
        os.chmod(wrapper, 0o755)
        outer = os.path.join(self.dir, "lighttpd-in-namespace.sh")
        with open(outer, "w") as f:
            f.write("#!/bin/sh\nexec %s '%s' \"$@\"\n"
                    % (" ".join(self.NS), wrapper))
        os.chmod(outer, 0o755)
        saved = harness.LIGHTTPD
        harness.LIGHTTPD = outer
        try:
            super().start(timeout)
        finally:
            harness.LIGHTTPD = saved


@harness.skip_on_pg("a full tmpfs under the LMDB directory; PostgreSQL's "
                    "disk is the server's, whose errors are 503")
class DiskFull(unittest.TestCase):
    """Writes on a full disk: 507 with a JSON detail; reads keep working."""

    @classmethod
    def setUpClass(cls):
        ns, why = _namespace_prefix()
        if ns is None:
            raise unittest.SkipTest(why)
        TmpfsInstance.NS = ns
        cls.inst = harness.started(TmpfsInstance(cls.__name__))

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def wait_flushed(self, inst, session, tid, uses):
        """Wait until the idle workers have written or lost the pending
        uses (they flush after USE_FLUSH_MS idle): the uses the token's
        statistics count plus those the workers' log says were lost
        ("store: N recorded use(s) lost") reach uses."""
        lost_re = re.compile(r"store: (\d+) recorded use\(s\) lost")

        def accounted():
            with open(inst.worklog, errors="replace") as f:
                lost = sum(int(m.group(1)) for m in lost_re.finditer(f.read()))
            st, _, out = inst.req("GET", "/tokens/%s/usage?days=1" % tid,
                                  token=session)
            return lost + (out["total_requests"] if st == 200 else 0)
        wait_until(lambda: accounted() >= uses, 20,
                   "%d uses written or reported lost" % uses)

    def test_full_disk_507_reads_keep_working(self):
        inst = self.inst
        s = inst.login(ALICE)
        st, out = inst.create_token(s, "before-full")
        self.assertEqual(st, 201, out)
        api, tid = out["access_token"], out["token"]["id"]
        pids = sorted(inst.worker_pids())
        full = None
        for i in range(5000):
            st, out = inst.create_token(s, "fill-%05d" % i,
                                        description="f" * 900)
            if st != 201:
                full = (i, st, out)
                break
        self.assertIsNotNone(full, "a 1 MiB tmpfs never filled up?")
        i, st, out = full
        self.assertGreater(i, 10)
        # 507, also when LMDB saw the disk fill up in the middle of a write
        # (EIO in LMDB 0.9: store.c's write_err looks at the free space)
        self.assertEqual((st, out), (507, {"detail": "Insufficient storage"}))
        stored = i + 1          # "before-full" and fill-00000 .. fill-<i-1>
        # more writes: a clear answer. LMDB may still fit one in a page
        # freed by an earlier transaction (201)
        for j in range(10):
            st, out = inst.create_token(s, "more-%d" % j, description="m" * 900)
            self.assertIn((st, out), [
                (201, out), (507, {"detail": "Insufficient storage"})])
            stored += st == 201
        st, _, out = inst.req("POST", "/teams", {"name": "t" * 200 + "x"},
                              token=s)
        self.assertIn(st, (201, 507), out)
        # reads keep working
        st, _, page = inst.req("GET", "/tokens?limit=5", token=s)
        self.assertEqual(st, 200, page)
        self.assertEqual(page["total"], stored)
        self.assertEqual(inst.req("GET", "/tokens/" + tid, token=s)[0], 200)
        self.assertEqual(inst.req("GET", "/auth/me", token=s)[0], 200)
        self.assertEqual(inst.req("GET", "/auth/me", token=api)[0], 200)
        self.assertEqual(inst.req("GET", "/health")[0], 200)
        # the enforcement point records uses in the usage store, on the
        # same full disk: decisions go on and no worker dies (SIGBUS)
        for j in range(20):
            st, _, out = inst.req("GET", "/auth/check", token=api, headers={
                "X-Original-URI": "/x", "X-Original-Method": "GET"})
            self.assertEqual(st, 200, out)
        self.wait_flushed(inst, s, tid, 20)
        for j in range(5):
            self.assertEqual(inst.req("GET", "/auth/check", token=api, headers={
                "X-Original-URI": "/y", "X-Original-Method": "POST"})[0], 200)
        self.wait_flushed(inst, s, tid, 25)
        st, _, out = inst.req("POST", "/auth/login", {
            "email": ALICE, "password": PASSWORDS[ALICE]})
        self.assertIn(st, (200, 503, 507), out)
        self.assertEqual(sorted(inst.worker_pids()), pids,
                         "a worker died on the full disk:\n" + inst.log_tail())
        with open(inst.errlog) as f:
            self.assertNotIn("child signalled", f.read())


# ---------------------------------------------------------------- read-only

@harness.skip_on_pg("a read-only LMDB directory; on PostgreSQL write "
                    "permission is a grant of the server")
class UnwritableDatabase(unittest.TestCase):
    """A database the worker can read but not write (files read-only; as
    root, where modes do not stop writes, the worker runs as "nobody"):
    reads answer 200, every write a clear 503, nothing crashes. The worker
    is run as plain CGI, so each request opens the database afresh."""

    def setUp(self):
        # as root the worker runs as nobody: the instance holds its own
        # copy of tokencat.fcgi where nobody can reach it (the tree may
        # be in a 0700 directory)
        self.inst = Instance(self.__class__.__name__,
                             shared=os.geteuid() == 0)
        self.addCleanup(self.inst.close)
        # tokens made while the database is writable
        self.inst.start()
        sess = self.inst.login(ALICE)
        self.free = self.inst.create_token(sess, "ro-free")[1]["access_token"]
        self.limited = self.inst.create_token(
            sess, "ro-limited",
            scope={"usage_limits": {"requests_per_hour": 100}})[1]["access_token"]
        self.inst.stop()
        self.runas = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                self.skipTest("runuser(1) not found to drop root")
            self.runas = [runuser, "-u", "nobody", "--"]
            os.chmod(self.inst.dir, 0o755)
            os.chmod(self.inst.conf_path, 0o644)
        for d, _, files in os.walk(self.inst.db):
            os.chmod(d, 0o555 if not self.runas else 0o755)
            for f in files:
                p = os.path.join(d, f)
                os.chmod(p, 0o444 if not self.runas else 0o644)
        if self.runas:          # nobody needs the key, and only it
            key = os.path.join(self.inst.db, "signing.key")
            shutil.copy(key, key + ".nobody")
            import pwd
            nobody = pwd.getpwnam("nobody")
            os.chown(key + ".nobody", nobody.pw_uid, nobody.pw_gid)
            os.chmod(key + ".nobody", 0o600)
            with open(self.inst.conf_path, "a") as f:
                f.write("signing_key_file = %s.nobody\n" % key)
        self.addCleanup(self._restore)

    def _restore(self):
        for d, _, files in os.walk(self.inst.db):
            os.chmod(d, 0o700)

    def cgi(self, method, path, body=b"", token=None, extra=None):
        """One plain-CGI request to tokencat.fcgi: (status, json, stderr)."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "TOKENCAT_CONFIG": self.inst.conf_path,
               "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": method,
               "PATH_INFO": path, "REMOTE_ADDR": "127.0.0.1",
               "CONTENT_LENGTH": str(len(body))}
        if body:
            env["CONTENT_TYPE"] = "application/json"
        if token:
            env["HTTP_AUTHORIZATION"] = "Bearer " + token
        env.update(extra or {})
        p = subprocess.run(self.runas + ["env", "-i"] +
                           ["%s=%s" % kv for kv in env.items()] +
                           [self.inst.fcgi or FCGI],
                           input=body, capture_output=True, timeout=30)
        head, _, rest = p.stdout.partition(b"\r\n\r\n")
        status = None
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"status:"):
                status = int(line.split()[1])
        try:
            parsed = json.loads(rest) if rest else None
        except ValueError:
            parsed = None
        return status, parsed, p.stderr.decode(errors="replace")

    def test_reads_work_and_writes_are_503(self):
        st, out, err = self.cgi("GET", "/health")
        self.assertEqual((st, out), (200, {"status": "ok"}), err)
        self.assertIn("not writable: serving reads only", err)
        st, out, err = self.cgi("POST", "/auth/login", json.dumps(
            {"email": ALICE, "password": PASSWORDS[ALICE]}).encode())
        self.assertEqual(st, 200, err)
        sess = out["access_token"]
        st, out, err = self.cgi("GET", "/tokens", token=sess)
        self.assertEqual(st, 200, err)
        self.assertEqual(sorted(t["name"] for t in out["tokens"]),
                         ["ro-free", "ro-limited"])
        # a write: 503 with the usual sentence, nothing stored
        st, out, err = self.cgi("POST", "/tokens", json.dumps(
            {"name": "ro-new", "expires_in_days": 1}).encode(), token=sess)
        self.assertEqual((st, out), (503, {"detail":
                         "Service temporarily unavailable"}), err)
        self.assertEqual(self.cgi("GET", "/tokens", token=sess)[1]["total"], 2)
        # the enforcement point: a token without limits is decided; one
        # with limits cannot be counted, so it is refused (fails closed)
        hdrs = {"HTTP_X_ORIGINAL_URI": "/tools/x"}
        st, out, err = self.cgi("GET", "/auth/check", token=self.free,
                                extra=hdrs)
        self.assertEqual(st, 200, err)
        st, out, err = self.cgi("GET", "/auth/check", token=self.limited,
                                extra=hdrs)
        self.assertEqual(st, 503, err)
        for e in (err,):
            self.assertNotIn("Segmentation", e)
            self.assertNotIn("AddressSanitizer", e)

    def test_reads_work_without_this_boots_token_indexes(self):
        """The token indexes are a cache of the tokens, kept a boot
        (store_index.c). Without this boot's (after a reboot), a read-only
        worker makes a private copy from the tokens, in TMPDIR, whose
        files it removes as soon as they are open."""
        idx = os.path.join(self.inst.db, "index")
        for d, _, _ in os.walk(idx):
            os.chmod(d, 0o755)
        os.chmod(self.inst.db, 0o755)
        shutil.rmtree(idx)
        os.chmod(self.inst.db, 0o555 if not self.runas else 0o755)
        tmp = os.path.join(self.inst.dir, "tmp")   # nobody reaches it
        os.mkdir(tmp)
        os.chmod(tmp, 0o777)
        extra = {"TMPDIR": tmp}
        st, out, err = self.cgi("POST", "/auth/login", json.dumps(
            {"email": ALICE, "password": PASSWORDS[ALICE]}).encode(),
            extra=extra)
        self.assertEqual(st, 200, err)
        self.assertIn("made a private copy in %s/tokencat-index-" % tmp, err)
        sess = out["access_token"]
        st, out, err = self.cgi("GET", "/tokens", token=sess, extra=extra)
        self.assertEqual(st, 200, err)
        self.assertEqual(sorted(t["name"] for t in out["tokens"]),
                         ["ro-free", "ro-limited"])
        self.assertEqual(out["total"], 2)
        hdrs = dict(extra, HTTP_X_ORIGINAL_URI="/tools/x")
        st, out, err = self.cgi("GET", "/auth/check", token=self.free,
                                extra=hdrs)
        self.assertEqual(st, 200, err)
        self.assertEqual(os.listdir(tmp), [], "each copy is removed")


if __name__ == "__main__":
    unittest.main()
