package emu

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu/unicorn"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/syscalls"
	"github.com/gorunemu/gorunemu/trace"
)

// TraceOptions selects what a run reports to a trace.Sink. The zero value
// with a Sink reports milestones only if Milestones is set: each level is
// asked for explicitly.
type TraceOptions struct {
	Sink trace.Sink
	// Milestones reports the first entry into each function of the startup
	// path (milestones.go), new threads and the syscalls that set up TLS.
	Milestones bool
	// Calls reports every function entry and return on every thread;
	// CallFilter, if set, keeps only the functions it accepts.
	Calls      bool
	CallFilter func(fn string) bool
	// Syscalls reports every syscall, strace-style.
	Syscalls bool
	// Insns reports every instruction; Regs adds the registers each one
	// changed. Syntax chooses the disassembly syntax.
	Insns  bool
	Regs   bool
	Syntax trace.Syntax
	// Watches report every store into their ranges.
	Watches []Watch
	// Binary names the program in the trace header (default: its path).
	Binary string
	// Progress, if set, is called about every 200 ms of wall time.
	Progress func(Stats)
}

// Watch is a guest memory range whose stores are reported.
type Watch struct {
	Addr, Size uint64
	// Label names the range in events ("runtime.g0"); "" uses data symbols.
	Label string
}

// Ring sizes: big enough that a drain happens at most every few thousand
// blocks, small enough to stay in cache.
const (
	blockRing = 1 << 14
	insnRing  = 1 << 15
	writeRing = 1 << 12
	maxStack  = 512 // deeper call stacks are cut from the bottom
)

// tracer turns the engine's rings, syscalls and thread events into
// trace events. It lives on the goroutine that runs the process.
type tracer struct {
	p    *Process
	opts TraceOptions
	ev   trace.Event
	err  error // the first error from the sink; the run stops with it

	// Calls: a shadow stack per thread, of function entries.
	stacks map[int][]loader.Func
	// Instructions: what is known about each address seen.
	insnInfo map[uint64]*insnInfo
	locs     map[uint64]trace.Loc
	// Milestones: entry address -> milestone, removed once seen.
	milestones map[uint64]*milestone

	lastProgress time.Time
	pending      [][2]*Thread // started threads waiting for their clone's event

	// With more than one of calls, instructions and watches on, a drain
	// queues its events and sends them in instruction order: a call
	// before the instruction it enters with, a write after the
	// instruction that stored it.
	queuing bool
	rank    int
	queue   []queuedEvent

	// With --regs: the registers traced, and the last instruction, whose
	// changes are known once the next one's record (or the run's end)
	// shows the registers after it.
	regs    []arch.RegInfo
	last    lastInsn
	hasLast bool
}

type queuedEvent struct {
	rank int
	ev   trace.Event
}

type lastInsn struct {
	t      *Thread
	in     unicorn.Insn
	n, tn  uint64
	before []uint64
}

type insnInfo struct {
	loc   trace.Loc
	bytes []byte
	asm   string
}

func newTracer(p *Process, o TraceOptions) (*tracer, error) {
	tr := &tracer{
		p:            p,
		opts:         o,
		stacks:       map[int][]loader.Func{},
		insnInfo:     map[uint64]*insnInfo{},
		locs:         map[uint64]trace.Loc{},
		milestones:   map[uint64]*milestone{},
		lastProgress: time.Now(),
	}
	eng := p.eng
	if o.Calls {
		if err := eng.TraceBlocks(blockRing); err != nil {
			return nil, err
		}
	}
	if o.Insns {
		var ids []int
		if o.Regs {
			for _, r := range p.arch.GPRs {
				if r.Reg != p.arch.PC {
					tr.regs = append(tr.regs, r)
					ids = append(ids, int(r.Reg))
				}
			}
		}
		if err := eng.TraceInsns(insnRing, ids); err != nil {
			return nil, err
		}
	}
	for _, w := range o.Watches {
		if err := eng.Watch(w.Addr, w.Addr+w.Size, writeRing); err != nil {
			return nil, err
		}
	}
	if o.Milestones {
		for _, m := range milestonesFor(p) {
			tr.milestones[m.addr] = m
		}
	}
	return tr, nil
}

