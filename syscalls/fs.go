package syscalls

import (
	"path"
	"strings"
)

// File syscalls over the virtual filesystem (vfs.go) and the descriptor
// table (fd.go).

// startDir returns where a lookup of p relative to dirfd starts: the root
// for an absolute path, else the working directory (AT_FDCWD) or the
// fd's directory.
func startDir(t Task, dirfd int32, p string) (*node, error) {
	k := t.Kernel()
	if strings.HasPrefix(p, "/") {
		return k.fs.root, nil
	}
	if dirfd == AT_FDCWD {
		return k.cwd, nil
	}
	f, err := k.files.get(dirfd)
	if err != nil {
		return nil, err
	}
	if f.n.kind != kindDir {
		return nil, ENOTDIR
	}
	return f.n, nil
}

// lookupAt resolves a path argument relative to dirfd. An empty path is
// ENOENT unless emptyOK (AT_EMPTY_PATH), when it names dirfd itself.
func lookupAt(t Task, dirfd int32, pathAddr uint64, follow, emptyOK bool) (*node, *file, error) {
	p, err := readPath(t, pathAddr)
	if err != nil {
		return nil, nil, err
	}
	k := t.Kernel()
	if p == "" {
		if !emptyOK {
			return nil, nil, ENOENT
		}
		if dirfd == AT_FDCWD {
			return k.cwd, nil, nil
		}
		f, err := k.files.get(dirfd)
		if err != nil {
			return nil, nil, err
		}
		return f.n, f, nil
	}
	start, err := startDir(t, dirfd, p)
	if err != nil {
		return nil, nil, err
	}
	n, err := k.fs.resolve(start, p, follow)
	return n, nil, err
}

// Openat implements openat(2). Files are created, truncated and opened
// for writing only on a tmpfs (with the mode less the umask); elsewhere
// that fails with EROFS (EACCES under /proc, whose files refuse write
// opens here even for root, where Linux would let root open some and
// fail the write); character devices open for writing. The contents of
// a virtual file are generated when it is opened. O_TMPFILE on a tmpfs
// is not emulated.
func Openat(t Task, a Args) (uint64, error) {
	return openAt(t, a.Fd(0), a.Ptr(1), uint64(a.U32(2)), a.U32(3))
}

// Open implements open(2) (amd64 only) as openat(AT_FDCWD, ...).
func Open(t Task, a Args) (uint64, error) {
	return openAt(t, AT_FDCWD, a.Ptr(0), uint64(a.U32(1)), a.U32(2))
}

