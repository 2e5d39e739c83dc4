package syscalls

import (
	"errors"

	"github.com/gorunemu/gorunemu/arch"
)

// Signal frames: what Linux pushes on a thread's stack to run a signal
// handler (arch/x86/kernel/signal.c and signal_64.c,
// arch/arm64/kernel/signal.c), and rt_sigreturn, which pops one. Faults
// are delivered at once on the thread that made them (DeliverFault);
// signals sent with kill, tkill or tgkill wait on a thread until it next
// runs guest code (DeliverPending), as Linux delivers on the way back to
// user mode.

// SigInfo is what a signal reports in its siginfo_t.
type SigInfo struct {
	Signo int
	Code  int    // si_code: SEGV_MAPERR, ILL_ILLOPN, SI_TKILL, ...
	Addr  uint64 // a fault's si_addr: the address accessed, or the instruction
	// PID and UID are a sent signal's si_pid and si_uid.
	PID, UID int
	// Sender is the thread that sent the signal (for traces).
	Sender int
	// Status is a SIGCHLD's si_status: the exit code or the signal.
	Status int
	// Trapno and Err go in the amd64 sigcontext: the exception vector and
	// the page-fault error code.
	Trapno, Err uint64
}

// si_code values of faults (include/uapi/asm-generic/siginfo.h).
const (
	SEGV_MAPERR = 1 // address not mapped
	SEGV_ACCERR = 2 // no permission for the access
	ILL_ILLOPC  = 1 // illegal opcode (arm64 UNDEF)
	ILL_ILLOPN  = 2 // illegal operand (x86 #UD)
	FPE_INTDIV  = 1 // integer divide by zero
	BUS_ADRERR  = 2 // nonexistent physical address
	TRAP_BRKPT  = 1 // breakpoint instruction (arm64 BRK)
	SI_KERNEL   = 0x80
	SI_USER     = 0  // sent by kill
	SI_TKILL    = -6 // sent by tkill or tgkill
)

// siginfoSize is sizeof(siginfo_t); si_signo, si_errno and si_code are
// its first three ints and a fault's si_addr is at 16.
const siginfoSize = 128

// DeliverFault makes the calling thread run its handler for a fault, as
// force_sig_fault does (kernel/signal.c). If the signal is blocked or its
// action is SIG_DFL or SIG_IGN, Linux ends the process, and so does a
// frame that cannot be written (a stack overflow); DeliverFault then
// returns false and the emulator reports the fault. Otherwise the thread
// is at the handler's entry with a signal frame on its stack, and the
// signal (with the action's mask) is blocked until rt_sigreturn.
func (k *Kernel) DeliverFault(t Task, info SigInfo) (bool, error) {
	if info.Signo < 1 || info.Signo > NSIG {
		return false, nil
	}
	th := t.Thread()
	act := k.actions[info.Signo-1]
	if act.handler == SIG_DFL || act.handler == SIG_IGN || th.sigmask&sigBit(info.Signo) != 0 {
		return false, nil
	}
	return k.runHandler(t, info, act)
}

// runHandler pushes the frame for info and points the calling thread at
// act's handler with the signal (and the action's mask) blocked. It
// returns false if the frame cannot be written.
func (k *Kernel) runHandler(t Task, info SigInfo, act sigaction) (bool, error) {
	switch err := abiOf(t.Arch()).pushFrame(k, t, info, act); {
	case errors.Is(err, EFAULT):
		k.notef("%s: cannot write the signal frame; the process ends", SignalName(info.Signo))
		return false, nil
	case err != nil:
		return false, err
	}
	th := t.Thread()
	if act.flags&SA_NODEFER == 0 {
		th.sigmask |= sigBit(info.Signo)
	}
	th.sigmask |= act.mask &^ unblockable
	if act.flags&SA_RESETHAND != 0 {
		k.actions[info.Signo-1] = sigaction{}
	}
	return true, nil
}

// queue makes info pending on th, unless that signal already is.
func (th *Thread) queue(info SigInfo) bool {
	for _, p := range th.pending {
		if p.Signo == info.Signo {
			return false
		}
	}
	th.pending = append(th.pending, info)
	return true
}

// Deliverable reports whether a signal is pending on th and not blocked:
// DeliverPending has something to do.
func (th *Thread) Deliverable() bool {
	for _, p := range th.pending {
		if th.sigmask&sigBit(p.Signo) == 0 {
			return true
		}
	}
	return false
}

