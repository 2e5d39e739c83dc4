package emu

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/arch/x86/x86asm"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu/unicorn"
	"github.com/gorunemu/gorunemu/syscalls"
	"github.com/gorunemu/gorunemu/trace"
)

// Observer is told what happens during a run, on the goroutine that calls
// Run: for a library user's test that wants the raw records (each
// syscall's number, arguments and result, threads coming and going)
// without a trace. It sees, and cannot change: it gets no Task. Embed
// NopObserver to implement only some methods.
type Observer interface {
	// Syscall is called after each syscall has been handled.
	Syscall(t *Thread, c *syscalls.Call)
	// ThreadStarted is called when parent clones child.
	ThreadStarted(child, parent *Thread)
	// ThreadExited is called when a thread exits on its own.
	ThreadExited(t *Thread, code int)
}

// NopObserver ignores everything.
type NopObserver struct{}

// Syscall does nothing.
func (NopObserver) Syscall(*Thread, *syscalls.Call) {}

// ThreadStarted does nothing.
func (NopObserver) ThreadStarted(child, parent *Thread) {}

// ThreadExited does nothing.
func (NopObserver) ThreadExited(*Thread, int) {}

// Run executes the guest until a thread reaches one of until's addresses,
// the process ends, a limit is hit, every thread deadlocks or ctx is done.
// It can be called again to continue: a thread stopped on an address runs
// past it. The error is for failures of the emulator itself (a bug or a
// gap, such as a syscall handler that could not complete); whatever the
// guest does is a StopReason.
func (p *Process) Run(ctx context.Context, until Until) (*StopReason, error) {
	p.running.Lock()
	defer p.running.Unlock()
	if p.closed || p.closing.Load() {
		return nil, ErrClosed
	}
	if p.exited != nil {
		return p.exited, nil
	}
	addrs, err := p.resolve(until)
	if err != nil {
		return nil, err
	}
	p.until = map[uint64]bool{}
	for _, a := range addrs {
		p.until[a] = true
	}
	if p.watches, err = watchStops(until.Watches); err != nil {
		return nil, err
	}
	p.pause, p.stepTID = until.Pause, until.Step
	if err := p.setStops(); err != nil {
		return nil, err
	}
	r, err := p.runSafely(ctx)
	if err == nil && p.tracer != nil {
		p.tracer.stopped(r)
		err = p.tracer.err
	}
	return r, err
}

// Step runs one instruction of thread tid, as a debugger's single step:
// no other thread runs. A syscall there is made, and a fault is
// delivered or stops the run, as in Run; a signal pending for the thread
// is delivered first, and the step ends at its handler's first
// instruction. The reason is StopStepped unless the step ended the
// process, hit a limit or reached an address Run was last asked to stop
// at. A thread that is blocked cannot step (ErrBlocked).
func (p *Process) Step(tid int) (*StopReason, error) {
	return p.stepThread(tid, false, nil)
}

// StepWatching is Step with the watchpoints ws in place of those Run was
// last given: a step that reads or writes their memory lists the access
// in the stop's Watches, as a debugger's single step over a watched
// store reports the watchpoint.
func (p *Process) StepWatching(tid int, ws []Watchpoint) (*StopReason, error) {
	return p.stepThread(tid, true, ws)
}

func (p *Process) stepThread(tid int, setWatches bool, ws []Watchpoint) (*StopReason, error) {
	p.running.Lock()
	defer p.running.Unlock()
	if p.closed || p.closing.Load() {
		return nil, ErrClosed
	}
	if setWatches {
		w, err := watchStops(ws)
		if err != nil {
			return nil, err
		}
		p.watches = w
	}
	if p.exited != nil {
		return p.exited, nil
	}
	if p.broken != nil {
		return nil, p.broken
	}
	t := p.fam.thread(tid)
	switch {
	case t == nil:
		return nil, fmt.Errorf("emu: no thread %d", tid)
	case !t.runnable():
		return nil, fmt.Errorf("emu: thread %d: %w", tid, ErrBlocked)
	}
	// t runs now as if the scheduler had picked it, with the run loop's
	// bookkeeping: a fresh slice for a switch, a rotation or a slice used
	// up, and no rotation still owed.
	f := p.fam
	if t != f.cur || f.rotate || (f.sliceLeft == 0 && !f.midBlock) {
		f.sliceLeft = p.cfg.Slice
	}
	if t != f.cur {
		t.switchedIn = true
	}
	f.rotate = false
	f.cur = t
	var r *StopReason
	var err error
	for try := 0; try < 2; try++ {
		pc, insns := t.pc, t.insns
		r, _, err = t.p.step(t, true)
		// A trace probe at the instruction stops before it runs; it is
		// armed to be skipped now: step again.
		if r != nil || err != nil || t.pc != pc || t.insns != insns || t.state != Runnable {
			break
		}
	}
	if err != nil {
		p.broken = err
		return nil, err
	}
	if r == nil {
		r = t.p.stopAt(t, StopStepped)
	}
	if p.tracer != nil {
		p.tracer.stopped(r)
		err = p.tracer.err
	}
	return r, err
}

