#!/bin/sh
# run-browser.sh - the end-to-end test of the admin page (www/) in headless
# Chromium, run by `make check` (Makefile.am exports top_builddir,
# top_srcdir, LIGHTTPD and PYTHON3). run_browser.py starts a private
# lighttpd + tokencat.fcgi instance with the black-box harness and drives
# the page with admin_page.mjs (playwright-core).
#
# playwright-core comes from the npm registry, pinned by package-lock.json,
# installed with `npm ci` into $top_builddir/tests/browser/node_modules (the
# source tree may be read-only under distcheck) and reused while the lock
# file is unchanged. Screenshots go to $top_builddir/tests/browser/screenshots.
#
# The last line is "N passed, N failed"; exit 0 only when all passed.
# Exit 77 (skip) when chromium, node or npm is missing, unless CI=true:
# then a missing tool is a failure.
#
# Environment: CHROMIUM, NODE, NPM (the programs), BROWSER_ARTIFACTS (the
# screenshot directory), BROWSER_LOGDIR (the instance's logs).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
[ -n "${LIGHTTPD:-}" ] || LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
[ -n "${PYTHON3:-}" ] || PYTHON3=$(command -v python3 || true)
[ -n "${NODE:-}" ] || NODE=$(command -v node || command -v nodejs || true)
[ -n "${NPM:-}" ] || NPM=$(command -v npm || true)
if [ -z "${CHROMIUM:-}" ]; then
	CHROMIUM=/usr/bin/chromium
	[ -x "$CHROMIUM" ] || CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
fi

SRC=$top_srcdir/tests/browser
WORK=$top_builddir/tests/browser

# fail MESSAGE: a failure that counts as one failed case.
fail() {
	echo "ERROR: $*"
	echo "0 passed, 1 failed"
	exit 1
}

# missing WHAT PACKAGE: skip, or fail under CI.
missing() {
	if [ "${CI:-}" = true ]; then
		fail "$1 not found (apt-get install $2); CI=true, so this is a failure"
	fi
	echo "SKIP: $1 not found (apt-get install $2)"
	exit 77
}

[ -n "$CHROMIUM" ] && [ -x "$CHROMIUM" ] || missing chromium chromium
[ -n "$NODE" ] && [ -x "$NODE" ] || missing node nodejs
[ -n "$NPM" ] && [ -x "$NPM" ] || missing npm npm
[ -x "$LIGHTTPD" ] || missing lighttpd lighttpd
[ -n "$PYTHON3" ] && [ -x "$PYTHON3" ] || missing python3 python3
for prog in "$top_builddir/src/tokencat" "$top_builddir/src/tokencat.fcgi"; do
	[ -x "$prog" ] || fail "$prog is not built"
done

# --- playwright-core: npm ci into the build tree, unless already there
mkdir -p "$WORK" || fail "cannot create $WORK"
STAMP=$WORK/node_modules/.tokencat-lock
if [ -f "$WORK/node_modules/playwright-core/package.json" ] &&
    cmp -s "$SRC/package-lock.json" "$STAMP"; then
	echo "browser: reusing $WORK/node_modules"
else
	if [ "$(cd "$WORK" && pwd -P)" != "$(cd "$SRC" && pwd -P)" ]; then
		# copies of possibly read-only files: replace, then make writable
		rm -f "$WORK/package.json" "$WORK/package-lock.json"
		cp "$SRC/package.json" "$SRC/package-lock.json" "$WORK/" ||
		    fail "cannot copy package.json to $WORK"
		chmod u+w "$WORK/package.json" "$WORK/package-lock.json"
	fi
	echo "browser: npm ci in $WORK"
	(cd "$WORK" && "$NPM" ci --no-audit --no-fund --loglevel=error) ||
	    fail "npm ci failed (the npm registry must be reachable the first time)"
	cp "$SRC/package-lock.json" "$STAMP" || fail "cannot write $STAMP"
fi

BROWSER_ARTIFACTS=${BROWSER_ARTIFACTS:-$WORK/screenshots}
# the harness keeps each instance's logs in BLACKBOX_LOGDIR: ours are apart
BLACKBOX_LOGDIR=${BROWSER_LOGDIR:-$WORK/logs}
rm -f "$BROWSER_ARTIFACTS"/*.png "$BLACKBOX_LOGDIR"/*.log
mkdir -p "$BROWSER_ARTIFACTS" "$BLACKBOX_LOGDIR" || exit 99
PLAYWRIGHT_PREFIX=$WORK
# the harness's temporary directories hold UNIX sockets: keep paths short
TMPDIR=${TMPDIR:-/tmp}
export top_srcdir top_builddir LIGHTTPD PYTHON3 NODE CHROMIUM \
    BROWSER_ARTIFACTS BLACKBOX_LOGDIR PLAYWRIGHT_PREFIX TMPDIR

echo "browser: chromium=$CHROMIUM node=$NODE ($("$NODE" --version))"
echo "browser: screenshots in $BROWSER_ARTIFACTS, logs in $BLACKBOX_LOGDIR"
exec "$PYTHON3" -B "$SRC/run_browser.py" "$@"
