#!/bin/sh
# fuzz/run.sh [SECONDS] [HARNESS...] - build the libFuzzer harnesses of
# fuzz/ with clang (-fsanitize=fuzzer,address,undefined) straight from
# src/*.c (no autotools involved) and run each for SECONDS (default 60),
# seeded from fuzz/corpus/<harness>/. One result line per harness, then as
# the last line "N passed, N failed" (passed = the harness ran its time
# without a crash, leak, timeout or sanitizer report).
#
# Environment:
#   FUZZ_CC       compiler (default clang)
#   FUZZ_WORKDIR  objects, binaries, grown corpora, crash artifacts and logs
#                 (default $top_builddir/fuzz-work, else ./fuzz-work)
#   CI            when "true", a missing clang/libFuzzer is a failure
#                 instead of a skip (exit 77)
# Exit status: 0 all passed, 1 something failed, 77 clang or its fuzzer
# runtime is missing (and CI is not "true").
# Crashing inputs are kept as $FUZZ_WORKDIR/artifacts/<harness>-crash-*;
# rerun one with: $FUZZ_WORKDIR/bin/<harness> FILE

secs=${1:-60}
[ $# -gt 0 ] && shift
case $secs in
''|*[!0-9]*) echo "usage: fuzz/run.sh [SECONDS] [HARNESS...]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
CC=${FUZZ_CC:-clang}
work=${FUZZ_WORKDIR:-${top_builddir:-.}/fuzz-work}
mkdir -p "$work" || exit 99
work=$(cd "$work" && pwd)

ALL="fuzz_token_input fuzz_router fuzz_jws fuzz_config fuzz_scope fuzz_request"
HARNESSES=${*:-$ALL}

skip_or_fail() {
	echo "fuzz: $1"
	if [ "${CI:-}" = true ]; then
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "SKIP: $1 (apt-get install clang libclang-rt-14-dev)"
	exit 77
}

command -v "$CC" >/dev/null 2>&1 || skip_or_fail "$CC not found"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)' \
    > "$work/probe.c"
printf '{ (void)d; (void)n; return 0; }\n' >> "$work/probe.c"
"$CC" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" \
    > "$work/probe.log" 2>&1 ||
	skip_or_fail "$CC cannot link -fsanitize=fuzzer (see $work/probe.log)"

# libseccomp and libpq: src/transport/sandbox.c and src/store/pg/ are compiled
# with the rest (no harness calls them)
PKGS="json-c lmdb libjwt libcrypto libseccomp libpq"
# shellcheck disable=SC2086 # a list of package names
pkg_cflags=$(pkg-config --cflags $PKGS) &&
pkg_libs=$(pkg-config --libs $PKGS) || {
	echo "fuzz: pkg-config $PKGS failed (apt-get install pkg-config" \
	    "libjson-c-dev liblmdb-dev libjwt-dev libssl-dev libseccomp-dev libpq-dev)"
	echo "0 passed, 1 failed"
	exit 1
}

# every folder of src/ is on the include path, as in Makefile.am
src_inc=""
for d in $(find "$top/src" -type d); do src_inc="$src_inc -I$d"; done
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# the quotes in -D...=\"...\" are meant literally (C string literals)
# shellcheck disable=SC2089
CFLAGS_F="-g -O1 -std=gnu11 -Werror=implicit-function-declaration -Werror=int-conversion -D_GNU_SOURCE -DSYSCONFDIR=\"/etc\" -DPKGDATADIR=\"/usr/share/tokencat\" $src_inc -I$here $pkg_cflags"

# --- build: every .c under src/ but the two mains, once, with fuzzer coverage
mkdir -p "$work/obj" "$work/bin" "$work/artifacts" "$work/corpus" "$work/logs"
objs=""
for c in $(find "$top/src" -name '*.c' | sort); do
	b=$(basename "$c" .c)
	case $b in main_*) continue ;; esac
	o="$work/obj/$b.o"
	if [ ! -f "$o" ] || [ -n "$(find "$c" "$top/src" -name '*.[ch]' \
	    -newer "$o" 2>/dev/null | grep -v '/main_' | head -1)" ]; then
		# shellcheck disable=SC2086,SC2090
		"$CC" $CFLAGS_F $SAN -fsanitize=fuzzer-no-link -c "$c" -o "$o" \
		    2>>"$work/build.log" || { echo "fuzz: cannot compile $c (see $work/build.log)"; echo "0 passed, 1 failed"; exit 1; }
	fi
	objs="$objs $o"
done

passed=0
failed=0
for h in $HARNESSES; do
	bin="$work/bin/$h"
	# shellcheck disable=SC2086,SC2090
	if ! "$CC" $CFLAGS_F $SAN -fsanitize=fuzzer "$here/$h.c" $objs $pkg_libs -lm \
	    -o "$bin" 2>>"$work/build.log"; then
		echo "FAIL  $h: does not build (see $work/build.log)"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$work/corpus/$h"
	seeds=""
	[ -d "$here/corpus/$h" ] && seeds="$here/corpus/$h"
	dict=""
	[ -f "$here/$h.dict" ] && dict="-dict=$here/$h.dict"
	log="$work/logs/$h.log"
	t0=$(date +%s)
	# shellcheck disable=SC2086
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$bin" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2560 \
	    -max_len=8192 -print_final_stats=1 -error_exitcode=1 \
	    -artifact_prefix="$work/artifacts/$h-" $dict \
	    "$work/corpus/$h" $seeds > "$log" 2>&1
	rc=$?
	t1=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	info="$((t1 - t0))s, ${execs:-?} execs, ${cov:-cov: ?}, corpus $(ls "$work/corpus/$h" | wc -l)"
	if [ $rc -eq 0 ]; then
		echo "PASS  $h ($info)"
		passed=$((passed + 1))
	else
		echo "FAIL  $h (exit $rc; $info)"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' "$log" |
		    head -8 | sed 's/^/    | /'
		echo "    | log: $log"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
