package unicorn

/*
#include <unicorn/unicorn.h>
#include "hooks.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/gorunemu/gorunemu/arch"
)

// Exit says why Start returned. Several reasons can hold at once (a ring
// filled up on the block that also ran out of budget).
type Exit struct {
	Syscall  bool   // the guest made a system call; PC is past the instruction
	Budget   bool   // the instruction budget of this Start ran out
	StopAddr bool   // PC reached a stop address (StopPC), before executing it
	RingFull bool   // a trace ring is full: drain it and start again
	Fault    *Fault // invalid memory access, undefined instruction or CPU exception
	// Watches are the run's accesses to stop watches (SetWatchStops), in
	// order. The block holding the first ran on to its end (Budget) or
	// to another stop. WatchesLost counts those that did not fit.
	Watches     []WatchHit
	WatchesLost uint64
	// StopPC is where execution resumes after a StopAddr, Budget or
	// RingFull stop: the block or instruction that did not run. Read it
	// rather than the PC register: Unicorn 2.0.1 leaves the PC stale when
	// a block hook stops the CPU between chained blocks. 0 otherwise.
	StopPC uint64
	// Over is, after a StartExact stopped at its budget, the
	// instruction count of the block that would have passed it.
	Over uint64
}

// FaultKind classifies a Fault.
type FaultKind int

// Fault kinds.
const (
	FaultRead FaultKind = iota + 1
	FaultWrite
	FaultFetch
	FaultInvalidInsn
	FaultException
)

func (k FaultKind) String() string {
	switch k {
	case FaultRead:
		return "read"
	case FaultWrite:
		return "write"
	case FaultFetch:
		return "fetch"
	case FaultInvalidInsn:
		return "undefined instruction"
	case FaultException:
		return "exception"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is why the guest could not continue.
type Fault struct {
	Kind     FaultKind
	Unmapped bool   // memory faults: nothing mapped (false: mapped without permission)
	Addr     uint64 // memory faults: the address accessed
	Size     int    // memory faults: the access size
	Intno    uint32 // FaultException: the CPU exception number
	Err      error  // what Unicorn returned, if anything
}

func (f *Fault) Error() string {
	switch f.Kind {
	case FaultRead, FaultWrite, FaultFetch:
		why := "protection"
		if f.Unmapped {
			why = "unmapped"
		}
		return fmt.Sprintf("%s of %d bytes at %#x (%s)", f.Kind, f.Size, f.Addr, why)
	case FaultException:
		return fmt.Sprintf("CPU exception %d", f.Intno)
	}
	return f.Kind.String()
}

// Unlimited as a Start budget lets the guest run until something else
// stops it.
const Unlimited = ^uint64(0)

// Start runs the guest from begin until a hook stops it, or until the
// first block boundary at or after budget more instructions (a budget of
// 0 stops before the first block; Unlimited never stops). A Unicorn error
// that is not a guest fault is returned as error.
func (e *Engine) Start(begin, budget uint64) (Exit, error) {
	if err := e.check(); err != nil {
		return Exit{}, err
	}
	e.started = true
	return e.exit(C.gre_start(e.st, C.uint64_t(begin), C.uint64_t(budget), 0), begin)
}

// StartExact is Start that also never passes exact instructions (exact
// at most budget): a block that would pass them does not start
// (Exit.Budget, with Exit.Over its instruction count), so a run can end
// exactly there by stopping inside that block (SetStops). budget stays
// what it is for Start: a block begun before it is used up runs to its
// end.
func (e *Engine) StartExact(begin, budget, exact uint64) (Exit, error) {
	if err := e.check(); err != nil {
		return Exit{}, err
	}
	e.started = true
	return e.exit(C.gre_start(e.st, C.uint64_t(begin), C.uint64_t(budget), C.uint64_t(exact)), begin)
}

// exit decodes how a run that started at begin ended.
func (e *Engine) exit(code C.uc_err, begin uint64) (Exit, error) {
	st := e.st
	x := Exit{
		Syscall:  st.exit&C.GRE_EXIT_SYSCALL != 0,
		Budget:   st.exit&C.GRE_EXIT_BUDGET != 0,
		StopAddr: st.exit&C.GRE_EXIT_STOPADDR != 0,
		RingFull: st.exit&C.GRE_EXIT_RINGFULL != 0,
	}
	if x.StopAddr || x.Budget || x.RingFull {
		x.StopPC = uint64(st.stop_pc)
	}
	if x.Budget {
		x.Over = uint64(st.over)
	}
	if st.exit&C.GRE_EXIT_WATCH != 0 {
		x.WatchesLost = uint64(st.hits.dropped)
		drain[C.gre_watch_hit](e, &st.hits, func(hs []C.gre_watch_hit) {
			for _, h := range hs {
				x.Watches = append(x.Watches, WatchHit{
					PC: uint64(h.pc), Addr: uint64(h.addr), Size: int(h.size),
					Write: h.kind == C.GRE_WATCH_WRITE, Block: uint64(h.block), BlockInsns: uint64(h.insns),
				})
			}
		})
	}
	switch {
	case st.exit&C.GRE_EXIT_FAULT != 0:
		x.Fault = memFault(st)
	case st.exit&C.GRE_EXIT_INVALID != 0:
		x.Fault = &Fault{Kind: FaultInvalidInsn}
	case st.exit&C.GRE_EXIT_INTR != 0:
		x.Fault = &Fault{Kind: FaultException, Intno: uint32(st.intno)}
	}
	if code != C.UC_ERR_OK {
		err := ucErr(code, "run from %#x", begin)
		if x.Fault != nil {
			x.Fault.Err = err
			return x, nil
		}
		switch code {
		case C.UC_ERR_INSN_INVALID:
			x.Fault = &Fault{Kind: FaultInvalidInsn, Err: err}
			return x, nil
		case C.UC_ERR_EXCEPTION:
			x.Fault = &Fault{Kind: FaultException, Err: err}
			return x, nil
		}
		return x, err
	}
	return x, nil
}

func memFault(st *C.gre_state) *Fault {
	f := &Fault{Addr: uint64(st.fault_addr), Size: int(st.fault_size)}
	switch st.fault_type {
	case C.UC_MEM_READ_UNMAPPED:
		f.Kind, f.Unmapped = FaultRead, true
	case C.UC_MEM_WRITE_UNMAPPED:
		f.Kind, f.Unmapped = FaultWrite, true
	case C.UC_MEM_FETCH_UNMAPPED:
		f.Kind, f.Unmapped = FaultFetch, true
	case C.UC_MEM_READ_PROT:
		f.Kind = FaultRead
	case C.UC_MEM_WRITE_PROT:
		f.Kind = FaultWrite
	case C.UC_MEM_FETCH_PROT:
		f.Kind = FaultFetch
	}
	return f
}

// LastBlock returns the address and size in bytes of the block that
// started last, as the block hook saw it: after a data fault, the block
// holding the faulting instruction. The PC register may be older, from a
// block that jumped here directly (chained).
func (e *Engine) LastBlock() (addr uint64, size uint32) {
	return uint64(e.st.cur_block), uint32(e.st.cur_size)
}

// Uncount takes back from Insns the instructions a fault at addr kept
// from running: the block that started last was counted whole when it
// started, from its start to its end.
func (e *Engine) Uncount(addr uint64) {
	C.gre_uncount_from(e.st, C.uint64_t(addr))
}

// Stop asks a running Start to return. It is safe to call from another
// goroutine while Start runs (Unicorn's uc_emu_stop only sets flags).
func (e *Engine) Stop() error {
	if err := e.check(); err != nil {
		return err
	}
	return ucErr(C.uc_emu_stop(e.uc), "stop")
}

// Insns returns the number of instructions executed so far, counted per
// block as each block starts.
func (e *Engine) Insns() uint64 {
	if e.st == nil {
		return 0
	}
	return uint64(e.st.insns)
}

// doubleFaultsRetried counts the x86 double faults the engine took back
// and ran again (hooks.c, retry_double_fault).
func (e *Engine) doubleFaultsRetried() uint64 {
	if e.st == nil {
		return 0
	}
	return uint64(e.st.df_retried)
}

// setExceptionInFlight makes QEMU count x86 exception intno in flight, as
// after one no hook saw, for tests; false if the engine cannot.
func (e *Engine) setExceptionInFlight(intno int32) bool {
	return e.st != nil && C.gre_set_exception_in_flight(e.st, C.int32_t(intno)) != 0
}

// SetStops makes Start stop before executing any of addrs. It replaces the
// previous set.
func (e *Engine) SetStops(addrs []uint64) error {
	if err := e.check(); err != nil {
		return err
	}
	want := map[uint64]bool{}
	for _, a := range addrs {
		want[a] = true
	}
	for a, h := range e.stops {
		if !want[a] {
			if err := ucErr(C.uc_hook_del(e.uc, h), "remove stop hook at %#x", a); err != nil {
				return err
			}
			delete(e.stops, a)
		}
	}
	for a := range want {
		if _, ok := e.stops[a]; ok {
			continue
		}
		var h C.uc_hook
		if err := ucErr(C.gre_hook_stop(e.st, &h, C.uint64_t(a)), "add stop hook at %#x", a); err != nil {
			return err
		}
		e.stops[a] = h
		// Code translated before the hook existed would not call it
		// (unicorn#2200): drop the translations that hold addr.
		if e.started {
			if err := ucErr(C.gre_remove_tbs(e.uc, C.uint64_t(a), C.uint64_t(a+1)), "drop translations at %#x", a); err != nil {
				return err
			}
		}
	}
	return nil
}

// SkipStopOnce makes the next Start, if it begins at addr, execute the
// instruction at addr even though addr is a stop address. Use it to resume
// a thread that stopped there.
func (e *Engine) SkipStopOnce(addr uint64) {
	if e.st == nil {
		return
	}
	e.st.skip_pc = C.uint64_t(addr)
	e.st.skip_armed = 1
}

// flushIfStarted drops translated code so that hooks added after the first
// run also fire on code translated before them (unicorn#2200). Not with
// Unicorn's own flush, which writes zeros over its whole code buffer
// (1 GiB of host memory touched): code is dropped by engine region.
func (e *Engine) flushIfStarted() error {
	if !e.started {
		return nil
	}
	return ucErr(C.gre_discard_all_code(e.st), "drop translated code")
}

// SetCPUID makes the x86 CPUID instruction answer from leaves; leaves not
// listed read as zeros. It must be called before the first Start.
func (e *Engine) SetCPUID(leaves []arch.CPUIDLeaf) error {
	if err := e.check(); err != nil {
		return err
	}
	if e.arch != ArchX86 {
		return fmt.Errorf("unicorn: CPUID on a non-x86 engine")
	}
	if e.started {
		return fmt.Errorf("unicorn: CPUID table set after the first run")
	}
	rows := C.malloc(C.size_t(len(leaves)+1) * 6 * 4)
	if rows == nil {
		return fmt.Errorf("unicorn: out of memory for CPUID table")
	}
	tab := unsafe.Slice((*[6]C.uint32_t)(rows), len(leaves)+1)
	for i, l := range leaves {
		tab[i] = [6]C.uint32_t{C.uint32_t(l.Leaf), C.uint32_t(l.Subleaf), C.uint32_t(l.EAX), C.uint32_t(l.EBX), C.uint32_t(l.ECX), C.uint32_t(l.EDX)}
	}
	first := e.st.cpuid == nil
	C.free(unsafe.Pointer(e.st.cpuid))
	e.st.cpuid = (*[6]C.uint32_t)(rows)
	e.st.ncpuid = C.size_t(len(leaves))
	if first {
		var h C.uc_hook
		return ucErr(C.gre_hook_cpuid(e.st, &h), "add cpuid hook")
	}
	return nil
}

// SeedRandom seeds the random source that arm64's RNDR and RNDRRS read,
// so that the same seed gives the same values.
func (e *Engine) SeedRandom(seed uint64) {
	if e.st != nil {
		e.st.random = C.uint64_t(seed)
	}
}

// SetTSCOffset sets what the virtual time stamp counter adds to Insns.
func (e *Engine) SetTSCOffset(off uint64) {
	if e.st != nil {
		e.st.tsc_offset = C.uint64_t(off)
	}
}

// Block is one executed basic block (a Unicorn translation block).
type Block struct {
	Addr   uint64
	Size   uint32
	ICount uint32
	// SP and LR are the stack pointer and link register (arm64; 0 on
	// x86) as the block starts.
	SP, LR uint64
	// G is the goroutine that ran the block and GoID its id, when
	// FollowGoroutines is on; otherwise G is 0. GoID is -1 when unreadable.
	G    uint64
	GoID int64
}

// Insn is one executed instruction.
type Insn struct {
	Addr uint64
	Size uint32
	_    uint32
}

// Write is one guest store into a watched range, seen before it happens.
type Write struct {
	PC, Addr, Value, Old uint64
	Block                uint64 // start of the writing block
	Insns                uint64 // instruction count at the start of that block
	Size                 uint32
	_                    uint32
}

// TraceBlocks turns recording of executed blocks on (capacity > 0) or off.
func (e *Engine) TraceBlocks(capacity int) error {
	if err := e.check(); err != nil {
		return err
	}
	if capacity <= 0 {
		e.st.trace_blocks = 0
		C.gre_ring_free(&e.st.blocks)
		return nil
	}
	if C.gre_ring_alloc(&e.st.blocks, C.size_t(capacity), C.size_t(unsafe.Sizeof(Block{}))) != 0 {
		return fmt.Errorf("unicorn: out of memory for a block ring of %d", capacity)
	}
	e.st.trace_blocks = 1
	return nil
}

// FollowGoroutines makes every block record name the goroutine running:
// g is in register gReg if gReg >= 0, else in the word at thread pointer
// (register tpReg) + tlsOff; its id is the word at g + goidOff, read
// when g changes.
func (e *Engine) FollowGoroutines(gReg, tpReg int, tlsOff int64, goidOff uint64) error {
	if err := e.check(); err != nil {
		return err
	}
	C.gre_follow_g(e.st, C.int(gReg), C.int(tpReg), C.int64_t(tlsOff), C.uint64_t(goidOff))
	return nil
}

// MaxTraceRegs is the most registers TraceInsns records per instruction.
const MaxTraceRegs = C.GRE_MAX_TRACE_REGS

// TraceInsns turns recording of every executed instruction on (capacity >
// 0) or off. With regs, each record also holds those 64-bit registers'
// values before the instruction ran. Turning it on adds a per-instruction
// C hook, which slows execution; add it before the first Start (later,
// the whole translation cache must be flushed).
func (e *Engine) TraceInsns(capacity int, regs []int) error {
	if err := e.check(); err != nil {
		return err
	}
	if capacity <= 0 {
		e.st.trace_insns = 0
		return nil
	}
	if len(regs) > MaxTraceRegs {
		return fmt.Errorf("unicorn: %d registers to trace (max %d)", len(regs), MaxTraceRegs)
	}
	if C.gre_ring_alloc(&e.st.insns_ring, C.size_t(capacity), C.size_t(unsafe.Sizeof(Insn{}))) != 0 {
		return fmt.Errorf("unicorn: out of memory for an instruction ring of %d", capacity)
	}
	e.st.nregs = 0
	if len(regs) > 0 {
		if C.gre_ring_alloc(&e.st.regs_ring, C.size_t(capacity*len(regs)), 8) != 0 {
			return fmt.Errorf("unicorn: out of memory for a register ring of %d", capacity*len(regs))
		}
		for i, r := range regs {
			e.st.regids[i] = C.int(r)
		}
		e.st.nregs = C.int(len(regs))
	}
	e.st.trace_insns = 1
	if e.insn == 0 {
		if err := ucErr(C.gre_hook_insns(e.st, &e.insn), "add instruction hook"); err != nil {
			return err
		}
		return e.flushIfStarted()
	}
	return nil
}

// Watch records every guest store into [begin, end) in the write ring,
// which is allocated with capacity entries on first use.
func (e *Engine) Watch(begin, end uint64, capacity int) error {
	if err := e.check(); err != nil {
		return err
	}
	if end <= begin {
		return fmt.Errorf("unicorn: empty watch range [%#x, %#x)", begin, end)
	}
	if e.st.writes.buf == nil {
		if capacity < 16 {
			capacity = 16
		}
		if C.gre_ring_alloc(&e.st.writes, C.size_t(capacity), C.size_t(unsafe.Sizeof(Write{}))) != 0 {
			return fmt.Errorf("unicorn: out of memory for a write ring of %d", capacity)
		}
	}
	key := [2]uint64{begin, end}
	if e.watch[key] {
		return nil
	}
	if err := ucErr(C.gre_hook_watch(e.st, C.uint64_t(begin), C.uint64_t(end)), "watch [%#x, %#x)", begin, end); err != nil {
		return err
	}
	e.watch[key] = true
	return e.flushIfStarted()
}

// WatchStop is a guest range whose reads, writes or both stop a run: a
// debugger's hardware watchpoint.
type WatchStop struct {
	Begin, End  uint64 // [Begin, End)
	Read, Write bool
}

// WatchHit is an access to a stop watch.
type WatchHit struct {
	PC    uint64 // the accessing instruction
	Addr  uint64 // the first watched byte it accessed
	Size  int    // how many watched bytes it accessed from Addr
	Write bool   // a store (else a load)
	// Block is where the block holding the instruction starts, and
	// BlockInsns the instruction count (Insns) when it started.
	Block, BlockInsns uint64
}

// MaxWatchStops is how many stop watches SetWatchStops takes.
const MaxWatchStops = C.GRE_MAX_STOP_WATCHES

// SetWatchStops replaces the stop watches. A run stops at the end of the
// block that makes the first access to one (Exit.Watches says which
// instructions made the accesses). The first watch of each kind adds a memory hook
// that stays, and slows every access of that kind from then on.
func (e *Engine) SetWatchStops(ws []WatchStop) error {
	if err := e.check(); err != nil {
		return err
	}
	if len(ws) > MaxWatchStops {
		return fmt.Errorf("unicorn: %d watches (at most %d)", len(ws), MaxWatchStops)
	}
	if len(ws) == 0 && e.st.nstop_watches == 0 {
		return nil
	}
	cw := make([]C.gre_watch, len(ws)+1) // +1: never empty, for &cw[0]
	for i, w := range ws {
		if w.End <= w.Begin || (!w.Read && !w.Write) {
			return fmt.Errorf("unicorn: empty watch [%#x, %#x)", w.Begin, w.End)
		}
		cw[i].begin, cw[i].end = C.uint64_t(w.Begin), C.uint64_t(w.End)
		if w.Read {
			cw[i].kinds |= C.GRE_WATCH_READ
		}
		if w.Write {
			cw[i].kinds |= C.GRE_WATCH_WRITE
		}
	}
	var added C.int
	if err := ucErr(C.gre_set_stop_watches(e.st, &cw[0], C.int(len(ws)), &added), "set %d watches", len(ws)); err != nil {
		return err
	}
	if added != 0 {
		return e.flushIfStarted()
	}
	return nil
}

// DrainBlocks passes the recorded blocks to fn and empties the ring. The
// slice is only valid during fn.
func (e *Engine) DrainBlocks(fn func([]Block)) {
	drain[Block](e, &e.st.blocks, fn)
}

// DrainInsns passes the recorded instructions to fn and empties the ring;
// with register tracing, regs holds len(regs)/len(insns) values per
// instruction. The slices are only valid during fn.
func (e *Engine) DrainInsns(fn func(insns []Insn, regs []uint64)) {
	if e.st == nil || e.st.insns_ring.len == 0 {
		return
	}
	n := int(e.st.insns_ring.len)
	var regs []uint64
	if e.st.nregs > 0 {
		regs = unsafe.Slice((*uint64)(e.st.regs_ring.buf), n*int(e.st.nregs))
	}
	fn(unsafe.Slice((*Insn)(e.st.insns_ring.buf), n), regs)
	e.st.insns_ring.len = 0
}

// DrainWrites passes the recorded writes to fn and empties the ring. It
// returns how many writes were lost since the last drain because the ring
// overflowed within one block.
func (e *Engine) DrainWrites(fn func([]Write)) (dropped uint64) {
	if e.st == nil {
		return 0
	}
	dropped = uint64(e.st.writes.dropped)
	e.st.writes.dropped = 0
	drain[Write](e, &e.st.writes, fn)
	return dropped
}

// The ring records are C structs read as Go ones: their sizes must agree
// (each line fails to compile if a size differs either way).
var (
	_ [unsafe.Sizeof(Block{}) - C.sizeof_gre_block]byte
	_ [C.sizeof_gre_block - unsafe.Sizeof(Block{})]byte
	_ [unsafe.Sizeof(Insn{}) - C.sizeof_gre_insn]byte
	_ [C.sizeof_gre_insn - unsafe.Sizeof(Insn{})]byte
	_ [unsafe.Sizeof(Write{}) - C.sizeof_gre_write]byte
	_ [C.sizeof_gre_write - unsafe.Sizeof(Write{})]byte
)

func drain[T any](e *Engine, r *C.gre_ring, fn func([]T)) {
	if e.st == nil || r.buf == nil || r.len == 0 {
		return
	}
	fn(unsafe.Slice((*T)(r.buf), int(r.len)))
	r.len = 0
}