func openAt(t Task, dirfd int32, pathAddr, flags uint64, mode uint32) (uint64, error) {
	k := t.Kernel()
	x := abiOf(t.Arch())
	// build_open_flags (fs/open.c): unknown bits are dropped, O_CLOEXEC
	// goes to the descriptor and not the open file, __O_SYNC implies
	// O_DSYNC.
	flags &= x.validOpenFlags()
	cloexec := flags&O_CLOEXEC != 0
	flags &^= O_CLOEXEC
	if flags&(O_SYNC&^O_DSYNC) != 0 {
		flags |= O_DSYNC
	}
	if flags&__O_TMPFILE != 0 {
		if flags&(x.oTmpfile()|O_CREAT) != x.oTmpfile() {
			return 0, EINVAL
		}
		if acc := flags & O_ACCMODE; acc != O_WRONLY && acc != O_RDWR {
			return 0, EINVAL
		}
	}
	if flags&O_PATH != 0 {
		flags &= x.oDirectory | x.oNofollow | O_PATH
	}
	p, err := readPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	if p == "" {
		return 0, ENOENT
	}
	start, err := startDir(t, dirfd, p)
	if err != nil {
		return 0, err
	}
	acc := flags & O_ACCMODE
	write := flags&O_PATH == 0 && acc != O_RDONLY
	creat := flags&O_CREAT != 0
	excl := creat && flags&O_EXCL != 0

	if flags&__O_TMPFILE != 0 {
		dir, err := k.fs.resolve(start, p, true)
		if err != nil {
			return 0, err
		}
		if dir.kind != kindDir {
			return 0, ENOTDIR
		}
		if dir.mnt.writable() {
			return 0, gapf("open(O_TMPFILE) on tmpfs")
		}
		return 0, dir.mnt.writeErr
	}

	follow := flags&x.oNofollow == 0 && !excl
	links := 0
lookup:
	n, err := k.fs.resolve(start, p, follow)
	created := false
	switch {
	case err == ENOENT && creat:
		// The file is created if the parent exists on a writable mount.
		if strings.HasSuffix(p, "/") {
			return 0, EISDIR
		}
		dir, derr := k.fs.resolve(start, path.Dir(p), true)
		if derr != nil {
			return 0, derr
		}
		if dir.kind != kindDir {
			return 0, ENOTDIR
		}
		name := path.Base(p)
		if sym, err := exists(t, dir, name); err == nil && sym.kind == kindSymlink {
			// A dangling symlink: the file is made where it points.
			if links++; links > maxSymlinks {
				return 0, ELOOP
			}
			target := sym.link()
			if target == "" {
				return 0, ENOENT
			}
			start, p = dir, target
			if strings.HasPrefix(target, "/") {
				start = k.fs.root
			}
			goto lookup
		}
		if !dir.mnt.changeable() {
			return 0, dir.mnt.writeErr
		}
		if dir.unlinked {
			return 0, ENOENT
		}
		if err := permitted(t, dir, W_OK|X_OK); err != nil {
			return 0, err
		}
		if onHost(dir) {
			return k.hostCreateOpen(t, dir, name, flags, mode, cloexec)
		}
		n = k.tmpCreate(t, dir, name, kindFile, mode&0o7777&^k.umask, "")
		created = true
	case err != nil:
		return 0, err
	case excl:
		return 0, EEXIST
	}
	trunc := !created && n.kind == kindFile && flags&O_TRUNC != 0 && flags&O_PATH == 0
	if n.kind == kindSymlink && flags&O_PATH == 0 {
		return 0, ELOOP // O_NOFOLLOW on a symlink
	}
	if flags&x.oDirectory != 0 && n.kind != kindDir {
		return 0, ENOTDIR
	}
	if flags&O_PATH == 0 {
		switch n.kind {
		case kindDir:
			if write || creat {
				return 0, EISDIR
			}
		case kindFile:
			if (write || trunc) && !created {
				if !n.mnt.changeable() {
					return 0, n.mnt.writeErr
				}
				if err := permitted(t, n, W_OK); err != nil {
					return 0, err
				}
			}
		case kindSpecial:
			return 0, EACCES // host FIFOs, sockets and devices stay closed
		case kindSocket:
			return 0, ENXIO // a socket is reached with connect, not open
		case kindFifo:
			return k.openFifo(t, n, flags, cloexec)
		}
	}
	f := &file{n: n, flags: flags &^ (O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | x.oLargefile), largefile: true}
	if in := n.tmp; in != nil {
		if trunc && len(in.data) > 0 {
			if err := k.tmpResize(in, 0); err != nil {
				return 0, err
			}
			touch(t, n)
		}
		in.opens++
	} else if n.kind == kindFile && flags&O_PATH == 0 {
		if err := k.holdsRoom(n); err != nil {
			return 0, err
		}
		if onHost(n) && (write || trunc) {
			err := inParent(t, n, func(fd int) error {
				h, err := hostOpenWrite(fd, n.name, n.host, acc == O_RDWR, trunc, k.fs.host.check)
				f.host = h
				return err
			})
			if err != nil {
				return 0, err
			}
		} else if n.host != nil {
			h, err := k.fs.hostOpen(n)
			if err != nil {
				return 0, err
			}
			f.host = h
		} else {
			f.data = n.content(t)
		}
		k.hold(f, 1)
	}
	fd, err := k.files.alloc(f, 0, cloexec)
	if err != nil {
		return 0, firstErr(err, f.release(t, k))
	}
	return uint64(fd), nil
}

