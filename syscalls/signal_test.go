package syscalls

import (
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// sigact builds a struct sigaction.
func (f *fakeTask) sigact(handler, flags, restorer, mask uint64) uint64 {
	return f.u64s(handler, flags, restorer, mask)
}

func TestRtSigaction(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		flags := uint64(SA_ONSTACK | SA_RESTART | SA_SIGINFO | SA_RESTORER)
		act := f.sigact(0x46b640, flags|SA_UNSUPPORTED, 0x46b780, ^uint64(0))
		old := f.alloc(32)
		f.ok(t, "rt_sigaction", SIGURG, act, old, 8)
		if got := f.mem(t, old, 32); string(got) != string(make([]byte, 32)) {
			t.Errorf("old action of a fresh signal %v, want SIG_DFL zeros", got)
		}
		h, fl := f.p.k.SigAction(SIGURG)
		if h != 0x46b640 || fl != flags {
			t.Errorf("stored %#x %#x, want %#x %#x (SA_UNSUPPORTED cleared)", h, fl, 0x46b640, flags)
		}
		// Reading back: the mask lost SIGKILL and SIGSTOP.
		f.ok(t, "rt_sigaction", SIGURG, 0, old, 8)
		if got := []uint64{f.u64At(t, old), f.u64At(t, old+8), f.u64At(t, old+16), f.u64At(t, old+24)}; got[0] != 0x46b640 || got[1] != flags || got[2] != 0x46b780 || got[3] != ^uint64(unblockable) {
			t.Errorf("read back %#x", got)
		}
		// act == oact: the old value is what was there before, and the
		// new one is taken from the buffer before it is overwritten.
		buf := f.sigact(SIG_IGN, 0, 0, 0)
		f.ok(t, "rt_sigaction", SIGURG, buf, buf, 8)
		if f.u64At(t, buf) != 0x46b640 {
			t.Errorf("aliased oact handler %#x, want the old one", f.u64At(t, buf))
		}
		if h, _ := f.p.k.SigAction(SIGURG); h != SIG_IGN {
			t.Errorf("aliased act not stored: %#x", h)
		}
		// Errors.
		f.fails(t, EINVAL, "rt_sigaction", SIGURG, act, 0, 16)
		f.fails(t, EINVAL, "rt_sigaction", 0, act, 0, 8)
		f.fails(t, EINVAL, "rt_sigaction", 65, 0, old, 8)
		f.fails(t, EINVAL, "rt_sigaction", SIGKILL, act, 0, 8)
		f.fails(t, EINVAL, "rt_sigaction", SIGSTOP, act, 0, 8)
		f.ok(t, "rt_sigaction", SIGKILL, 0, old, 8) // reading SIGKILL is fine
		f.fails(t, EFAULT, "rt_sigaction", SIGUSR1, unmapped, 0, 8)
		if h, _ := f.p.k.SigAction(SIGUSR1); h != SIG_DFL {
			t.Error("a faulting act must not change the action")
		}
		// A faulting oact is reported after the new action took effect.
		f.fails(t, EFAULT, "rt_sigaction", SIGUSR1, act, unmapped, 8)
		if h, _ := f.p.k.SigAction(SIGUSR1); h != 0x46b640 {
			t.Error("the new action should be stored before oact is written")
		}
		// Real-time signal 64 is valid.
		f.ok(t, "rt_sigaction", 64, act, 0, 8)
	})
}

func TestRtSigprocmask(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		set := f.u64s(sigBit(SIGURG) | sigBit(SIGKILL) | sigBit(SIGSTOP) | sigBit(SIGUSR1))
		old := f.alloc(8)
		f.ok(t, "rt_sigprocmask", SIG_BLOCK, set, old, 8)
		if f.u64At(t, old) != 0 {
			t.Error("old mask not empty")
		}
		want := sigBit(SIGURG) | sigBit(SIGUSR1)
		if f.th.SigMask() != want {
			t.Errorf("mask %#x, want %#x (no KILL/STOP)", f.th.SigMask(), want)
		}
		f.ok(t, "rt_sigprocmask", SIG_UNBLOCK, f.u64s(sigBit(SIGUSR1)), old, 8)
		if f.u64At(t, old) != want || f.th.SigMask() != sigBit(SIGURG) {
			t.Errorf("unblock: old %#x mask %#x", f.u64At(t, old), f.th.SigMask())
		}
		f.ok(t, "rt_sigprocmask", SIG_SETMASK, f.u64s(^uint64(0)), 0, 8)
		if f.th.SigMask() != ^uint64(unblockable) {
			t.Errorf("setmask all: %#x", f.th.SigMask())
		}
		f.ok(t, "rt_sigprocmask", 99, 0, old, 8) // how is not checked without set
		if f.u64At(t, old) != ^uint64(unblockable) {
			t.Error("query did not return the mask")
		}
		f.fails(t, EINVAL, "rt_sigprocmask", 99, set, 0, 8)
		f.fails(t, EINVAL, "rt_sigprocmask", SIG_BLOCK, set, 0, 4)
		f.fails(t, EFAULT, "rt_sigprocmask", SIG_BLOCK, unmapped, 0, 8)
		f.fails(t, EFAULT, "rt_sigprocmask", SIG_BLOCK, 0, unmapped, 8)
		// Masks are per thread.
		other := f.thread(5000, NewThread())
		if other.th.SigMask() != 0 {
			t.Error("a new thread's mask should be empty")
		}
	})
}

