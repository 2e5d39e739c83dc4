#!/bin/sh
# compare-stdlib.sh runs Go standard library test binaries (go test -c,
# -test.short) to exit under gorunemu and under qemu-user, alternating, on
# both arches, and prints each one's wall time, result and the ratio.
# Both run in the package directory, as go test runs them; gorunemu
# through exec, which gives the guest that directory, the host's files
# read-only and an in-memory /tmp.
#
# Usage: scripts/compare-stdlib.sh [PACKAGE...]
set -eu
cd "$(dirname "$0")/.."
pkgs=${*:-strings bytes strconv sort regexp fmt bufio io path/filepath text/template encoding/json math/big crypto/sha256 sync/atomic}
./scripts/install-deps.sh qemu-user
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/gorunemu" ./cmd/gorunemu
goroot=$(go env GOROOT)

# run NAME CMD... runs CMD in the package directory and prints
# "seconds result" (ok or the exit code).
run() {
	t0=$(date +%s%N)
	if (cd "$dir" && "$@" >"$tmp/out" 2>&1); then r=ok; else r="exit$?"; fi
	t1=$(date +%s%N)
	awk -v t="$((t1 - t0))" -v r="$r" 'BEGIN { printf "%.2f %s\n", t/1e9, r }'
}

printf '%-16s %-6s %12s %-8s %12s %-8s %7s\n' package arch "gorunemu(s)" result "qemu(s)" result ratio
for pkg in $pkgs; do
	dir="$goroot/src/$pkg"
	for arch in amd64 arm64; do
		bin="$tmp/$(echo "$pkg" | tr / _).$arch.test"
		GOOS=linux GOARCH=$arch CGO_ENABLED=0 go test -c -o "$bin" "$pkg" >/dev/null
		qemu=qemu-x86_64
		[ "$arch" = arm64 ] && qemu=qemu-aarch64
		set -- $(run "$tmp/gorunemu" exec "$bin" -test.short)
		gt=$1 gr=$2
		set -- $(run "$qemu" "$bin" -test.short)
		qt=$1 qr=$2
		ratio=-
		[ "$gr" = ok ] && [ "$qr" = ok ] && ratio=$(awk -v g="$gt" -v q="$qt" 'BEGIN { printf "%.2fx", g/q }')
		printf '%-16s %-6s %12s %-8s %12s %-8s %7s\n' "$pkg" "$arch" "$gt" "$gr" "$qt" "$qr" "$ratio"
	done
done
