package syscalls

import (
	"fmt"
	"path"
	"strings"
)

// File syscalls over the virtual filesystem (vfs.go) and the descriptor
// table (fd.go). The working directory is always "/".

// startDir returns where a lookup of p relative to dirfd starts: the fd's
// directory for a relative path, else the root (which is also the cwd).
func startDir(t Task, dirfd int32, p string) (*node, error) {
	k := t.Kernel()
	if strings.HasPrefix(p, "/") || dirfd == AT_FDCWD {
		return k.fs.root, nil
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
			return k.fs.root, nil, nil
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

// Openat implements openat(2). Everything is read-only: opening a regular
// file or directory for writing, truncating or creating fails with EROFS
// (EACCES under /proc, whose files refuse write opens here even for root,
// where Linux would let root open some and fail the write); character
// devices open for writing. The contents of a regular file are generated
// when it is opened.
func Openat(t Task, a Args) (uint64, error) {
	return openAt(t, a.Fd(0), a.Ptr(1), uint64(a.U32(2)))
}

// Open implements open(2) (amd64 only) as openat(AT_FDCWD, ...).
func Open(t Task, a Args) (uint64, error) {
	return openAt(t, AT_FDCWD, a.Ptr(0), uint64(a.U32(1)))
}

func openAt(t Task, dirfd int32, pathAddr, flags uint64) (uint64, error) {
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
		return 0, dir.mnt.writeErr
	}

	follow := flags&x.oNofollow == 0 && !excl
	n, err := k.fs.resolve(start, p, follow)
	switch {
	case err == ENOENT && creat:
		// The file would be created: the parent must exist, and its
		// filesystem refuses.
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
		return 0, dir.mnt.writeErr
	case err != nil:
		return 0, err
	case excl:
		return 0, EEXIST
	}
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
			if write || flags&O_TRUNC != 0 {
				return 0, n.mnt.writeErr
			}
		}
	}
	f := &file{n: n, flags: flags &^ (O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | x.oLargefile)}
	if n.kind == kindFile && flags&O_PATH == 0 {
		f.data = n.content(t)
	}
	fd, err := k.files.alloc(f, 0, cloexec)
	return uint64(fd), err
}

// Close implements close(2).
func Close(t Task, a Args) (uint64, error) {
	return 0, t.Kernel().files.close(a.Fd(0))
}

// maxDeviceRead bounds one read of /dev/zero or /dev/urandom; a device
// read may return less than asked, and callers loop.
const maxDeviceRead = 1 << 20

// readBytes returns up to want bytes of f from offset off (regular files)
// or from the device; for devices off is ignored.
func (k *Kernel) readBytes(f *file, want uint64, off int64) ([]byte, error) {
	if want > maxRWCount {
		want = maxRWCount
	}
	switch f.n.kind {
	case kindDir:
		return nil, EISDIR
	case kindFile:
		if off >= int64(len(f.data)) {
			return nil, nil
		}
		b := f.data[off:]
		if uint64(len(b)) > want {
			b = b[:want]
		}
		return b, nil
	case kindChar:
		want = min(want, maxDeviceRead)
		switch f.n.dev {
		case devZero:
			return make([]byte, want), nil
		case devRandom:
			b := make([]byte, want)
			k.randomRead(b)
			return b, nil
		}
		return nil, nil // /dev/null: end of file
	}
	return nil, EINVAL
}

// copyOut writes b at addr and returns how many bytes it stored: all, or
// those before the first page that is not writable, or EFAULT if none
// (copy_to_user's partial-copy semantics as read(2) reports them).
func copyOut(t Task, addr uint64, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	err := t.WriteMem(addr, b)
	if err == nil {
		return len(b), nil
	}
	page := t.Arch().PageSize
	done := 0
	for done < len(b) {
		n := int(min(page-(addr+uint64(done))%page, uint64(len(b)-done)))
		if werr := t.WriteMem(addr+uint64(done), b[done:done+n]); werr != nil {
			break
		}
		done += n
	}
	if done == 0 {
		return 0, err
	}
	return done, nil
}

// copyIn reads up to n bytes at addr, stopping at the first unreadable
// page; EFAULT if none.
func copyIn(t Task, addr, n uint64) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	b := make([]byte, n)
	err := t.ReadMem(addr, b)
	if err == nil {
		return b, nil
	}
	page := t.Arch().PageSize
	done := uint64(0)
	for done < n {
		c := min(page-(addr+done)%page, n-done)
		if rerr := t.ReadMem(addr+done, b[done:done+c]); rerr != nil {
			break
		}
		done += c
	}
	if done == 0 {
		return nil, err
	}
	return b[:done], nil
}

// Read implements read(2). Reads of /dev/zero and /dev/urandom return at
// most 1 MiB at a time.
func Read(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	f, err := k.files.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if !f.readable() {
		return 0, EBADF
	}
	b, err := k.readBytes(f, a.Uint(2), f.off)
	if err != nil {
		return 0, err
	}
	n, err := copyOut(t, a.Ptr(1), b)
	if err != nil {
		return 0, err
	}
	if f.n.kind == kindFile {
		f.off += int64(n)
	}
	return uint64(n), nil
}

