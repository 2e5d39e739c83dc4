package emu

import (
	"fmt"
	"slices"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu/unicorn"
	"github.com/gorunemu/gorunemu/syscalls"
)

// ThreadState is where a thread is in its life.
type ThreadState int

// Thread states.
const (
	Runnable ThreadState = iota
	Blocked              // in a futex wait or a sleep
	Exited
)

func (s ThreadState) String() string {
	switch s {
	case Runnable:
		return "runnable"
	case Blocked:
		return "blocked"
	case Exited:
		return "exited"
	}
	return fmt.Sprintf("ThreadState(%d)", int(s))
}

// Thread is one guest thread: a saved CPU context plus its kernel state.
type Thread struct {
	p      *Process
	k      *syscalls.Kernel // its Linux process (for a vfork child, not p's)
	TID    int
	state  ThreadState
	ctx    *unicorn.Context
	kstate *syscalls.Thread
	pc     uint64 // where it resumes
	insns  uint64 // instructions it has executed
	// switchedIn: another thread ran since this one did, so a restartable
	// sequence it was in must abort before it goes on (rseq).
	switchedIn bool

	// While Blocked: the futex word it waits on (0 for a sleep), the wait
	// mask, and when it times out (syscalls.NoDeadline: never).
	futex    uint64
	mask     uint32
	deadline int64
	// result is the syscall return value to deliver when it next runs.
	result    uint64
	hasResult bool
	// While blocked on a kernel object (Task.Block): its key. Woken, the
	// thread redoes its syscall (restart), knowing whether it timed out.
	object   uint64
	restart  bool
	timedOut bool
	// skipStop: it stopped on a stop address and must execute it when
	// resumed.
	skipStop bool
	// interrupted says how a signal ended the syscall the thread was
	// blocked in, for the trace of its delivery.
	interrupted string
	exitCode    int
}

// State returns the thread's state.
func (t *Thread) State() ThreadState { return t.state }

// Backtrace returns up to n return addresses of the thread's callers,
// innermost first, found through the binary's frame tables.
func (t *Thread) Backtrace(n int) []uint64 { return t.p.backtrace(t, n) }

// PC returns the address the thread executes next.
func (t *Thread) PC() uint64 { return t.pc }

// Insns returns the number of instructions the thread has executed.
func (t *Thread) Insns() uint64 { return t.insns }

// runnable reports whether the scheduler may run t: it is not waiting
// and its process is not stopped (SIGSTOP).
func (t *Thread) runnable() bool { return t.state == Runnable && !t.k.Stopped() }

// loaded reports whether the thread's registers are in the engine.
func (t *Thread) loaded() bool { return t.p.cur == t }

// Reg reads one register (an arch.Reg of the process's arch).
func (t *Thread) Reg(r arch.Reg) (uint64, error) {
	v := []uint64{0}
	err := t.Regs([]arch.Reg{r}, v)
	return v[0], err
}

// Regs reads several registers into vals.
func (t *Thread) Regs(regs []arch.Reg, vals []uint64) error {
	if t.state == Exited {
		return fmt.Errorf("emu: thread %d has exited", t.TID)
	}
	ids := regIDs(regs)
	if !t.loaded() && engineOnly(t.p.arch, regs) {
		if err := t.p.switchTo(t); err != nil {
			return err
		}
	}
	if t.loaded() {
		return t.p.eng.RegReadBatch(ids, vals)
	}
	return t.ctx.RegReadBatch(ids, vals)
}

// engineOnly reports whether regs holds a register Unicorn 2.1.1 cannot
// read from a saved context (arm64's FPSR and FPCR crash it): the thread
// is loaded into the engine for those.
func engineOnly(a *arch.Arch, regs []arch.Reg) bool {
	for _, r := range regs {
		if a == arch.ARM64 && (r == arch.ARM64_FPSR || r == arch.ARM64_FPCR) {
			return true
		}
	}
	return false
}

// Reg128 reads a 128-bit vector register (arch.Arch.Vectors) as low and
// high halves.
func (t *Thread) Reg128(r arch.Reg) (lo, hi uint64, err error) {
	if t.state == Exited {
		return 0, 0, fmt.Errorf("emu: thread %d has exited", t.TID)
	}
	if t.loaded() {
		return t.p.eng.RegRead128(int(r))
	}
	return t.ctx.RegRead128(int(r))
}

// Name is the thread's name, as /proc/self/task/TID/comm gives it.
func (t *Thread) Name() string { return t.k.ThreadName(t.kstate) }

// SetReg128 writes a 128-bit register (a vector, or an x87 register's
// 80 bits in the low 10 bytes) from low and high halves.
func (t *Thread) SetReg128(r arch.Reg, lo, hi uint64) error {
	if t.state == Exited {
		return fmt.Errorf("emu: thread %d has exited", t.TID)
	}
	if t.loaded() {
		return t.p.eng.RegWrite128(int(r), lo, hi)
	}
	return t.ctx.RegWrite128(int(r), lo, hi)
}