// neverRestarted are the calls a signal handler makes fail with EINTR
// even under SA_RESTART (signal(7)): the sleeps and the waits for events.
var neverRestarted = map[string]bool{
	"nanosleep": true, "clock_nanosleep": true, "epoll_wait": true, "epoll_pwait": true,
	"epoll_pwait2": true, "poll": true, "ppoll": true, "select": true, "pselect6": true,
	"rt_sigsuspend": true, "rt_sigtimedwait": true, "pause": true,
}

// Interrupted says how the syscall nr that t's thread is blocked in ends
// when a pending signal interrupts it (handle_signal in
// arch/*/kernel/signal.c, signal(7)): a call that already moved bytes
// (blocked on a kernel object, onObject) returns their count; one the
// signal's action restarts (SA_RESTART, and not a sleep or event wait)
// runs again after the handler; any other fails with EINTR, and a
// relative nanosleep or clock_nanosleep first stores the time it had
// left before deadline in its rem argument.
func (k *Kernel) Interrupted(t Task, nr int, onObject bool, deadline int64) (restart bool, ret uint64) {
	th := t.Thread()
	if onObject && th.wait.done > 0 {
		return false, th.wait.done
	}
	name := Name(t.Arch(), nr)
	for _, p := range th.pending {
		if th.sigmask&sigBit(p.Signo) == 0 {
			if k.actions[p.Signo-1].flags&SA_RESTART != 0 && !neverRestarted[name] {
				return true, 0
			}
			break
		}
	}
	if name == "nanosleep" || name == "clock_nanosleep" {
		args, err := readRegs(t, t.Arch().SyscallArgs[:4])
		rem := args[1]
		if name == "clock_nanosleep" {
			rem = args[3]
			if args[1]&TIMER_ABSTIME != 0 {
				rem = 0
			}
		}
		if err == nil && rem != 0 && deadline != NoDeadline {
			// A fault here would be EFAULT on Linux; the call fails either way.
			_ = writeTimespec(t, rem, max(deadline-t.Now(), 0))
		}
	}
	return false, EINTR.ret()
}

// DeliverPending delivers the first pending signal the calling thread
// does not block, as Linux does on the way back to user mode
// (get_signal): it runs the handler the signal has now, or does the
// default action (nothing, or ending the process through KillProcess), or
// drops an ignored one and looks at the next. It returns the signal whose
// handler now runs, if one does.
func (k *Kernel) DeliverPending(t Task) (SigInfo, bool, error) {
	th := t.Thread()
	for {
		i := -1
		for j, p := range th.pending {
			if th.sigmask&sigBit(p.Signo) == 0 {
				i = j
				break
			}
		}
		if i < 0 {
			return SigInfo{}, false, nil
		}
		info := th.pending[i]
		th.pending = append(th.pending[:i:i], th.pending[i+1:]...)
		act := k.actions[info.Signo-1]
		switch {
		case act.handler == SIG_IGN:
			continue
		case act.handler == SIG_DFL:
			if defaultActionOf(info.Signo) == actTerminate {
				t.KillProcess(k.cfg.PID, info.Signo)
				return SigInfo{}, false, nil
			}
			continue // ignored, or a stop or continue this process does not model
		}
		ok, err := k.runHandler(t, info, act)
		if err != nil {
			return SigInfo{}, false, err
		}
		if !ok {
			t.KillProcess(k.cfg.PID, SIGSEGV) // force_sigsegv
			return SigInfo{}, false, nil
		}
		return info, true, nil
	}
}

// RtSigreturn implements rt_sigreturn(2): it restores the registers, the
// signal mask and the alternate stack saved in the frame the handler
// returns from. A frame that cannot be read kills the process with
// SIGSEGV, as Linux's badframe path does (a process with its own frames
// that bad has no state to go back to).
func RtSigreturn(t Task, a Args) (uint64, error) {
	ret, err := abiOf(t.Arch()).popFrame(t)
	if errors.Is(err, EFAULT) {
		note(t, "rt_sigreturn: no readable signal frame at the stack pointer: SIGSEGV")
		t.KillProcess(t.Kernel().cfg.PID, SIGSEGV)
		return 0, nil
	}
	return ret, err
}

