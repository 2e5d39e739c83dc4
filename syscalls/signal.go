package syscalls

import (
	"maps"
	"slices"
	"strconv"

	"github.com/gorunemu/gorunemu/arch"
)

// Signals. Dispositions, masks and alternate stacks are kept exactly.
// Faults and signals sent with kill, tkill or tgkill run the guest's
// handlers (sigframe.go); a signal whose default action ends the process
// ends it through Task.KillProcess, and stopping is an emulator gap.

// sigBit is sig's bit in a sigset.
func sigBit(sig int) uint64 { return 1 << (sig - 1) }

// unblockable are SIGKILL and SIGSTOP, which no mask or action can affect.
const unblockable = 1<<(SIGKILL-1) | 1<<(SIGSTOP-1)

// uapiSAFlags are the sa_flags bits the kernel keeps (kernel/signal.c
// UAPI_SA_FLAGS with SA_RESTORER); others, such as SA_UNSUPPORTED, read
// back as clear, which is how programs probe for flag support.
const uapiSAFlags = SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART |
	SA_NODEFER | SA_RESETHAND | SA_EXPOSE_TAGBITS | SA_RESTORER

// RtSigaction implements rt_sigaction(2). As in kernel/signal.c
// do_sigaction, the new action is read first, the old one is saved before
// the new one is stored, and the old one is written last, so act and oact
// may point at the same buffer; a fault writing oact is reported after the
// new action took effect.
func RtSigaction(t Task, a Args) (uint64, error) {
	sig, act, oact, size := int(a.Int32(0)), a.Ptr(1), a.Ptr(2), a.Uint(3)
	if size != sigsetSize {
		return 0, EINVAL
	}
	if sig < 1 || sig > NSIG || (act != 0 && (sig == SIGKILL || sig == SIGSTOP)) {
		return 0, EINVAL
	}
	var nw sigaction
	if act != 0 {
		var b [sigactionSize]byte
		if err := t.ReadMem(act, b[:]); err != nil {
			return 0, err
		}
		nw = sigaction{le.Uint64(b[0:]), le.Uint64(b[8:]) & uapiSAFlags, le.Uint64(b[16:]), le.Uint64(b[24:]) &^ unblockable}
	}
	k := t.Kernel()
	old := k.actions[sig-1]
	if act != 0 {
		k.actions[sig-1] = nw
	}
	if oact != 0 {
		var b [sigactionSize]byte
		le.PutUint64(b[0:], old.handler)
		le.PutUint64(b[8:], old.flags)
		le.PutUint64(b[16:], old.restorer)
		le.PutUint64(b[24:], old.mask)
		if err := t.WriteMem(oact, b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// RtSigprocmask implements rt_sigprocmask(2). SIGKILL and SIGSTOP are never
// blocked.
func RtSigprocmask(t Task, a Args) (uint64, error) {
	how, set, oset, size := a.Int32(0), a.Ptr(1), a.Ptr(2), a.Uint(3)
	if size != sigsetSize {
		return 0, EINVAL
	}
	th := t.Thread()
	old := th.sigmask
	if set != 0 {
		m, err := readU64(t, set)
		if err != nil {
			return 0, err
		}
		m &^= unblockable
		switch how {
		case SIG_BLOCK:
			th.sigmask |= m
		case SIG_UNBLOCK:
			th.sigmask &^= m
		case SIG_SETMASK:
			th.sigmask = m
		default:
			return 0, EINVAL
		}
	}
	if oset != 0 {
		if err := writeU64(t, oset, old); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// Sigaltstack implements sigaltstack(2). While the thread runs on its
// alternate stack, oss reports SS_ONSTACK and changing it is EPERM.
func Sigaltstack(t Task, a Args) (uint64, error) {
	ss, oss := a.Ptr(0), a.Ptr(1)
	th := t.Thread()
	cur, err := readRegs(t, []arch.Reg{t.Arch().SP})
	if err != nil {
		return 0, err
	}
	old := th.altstack
	oldFlags := th.altStackFlags(cur[0])
	if ss != 0 {
		var b [stackTSize]byte
		if err := t.ReadMem(ss, b[:]); err != nil {
			return 0, err
		}
		if th.onAltStack(cur[0]) {
			return 0, EPERM
		}
		sp, flags, size := le.Uint64(b[0:]), le.Uint32(b[8:]), le.Uint64(b[16:])
		mode := flags &^ SS_AUTODISARM
		if mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0 {
			return 0, EINVAL
		}
		if mode == SS_DISABLE {
			th.altstack = stackT{flags: flags & SS_AUTODISARM}
		} else {
			if size < abiOf(t.Arch()).minSigStkSz {
				return 0, ENOMEM
			}
			th.altstack = stackT{sp: sp, size: size, flags: flags & SS_AUTODISARM}
		}
	}
	if oss != 0 {
		var b [stackTSize]byte
		le.PutUint64(b[0:], old.sp)
		le.PutUint32(b[8:], oldFlags)
		le.PutUint64(b[16:], old.size)
		if err := t.WriteMem(oss, b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// defaultAction is what SIG_DFL does with a signal (signal(7)).
type defaultAction int

const (
	actTerminate defaultAction = iota // Term and Core
	actIgnore
	actStop
	actContinue
)

func defaultActionOf(sig int) defaultAction {
	switch sig {
	case SIGCHLD, SIGURG, SIGWINCH:
		return actIgnore
	case SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU:
		return actStop
	case SIGCONT:
		return actContinue
	}
	return actTerminate
}

// sendSignal sends sig (si_code code) from the calling thread to the
// thread tid of its own process (thread-directed) or, with tid 0, to the
// process.
func sendSignal(t Task, tid, sig, code int) (uint64, error) {
	k := t.Kernel()
	return sendSignalTo(t, k, tid, SigInfo{Signo: sig, Code: code, PID: k.cfg.PID, Sender: t.TID()})
}

// SignalFromOutside sends sig to the process as another process would
// with kill(2) (its parent, by default): how gorunemu passes on a signal
// it received itself. t is any live thread of the emulation, through
// which the kernel acts; what the signal does happens through it
// (KillProcess, Interrupt).
func (k *Kernel) SignalFromOutside(t Task, sig int) error {
	if sig <= 0 || sig > NSIG {
		return EINVAL
	}
	_, err := sendSignalTo(t, k, 0, SigInfo{Signo: sig, Code: SI_USER, PID: k.cfg.PPID})
	return err
}

// sendSignalTo sends info to the thread tid of process k or, with tid 0,
// to the process, and does what the disposition says. A signal for a
// handler, or a blocked one, becomes pending on its thread (for the
// process: the first thread by tid, the leader, that does not block it,
// as Linux's complete_signal wants one that can take it). A thread
// blocked in a syscall is interrupted (Task.Interrupt); the signal is
// delivered when the thread next runs guest code with it unblocked. A
// process that has ended (a zombie) takes nothing.
func sendSignalTo(t Task, k *Kernel, tid int, info SigInfo) (uint64, error) {
	sig := info.Signo
	if sig == 0 || k.ended != nil {
		return 0, nil // existence and permission probe, or a zombie
	}
	name := SignalName(sig)
	target := "process " + strconv.Itoa(k.cfg.PID)
	var th *Thread
	thTID := tid
	if tid != 0 {
		target = "tid " + strconv.Itoa(tid)
		th, _ = k.thread(tid)
	} else {
		// complete_signal: the leader if it does not block the signal,
		// else another thread that does not (in tid order here).
		tids := slices.Sorted(maps.Keys(k.threads))
		for _, id := range tids {
			if k.threads[id].sigmask&sigBit(sig) == 0 {
				th, thTID = k.threads[id], id
				break
			}
		}
		if th == nil && len(tids) > 0 {
			th, thTID = k.threads[tids[0]], tids[0]
		}
	}
	blocked := th != nil && th.sigmask&sigBit(sig) != 0
	if sig == SIGKILL {
		t.KillProcess(k.cfg.PID, sig)
		return 0, nil
	}
	// prepare_signal: a stop signal drops a pending SIGCONT; SIGCONT
	// drops pending stop signals and continues a stopped process,
	// whatever its disposition.
	if sig == SIGCONT {
		k.discardPending(func(s int) bool { return defaultActionOf(s) == actStop })
		if k.stopped {
			note(t, "SIGCONT continues %s", target)
			if err := k.jobControl(t, false, SIGCONT); err != nil {
				return 0, err
			}
		}
	} else if defaultActionOf(sig) == actStop {
		k.discardPending(func(s int) bool { return s == SIGCONT })
	}
	act := k.actions[sig-1]
	switch {
	case act.handler == SIG_IGN:
		note(t, "%s to %s ignored (SIG_IGN)", name, target)
	case act.handler != SIG_DFL || blocked:
		switch {
		case th == nil:
			note(t, "%s to %s dropped: no thread to take it", name, target)
		case !th.queue(info):
			note(t, "%s to %s merged with the one already pending", name, target)
		case blocked:
			note(t, "%s to %s left pending: blocked", name, target)
		default:
			note(t, "%s to %s pending for its handler", name, target)
			// A thread asleep in a syscall wakes for it (signal_wake_up).
			if err := t.Interrupt(thTID); err != nil {
				return 0, err
			}
		}
	case defaultActionOf(sig) == actIgnore || defaultActionOf(sig) == actContinue:
		note(t, "%s to %s ignored (default action)", name, target)
	case defaultActionOf(sig) == actStop:
		note(t, "%s stops %s", name, target)
		if err := k.jobControl(t, true, sig); err != nil {
			return 0, err
		}
	default:
		note(t, "%s to %s: default action ends the process", name, target)
		t.KillProcess(k.cfg.PID, sig)
	}
	return 0, nil
}

// discardPending drops the pending signals drop picks, on every thread.
func (k *Kernel) discardPending(drop func(sig int) bool) {
	for _, th := range k.threads {
		th.pending = slices.DeleteFunc(th.pending, func(i SigInfo) bool { return drop(i.Signo) })
	}
}

// jobControl stops the process (by signal sig) or continues it: its
// threads do not run while it is stopped (see Stopped). The parent can
// wait for the change (WUNTRACED, WCONTINUED) and is sent SIGCHLD unless
// it asked not to (SA_NOCLDSTOP).
func (k *Kernel) jobControl(t Task, stop bool, sig int) error {
	if k.stopped == stop {
		return nil
	}
	k.stopped = stop
	k.stopReport, k.contReport = 0, false
	code := CLD_CONTINUED
	if stop {
		k.stopReport, code = sig, CLD_STOPPED
	} else {
		k.contReport = true
	}
	p := k.parent
	if p == nil {
		return nil
	}
	if k.exitSignal == SIGCHLD && p.actions[SIGCHLD-1].flags&SA_NOCLDSTOP == 0 {
		info := SigInfo{Signo: SIGCHLD, Code: code, PID: k.cfg.PID, UID: int(k.uids[idReal]), Status: sig}
		if _, err := sendSignalTo(t, p, 0, info); err != nil {
			return err
		}
	}
	t.Notify(p.childKey)
	return nil
}

// Stopped reports whether the process is stopped (SIGSTOP and the other
// stop signals, until SIGCONT): the emulator does not run its threads.
func (k *Kernel) Stopped() bool { return k.stopped }

// Kill implements kill(2): pid > 0 is that process, 0 the caller's
// process group, -1 every process but the caller, < -1 the process group
// -pid. ESRCH when nothing matches.
func Kill(t Task, a Args) (uint64, error) {
	pid, sig := int(a.Int32(0)), int(a.Int32(1))
	if sig < 0 || sig > NSIG {
		return 0, EINVAL
	}
	k := t.Kernel()
	var targets []*Kernel
	switch {
	case pid > 0:
		if p, ok := k.procs[pid]; ok {
			targets = append(targets, p)
		}
	case pid == -1:
		for _, p := range k.processes() {
			if p != k {
				targets = append(targets, p)
			}
		}
	case pid == -1<<31:
		return 0, ESRCH // INT_MIN cannot be negated into a group id
	default:
		group := -pid
		if pid == 0 {
			group = k.pgid
		}
		for _, p := range k.processes() {
			if p.pgid == group {
				targets = append(targets, p)
			}
		}
	}
	if len(targets) == 0 {
		return 0, ESRCH
	}
	for _, p := range targets {
		if _, err := sendSignalTo(t, p, 0, SigInfo{Signo: sig, Code: SI_USER, PID: k.cfg.PID, Sender: t.TID()}); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// Tkill implements tkill(2).
func Tkill(t Task, a Args) (uint64, error) {
	tid, sig := int(a.Int32(0)), int(a.Int32(1))
	if tid <= 0 || sig < 0 || sig > NSIG {
		return 0, EINVAL
	}
	if _, ok := t.Kernel().thread(tid); !ok {
		return 0, ESRCH
	}
	return sendSignal(t, tid, sig, SI_TKILL)
}

// Tgkill implements tgkill(2).
func Tgkill(t Task, a Args) (uint64, error) {
	tgid, tid, sig := int(a.Int32(0)), int(a.Int32(1)), int(a.Int32(2))
	if tgid <= 0 || tid <= 0 || sig < 0 || sig > NSIG {
		return 0, EINVAL
	}
	k, ok := t.Kernel().procs[tgid]
	if !ok {
		return 0, ESRCH
	}
	if _, ok := k.thread(tid); !ok {
		return 0, ESRCH
	}
	return sendSignalTo(t, k, tid, SigInfo{Signo: sig, Code: SI_TKILL, PID: t.Kernel().cfg.PID, Sender: t.TID()})
}