// Pread64 implements pread64(2).
func Pread64(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	f, err := k.files.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	off := a.Int(3)
	if off < 0 {
		return 0, EINVAL
	}
	if f.n.kind == kindPipe {
		return 0, ESPIPE // no FMODE_PREAD, checked before the access mode
	}
	if !f.readable() {
		return 0, EBADF
	}
	b, err := k.readBytes(f, a.Uint(2), off)
	if err != nil {
		return 0, err
	}
	n, err := copyOut(t, a.Ptr(1), b)
	return uint64(n), err
}

// iovec is struct iovec.
type iovec struct{ base, len uint64 }

// readIovecs reads an iovec array (import_iovec): EINVAL for a count
// outside [0, UIO_MAXIOV] or a negative length; the total is capped at
// MAX_RW_COUNT.
func readIovecs(t Task, addr uint64, cnt int32) ([]iovec, error) {
	if cnt < 0 || cnt > uioMaxIOV {
		return nil, EINVAL
	}
	if cnt == 0 {
		return nil, nil
	}
	raw := make([]byte, 16*int(cnt))
	if err := t.ReadMem(addr, raw); err != nil {
		return nil, err
	}
	iov := make([]iovec, cnt)
	total := uint64(0)
	for i := range iov {
		iov[i] = iovec{le.Uint64(raw[16*i:]), le.Uint64(raw[16*i+8:])}
		if int64(iov[i].len) < 0 {
			return nil, EINVAL
		}
		if iov[i].len > maxRWCount-total {
			iov[i].len = maxRWCount - total
		}
		total += iov[i].len
	}
	return iov, nil
}

// Readv implements readv(2).
func Readv(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	f, err := k.files.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if !f.readable() {
		return 0, EBADF
	}
	iov, err := readIovecs(t, a.Ptr(1), a.Int32(2))
	if err != nil {
		return 0, err
	}
	total := uint64(0)
	for _, v := range iov {
		total += v.len
	}
	b, err := k.readBytes(f, total, f.off)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, v := range iov {
		if done == len(b) {
			break
		}
		chunk := b[done:min(len(b), done+int(v.len))]
		n, err := copyOut(t, v.base, chunk)
		if err != nil {
			if done == 0 {
				return 0, err
			}
			break
		}
		done += n
		if n < len(chunk) {
			break
		}
	}
	if f.n.kind == kindFile {
		f.off += int64(done)
	}
	return uint64(done), nil
}

// writeBytes writes b to f: pipes to the host writers, devices swallow it.
func writeBytes(f *file, fd int32, b []byte) (uint64, error) {
	switch f.n.kind {
	case kindPipe:
		if len(b) == 0 {
			return 0, nil
		}
		if _, err := f.w.Write(b); err != nil {
			return 0, fmt.Errorf("fd %d: host writer: %w", fd, err)
		}
		return uint64(len(b)), nil
	case kindChar:
		return uint64(len(b)), nil
	}
	// Regular files and directories are never open for writing.
	return 0, EBADF
}

// Write implements write(2). Fds 1 and 2 go to Config.Stdout and
// Config.Stderr; an error from those writers is an emulator error, not a
// guest errno.
func Write(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	fd := a.Fd(0)
	f, err := k.files.get(fd)
	if err != nil {
		return 0, err
	}
	if !f.writable() {
		return 0, EBADF
	}
	b, err := copyIn(t, a.Ptr(1), min(a.Uint(2), maxRWCount))
	if err != nil {
		return 0, err
	}
	return writeBytes(f, fd, b)
}

// Pwrite64 implements pwrite64(2).
func Pwrite64(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	fd := a.Fd(0)
	f, err := k.files.get(fd)
	if err != nil {
		return 0, err
	}
	if a.Int(3) < 0 {
		return 0, EINVAL
	}
	if f.n.kind == kindPipe {
		return 0, ESPIPE
	}
	if !f.writable() {
		return 0, EBADF
	}
	b, err := copyIn(t, a.Ptr(1), min(a.Uint(2), maxRWCount))
	if err != nil {
		return 0, err
	}
	return writeBytes(f, fd, b)
}

// Writev implements writev(2); the buffers are gathered and written at
// once, as a pipe write of them would be.
func Writev(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	fd := a.Fd(0)
	f, err := k.files.get(fd)
	if err != nil {
		return 0, err
	}
	if !f.writable() {
		return 0, EBADF
	}
	iov, err := readIovecs(t, a.Ptr(1), a.Int32(2))
	if err != nil {
		return 0, err
	}
	var all []byte
	for _, v := range iov {
		b, err := copyIn(t, v.base, v.len)
		if err != nil {
			if len(all) == 0 {
				return 0, err
			}
			break
		}
		all = append(all, b...)
		if uint64(len(b)) < v.len {
			break
		}
	}
	return writeBytes(f, fd, all)
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
	case kindPipe:
		return 0, ESPIPE
	case kindChar:
		return 0, nil
	}
	seqFile := f.n.kind == kindDir || f.n.mnt.fstype == "proc" || f.n.mnt.fstype == "cgroup2"
	size := int64(len(f.data))
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

