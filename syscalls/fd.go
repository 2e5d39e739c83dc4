package syscalls

import (
	"errors"
	"fmt"
	"io"
)

// file is an open file description: what open returns and dup shares
// (offset and status flags included).
type file struct {
	n *node
	// flags are the open flags as F_GETFL reports them (no O_CLOEXEC,
	// which belongs to the descriptor), less O_LARGEFILE, whose value
	// depends on the arch.
	flags uint64
	// largefile: opened by open(2), which sets O_LARGEFILE on every
	// 64-bit open (force_o_largefile); pipes, eventfds and epoll
	// instances do not have it.
	largefile bool
	// data is a virtual regular file's contents, generated when it was
	// opened (like a seq_file's first read).
	data []byte
	off  int64
	// refs counts the descriptors that refer to the description; the
	// last close releases it (the final fput).
	refs int
	// items are the epoll items watching this description; releasing it
	// removes them (eventpoll_release).
	items []*epitem
	// host is the open host file of a regular file under Config.FSRoot.
	host hostFile
	// dirents is a directory's listing, taken by getdents at offset 0.
	dirents []dirent
	// locked: the description holds a flock lock (lock.go).
	locked bool
}

func (f *file) readable() bool { return f.flags&O_ACCMODE != O_WRONLY && f.flags&O_PATH == 0 }
func (f *file) writable() bool {
	acc := f.flags & O_ACCMODE
	return (acc == O_WRONLY || acc == O_RDWR) && f.flags&O_PATH == 0
}

// size is what a seek to the end or a file mapping sees as the length.
func (f *file) size() int64 {
	if f.n.host != nil {
		if refresh(f) != nil {
			return 0
		}
		return f.n.host.size
	}
	if in := f.n.tmp; in != nil {
		return int64(len(in.data))
	}
	return int64(len(f.data))
}

// release frees what the description holds once no descriptor refers to
// it: its epoll items, a pipe end, an epoll instance, a host file. t is nil
// when the whole kernel is being closed, and then nobody is woken.
func (f *file) release(t Task, k *Kernel) error {
	for len(f.items) > 0 {
		it := f.items[len(f.items)-1]
		it.ep.remove(it)
	}
	n := f.n
	if f.locked {
		k.unlock(t, f)
	}
	k.hold(f, -1)
	switch {
	case n.pipe != nil:
		n.pipe.release(t, f)
	case n.ep != nil:
		n.ep.release()
	case n.tmp != nil:
		n.tmp.opens--
		k.tmpRelease(n.tmp)
	case n.sock != nil && n.kind == kindAnon:
		n.sock.release(t)
	}
	if f.host != nil {
		h := f.host
		f.host = nil
		if k.kept.keep {
			// A snapshot may bring this description back (KeepHostFiles).
			k.kept.files[h] = true
			return nil
		}
		if err := h.Close(); err != nil {
			return fmt.Errorf("closing %s under the fs root: %w", k.fs.pathOf(n), err)
		}
	}
	return nil
}

// What open files may hold of the host, whatever RLIMIT_NOFILE the guest
// sets: host descriptors (files under Config.FSRoot), and the bytes of
// the virtual files' contents taken at open (a /proc/self/maps of a large
// address space is megabytes). Past them an open fails with ENFILE, the
// system's file table being full.
const (
	maxHostFiles    = 4096
	maxVirtualBytes = 256 << 20
)

// holdsRoom says whether one more file like n may be opened.
func (k *Kernel) holdsRoom(n *node) error {
	if n.host != nil && k.hostFiles >= maxHostFiles || k.virtualBytes >= maxVirtualBytes {
		return ENFILE
	}
	return nil
}

// hold counts what f holds of the host, once opened (dir 1) and once
// released (dir -1).
func (k *Kernel) hold(f *file, dir int) {
	if f.host != nil {
		k.hostFiles += dir
	}
	k.virtualBytes += dir * len(f.data)
}

// fdSlot is one entry of the descriptor table.
type fdSlot struct {
	f       *file
	cloexec bool
}

// fdTable is the process's descriptor table (CLONE_FILES: one per process).
type fdTable struct {
	k     *Kernel
	slots []fdSlot
}

// init opens the standard descriptors: 0 reads like /dev/null, or is a
// pipe from Config.Stdin; 1 and 2 are pipes whose other ends are
// Config.Stdout and Config.Stderr, as when a program runs as
// `prog </dev/null 2>&1 | cat`, but with stderr separate.
func (ft *fdTable) init(k *Kernel) {
	ft.k = k
	null, err := k.fs.resolve(k.fs.root, "/dev/null", true)
	if err != nil {
		panic("syscalls: virtual filesystem has no /dev/null")
	}
	std := func(w io.Writer) *file {
		return &file{n: k.fs.newPipe(k.newHostPipe(w)), flags: O_WRONLY, refs: 1}
	}
	in := &file{n: null, flags: O_RDONLY, largefile: true, refs: 1}
	if k.cfg.Stdin != nil {
		in = &file{n: k.fs.newPipe(k.newHostInPipe(k.cfg.Stdin)), flags: O_RDONLY, refs: 1}
	}
	ft.slots = []fdSlot{{f: in}, {f: std(k.cfg.Stdout)}, {f: std(k.cfg.Stderr)}}
}

