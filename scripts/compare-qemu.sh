#!/bin/sh
# compare-qemu.sh times `gorunemu run --until exit` against qemu-user on the
# same static binaries, side by side: runs alternate between the two, and
# the table gives the median wall times and their ratio (below 1: gorunemu
# is faster). The workloads are testdata/hello (startup and exit) and the
# benchmark programs testdata/sha (compute), mapgc
# (allocation and GC on four goroutines) and pingpong (channels and the
# scheduler), each of which runs for seconds under qemu-user.
#
# Usage: scripts/compare-qemu.sh [RUNS [WORKLOAD...]]   (default 5 runs, all)
set -eu
cd "$(dirname "$0")/.."
runs=${1:-5}
[ $# -gt 0 ] && shift
workloads=${*:-hello sha mapgc pingpong}
./scripts/install-deps.sh qemu-user
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/gorunemu" ./cmd/gorunemu

# ms CMD... prints the wall time of one run in milliseconds (output discarded).
ms() {
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || true
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000 ))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-16s %-6s %14s %14s %8s\n' workload arch "gorunemu(ms)" "qemu-user(ms)" ratio
for w in $workloads; do
	for arch in amd64 arm64; do
		bin="$tmp/$(basename "$w").$arch"
		GOOS=linux GOARCH=$arch CGO_ENABLED=0 go build -trimpath -o "$bin" "./testdata/$w"
		qemu=qemu-x86_64
		[ "$arch" = arm64 ] && qemu=qemu-aarch64
		: >"$tmp/g"
		: >"$tmp/q"
		i=0
		while [ $i -lt "$runs" ]; do
			ms "$tmp/gorunemu" run -q --until exit "$bin" >>"$tmp/g"
			ms "$qemu" "$bin" >>"$tmp/q"
			i=$((i + 1))
		done
		g=$(median <"$tmp/g")
		q=$(median <"$tmp/q")
		awk -v w="$w" -v a="$arch" -v g="$g" -v q="$q" 'BEGIN { printf "%-16s %-6s %14.1f %14.1f %7.2fx\n", w, a, g/1000, q/1000, g/q }'
	done
done