// insnEnd returns the address just past the instruction at pc: pc+4 on
// arm64; on amd64 its decoded length (1 for bytes that decode to none:
// the step then faults there).
func (p *Process) insnEnd(pc uint64) (uint64, error) {
	if p.arch != arch.AMD64 {
		return pc + 4, nil
	}
	b := make([]byte, 15)
	n := len(b)
	if p.mem.read(pc, b, true) != nil {
		for n = 0; n < len(b); n++ { // up to an unmapped page
			if p.mem.read(pc+uint64(n), b[n:n+1], true) != nil {
				break
			}
		}
	}
	in, err := x86asm.Decode(b[:n], 64)
	if err != nil || in.Len == 0 {
		return pc + 1, nil
	}
	return pc + uint64(in.Len), nil
}

// maxBlockInsns is QEMU's longest block (TCG_MAX_INSNS).
const maxBlockInsns = 512

// approach runs the current thread from block start pc, in the block
// that holds RunTo's target, the target's n instructions into it: to a
// stop address at the target instruction, which costs one block's
// translation, where single steps would cost one each.
func (p *Process) approach(from, n uint64) (x unicorn.Exit, err error) {
	pc := from
	for range n {
		if pc, err = p.insnEnd(pc); err != nil {
			return x, err
		}
	}
	p.stepStop = pc
	if err := p.setStops(); err != nil {
		return x, err
	}
	defer func() {
		p.stepStop = 0
		if serr := p.setStops(); serr != nil && err == nil {
			err = serr
		}
	}()
	return p.eng.Start(from, 1)
}

// Position is the process family's instruction count: the point in its
// run, as RunTo takes it.
func (p *Process) Position() uint64 { return p.fam.insns() }

// RunTo runs until the family has executed n instructions exactly (a
// position an earlier, identical run passed), or until one of until's
// addresses or another stop comes first. The stop is StopTarget at n.
// A deterministic run reaches the same state at the same position, so a
// fresh Process run to n is where the first one was at n: the basis of
// reverse execution.
func (p *Process) RunTo(ctx context.Context, until Until, n uint64) (*StopReason, error) {
	if n < p.Position() {
		return nil, fmt.Errorf("emu: position %d is behind %d", n, p.Position())
	}
	if n == p.Position() { // also position 0, which p.target cannot hold
		t := p.fam.cur
		if t == nil {
			t = p.MainThread()
		}
		return p.stopAt(t, StopTarget), nil
	}
	p.target = n
	defer func() { p.target = 0 }()
	return p.Run(ctx, until)
}

// ErrBlocked means a thread waits in a syscall and cannot step.
var ErrBlocked = errors.New("blocked in a syscall")

// InternalError is a Go panic inside gorunemu while it ran the guest: a
// bug. It carries where the guest was; the Process cannot run further.
type InternalError struct {
	Value  any    // what panicked
	Stack  string // the Go stack of the panic
	TID    int    // the guest thread that was running
	PC     uint64
	Symbol string
	Insns  uint64
}

func (e *InternalError) Error() string {
	return fmt.Sprintf("emu: internal error: %v (guest thread %d at %s (%#x), after %d instructions)", e.Value, e.TID, e.Symbol, e.PC, e.Insns)
}