// sigStack is where a handler's frame goes: below sp, or at the top of the
// alternate stack if the action asks for it and the thread is not already
// on it (get_sigframe, sigsp).
func sigStack(th *Thread, act sigaction, sp uint64) uint64 {
	if act.flags&SA_ONSTACK != 0 && th.altstack.size != 0 && !th.onAltStack(sp) {
		return th.altstack.sp + th.altstack.size
	}
	return sp
}

// onAltStack reports whether sp is on th's alternate stack (on_sig_stack).
func (th *Thread) onAltStack(sp uint64) bool {
	return th.altstack.size != 0 && sp > th.altstack.sp && sp-th.altstack.sp <= th.altstack.size
}

// altStackFlags are the ss_flags sigaltstack and a frame's uc_stack
// report: sas_ss_flags and SS_AUTODISARM if set.
func (th *Thread) altStackFlags(sp uint64) uint32 {
	switch {
	case th.altstack.size == 0:
		return SS_DISABLE | th.altstack.flags
	case th.onAltStack(sp):
		return SS_ONSTACK | th.altstack.flags
	}
	return th.altstack.flags
}

// putStack and restoreStack write and read a frame's uc_stack (stack_t).
func putStack(b []byte, th *Thread, sp uint64) {
	le.PutUint64(b[0:], th.altstack.sp)
	le.PutUint32(b[8:], th.altStackFlags(sp))
	le.PutUint64(b[16:], th.altstack.size)
}

// restoreStack sets the alternate stack saved in a frame, as
// restore_altstack does: ignored where sigaltstack would fail.
func restoreStack(t Task, b []byte, sp uint64) {
	th := t.Thread()
	if th.onAltStack(sp) {
		return // EPERM
	}
	ssp, flags, size := le.Uint64(b[0:]), le.Uint32(b[8:]), le.Uint64(b[16:])
	switch mode := flags &^ SS_AUTODISARM; {
	case mode == SS_DISABLE:
		th.altstack = stackT{flags: flags & SS_AUTODISARM}
	case mode != 0 && mode != SS_ONSTACK, size < abiOf(t.Arch()).minSigStkSz:
		// EINVAL, ENOMEM
	default:
		th.altstack = stackT{sp: ssp, size: size, flags: flags & SS_AUTODISARM}
	}
}

// putSiginfo writes a siginfo_t: a fault's si_addr, or a sent signal's
// si_pid and si_uid, at 16.
func putSiginfo(b []byte, info SigInfo) {
	le.PutUint32(b[0:], uint32(info.Signo))
	le.PutUint32(b[8:], uint32(info.Code))
	if info.Signo == SIGCHLD && info.Code > 0 { // CLD_*: si_pid, si_uid, si_status
		le.PutUint32(b[16:], uint32(info.PID))
		le.PutUint32(b[20:], uint32(info.UID))
		le.PutUint32(b[24:], uint32(info.Status))
		return
	}
	if info.Code <= 0 {
		le.PutUint32(b[16:], uint32(info.PID))
		le.PutUint32(b[20:], uint32(info.UID))
		return
	}
	le.PutUint64(b[16:], info.Addr)
}

// readRegs reads the calling thread's registers regs.
func readRegs(t Task, regs []arch.Reg) ([]uint64, error) {
	vals := make([]uint64, len(regs))
	return vals, t.ReadRegs(regs, vals)
}

// amd64 frame: struct rt_sigframe { char *pretcode; struct ucontext uc;
// struct siginfo info; } with the fxsave area 64-byte aligned above it.
// ucontext is uc_flags, uc_link, uc_stack (24 bytes), uc_mcontext
// (struct sigcontext, 256 bytes) and uc_sigmask.
const (
	amd64UC         = 8        // ucontext in the frame
	amd64UCStack    = 16       // uc_stack in ucontext
	amd64UCMcontext = 40       // uc_mcontext in ucontext
	amd64UCSigmask  = 40 + 256 // uc_sigmask in ucontext
	amd64Info       = 8 + 304  // siginfo in the frame
	amd64FrameSize  = amd64Info + siginfoSize
	amd64FxsaveSize = 512       // the legacy FXSAVE area, no XSAVE header
	amd64RedZone    = 128       // below the interrupted SP, left alone
	amd64UCFlags    = 0x2 | 0x4 // UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
	amd64FixEflags  = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000
	amd64HandlerClr = 0x400 | 0x100 | 0x10000 // DF, TF, RF
)