// probes returns the addresses the run must stop at for the tracer.
func (tr *tracer) probes() []uint64 {
	var out []uint64
	for a := range tr.milestones {
		out = append(out, a)
	}
	return out
}

func (tr *tracer) emit(t *Thread, kind trace.Kind) *trace.Event {
	tr.ev = trace.Event{Kind: kind, Insns: tr.p.eng.Insns()}
	if t != nil {
		tr.ev.TID = t.TID
		tr.ev.ThreadInsns = t.insns
	}
	return &tr.ev
}

func (tr *tracer) send() {
	if tr.queuing {
		tr.queue = append(tr.queue, queuedEvent{tr.rank, tr.ev})
		return
	}
	if tr.err == nil {
		tr.err = tr.opts.Sink.Emit(&tr.ev)
	}
}

// sendQueued sends the queued events in instruction order; at the same
// count, in rank order (calls, instructions, writes).
func (tr *tracer) sendQueued() {
	q := tr.queue
	sort.SliceStable(q, func(i, j int) bool {
		if q[i].ev.Insns != q[j].ev.Insns {
			return q[i].ev.Insns < q[j].ev.Insns
		}
		return q[i].rank < q[j].rank
	})
	tr.queuing = false
	for i := range q {
		tr.ev = q[i].ev
		tr.send()
	}
	clear(q)
	tr.queue = q[:0]
}

// loc symbolizes pc, cached.
func (tr *tracer) loc(pc uint64) trace.Loc {
	if l, ok := tr.locs[pc]; ok {
		return l
	}
	l := trace.Loc{PC: pc}
	if s, ok := tr.p.img.Symbolize(pc); ok {
		l.Func, l.Offset, l.File, l.Line = s.Name, s.Offset, s.File, s.Line
	}
	// The physical function closes loader's list; Loc keeps it apart.
	if fr := tr.p.img.Inlined(pc); len(fr) > 1 {
		for _, f := range fr[:len(fr)-1] {
			l.Inlined = append(l.Inlined, trace.Frame{Func: f.Func, File: f.File, Line: f.Line})
		}
	}
	tr.locs[pc] = l
	return l
}

// dataName names a data address: "runtime.g0+0x8", or the bare address.
func (tr *tracer) dataName(addr uint64) string {
	for _, w := range tr.opts.Watches {
		if w.Label != "" && w.Addr <= addr && addr < w.Addr+w.Size {
			if addr == w.Addr {
				return w.Label
			}
			return fmt.Sprintf("%s+%#x", w.Label, addr-w.Addr)
		}
	}
	if d, off, ok := tr.p.img.DataAt(addr); ok {
		if off == 0 {
			return d.Name
		}
		return fmt.Sprintf("%s+%#x", d.Name, off)
	}
	return fmt.Sprintf("%#x", addr)
}

