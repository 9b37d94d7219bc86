#!/bin/sh
# run.sh - the benchmarks of make bench; figures on stdout, compared side by
# side in one run on one lighttpd (bench/RESULTS.md keeps a run's output):
#   1. GET /auth/check with a valid token that has a usage limit (uses
#      recorded) against a no-op libfcgi responder (bench/noop_fcgi), same
#      request headers and worker count, at 2 and 4 workers a door and at
#      16 and 256 connections, runs alternated;     goal >= 0.95x, and
#      p99 latency at 256 connections <= 1.2x the no-op's;
#      and against the no-op that ends its connections as tokencat does,
#      without libfcgi's lingering close (NOOP_CLOSE_AT_ONCE=1): the
#      check's own work, apart from the transport;  a figure
#   2. usage statistics at 100k and at 1M recorded uses against 100
#      (bench/bench_stats);                          goal <= 3x
#   3. durable token creates per second (POST /tokens: the token and its
#      audit event in one LMDB commit flushed to disk before the answer,
#      shared by the creates that wait for it; the token's indexes in
#      their own environment, not flushed) against the
#      machine's durable-commit limit, a one-put commit loop
#      (bench/bench_commit) on the same disk, the two alternated in
#      ROUNDS3 rounds, and how many creates the workers' group commits
#      held;                                          goal >= 0.8x
#   4. GET /tokens?limit=50 for a user with 100k tokens against one with
#      10, and the admin list of all tokens at 100k (bench/bench_fill);
#                                                    goal <= 2x
#   5. the workers' resident memory over RSS_REQUESTS /auth/check requests;
#                                                    goal: flat
#   6. the PostgreSQL store against the LMDB store, on the same lighttpd:
#      one database on a private PostgreSQL 15 (tests/pg/pgcluster.py)
#      served by two doors, "host A" (/pga) and "host B" (/pgb), each with
#      its own tokencat.conf, copy of the signing key and WORKERS workers;
#      a. /auth/check with a token without a usage limit, PostgreSQL (A)
#         against LMDB;                              goal >= 0.8x
#      b. the same with a token that has a usage limit (every use admitted
#         by the database);                          a figure
#         after a and after b, the uses PostgreSQL wrote, per second;
#                                                    figures
#      c. durable token creates per second, PostgreSQL against LMDB;
#                                                    a figure
#      d. the time from a revocation on A to refusal on B, median and max
#         over SPREAD_TRIES tries (bench/spread.py);  a figure
#      skipped, saying so, when PostgreSQL 15 is not installed.
# Needs lighttpd, wrk, curl and python3. Environment: WORKERS (4),
# SECONDS_EACH (10), ROUNDS3 (5), CONNECTIONS (32), USES (100000), BIG_USES (1000000),
# TOKENS (100000), RSS_REQUESTS (1000000), SPREAD_TRIES (50). ONLY=1,4
# runs some parts.
set -eu
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${WORKERS:=4}" "${SECONDS_EACH:=10}" "${CONNECTIONS:=32}" "${USES:=100000}"
: "${BIG_USES:=1000000}" "${TOKENS:=100000}" "${RSS_REQUESTS:=1000000}"
: "${SPREAD_TRIES:=50}"
: "${ONLY:=1,2,3,4,5,6}"
LIGHTTPD=${LIGHTTPD:-$(command -v lighttpd || echo /usr/sbin/lighttpd)}
command -v wrk >/dev/null || { echo "bench: wrk missing (apt-get install wrk)"; exit 1; }
B=$top_builddir

D=$(mktemp -d /tmp/tcbench-XXXXXX)
PGCLUSTER="python3 $top_srcdir/tests/pg/pgcluster.py"
PGD=
trap 'kill $(cat "$D/pid" 2>/dev/null) 2>/dev/null; sleep 1
	[ -z "$PGD" ] || $PGCLUSTER stop "$PGD"; rm -rf "$D"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
want() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }
PG6=
if want 6; then
	if python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import pgcluster
sys.exit(0 if pgcluster.available() else 1)' "$top_srcdir/tests/pg"; then
		PG6=yes
	else
		echo "bench: part 6 skipped: PostgreSQL 15 not found (apt-get install postgresql-15)"
	fi
