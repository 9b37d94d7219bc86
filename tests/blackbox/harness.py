"""
harness.py - black-box test harness for tokencat (stdlib only).

An Instance is a complete, private deployment: a temporary directory with a
tokencat.conf and an LMDB database made by `tokencat init`, three users made
by `tokencat user add`, and lighttpd (in the foreground, as a child of the
test process) on a free loopback port serving the API under /api through
mod_fastcgi with tokencat.fcgi as bin-path.

Environment (exported by `make check`, see Makefile.am):
  top_builddir   where src/tokencat and src/tokencat.fcgi were built
  top_srcdir     the source tree (www/ is served as the document root)
  LIGHTTPD       the lighttpd binary (default: found in PATH or /usr/sbin)
  BLACKBOX_LOGDIR where the lighttpd error log and CLI transcript of every
                 instance are kept (default $top_builddir/tests/blackbox/logs)
  TOKENCAT_STORE lmdb (default) or pg: with pg, one private PostgreSQL
                 cluster (tests/pg/pgcluster.py) is started for the run and
                 each Instance gets a database of its own on it
                 (database = postgresql://..., signing_key_file in the
                 instance's db directory). Tests of what only LMDB has skip
                 themselves with skip_on_pg(reason).

An Instance(store="pg") uses PostgreSQL whatever TOKENCAT_STORE says.
An Instance(join=other) is a second host of other's deployment: its own
directory, tokencat.conf, lighttpd, port and workers, but other's
PostgreSQL database and a copy of other's signing key file (every host
of one database uses the same key); it runs no `tokencat init` and adds
no users (other's users are in the database). Only for PostgreSQL.

An Instance(shared=True) is one whose programs run as another user (the
web server's www-data, or nobody): the source and build trees may sit in
a directory only their owner can enter (a clone in a 0700 mktemp
directory), so such an instance lives in a directory every user can reach
(reachable_tmpdir) and runs its own copies of tokencat.fcgi (bin/) and of
www/, never anything inside the trees.
"""

import atexit
import base64
import ctypes
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.path.abspath(os.environ.get("top_srcdir") or
                             os.path.join(HERE, "..", ".."))
TOP_BUILDDIR = os.path.abspath(os.environ.get("top_builddir") or TOP_SRCDIR)
LIGHTTPD = (os.environ.get("LIGHTTPD") or shutil.which("lighttpd") or
            "/usr/sbin/lighttpd")
TOKENCAT = os.environ.get("TOKENCAT_CLI") or \
    os.path.join(TOP_BUILDDIR, "src", "tokencat")
FCGI = os.environ.get("TOKENCAT_FCGI") or \
    os.path.join(TOP_BUILDDIR, "src", "tokencat.fcgi")
WWW = os.path.join(TOP_SRCDIR, "www")
LOGDIR = os.path.abspath(os.environ.get("BLACKBOX_LOGDIR") or
                         os.path.join(TOP_BUILDDIR, "tests", "blackbox", "logs"))

STORE = os.environ.get("TOKENCAT_STORE") or "lmdb"
ON_PG = STORE == "pg"
_pg = None                      # the run's PostgreSQL cluster (pg_cluster)
_pgseq = [0]


def pg_cluster():
    """The run's private PostgreSQL cluster, started at first use and
    stopped at exit (after every instance)."""
    global _pg
    if _pg is None:
        import sys
        sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "pg"))
        import pgcluster
        c = pgcluster.Cluster(prefix="tcbbpg-")
        c.start()
        _pg = c
    return _pg


def skip_on_pg(reason):
    """Skip a test (decorator) when the suite runs on PostgreSQL."""
    return unittest.skipIf(ON_PG, "LMDB only: " + reason)


ADMIN = "admin@example.com"
ALICE = "alice@example.com"
BOB = "bob@example.com"
PASSWORDS = {
    ADMIN: "admin-password-0001",
    ALICE: "alice-password-0002",
    BOB: "bob-password-00003",
}
FULL_NAMES = {ADMIN: "Administrator", ALICE: "Alice Example",
              BOB: "Bob Example"}

# The sentences of API.md that tests compare exactly.
MSG_API_TOKEN = ("Token management requires an interactive session (JWT from "
                 "web login or SSO). API tokens cannot create, list, or revoke "
                 "other tokens.")
MSG_DUP_NAME = ("A token with this name already exists. Please choose a "
                "different name.")
