# common.sh - shared by run.sh, test.sh and .ci/run (sourced; say and die
# are theirs): the Debian packages tokencat needs, and their installation.

# To build and run tokencat behind lighttpd (README, first command);
# Criterion for the unit tests (configure builds without it and says that
# the unit tests are off).
PACKAGES="build-essential autoconf automake pkg-config libfcgi-dev \
libjson-c-dev liblmdb-dev libjwt-dev libssl-dev libcriterion-dev libpq-dev \
libseccomp-dev lighttpd curl python3 tzdata"

# What the tests need on top (README, second command): mandoc for the
# man-page checks, the web servers the samples are tested with, Chromium
# and Node.js for the admin page's test (playwright-core from npm),
# lmdb-utils for the reader-table checks, clang for the fuzzers,
# valgrind for the worker's memory check and postgresql-15 for the
# PostgreSQL store's tests (a private cluster: tests/pg/pgcluster.py).
TEST_PACKAGES="mandoc apache2 apache2-utils \
libapache2-mod-fcgid nginx spawn-fcgi systemd chromium nodejs lmdb-utils \
clang libclang-rt-14-dev valgrind postgresql-15"
# npm: Debian's on a plain Debian 12; a NodeSource nodejs brings its own
# and conflicts with Debian's npm package.
command -v npm >/dev/null 2>&1 || TEST_PACKAGES="$TEST_PACKAGES npm"

# newer A B: true if file A was modified after file B (POSIX find).
newer() { [ -n "$(find "$1" -prune -newer "$2" 2>/dev/null)" ]; }

# install_missing PACKAGE...: install those that are missing (apt-get update
# once first), with sudo when not root. Package scripts may not start
# daemons meanwhile (a policy-rc.d that says no, unless one is there):
# apache2 and nginx would take port 80.
install_missing() {
	missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	command -v apt-get >/dev/null 2>&1 ||
	    die "missing packages:$missing (this script knows apt-get only)"
	SUDO=
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 ||
		    die "missing packages:$missing; run as root or install sudo"
		SUDO=sudo
	fi
	say "installing:$missing"
	policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d \
		    >/dev/null && $SUDO chmod 755 /usr/sbin/policy-rc.d &&
		    policy=/usr/sbin/policy-rc.d
	fi
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update ||
	    { [ -z "$policy" ] || $SUDO rm -f "$policy"; die "apt-get update failed"; }
	# shellcheck disable=SC2086
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y \
	    --no-install-recommends $missing </dev/null
	st=$?
	[ -z "$policy" ] || $SUDO rm -f "$policy"
	[ $st -eq 0 ] || die "apt-get install failed"
}
