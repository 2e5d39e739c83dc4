// Command sha is a compute workload for benchmarks: it hashes a buffer
// with SHA-256 over and over, with no allocation and no syscalls in the
// loop. The first argument is the number of MiB to hash (default 128).
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
)

func main() {
	mib := 128
	if len(os.Args) > 1 {
		mib, _ = strconv.Atoi(os.Args[1])
	}
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	var sum [32]byte
	for i := 0; i < mib; i++ {
		buf[0] = sum[0]
		sum = sha256.Sum256(buf)
	}
	fmt.Printf("%x\n", sum[:8])
}
