package syscalls

import (
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// sigframeCase is one arch's view of a frame: where the handler's
// arguments go and how it returns.
type sigframeCase struct {
	args   [3]arch.Reg // signal, &siginfo, &ucontext
	lr     arch.Reg    // the return register, or -1 (amd64 returns via the stack)
	retReg arch.Reg    // the register rt_sigreturn's result goes in
}

var sigframeCases = map[string]sigframeCase{
	"amd64": {args: [3]arch.Reg{arch.AMD64_RDI, arch.AMD64_RSI, arch.AMD64_RDX}, lr: -1, retReg: arch.AMD64_RAX},
	"arm64": {args: [3]arch.Reg{arch.ARM64X(0), arch.ARM64X(1), arch.ARM64X(2)}, lr: arch.ARM64X(30), retReg: arch.ARM64X(0)},
}

// TestSignalFrameRoundTrip delivers a fault to a handler, checks what the
// handler finds (arguments, siginfo, the saved registers in the
// ucontext, the mask), returns from it with rt_sigreturn and checks that
// every register, vector register and the mask are back.
func TestSignalFrameRoundTrip(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		c := sigframeCases[a.Name]
		f := newFake(t, a)
		stack, err := f.Mmap(MapRequest{Length: 64 << 10, Prot: PROT_READ | PROT_WRITE})
		if err != nil {
			t.Fatal(err)
		}
		const handler, restorer = 0x401000, 0x401800
		flags := uint64(SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_RESTORER)
		if a == arch.ARM64 {
			flags &^= SA_RESTORER // as Go's arm64 runtime: the kernel's trampoline
		}
		f.ok(t, "rt_sigaction", SIGSEGV, f.sigact(handler, flags, restorer, sigBit(SIGURG)), 0, 8)
		f.th.sigmask = sigBit(SIGUSR2)

		// Every general register gets a distinct value; SP is mid-stack.
		var regs []arch.Reg
		for _, g := range a.GPRs {
			if g.Reg != a.TLS {
				regs = append(regs, g.Reg)
			}
		}
		vals := make([]uint64, len(regs))
		for i, r := range regs {
			vals[i] = 0x1111*uint64(i+1) | 0x5500000000
			switch r {
			case a.SP:
				vals[i] = stack + 40<<10 + 8
			case a.PC:
				vals[i] = 0x4abcd0
			case arch.AMD64_EFLAGS:
				vals[i] = 0x246
			case arch.ARM64_NZCV:
				vals[i] = 0x60000000
			}
		}
		f.WriteRegs(regs, vals)
		vec := arch.AMD64_XMM0 + 3
		if a == arch.ARM64 {
			vec = arch.ARM64_Q0 + 7
		}
		f.WriteVec(vec, 0x0123456789abcdef, 0xfedcba9876543210)

		info := SigInfo{Signo: SIGSEGV, Code: SEGV_MAPERR, Addr: 0x8, Trapno: 14, Err: 4}
		ok, err := f.p.k.DeliverFault(f, info)
		if err != nil || !ok {
			t.Fatalf("DeliverFault = %v, %v", ok, err)
		}
		reg := func(r arch.Reg) uint64 { return f.regs[r] }
		if reg(a.PC) != handler {
			t.Errorf("PC %#x, want the handler %#x", reg(a.PC), handler)
		}
		sp, infoAddr, uc := reg(a.SP), reg(c.args[1]), reg(c.args[2])
		if reg(c.args[0]) != SIGSEGV {
			t.Errorf("signal argument %d", reg(c.args[0]))
		}
		if sp >= stack+40<<10 || sp < stack+30<<10 {
			t.Errorf("frame at %#x, not just below the interrupted SP %#x", sp, stack+40<<10+8)
		}
		// The ABI's alignment at a function's entry: SP+8 (amd64, after
		// the "call") or SP (arm64) is 16-byte aligned.
		if a == arch.AMD64 && (sp+8)%16 != 0 || a == arch.ARM64 && sp%16 != 0 {
			t.Errorf("handler SP %#x misaligned", sp)
		}
		if a == arch.AMD64 && f.u64At(t, sp) != restorer {
			t.Errorf("return address %#x, want the restorer", f.u64At(t, sp))
		}
		if a == arch.ARM64 {
			tramp := reg(c.lr)
			code := f.mem(t, tramp, 8)
			if string(code) != string(arm64Sigreturn) {
				t.Errorf("x30 %#x holds %x, want the sigreturn trampoline", tramp, code)
			}
		}
		if got := f.mem(t, infoAddr, 24); le.Uint32(got[0:]) != SIGSEGV || le.Uint32(got[8:]) != SEGV_MAPERR || le.Uint64(got[16:]) != 0x8 {
			t.Errorf("siginfo %x", got)
		}
		// The saved PC and SP in the ucontext, where Go's sigctxt reads them.
		pcOff, spOff, maskOff := uint64(40+128), uint64(40+120), uint64(296)
		if a == arch.ARM64 {
			pcOff, spOff, maskOff = 176+264, 176+256, 40
		}
		if got := f.u64At(t, uc+pcOff); got != 0x4abcd0 {
			t.Errorf("saved PC %#x", got)
		}
		if got := f.u64At(t, uc+spOff); got != stack+40<<10+8 {
			t.Errorf("saved SP %#x", got)
		}
		if got := f.u64At(t, uc+maskOff); got != sigBit(SIGUSR2) {
			t.Errorf("saved mask %#x", got)
		}
		if want := sigBit(SIGUSR2) | sigBit(SIGSEGV) | sigBit(SIGURG); f.th.sigmask != want {
			t.Errorf("mask in the handler %#x, want %#x", f.th.sigmask, want)
		}

		// The handler clobbers registers and returns.
		f.WriteRegs(regs[:4], []uint64{1, 2, 3, 4})
		f.WriteVec(vec, 0, 0)
		if a == arch.AMD64 {
			f.WriteRegs([]arch.Reg{a.SP}, []uint64{sp + 8}) // RET popped the restorer
		}
		ret := f.ok(t, "rt_sigreturn")
		got := make([]uint64, len(regs))
		f.ReadRegs(regs, got)
		for i, r := range regs {
			want := vals[i]
			if r == c.retReg {
				if ret != want {
					t.Errorf("rt_sigreturn returned %#x, want the saved %s %#x", ret, a.RegName(r), want)
				}
				continue // the dispatcher writes the return value
			}
			if got[i] != want {
				t.Errorf("%s = %#x after rt_sigreturn, want %#x", a.RegName(r), got[i], want)
			}
		}
		if lo, hi, _ := f.ReadVec(vec); lo != 0x0123456789abcdef || hi != 0xfedcba9876543210 {
			t.Errorf("vector register %#x %#x not restored", lo, hi)
		}
		if f.th.sigmask != sigBit(SIGUSR2) {
			t.Errorf("mask after rt_sigreturn %#x", f.th.sigmask)
		}
	})
}

