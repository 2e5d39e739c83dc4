package syscalls

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path"
)

// Fixed identity of the emulated machine and process. They are defaults,
// not measurements: a run is reproducible because they never depend on the
// host. Config fields left zero take these values.
const (
	// DefaultPID is the process id, which is also the main thread's tid.
	DefaultPID = 4242
	// DefaultPPID is the parent's process id.
	DefaultPPID = 4241
	// DefaultHostname is uname's nodename and /etc/hostname.
	DefaultHostname = "gorunemu"
	// DefaultNCPU is the number of CPUs sched_getaffinity reports: the
	// reference machine of shared/reference/linux-startup.md has 2.
	DefaultNCPU = 2
	// DefaultRealtimeBase is CLOCK_REALTIME at virtual time 0:
	// 2024-01-01T00:00:00Z in ns since the Unix epoch.
	DefaultRealtimeBase int64 = 1704067200 * 1e9

	// Release and Version are what uname reports. The release is a real
	// LTS kernel so that version checks in guests take realistic paths;
	// the suffix says who answers.
	Release = "6.1.0-gorunemu"
	Version = "#1 SMP PREEMPT_DYNAMIC gorunemu"
)

// Config is what a Kernel is made from. Zero fields take the defaults above
// (UID and GID default to 0, root).
//
// The guest sees the virtual filesystem built from this Config (vfs.go)
// and, if FSRoot is set, a read-only view of that host directory under it
// (hostfs.go); see "Isolation" in the package doc.
type Config struct {
	// PID and PPID are the process and parent process ids; the emulator
	// must give the main thread tid PID, as Linux does.
	PID, PPID int
	UID, GID  uint32
	Hostname  string
	// NCPU is the number of CPUs the process may run on.
	NCPU int
	// ExePath is the guest path of the executable: /proc/self/exe points
	// there and the process name (comm) is its base name.
	ExePath string
	// Auxv is the raw auxiliary vector, served as /proc/self/auxv.
	Auxv []byte
	// ArgStart, ArgEnd, EnvStart and EnvEnd delimit the argv and envp
	// strings on the initial stack: /proc/self/cmdline and environ read
	// the guest's memory there, as Linux reads mm->arg_start and friends.
	ArgStart, ArgEnd, EnvStart, EnvEnd uint64
	// Seed seeds getrandom and /dev/urandom.
	Seed uint64
	// Stdout and Stderr receive what the guest writes to fds 1 and 2
	// (nil: discarded).
	Stdout, Stderr io.Writer
	// RealtimeBase is CLOCK_REALTIME, in ns since the Unix epoch, when
	// the virtual monotonic clock reads 0.
	RealtimeBase int64
	// FSRoot, if set, is a host directory the guest sees read-only as its
	// root filesystem, under the virtual files, which win: a path the
	// virtual tree does not have resolves inside FSRoot, as if FSRoot were
	// "/" (symlinks and ".." never lead out of it).
	FSRoot string
	// Tmpfs lists absolute guest paths where a writable in-memory tmpfs
	// is mounted (tmpfs.go), over what FSRoot holds there, which shows
	// through read-only; it vanishes with the Kernel.
	Tmpfs []string
	// TmpfsSize bounds the bytes all tmpfs files hold together (0:
	// DefaultTmpfsSize); writes past it fail with ENOSPC.
	TmpfsSize int64
	// RW lists directories under FSRoot (absolute guest paths) whose host
	// files the guest may change (hostrw.go); everywhere else FSRoot is
	// read-only.
	RW []string
	// Binds lists host directories and files the guest sees read-only at
	// guest paths, over FSRoot (bind.go): a dynamically linked program's
	// libraries from a sysroot.
	Binds []BindMount
	// Cwd is the working directory, an absolute guest path (default "/").
	Cwd string
	// Stdin, if set, is what fd 0 reads: the host's standard input, read
	// when the guest reads (the whole emulation waits for it). Nil: fd 0
	// reads like /dev/null.
	Stdin io.Reader
}