MSG_BAD_LOGIN = "Invalid email or password"
MSG_NO_TOKEN = "Authorization token required"
MSG_BAD_TOKEN = "Invalid authentication credentials"
MSG_REVOKED = "Token has been revoked"
MSG_DISABLED = "Account disabled"
MSG_COOKIE = ("Cookie authentication not allowed for API requests. Use "
              "Authorization header.")
MSG_NOT_FOUND = "Token not found"
WWW_AUTH = 'Bearer realm="tokencat"'
WWW_AUTH_INVALID = 'Bearer realm="tokencat", error="invalid_token"'

TOKEN_FIELDS = (
    "id", "name", "description", "user_email", "team_id", "server_id",
    "resource_scopes", "ip_restrictions", "time_restrictions",
    "usage_limits", "created_at", "expires_at", "last_used", "is_active",
    "is_revoked", "revoked_at", "revoked_by", "revocation_reason", "tags",
    "created_by",
)
USER_FIELDS = ("id", "email", "full_name", "is_admin", "is_active",
               "created_at")

# the web server's own accounts of an Instance(sso=True): e-mail -> password
SSO_USERS = {ALICE: "alice-sso-password", BOB: "bob-sso-password"}

BASE_CONF = {
    "login_max_failures": "3",
    "login_lockout_minutes": "1",
    "max_body_bytes": "4096",
    "max_token_days": "365",
    "log_level": "debug",
}

_live = []
_names = {}


# ---------------------------------------------------------------- JWT helpers

def b64url(data):
    """base64url without padding of bytes (or of a str, UTF-8 encoded)."""
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    """Decode base64url with or without padding."""
    s = s.encode() if isinstance(s, str) else s
    return base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))


def jwt_header(token):
    """The decoded JOSE header of a compact JWT."""
    return json.loads(b64url_decode(token.split(".")[0]))


def jwt_claims(token):
    """The decoded payload of a compact JWT (signature not checked)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWT: %d parts" % len(parts))
    return json.loads(b64url_decode(parts[1]))


def sign_jwt(key, claims, alg="HS256", header=None):
    """A compact JWT of claims signed with key (bytes) by alg HS256/HS384/
    HS512, or unsigned (empty signature) for alg "none"."""
    hdr = header if header is not None else {"alg": alg, "typ": "JWT"}
    signing_input = (b64url(json.dumps(hdr, separators=(",", ":"))) + "." +
                     b64url(json.dumps(claims, separators=(",", ":"))))
    if alg == "none":
        return signing_input + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
              "HS512": hashlib.sha512}[alg]
    sig = hmac.new(key, signing_input.encode(), digest).digest()
    return signing_input + "." + b64url(sig)


def parse_time(s):
    """RFC 3339 UTC "YYYY-MM-DDTHH:MM:SS[.fff]Z" -> seconds since the epoch
    (float). Raises ValueError for anything else."""
    import datetime
    if not isinstance(s, str) or not s.endswith("Z"):
        raise ValueError("not an RFC 3339 UTC time: %r" % (s,))
    body = s[:-1]
    frac = 0.0
    if "." in body:
        body, f = body.split(".", 1)
        if not f.isdigit():
            raise ValueError("bad fraction in %r" % (s,))
        frac = float("0." + f)
    dt = datetime.datetime.strptime(body, "%Y-%m-%dT%H:%M:%S")
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp() + frac


def concurrently(fns):
    """Call each of fns in a thread of its own, released together;
    returns the results in order (AssertionError if one raised)."""
    barrier = threading.Barrier(len(fns))
    out = [None] * len(fns)

    def run(i):
        try:
            barrier.wait(30)
            out[i] = fns[i]()
        except Exception as e:          # noqa: BLE001 - reported below
            out[i] = e
    threads = [threading.Thread(target=run, args=(i,))
               for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for r in out:
        if isinstance(r, BaseException):
            raise AssertionError("a concurrent request failed: %r" % (r,))
    return out


def is_uuid4(s):
    """True if s is a lowercase UUID v4 with dashes."""
    try:
        u = uuid.UUID(s)
    except (ValueError, TypeError, AttributeError):
        return False
    return u.version == 4 and str(u) == s


# ---------------------------------------------------------------- processes

def _pdeathsig():
    """preexec_fn: have the kernel send SIGTERM to the child if the test
    process dies, so that no lighttpd outlives a crashed test run."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)       # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout=15, what="a condition", interval=0.02):
    """Poll cond() until it returns a true value, and return that value;
    AssertionError naming what after timeout seconds. Tests wait for
    conditions this way, never for a fixed time: on a loaded machine
    (a CPU hog on each core) anything may take longer."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %gs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def clock_past(t, resolution=0.001):
    """Wait until time.time() is past the millisecond t (seconds since the
    epoch, as the server writes times: e.g. a created_at), so that what
    the server does next gets a later time."""
    wait_until(lambda: time.time() >= t + resolution, timeout=5,
               what="the clock to pass %.3f" % t, interval=0.001)


def reachable_tmpdir():
    """A directory for temporary directories that every user can reach:
    tempfile.gettempdir() ($TMPDIR) when it and every directory above it
    may be searched by others, else /tmp."""
    d = os.path.realpath(tempfile.gettempdir())
    p = d
    while True:
        try:
            if not os.stat(p).st_mode & 0o001:
                return "/tmp"
        except OSError:
            return "/tmp"
        if p == "/":
            return d
        p = os.path.dirname(p)


def copy_readable(src, dest):
    """Copy the file or directory tree src to dest, readable by every user
    (directories and programs 0755, other files 0644). Returns dest."""
    if os.path.isdir(src):
        shutil.copytree(src, dest, copy_function=shutil.copyfile)
        for root, dirs, files in os.walk(dest):
            os.chmod(root, 0o755)
            for n in files:
                os.chmod(os.path.join(root, n), 0o644)
    else:
        shutil.copyfile(src, dest)
        os.chmod(dest, 0o755 if os.access(src, os.X_OK) else 0o644)
    return dest


# ---------------------------------------------------------------- stalled
# connections (issue 11, item 5): tests/blackbox/test_runsh.py and
# tests/servers/ hold thousands of connections that never finish a request

# what stalled connections send before they stop: nothing, part of a
# request line, a request line and part of the headers
STALL_PARTS = (b"", b"GET /api/hea",
               b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: ")


def raise_nofile(need):
    """Raise this process's RLIMIT_NOFILE to at least need descriptors (as
    root past the hard limit). Returns None, or why it cannot (a reason
    to skip)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    inf = resource.RLIM_INFINITY
    if soft == inf or soft >= need:
        return None
    if hard != inf and hard < need:
        if os.geteuid() != 0:
            return "RLIMIT_NOFILE hard limit %d < %d (run as root)" % (
                hard, need)
        hard = need
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    return None


