#!/bin/sh
# test.sh - install what is missing, build with -Werror and run every test
# (`make -k check`: the Criterion unit tests and the black-box suite against
# real lighttpd + tokencat.fcgi instances, once on LMDB and once on a
# private PostgreSQL, tests/pg/run-blackbox-pg.sh). Prints each suite's result, the
# logs of failures, and as the LAST line "N passed, N failed" summed over
# every test case. Exit status 0 only if nothing failed and tests ran.
#
#   sh scripts/test.sh
#
# Builds in the source tree (so it works before or after scripts/run.sh);
# a tree configured without --enable-werror is reconfigured and cleaned.
# Then tests/build/nocriterion.sh configures, builds and checks a copy of
# the distribution with Criterion hidden from pkg-config.
# With TOKENCAT_HARDENING=1 (as in CI) the whole suite runs a second time,
# built with ASan and UBSan in ./asan/, then each libFuzzer harness of
# fuzz/ for FUZZ_SECONDS (10), then the worker under valgrind through a
# request mix (tests/valgrind/); the last line sums all of it.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1

say() { printf '%s\n' "test.sh: $*"; }
die() { printf '%s\n' "test.sh: error: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

. "$ROOT/scripts/common.sh"

# Configure in the tree with --enable-werror (autoreconf first when needed).
# A previous configuration without it is replaced and its objects removed,
# so every file is compiled again with -Werror.
configure_werror() {
	if [ ! -x configure ] || newer configure.ac configure ||
	    newer Makefile.am configure; then
		say "autoreconf -fi"
		autoreconf -fi || die "autoreconf failed"
	fi
	if [ -f config.status ] && [ -f Makefile ] &&
	    ! newer configure config.status &&
	    ./config.status --config | grep -q -- '--enable-werror'; then
		return 0
	fi
	[ -f Makefile ] && make clean >/dev/null 2>&1
	say "./configure --enable-werror"
	./configure -q --enable-werror || die "configure failed"
}

# Print one line per test log and add its counts to PASSED/FAILED:
# Criterion's Synthesis line, or the last "N passed, N failed" line
# (black-box and other suites), or else the automake result in the .trs.
summarize() {
	for log in tests/*.log tests/*/*.log; do
		[ -f "$log" ] || continue
		case $log in
		*/test-suite.log) continue ;;
		esac
		name=${log%.log}
		clean=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
		syn=$(printf '%s\n' "$clean" | grep 'Synthesis:' | tail -n 1)
		pf=$(printf '%s\n' "$clean" |
		    grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
		res=$(sed -n 's/^:test-result: //p' "$name.trs" 2>/dev/null |
		    head -n 1)
		if [ -n "$syn" ]; then
			p=$(printf '%s' "$syn" | sed -n 's/.*Passing: *\([0-9]*\).*/\1/p')
			f=$(printf '%s' "$syn" | sed -n 's/.*Failing: *\([0-9]*\).*/\1/p')
			c=$(printf '%s' "$syn" | sed -n 's/.*Crashing: *\([0-9]*\).*/\1/p')
			: "${p:=0}" "${f:=0}" "${c:=0}"
			PASSED=$((PASSED + p))
			FAILED=$((FAILED + f + c))
			printf '  %-34s %s  [%s]\n' "$name" \
			    "$(printf '%s' "$syn" | sed 's/^.*Synthesis: *//')" \
			    "${res:-?}"
			# the binary failed without a failing case (e.g. exit code)
			[ "$res" = FAIL ] || [ "$res" = ERROR ] &&
			    [ $((f + c)) -eq 0 ] && FAILED=$((FAILED + 1))
		elif [ -n "$pf" ]; then
			p=${pf%% passed*}
			f=${pf#*passed, }
			f=${f%% failed}
			PASSED=$((PASSED + p))
			FAILED=$((FAILED + f))
			printf '  %-34s %s  [%s]\n' "$name" "$pf" "${res:-?}"
			[ "$res" = FAIL ] || [ "$res" = ERROR ] &&
			    [ "$f" -eq 0 ] && FAILED=$((FAILED + 1))
		else
			case $res in
			PASS|XFAIL) PASSED=$((PASSED + 1)) ;;
			SKIP) ;;
			*) FAILED=$((FAILED + 1)) ;;
			esac
			printf '  %-34s %s\n' "$name" "no counts: ${res:-no result}"
		fi
	done
	return 0
}

