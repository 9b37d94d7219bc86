#!/bin/sh
# run-pg-units.sh - tests/test_store_pg against a private PostgreSQL 15,
# run by `make check` (Makefile.am exports top_builddir, top_srcdir and
# PYTHON3). Starts a cluster with pgcluster.py (unix socket only, in a
# temporary directory), creates the database tc_unit, runs the Criterion
# binary with TOKENCAT_TEST_PG set to its URI, and stops the cluster.
# Exit 77 (skip) when PostgreSQL or python3 is missing, unless CI=true:
# then that is a failure. Extra arguments go to the test binary
# (e.g. --filter 'store_pg/admit*').

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
[ -n "${PYTHON3:-}" ] || PYTHON3=$(command -v python3 || true)

missing() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $1 (CI=true: the PostgreSQL store must be tested)"
		exit 1
	fi
	echo "SKIP: $1"
	exit 77
}

if [ -z "$PYTHON3" ] || [ ! -x "$PYTHON3" ]; then
	missing "python3 not found (apt-get install python3)"
fi
bin="$top_builddir/tests/test_store_pg"
if [ ! -x "$bin" ]; then
	echo "ERROR: $bin is not built"
	exit 1
fi
# the cluster's directory holds its UNIX socket: keep the path short
TMPDIR=${TMPDIR:-/tmp}
export TMPDIR

exec "$PYTHON3" -B - "$top_srcdir/tests/pg" "$bin" "$@" <<'PY'
import os, subprocess, sys

sys.path.insert(0, sys.argv[1])
import pgcluster

if not pgcluster.available():
    msg = "PostgreSQL 15 not found (apt-get install postgresql-15)"
    if os.environ.get("CI") == "true":
        print("FAIL: %s (CI=true: the PostgreSQL store must be tested)" % msg)
        sys.exit(1)
    print("SKIP: " + msg)
    sys.exit(77)
c = pgcluster.Cluster(prefix="tcpgu-")
try:
    c.start()
    env = dict(os.environ, TOKENCAT_TEST_PG=c.createdb("tc_unit"))
    print("pg-units: PostgreSQL in %s" % c.dir, flush=True)
    # one test at a time (each makes a database of its own, and the run
    # takes no longer so): Criterion's runner (2.4.1) itself leaks 48
    # bytes under LeakSanitizer when it runs these tests in parallel, a
    # report that would fail the sanitizer pass with no test of ours
    # involved
    rc = subprocess.run([sys.argv[2], "--jobs", "1"] + sys.argv[3:],
                        env=env).returncode
except AssertionError as e:
    print("ERROR: %s" % e)
    rc = 1
finally:
    c.stop()
sys.exit(rc)
PY
