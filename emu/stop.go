package emu

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu/unicorn"
	"github.com/gorunemu/gorunemu/syscalls"
)

// StopKind says why a run ended.
type StopKind int

// Why a run ended.
const (
	// StopUntil: a thread reached the address Run was asked to stop at.
	StopUntil StopKind = iota + 1
	// StopExited: the process exited (exit_group, or its last thread's exit).
	StopExited
	// StopKilled: the process ended by a signal it did not handle.
	StopKilled
	// StopFault: the guest made an access or executed an instruction that
	// Linux would answer with a fatal signal.
	StopFault
	// StopInsnLimit: the guest executed Config.MaxInsns instructions.
	StopInsnLimit
	// StopMemLimit: the guest tried to map more than Config.MaxMem bytes.
	StopMemLimit
	// StopThreadLimit: the guest tried to run more than Config.MaxThreads threads.
	StopThreadLimit
	// StopDeadlock: every live thread waits and no timeout will wake one.
	StopDeadlock
	// StopCanceled: the context passed to Run was canceled.
	StopCanceled
	// StopTimeout: the context passed to Run reached its deadline.
	StopTimeout
	// StopUnimplemented: with Config.Strict, the guest made a syscall
	// gorunemu does not implement.
	StopUnimplemented
	// StopStepped: Step ran its instruction.
	StopStepped
	// StopTarget: RunTo reached its position.
	StopTarget
	// StopWatch: a thread accessed a watchpoint's memory (see Watch).
	StopWatch
	// StopPause: the run passed Until.Pause.
	StopPause
)

var stopNames = map[StopKind]string{
	StopUntil:         "reached",
	StopStepped:       "stepped",
	StopTarget:        "reached position",
	StopWatch:         "watchpoint",
	StopPause:         "paused",
	StopExited:        "exited",
	StopKilled:        "killed",
	StopFault:         "fault",
	StopInsnLimit:     "instruction limit",
	StopMemLimit:      "memory limit",
	StopThreadLimit:   "thread limit",
	StopDeadlock:      "deadlock",
	StopCanceled:      "canceled",
	StopTimeout:       "timeout",
	StopUnimplemented: "unimplemented syscall",
}

func (k StopKind) String() string {
	if s, ok := stopNames[k]; ok {
		return s
	}
	return "StopKind(" + strconv.Itoa(int(k)) + ")"
}

// StopReason is how and where a run ended.
type StopReason struct {
	Kind StopKind
	// TID is the thread that stopped (for StopUntil, StopFault and the limits).
	TID int
	// PC is where that thread was, and Symbol its function and offset
	// ("runtime.main+0x4c"), or "" when unknown.
	PC     uint64
	Symbol string
	// Code is the exit code (StopExited); Signal the signal (StopKilled).
	Code   int
	Signal int
	// File and Line are PC's source position, when known.
	File string
	Line int
	// Backtrace lists the callers of PC's function, innermost first
	// ("runtime.main+0x2a"), unwound with the binary's pcsp tables.
	Backtrace []string
	// Fault describes a StopFault.
	Fault *Fault
	// Limit is the limit a StopInsnLimit, StopMemLimit or StopThreadLimit
	// reached, and Syscall the syscall a StopUnimplemented made.
	Limit   uint64
	Syscall string
	// Insns is the number of instructions executed by all threads.
	Insns uint64
	// Watches are the watchpoint accesses of the block that ran last, in
	// order: a StopWatch's, or those made before another stop in that
	// block. A debugger stops at the first.
	Watches []WatchHit
	// JobStopped says a StopDeadlock is a stop signal's doing: every
	// process is stopped (SIGSTOP, SIGTSTP, ...) and none is left to send
	// SIGCONT. Linux would leave them stopped for ever.
	JobStopped bool
}

// Fault is a guest access or instruction Linux would kill the process for.
type Fault struct {
	Access   string // "read", "write", "fetch", "invalid instruction", "exception"
	Addr     uint64 // accessed address (memory faults)
	Size     int
	Unmapped bool // nothing mapped there (else: mapped without permission)
	Intno    uint32
	// Signal is what Linux would deliver for the fault (SIGSEGV, SIGILL, ...).
	Signal int
}

func newFault(a *arch.Arch, f *unicorn.Fault) *Fault {
	sig := arch.SIGSEGV
	switch f.Kind {
	case unicorn.FaultInvalidInsn:
		sig = arch.SIGILL
	case unicorn.FaultException:
		sig = a.ExceptionSignal(f.Intno)
	}
	return &Fault{Access: f.Kind.String(), Addr: f.Addr, Size: f.Size, Unmapped: f.Unmapped, Intno: f.Intno, Signal: sig}
}

