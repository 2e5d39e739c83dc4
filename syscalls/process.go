package syscalls

import (
	"bytes"
	"maps"
	"slices"
	"time"
)

// Processes: the kernel side of clone without CLONE_THREAD, execve, exit,
// wait4/waitid, process groups, and the signals between parent and child.
//
// Every process has its own Kernel; the Kernels of one emulation share a
// system (the filesystem, the network, the pid table). The emulator runs
// the processes' threads on one scheduler and one virtual clock, and
// tells the kernel when a process ends (Kernel.Ended). A child starts as a
// copy of its parent's kernel state: the descriptor table is copied and
// its open file descriptions shared, so a pipe made before the clone
// connects parent and child.

// Options of wait4 and waitid (include/uapi/linux/wait.h).
const (
	WNOHANG     = 0x1
	WUNTRACED   = 0x2 // WSTOPPED for waitid
	WEXITED     = 0x4
	WCONTINUED  = 0x8
	WNOWAIT     = 0x01000000
	__WNOTHREAD = 0x20000000
	__WALL      = 0x40000000
	__WCLONE    = 0x80000000

	P_ALL   = 0
	P_PID   = 1
	P_PGID  = 2
	P_PIDFD = 3

	// si_code of SIGCHLD and waitid: how the child changed.
	CLD_EXITED    = 1
	CLD_KILLED    = 2
	CLD_STOPPED   = 5
	CLD_CONTINUED = 6
)

// ExitStatus is how a process ended: with an exit code, or killed by a
// signal; CPU is the time its threads ran (its instructions, one
// nanosecond each), which wait4's rusage reports.
type ExitStatus struct {
	Code, Signal int
	CPU          time.Duration
}

// waitStatus is the status word wait4 stores (WEXITSTATUS, WTERMSIG).
func (e ExitStatus) waitStatus() uint32 {
	if e.Signal != 0 {
		return uint32(e.Signal & 0x7f)
	}
	return uint32(e.Code&0xff) << 8
}

// cldCode and cldStatus are waitid's and SIGCHLD's si_code and si_status.
func (e ExitStatus) cldCode() int {
	if e.Signal != 0 {
		return CLD_KILLED
	}
	return CLD_EXITED
}

func (e ExitStatus) cldStatus() int {
	if e.Signal != 0 {
		return e.Signal
	}
	return e.Code & 0xff
}

// processes lists the processes not yet reaped, by pid.
func (k *Kernel) processes() []*Kernel {
	var ps []*Kernel
	for _, pid := range slices.Sorted(maps.Keys(k.procs)) {
		ps = append(ps, k.procs[pid])
	}
	return ps
}

// fork makes the kernel state of a child process, as copy_process does
// without CLONE_THREAD: a copy of the descriptor table sharing the open
// file descriptions, the signal dispositions, limits, working directory,
// umask, process group and prctl state, and a random stream of its own.
// Its pid is set by adopt once the emulator has given it one.
func (k *Kernel) fork() *Kernel {
	c := &Kernel{
		cfg:        k.cfg,
		comm:       k.comm,
		actions:    k.actions,
		sigtramp:   k.sigtramp,
		rlimits:    k.rlimits,
		threads:    map[int]*Thread{},
		dumpable:   k.dumpable,
		noNewPrivs: k.noNewPrivs,
		thpDisable: k.thpDisable,
		cwd:        k.cwd,
		umask:      k.umask,
		system:     k.system,
		parent:     k,
		pgid:       k.pgid,
		sid:        k.sid,
		uids:       k.uids,
		gids:       k.gids,
		exitSignal: SIGCHLD,
	}
	c.cfg.PPID = k.cfg.PID
	c.files = fdTable{k: c, slots: slices.Clone(k.files.slots)}
	for _, s := range c.files.slots {
		if s.f != nil {
			s.f.refs++
		}
	}
	c.childKey, c.vforkKey, c.exitQ = k.objectKey(), k.objectKey(), k.newWaitQueue()
	return c
}