// TestSignalFrameOnAltStack: SA_ONSTACK puts the frame on the alternate
// stack, where sigaltstack reports SS_ONSTACK and refuses changes.
func TestSignalFrameOnAltStack(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		alt, err := f.Mmap(MapRequest{Length: 32 << 10, Prot: PROT_READ | PROT_WRITE})
		if err != nil {
			t.Fatal(err)
		}
		f.WriteRegs([]arch.Reg{a.SP, a.PC}, []uint64{0x7fff0000, 0x401000})
		f.ok(t, "sigaltstack", f.u64s(alt, 0, 32<<10), 0)
		f.ok(t, "rt_sigaction", SIGSEGV, f.sigact(0x402000, SA_SIGINFO|SA_ONSTACK|SA_RESTORER, 0x402800, 0), 0, 8)
		if ok, err := f.p.k.DeliverFault(f, SigInfo{Signo: SIGSEGV, Code: SEGV_MAPERR}); !ok || err != nil {
			t.Fatalf("DeliverFault = %v, %v", ok, err)
		}
		sp := f.regs[a.SP]
		if sp < alt || sp >= alt+32<<10 {
			t.Fatalf("frame at %#x, not on the alternate stack [%#x, %#x)", sp, alt, alt+32<<10)
		}
		old := f.alloc(24)
		f.ok(t, "sigaltstack", 0, old)
		if flags := le.Uint32(f.mem(t, old+8, 4)); flags != SS_ONSTACK {
			t.Errorf("ss_flags on the alternate stack %#x, want SS_ONSTACK", flags)
		}
		f.fails(t, EPERM, "sigaltstack", f.u64s(0, SS_DISABLE, 0), 0)
	})
}

