"""
worker_mix.py - the worker under valgrind (memcheck) through a request mix:
logins, teams, creates with every scope part, /auth/check with and without
usage limits, statistics, edits, rotations, revocations, introspection,
listings, junk bodies and self-revocation; then lighttpd stops the workers
and every valgrind log must show no error and no definitely, indirectly
or possibly lost block. Run by scripts/test.sh with TOKENCAT_HARDENING=1.
Prints one line per check and last "N passed, N failed".
"""

import glob
import os
import random
import re
import shutil
import stat
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "blackbox"))
import harness  # noqa: E402

results = []


def check(name, ok, why=""):
    results.append(ok)
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": " + why),
          flush=True)


def mix(inst):
    """The request mix; returns {status: count}."""
    seen = {}

    def req(*a, **kw):
        st = inst.req(*a, timeout=120, **kw)[0]
        seen[st] = seen.get(st, 0) + 1
        return st

    s = inst.login(harness.ADMIN)
    inst.req("POST", "/teams", {"name": "vg-team"}, token=s)
    toks = []
    for i in range(24):
        if i % 3 == 0:
            scope = {"usage_limits": {"requests_per_minute": 5}}
        else:
            scope = {"permissions": ["tools.read"],
                     "ip_restrictions": ["127.0.0.1", "10.0.0.0/8", "::1"],
                     "time_restrictions": {
                         "start_time": "00:00", "end_time": "23:59:59",
                         "timezone": "Europe/Berlin",
                         "days": ["Monday", "Tuesday", "Wednesday", "Thursday",
                                  "Friday", "Saturday", "Sunday"]}}
        st, out = inst.create_token(s, "vg-%d" % i, scope=scope,
                                    tags=["a", {"k": "v"}])
        seen[st] = seen.get(st, 0) + 1
        if st == 201:
            toks.append(out)
    rnd = random.Random(7)
    for _ in range(200):
        t = rnd.choice(toks)
        req("GET", "/auth/check", token=t["access_token"],
            headers={"X-Original-URI": "/tools/x", "X-Original-Method": "GET"})
    for t in toks[:6]:
        tid = t["token"]["id"]
        req("GET", "/tokens/%s/usage?days=7" % tid, token=s)
        req("PUT", "/tokens/" + tid, {"description": "edited"}, token=s)
        req("POST", "/tokens/%s/rotate" % tid, raw=b"", token=s)
    for t in toks[6:12]:
        req("DELETE", "/tokens/" + t["token"]["id"], {"reason": "vg"}, token=s)
        req("POST", "/auth/introspect", {"token": t["access_token"]}, token=s)
    for path in ("/tokens?limit=5", "/tokens?limit=1000&include_inactive=true",
                 "/tokens/admin/all", "/tokens/admin/audit", "/admin/users",
                 "/teams", "/auth/me", "/health", "/nowhere"):
        req("GET", path, token=s)
    for raw in (b"{", b"[1]", b"\xff\xfe", b'{"name": "\\ud800"}',
                b"{" * 2000 + b"}" * 2000, b'{"name": 5}'):
        req("POST", "/tokens", raw=raw, token=s,
            headers={"Content-Type": "application/json"})
    req("GET", "/auth/check", token="a.b.c", headers={"X-Original-URI": "/x"})
    req("GET", "/tokens/..%2f..", token=s)
    req("POST", "/auth/revoke", {"token": toks[-1]["access_token"]})
    req("POST", "/auth/login", {"email": harness.ALICE, "password": "nope-nope-nope"})
    req("POST", "/auth/logout", raw=b"", token=s)
    return seen


def main():
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        if os.environ.get("CI") == "true":
            print("valgrind missing\n0 passed, 1 failed")
            return 1
        print("SKIP: valgrind not found (apt-get install valgrind)")
        return 77
    work = tempfile.mkdtemp(prefix="tcvg-")
    os.chmod(work, 0o755)
    wrapper = os.path.join(work, "tokencat.fcgi")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec %s --leak-check=full --error-exitcode=3 "
                "--log-file=%s/vg-%%p.log %s \"$@\"\n"
                % (valgrind, work, harness.FCGI))
    os.chmod(wrapper, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP |
             stat.S_IROTH | stat.S_IXOTH)
    harness.FCGI = wrapper
    # sandbox = off: valgrind runs the worker's system calls itself and
    # has no seccomp(2), so the worker could not enter its sandbox (and
    # refuses to serve unconfined); the filter is checked by
    # tests/test_sandbox and the black-box suite instead
    inst = harness.Instance("valgrind", conf={"sandbox": "off"})
    try:
        inst.start(timeout=60)
        seen = mix(inst)
        check("request mix answered (%s)" % sorted(seen.items()),
              not any(st >= 500 for st in seen), repr(seen))
    finally:
        inst.close()
    logs = sorted(glob.glob(os.path.join(work, "vg-*.log")))
    check("valgrind logs of the workers (%d)" % len(logs), len(logs) >= 2)
    for log in logs:
        with open(log, errors="replace") as f:
            text = f.read()
        name = os.path.basename(log)
        check("%s: the worker exited and valgrind summed up" % name,
              "HEAP SUMMARY" in text, text[-2000:])
        m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        check("%s: no memcheck error" % name, m is not None and m.group(1) == "0",
              text[-2000:])
        for kind in ("definitely", "indirectly", "possibly"):
            lost = re.search(r"%s lost: ([\d,]+) bytes" % kind, text)
            check("%s: nothing %s lost" % (name, kind),
                  lost is None or lost.group(1) == "0", text[-2000:])
    shutil.rmtree(work, ignore_errors=True)
    failed = results.count(False)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
