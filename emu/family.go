package emu

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gorunemu/gorunemu/syscalls"
)

// family is the tree of processes one emulation runs: the Process that New
// made (the root) and the processes its threads start (vfork, execve).
// They run on one scheduler, in one tid space, on one virtual clock, as a
// machine with one CPU would run them. Each process in the tree is a
// Process with its own engine; a vfork child that has not exec'd yet is a
// thread of its parent's Process, with its own kernel state.
type family struct {
	root  *Process
	procs []*Process // running, the root first, then by creation
	// threads are the live threads of all processes, in tid order; cur
	// is the one that ran last.
	threads []*Thread
	cur     *Thread
	nextTID int
	// objects are the threads waiting on kernel objects (Task.Block), by
	// key: a pipe between two processes wakes a reader in either.
	objects map[uint64][]*Thread
	// clockJump is the virtual time skipped while every thread slept.
	clockJump int64
	// sliceLeft is what the current thread has left of its time slice,
	// and rotate says it yielded: the schedule goes on across Runs.
	sliceLeft uint64
	rotate    bool
	// midBlock: the last run stopped inside a block.
	midBlock bool
	// resume: the last step ended where the schedule has no point of its
	// own (a stop address, a step, RunTo's target, a watchpoint, a full
	// trace ring): the current thread goes on without one, so that a run
	// stopped there and resumed does what a run without the stop does,
	// to the moment a sleeper's timeout is noticed.
	resume bool
	// gone counts the instructions of processes whose engine is closed.
	gone uint64
	// started counts the child processes started (fork, vfork, clone).
	started int
}

// allStopped reports whether every running process is stopped by a
// stop signal.
func (f *family) allStopped() bool {
	for _, q := range f.procs {
		if q.kernel == nil || !q.kernel.Stopped() {
			return false
		}
	}
	return len(f.procs) > 0
}

// maxProcesses bounds the processes with an address space (and an
// engine: 64 forked copies of a small Go program took 360 MB of host
// memory) that a family has at once: past it fork fails with EAGAIN and
// execve with ENOMEM.
const maxProcesses = 64

// committedExcept is the accessible memory of the processes other than p.
func (f *family) committedExcept(p *Process) uint64 {
	n := uint64(0)
	for _, q := range f.procs {
		if q != p {
			n += q.mem.committed
		}
	}
	return n
}

func newFamily(root *Process) *family {
	return &family{root: root, procs: []*Process{root}, nextTID: pid, objects: map[uint64][]*Thread{}, sliceLeft: root.cfg.Slice}
}

// insns is the number of instructions all processes have executed.
func (f *family) insns() uint64 {
	n := f.gone
	for _, p := range f.procs {
		n += p.eng.Insns()
	}
	return n
}

// now is the virtual monotonic clock: one nanosecond per instruction of
// any process, plus the time skipped while all threads slept.
func (f *family) now() int64 {
	return bootTime + int64(f.insns()) + f.clockJump
}

// syncTSC makes p's time stamp counter read the family's clock: the
// engine adds its own instructions to the offset.
func (f *family) syncTSC(p *Process) {
	p.eng.SetTSCOffset(uint64(f.now()) - p.eng.Insns())
}

// thread returns the live thread tid, of any process, or nil.
func (f *family) thread(tid int) *Thread {
	i, ok := slices.BinarySearchFunc(f.threads, tid, func(t *Thread, tid int) int { return t.TID - tid })
	if !ok {
		return nil
	}
	return f.threads[i]
}

// add makes t, with a tid newer than all others, schedulable.
func (f *family) add(t *Thread) { f.threads = append(f.threads, t) }

// drop takes t off the scheduler.
func (f *family) drop(t *Thread) {
	f.threads = slices.DeleteFunc(f.threads, func(x *Thread) bool { return x == t })
}

// ended closes process p, all of whose threads have gone: its
// instructions stay on the clock.
func (f *family) ended(p *Process) {
	if p == f.root {
		return
	}
	f.procs = slices.DeleteFunc(f.procs, func(x *Process) bool { return x == p })
	f.gone += p.eng.Insns()
	p.closeEngine()
}

// close frees every process but the root, and the host resources held
// by the kernel state of those still running (vfork children included).
func (f *family) close() error {
	var errs []error
	kernels := map[*syscalls.Kernel]bool{}
	for _, t := range f.threads {
		if t.k != f.root.kernel {
			kernels[t.k] = true
		}
	}
	for _, p := range f.procs[1:] {
		errs = append(errs, p.closeEngine())
	}
	for k := range kernels {
		errs = append(errs, k.Close())
	}
	f.procs = f.procs[:1]
	return errors.Join(errs...)
}

// processThreads lists the live threads of the Linux process k, in
// whatever Process they run.
func (f *family) processThreads(k *syscalls.Kernel) []*Thread {
	var ts []*Thread
	for _, t := range f.threads {
		if t.k == k {
			ts = append(ts, t)
		}
	}
	return ts
}

// memoryOf returns the address space Linux process k runs in: its own,
// or for a vfork child its parent's.
func (f *family) memoryOf(k *syscalls.Kernel) *addressSpace {
	for _, q := range f.procs {
		if q.kernel == k {
			return q.mem
		}
	}
	for _, t := range f.threads {
		if t.k == k {
			return t.p.mem
		}
	}
	return nil
}

// kernel returns the kernel state of the live process pid, or nil.
func (f *family) kernel(pid int) *syscalls.Kernel {
	if t := f.thread(pid); t != nil && t.k.PID() == pid {
		return t.k
	}
	for _, t := range f.threads {
		if t.k.PID() == pid {
			return t.k
		}
	}
	return nil
}

// endProcess ends the Linux process k as st says, through the thread of
// by: its threads go, its kernel state is told (its parent learns of it),
// and its engine, if it has one of its own, is closed. The root process's
// end is the end of the run.
func (f *family) endProcess(by *task, k *syscalls.Kernel, st syscalls.ExitStatus) {
	if mem := f.memoryOf(k); mem != nil {
		read := func(addr uint64, b []byte) error { return mem.read(addr, b, true) }
		if err := k.FlushShared(by, read); err != nil && f.root.broken == nil {
			f.root.broken = fmt.Errorf("emu: process %d ended: writing back its shared mappings: %w", k.PID(), err)
		}
	}
	if k == f.root.kernel {
		r := &StopReason{Kind: StopExited, Code: st.Code}
		if st.Signal != 0 {
			r = &StopReason{Kind: StopKilled, Signal: st.Signal}
		}
		f.root.exit(r)
		return
	}
	var own *Process // the address space it has to itself, if any
	for _, q := range f.procs {
		if q.kernel == k {
			own = q
		}
	}
	for _, t := range f.processThreads(k) {
		st.CPU += time.Duration(t.insns)
		t.state = Exited
		t.p.retire(t)
	}
	if own != nil {
		st.CPU = time.Duration(own.eng.Insns())
	}
	if err := k.Ended(by, st); err != nil && f.root.broken == nil {
		f.root.broken = fmt.Errorf("emu: process %d ended: %w", k.PID(), err)
	}
	if own != nil {
		f.ended(own)
	}
}
