#!/bin/sh
# run.sh - build tokencat and run it locally behind lighttpd on
# http://127.0.0.1:8080 (API under /api, www/ as the page), with a first
# admin account. For a bare Debian 12 box, as root or with sudo.
#
#   sh scripts/run.sh              install what is missing, build, (re)start
#   sh scripts/run.sh stop         stop the running instance
#   sh scripts/run.sh config [DIR] only write DIR/tokencat.conf and
#                                  DIR/lighttpd.conf (default ./run) and
#                                  print the latter's path: nothing is
#                                  installed, built or started (the tests
#                                  run this very configuration)
#
# Everything it makes lives in ./run/ (git-ignored): tokencat.conf, the
# database, lighttpd.conf, the pid file, lighttpd's error log and
# tokencat.log (the workers' log lines: lighttpd's server.breakagelog).
# TOKENCAT_PORT sets the port (default 8080).
set -eu

PORT=${TOKENCAT_PORT:-8080}
ADMIN_EMAIL=admin@example.com
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN=$ROOT/run
CALLER=$(pwd)
cd "$ROOT"

say() { printf '%s\n' "run.sh: $*"; }
die() { printf '%s\n' "run.sh: error: $*" >&2; exit 1; }

. "$ROOT/scripts/common.sh"

# Build in the source tree: autoreconf when configure is missing or older
# than configure.ac/Makefile.am, configure when not configured yet, make.
build() {
	if [ ! -x configure ] || newer configure.ac configure ||
	    newer Makefile.am configure; then
		say "autoreconf -fi"
		autoreconf -fi
	fi
	if [ ! -f config.status ] || [ ! -f Makefile ] ||
	    newer configure config.status; then
		say "./configure"
		./configure -q
	fi
	say "make"
	make -j"$(nproc 2>/dev/null || echo 2)"
}

# Stop the lighttpd of run/lighttpd.pid (and so its workers), if running.
stop_server() {
	pidfile=$RUN/lighttpd.pid
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile" 2>/dev/null || true)
	case $pid in
	''|*[!0-9]*) rm -f "$pidfile"; return 0 ;;
	esac
	if kill -0 "$pid" 2>/dev/null; then
		say "stopping lighttpd (pid $pid)"
		kill "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pidfile"
}

# run/tokencat.conf.
write_tokencat_conf() {
	mkdir -p "$RUN"
	chmod 755 "$RUN"
	cat >"$RUN/tokencat.conf" <<EOF
# written by scripts/run.sh
database = $RUN/db
log_level = info
EOF
}

# run/tokencat.conf, the database and key, and the admin account with a
# fresh password (printed at the end).
setup_instance() {
	write_tokencat_conf
	TC="$ROOT/src/tokencat -c $RUN/tokencat.conf"
	$TC init
	ADMIN_PW=$(head -c 15 /dev/urandom | base64 | tr '+/' '-_')
	if $TC user list 2>/dev/null | grep -qi "$ADMIN_EMAIL"; then
		printf '%s\n' "$ADMIN_PW" |
		    $TC user set "$ADMIN_EMAIL" --password --enable --admin
	else
		printf '%s\n' "$ADMIN_PW" |
		    $TC user add "$ADMIN_EMAIL" --admin --full-name Administrator
	fi
}