func TestSigaltstack(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		oss := f.alloc(24)
		f.ok(t, "sigaltstack", 0, oss)
		if f.u64At(t, oss) != 0 || f.u32At(t, oss+8) != SS_DISABLE || f.u64At(t, oss+16) != 0 {
			t.Error("initial altstack should be disabled")
		}
		ss := f.u64s(0xc000100000, 0, 32768)
		f.ok(t, "sigaltstack", ss, oss)
		if sp, size := f.th.AltStack(); sp != 0xc000100000 || size != 32768 {
			t.Errorf("altstack %#x %d", sp, size)
		}
		f.ok(t, "sigaltstack", 0, oss)
		if f.u64At(t, oss) != 0xc000100000 || f.u32At(t, oss+8) != 0 || f.u64At(t, oss+16) != 32768 {
			t.Errorf("old altstack %#x %d %d", f.u64At(t, oss), f.u32At(t, oss+8), f.u64At(t, oss+16))
		}
		minSize := abiOf(a).minSigStkSz
		f.fails(t, ENOMEM, "sigaltstack", f.u64s(0x1000, 0, minSize-1), 0)
		f.ok(t, "sigaltstack", f.u64s(0x1000, 0, minSize), 0)
		f.fails(t, EINVAL, "sigaltstack", f.u64s(0x1000, 4, 1<<20), 0)
		f.fails(t, EFAULT, "sigaltstack", unmapped, 0)
		f.ok(t, "sigaltstack", f.u64s(0x1000, SS_AUTODISARM, 1<<20), 0)
		f.ok(t, "sigaltstack", f.u64s(0, SS_DISABLE, 0), oss)
		if f.u32At(t, oss+8) != SS_AUTODISARM {
			t.Errorf("old flags %#x, want SS_AUTODISARM", f.u32At(t, oss+8))
		}
		if _, size := f.th.AltStack(); size != 0 {
			t.Error("SS_DISABLE should disable")
		}
	})
	if abiOf(arch.AMD64).minSigStkSz != 2048 || abiOf(arch.ARM64).minSigStkSz != 5120 {
		t.Error("MINSIGSTKSZ")
	}
}

