package syscalls

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// Call is the record of one dispatched syscall.
type Call struct {
	Nr   int
	Name string // Linux name, or "syscall_<nr>"
	Args Args
	// Ret is the value for the result register: the result, or -errno.
	Ret uint64
	// Errno is the error the guest sees, 0 on success.
	Errno Errno
	// Blocked means the handler returned ErrBlocked: the thread waits and
	// the emulator sets the result register when it wakes.
	Blocked bool
	// Unimplemented means the arch's table has no entry: the guest gets
	// -ENOSYS, and the emulator records an event (or stops, in strict mode).
	Unimplemented bool
	// Note is what a trace should say about the call beyond its result,
	// e.g. "SIGURG to tid 4243 pending for its handler".
	Note string
	// Entry is the table row that served the call (nil when none did):
	// how a trace formats it.
	Entry *Entry
}

// PanicError is a handler panic, recovered by Dispatch: an emulator bug.
type PanicError struct {
	Syscall string
	Value   any
	Stack   []byte
}

// Error names the syscall and the panic value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("syscalls: %s: handler panic: %v", e.Syscall, e.Value)
}

// Dispatch runs syscall nr for the thread t and returns its record. This is
// the one place where an Errno from a handler becomes -errno in Call.Ret.
// The error is non-nil only for an emulator gap or bug: a handler error
// other than an Errno or ErrBlocked (wrapped as "syscalls: <name>: ..."), a
// handler panic (a *PanicError), or an arch without a table. A number
// without an entry is not an error: the guest gets -ENOSYS and the Call is
// marked Unimplemented.
func (k *Kernel) Dispatch(t Task, nr int, a Args) (c Call, err error) {
	ar := t.Arch()
	c = Call{Nr: nr, Name: Name(ar, nr), Args: a}
	table := TableFor(ar)
	if table == nil {
		return c, fmt.Errorf("syscalls: %s: no syscall table for arch %v", c.Name, ar)
	}
	if t.Kernel() != k {
		return c, fmt.Errorf("syscalls: %s: task belongs to another kernel", c.Name)
	}
	k.registerThread(t.TID(), t.Thread())

	e, ok := table[nr]
	if !ok {
		c.Unimplemented = true
		c.Errno = ENOSYS
		c.Ret = ENOSYS.ret()
		c.Note = c.Name + " is not implemented"
		return c, nil
	}

	c.Entry = &e
	k.cur, k.caller = &c, k
	defer func() {
		k.cur, k.caller = nil, nil
		if r := recover(); r != nil {
			err = &PanicError{Syscall: c.Name, Value: r, Stack: debug.Stack()}
		}
	}()
	ret, herr := e.Fn(t, a)
	if e.Support == Stubbed || e.Support == Unsupported {
		k.notef("%s", e.Note)
	}
	var errno Errno
	switch {
	case herr == nil:
		c.Ret = ret
	case errors.Is(herr, ErrBlocked):
		c.Blocked = true
	case errors.As(herr, &errno):
		if errno <= 0 || errno > maxErrno {
			return c, fmt.Errorf("syscalls: %s: handler returned errno %d", c.Name, int(errno))
		}
		c.Errno = errno
		c.Ret = errno.ret()
	default:
		return c, fmt.Errorf("syscalls: %s: %w", c.Name, herr)
	}
	return c, nil
}

// gapf returns an emulator-gap error: something Linux supports that
// gorunemu does not, which stops the run rather than lie to the guest.
func gapf(format string, args ...any) error {
	return &GapError{What: fmt.Sprintf(format, args...)}
}

// GapError is a request Linux would serve that gorunemu does not emulate.
// Dispatch returns it wrapped with the syscall name.
type GapError struct {
	What string
}

// Error says what is not emulated.
func (e *GapError) Error() string { return e.What + " is not emulated" }