func (c *Config) setDefaults() {
	if c.PID == 0 {
		c.PID = DefaultPID
	}
	if c.PPID == 0 {
		c.PPID = DefaultPPID
	}
	if c.Hostname == "" {
		c.Hostname = DefaultHostname
	}
	if c.NCPU <= 0 {
		c.NCPU = DefaultNCPU
	}
	if c.RealtimeBase == 0 {
		c.RealtimeBase = DefaultRealtimeBase
	}
	if c.Stdout == nil {
		c.Stdout = io.Discard
	}
	if c.Stderr == nil {
		c.Stderr = io.Discard
	}
	if c.TmpfsSize <= 0 {
		c.TmpfsSize = DefaultTmpfsSize
	}
}

// sigaction is one signal's disposition, as struct sigaction holds it.
type sigaction struct {
	handler, flags, restorer, mask uint64
}

// Kernel is the kernel state of one emulated process: ids, signal
// dispositions, resource limits, open files, the virtual filesystem and
// the random stream. Everything mutable lives here or in a Thread, so any
// number of emulations can run side by side. A Kernel is used by one
// goroutine at a time: the emulator dispatches syscalls one after another.
type Kernel struct {
	cfg  Config
	comm string // process name: base name of ExePath, at most 15 bytes

	actions [NSIG]sigaction // index sig-1
	// sigtramp is the arm64 sigreturn trampoline's address, 0 until the
	// first handler runs (sigframe.go).
	sigtramp uint64
	rlimits  [RLIM_NLIMITS]rlimit
	files    fdTable
	random   *rand.ChaCha8
	// threads are the live threads by tid; a thread is added when it is
	// cloned or first makes a syscall, and removed when it exits.
	threads map[int]*Thread

	// Process-wide prctl state.
	dumpable, childSubreaper, noNewPrivs, thpDisable bool
	membarrierPrivate, membarrierSyncCore            bool

	cur *Call // the call being dispatched

	// cwd is the working directory; umask the file mode creation mask.
	cwd   *node
	umask uint32
	// setupErr says why Config.RW or Config.Cwd could not be set up
	// (OpenKernel reports it).
	setupErr error

	// The process tree (process.go): the parent, the children not yet
	// reaped, and, once the process has ended, how.
	*system
	parent   *Kernel
	children []*Kernel
	ended    *ExitStatus
	// childKey is what wait4 and waitid block on: a child changed state.
	// exitQ is woken when the process ends (its pidfds poll readable).
	childKey uint64
	exitQ    *waitQueue
	// vfork is set while a parent thread waits for this child to exec or
	// end (CLONE_VFORK); vforkKey is what that thread blocks on.
	vfork    bool
	vforkKey uint64
	// exitSignal is what the parent is sent when this process ends
	// (clone's CSIGNAL byte; SIGCHLD from fork and vfork).
	exitSignal int
	// pgid and sid are the process group and session.
	pgid, sid int
	// stopped: a stop signal stopped the process; stopReport (the signal)
	// and contReport are the stop and continue wait4 has not yet reported.
	stopped    bool
	stopReport int
	contReport bool
	// shared are the shared file mappings (shared.go).
	shared []*sharedMap
	// uids and gids are the real, effective and saved ids (proc.go).
	uids, gids [3]uint32
}

// system is what all processes of one emulation share, as they share one
// Linux kernel: the filesystem, the loopback network, file locks, the keys
// of kernel objects, per-user limits and the process table.
type system struct {
	fs *vfs
	// nextKey numbers the keys of kernel objects (objectKey).
	nextKey uint64
	// watches counts the items of all epoll instances (max_user_watches).
	watches int
	// pipePages counts the buffer pages all pipes may hold, tcpPages
	// those TCP connections hold (pipe.go).
	pipePages, tcpPages int
	// tmpfsUsed counts the bytes tmpfs files hold (tmpfs.go).
	tmpfsUsed int64
	// netw is the loopback network (socket.go), made on first use.
	netw *network
	// locks are the flock locks by file (lock.go).
	locks map[any]*fileLocks
	// hostFiles and virtualBytes are what open files hold (fd.go).
	hostFiles, virtualBytes int
	// procs are the processes by pid, until they are reaped; caller is
	// the one whose syscall is being dispatched (what /proc/self names).
	procs  map[int]*Kernel
	caller *Kernel
	// first is the process the emulation started with.
	first *Kernel
	// kept are the host files closed while snapshots may need them.
	kept *keptFiles
}

