// Command manymaps maps N pages readable, makes every other one
// inaccessible page by page, then makes them all writable: thousands of
// mappings for the emulator to mirror. It prints "ok" or the first
// mprotect that failed, and exits 1 then.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	b, err := syscall.Mmap(-1, 0, n*4096, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		fmt.Println("mmap:", err)
		os.Exit(1)
	}
	for i := 0; i < n; i += 2 {
		if err := syscall.Mprotect(b[i*4096:(i+1)*4096], syscall.PROT_NONE); err != nil {
			fmt.Println("mprotect page by page:", err)
			os.Exit(1)
		}
	}
	if err := syscall.Mprotect(b, syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
		fmt.Println("mprotect all:", err)
		os.Exit(1)
	}
	b[0], b[len(b)-1] = 1, 2
	fmt.Println("ok")
}
