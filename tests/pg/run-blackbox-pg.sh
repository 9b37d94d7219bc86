#!/bin/sh
# run-blackbox-pg.sh - the whole black-box suite once more, on PostgreSQL:
# run by `make check` (Makefile.am exports top_builddir, top_srcdir,
# LIGHTTPD and PYTHON3). harness.py, seeing TOKENCAT_STORE=pg, starts one
# private cluster (tests/pg/pgcluster.py) for the run and gives every
# instance a database of its own. Logs go to tests/blackbox/logs-pg.
# Prints "N passed, N failed" last. Exit 77 (skip) when PostgreSQL is
# missing, unless CI=true: then that is a failure.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
[ -n "${PYTHON3:-}" ] || PYTHON3=$(command -v python3 || true)

if [ -n "$PYTHON3" ] && [ -x "$PYTHON3" ] &&
    ! "$PYTHON3" -B -c "import sys; sys.path.insert(0, sys.argv[1]);
import pgcluster; sys.exit(0 if pgcluster.available() else 1)" \
    "$top_srcdir/tests/pg"; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL: PostgreSQL 15 not found (CI=true: the PostgreSQL store must be tested)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "SKIP: PostgreSQL 15 not found (apt-get install postgresql-15)"
	exit 77
fi
TOKENCAT_STORE=pg
BLACKBOX_LOGDIR=${BLACKBOX_LOGDIR_PG:-$top_builddir/tests/blackbox/logs-pg}
export TOKENCAT_STORE BLACKBOX_LOGDIR top_srcdir top_builddir
echo "black-box on PostgreSQL"
exec sh "$top_srcdir/tests/blackbox/run-blackbox.sh" "$@"