def open_stalled(port, n):
    """n connections to 127.0.0.1:port that each send a part of
    STALL_PARTS and nothing more. Returns the sockets (closed again when
    one cannot be opened: OSError)."""
    socks = []
    try:
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            part = STALL_PARTS[i % len(STALL_PARTS)]
            if part:
                s.sendall(part)
            socks.append(s)
    except OSError:
        for s in socks:
            s.close()
        raise
    return socks


def timed_request(port, path, method="GET", body=None, token=None,
                  timeout=10):
    """One request on a fresh connection: (status or the error's repr,
    body bytes, seconds taken)."""
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = {"Content-Type": "application/json"} if body else {}
        if token:
            hdrs["Authorization"] = "Bearer " + token
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, data, time.monotonic() - t0
    except (OSError, http.client.HTTPException) as e:
        return repr(e), b"", time.monotonic() - t0
    finally:
        conn.close()


def wait_closed(socks, timeout, what):
    """Wait until the server has closed every socket of socks (EOF or an
    error after whatever it sent); returns the seconds that took.
    AssertionError after timeout seconds, naming what."""
    import selectors
    t0 = time.monotonic()
    left = set(socks)
    with selectors.DefaultSelector() as sel:
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)

        def all_closed():
            for key, _ in sel.select(timeout=0.5):
                try:
                    if key.fileobj.recv(4096) != b"":
                        continue        # an error page, EOF next
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                sel.unregister(key.fileobj)
                left.discard(key.fileobj)
            return not left
        try:
            wait_until(all_closed, timeout, what, interval=0)
        except AssertionError as e:
            raise AssertionError("%s: %d of %d still open"
                                 % (e, len(left), len(socks))) from None
    return time.monotonic() - t0