// drain turns what the rings recorded while thread t ran into events.
// startInsns is the process's instruction count when t started running;
// events are stamped with the count when their block or instruction began.
func (tr *tracer) drain(t *Thread, startInsns uint64) {
	eng := tr.p.eng
	// t.insns already includes this run; threadBase is its count before.
	threadBase := t.insns - (eng.Insns() - startInsns)
	streams := 0
	for _, on := range []bool{tr.opts.Calls, tr.opts.Insns, len(tr.opts.Watches) > 0} {
		if on {
			streams++
		}
	}
	if streams > 1 {
		tr.queuing = true
		defer tr.sendQueued()
	}
	tr.rank = 0
	if tr.opts.Calls {
		n := startInsns
		eng.DrainBlocks(func(bs []unicorn.Block) {
			for _, b := range bs {
				tr.block(t, b, n, threadBase+n-startInsns)
				n += uint64(b.ICount)
			}
		})
	}
	tr.rank = 1
	if tr.opts.Insns {
		n := startInsns
		nr := len(tr.regs)
		eng.DrainInsns(func(is []unicorn.Insn, regs []uint64) {
			for k, in := range is {
				tn := threadBase + n - startInsns
				if nr == 0 {
					tr.insn(t, in, n, tn, nil)
				} else {
					vals := regs[k*nr : (k+1)*nr]
					if tr.hasLast {
						tr.finishInsn(vals)
					}
					tr.last = lastInsn{t: t, in: in, n: n, tn: tn, before: append(tr.last.before[:0], vals...)}
					tr.hasLast = true
				}
				n++
			}
		})
		if tr.hasLast {
			// The registers now are those after the last instruction.
			ids := make([]arch.Reg, nr)
			for i, r := range tr.regs {
				ids[i] = r.Reg
			}
			after := make([]uint64, nr)
			if err := t.Regs(ids, after); err != nil && tr.err == nil {
				tr.err = err
			}
			tr.finishInsn(after)
		}
	}
	tr.rank = 2
	if len(tr.opts.Watches) > 0 {
		lost := eng.DrainWrites(func(ws []unicorn.Write) {
			for _, w := range ws {
				e := tr.emit(t, trace.Write)
				e.Insns = w.Insns + tr.p.insnsBetween(w.Block, w.PC)
				e.ThreadInsns = threadBase + e.Insns - startInsns
				e.At = tr.loc(w.PC)
				e.Addr, e.Size, e.Old, e.New = w.Addr, int(w.Size), w.Old, w.Value
				e.Target = tr.dataName(w.Addr)
				tr.send()
			}
		})
		if lost > 0 {
			e := tr.emit(t, trace.Write)
			e.Detail = fmt.Sprintf("%d writes lost: the write ring overflowed within one block", lost)
			tr.send()
		}
	}
	if tr.opts.Progress != nil && time.Since(tr.lastProgress) > 200*time.Millisecond {
		tr.lastProgress = time.Now()
		tr.opts.Progress(tr.p.Stats())
	}
}

// block follows calls and returns from one executed block: entering a
// function at its entry is a call; arriving in a function lower on the
// thread's shadow stack is a return to it. Anything else (a goroutine
// switch, a return into a frame entered before tracing began) is kept as
// a new frame without an event.
func (tr *tracer) block(t *Thread, b unicorn.Block, n, tn uint64) {
	st := tr.stacks[t.TID]
	top := len(st) - 1
	if top >= 0 && b.Addr > st[top].Entry && b.Addr < st[top].End {
		return // still in the same function
	}
	f, ok := tr.p.img.FuncAt(b.Addr)
	if !ok {
		f = loader.Func{Name: fmt.Sprintf("%#x", b.Addr), Entry: b.Addr, End: b.Addr + uint64(b.Size)}
	}
	if b.Addr != f.Entry {
		for i := top; i >= 0; i-- {
			if st[i].Entry == f.Entry {
				for j := top; j > i; j-- {
					tr.callEvent(t, trace.Return, j, st[j], b.Addr, n, tn)
				}
				tr.stacks[t.TID] = st[:i+1]
				return
			}
		}
	} else {
		tr.callEvent(t, trace.Call, len(st), f, b.Addr, n, tn)
	}
	if len(st) >= maxStack {
		st = append(st[:0], st[len(st)-maxStack/2:]...)
	}
	tr.stacks[t.TID] = append(st, f)
}

func (tr *tracer) callEvent(t *Thread, kind trace.Kind, depth int, f loader.Func, at, n, tn uint64) {
	if tr.opts.CallFilter != nil && !tr.opts.CallFilter(f.Name) {
		return
	}
	e := tr.emit(t, kind)
	e.Insns, e.ThreadInsns = n, tn
	e.Depth = depth
	e.At = tr.loc(at)
	if kind == trace.Return {
		e.Name = f.Name
	}
	tr.send()
}

