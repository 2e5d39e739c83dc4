// Package syscalls is gorunemu's Linux syscall layer: for each guest arch a
// table from syscall number to handler, the handlers themselves, and the
// kernel state they work on (a Kernel per process, a Thread per thread):
// signal dispositions and masks, descriptors, pipes, eventfds and epoll
// instances, resource limits, and a small read-only virtual filesystem
// with the procfs, sysfs and device files the Go runtime reads. Handlers
// see the emulated thread only through the Task interface (task.go), which
// package emu implements; tests use a fake.
//
// # Isolation
//
// No guest syscall touches the host except in the three ways Config allows:
//
//   - Files. The guest sees the virtual tree (vfs.go) and, only if
//     Config.FSRoot is set, a read-only view of that host directory as
//     its root filesystem, under the virtual files (hostfs.go). Lookups
//     in the view resolve as if FSRoot were "/": ".." stops there,
//     absolute symlinks start again there, and every component is opened
//     with O_PATH|O_NOFOLLOW relative to its parent's descriptor, so no
//     path ever leads out of it. Only regular files and directories open.
//     Nothing there can be created, written, truncated, renamed, linked,
//     removed or have its mode, owner or times changed: those calls fail
//     as on a read-only mount (EROFS), after the path checks Linux makes
//     first (fswrite.go). What the guest writes goes to the in-memory
//     filesystems of Config.Tmpfs (tmpfs.go), bounded by
//     Config.TmpfsSize, which never reach the host; the host files under
//     them show through read-only. Under the directories of Config.RW
//     the guest changes host files, by one name at a time relative to a
//     directory descriptor, never following a symlink (hostrw.go).
//   - Output. Writes reach the host only through fds 1 and 2, which are
//     pipes to Config.Stdout and Config.Stderr.
//   - Input. With Config.Stdin, fd 0 reads from the host's reader.
//
// Everything else stays inside the emulation: pipes, eventfds, epoll
// instances and sockets are emulated objects, the sockets on a loopback
// network that reaches nothing else (socket.go); signals go only to the
// emulation's own processes (signal.go). A Kernel holds host descriptors
// only for files open under FSRoot, which Close releases.
//
// # Processes
//
// Each emulated process has a Kernel; the Kernels of one emulation share
// a system (the filesystem, the network, file locks, object keys,
// per-user limits and the pid table), as processes share one Linux
// kernel. clone without CLONE_THREAD, fork and vfork make a child Kernel
// from its parent's (Kernel.fork: the descriptor table copied, its open
// file descriptions shared), execve checks the file and has the emulator
// start it (Task.Exec), and the emulator reports a process's end with
// Kernel.Ended, which tells the parent (process.go, pidfd.go).
//
// # Waiting
//
// A call that must wait for a pipe, an eventfd or an epoll instance parks
// its thread with Task.Block on the object's key and is dispatched again
// when another thread's call wakes the object or the deadline passes
// (poll.go). Timeouts are on the virtual clock, so a guest that sleeps on
// a timer (epoll_pwait with a timeout, as the Go runtime's netpoller does)
// lets the emulator jump the clock forward.
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
// the thread now waits: on a futex or in a sleep, and the emulator
// completes the call when it wakes, or on a kernel object (Task.Block),
// and the call is dispatched again. Any other error means gorunemu has a
// gap or a bug — a request Linux would serve but gorunemu does not emulate
// is a *GapError — and Dispatch returns it wrapped with the syscall name
// ("syscalls: fcntl: fcntl(5): file locks is not emulated"); the emulator
// stops rather than lie to the guest. A handler panic comes back as a *PanicError. A number
// with no table entry is not an error: the guest gets -ENOSYS and the Call
// is marked Unimplemented.
//
// # Adding a syscall
//
//  1. Write the handler in the file of its family (mm.go, signal.go,
//     thread.go, time.go, fs.go, rw.go, fswrite.go, tmpfs.go, pipe.go, eventfd.go,
//     epoll.go, socket.go, sockio.go, splice.go, proc.go) as
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
