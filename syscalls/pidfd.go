package syscalls

// pidfds (pidfd_open(2), CLONE_PIDFD): a descriptor that refers to a
// process. It polls readable once the process has ended, waitid(P_PIDFD)
// waits for it, and pidfd_send_signal signals it without the risk of a
// reused pid. The Go runtime uses them for os.Process when they work.

// Flags of pidfd_open.
const (
	PIDFD_NONBLOCK = O_NONBLOCK
	PIDFD_THREAD   = O_EXCL
)

// openPidfd installs a pidfd for process p; pidfds are always
// close-on-exec.
func openPidfd(t Task, p *Kernel, nonblock bool) (int, error) {
	k := t.Kernel()
	n := k.fs.newAnon("pidfd")
	n.pidfd = p
	f := &file{n: n, flags: O_RDWR}
	if nonblock {
		f.flags |= O_NONBLOCK
	}
	return k.files.alloc(f, 0, true)
}

// pidfdPoll is pidfd_poll: readable once the process has ended.
func (k *Kernel) pidfdPoll() uint32 {
	if k.ended != nil {
		return EPOLLIN | EPOLLRDNORM
	}
	return 0
}

// pidfdOf returns the process fd refers to: EBADF for no descriptor,
// EINVAL for one that is not a pidfd.
func pidfdOf(t Task, fd int32) (*Kernel, *file, error) {
	f, err := t.Kernel().files.get(fd)
	if err != nil {
		return nil, nil, err
	}
	if f.n.pidfd == nil {
		return nil, nil, EINVAL
	}
	return f.n.pidfd, f, nil
}

// PidfdOpen implements pidfd_open(2) for any process of the emulation.
func PidfdOpen(t Task, a Args) (uint64, error) {
	pid, flags := int(a.Int32(0)), a.U32(1)
	if flags&^uint32(PIDFD_NONBLOCK|PIDFD_THREAD) != 0 || pid <= 0 {
		return 0, EINVAL
	}
	p, ok := t.Kernel().procs[pid]
	if !ok {
		if flags&PIDFD_THREAD == 0 {
			return 0, ESRCH
		}
		if _, ok := t.Kernel().thread(pid); !ok {
			return 0, ESRCH
		}
		p = t.Kernel() // a thread of the caller's process
	}
	fd, err := openPidfd(t, p, flags&PIDFD_NONBLOCK != 0)
	return uint64(fd), err
}

// PidfdSendSignal implements pidfd_send_signal(2) without a siginfo.
func PidfdSendSignal(t Task, a Args) (uint64, error) {
	p, _, err := pidfdOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	sig := int(a.Int32(1))
	switch {
	case sig < 0 || sig > NSIG || a.U32(3) != 0:
		return 0, EINVAL
	case a.Ptr(2) != 0:
		note(t, "a caller-supplied siginfo is not emulated")
		return 0, EINVAL
	case p.ended != nil:
		return 0, ESRCH
	}
	k := t.Kernel()
	return sendSignalTo(t, p, 0, SigInfo{Signo: sig, Code: SI_USER, PID: k.cfg.PID, Sender: t.TID()})
}
