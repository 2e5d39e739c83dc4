#!/bin/sh
# compare-qemu.sh times `gorunemu run --until exit` against qemu-user on the
# same hello binaries, side by side in one run, and prints the ratio of
# median wall times. Usage: scripts/compare-qemu.sh [RUNS]
set -eu
cd "$(dirname "$0")/.."
runs=${1:-21}
./scripts/install-deps.sh qemu-user
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/gorunemu" ./cmd/gorunemu
for arch in amd64 arm64; do
	GOOS=linux GOARCH=$arch CGO_ENABLED=0 go build -trimpath -o "$tmp/hello.$arch" ./testdata/hello
done

# ms CMD... prints the wall time of one run in milliseconds (output discarded).
ms() {
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || true
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000 ))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-6s %14s %14s %8s\n' arch "gorunemu(ms)" "qemu-user(ms)" ratio
for arch in amd64 arm64; do
	qemu=qemu-x86_64
	[ "$arch" = arm64 ] && qemu=qemu-aarch64
	: >"$tmp/g" ; : >"$tmp/q"
	i=0
	while [ $i -lt "$runs" ]; do
		ms "$tmp/gorunemu" run -q --until exit "$tmp/hello.$arch" >>"$tmp/g"
		ms "$qemu" "$tmp/hello.$arch" >>"$tmp/q"
		i=$((i + 1))
	done
	g=$(median <"$tmp/g"); q=$(median <"$tmp/q")
	awk -v a="$arch" -v g="$g" -v q="$q" 'BEGIN { printf "%-6s %14.1f %14.1f %7.2fx\n", a, g/1000, q/1000, g/q }'
done
