package syscalls

import "encoding/binary"

// Advisory file locks. flock(2) locks belong to an open file description
// and conflict between descriptions of one file, even in one process, so
// they are kept per file, with a wait queue for blocked lockers. POSIX
// record locks (fcntl F_SETLK) belong to a process and never conflict
// with the same process's own, and the emulated process is the only one:
// they are checked and always granted, and F_GETLK finds no conflicting
// lock, as Linux answers a process alone with its files. Open file
// description record locks (F_OFD_*) are not emulated.

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

// fileLocks are the flock locks on one file.
type fileLocks struct {
	holders map[*file]int // LOCK_SH or LOCK_EX
	q       *waitQueue
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
	key := lockKey(f.n)
	if k.locks == nil {
		k.locks = map[any]*fileLocks{}
	}
	l := k.locks[key]
	if l == nil {
		l = &fileLocks{holders: map[*file]int{}, q: k.newWaitQueue()}
		k.locks[key] = l
	}
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

// unlock drops f's flock lock, waking those waiting for the file; t is
// nil when the whole kernel closes.
func (k *Kernel) unlock(t Task, f *file) {
	key := lockKey(f.n)
	l := k.locks[key]
	if l == nil {
		return
	}
	delete(l.holders, f)
	f.locked = false
	if len(l.holders) == 0 {
		delete(k.locks, key)
	}
	if t != nil {
		l.q.wake(t, 0)
	}
}

// recordLock is fcntl's F_GETLK, F_SETLK and F_SETLKW.
func recordLock(t Task, f *file, cmd int32, addr uint64) (uint64, error) {
	b, err := copyIn(t, addr, flockSize)
	if err != nil {
		return 0, err
	}
	typ := int16(binary.LittleEndian.Uint16(b))
	whence := int16(binary.LittleEndian.Uint16(b[2:]))
	if whence > SEEK_END || whence < SEEK_SET {
		return 0, EINVAL
	}
	switch typ {
	case F_RDLCK:
		if cmd != F_GETLK && !f.readable() {
			return 0, EBADF
		}
	case F_WRLCK:
		if cmd != F_GETLK && !f.writable() {
			return 0, EBADF
		}
	case F_UNLCK:
		if cmd == F_GETLK {
			return 0, EINVAL
		}
	default:
		return 0, EINVAL
	}
	if cmd == F_GETLK {
		binary.LittleEndian.PutUint16(b, F_UNLCK) // nobody else holds a lock
		return 0, t.WriteMem(addr, b)
	}
	return 0, nil
}