fi

# Two catalogs: "api" (the check, the creates) and "big" (bench_fill's
# users with 10 and TOKENS tokens, and an admin).
for db in api big; do
	printf 'database = %s/%s\nlog_level = error\n' "$D" "$db" > "$D/$db.conf"
	"$B/src/tokencat" -c "$D/$db.conf" init >/dev/null
done
CLI="$B/src/tokencat -c $D/api.conf"
printf 'bench-password-1\n' | $CLI user add bench@example.com >/dev/null
S=$($CLI session bench@example.com)
if want 4; then
	t0=$(date +%s)
	"$B/bench/bench_fill" "$D/big" small@example.com page@example.com \
	    big@example.com "$TOKENS" 2>/dev/null
	printf 'bench-password-1\n' | "$B/src/tokencat" -c "$D/big.conf" \
	    user add admin@example.com --admin >/dev/null
	FILL_S=$(( $(date +%s) - t0 ))
fi

PGDOORS=
if [ -n "$PG6" ]; then
	# one database, hosts A and B: a tokencat.conf and a key file each
	PGD=$($PGCLUSTER start tcbenchpg-)
	PGURI=$($PGCLUSTER createdb "$PGD" tc_bench)
	# B spells the URI its own way, as another host would: the stores of
	# one host that open one conninfo share a change counter, and B must
	# learn A's changes from the change feed only (bench/SCALE.md)
	for h in pga pgb; do
		u=$PGURI
		[ "$h" = pga ] || u="$PGURI&fallback_application_name=host-b"
		printf 'database = %s\nsigning_key_file = %s/%s.key\nlog_level = error\n' \
		    "$u" "$D" "$h" > "$D/$h.conf"
	done
	"$B/src/tokencat" -c "$D/pga.conf" init >/dev/null
	cp -p "$D/pga.key" "$D/pgb.key"
	printf 'bench-password-1\n' | "$B/src/tokencat" -c "$D/pga.conf" \
	    user add bench@example.com >/dev/null
	SP=$("$B/src/tokencat" -c "$D/pgb.conf" session bench@example.com)
	PGDOORS=$(printf ',\n  "/%s" => (( "bin-path" => "%s",\n    "socket" => "%s", "check-local" => "disable", "max-procs" => %s,\n    "bin-environment" => ( "TOKENCAT_CONFIG" => "%s" ) ))' \
	    pga "$B/src/tokencat.fcgi" "$D/pga.sock" "$WORKERS" "$D/pga.conf" \
	    pgb "$B/src/tokencat.fcgi" "$D/pgb.sock" "$WORKERS" "$D/pgb.conf")
fi

cat > "$D/lighttpd.conf" <<CONF
server.modules = ( "mod_fastcgi" )
server.bind = "127.0.0.1"
server.port = $PORT
server.document-root = "$D"
server.errorlog = "$D/error.log"
server.pid-file = "$D/pid"
server.max-keep-alive-requests = 100000
fastcgi.server = (
  "/api" => (( "bin-path" => "$B/src/tokencat.fcgi",
    "socket" => "$D/tc.sock", "check-local" => "disable", "max-procs" => $WORKERS,
    "bin-environment" => ( "TOKENCAT_CONFIG" => "$D/api.conf" ) )),
  "/big" => (( "bin-path" => "$B/src/tokencat.fcgi",
    "socket" => "$D/big.sock", "check-local" => "disable", "max-procs" => $WORKERS,
    "bin-environment" => ( "TOKENCAT_CONFIG" => "$D/big.conf" ) )),
  "/w2-api" => (( "bin-path" => "$B/src/tokencat.fcgi",
    "socket" => "$D/tc2.sock", "check-local" => "disable", "max-procs" => 2,
    "bin-environment" => ( "TOKENCAT_CONFIG" => "$D/api.conf" ) )),
  "/w2-noop" => (( "bin-path" => "$B/bench/noop_fcgi",
    "socket" => "$D/noop2.sock", "check-local" => "disable", "max-procs" => 2 )),
  "/w2-noopq" => (( "bin-path" => "$B/bench/noop_fcgi",
    "socket" => "$D/noopq2.sock", "check-local" => "disable", "max-procs" => 2,
    "bin-environment" => ( "NOOP_CLOSE_AT_ONCE" => "1" ) )),
  "/w4-api" => (( "bin-path" => "$B/src/tokencat.fcgi",
    "socket" => "$D/tc4.sock", "check-local" => "disable", "max-procs" => 4,
    "bin-environment" => ( "TOKENCAT_CONFIG" => "$D/api.conf" ) )),
  "/w4-noop" => (( "bin-path" => "$B/bench/noop_fcgi",
    "socket" => "$D/noop4.sock", "check-local" => "disable", "max-procs" => 4 )),
  "/w4-noopq" => (( "bin-path" => "$B/bench/noop_fcgi",
    "socket" => "$D/noopq4.sock", "check-local" => "disable", "max-procs" => 4,
    "bin-environment" => ( "NOOP_CLOSE_AT_ONCE" => "1" ) ))$PGDOORS )
