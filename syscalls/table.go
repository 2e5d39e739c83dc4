package syscalls

import (
	"strconv"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/syscalls/amd64"
	"github.com/gorunemu/gorunemu/syscalls/arm64"
)

// Handler implements one syscall. It returns the result, an Errno the
// guest should see, ErrBlocked if the thread now waits, or any other error
// for a gap or bug in the emulator.
type Handler func(t Task, a Args) (uint64, error)

// Support says how completely an entry implements its syscall.
type Support int

// Support levels.
const (
	// Supported: Linux semantics for everything the guest can ask.
	Supported Support = iota
	// PartiallySupported: Linux semantics for the common cases; Note says
	// what is missing, and the handler returns an emulator error (or a
	// documented errno) for the rest.
	PartiallySupported
	// Stubbed: always returns a fixed value and has no effect.
	Stubbed
	// Unsupported: always fails with a fixed errno.
	Unsupported
)

// String returns "supported", "partial", "stub" or "unsupported".
func (s Support) String() string {
	switch s {
	case Supported:
		return "supported"
	case PartiallySupported:
		return "partial"
	case Stubbed:
		return "stub"
	case Unsupported:
		return "unsupported"
	}
	return "support(" + strconv.Itoa(int(s)) + ")"
}

// Entry is one row of an arch's syscall table.
type Entry struct {
	// Name is the Linux name ("openat"), the same as the generated name of
	// the entry's number.
	Name string
	Fn   Handler
	// Args says how a trace shows each argument; a syscall shows as many
	// arguments as it has formats.
	Args []ArgFmt
	// Ret says how a trace shows a successful result (Int by default).
	Ret     ArgFmt
	Support Support
	// Note explains a partial implementation, a stub or a failure; for
	// Stubbed and Unsupported entries Dispatch copies it into each Call.
	Note string
}

// Handled is a fully supported entry.
func Handled(name string, fn Handler, args ...ArgFmt) Entry {
	return Entry{Name: name, Fn: fn, Args: args, Support: Supported}
}

// Partial is an entry whose handler covers part of the syscall; note says
// which part.
func Partial(name string, fn Handler, note string, args ...ArgFmt) Entry {
	return Entry{Name: name, Fn: fn, Args: args, Support: PartiallySupported, Note: note}
}

// Stub is an entry that returns ret and does nothing; note says why that
// is good enough.
func Stub(name string, ret uint64, note string, args ...ArgFmt) Entry {
	fn := func(Task, Args) (uint64, error) { return ret, nil }
	return Entry{Name: name, Fn: fn, Args: args, Support: Stubbed, Note: note}
}

// Fail is an entry that always fails with errno; note says why.
func Fail(name string, errno Errno, note string, args ...ArgFmt) Entry {
	fn := func(Task, Args) (uint64, error) { return 0, errno }
	return Entry{Name: name, Fn: fn, Args: args, Support: Unsupported, Note: note}
}

// RetHex returns e showing its result in hex (addresses: mmap, brk).
func (e Entry) RetHex() Entry {
	e.Ret = Hex
	return e
}

// RetOctal returns e showing its result in octal (umask).
func (e Entry) RetOctal() Entry {
	e.Ret = Octal
	return e
}

// TableFor returns the syscall table of a guest arch, keyed by number, or
// nil for an arch gorunemu does not emulate. The table is shared: do not
// modify it.
func TableFor(a *arch.Arch) map[int]Entry {
	if a == nil {
		return nil
	}
	switch a.Name {
	case "amd64":
		return amd64Table
	case "arm64":
		return arm64Table
	}
	return nil
}

// Lookup returns the table entry of syscall nr on arch a.
func Lookup(a *arch.Arch, nr int) (Entry, bool) {
	e, ok := TableFor(a)[nr]
	return e, ok
}

// namesFor returns the generated number→name list of a guest arch.
func namesFor(a *arch.Arch) []string {
	if a == nil {
		return nil
	}
	switch a.Name {
	case "amd64":
		return amd64.Names[:]
	case "arm64":
		return arm64.Names[:]
	}
	return nil
}

// Name returns the Linux name of syscall nr on arch a, whether or not the
// table handles it, or "syscall_<nr>" for a number Linux does not define.
func Name(a *arch.Arch, nr int) string {
	names := namesFor(a)
	if nr >= 0 && nr < len(names) && names[nr] != "" {
		return names[nr]
	}
	return "syscall_" + strconv.Itoa(nr)
}

// Number returns the number of the syscall called name on arch a.
func Number(a *arch.Arch, name string) (int, bool) {
	for nr, n := range namesFor(a) {
		if n == name && n != "" {
			return nr, true
		}
	}
	return 0, false
}
