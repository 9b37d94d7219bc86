# common.sh - shared by run.sh and test.sh (sourced; say and die are theirs):
# the Debian packages tokencat needs, and their installation.

PACKAGES="build-essential autoconf automake pkg-config libfcgi-dev \
libjson-c-dev liblmdb-dev libjwt-dev libssl-dev libcriterion-dev lighttpd \
curl python3 tzdata mandoc"

# newer A B: true if file A was modified after file B (POSIX find).
newer() { [ -n "$(find "$1" -prune -newer "$2" 2>/dev/null)" ]; }

# Install the packages of PACKAGES that are missing (apt-get update once
# first), with sudo when not root.
install_missing() {
	missing=
	for p in $PACKAGES; do
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
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update ||
	    die "apt-get update failed"
	# shellcheck disable=SC2086
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y \
	    --no-install-recommends $missing || die "apt-get install failed"
}