// NewKernel returns the kernel state of a new process: fds 0, 1 and 2 open
// (stdin reads as /dev/null, stdout and stderr are pipes to Config.Stdout
// and Config.Stderr), every signal at SIG_DFL, Linux's initial resource
// limits. With Config.FSRoot, the directory is opened when the guest
// first looks past the virtual tree, and if it cannot be, that syscall
// fails with an emulator error; OpenKernel checks it at once instead.
// Call Close when the process is gone.
func NewKernel(c Config) *Kernel {
	c.setDefaults()
	k := &Kernel{
		cfg:      c,
		comm:     commOf(c.ExePath),
		rlimits:  defaultRlimits,
		threads:  map[int]*Thread{},
		dumpable: true,
	}
	k.random = newRandom(c.Seed, 0)
	// Started from a shell: the leader of its own process group, in the
	// parent's session.
	k.pgid, k.sid = c.PID, c.PPID
	k.uids, k.gids = [3]uint32{c.UID, c.UID, c.UID}, [3]uint32{c.GID, c.GID, c.GID}
	k.umask = 0o022
	k.system = &system{procs: map[int]*Kernel{c.PID: k}, first: k, kept: &keptFiles{files: map[hostFile]bool{}}}
	k.childKey, k.exitQ = k.objectKey(), k.newWaitQueue()
	k.fs = newVFS(k)
	k.cwd = k.fs.root
	k.files.init(k)
	for _, p := range c.RW {
		if err := k.addRW(p); err != nil && k.setupErr == nil {
			k.setupErr = err
		}
	}
	if c.Cwd != "" && k.setupErr == nil {
		n, err := k.fs.resolve(k.fs.root, c.Cwd, true)
		switch {
		case err != nil:
			k.setupErr = fmt.Errorf("working directory %s: %w", c.Cwd, err)
		case n.kind != kindDir:
			k.setupErr = fmt.Errorf("working directory %s: %w", c.Cwd, ENOTDIR)
		default:
			k.cwd = n
		}
	}
	return k
}

// newRandom is the getrandom stream of a process: from the seed, and for a
// child process its pid as well, so that parent and child differ.
func newRandom(seed uint64, pid int) *rand.ChaCha8 {
	var s [32]byte
	copy(s[:], "gorunemu getrandom stream\x00\x00\x00\x00\x00\x00\x00")
	binary.LittleEndian.PutUint64(s[24:], seed)
	binary.LittleEndian.PutUint32(s[16:], binary.LittleEndian.Uint32(s[16:])^uint32(pid))
	return rand.NewChaCha8(s)
}

// OpenKernel is NewKernel, but it opens Config.FSRoot at once and fails if
// it is not a directory that can be opened.
func OpenKernel(c Config) (*Kernel, error) {
	k := NewKernel(c)
	if k.fs.host != nil {
		if _, err := k.fs.host.rootFd(); err != nil {
			return nil, fmt.Errorf("syscalls: %w", errors.Join(err, k.Close()))
		}
	}
	if k.setupErr != nil {
		return nil, fmt.Errorf("syscalls: %w", errors.Join(k.setupErr, k.Close()))
	}
	return k, nil
}

// Close releases what the kernel holds on the host: the descriptors of
// files open under Config.FSRoot and, for the first process, which made
// the system its children share, of FSRoot itself. The guest's
// descriptors are all closed; the kernel must not be used afterwards.
func (k *Kernel) Close() error {
	err := k.files.closeAll()
	if k == k.first {
		err = errors.Join(err, k.kept.close())
		if k.fs.host != nil {
			err = errors.Join(err, k.fs.host.close(), k.fs.closeBinds())
		}
	}
	return err
}

