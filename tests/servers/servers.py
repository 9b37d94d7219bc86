"""
servers.py - shared pieces of the web-server tests (stdlib only): run the
deployment samples of etc/ with the real servers of Debian's packages
(lighttpd, Apache 2.4, nginx, spawn-fcgi) on loopback ports, in front of
a private tokencat instance made by tests/blackbox/harness.py.

The samples are tested as they are. They name the paths of a Debian
install; render() copies a sample into the instance's temporary directory
replacing those paths (and the port) by exact text, and fails when a text
it is told to replace is not in the sample, so a sample that drifts from
its test breaks the test instead of being silently left untested. The
replacements (each test module lists its own; the first three are made
wherever they occur, see ServerInstance.paths):

  /usr/local/sbin/tokencat.fcgi     -> <tmp>/bin/tokencat.fcgi (a copy of
                                       $top_builddir/src/tokencat.fcgi)
  /etc/tokencat/tokencat.conf       -> <tmp>/tokencat.conf
  /usr/local/share/tokencat/www     -> <tmp>/www (a copy of $top_srcdir/www)
  /var/www (/var/www/protected/)    -> <tmp> (holds protected/hello.txt)
  /run/tokencat, /run/lighttpd      -> <tmp>/run
  /var/log/lighttpd, /var/log/nginx -> <tmp>/logs (Apache: APACHE_LOG_DIR)
  /etc/tokencat/htpasswd            -> <tmp>/htpasswd
  /home (userdir samples)           -> <tmp>/home
  port 80, 127.0.0.1:9010           -> free loopback ports
  127.0.0.1:8081 (nginx /servers/)  -> an application that echoes the path
                                       it gets (test_nginx.py)

plus, per server, its listening line ("listen 80;" -> "listen
127.0.0.1:PORT;", "server.port = 80" -> a server.bind and the port,
"<VirtualHost *:80>" -> "<VirtualHost *:PORT>"). Settings the spawn-fcgi
script reads from the environment (TOKENCAT_USER and friends) are set
there; the systemd units are read, not rendered (test_systemd.py).

Run as root (CI), the servers switch to www-data as the samples say, so
the instance directory and its database are given to www-data. Run as
another user, the servers cannot switch and run as that user. Either way
nothing they run or read is in the source or build tree, which may sit
in a directory www-data cannot enter (a clone in a 0700 mktemp
directory): <tmp> is a fresh directory every user can reach, with its own
copies of the worker and the page (harness.Instance(shared=True)).

Environment: what tests/blackbox/harness.py reads, plus
  APACHE2, NGINX, SPAWN_FCGI, HTPASSWD, SYSTEMD_ANALYZE  the programs
                 (default: found in PATH, /usr/sbin or /usr/bin)
  APACHE_MODULES where Apache's modules are (/usr/lib/apache2/modules)
  CI             "true": a missing program fails its tests instead of
                 skipping them
"""

import base64
import http.client
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))

import harness                                  # noqa: E402
from harness import (ADMIN, ALICE, BOB, FCGI, LOGDIR, TOP_BUILDDIR,  # noqa: E402,F401
                     TOP_SRCDIR, check_stalled,
                     Instance, _pdeathsig, free_port, pids_with_env, started)

ETC = os.path.join(TOP_SRCDIR, "etc")
CI = os.environ.get("CI") == "true"
IS_ROOT = os.geteuid() == 0
WWW_USER = "www-data"
PROTECTED_BODY = b"hello from behind the authorizer\n"


def find_program(env, name):
    """The program named by $env, else name in PATH, /usr/sbin or
    /usr/bin; None when there is none."""
    if os.environ.get(env):
        return os.environ[env]
    path = os.environ.get("PATH", "") + ":/usr/sbin:/usr/bin:/sbin"
    return shutil.which(name, path=path)


APACHE2 = find_program("APACHE2", "apache2")
NGINX = find_program("NGINX", "nginx")
LIGHTTPD = harness.LIGHTTPD if os.path.exists(harness.LIGHTTPD) else None
SPAWN_FCGI = find_program("SPAWN_FCGI", "spawn-fcgi")
HTPASSWD = find_program("HTPASSWD", "htpasswd")
SYSTEMD_ANALYZE = find_program("SYSTEMD_ANALYZE", "systemd-analyze")
APACHE_MODULES = os.environ.get("APACHE_MODULES") or \
    "/usr/lib/apache2/modules"


