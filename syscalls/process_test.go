package syscalls

import (
	"slices"
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// child returns the main thread of child process pid, which shares the
// fake's memory (as a vfork child does).
func (f *fakeTask) child(t *testing.T, pid int) *fakeTask {
	t.Helper()
	k, ok := f.Kernel().procs[pid]
	if !ok {
		t.Fatalf("no process %d", pid)
	}
	return &fakeTask{p: f.p, k: k, th: k.threads[pid], tid: pid, scratchP: scratchBase + scratchPages/2*f.p.arch.PageSize}
}

// fork clones a child process and returns it.
func (f *fakeTask) fork(t *testing.T, a *arch.Arch, flags uint64) *fakeTask {
	t.Helper()
	pid := f.ok(t, "clone", cloneArgs(a, flags, 0, 0, 0, 0)...)
	return f.child(t, int(pid))
}

// newTmpFake is a fake with a tmpfs at /tmp.
func newTmpFake(t *testing.T, a *arch.Arch) *fakeTask {
	return newFakeWith(t, a, Config{ExePath: "/bin/parent", Tmpfs: []string{"/tmp"}})
}

// tmpFile creates a tmpfs file with mode and contents.
func (f *fakeTask) tmpFile(t *testing.T, path string, mode uint64, data string) {
	t.Helper()
	fd := f.ok(t, "openat", neg(-AT_FDCWD), f.cstr(path), O_WRONLY|O_CREAT|O_TRUNC, mode)
	f.ok(t, "write", fd, f.bytesAt([]byte(data)), uint64(len(data)))
	f.ok(t, "close", fd)
}

// strv stores a NULL-terminated array of strings.
func (f *fakeTask) strv(ss ...string) uint64 {
	var ps []uint64
	for _, s := range ss {
		ps = append(ps, f.cstr(s))
	}
	return f.u64s(append(ps, 0)...)
}

// TestVforkExec follows what Go's os/exec does: a pipe made before a
// vfork connects parent and child, the parent waits until the child
// execs, the exec closes close-on-exec descriptors and resets handlers,
// and wait4 reaps the child's exit.
func TestVforkExec(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newTmpFake(t, a)
		f.tmpFile(t, "/tmp/prog", 0o755, "\x7fELF...")
		fds := f.alloc(8)
		f.ok(t, "pipe2", fds, O_CLOEXEC)
		rd, wr := uint64(f.u32At(t, fds)), uint64(f.u32At(t, fds+4))
		act := f.sigact(0x401000, SA_RESTORER|SA_SIGINFO, 0x401100, 0)
		f.ok(t, "rt_sigaction", SIGUSR1, act, 0, 8)

		c := f.sys(t, "clone", cloneArgs(a, CLONE_VM|CLONE_VFORK|SIGCHLD, 0, 0, 0, 0)...)
		if !c.Blocked || !strings.Contains(c.Note, "vfork") {
			t.Fatalf("vfork: %+v, want the parent to wait", c)
		}
		pid := DefaultPID + 1
		child := f.child(t, pid)
		if got := child.ok(t, "getpid"); got != uint64(pid) {
			t.Errorf("child getpid %d, want %d", got, pid)
		}
		if got := child.ok(t, "getppid"); got != DefaultPID {
			t.Errorf("child getppid %d, want %d", got, DefaultPID)
		}
		// Before the exec, redoing the clone waits on.
		if c := f.sys(t, "clone", cloneArgs(a, CLONE_VM|CLONE_VFORK|SIGCHLD, 0, 0, 0, 0)...); !c.Blocked {
			t.Fatalf("vfork parent before the exec: %+v", c)
		}
		child.ok(t, "dup3", wr, 1, 0)
		child.fails(t, ENOENT, "execve", f.cstr("/tmp/missing"), f.strv("x"), f.strv())
		child.ok(t, "execve", f.cstr("/tmp/prog"), f.strv("prog", "-v"), f.strv("A=1"))
		if len(f.p.execs) != 1 {
			t.Fatalf("execs %+v", f.p.execs)
		}
		if e := f.p.execs[0]; e.Path != "/tmp/prog" || !slices.Equal(e.Argv, []string{"prog", "-v"}) || !slices.Equal(e.Envp, []string{"A=1"}) || string(e.Image) != "\x7fELF..." {
			t.Errorf("exec request %+v", e)
		}
		child.th = child.Kernel().threads[pid]
		child.fails(t, EBADF, "fcntl", wr, F_GETFD) // close-on-exec
		child.ok(t, "fcntl", 1, F_GETFD)
		if h, _ := child.Kernel().SigAction(SIGUSR1); h != SIG_DFL {
			t.Errorf("handler %#x survived the exec", h)
		}
		if !slices.Contains(f.p.notified, child.Kernel().vforkKey) {
			t.Error("the exec did not wake the vfork parent")
		}
		if got := f.ok(t, "clone", cloneArgs(a, CLONE_VM|CLONE_VFORK|SIGCHLD, 0, 0, 0, 0)...); got != uint64(pid) {
			t.Errorf("vfork returned %d, want %d", got, pid)
		}

		// The child ends: its end of the pipe closes, the parent reaps it.
		f.ok(t, "close", wr)
		if err := child.Kernel().Ended(child, ExitStatus{Code: 3}); err != nil {
			t.Fatal(err)
		}
		buf := f.alloc(8)
		if got := f.ok(t, "read", rd, buf, 8); got != 0 {
			t.Errorf("read after the child's exit: %d, want EOF", got)
		}
		status := f.alloc(4)
		if got := f.ok(t, "wait4", neg(1), status, 0, 0); got != uint64(pid) || f.u32At(t, status) != 3<<8 {
			t.Errorf("wait4 = %d status %#x, want %d 0x300", got, f.u32At(t, status), pid)
		}
		f.fails(t, ECHILD, "wait4", neg(1), 0, 0, 0)
		if _, ok := f.Kernel().procs[pid]; ok {
			t.Error("the reaped child is still in the process table")
		}
	})
}