CONF
"$LIGHTTPD" -f "$D/lighttpd.conf"
for i in 1 2 3 4 5 6 7 8 9 10; do
	curl -fsS "$URL/api/health" >/dev/null 2>&1 && break
	sleep 0.5
done
T=$(curl -fsS -H "Authorization: Bearer $S" -H 'Content-Type: application/json' \
    -d '{"name":"bench","expires_in_days":30,"scope":{"usage_limits":{"requests_per_minute":1000000000}}}' \
    "$URL/api/tokens" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# wrk_out URL [wrk options...]: wrk's report (C connections, default
# CONNECTIONS)
wrk_out() {
	url=$1; shift
	wrk -t2 -c"${C:-$CONNECTIONS}" -d"${SECONDS_EACH}s" --latency "$@" "$url"
}
# rps, p50 and p99 of a wrk report on stdin:
# "<req/s> <p50 in ms> <non-2xx> <p99 in ms>"
rps_p50() {
	awk 'function ms(v, m) { m = 1
		if (v ~ /us$/) m = 0.001; else if (v ~ /ms$/) m = 1; else if (v ~ /s$/) m = 1000
		sub(/[a-z]+$/, "", v); return v * m }
	    /^Requests\/sec/ { r = $2 }
	    /^ +50%/ { p = ms($2) }
	    /^ +99%/ { q = ms($2) }
	    / Non-2xx or 3xx responses/ { bad = $NF }
	    END { printf "%.0f %.3f %d %.3f\n", r, p, bad, q }'
}
ratio() { python3 -c "import sys; a, b = map(float, sys.argv[1:]); print('%.2f' % (a / b))" "$1" "$2"; }

echo "bench: $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m), $(nproc) cpu," \
    "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
    "lighttpd $WORKERS workers a door, wrk $CONNECTIONS connections, ${SECONDS_EACH}s a run"

# p99r A B C D: (A + B) / (C + D), two decimals
p99r() { python3 -c 'import sys; a, b, c, d = map(float, sys.argv[1:]); print("%.2f" % ((a + b) / (c + d)))' "$@"; }
# check_pair W C: part 1 with W workers a door (/wW-api, /wW-noop,
# /wW-noopq) and C connections: the three alternated, two runs each
check_pair() {
	# The doors get the same request headers, so that lighttpd's share of
	# the work (parsing them, passing them as FastCGI parameters) is the
	# same and the ratio compares the workers.
	H_AUTH="Authorization: Bearer $T"
	H_URI="X-Original-URI: /tools/x"
	H_METHOD="X-Original-Method: GET"
	C=$2
	wrk_out "$URL/w$1-noop/" -H "$H_AUTH" >/dev/null    # warm up
	for i in 1 2; do
		set -- "$1" "$2" $(wrk_out "$URL/w$1-noop/" -H "$H_AUTH" -H "$H_URI" -H "$H_METHOD" | rps_p50)
		eval "N$i=\$3 NQ$i=\$6"
		set -- "$1" "$2" $(wrk_out "$URL/w$1-api/auth/check" -H "$H_AUTH" -H "$H_URI" -H "$H_METHOD" | rps_p50)
		eval "C$i=\$3 E$i=\$5 CQ$i=\$6"
		set -- "$1" "$2" $(wrk_out "$URL/w$1-noopq/" -H "$H_AUTH" -H "$H_URI" -H "$H_METHOD" | rps_p50)
		eval "Q$i=\$3 QQ$i=\$6"
	done
	C=
	echo "   $1 workers a door, $2 connections:"
	echo "     no-op responder:    $(( (N1 + N2) / 2 )) req/s (runs $N1, $N2), p99 $NQ1, $NQ2 ms"
	echo "     /auth/check:        $(( (C1 + C2) / 2 )) req/s (runs $C1, $C2; non-200: $((E1 + E2))), p99 $CQ1, $CQ2 ms"
	echo "     ratio:              $(ratio $((C1 + C2)) $((N1 + N2))) (goal >= 0.95);" \
	    "p99 $(p99r "$CQ1" "$CQ2" "$NQ1" "$NQ2")x the no-op's"
	echo "     no-op, same close:  $(( (Q1 + Q2) / 2 )) req/s (runs $Q1, $Q2), p99 $QQ1, $QQ2 ms"
	echo "     ratio to it:        $(ratio $((C1 + C2)) $((Q1 + Q2)));" \
	    "p99 $(p99r "$CQ1" "$CQ2" "$QQ1" "$QQ2")x its"
}

