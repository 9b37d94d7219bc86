#!/bin/sh
# run-blackbox.sh - the black-box suite, run by `make check` (Makefile.am
# exports top_builddir, top_srcdir, LIGHTTPD and PYTHON3). Starts private
# lighttpd + tokencat.fcgi instances on loopback ports; see harness.py.
# Exit 77 (skip) only when lighttpd or python3 is missing.
# Extra arguments go to run_all.py (e.g. -k Lockout, or test_auth).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
[ -n "${LIGHTTPD:-}" ] || LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
[ -n "${PYTHON3:-}" ] || PYTHON3=$(command -v python3 || true)

if [ ! -x "$LIGHTTPD" ]; then
	echo "SKIP: lighttpd not found (apt-get install lighttpd)"
	exit 77
fi
if [ -z "$PYTHON3" ] || [ ! -x "$PYTHON3" ]; then
	echo "SKIP: python3 not found (apt-get install python3)"
	exit 77
fi
for prog in "$top_builddir/src/tokencat" "$top_builddir/src/tokencat.fcgi"; do
	if [ ! -x "$prog" ]; then
		echo "ERROR: $prog is not built"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

BLACKBOX_LOGDIR=${BLACKBOX_LOGDIR:-$top_builddir/tests/blackbox/logs}
rm -f "$BLACKBOX_LOGDIR"/*.log
mkdir -p "$BLACKBOX_LOGDIR" || exit 99
export top_srcdir top_builddir LIGHTTPD PYTHON3 BLACKBOX_LOGDIR
# the harness's temporary directories hold UNIX sockets: keep paths short
TMPDIR=${TMPDIR:-/tmp}
export TMPDIR

echo "black-box: lighttpd=$LIGHTTPD python3=$PYTHON3"
echo "black-box: binaries from $top_builddir/src, logs in $BLACKBOX_LOGDIR"
exec "$PYTHON3" -B "$top_srcdir/tests/blackbox/run_all.py" "$@"