// runSafely runs the loop, turning a panic in gorunemu's own code (a
// syscall handler, the tracer, a sink) into an *InternalError: the guest
// stops, the host program goes on.
func (p *Process) runSafely(ctx context.Context) (r *StopReason, err error) {
	if p.broken != nil {
		return nil, p.broken
	}
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		ie := &InternalError{Value: v, Stack: string(debug.Stack()), Insns: p.eng.Insns()}
		if t := p.fam.cur; t != nil {
			ie.TID, ie.PC, ie.Symbol = t.TID, t.pc, t.p.symbolize(t.pc)
		}
		p.broken = ie
		r, err = nil, ie
	}()
	r, err = p.run(ctx)
	if err != nil {
		// The guest is mid-syscall or worse: running it on would give it
		// a result nothing computed. Every later Run says why.
		p.broken = err
	}
	return r, err
}

// setStops gives the engine the addresses to stop at: Run's and the
// tracer's probes.
func (p *Process) setStops() error {
	var addrs []uint64
	if p.stepStop != 0 {
		addrs = append(addrs, p.stepStop)
	}
	for a := range p.until {
		addrs = append(addrs, a)
	}
	if p.tracer != nil {
		addrs = append(addrs, p.tracer.probes()...)
	}
	if err := p.eng.SetWatchStops(p.watches); err != nil {
		return err
	}
	return p.eng.SetStops(addrs)
}

// watchStops turns watchpoints into the engine's stop watches.
func watchStops(ws []Watchpoint) ([]unicorn.WatchStop, error) {
	if len(ws) > unicorn.MaxWatchStops {
		return nil, fmt.Errorf("emu: %d watchpoints (at most %d)", len(ws), unicorn.MaxWatchStops)
	}
	var out []unicorn.WatchStop
	for _, w := range ws {
		if w.Len == 0 || w.Addr+w.Len < w.Addr {
			return nil, fmt.Errorf("emu: watchpoint at %#x: bad length %d", w.Addr, w.Len)
		}
		s := unicorn.WatchStop{Begin: w.Addr, End: w.Addr + w.Len}
		switch w.Kind {
		case WatchWrite:
			s.Write = true
		case WatchRead:
			s.Read = true
		case WatchAccess:
			s.Read, s.Write = true, true
		default:
			return nil, fmt.Errorf("emu: watchpoint at %#x: kind %d", w.Addr, w.Kind)
		}
		out = append(out, s)
	}
	return out, nil
}

// watchHit describes the engine's watch hit h by thread t.
func (p *Process) watchHit(t *Thread, h unicorn.WatchHit) (*WatchHit, error) {
	// The family's count and the engine's differ by what other
	// processes ran.
	idx, err := p.insnIndex(h.Block, h.PC)
	if err != nil {
		return nil, err
	}
	pos := p.fam.insns() - p.eng.Insns() + h.BlockInsns + idx
	return &WatchHit{
		Addr: h.Addr, Size: h.Size, Write: h.Write,
		PC: h.PC, Symbol: p.symbolize(h.PC), TID: t.TID, Position: pos,
	}, nil
}