// TestFaultNotDelivered: a fault whose signal has no handler, or is
// blocked, ends the process (DeliverFault says no and changes nothing).
func TestFaultNotDelivered(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		f.WriteRegs([]arch.Reg{a.SP, a.PC}, []uint64{0x7fff0000, 0x401000})
		info := SigInfo{Signo: SIGILL, Code: ILL_ILLOPN, Addr: 0x401000}
		if ok, _ := f.p.k.DeliverFault(f, info); ok {
			t.Error("delivered with SIG_DFL")
		}
		f.ok(t, "rt_sigaction", SIGILL, f.sigact(SIG_IGN, 0, 0, 0), 0, 8)
		if ok, _ := f.p.k.DeliverFault(f, info); ok {
			t.Error("delivered with SIG_IGN")
		}
		f.ok(t, "rt_sigaction", SIGILL, f.sigact(0x402000, SA_SIGINFO|SA_RESTORER, 0x402800, 0), 0, 8)
		f.th.sigmask = sigBit(SIGILL)
		if ok, _ := f.p.k.DeliverFault(f, info); ok {
			t.Error("delivered while blocked (a fault in its own handler)")
		}
		if f.regs[a.PC] != 0x401000 {
			t.Errorf("PC moved to %#x", f.regs[a.PC])
		}
	})
}

// TestInterrupted: how a blocked call ends when a signal interrupts it.
func TestInterrupted(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		nr := func(name string) int {
			n, ok := Number(a, name)
			if !ok {
				t.Fatalf("no %s on %s", name, a.Name)
			}
			return n
		}
		f.ok(t, "rt_sigaction", SIGURG, f.sigact(0x1234, SA_SIGINFO|SA_RESTART|SA_RESTORER, 0x1280, 0), 0, 8)
		f.ok(t, "rt_sigaction", SIGUSR1, f.sigact(0x1234, SA_SIGINFO|SA_RESTORER, 0x1280, 0), 0, 8)
		eintr := EINTR.ret()
		for _, c := range []struct {
			sig      int
			call     string
			onObject bool
			done     uint64
			restart  bool
			ret      uint64
		}{
			{SIGURG, "futex", false, 0, true, 0},
			{SIGURG, "read", true, 0, true, 0},
			{SIGURG, "nanosleep", false, 0, false, eintr},  // sleeps never restart
			{SIGURG, "epoll_pwait", true, 0, false, eintr}, // nor event waits
			{SIGUSR1, "futex", false, 0, false, eintr},     // no SA_RESTART
			{SIGURG, "write", true, 3, false, 3},           // bytes already moved
			{SIGURG, "futex", false, 3, true, 0},           // a stale count is not a futex's
		} {
			f.th.pending, f.th.wait.done = nil, c.done
			f.th.queue(SigInfo{Signo: c.sig, Code: SI_TKILL})
			restart, ret := f.p.k.Interrupted(f, nr(c.call), c.onObject, NoDeadline)
			if restart != c.restart || ret != c.ret {
				t.Errorf("%s interrupted by %s: restart %v, ret %#x; want %v, %#x", c.call, SignalName(c.sig), restart, ret, c.restart, c.ret)
			}
		}

		// An interrupted relative nanosleep stores the time it had left.
		rem := f.alloc(16)
		f.WriteRegs(a.SyscallArgs[:2], []uint64{f.alloc(16), rem})
		f.th.pending = nil
		f.th.queue(SigInfo{Signo: SIGURG, Code: SI_TKILL})
		if restart, ret := f.p.k.Interrupted(f, nr("nanosleep"), false, f.Now()+2_000_000_005); restart || ret != eintr {
			t.Errorf("nanosleep: restart %v, ret %#x", restart, ret)
		}
		if sec, nsec := f.u64At(t, rem), f.u64At(t, rem+8); sec != 2 || nsec != 5 {
			t.Errorf("rem = %d s %d ns, want 2 s 5 ns", sec, nsec)
		}

		// Sending interrupts the receiving thread, not the sender.
		f.th.pending = nil
		other := f.thread(4243, NewThread())
		other.ok(t, "gettid")
		f.ok(t, "tgkill", DefaultPID, 4243, SIGURG)
		if got := f.p.interrupted; len(got) != 1 || got[0] != 4243 {
			t.Errorf("interrupted %v, want [4243]", got)
		}
	})
}
