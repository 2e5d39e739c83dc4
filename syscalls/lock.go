package syscalls

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// Advisory file locks, kept per file with a wait queue for blocked
// lockers. flock(2) locks belong to an open file description and
// conflict between descriptions of one file, even in one process. Record
// locks (fcntl) lock byte ranges: POSIX ones (F_SETLK) belong to a
// process, never conflict with its own, and go when it closes any
// descriptor of the file; open file description ones (F_OFD_SETLK)
// belong to the description, as flock locks do, and go with it.

// flock operations and fcntl lock types (include/uapi/asm-generic/fcntl.h).
const (
	LOCK_SH = 1
	LOCK_EX = 2
	LOCK_NB = 4
	LOCK_UN = 8

	F_RDLCK = 0
	F_WRLCK = 1
	F_UNLCK = 2

	flockSize = 32 // struct flock on both guests
)

// fileLocks are the locks on one file.
type fileLocks struct {
	holders map[*file]int // flock locks: LOCK_SH or LOCK_EX
	records []recordLock  // by start
	q       *waitQueue
}

// recordLock is a lock on the bytes [start, end) of a file (end is
// maxOffset for "to the end, however far").
type recordLock struct {
	owner      any // a *Kernel (POSIX) or a *file (OFD)
	pid        int // F_GETLK's l_pid: the owner's pid, -1 for OFD
	start, end uint64
	write      bool
}

const maxOffset = 1<<63 - 1

// locksOf returns the locks of f's file, made on first use.
func (k *Kernel) locksOf(f *file) *fileLocks {
	key := lockKey(f.n)
	if k.locks == nil {
		k.locks = map[any]*fileLocks{}
	}
	l := k.locks[key]
	if l == nil {
		l = &fileLocks{holders: map[*file]int{}, q: k.newWaitQueue()}
		k.locks[key] = l
	}
	return l
}

// tidy forgets a file's locks once it has none.
func (k *Kernel) tidy(f *file, l *fileLocks) {
	if len(l.holders) == 0 && len(l.records) == 0 {
		delete(k.locks, lockKey(f.n))
	}
}

// lockKey identifies the file f is open on, whatever node the lookup
// made: a host file by device and inode, a tmpfs file by its inode.
func lockKey(n *node) any {
	switch {
	case n.host != nil:
		return [2]uint64{n.host.dev, n.host.ino}
	case n.tmp != nil:
		return n.tmp
	}
	return n
}