// archFaultCodes are the si_code values that differ by arch. x86's #UD is
// an illegal operand, arm64's undefined instruction an illegal opcode
// (do_undefinstr); x86's INT3 comes from the kernel (do_int3_user),
// arm64's BRK is a breakpoint (do_brk_handler).
var archFaultCodes = map[string]map[int]int{
	"amd64": {arch.SIGILL: syscalls.ILL_ILLOPN, arch.SIGTRAP: syscalls.SI_KERNEL},
	"arm64": {arch.SIGILL: syscalls.ILL_ILLOPC, arch.SIGTRAP: syscalls.TRAP_BRKPT},
}

// sigInfo is the siginfo Linux reports for f at pc (arch/x86/mm/fault.c,
// arch/x86/kernel/traps.c, arch/arm64/mm/fault.c, arch/arm64/kernel/traps.c).
func (f *Fault) sigInfo(a *arch.Arch, pc uint64) syscalls.SigInfo {
	info := syscalls.SigInfo{Signo: f.Signal, Addr: pc, Trapno: uint64(f.Intno)}
	switch f.Access {
	case "read", "write", "fetch":
		info.Code, info.Addr, info.Trapno = syscalls.SEGV_ACCERR, f.Addr, 14 // #PF
		if f.Unmapped {
			info.Code = syscalls.SEGV_MAPERR
		}
		// The x86 page-fault error code: present, write, user, fetch.
		info.Err = 1 << 2
		if !f.Unmapped {
			info.Err |= 1 << 0
		}
		switch f.Access {
		case "write":
			info.Err |= 1 << 1
		case "fetch":
			info.Err |= 1 << 4
		}
		return info
	case "invalid instruction":
		info.Trapno = 6 // #UD
	}
	switch f.Signal {
	case arch.SIGILL, arch.SIGTRAP:
		codes, ok := archFaultCodes[a.Name]
		if !ok {
			panic("emu: no fault codes for arch " + a.Name)
		}
		info.Code = codes[f.Signal]
	case arch.SIGFPE:
		info.Code = syscalls.FPE_INTDIV
	case arch.SIGBUS:
		info.Code = syscalls.BUS_ADRERR
	default:
		info.Code = syscalls.SI_KERNEL
	}
	return info
}

func (f *Fault) String() string {
	switch f.Access {
	case "read", "write", "fetch":
		why := "no permission"
		if f.Unmapped {
			why = "unmapped"
		}
		return fmt.Sprintf("%s of %d bytes at %#x (%s)", f.Access, f.Size, f.Addr, why)
	case "exception":
		what := map[int]string{arch.SIGILL: "undefined instruction", arch.SIGTRAP: "breakpoint trap",
			arch.SIGFPE: "arithmetic exception", arch.SIGBUS: "bus error"}[f.Signal]
		if what == "" {
			what = "CPU exception"
		}
		return fmt.Sprintf("%s (CPU exception %d)", what, f.Intno)
	}
	return f.Access
}

// String is a one-line summary, e.g. "reached main.main (0x4923a0) on
// thread 4242" or "fault: read of 8 bytes at 0x0 (unmapped) at
// main.main+0x12 (0x4923b2) main.go:9 on thread 4242".
func (r *StopReason) String() string {
	var b strings.Builder
	b.WriteString(r.Kind.String())
	switch r.Kind {
	case StopExited:
		fmt.Fprintf(&b, " with code %d", r.Code)
		return b.String()
	case StopKilled:
		fmt.Fprintf(&b, " by signal %d", r.Signal)
		return b.String()
	case StopDeadlock:
		if r.JobStopped {
			b.WriteString(": every process is stopped by a stop signal (SIGSTOP, SIGTSTP, ...) and none is left to continue it")
		}
		return b.String()
	case StopCanceled:
		return b.String()
	case StopFault:
		fmt.Fprintf(&b, ": %s", r.Fault)
	case StopInsnLimit:
		fmt.Fprintf(&b, " of %d instructions reached", r.Limit)
	case StopMemLimit:
		fmt.Fprintf(&b, " of %d bytes reached", r.Limit)
	case StopThreadLimit:
		fmt.Fprintf(&b, " of %d threads reached", r.Limit)
	case StopUnimplemented:
		fmt.Fprintf(&b, " %s", r.Syscall)
	case StopWatch:
		if len(r.Watches) > 0 {
			w := r.Watches[0]
			fmt.Fprintf(&b, ": %s of %d bytes at %#x by %s (%#x) on thread %d", w.access(), w.Size, w.Addr, w.Symbol, w.PC, w.TID)
			return b.String()
		}
	case StopUntil:
		if r.Symbol != "" {
			fmt.Fprintf(&b, " %s (%#x)", r.Symbol, r.PC)
		} else {
			fmt.Fprintf(&b, " %#x", r.PC)
		}
		fmt.Fprintf(&b, " on thread %d", r.TID)
		return b.String()
	}
	switch {
	case r.Symbol != "":
		fmt.Fprintf(&b, " at %s (%#x)", r.Symbol, r.PC)
	case r.PC != 0:
		fmt.Fprintf(&b, " at %#x", r.PC)
	}
	if r.File != "" {
		fmt.Fprintf(&b, " %s:%d", r.File, r.Line)
	}
	if r.TID != 0 {
		fmt.Fprintf(&b, " on thread %d", r.TID)
	}
	return b.String()
}