// firstErr returns err unless a clean-up step failed with an emulator
// error, which matters more than the guest's errno.
func firstErr(err error, cleanups ...error) error {
	for _, c := range cleanups {
		if c != nil {
			return c
		}
	}
	return err
}

// Close implements close(2). Closing the last descriptor of an open file
// description releases it: a pipe end (waking the other side), an epoll
// instance, its epoll items, a host file.
func Close(t Task, a Args) (uint64, error) {
	return 0, t.Kernel().files.close(t, a.Fd(0))
}

// Lseek implements lseek(2). procfs and cgroupfs files seek like seq_files
// (SEEK_SET and SEEK_CUR only); devices stay at 0; pipes cannot seek.
func Lseek(t Task, a Args) (uint64, error) {
	f, err := t.Kernel().files.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	off, whence := a.Int(1), a.U32(2)
	if whence > SEEK_HOLE {
		return 0, EINVAL
	}
	switch f.n.kind {
	case kindPipe, kindFifo:
		return 0, ESPIPE
	case kindChar:
		return 0, nil
	case kindAnon:
		return uint64(f.off), nil // noop_llseek
	}
	seqFile := f.n.kind == kindDir || f.n.mnt.fstype == "proc" || f.n.mnt.fstype == "cgroup2"
	size := f.size()
	var pos int64
	switch whence {
	case SEEK_SET:
		pos = off
	case SEEK_CUR:
		pos = f.off + off
	case SEEK_END:
		if seqFile {
			return 0, EINVAL
		}
		pos = size + off
	case SEEK_DATA, SEEK_HOLE:
		if seqFile {
			return 0, EINVAL
		}
		if off < 0 || off >= size {
			return 0, ENXIO
		}
		pos = off
		if whence == SEEK_HOLE {
			pos = size
		}
	}
	if pos < 0 {
		return 0, EINVAL
	}
	f.off = pos
	return uint64(pos), nil
}

// putStat writes a stat buffer in the arch's struct stat layout.
func putStat(t Task, addr uint64, st statInfo) error {
	x := abiOf(t.Arch())
	b := make([]byte, x.statSize)
	x.putStat(b, &st)
	return t.WriteMem(addr, b)
}

// putStatOf writes n's stat buffer.
func putStatOf(t Task, addr uint64, n *node, f *file) error {
	st, err := statFile(t, n, f)
	if err != nil {
		return err
	}
	return putStat(t, addr, st)
}

// statFile describes n, open as f or not; an open writable host file is
// asked again, since writes change it.
func statFile(t Task, n *node, f *file) (statInfo, error) {
	size := 0
	if f != nil {
		if err := refresh(f); err != nil {
			return statInfo{}, err
		}
	}
	switch {
	case n.host != nil, n.tmp != nil: // stat knows their sizes
	case f != nil:
		size = len(f.data)
	case n.kind == kindFile && n.mnt.fileSize == sizeReal:
		size = len(n.content(t))
	}
	return t.Kernel().fs.stat(n, size), nil
}

// Fstat implements fstat(2).
func Fstat(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	f, err := k.files.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, putStatOf(t, a.Ptr(1), f.n, f)
}