// TestExecveRefuses: what execve refuses before it reaches the emulator.
func TestExecveRefuses(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newTmpFake(t, a)
		f.tmpFile(t, "/tmp/text", 0o644, "hello")
		f.tmpFile(t, "/tmp/script", 0o755, "#!/bin/sh\necho hi\n")
		f.fails(t, EACCES, "execve", f.cstr("/tmp/text"), f.strv("x"), 0)
		f.fails(t, EACCES, "execve", f.cstr("/tmp"), f.strv("x"), 0)
		f.fails(t, EACCES, "execve", f.cstr("/proc/self/status"), f.strv("x"), 0)
		f.fails(t, EFAULT, "execve", f.cstr("/tmp/script"), unmapped, 0)
		c := f.sys(t, "execve", f.cstr("/tmp/script"), f.strv("script"), 0)
		if c.Errno != ENOEXEC || !strings.Contains(c.Note, "script") {
			t.Errorf("script: %+v", c)
		}
		f.fails(t, EINVAL, "execveat", neg(-AT_FDCWD), f.cstr("/tmp/text"), 0, 0, 0x8000)
		if len(f.p.execs) != 0 {
			t.Errorf("a refused execve reached the emulator: %+v", f.p.execs)
		}
		// The emulator's refusal leaves the caller as it was.
		f.tmpFile(t, "/tmp/prog", 0o755, "\x7fELF")
		f.p.execErr = ENOEXEC
		f.fails(t, ENOEXEC, "execve", f.cstr("/tmp/prog"), f.strv("prog"), 0)
	})
}