// Flock implements flock(2).
func Flock(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	f, err := fdFile(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	op := a.U32(1)
	kind := op &^ LOCK_NB
	if kind != LOCK_SH && kind != LOCK_EX && kind != LOCK_UN {
		return 0, EINVAL
	}
	l := k.locksOf(f)
	if kind == LOCK_UN {
		k.unlock(t, f)
		return 0, nil
	}
	for g, mode := range l.holders {
		if g != f && (kind == LOCK_EX || mode == LOCK_EX) {
			if op&LOCK_NB != 0 {
				return 0, EWOULDBLOCK
			}
			ws, _, _ := restartState(t)
			return block(t, l.q, ws)
		}
	}
	l.holders[f] = int(kind)
	f.locked = true
	return 0, nil
}

// unlock drops f's flock lock and its open file description record
// locks, waking those waiting for the file; t is nil when the whole
// kernel closes.
func (k *Kernel) unlock(t Task, f *file) {
	l := k.locks[lockKey(f.n)]
	if l == nil {
		return
	}
	delete(l.holders, f)
	f.locked = false
	l.records = slices.DeleteFunc(l.records, func(r recordLock) bool { return r.owner == f })
	k.tidy(f, l)
	if t != nil {
		l.q.wake(t, 0)
	}
}

// dropRecordLocks drops process k's POSIX locks on f's file: what closing
// any descriptor of the file does.
func (k *Kernel) dropRecordLocks(t Task, f *file) {
	l := k.locks[lockKey(f.n)]
	if l == nil {
		return
	}
	n := len(l.records)
	l.records = slices.DeleteFunc(l.records, func(r recordLock) bool { return r.owner == k })
	if len(l.records) != n {
		k.tidy(f, l)
		if t != nil {
			l.q.wake(t, 0)
		}
	}
}

// fcntlLock is fcntl's F_GETLK, F_SETLK and F_SETLKW, and their F_OFD_
// forms (ofd): a struct flock at addr.
func fcntlLock(t Task, f *file, cmd int32, addr uint64, ofd bool) (uint64, error) {
	b, err := copyIn(t, addr, flockSize)
	if err != nil {
		return 0, err
	}
	typ := int16(binary.LittleEndian.Uint16(b))
	whence := int16(binary.LittleEndian.Uint16(b[2:]))
	start := int64(binary.LittleEndian.Uint64(b[8:]))
	length := int64(binary.LittleEndian.Uint64(b[16:]))
	get := cmd == F_GETLK || cmd == F_OFD_GETLK
	switch typ {
	case F_RDLCK:
		if !get && !f.readable() {
			return 0, EBADF
		}
	case F_WRLCK:
		if !get && !f.writable() {
			return 0, EBADF
		}
	case F_UNLCK:
		if get {
			return 0, EINVAL
		}
	default:
		return 0, EINVAL
	}
	if ofd && binary.LittleEndian.Uint32(b[24:]) != 0 {
		return 0, EINVAL // l_pid must be 0
	}
	// flock_to_posix_lock: the range from whence, start and length.
	switch whence {
	case SEEK_SET:
	case SEEK_CUR:
		start += f.off
	case SEEK_END:
		start += f.size()
	default:
		return 0, EINVAL
	}
	if start < 0 {
		return 0, EINVAL
	}
	end := uint64(maxOffset)
	switch {
	case length > 0:
		if start+length-1 < start {
			return 0, EOVERFLOW
		}
		end = uint64(start + length)
	case length < 0:
		if start+length < 0 {
			return 0, EINVAL
		}
		start, end = start+length, uint64(start)
	}
	k := t.Kernel()
	want := recordLock{owner: k, pid: k.cfg.PID, start: uint64(start), end: end, write: typ == F_WRLCK}
	if ofd {
		want.owner, want.pid = f, -1
	}
	l := k.locksOf(f)
	defer k.tidy(f, l)
	if get {
		c, ok := l.conflict(want)
		if !ok {
			binary.LittleEndian.PutUint16(b, F_UNLCK)
			return 0, t.WriteMem(addr, b)
		}
		binary.LittleEndian.PutUint16(b, uint16(F_RDLCK))
		if c.write {
			binary.LittleEndian.PutUint16(b, uint16(F_WRLCK))
		}
		binary.LittleEndian.PutUint16(b[2:], SEEK_SET)
		binary.LittleEndian.PutUint64(b[8:], c.start)
		clen := c.end - c.start
		if c.end == maxOffset {
			clen = 0
		}
		binary.LittleEndian.PutUint64(b[16:], clen)
		binary.LittleEndian.PutUint32(b[24:], uint32(int32(c.pid)))
		return 0, t.WriteMem(addr, b)
	}
	if typ != F_UNLCK {
		if _, ok := l.conflict(want); ok {
			if cmd == F_SETLK || cmd == F_OFD_SETLK {
				return 0, EAGAIN
			}
			ws, _, _ := restartState(t)
			return block(t, l.q, ws)
		}
	}
	l.set(want, typ == F_UNLCK)
	if ofd {
		f.locked = true // released with the description
	}
	l.q.wake(t, 0)
	return 0, nil
}

// conflict finds a lock of another owner that overlaps want and that
// want cannot share (one of the two writes).
func (l *fileLocks) conflict(want recordLock) (recordLock, bool) {
	for _, r := range l.records {
		if r.owner != want.owner && r.start < want.end && want.start < r.end && (r.write || want.write) {
			return r, true
		}
	}
	return recordLock{}, false
}

// set gives want's owner want's lock on its range (or, with unlock, none
// there), replacing what it held there, and merges its adjacent locks of
// one kind, as posix_lock_inode does.
func (l *fileLocks) set(want recordLock, unlock bool) {
	var out []recordLock
	for _, r := range l.records {
		if r.owner != want.owner || r.end <= want.start || want.end <= r.start {
			out = append(out, r)
			continue
		}
		if r.start < want.start {
			left := r
			left.end = want.start
			out = append(out, left)
		}
		if want.end < r.end {
			right := r
			right.start = want.end
			out = append(out, right)
		}
	}
	if !unlock {
		out = append(out, want)
	}
	slices.SortFunc(out, func(a, b recordLock) int { return cmp.Compare(a.start, b.start) })
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 {
			if m := &merged[n-1]; m.owner == r.owner && m.write == r.write && m.end >= r.start {
				m.end = max(m.end, r.end)
				continue
			}
		}
		merged = append(merged, r)
	}
	l.records = merged
}