// amd64SigcontextRegs are struct sigcontext's first 18 fields in order.
var amd64SigcontextRegs = []arch.Reg{
	arch.AMD64_R8, arch.AMD64_R9, arch.AMD64_R10, arch.AMD64_R11,
	arch.AMD64_R12, arch.AMD64_R13, arch.AMD64_R14, arch.AMD64_R15,
	arch.AMD64_RDI, arch.AMD64_RSI, arch.AMD64_RBP, arch.AMD64_RBX,
	arch.AMD64_RDX, arch.AMD64_RAX, arch.AMD64_RCX, arch.AMD64_RSP,
	arch.AMD64_RIP, arch.AMD64_EFLAGS,
}

const (
	amd64RSP    = 15 // indexes into amd64SigcontextRegs
	amd64RIP    = 16
	amd64EFLAGS = 17
)

func pushFrameAMD64(k *Kernel, t Task, info SigInfo, act sigaction) error {
	if act.flags&SA_RESTORER == 0 {
		return EFAULT // x86-64 has no other way back (x64_setup_rt_frame)
	}
	th := t.Thread()
	regs, err := readRegs(t, amd64SigcontextRegs)
	if err != nil {
		return err
	}
	sp := regs[amd64RSP]
	fx := (sigStack(th, act, sp-amd64RedZone) - amd64FxsaveSize) &^ 63
	frame := ((fx - amd64FrameSize) &^ 15) - 8

	var f [amd64FrameSize]byte
	le.PutUint64(f[0:], act.restorer)
	uc := f[amd64UC:]
	le.PutUint64(uc[0:], amd64UCFlags)
	putStack(uc[amd64UCStack:], th, sp)
	mc := uc[amd64UCMcontext:]
	for i, v := range regs {
		le.PutUint64(mc[8*i:], v)
	}
	le.PutUint16(mc[144:], 0x33) // cs: __USER_CS
	le.PutUint16(mc[150:], 0x2b) // ss: __USER_DS
	le.PutUint64(mc[152:], info.Err)
	le.PutUint64(mc[160:], info.Trapno)
	le.PutUint64(mc[168:], th.sigmask) // oldmask
	if info.Signo == SIGSEGV {
		le.PutUint64(mc[176:], info.Addr) // cr2
	}
	le.PutUint64(mc[184:], fx) // fpstate
	le.PutUint64(uc[amd64UCSigmask:], th.sigmask)
	putSiginfo(f[amd64Info:], info)

	var fxs [amd64FxsaveSize]byte
	le.PutUint16(fxs[0:], 0x37f) // FCW as FNINIT leaves it
	mx, err := readRegs(t, []arch.Reg{arch.AMD64_MXCSR})
	if err != nil {
		return err
	}
	le.PutUint32(fxs[24:], uint32(mx[0]))
	le.PutUint32(fxs[28:], 0xffff) // MXCSR_MASK
	for i := range 16 {
		lo, hi, err := t.ReadVec(arch.AMD64_XMM0 + arch.Reg(i))
		if err != nil {
			return err
		}
		le.PutUint64(fxs[160+16*i:], lo)
		le.PutUint64(fxs[168+16*i:], hi)
	}
	if err := t.WriteMem(fx, fxs[:]); err != nil {
		return err
	}
	if err := t.WriteMem(frame, f[:]); err != nil {
		return err
	}
	return t.WriteRegs(
		[]arch.Reg{arch.AMD64_RDI, arch.AMD64_RSI, arch.AMD64_RDX, arch.AMD64_RAX, arch.AMD64_RSP, arch.AMD64_EFLAGS, arch.AMD64_RIP},
		[]uint64{uint64(info.Signo), frame + amd64Info, frame + amd64UC, 0, frame, regs[amd64EFLAGS] &^ amd64HandlerClr, act.handler})
}

