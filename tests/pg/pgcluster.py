"""
pgcluster.py - a private PostgreSQL 15 for the tests (stdlib only).

A Cluster is initdb'ed into a new temporary directory, listens on a unix
socket in that directory only (listen_addresses = ''), and is stopped and
removed by stop(). CI runs as root and PostgreSQL refuses to run as root,
so then the server runs as the unprivileged user "nobody" (runuser), in a
directory it owns; the catalog superuser is "tokencat" and local
connections are trusted, so any local process of the test (root, www-data)
connects as that role. Nothing listens on TCP.

    c = Cluster().start()
    uri = c.createdb("tc_blackbox_1")   # postgresql:///tc_blackbox_1?host=...
    c.stop_server(); c.start_server()   # fault tests: the same data
    c.stop()

From a shell (bench/run.sh), a cluster that outlives the command:

    python3 pgcluster.py start PREFIX     # prints the cluster's directory
    python3 pgcluster.py createdb DIR NAME   # prints the database's URI
    python3 pgcluster.py psql DIR NAME SQL   # prints psql -At's output
    python3 pgcluster.py stop DIR

Environment: PG_BINDIR (default: pg_config --bindir, else
/usr/lib/postgresql/15/bin).
"""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

SUPERUSER = "tokencat"


def bindir():
    """Where initdb, pg_ctl and postgres are."""
    if os.environ.get("PG_BINDIR"):
        return os.environ["PG_BINDIR"]
    for d in ("/usr/lib/postgresql/15/bin",):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True,
                             text=True, check=True).stdout.strip()
        if os.path.exists(os.path.join(out, "initdb")):
            return out
    except (OSError, subprocess.CalledProcessError):
        pass
    return "/usr/lib/postgresql/15/bin"


def available():
    """True if a PostgreSQL server can be started here."""
    return os.path.exists(os.path.join(bindir(), "initdb")) and \
        os.path.exists(os.path.join(bindir(), "pg_ctl"))


class Cluster:
    """One private PostgreSQL server (see the module doc)."""

    def __init__(self, prefix="tcpg-", at=None):
        """A new cluster directory, or (at=) the running one in at."""
        self.dir = at or tempfile.mkdtemp(prefix=prefix)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.running = at is not None
        self.owner = None
        if os.geteuid() == 0:
            self.owner = pwd.getpwnam("nobody")
            if at is None:
                os.chmod(self.dir, 0o755)
                os.chown(self.dir, self.owner.pw_uid, self.owner.pw_gid)

    def _run(self, argv, check=True, timeout=120):
        """argv as the cluster's owner (nobody when we are root)."""
        if self.owner is not None:
            argv = ["runuser", "-u", self.owner.pw_name, "--"] + argv
        p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("%s exited %d:\n%s%s\n%s" % (
                " ".join(argv), p.returncode, p.stdout, p.stderr,
                self.log_tail()))
        return p

    def start(self):
        """initdb, then start_server(). Returns self."""
        self._run([os.path.join(bindir(), "initdb"), "-D", self.data,
                   "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                   "--locale=C", "--no-instructions"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n# tokencat tests: unix socket only\n"
                    "listen_addresses = ''\n"
                    "unix_socket_directories = '%s'\n"
                    "max_connections = 300\n"
                    "shared_buffers = 32MB\n"
                    "log_min_messages = warning\n" % self.dir)
        self.start_server()
        return self

    def start_server(self, timeout=60):
        """pg_ctl start and wait until it accepts connections."""
        self._run([os.path.join(bindir(), "pg_ctl"), "-D", self.data,
                   "-l", self.log, "-w", "-t", str(timeout), "start"],
                  timeout=timeout + 30)
        self.running = True

    def stop_server(self, mode="fast"):
        """pg_ctl stop (mode fast or immediate); the data stays."""
        if self.running:
            self._run([os.path.join(bindir(), "pg_ctl"), "-D", self.data,
                       "-m", mode, "-w", "-t", "60", "stop"], check=False)
            self.running = False

    def uri(self, dbname):
        """The libpq URI of database dbname on this cluster."""
        return "postgresql://%s@/%s?host=%s" % (SUPERUSER, dbname, self.dir)

    def psql(self, sql, dbname="postgres"):
        """Run sql with psql; returns its stdout (AssertionError on error)."""
        p = subprocess.run([os.path.join(bindir(), "psql"), "-X", "-q",
                            "-v", "ON_ERROR_STOP=1", "-At", "-h", self.dir,
                            "-U", SUPERUSER, "-d", dbname, "-c", sql],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("psql %r: %s" % (sql, p.stderr.strip()))
        return p.stdout

    def createdb(self, dbname):
        """CREATE DATABASE dbname; returns its URI."""
        self.psql('CREATE DATABASE "%s"' % dbname)
        return self.uri(dbname)

    def log_tail(self, n=30):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no server log)"

    def stop(self):
        """Stop the server and remove its directory."""
        self.stop_server("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(cond, timeout=10, step=0.02):
    """Poll cond() until it is true or timeout seconds pass; its last value."""
    deadline = time.time() + timeout
    v = cond()
    while not v and time.time() < deadline:
        time.sleep(step)
        v = cond()
    return v


def main(argv):
    """The command line of the module doc."""
    if len(argv) == 2 and argv[0] == "start":
        print(Cluster(prefix=argv[1]).start().dir)
    elif len(argv) == 3 and argv[0] == "createdb":
        print(Cluster(at=argv[1]).createdb(argv[2]))
    elif len(argv) == 2 and argv[0] == "stop":
        Cluster(at=argv[1]).stop()
    elif len(argv) == 4 and argv[0] == "psql":
        sys.stdout.write(Cluster(at=argv[1]).psql(argv[3], dbname=argv[2]))
    else:
        sys.stderr.write("usage: pgcluster.py start PREFIX | createdb DIR "
                         "NAME | psql DIR NAME SQL | stop DIR\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