// TestWaitStatuses: exits, deaths by signal, stops and continues as
// wait4 and waitid report them.
func TestWaitStatuses(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		f.fails(t, ECHILD, "wait4", neg(1), 0, WNOHANG, 0)
		c1 := f.fork(t, a, SIGCHLD)
		c2 := f.fork(t, a, SIGCHLD)
		status := f.alloc(4)
		if got := f.ok(t, "wait4", neg(1), status, WNOHANG, 0); got != 0 {
			t.Errorf("WNOHANG with nothing ended: %d", got)
		}
		if c := f.sys(t, "wait4", neg(1), status, 0, 0); !c.Blocked {
			t.Errorf("wait4 with children running: %+v, want it to wait", c)
		}
		f.fails(t, ECHILD, "wait4", 9999, 0, 0, 0)

		// Stop and continue c1.
		f.ok(t, "kill", uint64(c1.tid), SIGSTOP)
		if !c1.Kernel().Stopped() {
			t.Fatal("SIGSTOP did not stop the child")
		}
		if got := f.ok(t, "wait4", uint64(c1.tid), status, WUNTRACED|WNOHANG, 0); got != uint64(c1.tid) || f.u32At(t, status) != SIGSTOP<<8|0x7f {
			t.Errorf("stopped: wait4 %d status %#x", got, f.u32At(t, status))
		}
		if got := f.ok(t, "wait4", uint64(c1.tid), status, WUNTRACED|WNOHANG, 0); got != 0 {
			t.Errorf("a stop is reported once: %d", got)
		}
		f.ok(t, "kill", uint64(c1.tid), SIGCONT)
		if got := f.ok(t, "wait4", uint64(c1.tid), status, WCONTINUED|WNOHANG, 0); got != uint64(c1.tid) || f.u32At(t, status) != 0xffff {
			t.Errorf("continued: wait4 %d status %#x", got, f.u32At(t, status))
		}

		// c2 dies of SIGTERM: waitid with WNOWAIT sees it and leaves it.
		f.ok(t, "kill", uint64(c2.tid), SIGTERM)
		if f.p.killed[c2.tid] != SIGTERM {
			t.Fatalf("SIGTERM to the child: killed %v", f.p.killed)
		}
		if err := c2.Kernel().Ended(c2, ExitStatus{Signal: SIGTERM}); err != nil {
			t.Fatal(err)
		}
		info := f.alloc(128)
		f.ok(t, "waitid", P_ALL, 0, info, WEXITED|WNOWAIT, 0)
		if le.Uint32(f.mem(t, info, 4)) != SIGCHLD || int32(le.Uint32(f.mem(t, info+8, 4))) != CLD_KILLED ||
			le.Uint32(f.mem(t, info+16, 4)) != uint32(c2.tid) || le.Uint32(f.mem(t, info+24, 4)) != SIGTERM {
			t.Errorf("waitid siginfo % x", f.mem(t, info, 28))
		}
		if got := f.ok(t, "wait4", neg(1), status, 0, 0); got != uint64(c2.tid) || f.u32At(t, status) != SIGTERM {
			t.Errorf("killed: wait4 %d status %#x", got, f.u32At(t, status))
		}
		f.ok(t, "waitid", P_PID, uint64(c1.tid), info, WEXITED|WNOHANG, 0)
		if le.Uint32(f.mem(t, info+16, 4)) != 0 {
			t.Error("waitid WNOHANG with nothing to report left si_pid set")
		}
	})
}

// TestKillAndGroups: kill reaches other processes by pid and group;
// setpgid and setsid follow Linux's rules.
func TestKillAndGroups(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		c1 := f.fork(t, a, SIGCHLD)
		c2 := f.fork(t, a, SIGCHLD)
		if got := c1.ok(t, "getpgid", 0); got != DefaultPID {
			t.Errorf("child's group %d, want the parent's %d", got, DefaultPID)
		}
		f.fails(t, EPERM, "setsid") // a group leader
		if got := c2.ok(t, "setsid"); got != uint64(c2.tid) {
			t.Errorf("setsid = %d", got)
		}
		c2.fails(t, EPERM, "setsid") // now a group leader
		c1.ok(t, "setpgid", 0, 0)
		f.fails(t, EPERM, "setpgid", uint64(c2.tid), DefaultPID) // another session
		f.fails(t, ESRCH, "setpgid", 9999, 0)

		f.ok(t, "kill", neg(1), SIGTERM) // everyone but the caller
		if f.p.killSig != 0 || f.p.killed[c1.tid] != SIGTERM || f.p.killed[c2.tid] != SIGTERM {
			t.Errorf("kill(-1): self %d, others %v", f.p.killSig, f.p.killed)
		}
		f.p.killed = nil
		f.ok(t, "kill", neg(int64(c2.tid)), SIGHUP) // c2's group only
		if f.p.killed[c2.tid] != SIGHUP || f.p.killed[c1.tid] != 0 {
			t.Errorf("kill(-pgid): %v", f.p.killed)
		}
		f.fails(t, ESRCH, "kill", 9999, SIGTERM)
		f.ok(t, "tgkill", uint64(c1.tid), uint64(c1.tid), 0)
		f.fails(t, ESRCH, "tgkill", uint64(c1.tid), DefaultPID, 0)
	})
}

