package syscalls

import (
	"errors"

	"github.com/gorunemu/gorunemu/arch"
)

// Task is what a handler sees of the calling thread and its process. The
// emulator (package emu) implements it; tests use a fake. Memory accessors
// check page permissions the way copy_from_user/copy_to_user do and fail
// with EFAULT; every other failure the guest should see is an Errno.
type Task interface {
	Arch() *arch.Arch
	// Kernel is the process-wide kernel state (files, signals, ids).
	Kernel() *Kernel
	// Thread is the calling thread's kernel state (signal mask, ...).
	Thread() *Thread
	TID() int
	// TLS returns the calling thread's thread pointer (FS base on amd64,
	// TPIDR_EL0 on arm64); SetTLS sets it, as arch_prctl(ARCH_SET_FS)
	// does. Their errors are emulator errors (the engine failed), not
	// Errnos.
	TLS() (uint64, error)
	SetTLS(addr uint64) error
	// ReadRegs and WriteRegs access the calling thread's registers, named
	// by their Unicorn numbers; ReadVec and WriteVec its 128-bit vector
	// registers (XMM, Q) as low and high halves. Signal frames save and
	// restore them; writing the PC moves the thread. Their errors are
	// emulator errors.
	ReadRegs(regs []arch.Reg, vals []uint64) error
	WriteRegs(regs []arch.Reg, vals []uint64) error
	ReadVec(reg arch.Reg) (lo, hi uint64, err error)
	WriteVec(reg arch.Reg, lo, hi uint64) error

	// ReadMem fills b from guest memory at addr; EFAULT if any byte is not
	// mapped readable.
	ReadMem(addr uint64, b []byte) error
	// WriteMem stores b at addr; EFAULT if any byte is not mapped writable.
	WriteMem(addr uint64, b []byte) error
	// FillMem stores b at addr whatever the page permissions, as the kernel
	// does when it fills a new mapping; EFAULT only if unmapped.
	FillMem(addr uint64, b []byte) error

	// Mmap places and maps an anonymous region; the handler has validated
	// and decoded the arguments. EEXIST for MapNoReplace over a mapping,
	// ENOMEM when there is no room or a limit is reached.
	Mmap(r MapRequest) (uint64, error)
	// Munmap removes whole pages of [addr, addr+length); unmapped pages in
	// the range are not an error.
	Munmap(addr, length uint64) error
	// Mprotect changes permissions; ENOMEM if part of the range is unmapped.
	Mprotect(addr, length uint64, prot Prot) error
	// DiscardMem makes pages of [addr, addr+length) read as zero again
	// (MADV_DONTNEED on private anonymous memory); ENOMEM if unmapped.
	DiscardMem(addr, length uint64) error
	// Brk moves the program break if it can and returns the current one.
	Brk(addr uint64) uint64
	// Mappings lists the address space in order (for /proc/self/maps).
	Mappings() []Mapping

	// Clone starts a new thread, in this process or (CloneRequest.Process)
	// as the first of a new one, and returns its tid, which for a new
	// process is its pid. The handler has validated flags and prepared the
	// child's Thread.
	Clone(r CloneRequest) (tid int, err error)
	// Exec replaces the calling thread's process image with the
	// executable in r (execve after its point of no return): the thread
	// is gone when it returns nil, and a new main thread with r.Thread
	// starts at the entry point with the same tid. It returns the new
	// auxiliary vector. ENOEXEC (or another Errno) if the image cannot be
	// run; the caller then goes on.
	Exec(r ExecRequest) (auxv []byte, err error)
	// ExitThread ends the calling thread; ExitGroup ends its process with
	// an exit code; KillProcess ends process pid (the caller's or another)
	// as killed by signal sig.
	ExitThread(code int)
	ExitGroup(code int)
	KillProcess(pid, sig int)
	// FutexWait blocks the thread on the futex word at addr if it still
	// holds val: it returns ErrBlocked, and the emulator completes the call
	// with 0 when FutexWake picks it or -ETIMEDOUT at deadline (virtual
	// monotonic ns, or NoDeadline). EAGAIN if the word differs.
	FutexWait(addr uint64, val, mask uint32, deadline int64) (uint64, error)
	// FutexWake wakes up to n threads waiting on addr whose mask
	// intersects mask, in FIFO order, and returns how many it woke.
	FutexWake(addr uint64, mask uint32, n int) int
	// Sleep blocks the thread until deadline (virtual monotonic ns): it
	// returns ErrBlocked and the call completes with 0.
	Sleep(deadline int64) (uint64, error)
	// Block parks the calling thread on a kernel object (an epoll
	// instance, a pipe, an eventfd) until Notify(key) or deadline (virtual
	// monotonic ns, or NoDeadline), and returns ErrBlocked. When the thread
	// runs again the emulator dispatches the same syscall with the same
	// arguments again, and Restarted tells the handler why, so it can
	// collect what is ready or report the timeout. Keys are chosen by the
	// kernel (see Kernel.objectKey) and never collide with futex words.
	Block(key uint64, deadline int64) (uint64, error)
	// Notify makes every thread blocked on key runnable and returns how
	// many there were.
	Notify(key uint64) int
	// Restarted reports whether this call is a restart after Block, and
	// whether the deadline passed (rather than a Notify).
	Restarted() (restarted, timedOut bool)
	// Interrupt ends the syscall thread tid is blocked in, if it is, for
	// a signal now pending on it: the emulator asks Kernel.Interrupted
	// whether the call restarts or returns. Its error is an emulator
	// error.
	Interrupt(tid int) error
	// Yield lets the next runnable thread run after this call returns.
	Yield()
	// Now is the virtual monotonic clock in ns since boot.
	Now() int64
}