// commOf is the comm Linux gives a process exec'd from path: the base name,
// cut to TASK_COMM_LEN-1 bytes.
func commOf(exe string) string {
	name := path.Base(exe)
	if exe == "" || name == "/" || name == "." {
		name = "main"
	}
	if len(name) > taskCommLen-1 {
		name = name[:taskCommLen-1]
	}
	return name
}

// Config returns the configuration the kernel was made with, defaults
// filled in.
func (k *Kernel) Config() Config { return k.cfg }

// PID returns the process id (the main thread's tid).
func (k *Kernel) PID() int { return k.cfg.PID }

// SigAction returns the handler address and flags installed for sig
// (SIG_DFL is 0, SIG_IGN 1).
func (k *Kernel) SigAction(sig int) (handler, flags uint64) {
	if sig < 1 || sig > NSIG {
		return SIG_DFL, 0
	}
	a := k.actions[sig-1]
	return a.handler, a.flags
}

// FileCount returns how many fds are open.
func (k *Kernel) FileCount() int { return k.files.count() }

// notef adds to the current call's note what a trace should say about it.
func (k *Kernel) notef(format string, args ...any) {
	if k.cur == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if k.cur.Note == "" {
		k.cur.Note = msg
	} else {
		k.cur.Note += "; " + msg
	}
}

// Note adds to the note of the call being dispatched: what the emulator
// has to say about it in a trace.
func (k *Kernel) Note(format string, args ...any) { k.notef(format, args...) }

// note adds a note to the call t is making.
func note(t Task, format string, args ...any) { t.Kernel().notef(format, args...) }

// registerThread records a live thread.
func (k *Kernel) registerThread(tid int, th *Thread) {
	if _, ok := k.threads[tid]; !ok && th != nil {
		k.threads[tid] = th
	}
}

// thread returns the live thread tid of this process.
func (k *Kernel) thread(tid int) (*Thread, bool) {
	th, ok := k.threads[tid]
	return th, ok
}

// stackT is a thread's alternate signal stack (stack_t).
type stackT struct {
	sp, size uint64
	flags    uint32 // SS_AUTODISARM if set; SS_DISABLE is size == 0
}

// Thread is one thread's kernel state. The emulator makes the main
// thread's with NewThread; clone makes the others.
type Thread struct {
	sigmask       uint64 // blocked signals, bit sig-1
	altstack      stackT
	clearChildTID uint64
	robustHead    uint64
	robustLen     uint64
	rseq          rseqArea // rseq(2) registration
	name          string   // comm set by PR_SET_NAME; "" is the process name
	named         bool
	pdeathsig     int
	// pending are signals sent to the thread for a handler and not yet
	// delivered, in arrival order; a standard signal is pending at most
	// once (sigframe.go).
	pending []SigInfo
	// wait is what a call that blocked on a kernel object keeps for its
	// restart (poll.go).
	wait waitState
	// vforkChild is the child a vfork (CLONE_VFORK) waits for.
	vforkChild *Kernel
}

// NewThread returns the state of a thread that blocks no signal, has no
// alternate signal stack, no clear_child_tid and no robust list, and
// carries the process name.
func NewThread() *Thread { return &Thread{} }

// SigMask returns the set of blocked signals (bit sig-1).
func (th *Thread) SigMask() uint64 { return th.sigmask }

// ClearChildTID returns the address exit clears and wakes (set by
// CLONE_CHILD_CLEARTID or set_tid_address), or 0.
func (th *Thread) ClearChildTID() uint64 { return th.clearChildTID }

// AltStack returns the alternate signal stack, or size 0 if disabled.
func (th *Thread) AltStack() (sp, size uint64) { return th.altstack.sp, th.altstack.size }

// ThreadName returns the comm of thread th of the process: the name
// PR_SET_NAME gave it, else the process's.
func (k *Kernel) ThreadName(th *Thread) string { return k.threadName(th) }

// name returns the thread's comm.
func (k *Kernel) threadName(th *Thread) string {
	if th != nil && th.named {
		return th.name
	}
	return k.comm
}