# run/lighttpd.conf: loopback only, the API under /api through
# mod_fastcgi (lighttpd spawns the workers), www/ for everything else.
write_lighttpd_conf() {
	cat >"$RUN/lighttpd.conf" <<EOF
# written by scripts/run.sh
server.modules = ( "mod_setenv", "mod_fastcgi" )
server.bind = "127.0.0.1"
server.port = $PORT
server.document-root = "$ROOT/www"
server.errorlog = "$RUN/lighttpd-error.log"
server.breakagelog = "$RUN/tokencat.log"
server.pid-file = "$RUN/lighttpd.pid"
server.tag = "tokencat"
# Connections: idle or never-finishing connections must not take the site
# down. lighttpd serves every connection from one event loop, so an open
# connection costs a file descriptor, not a worker: allow many (max-fds,
# raised by lighttpd itself when run as root; max-connections at most
# max-fds / 2) and close those that stall: 10 s without a byte of the
# request, 30 s without reading the answer, 5 s idle between kept-alive
# requests (etc/lighttpd/tokencat.conf says more about each value).
server.max-fds = 16384
server.max-connections = 8192
server.max-read-idle = 10
server.max-write-idle = 30
server.max-keep-alive-idle = 5
index-file.names = ( "index.html" )
mimetype.assign = (
  ".html" => "text/html; charset=utf-8",
  ".css" => "text/css; charset=utf-8",
  ".js" => "text/javascript; charset=utf-8",
  ".svg" => "image/svg+xml",
  ".png" => "image/png",
)
# the page: scripts and styles from its own origin only, in no other
# site's frame (clickjacking; X-Frame-Options for older browsers)
\$HTTP["url"] !~ "^/api(/|\$)" {
  setenv.add-response-header = (
    "Content-Security-Policy" => "default-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options" => "DENY",
    "X-Content-Type-Options" => "nosniff",
  )
}
fastcgi.server = ( "/api" => ((
  "bin-path" => "$ROOT/src/tokencat.fcgi",
  "socket" => "$RUN/tokencat.sock",
  "check-local" => "disable",
  "max-procs" => 4,
  "bin-environment" => ( "TOKENCAT_CONFIG" => "$RUN/tokencat.conf" ),
)))
EOF
}

# Start lighttpd (it daemonizes) and wait up to 10 s for /api/health.
start_server() {
	LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
	"$LIGHTTPD" -tt -f "$RUN/lighttpd.conf" >/dev/null ||
	    die "lighttpd rejects $RUN/lighttpd.conf"
	"$LIGHTTPD" -f "$RUN/lighttpd.conf" || {
		tail -n 20 "$RUN/lighttpd-error.log" >&2 2>/dev/null || true
		die "lighttpd did not start (is port $PORT in use?)"
	}
	i=0
	until curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -ge 100 ]; then
			tail -n 20 "$RUN/lighttpd-error.log" >&2 2>/dev/null ||
			    true
			die "no answer from http://127.0.0.1:$PORT/api/health" \
			    "after 10 s (log: $RUN/lighttpd-error.log)"
		fi
		sleep 0.1
	done
}

case ${1:-start} in
stop)
	stop_server
	say "stopped"
	exit 0
	;;
config)
	[ $# -le 2 ] || { echo "usage: sh scripts/run.sh config [DIR]" >&2; exit 2; }
	dir=${2:-$RUN}
	case $dir in
	/*) ;;
	*) dir=$CALLER/$dir ;;
	esac
	mkdir -p "$dir"
	RUN=$(cd "$dir" && pwd)
	write_tokencat_conf
	write_lighttpd_conf
	printf '%s\n' "$RUN/lighttpd.conf"
	exit 0
	;;
start) ;;
*)
	echo "usage: sh scripts/run.sh [start|stop|config [DIR]]" >&2
	exit 2
	;;
esac

install_missing $PACKAGES
build
stop_server
setup_instance
write_lighttpd_conf
start_server

cat <<EOF

tokencat is running: http://127.0.0.1:$PORT/  (API: http://127.0.0.1:$PORT/api/)
  admin e-mail:    $ADMIN_EMAIL
  admin password:  $ADMIN_PW
  logs:            $RUN/tokencat.log (workers), $RUN/lighttpd-error.log
  stop:            sh scripts/run.sh stop

Log in (prints a session JWT in "access_token"):
  curl -sS -X POST -H 'Content-Type: application/json' -d '{"email": "$ADMIN_EMAIL", "password": "$ADMIN_PW"}' http://127.0.0.1:$PORT/api/auth/login
EOF