// SetReg writes one register. Tests use it to break invariants on purpose.
func (t *Thread) SetReg(r arch.Reg, v uint64) error {
	return t.SetRegs([]arch.Reg{r}, []uint64{v})
}

// SetRegs writes several registers; a new PC is where the thread resumes.
func (t *Thread) SetRegs(regs []arch.Reg, vals []uint64) error {
	if t.state == Exited {
		return fmt.Errorf("emu: thread %d has exited", t.TID)
	}
	for i, r := range regs {
		if r == t.p.arch.PC {
			t.pc = vals[i]
		}
	}
	ids := regIDs(regs)
	if !t.loaded() && engineOnly(t.p.arch, regs) {
		if err := t.p.switchTo(t); err != nil {
			return err
		}
	}
	if t.loaded() {
		return t.p.eng.RegWriteBatch(ids, vals)
	}
	return t.ctx.RegWriteBatch(ids, vals)
}

func regIDs(regs []arch.Reg) []int {
	ids := make([]int, len(regs))
	for i, r := range regs {
		ids[i] = int(r)
	}
	return ids
}

func (t *Thread) free() {
	if t.ctx != nil {
		t.ctx.Free()
		t.ctx = nil
	}
}

// newThread creates a thread of Linux process k (nil: p's own) whose CPU
// state is a copy of the engine's current one (for the first thread: the
// reset state), with the family's next tid.
func (p *Process) newThread(ks *syscalls.Thread, k *syscalls.Kernel) (*Thread, error) {
	t, err := p.newThreadTID(ks, k, p.fam.nextTID)
	if err == nil {
		p.fam.nextTID++
	}
	return t, err
}

// newThreadTID is newThread with a given tid: an exec'd process's main
// thread keeps the tid of the thread that called execve.
func (p *Process) newThreadTID(ks *syscalls.Thread, k *syscalls.Kernel, tid int) (*Thread, error) {
	ctx, err := p.eng.NewContext()
	if err != nil {
		return nil, err
	}
	if ks == nil {
		ks = syscalls.NewThread()
	}
	if k == nil {
		k = p.kernel
	}
	t := &Thread{p: p, k: k, TID: tid, ctx: ctx, kstate: ks, deadline: syscalls.NoDeadline}
	p.threads = append(p.threads, t)
	p.active = append(p.active, t)
	p.fam.add(t)
	p.stats.Threads++
	return t, nil
}

// Threads returns every thread the process has had, in tid order.
func (p *Process) Threads() []*Thread { return append([]*Thread(nil), p.threads...) }

// Thread returns the process's thread with the given tid, or nil.
func (p *Process) Thread(tid int) *Thread {
	i, ok := slices.BinarySearchFunc(p.threads, tid, func(t *Thread, tid int) int { return t.TID - tid })
	if !ok {
		return nil
	}
	return p.threads[i]
}

// MainThread returns the thread that started at the entry point.
func (p *Process) MainThread() *Thread { return p.threads[0] }

// live counts threads that have not exited.
func (p *Process) live() int { return len(p.active) }

// retire takes an exited thread off the scheduler's list and frees its
// CPU context, which is never loaded again.
func (p *Process) retire(t *Thread) {
	p.active = slices.DeleteFunc(p.active, func(x *Thread) bool { return x == t })
	p.fam.drop(t)
	t.free()
}

// switchTo loads t's registers into the engine, saving the current ones.
func (p *Process) switchTo(t *Thread) error {
	if p.cur == t {
		return nil
	}
	if c := p.cur; c != nil && c.state != Exited {
		if err := p.eng.Save(c.ctx); err != nil {
			return err
		}
	}
	if err := p.eng.Restore(t.ctx); err != nil {
		return err
	}
	p.cur = t
	return nil
}

// wake makes a blocked thread runnable. A futex wait or sleep completes
// with result; a thread blocked on a kernel object restarts its syscall.
func (p *Process) wake(t *Thread, result uint64, timedOut bool) {
	if t.object != 0 {
		t.restart, t.timedOut = true, timedOut
	} else {
		t.result, t.hasResult = result, true
	}
	p.unblock(t)
}