# check_pass TITLE: run make -k check here, print the per-program lines
# and the failures, add the counts to PASSED and FAILED.
check_pass() {
	say "make -k check ($1)"
	make -k -j"$(nproc 2>/dev/null || echo 2)" check
	status=$?
	before=$FAILED
	echo
	echo "=== results per test program ($1)"
	summarize
	if [ $status -ne 0 ] && [ -f test-suite.log ]; then
		echo
		echo "=== test-suite.log ($1, failures)"
		cat test-suite.log
	fi
	if [ $status -ne 0 ] && [ "$FAILED" -eq "$before" ]; then
		say "make -k check failed (status $status) outside the counted" \
		    "tests (build error?)"
		FAILED=$((FAILED + 1))
	fi
}

# The second pass of TOKENCAT_HARDENING=1 (.ci/run sets it): the
# distribution tree built with ASan and UBSan (errors abort) in ./asan/,
# the whole suite again, and any sanitizer report in its logs (workers
# write theirs to the web servers' logs) counted as a failure.
sanitizer_pass() {
	rm -rf asan
	make distdir distdir=asan >/dev/null || { FAILED=$((FAILED + 1));
	    say "make distdir failed"; return; }
	(
		cd asan || exit 1
		./configure -q --enable-werror --enable-sanitizers ||
		    { say "configure --enable-sanitizers failed"; exit 1; }
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
		export ASAN_OPTIONS UBSAN_OPTIONS
		PASSED=0 FAILED=0
		check_pass "ASan + UBSan"
		reports=$(grep -rlE 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		    tests 2>/dev/null | grep -v '\.trs$')
		if [ -n "$reports" ]; then
			echo "=== sanitizer reports in:"
			printf '  %s\n' $reports
			FAILED=$((FAILED + 1))
		fi
		echo "$PASSED $FAILED" > ../asan.counts
	) || { FAILED=$((FAILED + 1)); return; }
	read -r p f < asan.counts
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	rm -f asan.counts
}

install_missing $PACKAGES $TEST_PACKAGES
configure_werror
PASSED=0
FAILED=0
check_pass "-Werror"
# run_counted TITLE LOG COMMAND...: run COMMAND into LOG, show it, add its
# last "N passed, N failed" line to the totals (none: one failure).
run_counted() {
	title=$1 log=$2
	shift 2
	echo
	say "$title"
	"$@" > "$log" 2>&1
	cat "$log"
	pf=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -n "$pf" ]; then
		p=${pf%% passed*}
		f=${pf#*passed, }
		PASSED=$((PASSED + p))
		FAILED=$((FAILED + ${f%% failed}))
	else
		FAILED=$((FAILED + 1))
	fi
}

run_counted "configure, make and make check without Criterion" \
    nocriterion.log sh tests/build/nocriterion.sh .

if [ -n "${TOKENCAT_HARDENING:-}" ]; then
	echo
	sanitizer_pass
	run_counted "fuzz/run.sh ${FUZZ_SECONDS:-10} (each harness)" fuzz.log \
	    sh fuzz/run.sh "${FUZZ_SECONDS:-10}"
	run_counted "the worker under valgrind through a request mix" \
	    valgrind.log env top_builddir="$ROOT" top_srcdir="$ROOT" \
	    python3 -B tests/valgrind/worker_mix.py
fi
[ "$PASSED" -eq 0 ] && [ "$FAILED" -eq 0 ] && say "no tests ran"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
