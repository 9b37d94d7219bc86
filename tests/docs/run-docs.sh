#!/bin/sh
# run-docs.sh - the documentation check of make check (check_docs.py):
# man pages against --help, the config key table and the route table.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
[ -n "${PYTHON3:-}" ] || PYTHON3=$(command -v python3 || true)
if [ -z "$PYTHON3" ]; then
	echo "SKIP: python3 not found"
	exit 77
fi
export top_srcdir top_builddir
exec "$PYTHON3" -B "$top_srcdir/tests/docs/check_docs.py"