// interrupt ends the syscall blocked thread t is in, for a signal now
// pending on it: as Linux does on the way to the handler, the call is
// set to run again after it (SA_RESTART) or returns -EINTR (or what it
// had already done).
func (p *Process) interrupt(t *Thread) error {
	nr, err := t.Reg(p.arch.SyscallNr)
	if err != nil {
		return err
	}
	restart, ret := t.k.Interrupted(&task{p: p, t: t}, int(nr), t.object != 0, t.deadline)
	how := "restarts after the handler"
	switch {
	case restart:
		// Back to the syscall instruction: its number and arguments are
		// still in the registers.
		if err := t.SetRegs([]arch.Reg{p.arch.PC}, []uint64{t.pc - p.arch.SyscallInsnLen}); err != nil {
			return err
		}
	case ret == errnoResult(syscalls.EINTR):
		t.result, t.hasResult = ret, true
		how = "fails with EINTR"
	default:
		t.result, t.hasResult = ret, true
		how = fmt.Sprintf("returns %d, the bytes it had moved", ret)
	}
	t.interrupted = syscalls.Name(p.arch, int(nr)) + " interrupted: " + how
	t.restart, t.timedOut = false, false
	p.unblock(t)
	return nil
}

// unblock takes thread t off what it waits on and makes it runnable.
func (p *Process) unblock(t *Thread) {
	switch {
	case t.futex != 0:
		p.futexes[t.futex] = remove(p.futexes[t.futex], t)
		if len(p.futexes[t.futex]) == 0 {
			delete(p.futexes, t.futex)
		}
	case t.object != 0:
		objs := p.fam.objects
		objs[t.object] = remove(objs[t.object], t)
		if len(objs[t.object]) == 0 {
			delete(objs, t.object)
		}
	}
	t.state = Runnable
	t.futex, t.object, t.mask, t.deadline = 0, 0, 0, syscalls.NoDeadline
}

func remove(q []*Thread, t *Thread) []*Thread {
	for i, w := range q {
		if w == t {
			return append(q[:i], q[i+1:]...)
		}
	}
	return q
}

// block parks thread t until wake: on the futex word futex (with mask),
// on the kernel object object, or (both 0) in a sleep.
func (p *Process) block(t *Thread, futex uint64, mask uint32, object uint64, deadline int64) {
	t.state = Blocked
	t.futex, t.mask, t.object, t.deadline = futex, mask, object, deadline
	switch {
	case futex != 0:
		p.futexes[futex] = append(p.futexes[futex], t)
	case object != 0:
		p.fam.objects[object] = append(p.fam.objects[object], t)
	}
}

// expire wakes the blocked threads whose deadline has passed: futex waits
// fail with ETIMEDOUT, sleeps return 0, object waits restart.
func (f *family) expire() {
	now := f.now()
	for _, t := range slices.Clone(f.threads) {
		if t.state == Blocked && t.deadline != syscalls.NoDeadline && t.deadline <= now {
			var r uint64
			if t.futex != 0 {
				r = errnoResult(syscalls.ETIMEDOUT)
			}
			t.p.wake(t, r, true)
		}
	}
}

func errnoResult(e syscalls.Errno) uint64 { return uint64(-int64(e)) }

// peek says which thread next(rotate) would pick, without its effects:
// a thread whose timeout has passed counts as woken. nil when every
// thread waits on a later deadline or none.
func (f *family) peek(rotate bool) *Thread {
	now := f.now()
	ready := func(t *Thread) bool {
		return t.runnable() || t.state == Blocked && t.deadline != syscalls.NoDeadline && t.deadline <= now
	}
	if !rotate && f.cur != nil && ready(f.cur) {
		return f.cur
	}
	start := -1
	for i, t := range f.threads {
		if f.cur != nil && t.TID <= f.cur.TID {
			start = i
		}
	}
	n := len(f.threads)
	for k := 1; k <= n; k++ {
		if t := f.threads[(start+k)%n]; ready(t) {
			return t
		}
	}
	return nil
}

// next picks the thread to run: the current one unless it cannot or must
// give way, else the next runnable one after it in tid order, of any
// process. When every live thread is blocked, the clock jumps to the
// earliest deadline; with none, it returns nil (deadlock).
func (f *family) next(rotate bool) *Thread {
	f.expire()
	for {
		if !rotate && f.cur != nil && f.cur.runnable() {
			return f.cur
		}
		// The search starts after the current thread in tid order, which
		// may have exited and left the list.
		start := -1
		for i, t := range f.threads {
			if f.cur != nil && t.TID <= f.cur.TID {
				start = i
			}
		}
		n := len(f.threads)
		for k := 1; k <= n; k++ {
			if t := f.threads[(start+k)%n]; t.runnable() {
				return t
			}
		}
		// Everyone waits: jump to the earliest deadline, if any.
		earliest := syscalls.NoDeadline
		for _, t := range f.threads {
			if t.state == Blocked && t.deadline != syscalls.NoDeadline && (earliest == syscalls.NoDeadline || t.deadline < earliest) {
				earliest = t.deadline
			}
		}
		if earliest == syscalls.NoDeadline {
			return nil
		}
		if d := earliest - f.now(); d > 0 {
			f.clockJump += d
		}
		f.expire()
		rotate = false
	}
}
