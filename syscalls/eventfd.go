package syscalls

// eventfd(2), as fs/eventfd.c has it: a 64-bit counter that write adds to
// and read takes (all of it, or 1 with EFD_SEMAPHORE), readable while it
// is not zero, writable while it is below 2^64-2. A read of a zero counter
// or a write that would overflow it waits, or fails with EAGAIN under
// O_NONBLOCK.

// eventfd is one counter (struct eventfd_ctx).
type eventfd struct {
	q         *waitQueue // readers and writers both wait here
	count     uint64
	semaphore bool
}

const eventfdMax = ^uint64(0) // ULLONG_MAX: a count that is never reached

// poll is eventfd_poll.
func (e *eventfd) poll() uint32 {
	var ev uint32
	if e.count > 0 {
		ev |= EPOLLIN
	}
	if e.count == eventfdMax {
		ev |= EPOLLERR
	}
	if eventfdMax-1 > e.count {
		ev |= EPOLLOUT
	}
	return ev
}

// read is eventfd_read: the 8-byte value goes out after the counter has
// changed, so a fault loses it, as in Linux.
func (e *eventfd) read(t Task, f *file, dst *ioDst) (uint64, error) {
	if dst.left() < 8 {
		return 0, EINVAL
	}
	ws, _, _ := restartState(t)
	if e.count == 0 {
		if f.flags&O_NONBLOCK != 0 {
			return 0, EAGAIN
		}
		return block(t, e.q, ws)
	}
	v := e.count
	if e.semaphore {
		v = 1
	}
	e.count -= v
	e.q.wake(t, EPOLLOUT)
	var b [8]byte
	le.PutUint64(b[:], v)
	if _, err := dst.put(b[:]); err != nil {
		return 0, err
	}
	return 8, nil
}

// write is eventfd_write.
func (e *eventfd) write(t Task, f *file, src *ioSrc) (uint64, error) {
	if src.left() < 8 {
		return 0, EINVAL
	}
	b, err := src.get(8)
	if err != nil {
		return 0, err
	}
	v := le.Uint64(b)
	if v == eventfdMax {
		return 0, EINVAL
	}
	ws, _, _ := restartState(t)
	if eventfdMax-e.count <= v {
		if f.flags&O_NONBLOCK != 0 {
			return 0, EAGAIN
		}
		return block(t, e.q, ws)
	}
	e.count += v
	e.q.wake(t, EPOLLIN)
	return 8, nil
}

// eventfdAt is the body of eventfd and eventfd2.
func eventfdAt(t Task, initval uint32, flags uint32) (uint64, error) {
	if flags&^uint32(EFD_SEMAPHORE|EFD_CLOEXEC|EFD_NONBLOCK) != 0 {
		return 0, EINVAL
	}
	k := t.Kernel()
	n := k.fs.newAnon("eventfd")
	n.efd = &eventfd{q: k.newWaitQueue(), count: uint64(initval), semaphore: flags&EFD_SEMAPHORE != 0}
	f := &file{n: n, flags: O_RDWR | uint64(flags&EFD_NONBLOCK)}
	fd, err := k.files.alloc(f, 0, flags&EFD_CLOEXEC != 0)
	return uint64(fd), err
}

// Eventfd2 implements eventfd2(2).
func Eventfd2(t Task, a Args) (uint64, error) {
	return eventfdAt(t, a.U32(0), a.U32(1))
}

// Eventfd implements eventfd(2) (amd64 only): eventfd2 without flags.
func Eventfd(t Task, a Args) (uint64, error) {
	return eventfdAt(t, a.U32(0), 0)
}