if want 1; then
	echo "1. /auth/check (usage limit, uses recorded) against a no-op responder"
	for w in 2 4; do
		for c in 16 256; do
			check_pair "$w" "$c"
		done
	done
	ST=$(curl -fsS -H "Authorization: Bearer $S" "$URL/api/tokens?limit=1" |
	    python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"][0]["id"])')
	curl -fsS -H "Authorization: Bearer $S" "$URL/api/tokens/$ST/usage?days=1" |
	    python3 -c 'import json,sys; u=json.load(sys.stdin); print("   uses recorded:        %d (all in the statistics)" % u["total_requests"])'
fi

if want 2; then
	echo "2. usage statistics against the number of recorded uses"
	"$B/bench/bench_stats" "$USES" | sed 's/^/   /'
	"$B/bench/bench_stats" "$BIG_USES" | sed 's/^/   /'
fi

if want 3; then
	cat > "$D/create.lua" <<'LUA'
-- POST /api/tokens with a name unique to the round (wrk's argument),
-- the thread and the request
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
local round, n = "0", 0
function init(args) round = args[1] or "0" end
function request()
	n = n + 1
	return wrk.format("POST", nil, nil,
	    '{"name":"c-' .. round .. '-' .. tid .. '-' .. n .. '","expires_in_days":30}')
end
LUA
	# The loop and the creates alternated in ROUNDS3 rounds, each
	# SECONDS_EACH / ROUNDS3 s: this disk's commits/s drift by up to 2x
	# within minutes, so both are measured over the same minutes.
	R3=${ROUNDS3:-5}
	S3=$(( SECONDS_EACH / R3 > 0 ? SECONDS_EACH / R3 : 1 ))
	LSUM=0 CSUM=0 BAD=0 P50S= RATIOS=
	for i in $(seq "$R3"); do
		L=$("$B/bench/bench_commit" "$D/commit" "$S3")
		set -- $(wrk -t2 -c"$CONNECTIONS" -d"${S3}s" --latency -s "$D/create.lua" \
		    -H "Authorization: Bearer $S" -H 'Content-Type: application/json' \
		    "$URL/api/tokens" -- "$i" | rps_p50)
		LSUM=$((LSUM + L)) CSUM=$(python3 -c "print(round($CSUM + $1))")
		BAD=$((BAD + $3)) P50S="$P50S $2" RATIOS="$RATIOS $(ratio "$1" "$L")"
	done
	echo "3. durable token creates (POST /tokens, flushed before the answer)"
	echo "   one-put commit loop:  $((LSUM / R3)) commits/s (the machine's limit; mean of $R3 rounds)"
	echo "   creates:              $((CSUM / R3)) /s (mean), p50 of each round:$P50S ms (non-2xx: $BAD)"
	echo "   ratio:                $(ratio "$CSUM" "$LSUM") (goal >= 0.8); each round's:$RATIOS"
	# the group commit file's counters (store_group.c: commits, writes)
	python3 -c 'import struct, sys
c, w = struct.unpack("<56xQQ", open(sys.argv[1], "rb").read(72))
print("   group commits:        %d holding %d creates (%.1f each)" % (c, w, w / max(c, 1)))' "$D/api/commitq"
fi

if want 4; then
	SS=$("$B/src/tokencat" -c "$D/big.conf" session small@example.com)
	SP=$("$B/src/tokencat" -c "$D/big.conf" session page@example.com)
	SB=$("$B/src/tokencat" -c "$D/big.conf" session big@example.com)
	SA=$("$B/src/tokencat" -c "$D/big.conf" session admin@example.com)
	TOTAL=$(curl -fsS -H "Authorization: Bearer $SB" "$URL/big/tokens?limit=1" |
	    python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
	set -- $(wrk_out "$URL/big/tokens?limit=50" -H "Authorization: Bearer $SS" | rps_p50); L1=$1; P1=$2
	set -- $(wrk_out "$URL/big/tokens?limit=50" -H "Authorization: Bearer $SP" | rps_p50); L2=$1; P2=$2
	set -- $(wrk_out "$URL/big/tokens?limit=50" -H "Authorization: Bearer $SB" | rps_p50); L3=$1; P3=$2
	set -- $(wrk_out "$URL/big/tokens/admin/all?limit=100" -H "Authorization: Bearer $SA" | rps_p50); L4=$1; P4=$2
	echo "4. listing (a catalog of $((TOTAL + 60)) tokens, filled in ${FILL_S}s)"
	echo "   GET /tokens?limit=50, user with 10 tokens:   $L1 req/s, p50 $P1 ms"
	echo "   GET /tokens?limit=50, user with 50 tokens:   $L2 req/s, p50 $P2 ms"
	echo "   GET /tokens?limit=50, user with $TOTAL:  $L3 req/s, p50 $P3 ms"
	echo "   ratio $TOTAL / 10 tokens: $(ratio "$L1" "$L3") in req/s (goal <= 2;" \
	    "the pages hold 50 and 10 tokens)"
	echo "   ratio $TOTAL / 50 tokens: $(ratio "$L2" "$L3") in req/s (same page of 50)"
	echo "   GET /tokens/admin/all?limit=100 of $((TOTAL + 60)): $L4 req/s, p50 $P4 ms"
fi

if want 5; then
	pids() {
		for p in /proc/[0-9]*; do
			tr '\0' '\n' < "$p/environ" 2>/dev/null |
			    grep -qx "TOKENCAT_CONFIG=$D/api.conf" && echo "${p#/proc/}"
		done 2>/dev/null
	}
	# heap and stack (RssAnon) apart from the mapped database files (RssFile)
	rss() { for p in $(pids); do cat "/proc/$p/status"; done 2>/dev/null |
	    awk '/^RssAnon/ { a += $2; n++ } /^RssFile/ { f += $2 }
		END { printf "anonymous %d KiB, mapped files %d KiB (%d workers)", a, f, n }'; }
	echo "5. worker memory over $RSS_REQUESTS /auth/check requests"
	echo "   at 0:                 $(rss)"
	done_n=0
	while [ "$done_n" -lt "$RSS_REQUESTS" ]; do
		n=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" -H "Authorization: Bearer $T" \
		    -H "X-Original-URI: /tools/x" "$URL/api/auth/check" |
		    awk '/requests in/ { print $1 }')
		done_n=$((done_n + n))
		echo "   at $done_n:$(printf '%*s' $((14 - ${#done_n})) '')$(rss)"
	done
fi

if [ -n "$PG6" ]; then
	# token NAME SESSION PREFIX [SCOPE]: a new token's access token
	token() {
		curl -fsS -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
		    -d '{"name":"'"$1"'","expires_in_days":30,"scope":{'"${4:-}"'}}' \
		    "$URL$3/tokens" |
		    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
	}
	LIM='"usage_limits":{"requests_per_minute":1000000000}'
	TL0=$(token pg6-free "$S" /api)
	TL1=$(token pg6-limit "$S" /api "$LIM")
	TP0=$(token pg6-free "$SP" /pga)
	TP1=$(token pg6-limit "$SP" /pga "$LIM")
	# check_stores TOKEN_LMDB TOKEN_PG: /auth/check on /api and on /pga,
	# twice each, alternating; "<lmdb> <pg> <runs> <non-200>"
	check_stores() {
		GOAL=$3
		H_URI="X-Original-URI: /tools/x"
		H_METHOD="X-Original-Method: GET"
		wrk_out "$URL/api/auth/check" -H "Authorization: Bearer $1" -H "$H_URI" >/dev/null
		wrk_out "$URL/pga/auth/check" -H "Authorization: Bearer $2" -H "$H_URI" >/dev/null
		set -- "$1" "$2" $(wrk_out "$URL/api/auth/check" -H "Authorization: Bearer $1" -H "$H_URI" -H "$H_METHOD" | rps_p50); L1=$3; E=$5
		set -- "$1" "$2" $(wrk_out "$URL/pga/auth/check" -H "Authorization: Bearer $2" -H "$H_URI" -H "$H_METHOD" | rps_p50); P1=$3; E=$((E + $5))
		set -- "$1" "$2" $(wrk_out "$URL/api/auth/check" -H "Authorization: Bearer $1" -H "$H_URI" -H "$H_METHOD" | rps_p50); L2=$3; E=$((E + $5))
		set -- "$1" "$2" $(wrk_out "$URL/pga/auth/check" -H "Authorization: Bearer $2" -H "$H_URI" -H "$H_METHOD" | rps_p50); P2=$3; E=$((E + $5))
		echo "      LMDB:               $(( (L1 + L2) / 2 )) req/s (runs $L1, $L2)"
		echo "      PostgreSQL:         $(( (P1 + P2) / 2 )) req/s (runs $P1, $P2; non-200 of all four: $E)"
		echo "      ratio:              $(ratio $((P1 + P2)) $((L1 + L2)))$GOAL"
	}
	echo "6. PostgreSQL store against LMDB (one database, hosts A and B: $WORKERS workers each)"
	# uses_now: the uses PostgreSQL holds, once host A's workers have
	# written their last batches (an idle worker writes within 100 ms)
	uses_now() {
		u0=-1
		while :; do
			u1=$($PGCLUSTER psql "$PGD" tc_bench "SELECT count(*) FROM uses")
			[ "$u1" = "$u0" ] && break
			u0=$u1
			sleep 0.5
		done
		echo "$u1"
	}
	echo "   a. /auth/check, token without a usage limit"
	check_stores "$TL0" "$TP0" " (goal >= 0.8)"
	UA=$(uses_now)
	echo "      uses written:       $UA in 3 runs of ${SECONDS_EACH} s on A, $(( UA / (3 * SECONDS_EACH) ))/s (in batches)"
	echo "   b. /auth/check, token with a usage limit (uses admitted by the store)"
	check_stores "$TL1" "$TP1" ""
	UB=$(( $(uses_now) - UA ))
	echo "      uses written:       $UB in 3 runs of ${SECONDS_EACH} s on A, $(( UB / (3 * SECONDS_EACH) ))/s (one round trip each)"
	cat > "$D/create6.lua" <<'LUA'
-- POST /tokens with a name unique to the thread and request
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
local n = 0
function request()
	n = n + 1
	return wrk.format("POST", nil, nil,
	    '{"name":"pg6-' .. tid .. '-' .. n .. '","expires_in_days":30}')
end
LUA
	set -- $(wrk_out "$URL/api/tokens" -s "$D/create6.lua" -H "Authorization: Bearer $S" \
	    -H 'Content-Type: application/json' | rps_p50); CL=$1; CLP=$2; CLE=$3
	set -- $(wrk_out "$URL/pga/tokens" -s "$D/create6.lua" -H "Authorization: Bearer $SP" \
	    -H 'Content-Type: application/json' | rps_p50)
	echo "   c. durable token creates (POST /tokens)"
	echo "      LMDB:               $CL /s, p50 $CLP ms (non-2xx: $CLE)"
	echo "      PostgreSQL:         $1 /s, p50 $2 ms (non-2xx: $3)"
	echo "      ratio:              $(ratio "$1" "$CL")"
	echo "   d. revocation on host A to refusal on host B"
	echo "      $(python3 "$top_srcdir/bench/spread.py" "$URL/pga" "$URL/pgb" "$SP" "$SPREAD_TRIES")"
fi
