package trace

import "fmt"

// Kind says what an Event is.
type Kind uint8

// Event kinds. Their text names are the third field of a text line.
const (
	// Milestone: the first entry into a function of the startup path.
	Milestone Kind = iota + 1
	// Call: a function entry; Return: control came back to a caller.
	Call
	Return
	// Syscall: a system call and its result.
	Syscall
	// Insn: one executed instruction.
	Insn
	// Write: a store into a watched range.
	Write
	// ThreadStart and ThreadExit: a thread's life.
	ThreadStart
	ThreadExit
	// Stop: how the run ended (always the last event).
	Stop
	// Signal: a fault delivered to the guest's signal handler.
	Signal
	// Switch: the thread runs another goroutine from here on (calls
	// traced with goroutines followed).
	Switch
)

var kindNames = [...]string{
	Milestone:   "milestone",
	Call:        "call",
	Return:      "return",
	Syscall:     "syscall",
	Insn:        "insn",
	Write:       "write",
	ThreadStart: "thread",
	ThreadExit:  "exit",
	Stop:        "stop",
	Signal:      "signal",
	Switch:      "switch",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Loc is a symbolized code address.
type Loc struct {
	PC     uint64
	Func   string // "" when the address is in no known function
	Offset uint64 // from the function's entry
	File   string // source file from .gopclntab, "" if unknown
	Line   int
	// Object is the base name of the shared object holding PC when it is
	// not the executable ("libc.so.6"); Func is then its ELF symbol, and
	// without one Offset is the address in the object's file.
	Object string
	// Inlined lists the functions inlined at PC, innermost first, when the
	// binary records them; Func is then the outermost (physical) function.
	Inlined []Frame
}

// Frame is one inlined call.
type Frame struct {
	Func string
	File string
	Line int
}

// Sym formats l as "func+0xoff", "func" at offset 0, or the bare address;
// in a shared object, "func+0xoff (libc.so.6)" or "libc.so.6+0xaddr".
func (l Loc) Sym() string {
	switch {
	case l.Object != "" && l.Func == "":
		return fmt.Sprintf("%s+%#x", l.Object, l.Offset)
	case l.Object != "":
		return l.Func + l.objOff() + " (" + l.Object + ")"
	case l.Func == "":
		return fmt.Sprintf("%#x", l.PC)
	case l.Offset == 0:
		return l.Func
	}
	return fmt.Sprintf("%s+%#x", l.Func, l.Offset)
}

// FuncName is the function's name, with its object for a shared object's
// ("__brk (libc.so.6)").
func (l Loc) FuncName() string {
	if l.Object != "" && l.Func != "" {
		return l.Func + " (" + l.Object + ")"
	}
	return l.Func
}

func (l Loc) objOff() string {
	if l.Offset == 0 {
		return ""
	}
	return fmt.Sprintf("+%#x", l.Offset)
}

// Pos formats l's source position as "file:line", or "".
func (l Loc) Pos() string {
	if l.File == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", l.File, l.Line)
}

// Reg is a register and the value an instruction left in it.
type Reg struct {
	Name  string
	Value uint64
}

// Event is one thing that happened in a run. Which fields are set depends
// on Kind; the package documentation lists them. Sinks must not keep an
// Event or its slices after Emit returns: the producer reuses them.
type Event struct {
	Kind Kind
	// Insns is the number of instructions the process had executed when
	// the event happened: the trace's clock.
	Insns uint64
	// ThreadInsns is the same count for the event's thread alone.
	ThreadInsns uint64
	TID         int
	// At is where the thread was: the function entered (Milestone, Call),
	// returned to (Return), the syscall instruction (Syscall), the
	// instruction (Insn) or the storing instruction (Write).
	At Loc
	// Depth is the call depth of Call and Return events (0 outermost),
	// and of the goroutine's stack at a Switch.
	Depth int
	// G is the goroutine (its runtime.g) of a Call, Return or Switch when
	// goroutines are followed, else 0; GoID is its id (-1 unknown; g0 and
	// gsignal have 0).
	G    uint64
	GoID int64

	// Name is the syscall's name (Syscall), the function returned from
	// (Return), the signal's (Signal) or the goroutine's ("goroutine 7",
	// "g0", "gsignal": Switch).
	Name string
	// Args are the syscall's arguments and Result its outcome, formatted
	// strace-style ("= 3", "= -1 ENOENT (no such file or directory)").
	Args   []string
	Result string
	// Caller is the function that called the syscall's wrapper.
	Caller Loc
	// Detail is free text: what a milestone found, a syscall's note, a
	// thread's start routine, the stop reason, why a Return's frame went
	// without returning ("tail call to f", "unwound: ...").
	Detail string

	// Bytes and Asm are an instruction's encoding and disassembly; Regs the
	// registers it changed (with --regs).
	Bytes []byte
	Asm   string
	Regs  []Reg

	// Addr, Size, Old and New describe a watched store; Target names the
	// stored-to location ("runtime.g0+0x8").
	Addr   uint64
	Size   int
	Old    uint64
	New    uint64
	Target string

	// Parent is the thread that created a ThreadStart's thread.
	Parent int
	// Code is a ThreadExit's or a Stop's exit code.
	Code int
}

// Header describes the traced program; sinks write it first.
type Header struct {
	Binary    string // path as given
	Arch      string // GOARCH spelling
	GoVersion string // "go1.26.8", or "" for a non-Go binary
	Args      []string
}

// Sink receives a run's events in order.
type Sink interface {
	// Begin is called once, before any event.
	Begin(h Header) error
	// Emit writes one event.
	Emit(e *Event) error
	// Close finishes the output (it does not close the underlying writer).
	Close() error
}
