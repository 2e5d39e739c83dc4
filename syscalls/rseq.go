package syscalls

// Restartable sequences (rseq(2)). A thread registers a struct rseq; the
// kernel keeps its cpu_id fields current and, when the thread is
// preempted or takes a signal inside the critical section its rseq_cs
// field describes, moves it to the section's abort handler. glibc
// registers one for every thread (since 2.35) and reads the CPU number
// from it (sched_getcpu).
//
// gorunemu runs every thread on CPU 0 of node 0, so the cpu_id fields are
// written once, at registration. The emulator calls RseqResume before a
// thread runs again after another one ran, or before a signal is
// delivered to it: the moments Linux's rseq_handle_notify_resume runs.

const (
	rseqMinSize        = 32 // ORIG_RSEQ_SIZE: struct rseq before Linux 6.3
	rseqAlign          = 32
	rseqFlagUnregister = 1
)

// rseqArea is a thread's registration.
type rseqArea struct {
	addr uint64
	len  uint32
	sig  uint32
}

// Rseq implements rseq(2): register the calling thread's struct rseq,
// or unregister it with RSEQ_FLAG_UNREGISTER.
func Rseq(t Task, a Args) (uint64, error) {
	addr, length, flags, sig := a.Ptr(0), a.U32(1), a.Int32(2), a.U32(3)
	th := t.Thread()
	if flags&rseqFlagUnregister != 0 {
		switch {
		case flags&^rseqFlagUnregister != 0:
			return 0, EINVAL
		case th.rseq.addr == 0 || th.rseq.addr != addr || th.rseq.len != length:
			return 0, EINVAL
		case th.rseq.sig != sig:
			return 0, EPERM
		}
		// cpu_id back to RSEQ_CPU_ID_UNINITIALIZED.
		if err := writeU32(t, addr+4, ^uint32(0)); err != nil {
			return 0, err
		}
		th.rseq = rseqArea{}
		return 0, nil
	}
	switch {
	case flags != 0:
		return 0, EINVAL
	case th.rseq.addr != 0:
		if th.rseq.addr != addr || th.rseq.len != length {
			return 0, EINVAL
		}
		if th.rseq.sig != sig {
			return 0, EPERM
		}
		return 0, EBUSY
	case length < rseqMinSize || addr%rseqAlign != 0:
		return 0, EINVAL
	}
	// cpu_id_start and cpu_id: CPU 0.
	if err := writeU64(t, addr, 0); err != nil {
		return 0, err
	}
	th.rseq = rseqArea{addr: addr, len: length, sig: sig}
	return 0, nil
}

// RseqResume moves a thread that was preempted, or is about to take a
// signal, inside the critical section its struct rseq names to the
// section's abort handler, and clears rseq_cs, as Linux's rseq_ip_fixup
// does. It returns the PC the thread resumes at: pc itself, or the abort
// handler's. A struct rseq_cs that cannot be read, or whose abort handler
// lacks the registered signature, is a fault: ok is false, and the
// thread must get SIGSEGV, as on Linux.
func (th *Thread) RseqResume(t Task, pc uint64) (_ uint64, ok bool) {
	if th.rseq.addr == 0 {
		return pc, true
	}
	cs, err := readU64(t, th.rseq.addr+8)
	if err != nil {
		return pc, false
	}
	if cs == 0 {
		return pc, true
	}
	var b [32]byte
	if err := t.ReadMem(cs, b[:]); err != nil {
		return pc, false
	}
	version := le.Uint32(b[0:])
	start, postCommit, abort := le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint64(b[24:])
	if version != 0 || start+postCommit < start || (abort >= start && abort < start+postCommit) {
		return pc, false
	}
	if pc < start || pc-start >= postCommit {
		// Outside the section: rseq_cs is cleared lazily.
		return pc, writeU64(t, th.rseq.addr+8, 0) == nil
	}
	sig, err := readU32(t, abort-4)
	if err != nil || sig != th.rseq.sig {
		return pc, false
	}
	if err := writeU64(t, th.rseq.addr+8, 0); err != nil {
		return pc, false
	}
	return abort, true
}