func TestKill(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		pid := uint64(DefaultPID)
		f.ok(t, "gettid") // registers the main thread
		// A handler is installed: the signal waits on the thread until it
		// runs guest code again, once however often it is sent.
		f.ok(t, "rt_sigaction", SIGURG, f.sigact(0x1234, SA_SIGINFO|SA_RESTORER, 0x1280, 0), 0, 8)
		c := f.sys(t, "tgkill", pid, pid, SIGURG)
		if c.Errno != 0 || c.Note != "SIGURG to tid 4242 pending for its handler" {
			t.Errorf("tgkill SIGURG: %+v", c)
		}
		if c := f.sys(t, "tgkill", pid, pid, SIGURG); !strings.Contains(c.Note, "merged") {
			t.Errorf("a second SIGURG: %q", c.Note)
		}
		if f.p.killSig != 0 || !f.th.Deliverable() {
			t.Fatal("a handled signal must wait, not kill")
		}
		stack, err := f.Mmap(MapRequest{Length: 64 << 10, Prot: PROT_READ | PROT_WRITE})
		if err != nil {
			t.Fatal(err)
		}
		f.WriteRegs([]arch.Reg{a.SP, a.PC}, []uint64{stack + 32<<10, 0x401000})
		info, ok, err := f.p.k.DeliverPending(f)
		if err != nil || !ok || info.Signo != SIGURG || info.Code != SI_TKILL || f.regs[a.PC] != 0x1234 {
			t.Fatalf("DeliverPending = %+v, %v, %v; PC %#x", info, ok, err, f.regs[a.PC])
		}
		siginfo := f.regs[a.SyscallArgs[1]]
		if got := f.mem(t, siginfo, 24); le.Uint32(got[8:]) != uint32(0xfffffffa) || le.Uint32(got[16:]) != DefaultPID {
			t.Errorf("siginfo of a tgkill %x: want si_code SI_TKILL and si_pid", got)
		}
		if f.th.Deliverable() {
			t.Error("the signal was delivered once")
		}
		f.th.sigmask = 0 // as rt_sigreturn would leave it

		// A signal to the process goes to the leader when it does not
		// block it, else to the first thread by tid that does not; the
		// thread it goes to is interrupted if it sleeps in a syscall.
		other := f.thread(4243, NewThread())
		other.ok(t, "gettid")
		f.ok(t, "rt_sigaction", SIGUSR1, f.sigact(0x1234, SA_SIGINFO|SA_RESTORER, 0x1280, 0), 0, 8)
		f.p.interrupted = nil
		other.ok(t, "kill", pid, SIGUSR1)
		if !f.th.Deliverable() || other.th.Deliverable() || len(f.p.interrupted) != 1 || f.p.interrupted[0] != DefaultPID {
			t.Errorf("kill from thread 4243: the leader should take it (interrupted %v)", f.p.interrupted)
		}
		f.th.pending = nil
		f.th.sigmask = sigBit(SIGUSR1)
		other.ok(t, "kill", pid, SIGUSR1)
		if !other.th.Deliverable() || f.th.Deliverable() {
			t.Error("kill while the leader blocks it: thread 4243 should take it")
		}
		other.th.pending = nil
		f.th.sigmask = 0
		// Signal 0 probes.
		f.ok(t, "tgkill", pid, pid, 0)
		f.fails(t, ESRCH, "tgkill", pid, 9999, 0)
		f.fails(t, ESRCH, "tgkill", 1, pid, 0)
		f.fails(t, EINVAL, "tgkill", 0, pid, 0)
		f.fails(t, EINVAL, "tgkill", pid, neg(1), 0)
		f.fails(t, EINVAL, "tgkill", pid, pid, 65)
		f.fails(t, EINVAL, "tkill", 0, 0)
		f.fails(t, ESRCH, "tkill", 9999, 0)
		f.fails(t, ESRCH, "kill", 1, 0)
		f.fails(t, ESRCH, "kill", neg(1), SIGTERM) // no other process
		f.fails(t, EINVAL, "kill", pid, 100)
		// Default-ignored and SIG_IGN signals do nothing.
		c = f.sys(t, "kill", pid, SIGCHLD)
		if c.Errno != 0 || !strings.Contains(c.Note, "ignored") || f.p.killSig != 0 {
			t.Errorf("SIGCHLD: %+v", c)
		}
		f.ok(t, "rt_sigaction", SIGTERM, f.sigact(SIG_IGN, 0, 0, 0), 0, 8)
		f.ok(t, "kill", 0, SIGTERM)
		if f.p.killSig != 0 {
			t.Fatal("SIG_IGN must not kill")
		}
		// A blocked terminating signal stays pending, and ends the process
		// once unblocked.
		f.ok(t, "rt_sigprocmask", SIG_BLOCK, f.u64s(sigBit(SIGUSR2)), 0, 8)
		c = f.sys(t, "tkill", pid, SIGUSR2)
		if f.p.killSig != 0 || !strings.Contains(c.Note, "pending") || f.th.Deliverable() {
			t.Errorf("blocked SIGUSR2: kill %d note %q", f.p.killSig, c.Note)
		}
		f.ok(t, "rt_sigprocmask", SIG_UNBLOCK, f.u64s(sigBit(SIGUSR2)), 0, 8)
		if _, ok, _ := f.p.k.DeliverPending(f); ok || f.p.killSig != SIGUSR2 {
			t.Errorf("unblocked SIGUSR2: handler %v, killed by %d", ok, f.p.killSig)
		}
		f.p.killSig = 0
		// SIG_DFL with a terminating default ends the process.
		c = f.sys(t, "kill", neg(DefaultPID), SIGHUP)
		if f.p.killSig != SIGHUP || c.Errno != 0 {
			t.Errorf("SIGHUP: killed by %d, %+v", f.p.killSig, c)
		}
		g := newFake(t, a)
		g.ok(t, "rt_sigprocmask", SIG_SETMASK, g.u64s(^uint64(0)), 0, 8)
		g.ok(t, "tkill", pid, SIGKILL) // SIGKILL cannot be blocked
		if g.p.killSig != SIGKILL {
			t.Error("SIGKILL did not kill")
		}
		// SIGSTOP stops the process until SIGCONT; a pending SIGTSTP
		// goes with the SIGCONT.
		h := newFake(t, a)
		h.ok(t, "gettid")
		h.ok(t, "rt_sigprocmask", SIG_SETMASK, h.u64s(sigBit(SIGTSTP)), 0, 8)
		h.ok(t, "kill", pid, SIGTSTP)
		h.ok(t, "tgkill", pid, pid, SIGSTOP)
		if !h.p.k.Stopped() {
			t.Error("SIGSTOP did not stop the process")
		}
		h.ok(t, "kill", pid, SIGCONT)
		if h.p.k.Stopped() || len(h.th.pending) != 0 {
			t.Errorf("after SIGCONT: stopped %v, pending %v", h.p.k.Stopped(), h.th.pending)
		}
	})
}