// TestPidfd: Go's pidfd probe and its use for a child.
func TestPidfd(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		self := f.ok(t, "pidfd_open", DefaultPID, 0)
		f.fails(t, ECHILD, "waitid", P_PIDFD, self, f.alloc(128), WEXITED, 0)
		f.ok(t, "pidfd_send_signal", self, 0, 0, 0)
		f.fails(t, ESRCH, "pidfd_open", 9999, 0)
		f.fails(t, EINVAL, "waitid", P_PIDFD, 1, f.alloc(128), WEXITED, 0)

		// CLONE_PIDFD puts the child's pidfd where parent_tid points.
		at := f.alloc(4)
		pid := f.ok(t, "clone", cloneArgs(a, CLONE_PIDFD|SIGCHLD, 0, at, 0, 0)...)
		child := f.child(t, int(pid))
		pfd := uint64(f.u32At(t, at))
		pf, err := f.Kernel().files.get(int32(pfd))
		if err != nil || pf.n.pidfd != child.Kernel() {
			t.Fatalf("CLONE_PIDFD fd %d: %v", pfd, err)
		}
		if got, _ := pollFile(pf); got != 0 {
			t.Errorf("pidfd of a running child polls %#x", got)
		}
		f.ok(t, "fcntl", pfd, F_SETFL, O_NONBLOCK)
		f.fails(t, EAGAIN, "waitid", P_PIDFD, pfd, f.alloc(128), WEXITED, 0)
		if err := child.Kernel().Ended(child, ExitStatus{Code: 0}); err != nil {
			t.Fatal(err)
		}
		if got, _ := pollFile(pf); got&EPOLLIN == 0 {
			t.Errorf("pidfd of an ended child polls %#x, want EPOLLIN", got)
		}
		f.fails(t, ESRCH, "pidfd_send_signal", pfd, SIGTERM, 0, 0)
		f.ok(t, "waitid", P_PIDFD, pfd, f.alloc(128), WEXITED, 0)
		f.fails(t, ECHILD, "waitid", P_PIDFD, pfd, f.alloc(128), WEXITED, 0)
	})
}

// TestSetIDs: root may take any ids; others move only between their
// real, effective and saved ones.
func TestSetIDs(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		f.ok(t, "setresuid", 1000, 1000, 0)
		ids := f.alloc(12)
		f.ok(t, "getresuid", ids, ids+4, ids+8)
		if got := [3]uint32{f.u32At(t, ids), f.u32At(t, ids+4), f.u32At(t, ids+8)}; got != [3]uint32{1000, 1000, 0} {
			t.Errorf("getresuid %v", got)
		}
		if f.ok(t, "geteuid") != 1000 || f.Kernel().cfg.UID != 1000 {
			t.Error("the effective uid did not change")
		}
		f.ok(t, "setuid", 0) // back to the saved id
		f.ok(t, "setuid", 1000)
		f.fails(t, EPERM, "setuid", 0) // root gave all three away
		f.fails(t, EPERM, "setgid", 5)
		f.fails(t, EINVAL, "setuid", 0xffffffff)
	})
}

// TestSharedFileMapping: stores to a MAP_SHARED mapping of a file open
// for writing reach the file at msync and munmap, not past its end; a
// private mapping's never do. fallocate extends a tmpfs file.
func TestSharedFileMapping(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newTmpFake(t, a)
		page := a.PageSize
		fd := f.ok(t, "openat", neg(-AT_FDCWD), f.cstr("/tmp/out"), O_RDWR|O_CREAT, 0o644)
		f.fails(t, EOPNOTSUPP, "fallocate", fd, 2, 0, page) // FALLOC_FL_PUNCH_HOLE
		f.ok(t, "fallocate", fd, 0, 0, page+100)
		size := func() int64 { fl, _ := f.Kernel().files.get(int32(fd)); return fl.size() }
		if size() != int64(page+100) {
			t.Fatalf("size after fallocate %d", size())
		}
		addr := f.ok(t, "mmap", 0, 2*page, uint64(PROT_READ|PROT_WRITE), MAP_SHARED, fd, 0)
		priv := f.ok(t, "mmap", 0, page, uint64(PROT_READ|PROT_WRITE), MAP_PRIVATE, fd, 0)
		if err := f.WriteMem(priv, []byte("private")); err != nil {
			t.Fatal(err)
		}
		if err := f.WriteMem(addr, []byte("shared!")); err != nil {
			t.Fatal(err)
		}
		if err := f.WriteMem(addr+page+200, []byte("past the end")); err != nil {
			t.Fatal(err)
		}
		buf := f.alloc(8)
		f.ok(t, "pread64", fd, buf, 7, 0)
		if got := string(f.mem(t, buf, 7)); got != "\x00\x00\x00\x00\x00\x00\x00" {
			t.Errorf("before msync the file holds %q", got)
		}
		f.fails(t, EINVAL, "msync", addr+1, page, MS_SYNC)
		f.ok(t, "msync", addr, page, MS_SYNC)
		f.ok(t, "pread64", fd, buf, 7, 0)
		if got := string(f.mem(t, buf, 7)); got != "shared!" {
			t.Errorf("after msync the file holds %q", got)
		}
		f.ok(t, "close", fd) // the mapping keeps the file
		if err := f.WriteMem(addr+page, []byte("tail")); err != nil {
			t.Fatal(err)
		}
		f.ok(t, "munmap", addr, 2*page)
		if len(f.Kernel().shared) != 0 {
			t.Errorf("records after munmap: %d", len(f.Kernel().shared))
		}
		fd = f.ok(t, "openat", neg(-AT_FDCWD), f.cstr("/tmp/out"), O_RDONLY, 0)
		f.ok(t, "pread64", fd, buf, 4, page)
		if got := string(f.mem(t, buf, 4)); got != "tail" || size() != int64(page+100) {
			t.Errorf("after munmap: %q, size %d (the store past the end must not grow it)", got, size())
		}
	})
}