// ErrBlocked is returned by a handler whose thread now waits. Dispatch
// leaves the result register alone; the emulator sets it when the thread
// wakes.
var ErrBlocked = errors.New("syscalls: thread blocked")

// NoDeadline means wait without a timeout.
const NoDeadline int64 = -1

// Prot is a set of Linux page protections (PROT_* in asm-generic/mman-common.h).
type Prot uint32

// Page protections.
const (
	PROT_NONE  Prot = 0x0
	PROT_READ  Prot = 0x1
	PROT_WRITE Prot = 0x2
	PROT_EXEC  Prot = 0x4
)

// MapMode says how a mapping request treats its address.
type MapMode int

// Map modes, from mmap's flags.
const (
	// MapHint uses Addr if the range is free, else searches (no MAP_FIXED).
	MapHint MapMode = iota
	// MapFixed replaces whatever is mapped at Addr (MAP_FIXED).
	MapFixed
	// MapNoReplace maps at Addr or fails with EEXIST (MAP_FIXED_NOREPLACE).
	MapNoReplace
)

// MapRequest is a decoded anonymous mmap.
// Mmap has checked its arguments as Linux does: a Task may rely on them.
type MapRequest struct {
	// Addr is page aligned, at least MmapMinAddr and with Addr+Length at
	// most the task size for MapFixed and MapNoReplace; a hint (0 for
	// none) for MapHint.
	Addr   uint64
	Length uint64 // page aligned, > 0
	Prot   Prot
	Mode   MapMode
	Name   string // shown in /proc/self/maps, e.g. "[stack]" or a PR_SET_VMA name
	Offset uint64 // the file offset of Addr, for a mapping of a file
	// Filled says Mmap will write a file's data into the new mapping:
	// its host memory is used even if the guest may not touch it.
	Filled bool
}

// Mapping is one region of the address space.
type Mapping struct {
	Start, End uint64 // [Start, End)
	Prot       Prot
	Name       string // file path, "[heap]", "[stack]", or ""
	Offset     uint64 // file offset of Start for file-backed segments
}

// CloneRequest is a decoded clone(2) of a thread.
type CloneRequest struct {
	// Stack is the child's stack pointer (0: same as the parent's).
	Stack uint64
	// SetTLS makes the child's thread pointer (FS base on amd64,
	// TPIDR_EL0 on arm64) TLS.
	SetTLS bool
	TLS    uint64
	// Thread is the child's kernel state, prepared by the handler.
	Thread *Thread
	// Process, if set, makes the child the first thread of a new process
	// with this kernel state (clone without CLONE_THREAD). ShareVM says it
	// shares the caller's address space (CLONE_VM, as vfork does);
	// without it the child gets a copy (fork).
	Process *Kernel
	ShareVM bool
}

// ExecRequest is a decoded execve(2) whose file was found and may be
// executed.
type ExecRequest struct {
	// Path is the file as the guest names it, absolute (/proc/self/exe).
	Path string
	// Image is the whole file.
	Image []byte
	// Argv and Envp are the new program's arguments and environment.
	Argv, Envp []string
	// Thread is the kernel state of the new main thread.
	Thread *Thread
}