// finishInsn reports the last instruction with the registers it changed,
// given their values after it.
func (tr *tracer) finishInsn(after []uint64) {
	l := &tr.last
	var changed []trace.Reg
	for i, r := range tr.regs {
		if after[i] != l.before[i] {
			changed = append(changed, trace.Reg{Name: r.Name, Value: after[i]})
		}
	}
	tr.insn(l.t, l.in, l.n, l.tn, changed)
	tr.hasLast = false
}

// insn reports one executed instruction.
func (tr *tracer) insn(t *Thread, in unicorn.Insn, n, tn uint64, regs []trace.Reg) {
	info := tr.insnInfo[in.Addr]
	if info == nil {
		info = &insnInfo{loc: tr.loc(in.Addr), bytes: make([]byte, in.Size)}
		if err := tr.p.mem.read(in.Addr, info.bytes, true); err != nil {
			info.asm = "?"
		} else {
			info.asm, _ = trace.Disassemble(tr.p.arch.Name, info.bytes, in.Addr, tr.opts.Syntax, tr.symName)
		}
		tr.insnInfo[in.Addr] = info
	}
	e := tr.emit(t, trace.Insn)
	e.Insns, e.ThreadInsns = n, tn
	e.At, e.Bytes, e.Asm = info.loc, info.bytes, info.asm
	e.Regs = regs
	tr.send()
}

// symName names code and data addresses for the disassembler.
func (tr *tracer) symName(addr uint64) (string, uint64) {
	if s, ok := tr.p.img.Symbolize(addr); ok {
		return s.Name, s.Addr
	}
	if d, _, ok := tr.p.img.DataAt(addr); ok {
		return d.Name, d.Addr
	}
	return "", 0
}

// syscall reports thread t's handled syscall c; after is the PC past the
// syscall instruction, where the thread was when it made the call.
// Milestone traces show the calls that shape startup: TLS setup and
// thread creation.
func (tr *tracer) syscall(t *Thread, after uint64, c *syscalls.Call, task syscalls.Task) {
	if !tr.opts.Syscalls && !(tr.opts.Milestones && milestoneSyscall(c.Name)) {
		return
	}
	e := tr.emit(t, trace.Syscall)
	e.At = tr.loc(after - tr.p.arch.SyscallInsnLen)
	e.Name = c.Name
	e.Args = syscalls.FormatArgs(task, c.Entry, c.Args)
	e.Result = syscalls.FormatResult(c.Entry, c)
	// The caller is found from the registers, which rt_sigreturn has
	// replaced with the interrupted code's.
	if t.pc == after {
		if callers := tr.p.backtrace(t, 1); len(callers) > 0 {
			e.Caller = tr.loc(callers[0] - 1)
			e.Caller.Offset++ // name the return address, as tracebacks do
			e.Caller.PC++
		}
	}
	var notes []string
	if c.Note != "" {
		notes = append(notes, c.Note)
	}
	if c.Name == "arch_prctl" && c.Errno == 0 {
		if tls, err := task.TLS(); err == nil {
			notes = append(notes, "FS base = "+tr.dataName(tls))
		}
	}
	if c.Unimplemented {
		notes = append(notes, "not implemented by gorunemu")
	}
	e.Detail = strings.Join(notes, "; ")
	tr.send()
}

// threadStarted reports a new thread once the clone that made it has
// been reported (see flush).
func (tr *tracer) threadStarted(child, parent *Thread) {
	tr.pending = append(tr.pending, [2]*Thread{child, parent})
}

// flush reports the threads started by the syscall just handled.
func (tr *tracer) flush() {
	for _, cp := range tr.pending {
		tr.reportThread(cp[0], cp[1])
	}
	tr.pending = tr.pending[:0]
}

