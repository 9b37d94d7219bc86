"""
run_browser.py - the admin page's end-to-end test (run by run-browser.sh).

1. Static checks of www/ (Python): no inline script or style in the HTML
   (so Content-Security-Policy: default-src 'self' holds) and no HTML
   sinks (innerHTML and friends) in the scripts.
2. A private tokencat instance (tests/blackbox/harness.py: lighttpd +
   tokencat.fcgi on a loopback port, www/ as document root, the API under
   /api, users admin@/alice@/bob@example.com).
3. admin_page.mjs drives the page in headless Chromium (playwright-core)
   and prints one line per case and "N passed, N failed".

Prints one line per case ("ok" / "FAIL") and as its last line the sum
"N passed, N failed". Exit status 0 only when nothing failed.

Environment (from run-browser.sh): top_srcdir, top_builddir, NODE,
CHROMIUM, PLAYWRIGHT_PREFIX, BROWSER_ARTIFACTS, BLACKBOX_LOGDIR.
"""

import glob
import html.parser
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))

import harness  # noqa: E402  (after the path is set)

WWW = os.path.join(harness.TOP_SRCDIR, "www")
NODE_TIMEOUT = 600      # seconds for the whole browser run

passed = 0
failed = 0


def case(name, fn):
    """Run one check; print ok/FAIL and count it."""
    global passed, failed
    t0 = time.time()
    try:
        fn()
    except Exception as e:      # noqa: BLE001 - report any failure
        failed += 1
        print("FAIL  %s (%.2fs)\n    | %s" % (name, time.time() - t0,
              str(e).replace("\n", "\n    | ")), flush=True)
        return
    passed += 1
    print("ok    %s (%.2fs)" % (name, time.time() - t0), flush=True)


# ---------------------------------------------------------------- static checks

class InlineFinder(html.parser.HTMLParser):
    """Collects what a strict CSP would block: <script> with a body or
    without src, <style> elements, style= and on*= attributes, javascript:
    URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.in_script = False
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        where = "line %d" % self.getpos()[0]
        names = dict(attrs)
        for k, v in attrs:
            if k == "style":
                self.problems.append("%s: style= on <%s>" % (where, tag))
            if k.startswith("on"):
                self.problems.append("%s: %s= on <%s>" % (where, k, tag))
            if k in ("href", "src", "action") and v and \
                    v.strip().lower().startswith("javascript:"):
                self.problems.append("%s: javascript: URL" % where)
        if tag == "style":
            self.problems.append("%s: <style> element" % where)
        if tag == "script":
            self.scripts += 1
            self.in_script = True
            if not names.get("src"):
                self.problems.append("%s: <script> without src" % where)

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.problems.append("line %d: inline script body"
                                 % self.getpos()[0])


def check_no_inline():
    pages = glob.glob(os.path.join(WWW, "*.html"))
    assert pages, "no HTML page in %s" % WWW
    scripts = 0
    for page in pages:
        p = InlineFinder()
        with open(page, encoding="utf-8") as f:
            p.feed(f.read())
        p.close()
        assert not p.problems, "%s: %s" % (page, "; ".join(p.problems))
        scripts += p.scripts
    assert scripts >= 1, "index.html loads no script at all"


SINKS = re.compile(r"\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|"
                   r"document\.write|\beval\s*\(|new\s+Function\b|"
                   r"setAttribute\(\s*['\"](style|on\w+)['\"]")


def check_no_sinks():
    files = glob.glob(os.path.join(WWW, "**", "*.js"), recursive=True)
    assert files, "no script in %s" % WWW
    hits = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if SINKS.search(line):
                    hits.append("%s:%d: %s" % (os.path.relpath(path, WWW), n,
                                               line.strip()))
    assert not hits, "HTML/script sinks in www/:\n" + "\n".join(hits)


# ---------------------------------------------------------------- the browser run

def expired_session(inst):
    """A session JWT for the administrator, correctly signed with the
    instance's key but expired an hour ago (what a tab left open past
    session_minutes holds)."""
    me = inst.login_full(harness.ADMIN)["user"]
    now = int(time.time())
    claims = {"iss": "tokencat", "aud": "tokencat-api", "sub": me["id"],
              "jti": str(uuid.uuid4()), "iat": now - 7200, "exp": now - 3600,
              "token_use": "session", "auth_provider": "local"}
    token = harness.sign_jwt(inst.signing_key(), claims)
    st, _, body = inst.req("GET", "/auth/me", token=token)
    assert st == 401, "the expired session was accepted: %d %r" % (st, body)
    return token


def run_node(inst):
    """Run admin_page.mjs against inst; returns its (passed, failed)."""
    env = dict(os.environ)
    env.update({
        "BASE_URL": "http://127.0.0.1:%d/" % inst.port,
        "PASSWORDS": json.dumps(harness.PASSWORDS),
        "EXPIRED_SESSION": expired_session(inst),
    })
    node = os.environ.get("NODE") or "node"
    proc = subprocess.Popen([node, os.path.join(HERE, "admin_page.mjs")],
                            env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)
    watchdog = threading.Timer(NODE_TIMEOUT, proc.kill)
    watchdog.start()
    last = None
    seen = [0, 0]       # "ok" and "FAIL" lines, in case the count never comes
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            m = re.fullmatch(r"(\d+) passed, (\d+) failed", line)
            if m:
                last = (int(m.group(1)), int(m.group(2)))
                continue
            if line.startswith("ok    "):
                seen[0] += 1
            elif line.startswith("FAIL  "):
                seen[1] += 1
            print(line, flush=True)
        rc = proc.wait()
    finally:
        watchdog.cancel()
    if last is None or rc < 0:
        why = ("killed by signal %d (timeout %d s?)" % (-rc, NODE_TIMEOUT)
               if rc < 0 else "ended (exit %d) without a count" % rc)
        return seen[0], seen[1] + 1, "admin_page.mjs %s" % why
    if rc != 0 and last[1] == 0:
        return last[0], 1, "admin_page.mjs exited %d" % rc
    return last[0], last[1], None


def main():
    global passed, failed
    case("www: no inline script or style in the HTML (CSP default-src 'self')",
         check_no_inline)
    case("www: no innerHTML/eval-like sinks in the scripts", check_no_sinks)

    # a maximum other than the default: the form must take it from the
    # server (GET /auth/me token_policy)
    inst = harness.Instance("browser", conf={"max_token_days": "180"})
    try:
        inst.start()
        p, f, err = run_node(inst)
        passed += p
        failed += f
        if err:
            print("FAIL  %s" % err, flush=True)
    except Exception as e:      # noqa: BLE001 - the instance did not start
        failed += 1
        print("FAIL  browser run: %s" % e, flush=True)
    finally:
        inst.close()
        print("logs: %s/%s.lighttpd-error.log" % (harness.LOGDIR, inst.name))
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