def require(**programs):
    """Skip the test class (raise unittest.SkipTest) when one of the named
    programs (name=path or None) is missing; with CI=true fail instead
    (AssertionError), as CI installs them all."""
    missing = [n for n, p in programs.items()
               if not p or not os.access(p, os.X_OK)]
    if not missing:
        return
    why = "not installed: %s" % ", ".join(missing)
    if CI:
        raise AssertionError(why + " (CI=true: every server must be there)")
    raise unittest.SkipTest(why)


def sample(rel):
    """The text of etc/<rel>."""
    with open(os.path.join(ETC, rel)) as f:
        return f.read()


def render(rel, dest, replacements, optional=()):
    """Write etc/<rel> to dest with the (old, new) pairs of replacements
    and optional applied by exact text in one pass (a longer old text wins
    where two start at the same place; replaced text is not looked at
    again). Raises AssertionError when an old text of replacements (not of
    optional) is not in the sample. Returns dest."""
    text = sample(rel)
    table = dict(optional)
    table.update(replacements)
    for old, _ in replacements:
        if old not in text:
            raise AssertionError("etc/%s no longer contains %r: update the "
                                 "sample or its test" % (rel, old))
    pattern = "|".join(re.escape(o) for o in
                       sorted(table, key=len, reverse=True))
    text = re.sub(pattern, lambda m: table[m.group(0)], text)
    with open(dest, "w") as f:
        f.write(text)
    return dest


def www_ids():
    """(uid, gid) of www-data."""
    pw = pwd.getpwnam(WWW_USER)
    return pw.pw_uid, pw.pw_gid


def give_to_www(path):
    """chown -R www-data: path, when running as root (the servers' children
    and the workers they start run as www-data)."""
    if not IS_ROOT:
        return
    uid, gid = www_ids()
    for root, dirs, files in os.walk(path):
        os.lchown(root, uid, gid)
        for n in dirs + files:
            os.lchown(os.path.join(root, n), uid, gid)


def wait_for(pred, timeout, what):
    """Poll pred() until it is true; AssertionError after timeout s."""
    return harness.wait_until(pred, timeout, what, interval=0.05)