// popFrameAMD64 runs after the handler's RET popped pretcode: the
// ucontext is at the stack pointer.
func popFrameAMD64(t Task) (uint64, error) {
	sp, err := readRegs(t, []arch.Reg{arch.AMD64_RSP, arch.AMD64_EFLAGS})
	if err != nil {
		return 0, err
	}
	frame := sp[0] - 8
	var f [amd64FrameSize]byte
	if err := t.ReadMem(frame, f[:]); err != nil {
		return 0, err
	}
	uc := f[amd64UC:]
	mc := uc[amd64UCMcontext:]
	regs := make([]uint64, len(amd64SigcontextRegs))
	for i := range regs {
		regs[i] = le.Uint64(mc[8*i:])
	}
	regs[amd64EFLAGS] = sp[1]&^amd64FixEflags | regs[amd64EFLAGS]&amd64FixEflags
	if fx := le.Uint64(mc[184:]); fx != 0 {
		var fxs [amd64FxsaveSize]byte
		if err := t.ReadMem(fx, fxs[:]); err != nil {
			return 0, err
		}
		for i := range 16 {
			if err := t.WriteVec(arch.AMD64_XMM0+arch.Reg(i), le.Uint64(fxs[160+16*i:]), le.Uint64(fxs[168+16*i:])); err != nil {
				return 0, err
			}
		}
		// Reserved MXCSR bits would fault in FXRSTOR; Linux refuses them.
		if err := t.WriteRegs([]arch.Reg{arch.AMD64_MXCSR}, []uint64{uint64(le.Uint32(fxs[24:]) & 0xffff)}); err != nil {
			return 0, err
		}
	}
	if err := t.WriteRegs(amd64SigcontextRegs, regs); err != nil {
		return 0, err
	}
	t.Thread().sigmask = le.Uint64(uc[amd64UCSigmask:]) &^ unblockable
	restoreStack(t, uc[amd64UCStack:], regs[amd64RSP])
	return regs[13], nil // RAX, which the syscall's return would overwrite
}

// arm64 frame: struct rt_sigframe { struct siginfo info; struct ucontext
// uc; } and above it a frame record {x29, x30}. ucontext is uc_flags,
// uc_link, uc_stack, uc_sigmask, padding to 1024 bits of mask, and at 176
// uc_mcontext: fault_address, regs[31], sp, pc, pstate and 4096 bytes of
// records from 288 on (here one fpsimd_context and the terminator).
const (
	arm64UC          = siginfoSize
	arm64UCStack     = 16
	arm64UCSigmask   = 40
	arm64UCMcontext  = 176
	arm64MCReserved  = 288
	arm64FrameSize   = arm64UC + arm64UCMcontext + arm64MCReserved + 4096
	arm64FPSIMDMagic = 0x46508001
	arm64FPSIMDSize  = 528
	arm64NZCV        = 0xf0000000 // the PSTATE bits a user may set
)

// arm64SigcontextRegs are x0..x30, sp and pc: regs[31], sp and pc in
// struct sigcontext. NZCV is read apart.
var arm64SigcontextRegs = func() []arch.Reg {
	var r []arch.Reg
	for n := range 31 {
		r = append(r, arch.ARM64X(n))
	}
	return append(r, arch.ARM64_SP, arch.ARM64_PC, arch.ARM64_NZCV)
}()

const (
	arm64SP     = 31 // indexes into arm64SigcontextRegs
	arm64PC     = 32
	arm64PSTATE = 33
)

// arm64Sigreturn is the trampoline a handler returns to when its action
// has no restorer (Go's arm64 runtime sets none; Linux uses the vDSO's
// __kernel_rt_sigreturn): mov x8, #139 (rt_sigreturn); svc #0.
var arm64Sigreturn = []byte{0x68, 0x11, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4}

