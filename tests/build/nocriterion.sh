#!/bin/sh
# nocriterion.sh - configure, build and make check without Criterion
# (issue 12): the distribution tree of this build (make distdir) is
# configured in a temporary directory with a pkg-config search path that
# has every .pc file of this machine except criterion.pc, so configure
# finds no Criterion without anything being uninstalled. Checks:
#   1. configure succeeds and says that the unit tests are off;
#   2. make builds src/tokencat and src/tokencat.fcgi, which run;
#   3. make check runs tests/units-off.sh (SKIP) in place of the unit
#      tests and the other suites as usual (the docs suite here, the
#      quick one; the others need nothing from Criterion either);
#   4. Makefile.am names each unit test once, in UNIT_TESTS (no
#      per-test stanza).
# Run by scripts/test.sh from a configured build tree:
#   sh tests/build/nocriterion.sh [BUILDDIR]     (default: .)
# Prints "ok"/"FAIL" per check and, last, "N passed, N failed".

BUILD=$(cd "${1:-.}" && pwd) || exit 1
PASSED=0
FAILED=0
ok() { echo "ok   $1"; PASSED=$((PASSED + 1)); }
fail() {
	echo "FAIL $1"
	[ -z "${2:-}" ] || [ ! -f "$2" ] || sed 's/^/     | /' "$2" | tail -n 30
	FAILED=$((FAILED + 1))
}
finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}

T=$(mktemp -d "${TMPDIR:-/tmp}/tcnocrit-XXXXXX") || exit 1
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT INT TERM
unset MAKEFLAGS MFLAGS MAKELEVEL

# the pkg-config path without criterion.pc
mkdir "$T/pc"
IFS=:
for dir in ${PKG_CONFIG_PATH:-} $(pkg-config --variable pc_path pkg-config); do
	for pc in "$dir"/*.pc; do
		[ -f "$pc" ] || continue
		name=${pc##*/}
		[ "$name" != criterion.pc ] || continue
		[ -e "$T/pc/$name" ] || ln -s "$pc" "$T/pc/$name"
	done
done
unset IFS
if PKG_CONFIG_LIBDIR=$T/pc PKG_CONFIG_PATH= pkg-config --exists criterion; then
	fail "criterion.pc hidden from pkg-config"
	finish
fi

make -s -C "$BUILD" distdir distdir="$T/tree" >"$T/distdir.log" 2>&1 ||
    { fail "make distdir" "$T/distdir.log"; finish; }
cd "$T/tree" || exit 1

# 1. configure
if PKG_CONFIG_LIBDIR=$T/pc PKG_CONFIG_PATH= ./configure --enable-werror \
    >"$T/configure.log" 2>&1; then
	if grep -q "unit tests are off" "$T/configure.log"; then
		ok "configure without Criterion succeeds and says the unit tests are off"
	else
		fail "configure does not say that the unit tests are off" \
		    "$T/configure.log"
	fi
else
	fail "configure without Criterion" "$T/configure.log"
	finish
fi

# 2. the programs
if make -j2 >"$T/make.log" 2>&1 && ./src/tokencat --version >/dev/null &&
    [ -x src/tokencat.fcgi ]; then
	ok "make builds src/tokencat and src/tokencat.fcgi"
else
	fail "make without Criterion" "$T/make.log"
	finish
fi

# 3. make check: the stand-in skips, the other suites run; the value of
# TESTS is the Makefile's own, only without the slow suites
make check TESTS='$(UNIT_RUN) $(DOCS_TESTS)' >"$T/check.log" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q '^SKIP: tests/units-off.sh' "$T/check.log" &&
    grep -q '^PASS: tests/docs/run-docs.sh' "$T/check.log" &&
    ! grep -q 'tests/test_' "$T/check.log" &&
    grep -q '^UNIT_RUN = tests/units-off.sh' Makefile; then
	ok "make check skips the unit tests (SKIP) and runs the other suites"
else
	fail "make check without Criterion (status $st)" "$T/check.log"
fi

# 4. one list of unit tests in Makefile.am
stanzas=$(grep -c '^tests_test_[a-z_]*_\(SOURCES\|LDADD\|CFLAGS\)' Makefile.am)
if [ "$stanzas" -eq 0 ] && grep -q '^UNIT_TESTS = ' Makefile.am; then
	ok "Makefile.am lists the unit tests once (no per-test stanza)"
else
	fail "Makefile.am has $stanzas per-test lines"
fi
finish
