package syscalls

import "strings"

// Threads, futexes and scheduling.

// threadFlags are the clone flags that make a thread the way pthreads and
// the Go runtime do; clone without all of them would create a process.
const threadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD

// cloneOptional are the other flags a thread clone may carry.
const cloneOptional = CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
	CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED

var cloneFlagNames = []struct {
	bit  uint64
	name string
}{
	{CLONE_VM, "CLONE_VM"}, {CLONE_FS, "CLONE_FS"}, {CLONE_FILES, "CLONE_FILES"},
	{CLONE_SIGHAND, "CLONE_SIGHAND"}, {CLONE_PIDFD, "CLONE_PIDFD"}, {CLONE_PTRACE, "CLONE_PTRACE"},
	{CLONE_VFORK, "CLONE_VFORK"}, {CLONE_PARENT, "CLONE_PARENT"}, {CLONE_THREAD, "CLONE_THREAD"},
	{CLONE_NEWNS, "CLONE_NEWNS"}, {CLONE_SYSVSEM, "CLONE_SYSVSEM"}, {CLONE_SETTLS, "CLONE_SETTLS"},
	{CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"}, {CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"},
	{CLONE_DETACHED, "CLONE_DETACHED"}, {CLONE_UNTRACED, "CLONE_UNTRACED"},
	{CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"}, {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
	{CLONE_NEWUTS, "CLONE_NEWUTS"}, {CLONE_NEWIPC, "CLONE_NEWIPC"}, {CLONE_NEWUSER, "CLONE_NEWUSER"},
	{CLONE_NEWPID, "CLONE_NEWPID"}, {CLONE_NEWNET, "CLONE_NEWNET"}, {CLONE_IO, "CLONE_IO"},
}

func cloneFlagString(f uint64) string {
	var parts []string
	for _, n := range cloneFlagNames {
		if f&n.bit != 0 {
			parts = append(parts, n.name)
			f &^= n.bit
		}
	}
	if f != 0 || len(parts) == 0 {
		parts = append(parts, hex(f))
	}
	return strings.Join(parts, "|")
}

// Clone implements clone(2). Without CLONE_THREAD it makes a process
// (cloneProcess, process.go). A thread's flags must include CLONE_VM,
// CLONE_FS, CLONE_FILES, CLONE_SIGHAND and CLONE_THREAD, and may add
// CLONE_SYSVSEM, CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_SETTID and
// CLONE_CHILD_CLEARTID (the exit signal byte is ignored for threads, as
// Linux ignores it). Inconsistent flags fail with EINVAL as in
// kernel/fork.c; other flags (namespaces) fail with ENOSYS and a note.
// The argument order differs by arch (archabi.go). The
// child inherits the signal mask and the name, starts with no alternate
// signal stack, and its tid is written at parent_tid and child_tid (one
// address space, so both writes happen here; a fault there is ignored, as
// Linux ignores it, and noted).
func Clone(t Task, a Args) (uint64, error) {
	x := abiOf(t.Arch())
	flags, stack, parentTID := a.Uint(0), a.Ptr(1), a.Ptr(2)
	tls, childTID := a.Ptr(x.cloneTLS), a.Ptr(x.cloneChildTID)
	flags &= 0xffffffff // clone's flags are an unsigned long, but only 32 bits exist

	// copy_process's consistency checks.
	switch {
	case flags&(CLONE_NEWNS|CLONE_FS) == CLONE_NEWNS|CLONE_FS,
		flags&(CLONE_NEWUSER|CLONE_FS) == CLONE_NEWUSER|CLONE_FS,
		flags&CLONE_THREAD != 0 && flags&CLONE_SIGHAND == 0,
		flags&CLONE_SIGHAND != 0 && flags&CLONE_VM == 0,
		flags&CLONE_PIDFD != 0 && flags&(CLONE_DETACHED|CLONE_THREAD) != 0:
		return 0, EINVAL
	}
	if flags&CLONE_THREAD == 0 {
		return cloneProcess(t, flags, stack, parentTID, childTID, tls)
	}
	if flags&threadFlags != threadFlags {
		note(t, "clone flags %s are not emulated for a thread", cloneFlagString(flags&^CSIGNAL))
		return 0, ENOSYS
	}
	if extra := flags &^ (threadFlags | cloneOptional | CSIGNAL); extra != 0 {
		note(t, "clone flags %s are not emulated", cloneFlagString(extra))
		return 0, ENOSYS
	}

	k := t.Kernel()
	parent := t.Thread()
	child := &Thread{sigmask: parent.sigmask, name: parent.name, named: parent.named}
	if flags&CLONE_CHILD_CLEARTID != 0 {
		child.clearChildTID = childTID
	}
	req := CloneRequest{Stack: stack, Thread: child}
	if flags&CLONE_SETTLS != 0 {
		req.SetTLS, req.TLS = true, tls
	}
	tid, err := t.Clone(req)
	if err != nil {
		return 0, err
	}
	k.registerThread(tid, child)
	if flags&CLONE_PARENT_SETTID != 0 {
		if err := writeU32(t, parentTID, uint32(tid)); err != nil {
			note(t, "CLONE_PARENT_SETTID: cannot write tid at %s", hex(parentTID))
		}
	}
	if flags&CLONE_CHILD_SETTID != 0 {
		if err := writeU32(t, childTID, uint32(tid)); err != nil {
			note(t, "CLONE_CHILD_SETTID: cannot write tid at %s", hex(childTID))
		}
	}
	return uint64(tid), nil
}

// Exit implements exit(2): the thread's clear_child_tid word is zeroed and
// one waiter on it woken (kernel/fork.c mm_release), then the thread ends.
// Robust futex lists are not walked (noted if one is registered).
func Exit(t Task, a Args) (uint64, error) {
	code := int(a.Int32(0)) & 0xff
	th := t.Thread()
	if addr := th.clearChildTID; addr != 0 {
		if err := writeU32(t, addr, 0); err != nil {
			note(t, "clear_child_tid %s is not writable", hex(addr))
		} else {
			t.FutexWake(addr, FUTEX_BITSET_MATCH_ANY, 1)
		}
	}
	if th.robustHead != 0 {
		note(t, "robust futex list at %s not processed", hex(th.robustHead))
	}
	delete(t.Kernel().threads, t.TID())
	t.ExitThread(code)
	return 0, nil
}

// ExitGroup implements exit_group(2): the process ends with status
// code & 0xff.
func ExitGroup(t Task, a Args) (uint64, error) {
	t.ExitGroup(int(a.Int32(0)) & 0xff)
	return 0, nil
}

// SetTidAddress implements set_tid_address(2).
func SetTidAddress(t Task, a Args) (uint64, error) {
	t.Thread().clearChildTID = a.Ptr(0)
	return uint64(t.TID()), nil
}

// SetRobustList implements set_robust_list(2): the list is recorded (and
// reported by get_robust_list) but not walked at exit.
func SetRobustList(t Task, a Args) (uint64, error) {
	if a.Uint(1) != robustListHeadSize {
		return 0, EINVAL
	}
	th := t.Thread()
	th.robustHead, th.robustLen = a.Ptr(0), a.Uint(1)
	return 0, nil
}

// GetRobustList implements get_robust_list(2).
func GetRobustList(t Task, a Args) (uint64, error) {
	pid, headPtr, lenPtr := int(a.Int32(0)), a.Ptr(1), a.Ptr(2)
	th := t.Thread()
	if pid != 0 {
		var ok bool
		if th, ok = t.Kernel().thread(pid); !ok {
			return 0, ESRCH
		}
	}
	if err := writeU64(t, lenPtr, robustListHeadSize); err != nil {
		return 0, err
	}
	return 0, writeU64(t, headPtr, th.robustHead)
}

// Gettid implements gettid(2).
func Gettid(t Task, a Args) (uint64, error) { return uint64(t.TID()), nil }

// SchedYield implements sched_yield(2).
func SchedYield(t Task, a Args) (uint64, error) {
	t.Yield()
	return 0, nil
}

// SchedGetaffinity implements sched_getaffinity(2): every thread may run
// on CPUs 0..NCPU-1. Like Linux it copies min(len, cpumask size) bytes,
// where the cpumask has room for NCPU bits in whole longs, and returns that
// size.
func SchedGetaffinity(t Task, a Args) (uint64, error) {
	pid, size, mask := int(a.Int32(0)), uint64(a.U32(1)), a.Ptr(2)
	k := t.Kernel()
	ncpu := uint64(k.cfg.NCPU)
	if size*8 < ncpu || size%8 != 0 {
		return 0, EINVAL
	}
	if pid != 0 {
		if _, ok := k.thread(pid); !ok {
			return 0, ESRCH
		}
	}
	maskSize := (ncpu + 63) / 64 * 8
	b := make([]byte, min(size, maskSize))
	for cpu := uint64(0); cpu < ncpu; cpu++ {
		b[cpu/8] |= 1 << (cpu % 8)
	}
	if err := t.WriteMem(mask, b); err != nil {
		return 0, err
	}
	return uint64(len(b)), nil
}

// futexTimeout converts a futex timeout to a virtual monotonic deadline:
// FUTEX_WAIT's is relative, FUTEX_WAIT_BITSET's absolute on
// CLOCK_MONOTONIC, or CLOCK_REALTIME with FUTEX_CLOCK_REALTIME.
func futexTimeout(t Task, addr uint64, cmd int32, realtime bool) (int64, error) {
	if addr == 0 {
		return NoDeadline, nil
	}
	ts, err := readTimespec(t, addr)
	if err != nil {
		return 0, err
	}
	if !ts.valid() {
		return 0, EINVAL
	}
	switch {
	case cmd == FUTEX_WAIT:
		return addSat(t.Now(), ts.ns()), nil
	case realtime:
		return ts.ns() - t.Kernel().cfg.RealtimeBase, nil
	}
	return ts.ns(), nil
}

func addSat(a, b int64) int64 {
	if b > 0 && a > (1<<63-1)-b {
		return 1<<63 - 1
	}
	return a + b
}

var futexCmdNames = map[int32]string{
	FUTEX_WAIT: "FUTEX_WAIT", FUTEX_WAKE: "FUTEX_WAKE", FUTEX_FD: "FUTEX_FD",
	FUTEX_REQUEUE: "FUTEX_REQUEUE", FUTEX_CMP_REQUEUE: "FUTEX_CMP_REQUEUE",
	FUTEX_WAKE_OP: "FUTEX_WAKE_OP", FUTEX_LOCK_PI: "FUTEX_LOCK_PI",
	FUTEX_UNLOCK_PI: "FUTEX_UNLOCK_PI", FUTEX_TRYLOCK_PI: "FUTEX_TRYLOCK_PI",
	FUTEX_WAIT_BITSET: "FUTEX_WAIT_BITSET", FUTEX_WAKE_BITSET: "FUTEX_WAKE_BITSET",
	FUTEX_WAIT_REQUEUE_PI: "FUTEX_WAIT_REQUEUE_PI", FUTEX_CMP_REQUEUE_PI: "FUTEX_CMP_REQUEUE_PI",
	FUTEX_LOCK_PI2: "FUTEX_LOCK_PI2",
}

// Futex implements futex(2) for FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET
// and FUTEX_WAKE_BITSET, private or shared (one process: the same thing),
// with FUTEX_CLOCK_REALTIME. The requeue, wake-op and priority-inheritance
// operations fail with ENOSYS and a note. A wait whose deadline has passed
// fails with ETIMEDOUT without blocking. As in Linux, a wake count of 0 or
// less still wakes one waiter.
func Futex(t Task, a Args) (uint64, error) {
	uaddr, op, val, utime, val3 := a.Ptr(0), a.Int32(1), a.U32(2), a.Ptr(3), a.U32(5)
	cmd := op & FUTEX_CMD_MASK
	realtime := op&FUTEX_CLOCK_REALTIME != 0
	shared := op&FUTEX_PRIVATE_FLAG == 0
	if realtime && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT_REQUEUE_PI && cmd != FUTEX_LOCK_PI2 {
		return 0, ENOSYS
	}
	switch cmd {
	case FUTEX_WAIT, FUTEX_WAIT_BITSET:
		deadline, err := futexTimeout(t, utime, cmd, realtime)
		if err != nil {
			return 0, err
		}
		bitset := uint32(FUTEX_BITSET_MATCH_ANY)
		if cmd == FUTEX_WAIT_BITSET {
			bitset = val3
		}
		if bitset == 0 || uaddr%4 != 0 {
			return 0, EINVAL
		}
		cur, err := readU32(t, uaddr)
		if err != nil {
			return 0, err
		}
		if cur != val {
			return 0, EAGAIN
		}
		if deadline != NoDeadline && deadline <= t.Now() {
			return 0, ETIMEDOUT
		}
		return t.FutexWait(uaddr, val, bitset, deadline)
	case FUTEX_WAKE, FUTEX_WAKE_BITSET:
		bitset := uint32(FUTEX_BITSET_MATCH_ANY)
		if cmd == FUTEX_WAKE_BITSET {
			bitset = val3
		}
		if bitset == 0 || uaddr%4 != 0 {
			return 0, EINVAL
		}
		if shared {
			// A shared key pins the page: the word must be mapped.
			if _, err := readU32(t, uaddr); err != nil {
				return 0, err
			}
		}
		n := int(int32(val))
		if n < 1 {
			n = 1
		}
		return uint64(t.FutexWake(uaddr, bitset, n)), nil
	}
	if name, ok := futexCmdNames[cmd]; ok {
		note(t, "%s is not emulated", name)
	}
	return 0, ENOSYS
}

// Membarrier implements membarrier(2). The emulator runs one thread at a
// time with sequentially consistent memory, so every barrier is already
// satisfied; what remains is the registration protocol.
func Membarrier(t Task, a Args) (uint64, error) {
	const (
		privateSyncCore         = 1 << 5 // MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE
		registerPrivateSyncCore = 1 << 6
		supported               = MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_GLOBAL_EXPEDITED |
			MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED | MEMBARRIER_CMD_PRIVATE_EXPEDITED |
			MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED | privateSyncCore | registerPrivateSyncCore
	)
	cmd, flags := a.Int32(0), a.U32(1)
	if flags != 0 {
		return 0, EINVAL
	}
	k := t.Kernel()
	switch cmd {
	case MEMBARRIER_CMD_QUERY:
		return supported, nil
	case MEMBARRIER_CMD_GLOBAL, MEMBARRIER_CMD_GLOBAL_EXPEDITED, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED:
		return 0, nil
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, registerPrivateSyncCore:
		if cmd == registerPrivateSyncCore {
			k.membarrierSyncCore = true
		} else {
			k.membarrierPrivate = true
		}
		return 0, nil
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
		if !k.membarrierPrivate {
			return 0, EPERM
		}
		return 0, nil
	case privateSyncCore:
		if !k.membarrierSyncCore {
			return 0, EPERM
		}
		return 0, nil
	}
	return 0, EINVAL
}

// Getcpu implements getcpu(2): the thread runs on CPU 0 of NUMA node 0,
// as the vDSO's getcpu and RDTSCP's TSC_AUX say (threads run one at a
// time on a deterministic schedule).
func Getcpu(t Task, a Args) (uint64, error) {
	for _, p := range []uint64{a.Ptr(0), a.Ptr(1)} {
		if p != 0 {
			if err := writeU32(t, p, 0); err != nil {
				return 0, err
			}
		}
	}
	return 0, nil
}