// adopt makes c, made by fork, the child process pid of k.
func (k *Kernel) adopt(c *Kernel, pid int) {
	c.cfg.PID = pid
	c.random = newRandom(c.cfg.Seed, pid)
	k.children = append(k.children, c)
	k.procs[pid] = c
	k.fs.addProc(c)
}

// cloneProcess is clone(2) without CLONE_THREAD: fork (a copy of the
// address space), vfork, or a clone that shares the address space.
// Sharing descriptors, the filesystem context or signal handlers between
// processes, and namespaces, are not emulated (ENOSYS, noted). With
// CLONE_VFORK the caller waits until the child execs or ends.
func cloneProcess(t Task, flags, stack, parentTID, childTID, tls uint64) (uint64, error) {
	if th := t.Thread(); th.vforkChild != nil {
		return vforkWait(t, th) // the same call, redone while the child runs
	}
	if extra := flags &^ (CLONE_VM | CLONE_VFORK | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_PIDFD |
		CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED | CSIGNAL); extra != 0 {
		note(t, "clone flags %s are not emulated for a new process", cloneFlagString(extra))
		return 0, ENOSYS
	}
	if flags&(CLONE_PIDFD|CLONE_PARENT_SETTID) == CLONE_PIDFD|CLONE_PARENT_SETTID {
		return 0, EINVAL // both would use parent_tid
	}
	k := t.Kernel()
	parent := t.Thread()
	c := k.fork()
	c.exitSignal = int(flags & CSIGNAL)
	th := &Thread{sigmask: parent.sigmask, name: parent.name, named: parent.named}
	if flags&(CLONE_VM|CLONE_VFORK) != CLONE_VM {
		th.altstack = parent.altstack // only a clone sharing memory without vfork drops it
	}
	if flags&CLONE_CHILD_CLEARTID != 0 {
		th.clearChildTID = childTID
	}
	req := CloneRequest{Stack: stack, Thread: th, Process: c, ShareVM: flags&CLONE_VM != 0}
	if flags&CLONE_SETTLS != 0 {
		req.SetTLS, req.TLS = true, tls
	}
	pid, err := t.Clone(req)
	if err != nil {
		c.files.closeAll()
		return 0, err
	}
	k.adopt(c, pid)
	c.threads[pid] = th
	if flags&CLONE_PARENT_SETTID != 0 {
		if err := writeU32(t, parentTID, uint32(pid)); err != nil {
			note(t, "CLONE_PARENT_SETTID: cannot write pid at %s", hex(parentTID))
		}
	}
	if flags&CLONE_PIDFD != 0 { // its fd goes where parent_tid points
		fd, err := openPidfd(t, c, false)
		if err == nil {
			err = writeU32(t, parentTID, uint32(fd))
		}
		if err != nil {
			note(t, "CLONE_PIDFD: %v", err)
		}
	}
	if flags&CLONE_CHILD_SETTID != 0 && req.ShareVM {
		if err := writeU32(t, childTID, uint32(pid)); err != nil {
			note(t, "CLONE_CHILD_SETTID: cannot write pid at %s", hex(childTID))
		}
	}
	if flags&CLONE_VFORK == 0 {
		return uint64(pid), nil
	}
	c.vfork = true
	parent.vforkChild = c
	note(t, "waits until child %d execs or exits (vfork)", pid)
	return t.Block(c.vforkKey, NoDeadline)
}

// Fork implements fork(2) as clone(SIGCHLD).
func Fork(t Task, a Args) (uint64, error) {
	return cloneProcess(t, SIGCHLD, 0, 0, 0, 0)
}

// Vfork implements vfork(2) as clone(CLONE_VM|CLONE_VFORK|SIGCHLD).
func Vfork(t Task, a Args) (uint64, error) {
	return cloneProcess(t, CLONE_VM|CLONE_VFORK|SIGCHLD, 0, 0, 0, 0)
}

// vforkWait is clone redone for a thread that waits on its vfork child:
// it returns the child's pid once the child has exec'd or ended, and
// waits on otherwise (a signal does not end the wait: Linux's is
// killable only).
func vforkWait(t Task, th *Thread) (uint64, error) {
	c := th.vforkChild
	if !c.vfork {
		th.vforkChild = nil
		return uint64(c.cfg.PID), nil
	}
	return t.Block(c.vforkKey, NoDeadline)
}

