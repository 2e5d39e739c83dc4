package main

import (
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"unsafe"

	"github.com/gorunemu/gorunemu/emu"
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

// forwardedSignals are those exec passes on to the guest, as qemu-user
// does: Ctrl-C and Ctrl-\ at a terminal, a kill, go test's SIGQUIT when a
// test times out (so the guest prints its goroutines, not gorunemu's).
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2}

// forwardSignals sends the signals gorunemu receives to p until the
// returned stop is called; in, if not nil, is interrupted for each, so
// that a guest waiting for input gets it.
func forwardSignals(p *emu.Process, in *interruptibleReader) (stop func()) {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, forwardedSignals...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range ch {
			p.Signal(int(s.(syscall.Signal)))
			if in != nil {
				in.Interrupt()
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(ch)
		<-done
	}
}