// signal reports that thread t, interrupted at at, now runs the handler
// of signal sig; why is the fault or who sent it.
func (tr *tracer) signal(t *Thread, at uint64, sig int, why string) {
	e := tr.emit(t, trace.Signal)
	e.At = tr.loc(at)
	e.Name = syscalls.SignalName(sig)
	e.Detail = fmt.Sprintf("%s; handler %s", why, tr.loc(t.pc).Sym())
	tr.send()
}

func (tr *tracer) reportThread(child, parent *Thread) {
	e := tr.emit(parent, trace.ThreadStart)
	e.TID = child.TID
	e.ThreadInsns = 0
	e.Parent = parent.TID
	e.At = tr.loc(child.pc)
	var notes []string
	if callers := tr.p.backtrace(parent, 4); len(callers) > 0 {
		var names []string
		for _, c := range callers {
			names = append(names, tr.loc(c-1).Func)
		}
		notes = append(notes, "created by "+strings.Join(names, " <- "))
	}
	if tls, err := child.Reg(tr.p.arch.TLS); err == nil && tls != 0 {
		notes = append(notes, "TLS = "+tr.dataName(tls))
	}
	e.Detail = strings.Join(notes, "; ")
	tr.send()
}

func (tr *tracer) threadExited(t *Thread, code int) {
	e := tr.emit(t, trace.ThreadExit)
	e.Code = code
	tr.send()
}

// probe runs the milestone at addr, if any, on thread t stopped there.
func (tr *tracer) probe(t *Thread, addr uint64) {
	m := tr.milestones[addr]
	if m == nil {
		return
	}
	delete(tr.milestones, addr)
	e := tr.emit(t, trace.Milestone)
	e.At = tr.loc(addr)
	if m.show != nil {
		e.Detail = m.show(&milestoneCtx{p: tr.p, t: t})
	}
	tr.send()
}

func (tr *tracer) stopped(r *StopReason) {
	var t *Thread
	if r.TID != 0 {
		t = tr.p.Thread(r.TID)
	}
	e := tr.emit(t, trace.Stop)
	e.Detail = r.String()
	e.Code = r.Code
	if r.PC != 0 {
		e.At = tr.loc(r.PC)
	}
	tr.send()
}

// backtrace returns up to n return addresses of thread t, innermost first,
// found with the pcsp tables: on amd64 the return address is at SP+delta,
// on arm64 it is in LR until the prologue saves it at SP+0.
func (p *Process) backtrace(t *Thread, n int) []uint64 {
	a := p.arch
	regs := []arch.Reg{a.SP}
	if a.LinkReg >= 0 {
		regs = append(regs, a.LinkReg)
	}
	vals := make([]uint64, len(regs))
	if err := t.Regs(regs, vals); err != nil {
		return nil
	}
	sp, lr := vals[0], uint64(0)
	if len(vals) > 1 {
		lr = vals[1]
	}
	pc := t.pc
	var out []uint64
	var word [8]byte
	for len(out) < n {
		delta, ok := p.img.SPDelta(pc)
		switch {
		case !ok && len(out) == 0:
			// Not in a known function (a jump to a bad address): assume
			// the call just happened, with no frame set up.
			delta = 0
		case !ok || delta < 0:
			return out
		}
		var ret uint64
		switch {
		case a.LinkReg >= 0 && delta == 0:
			ret = lr
		case a.LinkReg >= 0:
			if p.mem.read(sp, word[:], true) != nil {
				return out
			}
			ret = binary.LittleEndian.Uint64(word[:])
			sp += uint64(delta)
		default:
			if p.mem.read(sp+uint64(delta), word[:], true) != nil {
				return out
			}
			ret = binary.LittleEndian.Uint64(word[:])
			sp += uint64(delta) + 8
		}
		if _, ok := p.img.FuncAt(ret - 1); ret == 0 || !ok {
			break // past the outermost frame (a thread's or stack's first)
		}
		out = append(out, ret)
		pc, lr = ret-1, 0
	}
	return out
}
