"""
test_systemd.py - etc/systemd/tokencat.socket and tokencat.service:
systemd-analyze verify accepts both, and nginx (etc/nginx/tokencat.conf)
works in front of workers started the way the units say.

systemd itself is not run (no init in a test). Instead the test does what
the units ask of it: it creates the ListenStream socket with SocketUser,
SocketGroup and SocketMode, and runs the ExecStart line with that socket
on standard input (StandardInput=socket), the Environment lines in the
environment, as User/Group, in a process group of its own that is sent
SIGTERM on stop (KillMode=control-group). Two deviations, for the test
machine: User/Group tokencat become www-data (CI has no tokencat user;
when not root, the current user), and the paths are replaced as in every
sample test (servers.py).
"""

import os
import shlex
import signal
import socket
import subprocess
import tempfile
import unittest

from servers import (ETC, IS_ROOT, NGINX, SYSTEMD_ANALYZE, TOP_SRCDIR,
                     WWW_USER, require, www_ids)
from test_nginx import NginxChecks, NginxInstance


def unit(rel):
    """The [Section] -> [(key, value), ...] of a unit file of etc/."""
    sections, cur = {}, None
    with open(os.path.join(ETC, rel)) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("[") and line.endswith("]"):
                cur = sections.setdefault(line[1:-1], [])
                continue
            k, _, v = line.partition("=")
            cur.append((k.strip(), v.strip()))
    return sections


def one(pairs, key):
    """The value of the one key in pairs (AssertionError otherwise)."""
    vals = [v for k, v in pairs if k == key]
    if len(vals) != 1:
        raise AssertionError("%s given %d times" % (key, len(vals)))
    return vals[0]


class SystemdUnits(unittest.TestCase):

    def test_systemd_analyze_verify(self):
        require(**{"systemd-analyze": SYSTEMD_ANALYZE})
        # Documentation=man:tokencat.fcgi(8) is checked with man(1): show
        # it the page of this tree
        with tempfile.TemporaryDirectory() as man:
            os.makedirs(os.path.join(man, "man8"))
            with open(os.path.join(TOP_SRCDIR, "man", "tokencat.fcgi.8")) as f, \
                    open(os.path.join(man, "man8", "tokencat.fcgi.8"), "w") as g:
                g.write(f.read())
            p = subprocess.run(
                [SYSTEMD_ANALYZE, "verify", "tokencat.socket",
                 "tokencat.service"], cwd=os.path.join(ETC, "systemd"),
                env=dict(os.environ, MANPATH=man, SYSTEMD_LOG_LEVEL="info"),
                capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual((p.stdout + p.stderr).strip(), "",
                         "systemd-analyze verify has remarks")

    def test_units_say_what_the_emulation_does(self):
        sock, svc = unit("systemd/tokencat.socket"), unit("systemd/tokencat.service")
        self.assertEqual(one(sock["Socket"], "Accept"), "no")
        self.assertEqual(one(svc["Service"], "StandardInput"), "socket")
        self.assertEqual(one(svc["Service"], "StandardOutput"), "journal")
        self.assertEqual(one(svc["Service"], "KillMode"), "control-group")
        self.assertEqual(one(svc["Unit"], "Requires"), "tokencat.socket")


class SystemdSocketInstance(NginxInstance):
    """nginx in front of the workers of tokencat.service on the socket of
    tokencat.socket (module doc)."""

    def start_pool(self):
        sock, svc = unit("systemd/tokencat.socket"), unit("systemd/tokencat.service")
        path = one(sock["Socket"], "ListenStream").replace("/run/tokencat",
                                                          self.run)
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(path)
        if IS_ROOT:
            self.assertEqual_units(one(sock["Socket"], "SocketUser"), WWW_USER)
            uid, gid = www_ids()
            os.chown(path, uid, gid)
        os.chmod(path, int(one(sock["Socket"], "SocketMode"), 8))
        lsock.listen(128)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        for k, v in svc["Service"]:
            if k == "Environment":
                name, _, val = v.partition("=")
                env[name] = val.replace("/etc/tokencat/tokencat.conf",
                                        self.conf_path)
        argv = shlex.split(one(svc["Service"], "ExecStart"))
        argv = [a.replace("/usr/local/sbin/tokencat.fcgi", self.fcgi)
                for a in argv]
        self.assertEqual_units(one(svc["Service"], "User"), "tokencat")

        def become():
            os.setsid()
            if IS_ROOT:
                uid, gid = www_ids()
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)

        log = open(os.path.join(self.logs, "workers.log"), "ab")
        self.workers = subprocess.Popen(argv, stdin=lsock.fileno(), stdout=log,
                                        stderr=log, env=env, preexec_fn=become)
        log.close()
        lsock.close()

    @staticmethod
    def assertEqual_units(got, want):
        if got != want:
            raise AssertionError("the unit says %r, the test expects %r"
                                 % (got, want))

    def stop(self, timeout=10):
        w = getattr(self, "workers", None)
        if w is not None:
            try:
                os.killpg(w.pid, signal.SIGTERM)        # KillMode=control-group
            except ProcessLookupError:
                pass
            try:
                w.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(w.pid, signal.SIGKILL)
                w.wait()
            self.workers = None
        super().stop(timeout)


class NginxOnSystemdSocket(NginxChecks, unittest.TestCase):
    INSTANCE = SystemdSocketInstance
    PROGRAMS = {"nginx": NGINX}

    def stall_idle(self):
        return None         # the same nginx site as test_nginx.Nginx

    def test_four_workers_share_the_socket(self):
        pids = [p for p in self.inst.worker_pids()
                if p != self.inst.workers.pid]
        self.assertEqual(len(pids), 4, pids)
        with open("/proc/%d/stat" % pids[0]) as f:
            pgid = int(f.read().rsplit(")", 1)[1].split()[2])
        self.assertEqual(pgid, self.inst.workers.pid)
