// Command forkbomb forks children that sleep forever until fork fails,
// and reports how many it made: gorunemu must refuse with EAGAIN at its
// process limit instead of exhausting the host.
package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

func main() {
	for n := 0; n < 10000; n++ {
		if _, errno := rawFork(); errno != 0 {
			fmt.Printf("fork %d: %v\n", n, errno)
			os.Exit(0)
		}
	}
	fmt.Println("no limit")
	os.Exit(1)
}

// rawFork forks with clone(SIGCHLD); the child, which may only make raw
// system calls, sleeps for ever.
//
//go:nosplit
func rawFork() (pid uintptr, errno syscall.Errno) {
	pid, _, errno = syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 || pid != 0 {
		return pid, errno
	}
	ts := [2]int64{1 << 40, 0}
	for {
		syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts[0])), 0, 0)
	}
}