// InVfork reports whether the thread waits for its vfork child: it is
// not woken for a signal (Linux's wait is killable only), which it takes
// once the child has exec'd or ended.
func (th *Thread) InVfork() bool { return th.vforkChild != nil }

// releaseVfork lets the parent of a vfork child go on.
func (k *Kernel) releaseVfork(t Task) {
	if k.vfork {
		k.vfork = false
		t.Notify(k.vforkKey)
	}
}

// Ended records that process k has ended, as st says: its descriptors
// close, its children lose their parent (zombies among them are reaped),
// a vfork parent goes on, and its parent is told with its exit signal
// (SIGCHLD) and a wake of wait4 and waitid; a parent that ignores SIGCHLD
// (or has SA_NOCLDWAIT) reaps it at once. t is any live thread of the
// emulation, through which the kernel acts. The emulator calls it once,
// when the last thread of a process other than the first has gone.
func (k *Kernel) Ended(t Task, st ExitStatus) error {
	if k.ended != nil {
		return nil
	}
	k.ended = &st
	k.stopped = false
	var errs []error
	for fd := range k.files.slots {
		if k.files.slots[fd].f != nil {
			if err := k.files.close(t, int32(fd)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	k.threads = map[int]*Thread{}
	k.releaseVfork(t)
	k.exitQ.wake(t, EPOLLIN|EPOLLRDNORM)
	for _, c := range k.children {
		c.parent = nil
		if c.ended != nil {
			k.reap(c)
			continue
		}
		for _, tid := range slices.Sorted(maps.Keys(c.threads)) { // PR_SET_PDEATHSIG
			if th := c.threads[tid]; th.pdeathsig != 0 {
				if _, err := sendSignalTo(t, c, tid, SigInfo{Signo: th.pdeathsig, Code: SI_USER, PID: k.cfg.PID}); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	k.children = nil
	p := k.parent
	if p == nil { // an orphan: init reaps it
		delete(k.procs, k.cfg.PID)
		k.fs.removeProc(k)
		return firstErr(nil, errs...)
	}
	act := p.actions[SIGCHLD-1]
	if k.exitSignal == SIGCHLD && (act.handler == SIG_IGN || act.flags&SA_NOCLDWAIT != 0) {
		p.reap(k)
	} else if k.exitSignal != 0 {
		info := SigInfo{Signo: k.exitSignal, Code: st.cldCode(), PID: k.cfg.PID, UID: int(k.uids[idReal]), Status: st.cldStatus()}
		if _, err := sendSignalTo(t, p, 0, info); err != nil {
			errs = append(errs, err)
		}
	}
	t.Notify(p.childKey)
	return firstErr(nil, errs...)
}

// reap forgets the ended child c.
func (k *Kernel) reap(c *Kernel) {
	k.children = slices.DeleteFunc(k.children, func(x *Kernel) bool { return x == c })
	delete(k.procs, c.cfg.PID)
	k.fs.removeProc(c)
}

// childEvent is a change of a child's state that wait4 and waitid report.
type childEvent struct {
	c *Kernel
	// status is wait4's status word; code and cldStatus waitid's si_code
	// and si_status.
	status          uint32
	code, cldStatus int
}

// waitable finds, among the children that sel picks, one with a change
// that opts asks for: an exit (WEXITED), a stop (WUNTRACED) or a
// continue (WCONTINUED); any says whether sel picked a child at all.
func (k *Kernel) waitable(sel func(c *Kernel) bool, opts uint32) (ev *childEvent, any bool) {
	for _, c := range k.children {
		// eligible_child: without __WALL, __WCLONE picks the children
		// whose exit signal is not SIGCHLD, its absence the others.
		if !sel(c) || opts&__WALL == 0 && (c.exitSignal != SIGCHLD) != (opts&__WCLONE != 0) {
			continue
		}
		any = true
		switch {
		case c.ended != nil && opts&WEXITED != 0:
			return &childEvent{c, c.ended.waitStatus(), c.ended.cldCode(), c.ended.cldStatus()}, true
		case c.stopReport != 0 && opts&WUNTRACED != 0:
			return &childEvent{c, uint32(c.stopReport)<<8 | 0x7f, CLD_STOPPED, c.stopReport}, true
		case c.contReport && opts&WCONTINUED != 0:
			return &childEvent{c, 0xffff, CLD_CONTINUED, SIGCONT}, true
		}
	}
	return nil, any
}

// consume marks the event reported: an ended child is reaped.
func (k *Kernel) consume(ev *childEvent) {
	c := ev.c
	switch ev.code {
	case CLD_STOPPED:
		c.stopReport = 0
	case CLD_CONTINUED:
		c.contReport = false
	default:
		k.reap(c)
	}
}

// childSelector is wait4's pid argument as a test: > 0 that child, -1
// any child, 0 the caller's process group, < -1 the group -pid.
func (k *Kernel) childSelector(pid int) func(c *Kernel) bool {
	switch {
	case pid > 0:
		return func(c *Kernel) bool { return c.cfg.PID == pid }
	case pid == -1:
		return func(*Kernel) bool { return true }
	case pid == 0:
		return func(c *Kernel) bool { return c.pgid == k.pgid }
	}
	return func(c *Kernel) bool { return c.pgid == -pid }
}

// Wait4 implements wait4(2): exits always, stops with WUNTRACED and
// continues with WCONTINUED. rusage reports an ended child's CPU time as
// user time.
func Wait4(t Task, a Args) (uint64, error) {
	pid, statusAddr, opts, ruAddr := int(a.Int32(0)), a.Ptr(1), a.U32(2), a.Ptr(3)
	if opts&^(WNOHANG|WUNTRACED|WCONTINUED|__WNOTHREAD|__WALL|__WCLONE) != 0 {
		return 0, EINVAL
	}
	if pid == -1<<31 {
		return 0, ESRCH // INT_MIN cannot be negated into a group id
	}
	k := t.Kernel()
	ev, any := k.waitable(k.childSelector(pid), opts|WEXITED)
	switch {
	case !any:
		return 0, ECHILD
	case ev == nil && opts&WNOHANG != 0:
		return 0, nil
	case ev == nil:
		return t.Block(k.childKey, NoDeadline)
	}
	if statusAddr != 0 {
		if err := writeU32(t, statusAddr, ev.status); err != nil {
			return 0, err
		}
	}
	if ruAddr != 0 {
		var cpu time.Duration
		if ev.c.ended != nil {
			cpu = ev.c.ended.CPU
		}
		if err := putRusage(t, ruAddr, cpu); err != nil {
			return 0, err
		}
	}
	k.consume(ev)
	return uint64(ev.c.cfg.PID), nil
}

// putRusage stores a struct rusage whose user time is cpu.
func putRusage(t Task, addr uint64, cpu time.Duration) error {
	var b [144]byte
	le.PutUint64(b[0:], uint64(cpu/time.Second))
	le.PutUint64(b[8:], uint64(cpu%time.Second/time.Microsecond))
	return t.WriteMem(addr, b[:])
}

// Waitid implements waitid(2) like Wait4, for the changes opts names;
// WNOWAIT leaves the change to be waited for again. With WNOHANG and
// nothing to report it returns 0 with si_pid and si_signo zero.
func Waitid(t Task, a Args) (uint64, error) {
	idtype, id, infoAddr, opts, ruAddr := a.U32(0), int(a.Int32(1)), a.Ptr(2), a.U32(3), a.Ptr(4)
	if opts&^(WNOHANG|WNOWAIT|WEXITED|WUNTRACED|WCONTINUED|__WNOTHREAD|__WALL|__WCLONE) != 0 ||
		opts&(WEXITED|WUNTRACED|WCONTINUED) == 0 {
		return 0, EINVAL
	}
	k := t.Kernel()
	var sel func(*Kernel) bool
	nonblock := false // a waitid on an O_NONBLOCK pidfd: EAGAIN, not 0
	switch idtype {
	case P_ALL:
		sel = k.childSelector(-1)
	case P_PID:
		if id <= 0 {
			return 0, EINVAL
		}
		sel = k.childSelector(id)
	case P_PGID:
		if id < 0 {
			return 0, EINVAL
		}
		sel = k.childSelector(-id)
		if id == 0 {
			sel = k.childSelector(0)
		}
	case P_PIDFD:
		p, f, err := pidfdOf(t, a.Int32(1))
		if err != nil {
			return 0, err
		}
		sel = func(c *Kernel) bool { return c == p }
		if f.flags&O_NONBLOCK != 0 {
			opts |= WNOHANG
			nonblock = true
		}
	default:
		return 0, EINVAL
	}
	ev, any := k.waitable(sel, opts)
	switch {
	case !any:
		return 0, ECHILD
	case ev == nil && nonblock:
		return 0, EAGAIN
	case ev == nil && opts&WNOHANG != 0:
		if infoAddr != 0 {
			return 0, t.WriteMem(infoAddr, make([]byte, 24))
		}
		return 0, nil
	case ev == nil:
		return t.Block(k.childKey, NoDeadline)
	}
	if infoAddr != 0 {
		var b [128]byte
		putSiginfo(b[:], SigInfo{Signo: SIGCHLD, Code: ev.code, PID: ev.c.cfg.PID, UID: int(ev.c.uids[idReal]), Status: ev.cldStatus})
		if err := t.WriteMem(infoAddr, b[:]); err != nil {
			return 0, err
		}
	}
	if ruAddr != 0 && ev.c.ended != nil {
		if err := putRusage(t, ruAddr, ev.c.ended.CPU); err != nil {
			return 0, err
		}
	}
	if opts&WNOWAIT == 0 {
		k.consume(ev)
	}
	return 0, nil
}

// maxExecStrings bounds argv and envp together, as Linux bounds them by
// the stack limit (a quarter of 8 MiB); past it execve fails with E2BIG.
const maxExecStrings = 2 << 20

// maxExecImage bounds the executable gorunemu reads into memory.
const maxExecImage = 1 << 30

// Execve implements execve(2) for static ELF executables of the guest's
// arch (see execveAt).
func Execve(t Task, a Args) (uint64, error) {
	return execveAt(t, AT_FDCWD, a.Ptr(0), a.Ptr(1), a.Ptr(2), 0)
}

// Execveat implements execveat(2).
func Execveat(t Task, a Args) (uint64, error) {
	return execveAt(t, a.Fd(0), a.Ptr(1), a.Ptr(2), a.Ptr(3), a.U32(4))
}

// execveAt finds the file, checks it may be executed (a regular file with
// an execute bit, not on /proc or /sys), reads argv and envp, and has the
// emulator start it. Scripts (#!) and dynamically linked programs fail
// with ENOEXEC and a note: their interpreter would have to run (not yet
// emulated). After the point of no return, close-on-exec descriptors
// close, handled signals return to SIG_DFL, and a vfork parent goes on.
func execveAt(t Task, dirfd int32, pathAddr, argvAddr, envpAddr uint64, flags uint32) (uint64, error) {
	if flags&^(AT_EMPTY_PATH|AT_SYMLINK_NOFOLLOW) != 0 {
		return 0, EINVAL
	}
	n, _, err := lookupAt(t, dirfd, pathAddr, flags&AT_SYMLINK_NOFOLLOW == 0, flags&AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	switch {
	case n.kind == kindSymlink:
		return 0, ELOOP
	case n.kind != kindFile, !n.mnt.mmap && n.host == nil && n.tmp == nil:
		return 0, EACCES
	}
	if err := permitted(t, n, X_OK); err != nil {
		return 0, err
	}
	argv, err := readStrings(t, argvAddr)
	if err != nil {
		return 0, err
	}
	envp, err := readStrings(t, envpAddr)
	if err != nil {
		return 0, err
	}
	size := 0
	for _, s := range append(slices.Clone(argv), envp...) {
		size += len(s) + 1 + 8
	}
	if size > maxExecStrings {
		return 0, E2BIG
	}
	k := t.Kernel()
	image, err := k.readImage(n)
	if err != nil {
		return 0, err
	}
	exe := k.fs.pathOf(n)
	if bytes.HasPrefix(image, []byte("#!")) {
		note(t, "%s is a script: running its interpreter is not emulated", exe)
		return 0, ENOEXEC
	}
	old := t.Thread()
	th := &Thread{sigmask: old.sigmask, pending: old.pending, pdeathsig: old.pdeathsig}
	// Shared file mappings get what they hold before the memory goes.
	if err := k.flushShared(t, t.ReadMem, 0, ^uint64(0), false); err != nil {
		return 0, err
	}
	auxv, err := t.Exec(ExecRequest{Path: exe, Image: image, Argv: argv, Envp: envp, Thread: th})
	if err != nil {
		return 0, err
	}
	if err := k.flushShared(t, nil, 0, ^uint64(0), true); err != nil {
		return 0, err
	}
	// The point of no return.
	for fd, s := range k.files.slots {
		if s.f != nil && s.cloexec {
			if err := k.files.close(t, int32(fd)); err != nil {
				return 0, err
			}
		}
	}
	for i := range k.actions {
		if k.actions[i].handler != SIG_IGN {
			k.actions[i] = sigaction{}
		}
	}
	k.sigtramp = 0
	k.cfg.ExePath, k.cfg.Auxv, k.comm = exe, auxv, commOf(exe)
	k.threads = map[int]*Thread{k.cfg.PID: th}
	k.releaseVfork(t)
	return 0, nil
}

// ReadInterpreter reads the program interpreter at guest path p (a
// PT_INTERP path, the dynamic loader) as execve does: looked up from the
// root following symlinks, a regular file with an execute bit. It returns
// the file and its resolved path, which /proc/self/maps shows.
func (k *Kernel) ReadInterpreter(p string) ([]byte, string, error) {
	return k.readFile(nil, p, true)
}

// ReadFile reads the regular file at guest path p, as the guest's root
// sees it: for the emulator's own use (naming code in a library the guest
// mapped), not the guest's. It returns the file and its resolved path.
func (k *Kernel) ReadFile(p string) ([]byte, string, error) { return k.readFile(nil, p, false) }

// ReadFileAs reads the file at guest path p as thread t would by open and
// read, for a debugger: regular files, and the virtual ones of /proc and
// /sys (generated for t). It returns the file and its resolved path.
func (k *Kernel) ReadFileAs(t Task, p string) ([]byte, string, error) {
	return k.readFile(t, p, false)
}

// Readlink reads the symbolic link at guest path p (/proc/PID/exe).
func (k *Kernel) Readlink(p string) (string, error) {
	n, err := k.fs.resolve(k.fs.root, p, false)
	switch {
	case err != nil:
		return "", err
	case n.kind != kindSymlink || n.link == nil:
		return "", EINVAL
	}
	return n.link(), nil
}

func (k *Kernel) readFile(t Task, p string, exec bool) ([]byte, string, error) {
	n, err := k.fs.resolve(k.fs.root, p, true)
	switch {
	case err != nil:
		return nil, "", err
	case n.kind == kindDir:
		return nil, "", EISDIR
	case n.kind != kindFile:
		return nil, "", EACCES
	case exec && n.mode()&0o111 == 0:
		return nil, "", EACCES
	case n.content != nil && n.tmp == nil && n.host == nil:
		if t == nil {
			return nil, "", EACCES
		}
		return n.content(t), k.fs.pathOf(n), nil
	}
	data, err := k.readImage(n)
	if err != nil {
		return nil, "", err
	}
	return data, k.fs.pathOf(n), nil
}

// RealtimeBase is CLOCK_REALTIME when the virtual clock reads 0, in ns
// since the Unix epoch (Config.RealtimeBase).
func (k *Kernel) RealtimeBase() int64 { return k.cfg.RealtimeBase }

// SetAuxv sets the auxiliary vector /proc/self/auxv serves, once the
// initial stack is built.
func (k *Kernel) SetAuxv(auxv []byte) { k.cfg.Auxv = auxv }

// SetArgArea says where the argv and envp strings are on the initial
// stack, for /proc/self/cmdline and environ.
func (k *Kernel) SetArgArea(argStart, argEnd, envStart, envEnd uint64) {
	k.cfg.ArgStart, k.cfg.ArgEnd, k.cfg.EnvStart, k.cfg.EnvEnd = argStart, argEnd, envStart, envEnd
}

// readImage reads the whole regular file n: an executable to start.
func (k *Kernel) readImage(n *node) ([]byte, error) {
	switch {
	case n.tmp != nil:
		return slices.Clone(n.tmp.data), nil
	case n.host != nil:
		if n.host.size > maxExecImage {
			return nil, ENOMEM
		}
		h, err := k.fs.hostOpen(n)
		if err != nil {
			return nil, err
		}
		b := make([]byte, n.host.size)
		m, err := readHost(h, b, 0)
		return b[:m], firstErr(err, h.Close())
	}
	return nil, EACCES
}

// readStrings reads a NULL-terminated array of string pointers (argv,
// envp); a NULL array is empty, as Linux allows.
func readStrings(t Task, addr uint64) ([]string, error) {
	var out []string
	if addr == 0 {
		return nil, nil
	}
	total := 0
	for i := uint64(0); ; i++ {
		p, err := readU64(t, addr+8*i)
		if err != nil {
			return nil, err
		}
		if p == 0 {
			return out, nil
		}
		s, err := strncpyFromUser(t, p, maxArgStrlen)
		if err != nil {
			return nil, err
		}
		if len(s) >= maxArgStrlen-1 {
			return nil, E2BIG
		}
		total += len(s) + 1
		if total > maxExecStrings {
			return nil, E2BIG
		}
		out = append(out, s)
	}
}

// maxArgStrlen is MAX_ARG_STRLEN: one argument or variable at most.
const maxArgStrlen = 32 * 4096

// Setpgid implements setpgid(2) for the caller and its children: pid 0
// is the caller, pgid 0 makes the process a group leader.
func Setpgid(t Task, a Args) (uint64, error) {
	pid, pgid := int(a.Int32(0)), int(a.Int32(1))
	if pgid < 0 {
		return 0, EINVAL
	}
	k := t.Kernel()
	p := k
	if pid != 0 && pid != k.cfg.PID {
		c, ok := k.procs[pid]
		if !ok || c.parent != k {
			return 0, ESRCH
		}
		p = c
	}
	if pgid == 0 {
		pgid = p.cfg.PID
	}
	if p.sid == p.cfg.PID {
		return 0, EPERM // a session leader keeps its group
	}
	if pgid != p.cfg.PID {
		found := false
		for _, q := range k.processes() {
			found = found || q.pgid == pgid && q.sid == p.sid
		}
		if !found {
			return 0, EPERM
		}
	}
	p.pgid = pgid
	return 0, nil
}

// Getpgid implements getpgid(2).
func Getpgid(t Task, a Args) (uint64, error) {
	p, err := processOf(t, int(a.Int32(0)))
	if err != nil {
		return 0, err
	}
	return uint64(p.pgid), nil
}

// Getpgrp implements getpgrp(2).
func Getpgrp(t Task, a Args) (uint64, error) { return uint64(t.Kernel().pgid), nil }

// Getsid implements getsid(2).
func Getsid(t Task, a Args) (uint64, error) {
	p, err := processOf(t, int(a.Int32(0)))
	if err != nil {
		return 0, err
	}
	return uint64(p.sid), nil
}

// Setsid implements setsid(2): EPERM for a group leader.
func Setsid(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	for _, q := range k.processes() {
		if q.pgid == k.cfg.PID {
			return 0, EPERM
		}
	}
	k.pgid, k.sid = k.cfg.PID, k.cfg.PID
	return uint64(k.sid), nil
}

// processOf returns process pid (0: the caller), or ESRCH.
func processOf(t Task, pid int) (*Kernel, error) {
	k := t.Kernel()
	if pid == 0 {
		return k, nil
	}
	if p, ok := k.procs[pid]; ok {
		return p, nil
	}
	return nil, ESRCH
}
