#!/bin/sh
# install-deps.sh installs the Debian packages gorunemu needs that are
# missing: libunicorn-dev always, plus any package names given as
# arguments (the test command adds gdb, gdb-multiarch and qemu-user).
set -eu
need=""
for pkg in libunicorn-dev "$@"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
		need="$need $pkg"
	fi
done
[ -z "$need" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: missing packages:$need (install them; apt-get is not available here)" >&2
	exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "install-deps: installing$need" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $need >/dev/null