// statFile describes n, open as f or not.
func statFile(t Task, n *node, f *file) statInfo {
	size := 0
	switch {
	case f != nil:
		size = len(f.data)
	case n.kind == kindFile && n.mnt.fileSize == sizeReal:
		size = len(n.content(t))
	}
	return t.Kernel().fs.stat(n, size)
}

// Fstat implements fstat(2).
func Fstat(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	f, err := k.files.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	return 0, putStat(t, a.Ptr(1), statFile(t, f.n, f))
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
	return 0, putStat(t, a.Ptr(2), statFile(t, n, f))
}

// Stat implements stat(2) (amd64 only).
func Stat(t Task, a Args) (uint64, error) {
	n, _, err := lookupAt(t, AT_FDCWD, a.Ptr(0), true, false)
	if err != nil {
		return 0, err
	}
	return 0, putStat(t, a.Ptr(1), statFile(t, n, nil))
}

// Lstat implements lstat(2) (amd64 only).
func Lstat(t Task, a Args) (uint64, error) {
	n, _, err := lookupAt(t, AT_FDCWD, a.Ptr(0), false, false)
	if err != nil {
		return 0, err
	}
	return 0, putStat(t, a.Ptr(1), statFile(t, n, nil))
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
	st := statFile(t, n, f)
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

// Getdents64 implements getdents64(2): ".", ".." and the entries in name
// order; d_off is the index of the next entry.
func Getdents64(t Task, a Args) (uint64, error) {
	k := t.Kernel()
	f, err := k.files.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if f.n.kind != kindDir {
		return 0, ENOTDIR
	}
	type ent struct {
		ino  uint64
		typ  uint8
		name string
	}
	ents := []ent{{f.n.ino, DT_DIR, "."}, {f.n.parent.ino, DT_DIR, ".."}}
	for _, c := range f.n.children {
		ents = append(ents, ent{c.ino, c.direntType(), c.name})
	}
	count := uint64(a.U32(2))
	var out []byte
	i := f.off
	for ; i < int64(len(ents)); i++ {
		e := ents[i]
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
	if len(out) == 0 && i < int64(len(ents)) {
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
	ft.install(int(newfd), f, false)
	return uint64(newfd), nil
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
	ft.install(int(newfd), f, flags&O_CLOEXEC != 0)
	return uint64(newfd), nil
}

// Fcntl implements fcntl(2): descriptor flags, status flags, F_DUPFD and
// F_GETPIPE_SZ. Locks, leases, owners and signals are emulator gaps.
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
		return f.flags | x.oLargefile, nil
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
		if f.n.kind != kindPipe {
			return 0, EBADF
		}
		return pipeBufSize, nil
	case F_ADD_SEALS, F_GET_SEALS:
		return 0, EINVAL // only memfds have seals
	case F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW:
		return 0, gapf("fcntl(%d): file locks", cmd)
	case F_SETOWN, F_GETOWN, F_SETOWN_EX, F_GETOWN_EX, F_SETSIG, F_GETSIG,
		F_SETLEASE, F_GETLEASE, F_NOTIFY, F_SETPIPE_SZ:
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
		switch f.n.kind {
		case kindFile:
			n = max(int64(len(f.data))-f.off, 0)
		case kindPipe:
			n = 0
		default:
			return 0, ENOTTY
		}
		return 0, writeU32(t, a.Ptr(2), uint32(n))
	}
	return 0, ENOTTY
}

// accessAt is the body of access, faccessat and faccessat2. Files belong
// to root: a non-root caller gets the "other" permission bits; root may
// read and write anything (but not write a read-only mount) and execute
// what has an execute bit.
func accessAt(t Task, dirfd int32, pathAddr uint64, mode, flags uint32) (uint64, error) {
	if mode&^(R_OK|W_OK|X_OK) != 0 || flags&^(AT_EACCESS|AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH) != 0 {
		return 0, EINVAL
	}
	n, _, err := lookupAt(t, dirfd, pathAddr, flags&AT_SYMLINK_NOFOLLOW == 0, flags&AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	root := t.Kernel().cfg.UID == 0
	if mode&W_OK != 0 && (n.kind == kindFile || n.kind == kindDir || n.kind == kindSymlink) && n.mnt.writeErr == EROFS {
		return 0, EROFS
	}
	for _, m := range []uint32{R_OK, W_OK, X_OK} {
		if mode&m == 0 {
			continue
		}
		switch {
		case m == X_OK && n.kind != kindDir && n.perm&0o111 == 0:
			return 0, EACCES
		case root:
		case n.perm&m == 0: // "other" bits: rwx = 4, 2, 1 like R_OK, W_OK, X_OK
			return 0, EACCES
		}
	}
	return 0, nil
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

// Getcwd implements getcwd(2): the working directory is always "/".
func Getcwd(t Task, a Args) (uint64, error) {
	const cwd = "/\x00"
	if a.Uint(1) < uint64(len(cwd)) {
		return 0, ERANGE
	}
	if err := t.WriteMem(a.Ptr(0), []byte(cwd)); err != nil {
		return 0, err
	}
	return uint64(len(cwd)), nil
}
