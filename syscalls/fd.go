package syscalls

import "io"

// file is an open file description: what open returns and dup shares
// (offset and status flags included).
type file struct {
	n *node
	// flags are the open flags as F_GETFL reports them (no O_CLOEXEC,
	// which belongs to the descriptor), less O_LARGEFILE, which every
	// 64-bit open has (force_o_largefile) and F_GETFL adds.
	flags uint64
	// data is a regular file's contents, generated when it was opened
	// (like a seq_file's first read).
	data []byte
	off  int64
	// w receives a pipe's writes (fds 1 and 2).
	w io.Writer
}

func (f *file) readable() bool { return f.flags&O_ACCMODE != O_WRONLY && f.flags&O_PATH == 0 }
func (f *file) writable() bool {
	acc := f.flags & O_ACCMODE
	return (acc == O_WRONLY || acc == O_RDWR) && f.flags&O_PATH == 0
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

// init opens the standard descriptors: 0 reads like /dev/null, 1 and 2 are
// pipes whose other ends are Config.Stdout and Config.Stderr, as when a
// program runs as `prog </dev/null 2>&1 | cat`, but with stderr separate.
func (ft *fdTable) init(k *Kernel) {
	ft.k = k
	null, err := k.fs.resolve(k.fs.root, "/dev/null", true)
	if err != nil {
		panic("syscalls: virtual filesystem has no /dev/null")
	}
	ft.slots = []fdSlot{
		{f: &file{n: null, flags: O_RDONLY}},
		{f: &file{n: k.fs.newPipe(), flags: O_WRONLY, w: k.cfg.Stdout}},
		{f: &file{n: k.fs.newPipe(), flags: O_WRONLY, w: k.cfg.Stderr}},
	}
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
	for fd := min; fd < lim; fd++ {
		if fd >= len(ft.slots) {
			ft.slots = append(ft.slots, make([]fdSlot, fd+1-len(ft.slots))...)
		}
		if ft.slots[fd].f == nil {
			ft.slots[fd] = fdSlot{f: f, cloexec: cloexec}
			return fd, nil
		}
	}
	return 0, EMFILE
}

// install puts f at fd, closing what was there (dup2/dup3).
func (ft *fdTable) install(fd int, f *file, cloexec bool) {
	if fd >= len(ft.slots) {
		ft.slots = append(ft.slots, make([]fdSlot, fd+1-len(ft.slots))...)
	}
	ft.slots[fd] = fdSlot{f: f, cloexec: cloexec}
}

func (ft *fdTable) close(fd int32) error {
	if _, err := ft.get(fd); err != nil {
		return err
	}
	ft.slots[fd] = fdSlot{}
	for len(ft.slots) > 0 && ft.slots[len(ft.slots)-1].f == nil {
		ft.slots = ft.slots[:len(ft.slots)-1]
	}
	return nil
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