// insnIndex counts the instructions from block to pc, in one block.
func (p *Process) insnIndex(block, pc uint64) (uint64, error) {
	var n uint64
	for a := block; a != pc; n++ {
		if a > pc || n > maxBlockInsns {
			return 0, fmt.Errorf("emu: %#x is no instruction of the block at %#x", pc, block)
		}
		var err error
		if a, err = p.insnEnd(a); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func (p *Process) run(ctx context.Context) (*StopReason, error) {
	f := p.fam
	// The slice (f.sliceLeft) goes on across Runs and Steps, so that
	// stopping the guest (at --until, a breakpoint) does not move where
	// later slices end.
	sliceLeft := &f.sliceLeft
	for {
		if p.closing.Load() {
			return nil, ErrClosed // Close is waiting for this run
		}
		if r, err := p.takeOutsideSignals(); r != nil || err != nil {
			return r, err
		}
		if err := ctx.Err(); err != nil {
			kind := StopCanceled
			if errors.Is(err, context.DeadlineExceeded) {
				kind = StopTimeout
			}
			if t := f.cur; t != nil && t.state != Exited && t.p == p {
				return p.stopAt(t, kind), nil
			}
			return p.stop(&StopReason{Kind: kind}), nil
		}
		// A thread whose slice is used up yields, however its last start
		// ended (the budget, a syscall, a stop address, a fault).
		// A slice ends at a block boundary: one used up in the middle of
		// a block (at a step or a stop address) runs on to the block's end.
		expired := *sliceLeft == 0 && !f.midBlock
		if p.target != 0 && f.insns() >= p.target || p.pause != 0 && f.insns() >= p.pause {
			// The stop names the thread whose instruction comes next: the
			// one a debugger steps from here.
			t := f.peek(f.rotate || expired)
			if t == nil || t.p != p {
				t = f.cur
			}
			if t == nil || t.state == Exited {
				t = p.MainThread()
			}
			if p.target != 0 && f.insns() >= p.target {
				return p.stopAt(t, StopTarget), nil
			}
			return p.stopAt(t, StopPause), nil
		}
		var t *Thread
		if c := f.cur; f.resume && !f.rotate && !expired && c != nil && c.p == p && c.runnable() {
			t = c
		} else {
			t = f.next(f.rotate || expired)
		}
		if t == nil {
			return p.stop(&StopReason{Kind: StopDeadlock, JobStopped: f.allStopped()}), nil
		}
		if t != f.cur || f.rotate || expired {
			*sliceLeft = p.cfg.Slice
		}
		if t != f.cur {
			t.switchedIn = true // rseq: another thread ran since t did
		}
		f.rotate = false
		f.cur = t
		single := p.stepTID != 0 && t.TID == p.stepTID
		pc, insns := t.pc, t.insns
		r, yield, err := t.p.step(t, single)
		f.rotate = yield // also across a stop, to resume as if it were none
		if r != nil || err != nil {
			return r, err
		}
		if single && (t.pc != pc || t.insns != insns) {
			return t.p.stopAt(t, StopStepped), nil
		}
		if p.broken != nil {
			return nil, p.broken
		}
	}
}

// step runs thread t of p for at most what is left of its time slice
// (one instruction if single), or until its next syscall, stop address or
// fault, and handles that. It reports whether another thread should run
// next, and the stop if the run must stop.
func (p *Process) step(t *Thread, single bool) (r *StopReason, yield bool, err error) {
	sliceLeft := &p.fam.sliceLeft
	// Watchpoint hits are reported with whatever else the block did, or
	// by themselves.
	var hits []WatchHit
	defer func() {
		if len(hits) > 0 && err == nil {
			if r == nil {
				r = p.stopAt(t, StopWatch)
			}
			r.Watches = hits
		}
	}()
	if err := p.switchTo(t); err != nil {
		return nil, false, err
	}
	if t.hasResult {
		if err := p.eng.RegWrite(int(p.arch.SyscallRet), t.result); err != nil {
			return nil, false, err
		}
		t.hasResult = false
	}
	if t.restart {
		// Redo the syscall that blocked on a kernel object: its number
		// and arguments are still in the registers.
		if yield, err = p.syscall(t); err != nil {
			return nil, false, err
		}
		return p.afterSyscall(t), yield, nil
	}
	if t.skipStop {
		p.eng.SkipStopOnce(t.pc)
		t.skipStop = false
	}
	if t.switchedIn || t.kstate.Deliverable() {
		t.switchedIn = false
		if r, err := p.rseqResume(t); r != nil || err != nil || t.state == Exited {
			return r, true, err
		}
	}
	if t.kstate.Deliverable() {
		if r, err := p.deliverPending(t); r != nil || err != nil || t.state == Exited {
			return r, true, err
		}
	}
	f := p.fam
	done := f.insns()
	if done >= p.cfg.MaxInsns {
		s := p.stopAt(t, StopInsnLimit)
		s.Limit = p.cfg.MaxInsns
		return s, false, nil
	}
	budget := max(min(*sliceLeft, p.cfg.MaxInsns-done), 1) // 1: to the end of a block begun
	// RunTo: whole blocks up to the target, never past it, and into the
	// block that holds it up to its instruction (approach). The slice
	// ends as it would without a target.
	var exact uint64
	if p.target != 0 && !single {
		exact = p.target - done
	}
	f.syncTSC(p)
	before := p.eng.Insns()
	if single {
		// One instruction: a budget of one ends the run at the next
		// block (where a branch goes), and a stop address right after
		// the instruction ends it there when the block goes on.
		budget = 1
		next, err := p.insnEnd(t.pc)
		if err != nil {
			return nil, false, err
		}
		p.stepStop = next
		if err := p.setStops(); err != nil {
			return nil, false, err
		}
		defer func() {
			p.stepStop = 0
			if serr := p.setStops(); serr != nil && err == nil {
				err = serr
			}
		}()
	}
	var x unicorn.Exit
	if exact != 0 {
		x, err = p.eng.StartExact(t.pc, budget, exact)
		if err == nil && x.Budget && x.Over > 0 {
			x, err = p.approach(x.StopPC, p.target-f.insns())
		}
	} else {
		x, err = p.eng.Start(t.pc, budget)
	}
	if err == nil {
		// A stop inside a block (a step, a stop address) leaves the rest
		// of the block to run before a slice may end.
		start, _ := p.eng.LastBlock()
		f.midBlock = x.StopAddr && x.StopPC != start
	}
	ran := p.eng.Insns() - before
	t.insns += ran
	*sliceLeft -= min(ran, *sliceLeft)
	// The schedule's own points are syscalls, faults and slice ends.
	f.resume = err == nil && !(x.Syscall || x.Fault != nil || x.Budget && *sliceLeft == 0)
	if err != nil {
		return nil, false, fmt.Errorf("emu: thread %d at %s: %w", t.TID, p.symbolize(t.pc), err)
	}
	if t.pc, err = p.pcAfter(x); err != nil {
		return nil, false, err
	}
	if x.WatchesLost > 0 {
		return nil, false, fmt.Errorf("emu: thread %d: a block made more than %d watchpoint accesses", t.TID, len(x.Watches))
	}
	for _, h := range x.Watches {
		w, err := p.watchHit(t, h)
		if err != nil {
			return nil, false, err
		}
		hits = append(hits, *w)
	}
	if p.tracer != nil {
		p.tracer.drain(t, before)
		if p.tracer.err != nil {
			return nil, false, p.tracer.err
		}
	}
	switch {
	case x.Fault != nil:
		r, err := p.fault(t, x.Fault)
		return r, false, err
	case x.StopAddr:
		t.skipStop = true
		if p.tracer != nil && p.tracer.milestones[t.pc] != nil {
			p.tracer.probe(t, t.pc)
			if err := p.setStops(); err != nil {
				return nil, false, err
			}
		}
		if p.until[t.pc] {
			return p.stopAt(t, StopUntil), false, nil
		}
	case x.Syscall:
		if yield, err = p.syscall(t); err != nil {
			return nil, false, err
		}
		return p.afterSyscall(t), yield, nil
	}
	return nil, false, nil
}

// fault handles a CPU fault of thread t: it moves the thread to the
// faulting instruction (see faultPC) and runs the guest's handler for it,
// or returns the stop: with StopOnFault, or when the guest has no handler
// (the fault then ends the process, as on Linux).
func (p *Process) fault(t *Thread, uf *unicorn.Fault) (*StopReason, error) {
	f := newFault(p.arch, uf)
	pc := p.faultPC(t, f, t.pc)
	if f.Access != "fetch" && f.Access != "exception" {
		// The faulting instruction and the rest of its block did not run.
		before := p.eng.Insns()
		p.eng.Uncount(pc)
		t.insns -= before - p.eng.Insns()
	}
	if pc != t.pc {
		if err := t.SetRegs([]arch.Reg{p.arch.PC}, []uint64{pc}); err != nil {
			return nil, err
		}
	}
	if f.Signal == arch.SIGILL {
		if ok, err := p.emulateMRS(t, pc); ok || err != nil {
			return nil, err
		}
	}
	if !p.cfg.StopOnFault {
		info := f.sigInfo(p.arch, pc)
		ok, err := t.k.DeliverFault(&task{p: p, t: t}, info)
		if err != nil {
			return nil, fmt.Errorf("emu: thread %d at %s: delivering %s: %w", t.TID, p.symbolize(pc), syscalls.SignalName(f.Signal), err)
		}
		if ok {
			p.stats.Signals++
			if p.tracer != nil {
				p.tracer.signal(t, pc, f.Signal, f.String())
			}
			return nil, nil
		}
	}
	if t.k != p.fam.root.kernel {
		// A child process without a handler dies of the signal; the run
		// goes on.
		p.fam.endProcess(&task{p: p, t: t}, t.k, syscalls.ExitStatus{Signal: f.Signal})
		return nil, nil
	}
	r := p.stopAt(t, StopFault)
	r.Fault = f
	return r, nil
}

// emulateMRS does for thread t, stopped at pc on an undefined
// instruction, what Linux's undefined-instruction hook does for user
// reads of the arm64 ID registers (emulate_mrs in
// arch/arm64/kernel/cpufeature.c): MRS Xt of a register in the ID space
// (op0 3, op1 0, CRn 0) gets the CPU's value, 0 for one it lacks, and the
// thread goes on after it. It reports whether it did so.
func (p *Process) emulateMRS(t *Thread, pc uint64) (bool, error) {
	if p.arch != arch.ARM64 {
		return false, nil
	}
	var w [4]byte
	if p.mem.read(pc, w[:], true) != nil {
		return false, nil
	}
	insn := binary.LittleEndian.Uint32(w[:])
	const mrsOp0Is3, mask = 0xd5380000, 0xfff80000
	op1, crn := insn>>16&7, insn>>12&0xf
	if insn&mask != mrsOp0Is3 || op1 != 0 || crn != 0 {
		return false, nil
	}
	crm, op2, rt := int(insn>>8&0xf), int(insn>>5&7), int(insn&0x1f)
	v, err := p.eng.ReadSysReg(3, 0, 0, crm, op2)
	if err != nil {
		v = 0 // an unallocated ID register reads as zero
	}
	regs, vals := []arch.Reg{p.arch.PC}, []uint64{pc + 4}
	if rt != 31 { // XZR
		regs, vals = append(regs, arch.ARM64X(rt)), append(vals, v)
	}
	return true, t.SetRegs(regs, vals)
}

// rseqResume moves thread t, preempted or about to take a signal inside a
// restartable sequence, to the sequence's abort handler, as Linux does on
// the way back to user space; a struct rseq_cs that cannot be used kills
// it with SIGSEGV, as there.
func (p *Process) rseqResume(t *Thread) (*StopReason, error) {
	k := &task{p: p, t: t}
	pc, ok := t.kstate.RseqResume(k, t.pc)
	if !ok {
		info := syscalls.SigInfo{Signo: arch.SIGSEGV, Code: syscalls.SI_KERNEL}
		delivered, err := t.k.DeliverFault(k, info)
		if err != nil || delivered {
			return nil, err
		}
		p.fam.endProcess(k, t.k, syscalls.ExitStatus{Signal: arch.SIGSEGV})
		if r := p.fam.root.exited; r != nil {
			return p.fam.root.stop(r), nil
		}
		return nil, nil
	}
	if pc != t.pc {
		if err := t.SetRegs([]arch.Reg{p.arch.PC}, []uint64{pc}); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// deliverPending runs the handler of a signal sent to thread t, which is
// about to run guest code (it may end the process instead, by the
// signal's default action).
func (p *Process) deliverPending(t *Thread) (*StopReason, error) {
	at := t.pc
	info, ok, err := t.k.DeliverPending(&task{p: p, t: t})
	if err != nil {
		return nil, fmt.Errorf("emu: thread %d at %s: delivering a signal: %w", t.TID, p.symbolize(at), err)
	}
	defer func() { t.interrupted = "" }()
	if r := p.fam.root.exited; r != nil {
		return p.fam.root.stop(r), nil
	}
	if ok {
		p.stats.Signals++
		if p.tracer != nil {
			how := "tkill"
			if info.Code == syscalls.SI_USER {
				how = "kill"
			}
			why := fmt.Sprintf("sent with %s by thread %d", how, info.Sender)
			if t.interrupted != "" {
				why += "; " + t.interrupted
			}
			p.tracer.signal(t, at, info.Signo, why)
		}
	}
	return nil, nil
}

// afterSyscall returns why the run must stop after thread t's syscall, if
// it must: the process ended or the call hit a limit.
func (p *Process) afterSyscall(t *Thread) *StopReason {
	switch {
	case p.fam.root.exited != nil:
		return p.fam.root.stop(p.fam.root.exited)
	case p.mem.limitHit:
		p.mem.limitHit = false
		s := p.stopAt(t, StopMemLimit)
		s.Limit = p.cfg.MaxMem
		return s
	case p.limitHit != nil:
		s := p.stopAt(t, p.limitHit.Kind)
		s.Limit, s.Syscall = p.limitHit.Limit, p.limitHit.Syscall
		p.limitHit = nil
		return s
	}
	return nil
}

// ErrNoSymbol is returned by Run when a symbol to stop at does not exist.
var ErrNoSymbol = errors.New("no symbol")

// pcAfter returns where the thread resumes after x. A stop between
// chained blocks leaves the PC register stale (see unicorn.Exit.StopPC);
// it is set here, so that the register and Thread.pc agree for whatever
// reads the thread's registers next (a signal frame, Thread.Reg).
func (p *Process) pcAfter(x unicorn.Exit) (uint64, error) {
	if x.StopPC != 0 {
		return x.StopPC, p.eng.RegWrite(int(p.arch.PC), x.StopPC)
	}
	return p.eng.RegRead(int(p.arch.PC))
}

// resolve turns until into addresses.
func (p *Process) resolve(u Until) ([]uint64, error) {
	var addrs []uint64
	for _, a := range u.Addrs {
		if err := p.insnStart(a, fmt.Sprintf("%#x", a)); err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
	}
	for _, s := range u.Symbols {
		a, err := p.symbolAddr(s)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
	}
	for _, l := range u.Lines {
		as := p.img.LineAddrs(l.File, l.Line)
		if len(as) == 0 {
			return nil, fmt.Errorf("emu: %w: no code for %s:%d in %s", ErrNoSymbol, l.File, l.Line, p.img.Path)
		}
		addrs = append(addrs, as...)
	}
	return addrs, nil
}

// symbolAddr resolves "name" or "name+OFF" (OFF in hex with 0x, else
// decimal), refusing an offset past the function or inside an
// instruction: a stop there would never be reached.
func (p *Process) symbolAddr(s string) (uint64, error) {
	name, off := s, uint64(0)
	if i := strings.LastIndexByte(s, '+'); i > 0 {
		o, err := strconv.ParseUint(s[i+1:], 0, 64)
		if err != nil {
			return 0, fmt.Errorf("emu: bad offset in %q: %w", s, err)
		}
		name, off = s[:i], o
	}
	a, ok := p.img.Lookup(name)
	if !ok {
		return 0, fmt.Errorf("emu: %w %q in %s", ErrNoSymbol, name, p.img.Path)
	}
	if off == 0 {
		return a, nil
	}
	if f, ok := p.img.FuncAt(a); !ok || off >= f.End-a {
		return 0, fmt.Errorf("emu: %s: offset %#x is past the end of %s", s, off, name)
	}
	return a + off, p.insnStart(a+off, s)
}

// insnStart checks that addr, inside a known function, is where an
// instruction starts: decoded from the function's entry on x86, 4-byte
// aligned on arm64. Addresses outside the binary's functions pass.
func (p *Process) insnStart(addr uint64, what string) error {
	f, ok := p.img.FuncAt(addr)
	if !ok {
		return nil
	}
	switch p.arch {
	case arch.ARM64:
		if addr%4 != 0 {
			return fmt.Errorf("emu: %s is not 4-byte aligned: no instruction starts there, so no thread would reach it", what)
		}
		return nil
	case arch.AMD64:
		code := make([]byte, f.End-f.Entry)
		if err := p.img.ReadMem(f.Entry, code); err != nil {
			return nil
		}
		pc := f.Entry
		for pc < addr {
			inst, err := x86asm.Decode(code[pc-f.Entry:], 64)
			if err != nil {
				return nil // not code the decoder knows: let it be
			}
			if pc+uint64(inst.Len) > addr {
				return fmt.Errorf("emu: %s is inside the instruction at %s+%#x (%#x): no thread would reach it", what, f.Name, pc-f.Entry, pc)
			}
			pc += uint64(inst.Len)
		}
		return nil
	}
	panic("emu: no instruction rule for arch " + p.arch.Name)
}

// syscall handles the syscall thread t has just made. It reports whether
// another thread should run next.
func (p *Process) syscall(t *Thread) (rotate bool, err error) {
	a := p.arch
	ids := []int{int(a.SyscallNr)}
	for _, r := range a.SyscallArgs {
		ids = append(ids, int(r))
	}
	vals := make([]uint64, len(ids))
	if err := p.eng.RegReadBatch(ids, vals); err != nil {
		return false, err
	}
	var args syscalls.Args
	copy(args[:], vals[1:])
	k := &task{p: p, t: t, restarted: t.restart, timedOut: t.timedOut}
	t.restart, t.timedOut = false, false
	after := t.pc // rt_sigreturn moves the thread
	c, err := t.k.Dispatch(k, int(vals[0]), args)
	p.stats.Syscalls++
	if err != nil {
		return false, fmt.Errorf("emu: thread %d at %s: %w", t.TID, p.symbolize(t.pc), err)
	}
	if c.Unimplemented {
		p.stats.Unimplemented[c.Name]++
		if p.cfg.Strict {
			p.limitHit = &StopReason{Kind: StopUnimplemented, Syscall: c.Name}
		}
	}
	if p.cfg.Observer != nil {
		p.cfg.Observer.Syscall(t, &c)
	}
	if p.tracer != nil {
		p.tracer.syscall(t, after, &c, k)
		p.tracer.flush()
	}
	if t.state != Runnable || p.fam.root.exited != nil {
		return true, nil
	}
	if err := p.eng.RegWrite(int(a.SyscallRet), c.Ret); err != nil {
		return false, err
	}
	return k.yield, nil
}

// exit records that the process has ended; the first reason wins.
func (p *Process) exit(r *StopReason) {
	if p.exited == nil {
		p.exited = r
	}
}

// stopAt fills in where thread t is, and its callers, and returns the
// reason.
func (p *Process) stopAt(t *Thread, kind StopKind) *StopReason {
	r := &StopReason{Kind: kind, TID: t.TID, PC: t.pc}
	if s, ok := p.img.Symbolize(t.pc); ok {
		r.File, r.Line = s.File, s.Line
	}
	for _, ret := range p.backtrace(t, 8) {
		r.Backtrace = append(r.Backtrace, p.symbolize(ret))
	}
	return p.stop(r)
}

func (p *Process) stop(r *StopReason) *StopReason {
	r.Insns = p.eng.Insns()
	if r.PC != 0 && r.Symbol == "" {
		r.Symbol = p.symbolize(r.PC)
	}
	return r
}

// symbolize names pc as "function+0xoff", or "" if it is in no function.
func (p *Process) symbolize(pc uint64) string { return p.Symbolize(pc) }

// Symbolize names a code address: "function+0xoff" in the executable;
// in a shared object the dynamic loader mapped, "function+0xoff
// (libc.so.6)", or "libc.so.6+0xaddr" outside its symbols; "" elsewhere.
func (p *Process) Symbolize(pc uint64) string {
	if s, ok := p.img.Symbolize(pc); ok {
		if s.Offset == 0 {
			return s.Name
		}
		return fmt.Sprintf("%s+%#x", s.Name, s.Offset)
	}
	if fn, off, obj, ok := p.objectLoc(pc); ok {
		return trace.Loc{PC: pc, Func: fn, Offset: off, Object: obj}.Sym()
	}
	return ""
}

// Signal sends sig to the guest process as another process would with
// kill(2): gorunemu exec passes on the signals it receives (Ctrl-C, go
// test's SIGQUIT at a timeout), as qemu-user does. It may be called from
// any goroutine, also while Run runs; the signal arrives at the next
// scheduling point.
func (p *Process) Signal(sig int) {
	p.outsideMu.Lock()
	p.outside = append(p.outside, sig)
	p.outsideMu.Unlock()
	p.outsidePending.Store(true)
	_ = p.eng.Stop() // a hurry, not a need: the loop looks between slices anyway
}

// takeOutsideSignals sends the signals Signal queued, through the
// current thread (or the first live one), and returns the stop if one
// ended the process.
func (p *Process) takeOutsideSignals() (*StopReason, error) {
	if !p.outsidePending.Load() {
		return nil, nil // the common case: one load per turn of the loop
	}
	p.outsideMu.Lock()
	sigs := p.outside
	p.outside = nil
	p.outsidePending.Store(false)
	p.outsideMu.Unlock()
	for _, sig := range sigs {
		t := p.cur
		if t == nil || t.state == Exited {
			if len(p.active) == 0 {
				return nil, nil
			}
			t = p.active[0]
		}
		if err := p.kernel.SignalFromOutside(&task{p: p, t: t}, sig); err != nil {
			return nil, fmt.Errorf("emu: signal %d from outside: %w", sig, err)
		}
		if p.exited != nil {
			return p.stop(p.exited), nil
		}
	}
	return nil, nil
}
