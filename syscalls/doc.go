// Package syscalls is gorunemu's Linux syscall layer: for each guest arch a
// table from syscall number to handler, the handlers themselves, and the
// kernel state they work on (a Kernel per process, a Thread per thread):
// signal dispositions and masks, descriptors, resource limits, and a small
// read-only virtual filesystem with the procfs, sysfs and device files the
// Go runtime reads. Handlers see the emulated thread only through the Task
// interface (task.go), which package emu implements; tests use a fake.
//
// # Numbers and names
//
// Syscall numbers are guest numbers, generated per arch into
// syscalls/amd64 and syscalls/arm64 (see generate.go), never the host's
// syscall.SYS_* values. Errno values and signal numbers are generated into
// zerrors.go; the other ABI constants are in abi.go in Linux spelling, and
// what differs between the arches is in archabi.go.
//
// # Two error channels
//
// A handler returns (result, error). An error the guest should see is an
// Errno (ENOENT, EINVAL, ...): Kernel.Dispatch turns it into -errno in
// Call.Ret, and that is the only place where that happens. ErrBlocked means
// the thread now waits (futex, sleep) and the emulator completes the call
// when it wakes. Any other error means gorunemu has a gap or a bug — a
// request Linux would serve but gorunemu does not emulate is a *GapError —
// and Dispatch returns it wrapped with the syscall name ("syscalls: fcntl:
// fcntl(5): file locks is not emulated"); the emulator stops rather than
// lie to the guest. A handler panic comes back as a *PanicError. A number
// with no table entry is not an error: the guest gets -ENOSYS and the Call
// is marked Unimplemented.
//
// # Adding a syscall
//
//  1. Write the handler in the file of its family (mm.go, signal.go,
//     thread.go, time.go, fs.go, proc.go) as
//     func Xxx(t Task, a Args) (uint64, error), with the doc comment
//     "Xxx implements xxx(2)." followed by any deviation from Linux.
//     Validate arguments in the order Linux does, return Errno values for
//     what the guest should see, and gapf(...) for what is not emulated.
//     Put new ABI constants in abi.go with the header they come from.
//  2. Add a row to amd64_table.go and arm64_table.go (if the arch has the
//     call), in number order, with a constructor: Handled, Partial (with a
//     note), Stub or Fail, and one ArgFmt per argument for traces.
//  3. Add table-driven cases to the tests for both arches: success and the
//     errors Linux returns. The table tests check that the row's name is
//     the generated name of its number and that both arches agree.
package syscalls