def tcp_open(port):
    """True when something accepts on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def basic(user, password):
    """An Authorization header value for HTTP Basic."""
    return "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()


def raw_get(port, path, headers, timeout=15):
    """GET path with exactly the given headers (Host included) on a new
    connection. Returns (status, headers, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest("GET", path, skip_host=True,
                        skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


class ServerInstance(Instance):
    """A tokencat instance (harness.Instance: temporary directory, config,
    database, users) served by another web server than the harness's
    lighttpd. Subclasses write their server's configuration from the
    samples (write_server_conf), name its command (server_argv) and may
    start worker pools (spawn_pool) before it.

    Layout of the temporary directory: tokencat.conf, db/, run/ (sockets,
    pid files), logs/ (every log), protected/hello.txt (the guarded file),
    conf/ (the rendered samples)."""

    SERVER = "server"
    API = "/api"            # where the API is (the default prefix of req)

    def __init__(self, name, conf=None):
        super().__init__(name, conf=conf, shared=True)
        self.run = os.path.join(self.dir, "run")
        self.logs = os.path.join(self.dir, "logs")
        self.confdir = os.path.join(self.dir, "conf")
        for d in (self.run, self.logs, self.confdir,
                  os.path.join(self.dir, "protected")):
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(self.dir, "protected", "hello.txt"),
                  "wb") as f:
            f.write(PROTECTED_BODY)
        self.errlog = os.path.join(self.logs, self.SERVER + "-error.log")
        self.pools = []         # pid files of spawn-fcgi pools
        self.extra = []         # other processes started (Popen)
        give_to_www(self.dir)

    def req(self, method, path, *args, prefix=None, **kw):
        """harness.Instance.req with the prefix defaulting to self.API."""
        return super().req(method, path, *args, prefix=self.API
                           if prefix is None else prefix, **kw)

    # -- what every sample shares

    def paths(self):
        """The Debian paths of the samples -> this instance (module doc),
        replaced wherever a sample has them."""
        return [
            ("/usr/local/sbin/tokencat.fcgi", self.fcgi),
            ("/etc/tokencat/tokencat.conf", self.conf_path),
            ("/usr/local/share/tokencat/www", self.www),
        ]

    def render(self, rel, replacements, name=None):
        """Render etc/<rel> into conf/ with replacements and paths() (see
        render()); returns its path."""
        dest = os.path.join(self.confdir, name or os.path.basename(rel))
        render(rel, dest, replacements, self.paths())
        give_to_www(dest)
        return dest

    # -- worker pools

    def spawn_pool(self, listen, workers=2, user=WWW_USER):
        """Start a pool of workers with etc/spawn-fcgi/tokencat-spawn.sh
        (the sample itself, with only the worker's path replaced), listening
        on listen (a UNIX socket path or 127.0.0.1:PORT). Waits until it
        accepts. The pids go to a pid file in run/, kept in self.pools;
        the workers' log lines to logs/workers.log."""
        script = self.render("spawn-fcgi/tokencat-spawn.sh",
                             [("/usr/local/sbin/tokencat.fcgi", self.fcgi)],
                             name="tokencat-spawn-%d.sh" % len(self.pools))
        pidfile = os.path.join(self.run, "pool-%d.pid" % len(self.pools))
        env = dict(os.environ, TOKENCAT_CONFIG=self.conf_path,
                   TOKENCAT_LISTEN=listen, TOKENCAT_WORKERS=str(workers),
                   TOKENCAT_PIDFILE=pidfile, SPAWN_FCGI=SPAWN_FCGI,
                   TOKENCAT_LOG=os.path.join(self.logs, "workers.log"),
                   TOKENCAT_USER=user if IS_ROOT else "",
                   TOKENCAT_SOCKET_OWNER=WWW_USER if IS_ROOT else "")
        with open(os.path.join(self.logs, "spawn-fcgi.log"), "ab") as out:
            p = subprocess.run(["sh", script], env=env, stdin=subprocess.DEVNULL,
                               stdout=out, stderr=subprocess.STDOUT,
                               timeout=30)
        self.pools.append(pidfile)
        if p.returncode != 0:
            raise AssertionError("tokencat-spawn.sh exited %d:\n%s"
                                 % (p.returncode, self.log_tail()))
        if listen.startswith("/"):
            def ready():
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(listen)
                    return True
                except OSError:
                    return False
        else:
            port = int(listen.rsplit(":", 1)[1])
            ready = lambda: tcp_open(port)              # noqa: E731
        wait_for(ready, 10, "the spawn-fcgi pool on " + listen)

    def pool_pids(self):
        """Pids listed in the pool pid files."""
        pids = []
        for pf in self.pools:
            try:
                with open(pf) as f:
                    pids += [int(x) for x in f.read().split()]
            except (OSError, ValueError):
                pass
        return pids

    # -- the server

    def write_server_conf(self):
        raise NotImplementedError

    def server_argv(self):
        raise NotImplementedError

    def health_path(self):
        """Where start() waits for a 200 (below the API prefix)."""
        return "/health"

    def start(self, timeout=20):
        """Write the configuration, start the server in the foreground on a
        free loopback port, and wait until /api/health answers 200."""
        if self.proc is not None:
            raise AssertionError("instance %s already running" % self.name)
        self.port = free_port()
        self.write_server_conf()
        out = open(os.path.join(self.logs, self.SERVER + "-stdout.log"), "ab")
        self.proc = subprocess.Popen(self.server_argv(),
                                     stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT,
                                     preexec_fn=_pdeathsig, cwd=self.dir)
        out.close()
        deadline = time.time() + timeout
        last = "no answer"
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                raise AssertionError("%s exited at start:\n%s"
                                     % (self.SERVER, self.log_tail()))
            try:
                st, _, body = self.req("GET", self.health_path(), timeout=2)
                if st == 200:
                    return
                last = "status %d %r" % (st, body)
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.1)
        raise AssertionError("/api/health did not answer 200 within %d s "
                             "(%s):\n%s" % (timeout, last, self.log_tail()))

    def worker_pids(self, door="any"):
        """Pids of every process started with this instance's config in its
        environment (workers, pool shells), but not this test process."""
        entry = ("TOKENCAT_CONFIG=" + self.conf_path).encode()
        lpid = self.proc.pid if self.proc is not None else -1
        return [p for p in pids_with_env(entry) if p not in (os.getpid(), lpid)]

    def stop(self, timeout=10):
        """Stop the server (SIGTERM, then SIGKILL), the pools (SIGTERM to
        the pids of their pid files) and whatever else was started; then
        SIGKILL any worker of this instance still there (leftover_workers
        names them)."""
        self.leftover_workers = []
        procs = ([self.proc] if self.proc is not None else []) + self.extra
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.proc = None
        self.extra = []
        for pid in self.pool_pids():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        self.pools = []
        self.kill_leftovers(self.worker_pids, who="test")

    def log_files(self):
        return sorted(os.path.join(self.logs, n) for n in os.listdir(self.logs))

    def close(self):
        """Stop, keep every log as LOGDIR/<name>.<log>, remove the
        temporary directory."""
        self.stop()
        try:
            for path in self.log_files():
                shutil.copyfile(path, os.path.join(
                    LOGDIR, "%s.%s" % (self.name, os.path.basename(path))))
        except OSError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
        if self in harness._live:
            harness._live.remove(self)

    def log_tail(self, n=40):
        out = []
        for path in self.log_files():
            try:
                with open(path, errors="replace") as f:
                    lines = f.readlines()
            except OSError:
                continue
            out.append("--- %s\n%s" % (os.path.basename(path),
                                        "".join(lines[-n:])))
        return "".join(out) or "(no logs)\n"

    def read_log(self, name):
        """The text of logs/<name> ("" when absent)."""
        try:
            with open(os.path.join(self.logs, name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class ServerChecks:
    """Mixed into a unittest.TestCase: one running ServerInstance
    (cls.INSTANCE) per class, with the checks every server must pass
    (test_* below): login, token creation, the guarded directory with a
    good, a missing, a bad and an unfit token, and the Authorization
    header reaching the worker."""

    INSTANCE = None         # a ServerInstance subclass
    CONF = {"rule": ["GET /protected/ files.read"]}
    PROGRAMS = {}           # name -> path, for require()
    PROTECTED = "/protected/hello.txt"
    inst = None

    @classmethod
    def setUpClass(cls):
        require(**cls.PROGRAMS)
        cls.inst = started(cls.INSTANCE(cls.__name__, conf=cls.CONF))

    @classmethod
    def tearDownClass(cls):
        if cls.inst is not None:
            cls.inst.close()
            cls.inst = None

    def req(self, *a, **kw):
        return self.inst.req(*a, **kw)

    def files_token(self, name, perms=("files.read",)):
        """(id, raw token) of a new API token of the admin with perms."""
        sess = self.inst.login(ADMIN)
        st, out = self.inst.create_token(sess, name,
                                         scope={"permissions": list(perms)})
        self.assertEqual(st, 201, out)
        return out["token"]["id"], out["access_token"]

    def get_protected(self, auth=None, path=None):
        hdrs = {"Authorization": auth} if auth else {}
        return self.req("GET", path or self.PROTECTED, prefix="",
                        headers=hdrs)

    # -- the checks every server passes

    def test_login_and_token_create(self):
        body = self.inst.login_full(ALICE)
        self.assertEqual(body["user"]["email"], ALICE)
        sess = body["access_token"]
        st, out = self.inst.create_token(sess, "through-" + self.inst.SERVER)
        self.assertEqual(st, 201, out)
        self.assertEqual(out["token"]["user_email"], ALICE)
        st, _, lst = self.req("GET", "/tokens?limit=5", token=sess)
        self.assertEqual(st, 200, lst)
        self.assertIn("through-" + self.inst.SERVER,
                      [t["name"] for t in lst["tokens"]])

    def test_authorization_reaches_the_worker(self):
        """The worker sees the Bearer token (Apache: CGIPassAuth On): the
        session identifies its user; an API token is refused on the
        management routes with the 403 only a recognised token gets."""
        sess = self.inst.login(ALICE)
        st, _, me = self.req("GET", "/auth/me", token=sess)
        self.assertEqual(st, 200, me)
        self.assertEqual((me["user"]["email"], me["auth_method"]),
                         (ALICE, "jwt"))
        _, tok = self.files_token("reach-" + self.inst.SERVER,
                                  perms=("tools.read",))
        st, _, out = self.req("GET", "/tokens", token=tok)
        self.assertEqual(st, 403, out)
        st, h, out = self.req("GET", "/tokens")
        self.assertEqual(st, 401, out)
        self.assertEqual(h.get("WWW-Authenticate"), 'Bearer realm="tokencat"')

    def test_more_clients_at_once_than_workers(self):
        """Workers must outnumber the FastCGI connections the server keeps
        open: with the samples' settings (none kept) 8 clients at once,
        3 requests each, all get their answer from a pool of 2 to 4.
        (Checked by hand: with "enablereuse=on" added to the ProxyPass of
        etc/apache2/tokencat.conf, Apache's threads keep both workers and
        this test times out.)"""
        results = []

        def client():
            for _ in range(3):
                try:
                    results.append(self.req("GET", "/health", timeout=20)[0])
                except (OSError, http.client.HTTPException) as e:
                    results.append(repr(e))

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(results, [200] * 24)

    def test_workers_run_as_www_data(self):
        """As the samples say (run as root, the test can check it)."""
        if not IS_ROOT:
            self.skipTest("not root: nobody can switch users")
        self.assertEqual(self.req("GET", "/health")[0], 200)
        pids = self.inst.worker_pids()
        if not pids:
            self.skipTest("no worker stays between requests (plain CGI)")
        uid = www_ids()[0]
        for pid in pids:
            with open("/proc/%d/status" % pid) as f:
                uids = [ln.split()[1:] for ln in f if ln.startswith("Uid:")][0]
            self.assertEqual(set(uids), {str(uid)}, "worker %d" % pid)

    # -- stalled connections (issue 11, item 5)

    STALLED = 3000          # connections test_stalled_connections holds

    def stall_idle(self):
        """The seconds after which the sample has the server close a
        connection that sends no more of its request, read from the
        rendered sample; None: the class does not run the check."""
        return None

    def test_stalled_connections(self):
        """STALLED connections that never finish a request: the page and
        the API answer within 1 s while they are held, and the server
        drops them after the sample's idle timeout."""
        idle = self.stall_idle()
        if idle is None:
            self.skipTest("not for this sample")
        check_stalled(self, self.inst.port, self.STALLED, idle, [
            ("admin page", {"path": "/"}),
            ("API health", {"path": self.inst.API + "/health"}),
        ])

    def test_nothing_is_run_or_read_from_the_trees(self):
        """The source and build trees may be where www-data cannot go (a
        clone in a 0700 directory, issue 12): the workers run the
        instance's copy of tokencat.fcgi and no rendered configuration
        names a path inside either tree."""
        self.assertEqual(self.req("GET", "/health")[0], 200)
        trees = {os.path.realpath(t) + "/" for t in (TOP_SRCDIR, TOP_BUILDDIR)}
        trees = {t for t in trees
                 if not (os.path.realpath(self.inst.dir) + "/").startswith(t)}
        mine = os.path.realpath(self.inst.fcgi)
        for pid in self.inst.worker_pids():
            try:
                exe = os.path.realpath("/proc/%d/exe" % pid)
            except OSError:
                continue
            if os.path.basename(exe) == "tokencat.fcgi":
                self.assertEqual(exe, mine, "worker %d" % pid)
        for root, _, files in os.walk(self.inst.dir):
            for n in files:
                path = os.path.join(root, n)
                if not n.endswith((".conf", ".sh", ".fcgi", "htaccess")) or \
                        os.path.realpath(path) == mine:
                    continue
                with open(path, errors="replace") as f:
                    lines = [ln.strip() for ln in f
                             if any(t in ln for t in trees)]
                self.assertEqual(lines, [], "%s names a path in %s"
                                 % (path, " or ".join(sorted(trees))))

    def test_guarded_directory(self):
        if self.PROTECTED is None:
            self.skipTest("this sample guards no directory")
        tid, tok = self.files_token("guard-" + self.inst.SERVER)
        st, _, _ = self.get_protected("Bearer " + tok)
        self.assertEqual(st, 200, self.inst.last_body)
        self.assertEqual(self.inst.last_body, PROTECTED_BODY)
        st, h, _ = self.get_protected()
        self.assertEqual(st, 401, self.inst.last_body)
        st, _, _ = self.get_protected("Bearer not.a.token")
        self.assertEqual(st, 401, self.inst.last_body)
        _, other = self.files_token("guard-unfit-" + self.inst.SERVER,
                                    perms=("tools.read",))
        st, _, _ = self.get_protected("Bearer " + other)
        self.assertEqual(st, 403, self.inst.last_body)
        sess = self.inst.login(ADMIN)
        self.assertEqual(self.req("DELETE", "/tokens/" + tid, token=sess)[0],
                         204)
        st, _, _ = self.get_protected("Bearer " + tok)
        self.assertEqual(st, 401, "a revoked token is refused at once")
