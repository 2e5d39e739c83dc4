package syscalls

import (
	"errors"
	"fmt"
	"io"
)

// The read-only view of a host directory (Config.FSRoot).
//
// Under the root filesystem, a name the virtual tree does not have is
// looked up in the host directory at the same path: "/" is DIR itself,
// "/etc/passwd" is DIR/etc/passwd unless the virtual tree has that file.
// The virtual mounts (/proc, /sys, /dev) hide whatever DIR holds at those
// paths.
//
// Lookups never leave DIR. Every component is opened with
// openat(dirfd, name, O_PATH|O_NOFOLLOW) relative to the descriptor of the
// directory before it, so no host path is ever resolved by the host kernel
// and nothing swapped in between two steps can redirect a lookup outside.
// Symlinks are read (readlinkat) and resolved by the walker (vfs.go) as if
// DIR were "/": an absolute target starts again at DIR, ".." stops at DIR.
// A file is opened for reading only after the same O_PATH check, and the
// open descriptor must name the same inode (device and inode number), or
// the lookup fails with ENOENT. Only regular files and directories open;
// FIFOs, sockets and devices can be stat'ed, and opening them fails with
// EACCES. Nothing under DIR is ever opened for writing, and every call
// that would change it fails with EROFS, as on a read-only mount.

// hostStat is what lstat says about a host file.
type hostStat struct {
	mode, uid, gid        uint32
	dev, ino, nlink, rdev uint64
	size, blksize, blocks int64
	// atime, mtime and ctime in ns since the Unix epoch.
	atime, mtime, ctime int64
}

// hostFile is a host regular file open for reading (an *os.File).
type hostFile interface {
	io.ReaderAt
	io.Closer
}

// dirent is one directory entry as getdents64 reports it.
type dirent struct {
	ino  uint64
	typ  uint8
	name string
}

// hostRoot is the host directory of Config.FSRoot, opened (O_PATH) on
// first use.
type hostRoot struct {
	dir string
	fd  int
	err error
	// audit, if set, sees every host descriptor the view opens, right
	// after it is opened (tests check where each one points).
	audit func(fd int)
	// parent is FSRoot's view, whose audit sees a bind's descriptors too.
	parent *hostRoot
}

func newHostRoot(dir string) *hostRoot { return &hostRoot{dir: dir, fd: noFd} }

// OutsideProcess says snapshots leave the view alone (emu.Outside): its
// descriptor is the host's, opened once, not the guest's state.
func (*hostRoot) OutsideProcess() {}

// rootFd returns the descriptor of DIR, or noFd when there is no DIR (only
// binds reach the host). Failing to open it is an emulator error naming
// DIR, not a guest errno: the configuration is wrong.
func (h *hostRoot) rootFd() (int, error) {
	if h.dir == "" {
		return noFd, nil
	}
	if h.fd < 0 && h.err == nil {
		h.fd, h.err = hostOpenRoot(h.dir)
		if h.err == nil {
			h.check(h.fd)
		}
	}
	if h.err != nil {
		return noFd, fmt.Errorf("fs root %s: %w", h.dir, h.err)
	}
	return h.fd, nil
}

// close closes DIR's descriptor.
func (h *hostRoot) close() error {
	if h.fd < 0 {
		return nil
	}
	fd := h.fd
	h.fd, h.err = noFd, errors.New("closed")
	return hostClose(fd)
}

// closeFd closes an O_PATH descriptor taken during a lookup.
func (h *hostRoot) closeFd(fd int) error {
	if fd < 0 || fd == h.fd {
		return nil
	}
	return hostClose(fd)
}

func (h *hostRoot) check(fd int) {
	switch {
	case h.audit != nil:
		h.audit(fd)
	case h.parent != nil:
		h.parent.check(fd)
	}
}

// lookup opens name in the directory dirfd without following it
// (O_PATH|O_NOFOLLOW) and describes it. The caller closes fd.
func (h *hostRoot) lookup(dirfd int, name string) (fd int, st hostStat, err error) {
	fd, st, err = hostLookup(dirfd, name)
	if err == nil {
		h.check(fd)
	}
	return fd, st, err
}

// readlink returns the target of the symlink open (O_PATH) as fd.
func (h *hostRoot) readlink(fd int) (string, error) { return hostReadlink(fd) }

// hostOpen opens the host regular file n for reading: it looks n up again
// from DIR and checks that the file it opens is the one n describes.
func (fs *vfs) hostOpen(n *node) (h hostFile, err error) {
	if n.parent == nil || n.host == nil {
		return nil, ENOENT
	}
	w := fs.newWalker(n.parent)
	defer func() {
		if cerr := w.close(); cerr != nil && err == nil {
			err = firstErr(nil, cerr, h.Close())
			h = nil
		}
	}()
	dirfd, err := w.hostFd(len(w.stack) - 1)
	if err != nil {
		return nil, err
	}
	if dirfd < 0 {
		return nil, ENOENT
	}
	return hostOpenFile(dirfd, n.name, n.host, fs.host.check)
}

// hostList returns the host entries of directory n (a host directory, or
// a virtual directory of the root filesystem that has a host
// counterpart), without "." and "..", in the host's order; none if there
// is no host directory.
func (fs *vfs) hostList(n *node) (ents []dirent, err error) {
	if fs.host == nil {
		return nil, nil
	}
	w := fs.newWalker(n)
	defer func() {
		if cerr := w.close(); cerr != nil && err == nil {
			ents, err = nil, cerr
		}
	}()
	dirfd, err := w.hostFd(len(w.stack) - 1)
	if err != nil || dirfd < 0 {
		return nil, err
	}
	return hostReadDir(dirfd, fs.host.check)
}

// readHost reads up to len(b) bytes of a host file at off: fewer only at
// the end of the file.
func readHost(h hostFile, b []byte, off int64) (int, error) {
	n, err := h.ReadAt(b, off)
	if err == io.EOF {
		err = nil
	}
	if err != nil {
		return n, hostErrno(err)
	}
	return n, nil
}