// get returns the open file of fd, or EBADF.
func (ft *fdTable) get(fd int32) (*file, error) {
	if fd < 0 || int(fd) >= len(ft.slots) || ft.slots[fd].f == nil {
		return nil, EBADF
	}
	return ft.slots[fd].f, nil
}

// limit is RLIMIT_NOFILE's soft limit: fds are below it.
func (ft *fdTable) limit() int {
	cur := ft.k.rlimits[RLIMIT_NOFILE].cur
	if cur > nrOpen {
		return nrOpen
	}
	return int(cur)
}

// alloc installs f at the lowest free fd >= min: EMFILE past the limit.
func (ft *fdTable) alloc(f *file, min int, cloexec bool) (int, error) {
	lim := ft.limit()
	start := min
	if start < 0 {
		start = 0
	}
	for fd := start; fd < lim; fd++ {
		if fd >= len(ft.slots) {
			ft.slots = append(ft.slots, make([]fdSlot, fd+1-len(ft.slots))...)
		}
		if ft.slots[fd].f == nil {
			ft.slots[fd] = fdSlot{f: f, cloexec: cloexec}
			f.refs++
			return fd, nil
		}
	}
	return 0, EMFILE
}

// install puts f at fd, closing what was there (dup2/dup3).
func (ft *fdTable) install(t Task, fd int, f *file, cloexec bool) error {
	if fd >= len(ft.slots) {
		ft.slots = append(ft.slots, make([]fdSlot, fd+1-len(ft.slots))...)
	}
	old := ft.slots[fd].f
	f.refs++
	ft.slots[fd] = fdSlot{f: f, cloexec: cloexec}
	if old != nil {
		ft.k.dropRecordLocks(t, old)
	}
	return ft.put(t, old)
}

// close removes fd from the table and drops its reference.
func (ft *fdTable) close(t Task, fd int32) error {
	f, err := ft.get(fd)
	if err != nil {
		return err
	}
	ft.slots[fd] = fdSlot{}
	for len(ft.slots) > 0 && ft.slots[len(ft.slots)-1].f == nil {
		ft.slots = ft.slots[:len(ft.slots)-1]
	}
	ft.k.dropRecordLocks(t, f) // POSIX: closing any descriptor of the file
	return ft.put(t, f)
}

// drop empties fd's slot without releasing its file: the undoing of an
// alloc whose syscall fails afterwards (nobody has seen the fd).
func (ft *fdTable) drop(fd int) {
	ft.slots[fd].f.refs--
	ft.slots[fd] = fdSlot{}
	for len(ft.slots) > 0 && ft.slots[len(ft.slots)-1].f == nil {
		ft.slots = ft.slots[:len(ft.slots)-1]
	}
}

// put drops one reference to f and releases it after the last.
func (ft *fdTable) put(t Task, f *file) error {
	if f == nil {
		return nil
	}
	f.refs--
	if f.refs > 0 {
		return nil
	}
	return f.release(t, ft.k)
}

// closeAll drops every descriptor without waking anyone (Kernel.Close).
func (ft *fdTable) closeAll() error {
	var errs []error
	for fd := range ft.slots {
		f := ft.slots[fd].f
		ft.slots[fd] = fdSlot{}
		if err := ft.put(nil, f); err != nil {
			errs = append(errs, err)
		}
	}
	ft.slots = nil
	return errors.Join(errs...)
}

func (ft *fdTable) count() int {
	n := 0
	for _, s := range ft.slots {
		if s.f != nil {
			n++
		}
	}
	return n
}

// KeepHostFiles makes the kernel keep the host files its guests close
// open until it is closed: a process taken back to a snapshot reads them
// again. Host files are read only where a run can go back (no Config.RW),
// so what they hold stays what it was.
func (k *Kernel) KeepHostFiles() { k.kept.keep = true }

// KeepOpenHostFiles hands the host files open now to the kernel to close
// at its end: a process about to go back to a snapshot forgets the
// descriptions opened since.
func (k *Kernel) KeepOpenHostFiles() {
	for _, q := range k.procs {
		for _, s := range q.files.slots {
			if s.f != nil && s.f.host != nil {
				k.kept.files[s.f.host] = true
			}
		}
	}
}

// keptFiles are the host files guests closed while KeepHostFiles was on,
// and those open when a process went back to a snapshot. They stand for
// the host, which does not go back with the process.
type keptFiles struct {
	keep  bool
	files map[hostFile]bool
}

// OutsideProcess says snapshots leave the kept files alone (emu.Outside).
func (*keptFiles) OutsideProcess() {}

func (kf *keptFiles) close() error {
	var err error
	for h := range kf.files {
		err = errors.Join(err, h.Close())
	}
	kf.files = nil
	return err
}