// flockAt stores a struct flock for fcntl's lock commands.
func (f *fakeTask) flockAt(typ int16, start, length int64) uint64 {
	b := make([]byte, flockSize)
	le.PutUint16(b, uint16(typ))
	le.PutUint64(b[8:], uint64(start))
	le.PutUint64(b[16:], uint64(length))
	return f.bytesAt(b)
}

// TestRecordLocksBetweenProcesses: POSIX record locks conflict between
// processes by byte range, F_GETLK names the holder, and closing any
// descriptor of the file drops the process's locks; OFD locks belong to
// the open file description.
func TestRecordLocksBetweenProcesses(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newTmpFake(t, a)
		fd := f.ok(t, "openat", neg(-AT_FDCWD), f.cstr("/tmp/db"), O_RDWR|O_CREAT, 0o644)
		child := f.fork(t, a, SIGCHLD)
		cfd := child.ok(t, "openat", neg(-AT_FDCWD), child.cstr("/tmp/db"), O_RDWR, 0)

		f.ok(t, "fcntl", fd, F_SETLK, f.flockAt(F_WRLCK, 0, 100))
		f.ok(t, "fcntl", fd, F_SETLK, f.flockAt(F_RDLCK, 50, 10)) // its own: no conflict
		child.ok(t, "fcntl", cfd, F_SETLK, child.flockAt(F_WRLCK, 100, 0))
		child.fails(t, EAGAIN, "fcntl", cfd, F_SETLK, child.flockAt(F_RDLCK, 10, 1))
		child.ok(t, "fcntl", cfd, F_SETLK, child.flockAt(F_RDLCK, 50, 10)) // read under read
		if c := child.sys(t, "fcntl", cfd, F_SETLKW, child.flockAt(F_WRLCK, 0, 1)); !c.Blocked {
			t.Errorf("F_SETLKW over a held range: %+v, want it to wait", c)
		}
		q := child.flockAt(F_WRLCK, 0, 0)
		child.ok(t, "fcntl", cfd, F_GETLK, q)
		b := child.mem(t, q, flockSize)
		if int16(le.Uint16(b)) != F_WRLCK || le.Uint64(b[8:]) != 0 || le.Uint64(b[16:]) != 50 || le.Uint32(b[24:]) != DefaultPID {
			t.Errorf("F_GETLK: type %d start %d len %d pid %d", int16(le.Uint16(b)), le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint32(b[24:]))
		}
		// Closing another descriptor of the file drops all the parent's locks.
		other := f.ok(t, "openat", neg(-AT_FDCWD), f.cstr("/tmp/db"), O_RDONLY, 0)
		f.ok(t, "close", other)
		child.ok(t, "fcntl", cfd, F_SETLK, child.flockAt(F_WRLCK, 0, 50))
		f.fails(t, EAGAIN, "fcntl", fd, F_SETLK, f.flockAt(F_RDLCK, 0, 1))

		// OFD locks conflict between descriptions, even in one process.
		x := f.ok(t, "openat", neg(-AT_FDCWD), f.cstr("/tmp/ofd"), O_RDWR|O_CREAT, 0o644)
		y := f.ok(t, "openat", neg(-AT_FDCWD), f.cstr("/tmp/ofd"), O_RDWR, 0)
		f.ok(t, "fcntl", x, F_OFD_SETLK, f.flockAt(F_WRLCK, 0, 0))
		f.fails(t, EAGAIN, "fcntl", y, F_OFD_SETLK, f.flockAt(F_WRLCK, 0, 0))
		f.fails(t, EINVAL, "fcntl", y, F_OFD_SETLK, f.bytesAt(append(make([]byte, 24), 1, 0, 0, 0, 0, 0, 0, 0)))
		f.ok(t, "close", x)
		f.ok(t, "fcntl", y, F_OFD_SETLK, f.flockAt(F_WRLCK, 0, 0))
	})
}
