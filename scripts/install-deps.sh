#!/bin/sh
# install-deps.sh installs what gorunemu needs that is missing: Unicorn 2.1
# or later always, plus any Debian package names given as arguments (the
# test command adds gdb, gdb-multiarch, qemu-user, and gcc with its arm64
# cross compiler for the C fixtures).
#
# Unicorn: gorunemu needs 2.1 (2.0 sends every guest store through a slow
# path, Unicorn issue 1970). Where the system's libunicorn-dev is 2.1 or
# later (Debian trixie and newer) it is installed as usual. On older Debian
# (bookworm ships 2.0.1) the static library and headers of trixie's
# libunicorn-dev are fetched with apt-get download through a private
# sources list and extracted, not installed, under $UNICORN_PREFIX, which
# emu/unicorn's cgo flags search before the system's. Trixie's build needs
# glibc 2.34, so it links on bookworm without touching the system's libc.
set -eu

UNICORN_PREFIX=/opt/gorunemu/unicorn # keep in step with emu/unicorn/unicorn.go
UNICORN_SUITE=trixie                 # Debian 13, the stable release with 2.1

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

apt_updated=""
apt_update() {
	[ -n "$apt_updated" ] && return 0
	$sudo apt-get update -qq
	apt_updated=1
}

# at_least_2_1 VERSION succeeds when a Debian version string is 2.1 or later.
at_least_2_1() {
	dpkg --compare-versions "$1" ge 2.1~
}

installed_version() {
	dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | sed -n 's/^install ok installed //p'
}

need=""
for pkg in "$@"; do
	[ -z "$(installed_version "$pkg")" ] && need="$need $pkg"
done

unicorn_ok() {
	v=$(installed_version libunicorn-dev)
	[ -n "$v" ] && at_least_2_1 "$v" && return 0
	[ -f "$UNICORN_PREFIX/VERSION" ] && at_least_2_1 "$(cat "$UNICORN_PREFIX/VERSION")"
}

if ! command -v apt-get >/dev/null 2>&1; then
	if [ -n "$need" ] || ! unicorn_ok; then
		echo "install-deps: missing:$need${need:+ and} Unicorn 2.1 or later (libunicorn-dev); apt-get is not available here, install them by hand" >&2
		exit 1
	fi
	exit 0
fi

if ! unicorn_ok; then
	apt_update
	candidate=$(apt-cache policy libunicorn-dev | sed -n 's/^ *Candidate: //p')
	if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && at_least_2_1 "$candidate"; then
		need="$need libunicorn-dev"
	else
		echo "install-deps: this Debian's libunicorn-dev is ${candidate:-missing}; fetching $UNICORN_SUITE's into $UNICORN_PREFIX" >&2
		work=$(mktemp -d)
		trap 'rm -rf "$work"' EXIT
		mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
		# The Debian archive, as this machine's own sources name it.
		mirror=$(grep -rhoE 'https?://[^ ]*/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d 2>/dev/null | head -n 1 | tr -d ' ')
		mirror=${mirror:-http://deb.debian.org/debian}
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} $UNICORN_SUITE main" >"$work/sources.list"
		set -- -o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null \
			-o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o Dir::State::status=/dev/null \
			-o APT::Sandbox::User=root
		apt-get "$@" update -qq
		version=$(apt-cache "$@" policy libunicorn-dev | sed -n 's/^ *Candidate: //p')
		if [ -z "$version" ] || [ "$version" = "(none)" ] || ! at_least_2_1 "$version"; then
			echo "install-deps: $UNICORN_SUITE has no libunicorn-dev 2.1 or later (found '${version:-nothing}')" >&2
			exit 1
		fi
		(cd "$work/deb" && apt-get "$@" download -qq "libunicorn-dev=$version")
		dpkg-deb -x "$work"/deb/libunicorn-dev_*.deb "$work/x"
		lib=$(find "$work/x" -name libunicorn.a | head -n 1)
		[ -n "$lib" ] || { echo "install-deps: no libunicorn.a in $UNICORN_SUITE's libunicorn-dev $version" >&2; exit 1; }
		$sudo rm -rf "$UNICORN_PREFIX"
		$sudo mkdir -p "$UNICORN_PREFIX/lib" "$UNICORN_PREFIX/include"
		$sudo cp -r "$work/x/usr/include/unicorn" "$UNICORN_PREFIX/include/"
		$sudo cp "$lib" "$UNICORN_PREFIX/lib/"
		$sudo cp "$work/x/usr/share/doc/libunicorn-dev/copyright" "$UNICORN_PREFIX/"
		echo "$version" | $sudo tee "$UNICORN_PREFIX/VERSION" >/dev/null
		echo "install-deps: Unicorn $version in $UNICORN_PREFIX" >&2
	fi
fi

[ -z "$need" ] && exit 0
echo "install-deps: installing$need" >&2
apt_update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $need >/dev/null
