// Package trace holds gorunemu's trace events, the Sink interface and the
// sinks that write them: text, JSON Lines, Chrome Trace Event (Perfetto)
// and pprof. It also disassembles instructions (golang.org/x/arch). It
// knows nothing of the emulator: package emu produces the events.
//
// # Events
//
// An Event's Kind says which fields mean something:
//
//	Milestone    At (the function entered), Detail (what was found there)
//	Call         At (the function entered), Depth, G, GoID
//	Return       Name (the function returned from), At (where control went), Depth, G, GoID,
//	             Detail (why, when the frame went without returning: a tail call, or unwound)
//	Syscall      Name, Args, Result, At (the syscall instruction), Caller, Detail (notes)
//	Insn         At, Bytes, Asm, Regs (with --regs: registers it changed)
//	Write        At (the storing instruction), Addr, Size, Old, New, Target
//	ThreadStart  TID (the new thread), Parent, At (where it starts), Detail
//	ThreadExit   Code
//	Stop         Detail (the stop reason), Code, At
//	Signal       Name (SIGSEGV, ...), At (the faulting instruction), Detail (the fault and the handler)
//	Switch       Name ("goroutine 7", "g0", "gsignal"), G, GoID, At (where the goroutine runs on),
//	             Depth (of its call stack)
//
// With goroutines followed (G is then set), each goroutine has its own call
// stack and Depth counts within it; a thread's Switch says which goroutine
// its following calls and returns belong to.
//
// Every event has Insns, the process's instruction count when it happened
// (the trace's clock; for calls and instructions, when their block or
// instruction began), ThreadInsns, the same for its thread, and TID.
//
// # Text format
//
// The text format is line oriented and stable; tools may parse it. It
// starts with comment lines (beginning with "#"): the binary, arch and Go
// version, then the guest's argv quoted, then a column legend. Every other
// line is one event:
//
//	INSNS TID KIND REST
//
// INSNS is right-aligned in 12 columns, TID in 5, and KIND is one of the
// kind names below. REST depends on KIND (brackets mark optional parts;
// FUNC+OFF is "runtime.rt0_go+0x14", or "runtime.rt0_go" at offset 0;
// POS is "file:line" and is left out when unknown):
//
//	milestone FUNC [POS][: DETAIL]
//	call      DEPTH INDENT FUNC [POS]
//	return    DEPTH INDENT FUNC -> FUNC+OFF
//	return    DEPTH INDENT FUNC # DETAIL          (the frame went without returning)
//	syscall   NAME(ARG, ...) = RESULT in FUNC|0xPC [from FUNC+OFF] [# NOTE; ...]
//	insn      0xPC FUNC+OFF [POS] BYTES | ASM [; REG=0xVAL ...]
//	write     TARGET SIZE 0xOLD -> 0xNEW by FUNC+OFF [POS]
//	thread    from PARENT at FUNC+OFF[: DETAIL]
//	exit      CODE
//	stop      REASON
//	signal    NAME at FUNC+OFF [POS]: FAULT; handler FUNC+OFF
//	switch    GOROUTINE g=0xG at FUNC+OFF [POS]
//
// POS may end with " [inlined F1 <- F2 ...]" when the address is in code
// inlined into FUNC: F1 is the innermost inlined function (whose source
// POS is), each next one the function it was inlined into, up to FUNC.
//
// DEPTH is right-aligned in 3 columns and INDENT is two spaces per level
// (at most 40 levels). RESULT is strace's: a number, "0x..." for
// addresses, or "-1 ENAME (message)". BYTES are hex pairs separated by
// spaces. TARGET names the stored-to address by variable and offset
// ("runtime.g0+0x8"). The "from FUNC+OFF" of a syscall is the return
// address in the function that called the syscall's wrapper.
//
// # JSON Lines format
//
// The first line is {"event":"header","binary":...,"arch":...,
// "go_version":...,"argv":[...]}. Each following line is an object with
// "event" (the kind name), "insns", "thread_insns", "tid", and, when set:
//
//	"at", "caller"   {"pc":"0x...","func":...,"offset":N,"file":...,"line":N,
//	                  "inlined":[{"func":...,"file":...,"line":N}]}
//	"depth"          call depth (call, return, switch)
//	"g", "goid"      the goroutine (call, return, switch, when followed)
//	"name"           syscall name, or the function returned from
//	"args"           syscall arguments as formatted in text
//	"result"         syscall result as in text
//	"detail"         milestone detail, syscall note, stop reason
//	"bytes", "asm"   instruction bytes (hex string) and disassembly
//	"regs"           [{"name":...,"value":"0x..."}]
//	"addr", "size", "old", "new", "target"   a watched store
//	"parent"         the creating thread (thread)
//	"code"           exit code (exit, stop)
//
// Numbers that are addresses or register values are hex strings.
//
// # Perfetto and pprof
//
// PerfettoSink writes the Trace Event JSON array that ui.perfetto.dev and
// chrome://tracing open: a track per thread, and with goroutines followed
// a track per goroutine as well (in a second process, "goroutines"); a
// slice per call, instants for everything else; one instruction is drawn
// as one microsecond. At a switch, a thread's track closes the slices of
// the goroutine it leaves and reopens those of the one it runs. PprofSink
// charges every instruction to the call stack it ran under and writes a
// pprof profile ("instructions", count) for `go tool pprof`.
package trace
