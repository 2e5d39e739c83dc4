package main

import (
	"runtime"
	"syscall"
	"unsafe"
)

// dieBySignal ends gorunemu with signal sig, as the guest ended, so the
// shell or go test sees the same status as natively. The Go runtime's own
// handler is replaced by the default action first (os/signal cannot: the
// runtime keeps SIGSEGV and friends for itself), and no core is dumped:
// the guest's state is not gorunemu's.
func dieBySignal(sig int) {
	runtime.LockOSThread()
	_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
	var dfl [4]uint64 // struct sigaction, all zero: SIG_DFL, no flags, empty mask
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	set := uint64(1) << (sig - 1) // unblock it on this thread
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 1 /* SIG_UNBLOCK */, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0)
	_ = syscall.Tgkill(syscall.Getpid(), syscall.Gettid(), syscall.Signal(sig))
	// A signal whose default action is to ignore or stop returns here;
	// the caller exits 128+sig.
}
