#!/bin/sh
# run-servers.sh - the web-server suite, run by `make check`: every
# deployment sample of etc/ (lighttpd, Apache 2.4 with mod_proxy_fcgi,
# mod_authnz_fcgi, mod_fcgid, mod_cgid and basic auth, nginx with
# auth_request, spawn-fcgi, the systemd units) with the real servers of
# Debian's packages on loopback ports; see tests/servers/servers.py.
#
# The last line is "N passed, N failed"; exit 0 only when all passed.
# A missing server skips its tests; if any is missing and nothing failed
# the exit is 77 (automake's SKIP) - unless CI=true, where a missing
# server fails its tests. Extra arguments go to run_all.py (-k SUBSTRING,
# or module names such as test_nginx).
#
# Environment (all optional): top_srcdir, top_builddir (default: this
# tree), PYTHON3, LIGHTTPD, APACHE2, NGINX, SPAWN_FCGI, HTPASSWD,
# SYSTEMD_ANALYZE, APACHE_MODULES, SERVERS_LOGDIR (default
# $top_builddir/tests/servers/logs), CI.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
[ -n "${PYTHON3:-}" ] || PYTHON3=$(command -v python3 || true)

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

# which servers are there (the tests find them the same way)
PATH=$PATH:/usr/sbin:/usr/bin:/sbin
missing=
for p in "LIGHTTPD lighttpd" "APACHE2 apache2" "NGINX nginx" \
    "SPAWN_FCGI spawn-fcgi" "HTPASSWD htpasswd" \
    "SYSTEMD_ANALYZE systemd-analyze"; do
	var=${p% *}
	name=${p#* }
	eval "given=\${$var:-}"
	if [ -n "$given" ]; then
		[ -x "$given" ] || missing="$missing $name"
	else
		command -v "$name" >/dev/null 2>&1 || missing="$missing $name"
	fi
done
[ -d "${APACHE_MODULES:-/usr/lib/apache2/modules}" ] ||
    missing="$missing apache2-modules"

BLACKBOX_LOGDIR=${SERVERS_LOGDIR:-$top_builddir/tests/servers/logs}
rm -f "$BLACKBOX_LOGDIR"/*.log
mkdir -p "$BLACKBOX_LOGDIR" || exit 99
PYTHONPATH=$top_srcdir/tests/servers${PYTHONPATH:+:$PYTHONPATH}
# the instances' temporary directories hold UNIX sockets: keep paths short
TMPDIR=${TMPDIR:-/tmp}
export top_srcdir top_builddir PYTHON3 BLACKBOX_LOGDIR PYTHONPATH TMPDIR PATH

modules=
for f in "$top_srcdir"/tests/servers/test_*.py; do
	m=${f##*/}
	modules="$modules ${m%.py}"
done

echo "servers: python3=$PYTHON3 CI=${CI:-}"
echo "servers: binaries from $top_builddir/src, logs in $BLACKBOX_LOGDIR"
[ -z "$missing" ] || echo "servers: not installed:$missing"

# the modules of this directory unless some are named
named=
for a in "$@"; do
	case $a in
	test_*) named=yes ;;
	esac
done
[ -n "$named" ] || set -- "$@" $modules

out=$BLACKBOX_LOGDIR/run-servers.out
{
	"$PYTHON3" -B "$top_srcdir/tests/blackbox/run_all.py" "$@"
	echo $? >"$out.status"
} | tee "$out"
status=$(cat "$out.status" 2>/dev/null || echo 1)
rm -f "$out.status"
counts=$(tail -n 1 "$out")
case $counts in
"0 failed"*|*" 0 failed") failed=0 ;;
*) failed=1 ;;
esac
if [ -n "$missing" ] && [ "${CI:-}" != true ] && [ "$failed" -eq 0 ]; then
	exit 77         # nothing failed, but some servers were not there
fi
exit "$status"