def check_stalled(tc, port, n, idle, requests, within=1.0, rounds=5):
    """The check of issue 11, item 5, for a server on 127.0.0.1:port whose
    idle timeout for a request being read is idle seconds: hold n stalled
    connections (open_stalled); meanwhile each of requests, a list of
    (label, timed_request keyword arguments), answers 200 within within
    seconds on a fresh connection, rounds times; then the server closes
    every stalled connection within idle + 30 s. Assertions on tc (a
    TestCase). Prints and returns the figures."""
    why = raise_nofile(n + 512)
    if why:
        tc.skipTest(why)
    t0 = time.monotonic()
    socks = open_stalled(port, n)
    opened = time.monotonic() - t0
    try:
        slowest = {}
        for _ in range(rounds):
            for label, kw in requests:
                st, body, took = timed_request(port, timeout=5, **kw)
                tc.assertEqual(st, 200, "%s with %d stalled connections: "
                               "%r after %.2fs" % (label, n, st, took))
                tc.assertLess(took, within, "%s took %.2fs with %d stalled "
                              "connections" % (label, took, n))
                slowest[label] = max(slowest.get(label, 0), took)
        dropped = wait_closed(socks, idle + 30, "the server to close the %d "
                              "stalled connections (idle timeout %d s)"
                              % (n, idle))
    finally:
        for s in socks:
            s.close()
    figures = ("%d stalled connections opened in %.2fs; slowest answers "
               "while held: %s; all closed by the server %.1fs later (idle "
               "timeout %d s)" % (n, opened, ", ".join(
                   "%s %.3fs" % kv for kv in sorted(slowest.items())),
                   dropped, idle))
    print("      " + figures, flush=True)
    return figures


