"""
test_migrate.py - `tokencat migrate DEST` through the real CLI and web
server: a catalog filled over HTTP (users, a team with a member and an
invitation, tokens, a revoked one and a team token, uses through
/auth/check, a logout) is moved LMDB -> PostgreSQL -> LMDB (on
TOKENCAT_STORE=pg: PostgreSQL -> LMDB -> PostgreSQL), and an instance
serving each copy answers as the original did: the old passwords log in,
the same tokens authenticate, the revoked token and the logged-out session
stay refused, and lists, totals, usage statistics and the audit trail are
equal. A non-empty DEST is refused (exit 1) and left as it was; no DEST
is a usage error (exit 2).

The PostgreSQL side needs the harness's private cluster (pg_cluster):
without PostgreSQL installed the tests skip, unless CI is "true".
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (ADMIN, ALICE, BOB, MSG_REVOKED, ON_PG, PASSWORDS,  # noqa: E402
                     TOP_SRCDIR, Instance, started, wait_until)

sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "pg"))
import pgcluster  # noqa: E402
import harness  # noqa: E402

CAROL = "carol@example.com"
HAVE_PG = pgcluster.available()
NEED_PG = not HAVE_PG and os.environ.get("CI") != "true"


def check_hdrs(uri):
    return {"X-Original-URI": uri, "X-Original-Method": "GET"}


@unittest.skipIf(NEED_PG, "PostgreSQL 15 is not installed (initdb not found)")
class Migrate(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.keep = []
        cls.dirs = []
        cls.src = started(Instance("migrate-src"))
        cls.keep.append(cls.src)
        try:
            cls.fill()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for inst in cls.keep:
            inst.close()
        for d in cls.dirs:
            shutil.rmtree(d, ignore_errors=True)

    # -- the catalog

    @classmethod
    def fill(cls):
        src = cls.src
        cls.team = src.cli("team", "add", "Platform", "--owner",
                           ALICE).stdout.strip()
        src.cli("team", "member", "add", cls.team, BOB)
        # sessions made once: a session is a JWT of the same key, valid
        # on every copy (a login would add to the audit trail)
        cls.s = {e: src.login(e) for e in (ADMIN, ALICE, BOB)}
        st, _, out = src.req("POST", "/teams/%s/members" % cls.team,
                             {"email": CAROL}, token=cls.s[ALICE])
        assert st == 202, (st, out)
        cls.tok = {}
        for name in ("alice-live", "alice-revoked"):
            st, out = src.create_token(cls.s[ALICE], name, scope={})
            assert st == 201, (st, out)
            cls.tok[name] = (out["token"]["id"], out["access_token"])
        st, _, out = src.req("POST", "/tokens/teams/" + cls.team,
                             {"name": "bob-team", "expires_in_days": 5},
                             token=cls.s[BOB])
        assert st == 201, (st, out)
        cls.tok["bob-team"] = (out["token"]["id"], out["access_token"])
        tid = cls.tok["alice-revoked"][0]
        st, _, out = src.req("DELETE", "/tokens/" + tid,
                             {"reason": "leaked"}, token=cls.s[ALICE])
        assert st in (200, 204), (st, out)
        cls.use(src)
        # a logged-out session: refused on every copy
        cls.gone = src.login(BOB)
        st, _, out = src.req("POST", "/auth/logout", token=cls.gone)
        assert st in (200, 204), (st, out)
        cls.before = cls.state(src)

    @classmethod
    def use(cls, inst):
        """Uses through /auth/check, and wait until they are written."""
        for uri in ("/tools/list", "/tools/list", "/files/a"):
            inst.req("GET", "/auth/check", token=cls.tok["alice-live"][1],
                     headers=check_hdrs(uri))
        inst.req("GET", "/auth/check", token=cls.tok["bob-team"][1],
                 headers=check_hdrs("/team/x"))
        inst.req("GET", "/auth/check", token=cls.tok["alice-revoked"][1],
                 headers=check_hdrs("/tools/list"))
        tid = cls.tok["alice-live"][0]
        wait_until(lambda: cls.get(inst, "/tokens/%s/usage" % tid, ALICE)
                   ["total_requests"] >= 3, what="the uses written")

    @classmethod
    def get(cls, inst, path, who):
        st, _, out = inst.req("GET", path, token=cls.s[who])
        assert st == 200, (path, st, out)
        return out

    @classmethod
    def state(cls, inst):
        """Everything the API shows of the catalog, for a comparison."""
        out = {
            "users": cls.get(inst, "/admin/users", ADMIN),
            "all": cls.get(inst, "/tokens/admin/all?include_inactive=true",
                           ADMIN),
            "audit": cls.get(inst, "/tokens/admin/audit?limit=1000", ADMIN),
            "teams": cls.get(inst, "/teams", ALICE),
            "members": cls.get(inst, "/teams/%s/members" % cls.team, ALICE),
            "invites": cls.get(inst, "/teams/%s/invitations" % cls.team,
                               ALICE),
        }
        for who in (ALICE, BOB):
            out["tokens " + who] = cls.get(
                inst, "/tokens?include_inactive=true", who)
        for name, (tid, _) in cls.tok.items():
            who = BOB if name.startswith("bob") else ALICE
            out["usage " + name] = cls.get(
                inst, "/tokens/%s/usage?days=7" % tid, who)
        return out

    # -- destinations

    def dest(self, kind):
        """A new, empty database of kind "lmdb" or "pg": its DEST."""
        if kind == "pg":
            harness._pgseq[0] += 1
            name = "tc_mig_%d_%d" % (os.getpid(), harness._pgseq[0])
            return harness.pg_cluster().createdb(name)
        d = tempfile.mkdtemp(prefix="tcbb-mig-")
        self.dirs.append(d)
        return os.path.join(d, "moved")

    def serve(self, dest, key):
        """A started instance on dest, with the signing key file key."""
        inst = Instance("migrate-dst", users=False)
        self.keep.append(inst)
        settings = dict(harness.BASE_CONF)
        settings["signing_key_file"] = key
        inst.pg_uri = dest if dest.startswith("postgresql://") else None
        inst.db = dest if inst.pg_uri is None else inst.db
        inst.write_conf(settings)
        return started(inst)

    def migrate(self, inst, kind):
        dest = self.dest(kind)
        p = inst.cli("migrate", dest)
        self.assertIn("migrated to", p.stdout)
        self.assertIn("3 users, 1 teams, 2 members, 1 invitations, "
                      "3 tokens", p.stdout)
        return dest

    def key_of(self, inst, dest):
        """The key file a copy is served with: an LMDB DEST holds its own
        (DEST/signing.key); a PostgreSQL one uses the source's."""
        if not dest.startswith("postgresql://"):
            return os.path.join(dest, "signing.key")
        return self.conf_value(inst, "signing_key_file") or \
            os.path.join(inst.db, "signing.key")

    @staticmethod
    def conf_value(inst, key):
        with open(inst.conf_path) as f:
            for line in f:
                k, _, v = line.partition("=")
                if k.strip() == key:
                    return v.strip()
        return None

    # -- the checks

    def assertServesTheCatalog(self, inst):
        for e in (ADMIN, ALICE, BOB):
            inst.login(e, PASSWORDS[e])     # old passwords, hashes copied
        for name in ("alice-live", "bob-team"):
            tid, tok = self.tok[name]
            st, h, out = inst.req("GET", "/auth/check", token=tok,
                                  headers=check_hdrs("/tools/list"))
            self.assertEqual(st, 200, (name, out))
            self.assertEqual(h.get("X-Tokencat-Token-Id"), tid)
        st, _, out = inst.req("GET", "/auth/check",
                              token=self.tok["alice-revoked"][1],
                              headers=check_hdrs("/tools/list"))
        self.assertEqual(st, 401, out)
        self.assertEqual(out["detail"], MSG_REVOKED)
        st, _, out = inst.req("GET", "/auth/me", token=self.gone)
        self.assertEqual(st, 401, "a logged-out session stays out")
        st, _, out = inst.req("GET", "/auth/me", token=self.s[ALICE])
        self.assertEqual((st, out["user"]["email"]), (200, ALICE))
        self.assertEqual([t["id"] for t in out["teams"]], [self.team])
        tid = self.tok["alice-live"][0]
        self.assertEqual(self.get(inst, "/tokens/" + tid, ALICE)["id"], tid)

    def assertSameState(self, inst):
        after = self.state(inst)
        for k in self.before:
            self.assertEqual(after[k], self.before[k], k)

    def test_round_trip(self):
        first, second = ("lmdb", "pg") if ON_PG else ("pg", "lmdb")
        dest1 = self.migrate(self.src, first)
        mid = self.serve(dest1, self.key_of(self.src, dest1))
        self.assertSameState(mid)
        self.assertServesTheCatalog(mid)
        mid.stop()          # its uses written: the checks above count too
        mid.start()
        dest2 = self.migrate(mid, second)
        last = self.serve(dest2, self.key_of(mid, dest2))
        self.assertEqual(self.state(last), self.state(mid))
        self.assertServesTheCatalog(last)

    def test_into_a_non_empty_dest_is_refused(self):
        for kind in ("lmdb", "pg"):
            dest = self.dest(kind)
            self.src.cli("migrate", dest)
            inst = self.serve(dest, self.key_of(self.src, dest))
            before = self.state(inst)
            inst.stop()
            p = self.src.cli("migrate", dest, check=False)
            self.assertEqual(p.returncode, 1, p.stderr)
            said = [ln for ln in p.stderr.splitlines()
                    if ln.startswith("tokencat: ")]     # not the debug log
            self.assertEqual(len(said), 1, p.stderr)
            self.assertIn("is not empty", said[0])
            inst.start()
            self.assertEqual(self.state(inst), before, kind)

    def test_a_dest_of_another_key_is_refused(self):
        other = os.urandom(32).hex() + "\n"
        # PostgreSQL: initialized (schema and fingerprint) for another key
        dest = self.dest("pg")
        d = tempfile.mkdtemp(prefix="tcbb-mig-")
        self.dirs.append(d)
        conf = os.path.join(d, "other.conf")
        with open(conf, "w") as f:
            f.write("database = %s\nsigning_key_file = %s/other.key\n"
                    % (dest, d))
        p = subprocess.run([harness.TOKENCAT, "-c", conf, "init"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.src.cli("migrate", dest, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("another signing key", p.stderr)
        # LMDB: a key file of another key in DEST
        dest = self.dest("lmdb")
        os.mkdir(dest, 0o700)
        with open(os.path.join(dest, "signing.key"), "w") as f:
            f.write(other)
        os.chmod(os.path.join(dest, "signing.key"), 0o600)
        p = self.src.cli("migrate", dest, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("holds another signing key", p.stderr)
        with open(os.path.join(dest, "signing.key")) as f:
            self.assertEqual(f.read(), other, "the key file is left alone")
        self.assertEqual(os.listdir(dest), ["signing.key"],
                         "nothing is created")

    def test_usage_errors(self):
        p = self.src.cli("migrate", check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("usage: tokencat [-c FILE] migrate DEST", p.stderr)
        p = self.src.cli("migrate", "a", "b", check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        p = self.src.cli("migrate", self.src.pg_uri or self.src.db,
                         check=False)
        self.assertEqual(p.returncode, 1, "the configured database itself")

    def test_bad_dest_is_an_error_not_a_crash(self):
        p = self.src.cli("migrate", "/nonexistent/dir/moved", check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertTrue(p.stderr.startswith("tokencat: "), p.stderr)
        if HAVE_PG:
            p = self.src.cli("migrate", "postgresql:///no_such_db?host=/nonexistent",
                             check=False, timeout=60)
            self.assertEqual(p.returncode, 1, p.stderr)


if __name__ == "__main__":
    unittest.main()
