#!/bin/sh
# run.sh - benchmarks, figures on stdout (make bench). Side by side in one
# run, on one lighttpd with the same worker count:
#   1. GET /auth/check with a valid token that has a usage limit (usage
#      recorded) against a no-op libfcgi responder (bench/noop_fcgi);
#   2. usage statistics at 100k recorded uses against 100 (bench/bench_stats).
# Needs lighttpd, wrk and curl. Environment: WORKERS (4), SECONDS_EACH (10),
# CONNECTIONS (32), USES (100000).
set -eu
: "${top_builddir:=$(pwd)}"
: "${WORKERS:=4}" "${SECONDS_EACH:=10}" "${CONNECTIONS:=32}" "${USES:=100000}"
LIGHTTPD=${LIGHTTPD:-$(command -v lighttpd || echo /usr/sbin/lighttpd)}
command -v wrk >/dev/null || { echo "bench: wrk missing (apt-get install wrk)"; exit 1; }

D=$(mktemp -d /tmp/tcbench-XXXXXX)
trap 'kill $(cat "$D/pid" 2>/dev/null) 2>/dev/null; sleep 1; rm -rf "$D"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CLI="$top_builddir/src/tokencat -c $D/tokencat.conf"
printf 'database = %s/db\nlog_level = error\n' "$D" > "$D/tokencat.conf"
$CLI init >/dev/null
printf 'bench-password-1\n' | $CLI user add bench@example.com >/dev/null
S=$($CLI session bench@example.com)
cat > "$D/lighttpd.conf" <<CONF
server.modules = ( "mod_fastcgi" )
server.bind = "127.0.0.1"
server.port = $PORT
server.document-root = "$D"
server.errorlog = "$D/error.log"
server.pid-file = "$D/pid"
server.max-keep-alive-requests = 100000
fastcgi.server = (
  "/api" => (( "bin-path" => "$top_builddir/src/tokencat.fcgi",
    "socket" => "$D/tc.sock", "check-local" => "disable", "max-procs" => $WORKERS,
    "bin-environment" => ( "TOKENCAT_CONFIG" => "$D/tokencat.conf" ) )),
  "/noop" => (( "bin-path" => "$top_builddir/bench/noop_fcgi",
    "socket" => "$D/noop.sock", "check-local" => "disable", "max-procs" => $WORKERS )) )
CONF
"$LIGHTTPD" -f "$D/lighttpd.conf"
for i in 1 2 3 4 5 6 7 8 9 10; do
	curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break
	sleep 0.5
done
T=$(curl -fsS -H "Authorization: Bearer $S" -H 'Content-Type: application/json' \
    -d '{"name":"bench","expires_in_days":30,"scope":{"usage_limits":{"requests_per_minute":1000000000}}}' \
    "http://127.0.0.1:$PORT/api/tokens" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# rps URL [headers...]: requests per second that wrk reaches
rps() {
	url=$1; shift
	wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" "$@" "$url" |
	    awk '/^Requests\/sec/ { print $2 }'
}
echo "bench: $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m), $(nproc) cpu, lighttpd $WORKERS workers each, wrk $CONNECTIONS connections, ${SECONDS_EACH}s a run"
# Both doors get the same request headers, so that lighttpd's share of
# the work (parsing them, passing them as FastCGI parameters) is the same
# and the ratio compares the workers.
H_AUTH="Authorization: Bearer $T"
H_URI="X-Original-URI: /tools/x"
H_METHOD="X-Original-Method: GET"
rps "http://127.0.0.1:$PORT/noop/" -H "$H_AUTH" >/dev/null    # warm up
N1=$(rps "http://127.0.0.1:$PORT/noop/" -H "$H_AUTH" -H "$H_URI" -H "$H_METHOD")
C1=$(rps "http://127.0.0.1:$PORT/api/auth/check" -H "$H_AUTH" -H "$H_URI" -H "$H_METHOD")
N2=$(rps "http://127.0.0.1:$PORT/noop/" -H "$H_AUTH" -H "$H_URI" -H "$H_METHOD")
C2=$(rps "http://127.0.0.1:$PORT/api/auth/check" -H "$H_AUTH" -H "$H_URI" -H "$H_METHOD")
python3 - "$N1" "$C1" "$N2" "$C2" <<'PY'
import sys
n1, c1, n2, c2 = map(float, sys.argv[1:])
n, c = (n1 + n2) / 2, (c1 + c2) / 2
print("no-op responder:      %8.0f req/s (runs %.0f, %.0f)" % (n, n1, n2))
print("/auth/check + usage:  %8.0f req/s (runs %.0f, %.0f)" % (c, c1, c2))
print("ratio check/no-op:    %8.2f (goal >= 0.8)" % (c / n))
PY
ST=$(curl -fsS -H "Authorization: Bearer $S" "http://127.0.0.1:$PORT/api/tokens?limit=1" |
    python3 -c 'import json,sys; t=json.load(sys.stdin)["tokens"][0]; print(t["id"])')
curl -fsS -H "Authorization: Bearer $S" "http://127.0.0.1:$PORT/api/tokens/$ST/usage?days=1" |
    python3 -c 'import json,sys; u=json.load(sys.stdin); print("uses recorded during the run: %d (all visible in statistics)" % u["total_requests"])'
"$top_builddir/bench/bench_stats" "$USES"