def pids_with_env(entry):
    """Pids of the processes whose environment holds the exact NAME=value
    entry (bytes). Used to find the workers of one instance."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if entry in env:
            found.append(int(d))
    return sorted(found)


class Instance:
    """One private tokencat deployment behind lighttpd (see module doc)."""

    def __init__(self, name, conf=None, users=True, workers=2, sso=False,
                 shared=False, store=None, join=None):
        n = _names.get(name, 0) + 1
        _names[name] = n
        self.name = name if n == 1 else "%s-%d" % (name, n)
        self.shared = shared
        self.dir = tempfile.mkdtemp(prefix="tcbb-", dir=reachable_tmpdir()
                                    if shared else None)
        os.chmod(self.dir, 0o755)
        if shared:      # what other users run and read (module doc)
            os.mkdir(os.path.join(self.dir, "bin"), 0o755)
            self.fcgi = copy_readable(FCGI, os.path.join(
                self.dir, "bin", "tokencat.fcgi"))
            self.www = copy_readable(WWW, os.path.join(self.dir, "www"))
        else:
            self.fcgi = self.www = None     # FCGI and WWW when started
        self.db = os.path.join(self.dir, "db")
        # on PostgreSQL: the database's URI and name; self.db is then the
        # directory of the signing key only
        self.pg_uri = self.pg_name = None
        if join is not None:
            if join.pg_uri is None:
                raise ValueError("join=: %s is not on PostgreSQL" % join.name)
            # the joined database under a spelling of its own: the stores
            # of one host that open one conninfo share a change counter
            # (store_pg_cache.c), so another host is another conninfo, and
            # changes from the other host reach it only by the change feed
            self.pg_name = join.pg_name
            self.pg_uri = "%s&fallback_application_name=%s" % (
                join.pg_uri, name)
            os.makedirs(self.db, mode=0o700)
            shutil.copy2(os.path.join(join.db, "signing.key"),
                         os.path.join(self.db, "signing.key"))
        elif ON_PG or store == "pg":
            _pgseq[0] += 1
            self.pg_name = "tc_%d_%d" % (os.getpid(), _pgseq[0])
            self.pg_uri = pg_cluster().createdb(self.pg_name)
            os.makedirs(self.db, mode=0o700)
        self.conf_path = os.path.join(self.dir, "tokencat.conf")
        self.lconf_path = os.path.join(self.dir, "lighttpd.conf")
        self.errlog = os.path.join(self.dir, "lighttpd-error.log")
        self.worklog = os.path.join(self.dir, "worker.log")
        self.sock = os.path.join(self.dir, "tokencat.sock")
        self.workers = workers          # /api workers (lighttpd max-procs)
        # sso: lighttpd also serves the API under /sso/api behind its own
        # Basic login (users of SSO_USERS), which sets REMOTE_USER
        self.sso = sso
        self.port = None
        self.proc = None
        self.leftover_workers = []
        self.user_ids = {}
        os.makedirs(LOGDIR, exist_ok=True)
        self.clilog = os.path.join(LOGDIR, self.name + ".cli.log")
        with open(self.clilog, "w") as f:
            f.write("# tokencat CLI transcript of instance %s (%s)\n"
                    % (self.name, self.dir))
        settings = dict(BASE_CONF)
        settings.update(conf or {})
        self.write_conf(settings)
        _live.append(self)
        if join is not None:
            return
        self.cli("init")
        if users:
            self.add_user(ADMIN, PASSWORDS[ADMIN], admin=True,
                          full_name=FULL_NAMES[ADMIN])
            self.add_user(ALICE, PASSWORDS[ALICE],
                          full_name=FULL_NAMES[ALICE])
            self.add_user(BOB, PASSWORDS[BOB], full_name=FULL_NAMES[BOB])

    # -- configuration and command line

    def write_conf(self, settings):
        """(Re)write tokencat.conf: database plus the given key = value
        pairs (a list value is written as a repeated key)."""
        lines = ["# written by the black-box harness",
                 "database = %s" % (self.pg_uri or self.db)]
        if self.pg_uri and "signing_key_file" not in settings:
            lines.append("signing_key_file = %s" %
                         os.path.join(self.db, "signing.key"))
        for k, v in settings.items():
            for item in (v if isinstance(v, list) else [v]):
                lines.append("%s = %s" % (k, item))
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def cli(self, *args, input=None, check=True, conf=True, timeout=60):
        """Run `tokencat -c CONF args...`; returns the CompletedProcess
        (text mode). check=True raises AssertionError on a non-zero exit."""
        argv = [TOKENCAT] + (["-c", self.conf_path] if conf else []) + \
            list(args)
        if input is None:       # never the caller's terminal
            p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True,
                               timeout=timeout)
        else:
            p = subprocess.run(argv, input=input, capture_output=True,
                               text=True, timeout=timeout)
        with open(self.clilog, "a") as f:
            f.write("$ %s\n-> exit %d\nstdout: %s\nstderr: %s\n" % (
                " ".join(argv), p.returncode, p.stdout.strip(),
                p.stderr.strip()))
        if check and p.returncode != 0:
            raise AssertionError("%s exited %d: %s" % (
                " ".join(argv), p.returncode, p.stderr.strip()))
        return p

    def add_user(self, email, password, admin=False, full_name=None):
        """Create a user with `tokencat user add` (password on stdin)."""
        args = ["user", "add", email]
        if admin:
            args.append("--admin")
        if full_name is not None:
            args += ["--full-name", full_name]
        return self.cli(*args, input=password + "\n")

    def psql(self, sql):
        """Run sql on this instance's PostgreSQL database (ON_PG only);
        returns psql's unaligned output."""
        return pg_cluster().psql(sql, dbname=self.pg_name)

    def signing_key(self):
        """The HMAC key: the signing key file's content, trailing white
        space removed (tc-decisions)."""
        with open(os.path.join(self.db, "signing.key"), "rb") as f:
            return f.read().rstrip()

    # -- lighttpd

    def write_lighttpd_conf(self):
        www = self.www or WWW
        fcgi = self.fcgi or FCGI
        conf = """\
server.modules = ( "mod_setenv", %(auth_modules)s"mod_fastcgi" )
server.bind = "127.0.0.1"
server.port = %(port)d
server.document-root = "%(www)s"
server.errorlog = "%(errlog)s"
server.breakagelog = "%(worklog)s"
server.tag = "tokencat-blackbox"
index-file.names = ( "index.html" )
mimetype.assign = (
  ".html" => "text/html; charset=utf-8",
  ".css" => "text/css; charset=utf-8",
  ".js" => "text/javascript; charset=utf-8",
  ".svg" => "image/svg+xml",
  ".png" => "image/png",
)
fastcgi.debug = 0
fastcgi.server = ( "/api" => ((
  "bin-path" => "%(fcgi)s",
  "socket" => "%(sock)s",
  "check-local" => "disable",
  "max-procs" => %(workers)d,
  "bin-environment" => ( "TOKENCAT_CONFIG" => "%(conf)s" ),
)))
# /protected/ is a static directory guarded by the FastCGI Authorizer role
$HTTP["url"] =~ "^/protected/" {
  fastcgi.server = ( "/protected/" => ((
    "mode" => "authorizer",
    "docroot" => "%(dir)s",
    "bin-path" => "%(fcgi)s",
    "socket" => "%(sock)s-authz",
    "check-local" => "disable",
    "max-procs" => 1,
    "bin-environment" => ( "TOKENCAT_CONFIG" => "%(conf)s",
                           "TOKENCAT_DOOR" => "authorizer" ),
  )))
}
""" % {"port": self.port, "www": www, "errlog": self.errlog,
       "worklog": self.worklog, "fcgi": fcgi, "dir": self.dir,
       "sock": self.sock, "conf": self.conf_path, "workers": self.workers,
       "auth_modules": '"mod_auth", "mod_authn_file", ' if self.sso else ""}
        if self.sso:
            users = os.path.join(self.dir, "sso-users")
            with open(users, "w") as f:
                f.write("".join("%s:%s\n" % (u, p)
                                for u, p in SSO_USERS.items()))
            conf += """\
# /sso/api: a worker of its own behind lighttpd's own Basic login
auth.backend = "plain"
auth.backend.plain.userfile = "%(users)s"
auth.require = ( "/sso/" => ( "method" => "basic", "realm" => "tokencat",
                              "require" => "valid-user" ) )
fastcgi.server += ( "/sso/api" => ((
  "bin-path" => "%(fcgi)s",
  "socket" => "%(sock)s-sso",
  "check-local" => "disable",
  "max-procs" => 1,
  "bin-environment" => ( "TOKENCAT_CONFIG" => "%(conf)s",
                         "TOKENCAT_DOOR" => "sso" ),
)))
""" % {"users": users, "sock": self.sock, "fcgi": fcgi,
       "conf": self.conf_path}
        protected = os.path.join(self.dir, "protected")
        os.makedirs(protected, exist_ok=True)
        with open(os.path.join(protected, "hello.txt"), "w") as f:
            f.write("hello from behind the authorizer\n")
        with open(self.lconf_path, "w") as f:
            f.write(conf)

    def start(self, timeout=15):
        """Start lighttpd -D on a free port and wait for /api/health = 200.
        Raises AssertionError (with the error log) if it does not come up."""
        if self.proc is not None:
            raise AssertionError("instance %s already running" % self.name)
        self.port = free_port()
        self.write_lighttpd_conf()
        with open(self.errlog, "a") as f:
            f.write("=== harness: starting lighttpd on port %d at %s\n"
                    % (self.port, time.strftime("%H:%M:%S")))
        out = open(os.path.join(self.dir, "lighttpd-stdout.log"), "ab")
        self.proc = subprocess.Popen(
            [LIGHTTPD, "-D", "-f", self.lconf_path], stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=_pdeathsig)
        out.close()
        deadline = time.time() + timeout
        last = "no answer"
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                raise AssertionError("lighttpd exited at start:\n" +
                                     self.log_tail())
            try:
                st, _, body = self.req("GET", "/health", timeout=2)
                if st == 200:
                    return
                last = "status %d %r" % (st, body)
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        self.stop()
        raise AssertionError("/api/health did not answer 200 within %d s "
                             "(%s):\n%s" % (timeout, last, self.log_tail()))

    def worker_pids(self, door="api"):
        """Pids of this instance's tokencat.fcgi workers serving /api
        (door="api", self.workers of them), guarding /protected/
        (door="authorizer") or serving /sso/api (door="sso")."""
        entry = ("TOKENCAT_CONFIG=" + self.conf_path).encode()
        doors = {d: set(pids_with_env(("TOKENCAT_DOOR=" + d).encode()))
                 for d in ("authorizer", "sso")}
        mine = os.getpid()
        lpid = self.proc.pid if self.proc is not None else -1
        return [p for p in pids_with_env(entry) if p not in (mine, lpid) and
                (p in doors[door] if door in doors else
                 not any(p in v for v in doors.values()))]

    def stop(self, timeout=10):
        """Stop lighttpd (SIGTERM, then SIGKILL) and make sure no worker of
        this instance is left; leftover_workers lists any that had to be
        killed after lighttpd was gone."""
        self.leftover_workers = []
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        self.kill_leftovers(lambda: self.worker_pids() +
                            self.worker_pids("authorizer") +
                            self.worker_pids("sso"))

    def kill_leftovers(self, find, who="harness"):
        """Wait up to 5 s for the workers find() lists to exit, then
        SIGKILL the rest (added to leftover_workers, noted in the log)."""
        deadline = time.time() + 5
        pids = find()
        while pids and time.time() < deadline:
            time.sleep(0.05)
            pids = find()
        for p in pids:
            self.leftover_workers.append(p)
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if pids:
            with open(self.errlog, "a") as f:
                f.write("=== %s: killed leftover workers %r\n" % (who, pids))

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        """Stop, keep the logs in LOGDIR (lighttpd's error log followed
        by the workers' stderr and lighttpd's own), remove the temporary
        directory."""
        self.stop()
        try:
            with open(os.path.join(LOGDIR, self.name +
                                   ".lighttpd-error.log"), "wb") as out:
                for title, path in (
                        ("lighttpd error log", self.errlog),
                        ("tokencat.fcgi stderr", self.worklog),
                        ("lighttpd stdout/stderr", os.path.join(
                            self.dir, "lighttpd-stdout.log"))):
                    out.write(("=== %s\n" % title).encode())
                    try:
                        with open(path, "rb") as f:
                            shutil.copyfileobj(f, out)
                    except OSError:
                        out.write(b"(none)\n")
        except OSError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
        if self in _live:
            _live.remove(self)

    def log_tail(self, n=40):
        """The last n lines of each log of the instance, for a message."""
        out = []
        for path in (self.errlog, self.worklog,
                     os.path.join(self.dir, "lighttpd-stdout.log")):
            try:
                with open(path, errors="replace") as f:
                    lines = f.readlines()
            except OSError:
                continue
            out.append("--- %s\n%s" % (os.path.basename(path),
                                        "".join(lines[-n:])))
        return "".join(out) or "(no logs)\n"

    # -- HTTP

    def req(self, method, path, body=None, token=None, headers=None,
            raw=None, prefix="/api", timeout=15):
        """One request on a new connection. path is below prefix ("/api").
        body: a Python value sent as JSON in raw UTF-8 (no \\u escapes;
        Content-Type application/json);
        raw: bytes/str sent as they are (no Content-Type unless given in
        headers). A header given as None is not sent.
        Returns (status, headers (case-insensitive .get), parsed JSON or
        None); the raw body is kept in self.last_body."""
        hdrs = {}
        data = None
        if raw is not None:
            data = raw.encode() if isinstance(raw, str) else raw
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        elif method in ("POST", "PUT", "PATCH"):
            data = b""
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        if data is not None:
            hdrs["Content-Length"] = str(len(data))
        for k, v in (headers or {}).items():
            for old in [h for h in hdrs if h.lower() == k.lower()]:
                del hdrs[old]
            if v is not None:
                hdrs[k] = v
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)
        try:
            conn.putrequest(method, prefix + path, skip_host=False,
                            skip_accept_encoding=True)
            for k, v in hdrs.items():
                conn.putheader(k, v)
            conn.endheaders()
            if data:
                conn.send(data)
            resp = conn.getresponse()
            raw_body = resp.read()
        finally:
            conn.close()
        self.last_body = raw_body
        parsed = None
        if raw_body:
            try:
                parsed = json.loads(raw_body)
            except ValueError:
                parsed = None
        return resp.status, resp.headers, parsed

    def login_full(self, email, password=None):
        """POST /auth/login; returns the parsed 200 body (AssertionError
        otherwise)."""
        pw = password if password is not None else PASSWORDS[email]
        st, _, body = self.req("POST", "/auth/login",
                               {"email": email, "password": pw})
        if st != 200:
            raise AssertionError("login of %s: %d %r" % (email, st, body))
        return body

    def login(self, email, password=None):
        """A fresh session JWT for email."""
        return self.login_full(email, password)["access_token"]

    def all_tokens(self, session):
        """{id: token} of every token GET /tokens shows to session
        (include_inactive, pages of 1000); AssertionError on another
        status than 200."""
        seen, offset = {}, 0
        while True:
            st, _, out = self.req(
                "GET", "/tokens?include_inactive=true&limit=1000&offset=%d"
                % offset, token=session)
            if st != 200:
                raise AssertionError("GET /tokens: %d %r" % (st, out))
            for t in out["tokens"]:
                seen[t["id"]] = t
            offset += len(out["tokens"])
            if not out["tokens"] or offset >= out["total"]:
                return seen

    def create_token(self, session, name, days=30, **fields):
        """POST /tokens with name, expires_in_days=days (omitted if None)
        and any other fields. Returns (status, body)."""
        body = {"name": name}
        if days is not None:
            body["expires_in_days"] = days
        body.update(fields)
        st, _, out = self.req("POST", "/tokens", body, token=session)
        return st, out