func pushFrameARM64(k *Kernel, t Task, info SigInfo, act sigaction) error {
	th := t.Thread()
	regs, err := readRegs(t, arm64SigcontextRegs)
	if err != nil {
		return err
	}
	ret := act.restorer
	if act.flags&SA_RESTORER == 0 || ret == 0 {
		if ret, err = k.sigpage(t); err != nil {
			return err
		}
	}
	sp := regs[arm64SP]
	record := (sigStack(th, act, sp) - 16) &^ 15
	frame := (record - arm64FrameSize) &^ 15

	f := make([]byte, arm64FrameSize)
	putSiginfo(f, info)
	uc := f[arm64UC:]
	putStack(uc[arm64UCStack:], th, sp)
	le.PutUint64(uc[arm64UCSigmask:], th.sigmask)
	mc := uc[arm64UCMcontext:]
	le.PutUint64(mc[0:], info.Addr) // fault_address
	for i, v := range regs[:arm64PC+1] {
		le.PutUint64(mc[8+8*i:], v)
	}
	le.PutUint64(mc[272:], regs[arm64PSTATE]&arm64NZCV)
	fp := mc[arm64MCReserved:]
	le.PutUint32(fp[0:], arm64FPSIMDMagic)
	le.PutUint32(fp[4:], arm64FPSIMDSize)
	fpc, err := readRegs(t, []arch.Reg{arch.ARM64_FPSR, arch.ARM64_FPCR})
	if err != nil {
		return err
	}
	le.PutUint32(fp[8:], uint32(fpc[0]))
	le.PutUint32(fp[12:], uint32(fpc[1]))
	for i := range 32 {
		lo, hi, err := t.ReadVec(arch.ARM64_Q0 + arch.Reg(i))
		if err != nil {
			return err
		}
		le.PutUint64(fp[16+16*i:], lo)
		le.PutUint64(fp[24+16*i:], hi)
	}
	// The terminator record after fpsimd_context is already zero.

	var rec [16]byte
	le.PutUint64(rec[0:], regs[29])
	le.PutUint64(rec[8:], regs[30])
	if err := t.WriteMem(record, rec[:]); err != nil {
		return err
	}
	if err := t.WriteMem(frame, f); err != nil {
		return err
	}
	return t.WriteRegs(
		[]arch.Reg{arch.ARM64X(0), arch.ARM64X(1), arch.ARM64X(2), arch.ARM64_SP, arch.ARM64X(29), arch.ARM64X(30), arch.ARM64_PC},
		[]uint64{uint64(info.Signo), frame, frame + arm64UC, frame, record, ret, act.handler})
}

// popFrameARM64 finds the frame at the stack pointer, where the handler
// found it (sys_rt_sigreturn).
func popFrameARM64(t Task) (uint64, error) {
	sp, err := readRegs(t, []arch.Reg{arch.ARM64_SP, arch.ARM64_NZCV})
	if err != nil {
		return 0, err
	}
	if sp[0]&15 != 0 {
		return 0, EFAULT
	}
	f := make([]byte, arm64FrameSize)
	if err := t.ReadMem(sp[0], f); err != nil {
		return 0, err
	}
	uc := f[arm64UC:]
	mc := uc[arm64UCMcontext:]
	regs := make([]uint64, len(arm64SigcontextRegs))
	for i := range regs[:arm64PC+1] {
		regs[i] = le.Uint64(mc[8+8*i:])
	}
	regs[arm64PSTATE] = sp[1]&^arm64NZCV | le.Uint64(mc[272:])&arm64NZCV
	if fp := mc[arm64MCReserved:]; le.Uint32(fp[0:]) == arm64FPSIMDMagic && le.Uint32(fp[4:]) == arm64FPSIMDSize {
		if err := t.WriteRegs([]arch.Reg{arch.ARM64_FPSR, arch.ARM64_FPCR}, []uint64{uint64(le.Uint32(fp[8:])), uint64(le.Uint32(fp[12:]))}); err != nil {
			return 0, err
		}
		for i := range 32 {
			if err := t.WriteVec(arch.ARM64_Q0+arch.Reg(i), le.Uint64(fp[16+16*i:]), le.Uint64(fp[24+16*i:])); err != nil {
				return 0, err
			}
		}
	}
	if err := t.WriteRegs(arm64SigcontextRegs, regs); err != nil {
		return 0, err
	}
	t.Thread().sigmask = le.Uint64(uc[arm64UCSigmask:]) &^ unblockable
	restoreStack(t, uc[arm64UCStack:], regs[arm64SP])
	return regs[0], nil // x0, which the syscall's return would overwrite
}

// sigpage returns the address of the arm64 sigreturn trampoline, mapping
// it (read and execute, shown as [sigpage]) the first time.
func (k *Kernel) sigpage(t Task) (uint64, error) {
	if k.sigtramp != 0 {
		return k.sigtramp, nil
	}
	addr, err := t.Mmap(MapRequest{Length: t.Arch().PageSize, Prot: PROT_READ | PROT_EXEC, Mode: MapHint, Name: "[sigpage]"})
	if err != nil {
		return 0, err
	}
	if err := t.FillMem(addr, arm64Sigreturn); err != nil {
		return 0, err
	}
	k.sigtramp = addr
	return addr, nil
}