// Until says where Run stops, besides the process ending.
type Until struct {
	// Symbols, Addrs and Lines stop the run before any thread executes
	// them. A symbol may carry an offset, as traces print them
	// ("runtime.rt0_go+0xbe"); a line stops where its code begins in
	// each function that has some.
	Symbols []string
	Addrs   []uint64
	Lines   []SourceLine
	// Watches stop the run after an access to their memory (StopWatch).
	Watches []Watchpoint
	// Pause, if not zero, stops the run (StopPause) once the family has
	// executed at least this many instructions (Position), wherever the
	// run loop next has control: a syscall, the end of a time slice or of
	// a block. A place to take a snapshot (Process.Snapshot) that costs
	// nothing, where RunTo's exact position costs single steps.
	Pause uint64
	// Step, if not zero, is a thread that waits in a syscall: the run
	// stops (StopStepped) right after its next instruction, once it may
	// run again. A debugger's single step of a thread the kernel holds.
	Step int
}

// WatchKind is which accesses a Watchpoint stops at.
type WatchKind int

// Watchpoint kinds.
const (
	WatchWrite WatchKind = iota + 1
	WatchRead
	WatchAccess // reads and writes
)

// Watchpoint stops a run when a guest instruction reads or writes
// [Addr, Addr+Len), as a debugger's hardware watchpoint does. The
// syscalls' own accesses do not count.
type Watchpoint struct {
	Addr, Len uint64
	Kind      WatchKind
}

// WatchHit is an instruction's access to a watchpoint's memory. The
// stop comes after the rest of its block ran (the engine cannot stop
// inside a block at an access), so the process may be a few
// instructions past it: RunTo(Position) on a replay of the run stops
// right before the access, RunTo(Position+1) right after it.
type WatchHit struct {
	Addr  uint64 // the first watched byte accessed
	Size  int    // how many watched bytes the access covered from Addr
	Write bool   // a store (else a load)
	// PC is the accessing instruction, Symbol its function and offset.
	PC       uint64
	Symbol   string
	TID      int    // the thread that ran it
	Position uint64 // the family's instruction count before it ran
}

func (w *WatchHit) access() string {
	if w.Write {
		return "write"
	}
	return "read"
}

// SourceLine is a position in the source: File matches a path recorded
// in the binary exactly or by its last elements ("main.go").
type SourceLine struct {
	File string
	Line int
}

// UntilSymbol stops at a function's entry, such as "main.main".
func UntilSymbol(name string) Until { return Until{Symbols: []string{name}} }

// UntilAddr stops at an address.
func UntilAddr(addr uint64) Until { return Until{Addrs: []uint64{addr}} }

// UntilExit runs until the process ends.
func UntilExit() Until { return Until{} }

// ParseUntil reads the command line's --until: "exit", a symbol with or
// without an offset ("main.main", "runtime.rt0_go+0xbe"), a source line
// "FILE:LINE", or a hex address "0x...".
func ParseUntil(s string) (Until, error) {
	switch {
	case s == "" || s == "exit":
		return UntilExit(), nil
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		a, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			return Until{}, fmt.Errorf("bad address %q: %w", s, err)
		}
		return UntilAddr(a), nil
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		if n, err := strconv.Atoi(s[i+1:]); err == nil {
			if n <= 0 {
				return Until{}, fmt.Errorf("bad line %q: lines start at 1", s)
			}
			return Until{Lines: []SourceLine{{File: s[:i], Line: n}}}, nil
		}
	}
	return UntilSymbol(s), nil
}
