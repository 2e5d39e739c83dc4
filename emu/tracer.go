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
	// Milestones are reported at the first entry into each of their
	// functions (goruntime.StartupPath lists a Go program's startup);
	// with any, new threads and the syscalls that set up TLS are too.
	Milestones []Milestone
	// Calls reports every function entry and return on every thread;
	// CallFilter, if set, keeps only the functions it accepts.
	Calls      bool
	CallFilter func(fn string) bool
	// Goroutines, if set, makes Calls follow goroutines: one call stack
	// per goroutine, and a switch event when a thread changes goroutine
	// (goruntime.Goroutines says where a Go binary keeps them).
	Goroutines *Goroutines
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

// Milestone is a function whose first entry a trace reports.
type Milestone struct {
	Func string
	// Every reports every entry, not only the first (each new M's
	// x_cgo_thread_start).
	Every bool
	// Detail, if set, says what is worth knowing on arrival: p is
	// stopped with thread t at the function's entry.
	Detail func(p *Process, t *Thread) string
}

// Goroutines says where a thread's running goroutine (a runtime.g) is
// and what identifies it.
type Goroutines struct {
	// InRegister says g is in the arch's G register (arm64); otherwise it
	// is the word at the thread pointer + TLSOffset (amd64: -8).
	InRegister bool
	TLSOffset  int64
	// GoID is the offset of goid in runtime.g. GM, MG0 and MGSignal
	// (g.m, m.g0, m.gsignal) tell a thread's system goroutines apart.
	GoID, GM, MG0, MGSignal uint64
	// MoreStack is runtime.morestack's entry. A function that comes back
	// from it jumps to its own entry again: that resumes the call, on a
	// stack that may have moved, and is not a new one.
	MoreStack uint64
	// Switchers are the entries of the functions that move a thread
	// between goroutines (gogo, mcall, systemstack, ...). They change g
	// and the stack pointer a few instructions apart, so a new g is taken
	// as switched to only once code outside them runs.
	Switchers []uint64
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

	// Calls: a shadow stack per goroutine (or per thread, without
	// Goroutines), and which one each thread runs on.
	stacks  map[stackKey]*callStack
	running map[int]stackKey
	// switchers are the entries of Goroutines.Switchers.
	switchers map[uint64]bool
	// Instructions: what is known about each address seen.
	insnInfo map[uint64]*insnInfo
	locs     map[uint64]trace.Loc
	// Milestones: entry address -> milestone, removed once seen.
	milestones map[uint64]*Milestone

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
		stacks:       map[stackKey]*callStack{},
		running:      map[int]stackKey{},
		insnInfo:     map[uint64]*insnInfo{},
		locs:         map[uint64]trace.Loc{},
		milestones:   map[uint64]*Milestone{},
		lastProgress: time.Now(),
	}
	eng := p.eng
	if o.Calls {
		if err := eng.TraceBlocks(blockRing); err != nil {
			return nil, err
		}
		if g := o.Goroutines; g != nil {
			tr.switchers = map[uint64]bool{}
			for _, a := range g.Switchers {
				tr.switchers[a] = true
			}
			gReg := -1
			if g.InRegister {
				gReg = int(p.arch.G)
			}
			if err := eng.FollowGoroutines(gReg, int(p.arch.TLS), g.TLSOffset, g.GoID); err != nil {
				return nil, err
			}
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
	for i, m := range o.Milestones {
		// Functions a binary lacks (renamed in another Go release, or of
		// the other arch) are skipped.
		if addr, ok := p.img.Lookup(m.Func); ok {
			tr.milestones[addr] = &o.Milestones[i]
		}
	}
	if p.interp != nil && len(o.Milestones) > 0 {
		// A dynamically linked program starts in its dynamic loader.
		tr.milestones[p.interp.Entry] = &Milestone{Func: p.interp.Path, Detail: interpDetail}
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
	} else if fn, off, obj, ok := tr.p.objectLoc(pc); ok {
		l.Func, l.Offset, l.Object = fn, off, obj
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

// stackKey names a shadow stack: a goroutine's (g) when goroutines are
// followed and g is known, else a thread's (tid).
type stackKey struct {
	tid int
	g   uint64
}

// callStack is one goroutine's or thread's shadow stack.
type callStack struct {
	frames []frame
	goid   int64 // the goroutine's id when it was made; -1 unknown
	// last is the block that ran last on this stack, 0 after a switch
	// to it: a jump from there to a function's entry is a tail call.
	last uint64
}

// frame is one function on a shadow stack.
type frame struct {
	fn loader.Func
	sp uint64 // the stack pointer at its entry
	// reenter: control came back here from runtime.morestack, so the
	// next jump to fn's entry resumes this call.
	reenter bool
	// interrupted: a signal handler started above this frame, on
	// another stack; unwinding by stack pointer stops here.
	interrupted bool
}

// block follows calls and returns from one executed block: entering a
// function at its entry is a call; arriving in a function lower on the
// goroutine's shadow stack is a return to it. A call whose stack pointer
// is at or above a frame's shows that frame is gone: a tail call, or a
// stack the runtime reset (mcall and systemstack start g0's afresh).
// Arriving anywhere else (a return into a frame entered before tracing
// began) is kept as a new frame without an event.
func (tr *tracer) block(t *Thread, b unicorn.Block, n, tn uint64) {
	key, seen := tr.running[t.TID]
	var f loader.Func
	looked := false
	if !seen || (tr.opts.Goroutines != nil && b.G != 0 && b.G != key.g) {
		// The runtime's switching code changes g a few instructions
		// before the stack pointer: the switch is taken where it lands.
		f, looked = tr.funcAt(b), true
		if !seen || !tr.switchers[f.Entry] {
			key = tr.switchTo(t, b, n, tn)
		}
	}
	st := tr.stacks[key]
	defer func() { st.last = b.Addr }()
	fs := st.frames
	top := len(fs) - 1
	if top >= 0 && b.Addr > fs[top].fn.Entry && b.Addr < fs[top].fn.End {
		return // still in the same function
	}
	if !looked {
		f = tr.funcAt(b)
	}
	if b.Addr != f.Entry {
		for i := top; i >= 0; i-- {
			if fs[i].fn.Entry != f.Entry {
				continue
			}
			fromMoreStack := false
			for j := top; j > i; j-- {
				fromMoreStack = fromMoreStack || tr.isMoreStack(fs[j].fn)
				tr.callEvent(t, trace.Return, j, fs[j].fn, b, n, tn, st, "")
			}
			fs[i].reenter = fromMoreStack
			fs[i].interrupted = false
			st.frames = fs[:i+1]
			return
		}
		// Not on this stack: the frames below the stack pointer have
		// returned.
		for ; top >= 0 && !fs[top].interrupted && fs[top].sp <= b.SP; top-- {
			tr.callEvent(t, trace.Return, top, fs[top].fn, b, n, tn, st, "")
		}
		fs = fs[:top+1]
		if tr.switchers[f.Entry] {
			// Switching code running between two goroutines' stacks.
			st.frames = fs
			return
		}
	} else {
		if top >= 0 && fs[top].fn.Entry == f.Entry && fs[top].reenter {
			// The jump back to the entry after morestack: newstack may
			// have copied the stack, which moves every frame by as much.
			delta := b.SP - fs[top].sp
			for i := range fs {
				fs[i].sp += delta
			}
			fs[top].reenter = false
			return
		}
		for ; top >= 0 && !fs[top].interrupted && tr.gone(fs[top], b); top-- {
			why := fmt.Sprintf("unwound: %s reused its frame", f.Name)
			if fs[top].sp == b.SP && st.last >= fs[top].fn.Entry && st.last < fs[top].fn.End {
				why = "tail call to " + f.Name
			}
			tr.callEvent(t, trace.Return, top, fs[top].fn, b, n, tn, st, why)
		}
		fs = fs[:top+1]
		tr.callEvent(t, trace.Call, len(fs), f, b, n, tn, st, "")
	}
	if len(fs) >= maxStack {
		fs = append(fs[:0], fs[len(fs)-maxStack/2:]...)
	}
	st.frames = append(fs, frame{fn: f, sp: b.SP})
}

// gone reports whether frame fr can no longer be live when block b enters
// a function: b's stack pointer is above fr's entry one, or at it without
// a call from fr. On amd64 a call pushes its return address, so equal
// stack pointers mean a jump (a tail call). On arm64 a call leaves the
// stack pointer alone until the callee's prologue, so a call from fr
// before its own prologue has fr's: the link register tells, pointing
// into fr after a call.
func (tr *tracer) gone(fr frame, b unicorn.Block) bool {
	if fr.sp != b.SP {
		return fr.sp < b.SP
	}
	if tr.p.arch.LinkReg < 0 {
		return true
	}
	return b.LR <= fr.fn.Entry || b.LR > fr.fn.End
}

// funcAt returns the function holding block b, or a stand-in named by
// its address.
func (tr *tracer) funcAt(b unicorn.Block) loader.Func {
	if f, ok := tr.p.img.FuncAt(b.Addr); ok {
		return f
	}
	return loader.Func{Name: fmt.Sprintf("%#x", b.Addr), Entry: b.Addr, End: b.Addr + uint64(b.Size)}
}

// switchTo makes the stack block b runs on thread t's, and reports the
// switch when that is another goroutine's.
func (tr *tracer) switchTo(t *Thread, b unicorn.Block, n, tn uint64) stackKey {
	key := stackKey{tid: t.TID}
	if tr.opts.Goroutines != nil && b.G != 0 {
		key = stackKey{g: b.G}
	}
	st := tr.stacks[key]
	if st == nil || st.goid != b.GoID {
		// A new goroutine, or a runtime.g reused for another.
		st = &callStack{goid: b.GoID}
		tr.stacks[key] = st
	}
	prev, seen := tr.running[t.TID]
	tr.running[t.TID] = key
	if (seen && prev == key) || key.g == 0 {
		return key
	}
	st.last = 0
	if seen && prev.g == 0 && len(st.frames) == 0 {
		// The thread's first goroutine (rt0_go storing g0, a new M's
		// g0): what ran before it ran on this stack.
		st.frames, tr.stacks[prev].frames = tr.stacks[prev].frames, nil
	}
	e := tr.emit(t, trace.Switch)
	e.Insns, e.ThreadInsns = n, tn
	e.At = tr.loc(b.Addr)
	e.G, e.GoID = b.G, b.GoID
	e.Name = tr.goroutineName(b.G, b.GoID)
	e.Depth = len(st.frames)
	tr.send()
	return key
}

// goroutineName says which goroutine g is: "goroutine 7", or a thread's
// "g0" or "gsignal", which have no id of their own.
func (tr *tracer) goroutineName(g uint64, goid int64) string {
	if gs := tr.opts.Goroutines; goid == 0 {
		if m, err := tr.p.ReadU64(g + gs.GM); err == nil && m != 0 {
			if g0, err := tr.p.ReadU64(m + gs.MG0); err == nil && g0 == g {
				return "g0"
			}
			if gsig, err := tr.p.ReadU64(m + gs.MGSignal); err == nil && gsig == g {
				return "gsignal"
			}
		}
	}
	if goid < 0 {
		return "goroutine ?"
	}
	return fmt.Sprintf("goroutine %d", goid)
}

func (tr *tracer) isMoreStack(f loader.Func) bool {
	gs := tr.opts.Goroutines
	return gs != nil && gs.MoreStack != 0 && f.Entry == gs.MoreStack
}

func (tr *tracer) callEvent(t *Thread, kind trace.Kind, depth int, f loader.Func, b unicorn.Block, n, tn uint64, st *callStack, why string) {
	if tr.opts.CallFilter != nil && !tr.opts.CallFilter(f.Name) {
		return
	}
	e := tr.emit(t, kind)
	e.Insns, e.ThreadInsns = n, tn
	e.Depth = depth
	e.At = tr.loc(b.Addr)
	e.G, e.GoID = b.G, st.goid
	if kind == trace.Return {
		e.Name = f.Name
		e.Detail = why
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
	if !tr.opts.Syscalls && !(len(tr.opts.Milestones) > 0 && milestoneSyscall(c.Name)) {
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

// milestoneSyscall reports whether a milestone trace shows a syscall:
// those that set up TLS and threads.
func milestoneSyscall(name string) bool {
	return name == "arch_prctl" || name == "clone"
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
	if key, ok := tr.running[t.TID]; ok {
		if fs := tr.stacks[key].frames; len(fs) > 0 {
			fs[len(fs)-1].interrupted = true
		}
	}
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
	if !m.Every {
		delete(tr.milestones, addr)
	}
	e := tr.emit(t, trace.Milestone)
	e.At = tr.loc(addr)
	if m.Detail != nil {
		e.Detail = m.Detail(tr.p, t)
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