// Newfstatat implements newfstatat(2) (fstatat on arm64, same number name).
func Newfstatat(t Task, a Args) (uint64, error) {
	flags := a.U32(3)
	if flags&^(AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH|AT_NO_AUTOMOUNT) != 0 {
		return 0, EINVAL
	}
	n, f, err := lookupAt(t, a.Fd(0), a.Ptr(1), flags&AT_SYMLINK_NOFOLLOW == 0, flags&AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	return 0, putStatOf(t, a.Ptr(2), n, f)
}

// Stat implements stat(2) (amd64 only).
func Stat(t Task, a Args) (uint64, error) {
	n, _, err := lookupAt(t, AT_FDCWD, a.Ptr(0), true, false)
	if err != nil {
		return 0, err
	}
	return 0, putStatOf(t, a.Ptr(1), n, nil)
}

// Lstat implements lstat(2) (amd64 only).
func Lstat(t Task, a Args) (uint64, error) {
	n, _, err := lookupAt(t, AT_FDCWD, a.Ptr(0), false, false)
	if err != nil {
		return 0, err
	}
	return 0, putStatOf(t, a.Ptr(1), n, nil)
}

// Statx implements statx(2). It always fills the basic stats, whatever the
// mask asks, as filesystems without extra attributes do.
func Statx(t Task, a Args) (uint64, error) {
	flags, mask := a.U32(2), a.U32(3)
	const syncType = AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC
	if flags&^(AT_SYMLINK_NOFOLLOW|AT_NO_AUTOMOUNT|AT_EMPTY_PATH|syncType) != 0 ||
		flags&syncType == syncType || mask&STATX__RESERVED != 0 {
		return 0, EINVAL
	}
	n, f, err := lookupAt(t, a.Fd(0), a.Ptr(1), flags&AT_SYMLINK_NOFOLLOW == 0, flags&AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	st, err := statFile(t, n, f)
	if err != nil {
		return 0, err
	}
	b := make([]byte, statxSize)
	le.PutUint32(b[0:], STATX_BASIC_STATS)
	le.PutUint32(b[4:], uint32(st.blksize))
	le.PutUint32(b[16:], uint32(st.nlink))
	le.PutUint32(b[20:], st.uid)
	le.PutUint32(b[24:], st.gid)
	le.PutUint16(b[28:], uint16(st.mode))
	le.PutUint64(b[32:], st.ino)
	le.PutUint64(b[40:], uint64(st.size))
	le.PutUint64(b[48:], uint64(st.blocks))
	for i, ns := range []int64{st.atime, 0, st.ctime, st.mtime} { // atime, btime (absent), ctime, mtime
		if i == 1 {
			continue
		}
		le.PutUint64(b[64+16*i:], uint64(ns/1e9))
		le.PutUint32(b[64+16*i+8:], uint32(ns%1e9))
	}
	le.PutUint32(b[128:], uint32(st.rdev>>8&0xfff))               // stx_rdev_major
	le.PutUint32(b[132:], uint32(st.rdev&0xff|st.rdev>>12&^0xff)) // stx_rdev_minor
	le.PutUint32(b[136:], n.mnt.major)                            // stx_dev_major
	le.PutUint32(b[140:], n.mnt.minor)                            // stx_dev_minor
	return 0, t.WriteMem(a.Ptr(4), b)
}

// readlinkAt is readlinkat(2)'s body.
func readlinkAt(t Task, dirfd int32, pathAddr, buf uint64, size int32) (uint64, error) {
	if size <= 0 {
		return 0, EINVAL
	}
	n, _, err := lookupAt(t, dirfd, pathAddr, false, false)
	if err != nil {
		return 0, err
	}
	if n.kind != kindSymlink {
		return 0, EINVAL
	}
	target := n.link()
	if target == "" {
		return 0, ENOENT
	}
	if len(target) > int(size) {
		target = target[:size]
	}
	if err := t.WriteMem(buf, []byte(target)); err != nil {
		return 0, err
	}
	return uint64(len(target)), nil
}

// Readlinkat implements readlinkat(2). /proc/self/exe reads as
// Config.ExePath (ENOENT if it is empty).
func Readlinkat(t Task, a Args) (uint64, error) {
	return readlinkAt(t, a.Fd(0), a.Ptr(1), a.Ptr(2), a.Int32(3))
}

// Readlink implements readlink(2) (amd64 only).
func Readlink(t Task, a Args) (uint64, error) {
	return readlinkAt(t, AT_FDCWD, a.Ptr(0), a.Ptr(1), a.Int32(2))
}

// listDir returns a directory's entries: ".", "..", the virtual ones in
// name order, then those of its host counterpart under Config.FSRoot
// (in the host's order) that the virtual tree does not hide.
func (k *Kernel) listDir(n *node) ([]dirent, error) {
	parent := n
	if n.parent != nil {
		parent = n.parent
	}
	ents := []dirent{{n.ino, DT_DIR, "."}, {parent.ino, DT_DIR, ".."}}
	for _, c := range n.children {
		ents = append(ents, dirent{c.ino, c.direntType(), c.name})
	}
	host, err := k.fs.hostList(n)
	if err != nil {
		return nil, err
	}
	for _, e := range host {
		if n.host == nil && n.child(e.name) != nil {
			continue
		}
		ents = append(ents, e)
	}
	return ents, nil
}

// Getdents64 implements getdents64(2): ".", "..", then the entries (see
// listDir), listed afresh at offset 0; d_off is the index of the next
// entry.
func Getdents64(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	f, err := k.files.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if f.flags&O_PATH != 0 {
		return 0, EBADF // fdget_pos refuses O_PATH descriptors
	}
	if f.n.kind != kindDir {
		return 0, ENOTDIR
	}
	if f.off == 0 || f.dirents == nil {
		if f.dirents, err = k.listDir(f.n); err != nil {
			return 0, err
		}
	}
	count := uint64(a.U32(2))
	var out []byte
	i := max(f.off, 0)
	for ; i < int64(len(f.dirents)); i++ {
		e := f.dirents[i]
		reclen := (19 + len(e.name) + 1 + 7) &^ 7 // linux_dirent64 + NUL, 8-aligned
		if uint64(len(out)+reclen) > count {
			break
		}
		rec := make([]byte, reclen)
		le.PutUint64(rec[0:], e.ino)
		le.PutUint64(rec[8:], uint64(i+1))
		le.PutUint16(rec[16:], uint16(reclen))
		rec[18] = e.typ
		copy(rec[19:], e.name)
		out = append(out, rec...)
	}
	if len(out) == 0 && i < int64(len(f.dirents)) {
		return 0, EINVAL // buffer too small for one entry
	}
	if len(out) > 0 {
		if err := t.WriteMem(a.Ptr(1), out); err != nil {
			return 0, err
		}
	}
	f.off = i
	return uint64(len(out)), nil
}

// Dup implements dup(2).
func Dup(t Task, a Args) (uint64, error) {
	ft := &t.Kernel().files
	f, err := ft.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	fd, err := ft.alloc(f, 0, false)
	return uint64(fd), err
}

// Dup2 implements dup2(2) (amd64 only).
func Dup2(t Task, a Args) (uint64, error) {
	ft := &t.Kernel().files
	oldfd, newfd := a.Fd(0), a.Fd(1)
	f, err := ft.get(oldfd)
	if err != nil {
		return 0, err
	}
	if oldfd == newfd {
		return uint64(newfd), nil
	}
	if newfd < 0 || int(newfd) >= ft.limit() {
		return 0, EBADF
	}
	return uint64(newfd), ft.install(t, int(newfd), f, false)
}

// Dup3 implements dup3(2).
func Dup3(t Task, a Args) (uint64, error) {
	ft := &t.Kernel().files
	oldfd, newfd, flags := a.Fd(0), a.Fd(1), a.U32(2)
	if flags&^O_CLOEXEC != 0 || oldfd == newfd {
		return 0, EINVAL
	}
	if newfd < 0 || int(newfd) >= ft.limit() {
		return 0, EBADF
	}
	f, err := ft.get(oldfd)
	if err != nil {
		return 0, err
	}
	return uint64(newfd), ft.install(t, int(newfd), f, flags&O_CLOEXEC != 0)
}

// Fcntl implements fcntl(2): descriptor flags, status flags, F_DUPFD,
// pipe sizes and record locks (lock.go). Open file description locks,
// leases, owners and signals are emulator gaps.
func Fcntl(t Task, a Args) (uint64, error) {
	ft := &t.Kernel().files
	fd, cmd, arg := a.Fd(0), a.Int32(1), a.Uint(2)
	f, err := ft.get(fd)
	if err != nil {
		return 0, err
	}
	x := abiOf(t.Arch())
	switch cmd {
	case F_DUPFD, F_DUPFD_CLOEXEC:
		if arg >= uint64(ft.limit()) {
			return 0, EINVAL
		}
		nfd, err := ft.alloc(f, int(arg), cmd == F_DUPFD_CLOEXEC)
		return uint64(nfd), err
	case F_GETFD:
		if ft.slots[fd].cloexec {
			return FD_CLOEXEC, nil
		}
		return 0, nil
	case F_SETFD:
		ft.slots[fd].cloexec = arg&FD_CLOEXEC != 0
		return 0, nil
	case F_GETFL:
		if f.largefile {
			return f.flags | x.oLargefile, nil
		}
		return f.flags, nil
	case F_SETFL:
		settable := uint64(O_APPEND | O_NONBLOCK | FASYNC | O_NOATIME | x.oDirect)
		if arg&x.oDirect != 0 {
			return 0, EINVAL // no filesystem here does direct I/O
		}
		if arg&FASYNC != 0 && f.flags&FASYNC == 0 {
			return 0, gapf("fcntl(F_SETFL, FASYNC): signal-driven I/O")
		}
		f.flags = f.flags&^settable | arg&settable
		return 0, nil
	case F_GETPIPE_SZ:
		if f.n.pipe == nil {
			return 0, EBADF
		}
		return uint64(f.n.pipe.slots) * pipePage, nil
	case F_SETPIPE_SZ:
		if f.n.pipe == nil {
			return 0, EBADF
		}
		return f.n.pipe.setSize(t, arg)
	case F_ADD_SEALS, F_GET_SEALS:
		return 0, EINVAL // only memfds have seals
	case F_GETLK, F_SETLK, F_SETLKW:
		if f.flags&O_PATH != 0 {
			return 0, EBADF
		}
		return fcntlLock(t, f, cmd, arg, false)
	case F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW:
		if f.flags&O_PATH != 0 {
			return 0, EBADF
		}
		return fcntlLock(t, f, cmd, arg, true)
	case F_SETOWN, F_GETOWN, F_SETOWN_EX, F_GETOWN_EX, F_SETSIG, F_GETSIG,
		F_SETLEASE, F_GETLEASE, F_NOTIFY:
		return 0, gapf("fcntl(%d)", cmd)
	}
	return 0, EINVAL
}

// Ioctl implements ioctl(2). No fd is a terminal: terminal requests fail
// with ENOTTY, which is how isatty learns it.
func Ioctl(t Task, a Args) (uint64, error) {
	ft := &t.Kernel().files
	fd, req := a.Fd(0), a.U32(1)
	f, err := ft.get(fd)
	if err != nil {
		return 0, err
	}
	switch req {
	case FIOCLEX:
		ft.slots[fd].cloexec = true
		return 0, nil
	case FIONCLEX:
		ft.slots[fd].cloexec = false
		return 0, nil
	case FIONBIO:
		on, err := readU32(t, a.Ptr(2))
		if err != nil {
			return 0, err
		}
		if on != 0 {
			f.flags |= O_NONBLOCK
		} else {
			f.flags &^= O_NONBLOCK
		}
		return 0, nil
	case FIONREAD:
		var n int64
		switch {
		case f.n.kind == kindFile:
			n = max(f.size()-f.off, 0)
		case f.n.pipe != nil:
			n = int64(f.n.pipe.unread())
		default:
			return 0, ENOTTY
		}
		return 0, writeU32(t, a.Ptr(2), uint32(n))
	}
	return 0, ENOTTY
}

// accessAt is the body of access, faccessat and faccessat2. Virtual files
// belong to root; files under Config.FSRoot to their host owner. A caller
// gets the owner, group or "other" permission bits as its ids match; root
// may read and write anything (but not write a read-only mount) and
// execute what has an execute bit.
func accessAt(t Task, dirfd int32, pathAddr uint64, mode, flags uint32) (uint64, error) {
	if mode&^(R_OK|W_OK|X_OK) != 0 || flags&^(AT_EACCESS|AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH) != 0 {
		return 0, EINVAL
	}
	n, _, err := lookupAt(t, dirfd, pathAddr, flags&AT_SYMLINK_NOFOLLOW == 0, flags&AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	return 0, permitted(t, n, mode)
}

// permitted is inode_permission for the R_OK, W_OK and X_OK bits of mode:
// nil, EACCES, or EROFS for a write to a read-only mount.
func permitted(t Task, n *node, mode uint32) error {
	cfg := t.Kernel().cfg
	root := cfg.UID == 0
	if mode&W_OK != 0 && (n.kind == kindFile || n.kind == kindDir || n.kind == kindSymlink) && n.mnt.writeErr == EROFS {
		return EROFS
	}
	var uid, gid uint32
	switch {
	case n.host != nil:
		uid, gid = n.host.uid, n.host.gid
	case n.tmp != nil:
		uid, gid = cfg.UID, cfg.GID
	}
	bits := n.perm & 0o7 // "other": rwx = 4, 2, 1 like R_OK, W_OK, X_OK
	switch {
	case cfg.UID == uid:
		bits = n.perm >> 6 & 0o7
	case cfg.GID == gid:
		bits = n.perm >> 3 & 0o7
	}
	for _, m := range []uint32{R_OK, W_OK, X_OK} {
		if mode&m == 0 {
			continue
		}
		switch {
		case m == X_OK && n.kind != kindDir && n.perm&0o111 == 0:
			return EACCES
		case root:
		case bits&m == 0:
			return EACCES
		}
	}
	return nil
}

// Faccessat implements faccessat(2).
func Faccessat(t Task, a Args) (uint64, error) {
	return accessAt(t, a.Fd(0), a.Ptr(1), a.U32(2), 0)
}

// Faccessat2 implements faccessat2(2).
func Faccessat2(t Task, a Args) (uint64, error) {
	return accessAt(t, a.Fd(0), a.Ptr(1), a.U32(2), a.U32(3))
}

// Access implements access(2) (amd64 only).
func Access(t Task, a Args) (uint64, error) {
	return accessAt(t, AT_FDCWD, a.Ptr(0), a.U32(1), 0)
}

// Getcwd implements getcwd(2). A working directory that was removed
// fails with ENOENT.
func Getcwd(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	for n := k.cwd; n != k.fs.root; n = n.parent {
		if n.unlinked || n.parent == nil {
			return 0, ENOENT
		}
	}
	cwd := k.fs.pathOf(k.cwd) + "\x00"
	if a.Uint(1) < uint64(len(cwd)) {
		return 0, ERANGE
	}
	if err := t.WriteMem(a.Ptr(0), []byte(cwd)); err != nil {
		return 0, err
	}
	return uint64(len(cwd)), nil
}

// Chdir implements chdir(2).
func Chdir(t Task, a Args) (uint64, error) {
	n, _, err := lookupAt(t, AT_FDCWD, a.Ptr(0), true, false)
	if err != nil {
		return 0, err
	}
	return 0, enter(t, n)
}

// Fchdir implements fchdir(2); an O_PATH descriptor will do.
func Fchdir(t Task, a Args) (uint64, error) {
	f, err := t.Kernel().files.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, enter(t, f.n)
}

// enter makes directory n the working directory, if the caller may search
// it.
func enter(t Task, n *node) error {
	if n.kind != kindDir {
		return ENOTDIR
	}
	if err := permitted(t, n, X_OK); err != nil {
		return err
	}
	t.Kernel().cwd = n
	return nil
}

// Umask implements umask(2): it sets the mask and returns the old one.
func Umask(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	old := k.umask
	k.umask = a.U32(0) & 0o777
	return uint64(old), nil
}

// Fsync implements fsync(2) and fdatasync(2): tmpfs files live in memory
// and the host views are read-only, so there is nothing to flush; pipes,
// eventfds and epoll instances have no fsync method.
func Fsync(t Task, a Args) (uint64, error) {
	f, err := fdFile(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	if !inTree(f.n) {
		return 0, EINVAL
	}
	return 0, nil
}
