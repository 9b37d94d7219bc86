#!/bin/sh
# tokencat-spawn.sh - start a pool of tokencat.fcgi workers with
# spawn-fcgi(1) (Debian package spawn-fcgi), for web servers that connect
# to FastCGI workers instead of starting them: nginx (etc/nginx/) and
# Apache mod_proxy_fcgi / mod_authnz_fcgi (etc/apache2/). systemd users
# take etc/systemd/ instead.
#
# Copy it to /usr/local/sbin/tokencat-spawn and run it as root at boot:
#   sh /usr/local/sbin/tokencat-spawn
# spawn-fcgi binds the socket, forks the workers (which inherit the socket
# on standard input and TOKENCAT_CONFIG in their environment), writes
# their process ids to the pid file and returns. Stop them with
#   kill $(cat /run/tokencat/tokencat.pid)
# (SIGTERM: each worker finishes its request, then exits).
#
# spawn-fcgi points the workers' standard error to /dev/null, and that is
# where tokencat.fcgi writes its log lines: each worker is started through
# "sh -c 'exec ... 2>>LOG'", which keeps its process id (exec) and sends
# them to TOKENCAT_LOG. The line it runs, with the defaults below, is
#   TOKENCAT_CONFIG=/etc/tokencat/tokencat.conf \
#   TOKENCAT_LOG=/var/log/tokencat/workers.log spawn-fcgi \
#       -s /run/tokencat/tokencat.sock -M 0600 -U www-data -u tokencat \
#       -F 4 -P /run/tokencat/tokencat.pid -- /bin/sh -c \
#       'exec "$0" 2>>"$TOKENCAT_LOG"' /usr/local/sbin/tokencat.fcgi
#
# Workers and connections: a worker (libfcgi) serves one FastCGI
# connection at a time, and a connection the web server keeps open after
# a request keeps its worker busy. TOKENCAT_WORKERS must be larger than
# the number of FastCGI connections the web server keeps open: nginx with
# "fastcgi_keep_conn on" keeps up to "keepalive" connections per nginx
# worker process, Apache mod_proxy_fcgi with "enablereuse=on" up to its
# pool size per child process. The samples keep none (the default of both),
# so TOKENCAT_WORKERS is simply how many requests are answered at once.
#
# tests/servers/ run this script as it is (only the path of tokencat.fcgi
# replaced), with the variables below set in the environment.

# The configuration the workers read (tokencat.conf(5)).
: "${TOKENCAT_CONFIG:=/etc/tokencat/tokencat.conf}"
# Where they listen: a UNIX socket (a path), or ADDRESS:PORT for TCP,
# which mod_authnz_fcgi needs (it cannot use UNIX sockets). Any local user
# can connect to a TCP port: keep it on 127.0.0.1 and never use TCP with
# trust_remote_user = true.
: "${TOKENCAT_LISTEN:=/run/tokencat/tokencat.sock}"
# How many workers (see "Workers and connections").
: "${TOKENCAT_WORKERS:=4}"
# The user the workers run as; it owns the database (/var/lib/tokencat):
#   adduser --system --group --home /var/lib/tokencat tokencat
# Empty: stay the user who runs the script.
: "${TOKENCAT_USER=tokencat}"
# The user that may connect to the UNIX socket (mode 0600): the web
# server's, www-data on Debian. Empty: the user who runs the script.
: "${TOKENCAT_SOCKET_OWNER=www-data}"
# The workers' log (their standard error), in a directory the script makes
# and gives to TOKENCAT_USER; rotate it with copytruncate.
: "${TOKENCAT_LOG:=/var/log/tokencat/workers.log}"
# The pid file (one process id per line).
: "${TOKENCAT_PIDFILE:=/run/tokencat/tokencat.pid}"
# spawn-fcgi itself.
: "${SPAWN_FCGI:=spawn-fcgi}"

export TOKENCAT_CONFIG TOKENCAT_LOG
case $TOKENCAT_LISTEN in
/*)
	mkdir -p "${TOKENCAT_LISTEN%/*}" || exit 1
	set -- -s "$TOKENCAT_LISTEN" -M 0600
	[ -z "$TOKENCAT_SOCKET_OWNER" ] || set -- "$@" -U "$TOKENCAT_SOCKET_OWNER"
	;;
*:*)
	set -- -a "${TOKENCAT_LISTEN%:*}" -p "${TOKENCAT_LISTEN##*:}"
	;;
*)
	echo "tokencat-spawn.sh: TOKENCAT_LISTEN must be a path or ADDRESS:PORT" >&2
	exit 2
	;;
esac
mkdir -p "${TOKENCAT_PIDFILE%/*}" "${TOKENCAT_LOG%/*}" || exit 1
if [ -n "$TOKENCAT_USER" ]; then
	set -- "$@" -u "$TOKENCAT_USER"
	chown "$TOKENCAT_USER" "${TOKENCAT_LOG%/*}" || exit 1
fi
exec "$SPAWN_FCGI" "$@" -F "$TOKENCAT_WORKERS" -P "$TOKENCAT_PIDFILE" \
    -- /bin/sh -c 'exec "$0" 2>>"$TOKENCAT_LOG"' /usr/local/sbin/tokencat.fcgi