def _cleanup():
    for inst in list(_live):
        try:
            inst.close()
        except Exception:       # noqa: BLE001 - best effort at exit
            pass
    if _pg is not None:
        _pg.stop()


atexit.register(_cleanup)


def started(inst, ready=None):
    """inst after inst.start() (and ready(), if given); closed and the
    error raised again when either fails."""
    try:
        inst.start()
        if ready is not None:
            ready()
    except BaseException:
        inst.close()
        raise
    return inst


class InstanceTestCase(unittest.TestCase):
    """A TestCase class with one running Instance shared by its tests
    (cls.inst), started in setUpClass and closed in tearDownClass.
    Subclasses may set CONF (extra tokencat.conf settings)."""

    CONF = None
    WORKERS = 2
    inst = None

    @classmethod
    def setUpClass(cls):
        cls.inst = started(Instance(cls.__name__, conf=cls.CONF,
                                    workers=cls.WORKERS))

    @classmethod
    def tearDownClass(cls):
        if cls.inst is not None:
            cls.inst.close()

    # -- shortcuts and shared assertions

    def req(self, *a, **kw):
        return self.inst.req(*a, **kw)

    def login(self, email, password=None):
        return self.inst.login(email, password)

    def assertStdHeaders(self, headers, has_body=True):
        """API.md 2: Cache-Control: no-store, X-Content-Type-Options:
        nosniff, Content-Type: application/json when there is a body."""
        self.assertEqual(headers.get("Cache-Control"), "no-store")
        self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff")
        if has_body:
            ct = headers.get("Content-Type") or ""
            self.assertEqual(ct.split(";")[0].strip(), "application/json",
                             "Content-Type %r" % ct)

    def assertDetail(self, resp, status, detail=None, prefix=None):
        """resp = (status, headers, body): the status, a {"detail": str}
        body with the standard headers, and the exact detail or a detail
        starting with prefix (the field name of a 422)."""
        st, headers, body = resp
        self.assertEqual(st, status, "body: %r" % (body,))
        self.assertIsInstance(body, dict, "error body is not JSON: %r"
                              % (self.inst.last_body[:200],))
        self.assertIn("detail", body)
        self.assertIsInstance(body["detail"], str)
        self.assertTrue(body["detail"])
        if detail is not None:
            self.assertEqual(body["detail"], detail)
        if prefix is not None:
            self.assertTrue(body["detail"].startswith(prefix),
                            "detail %r does not start with %r"
                            % (body["detail"], prefix))
        self.assertStdHeaders(headers)
        return body["detail"]

    def assert401(self, resp, invalid_token=True, detail=None):
        """A 401 with WWW-Authenticate (error="invalid_token" when a
        presented token was rejected)."""
        if detail is None:
            detail = MSG_BAD_TOKEN if invalid_token else MSG_NO_TOKEN
        self.assertDetail(resp, 401, detail)
        self.assertEqual(resp[1].get("WWW-Authenticate"),
                         WWW_AUTH_INVALID if invalid_token else WWW_AUTH)

    def assertTokenShape(self, tok):
        """Every TokenResponse field is present, with its JSON type."""
        self.assertIsInstance(tok, dict)
        for f in TOKEN_FIELDS:
            self.assertIn(f, tok, "TokenResponse lacks %r" % f)
        self.assertTrue(is_uuid4(tok["id"]), tok["id"])
        self.assertIsInstance(tok["name"], str)
        self.assertIsInstance(tok["resource_scopes"], list)
        self.assertIsInstance(tok["ip_restrictions"], list)
        self.assertIsInstance(tok["time_restrictions"], dict)
        self.assertIsInstance(tok["usage_limits"], dict)
        self.assertIsInstance(tok["tags"], list)
        self.assertIsInstance(tok["is_active"], bool)
        self.assertIsInstance(tok["is_revoked"], bool)
        parse_time(tok["created_at"])
        for f in ("expires_at", "last_used", "revoked_at"):
            if tok[f] is not None:
                parse_time(tok[f])

    def assertNear(self, a, b, tol, msg=None):
        self.assertLessEqual(abs(a - b), tol, msg or "%r vs %r" % (a, b))
