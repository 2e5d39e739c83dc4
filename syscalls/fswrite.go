package syscalls

import "strings"

// Calls that change the filesystem. On a tmpfs (Config.Tmpfs, tmpfs.go)
// they do what Linux does. Everywhere else nothing can be changed: the
// root filesystem (virtual files and the view of Config.FSRoot, also
// where it shows through a tmpfs) and sysfs are read-only mounts, so these calls fail as Linux
// fails them there, after the same path checks: EROFS, or EEXIST,
// ENOENT, ENOTDIR... when the path is wrong first. /proc refuses with
// EPERM (it has no such operations), and /dev, which is writable on
// Linux, refuses with EACCES. Pipes, eventfds and epoll instances live on
// internal mounts and accept fchmod; their times and owners are not kept.

// lastType is what the last component of a path is (namei's LAST_*).
type lastType int

const (
	lastNorm lastType = iota
	lastRoot
	lastDot
	lastDotDot
)

// parentAt resolves all but the last component of a path argument
// (filename_parentat): the directory, the last name and its type.
// slash says the path ended in "/" after its last name, which then must
// be a directory.
func parentAt(t Task, dirfd int32, pathAddr uint64) (dir *node, last string, typ lastType, slash bool, err error) {
	p, err := readPath(t, pathAddr)
	if err != nil {
		return nil, "", 0, false, err
	}
	if p == "" {
		return nil, "", 0, false, ENOENT
	}
	start, err := startDir(t, dirfd, p)
	if err != nil {
		return nil, "", 0, false, err
	}
	fs := t.Kernel().fs
	trimmed := strings.TrimRight(p, "/")
	slash = trimmed != p
	if trimmed == "" {
		return fs.root, "", lastRoot, false, nil
	}
	dir = start
	last = trimmed
	if i := strings.LastIndexByte(trimmed, '/'); i >= 0 {
		last = trimmed[i+1:]
		if dir, err = fs.resolve(start, trimmed[:i+1], true); err != nil {
			return nil, "", 0, false, err
		}
	}
	if dir.kind != kindDir {
		return nil, "", 0, false, ENOTDIR
	}
	switch last {
	case ".":
		return dir, last, lastDot, slash, nil
	case "..":
		return dir, last, lastDotDot, slash, nil
	}
	if len(last) > nameMax {
		return nil, "", 0, false, ENAMETOOLONG
	}
	return dir, last, lastNorm, slash, nil
}

// exists looks name up in dir without following a final symlink.
func exists(t Task, dir *node, name string) (*node, error) {
	return t.Kernel().fs.resolve(dir, name, false)
}

// changeErr is what a mount answers to a change that passed the path
// checks.
func (m *mount) changeErr() Errno {
	if m.fstype == "proc" {
		return EPERM
	}
	return m.writeErr
}

// createAt is filename_create and what follows it: EEXIST if the name is
// taken (or is ".", ".." or "/"); a read-only mount refuses; on a tmpfs,
// make creates the name once the caller may write the directory.
func createAt(t Task, dirfd int32, pathAddr uint64, wantDir bool, make func(dir *node, name string) error) error {
	dir, last, typ, slash, err := parentAt(t, dirfd, pathAddr)
	if err != nil {
		return err
	}
	if typ != lastNorm {
		return EEXIST
	}
	if _, err := exists(t, dir, last); err == nil {
		return EEXIST
	} else if err != ENOENT || dir.mnt.fstype == "proc" {
		return err // procfs fails lookups of missing names instead of creating them
	}
	if slash && !wantDir {
		return ENOENT // only a directory is made with a trailing slash
	}
	if !dir.mnt.changeable() {
		return dir.mnt.changeErr()
	}
	if dir.unlinked {
		return ENOENT
	}
	if err := permitted(t, dir, W_OK|X_OK); err != nil {
		return err
	}
	return make(dir, last)
}

// mkdirAt makes a directory with mode less the umask.
func mkdirAt(t Task, dirfd int32, pathAddr uint64, mode uint32) error {
	k := t.Kernel()
	return createAt(t, dirfd, pathAddr, true, func(dir *node, name string) error {
		if onHost(dir) {
			return k.fs.inHostDir(dir, func(fd int) error { return hostMkdir(fd, name, mode&0o7777&^k.umask) })
		}
		k.tmpCreate(t, dir, name, kindDir, mode&0o7777&^k.umask, "")
		return nil
	})
}

// Mkdirat implements mkdirat(2).
func Mkdirat(t Task, a Args) (uint64, error) {
	return 0, mkdirAt(t, a.Fd(0), a.Ptr(1), a.U32(2))
}

// Mkdir implements mkdir(2) (amd64 only).
func Mkdir(t Task, a Args) (uint64, error) {
	return 0, mkdirAt(t, AT_FDCWD, a.Ptr(0), a.U32(1))
}

// mknodAt checks the file type (may_mknod) before the path.
func mknodAt(t Task, dirfd int32, pathAddr uint64, mode uint32) error {
	switch mode & S_IFMT {
	case 0, S_IFREG, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK:
	case S_IFDIR:
		return EPERM
	default:
		return EINVAL
	}
	k := t.Kernel()
	return createAt(t, dirfd, pathAddr, false, func(dir *node, name string) error {
		switch mode & S_IFMT {
		case 0, S_IFREG:
			if onHost(dir) {
				return k.fs.inHostDir(dir, func(fd int) error {
					h, err := hostCreate(fd, name, O_RDONLY, mode&0o7777&^k.umask, k.fs.host.check)
					if err != nil {
						return err
					}
					return h.Close()
				})
			}
			k.tmpCreate(t, dir, name, kindFile, mode&0o7777&^k.umask, "")
			return nil
		case S_IFIFO:
			if dir.mnt.writable() {
				k.tmpCreate(t, dir, name, kindFifo, mode&0o7777&^k.umask, "")
				return nil
			}
		case S_IFCHR, S_IFBLK:
			if k.cfg.UID != 0 {
				return EPERM // needs CAP_MKNOD
			}
		}
		return gapf("mknod of a socket or device, or of a FIFO in a host directory")
	})
}

// Mknodat implements mknodat(2).
func Mknodat(t Task, a Args) (uint64, error) {
	return 0, mknodAt(t, a.Fd(0), a.Ptr(1), a.U32(2))
}

// Mknod implements mknod(2) (amd64 only).
func Mknod(t Task, a Args) (uint64, error) {
	return 0, mknodAt(t, AT_FDCWD, a.Ptr(0), a.U32(1))
}

// symlinkAt reads the target first (getname), then creates.
func symlinkAt(t Task, target uint64, dirfd int32, pathAddr uint64) error {
	s, err := readPath(t, target)
	if err != nil {
		return err
	}
	if s == "" {
		return ENOENT
	}
	k := t.Kernel()
	return createAt(t, dirfd, pathAddr, false, func(dir *node, name string) error {
		if onHost(dir) {
			return k.fs.inHostDir(dir, func(fd int) error { return hostSymlink(s, fd, name) })
		}
		k.tmpCreate(t, dir, name, kindSymlink, 0o777, s)
		return nil
	})
}

// Symlinkat implements symlinkat(2).
func Symlinkat(t Task, a Args) (uint64, error) {
	return 0, symlinkAt(t, a.Ptr(0), a.Fd(1), a.Ptr(2))
}

// Symlink implements symlink(2) (amd64 only).
func Symlink(t Task, a Args) (uint64, error) {
	return 0, symlinkAt(t, a.Ptr(0), AT_FDCWD, a.Ptr(1))
}

// linkAt resolves the old path, then creates the new one.
func linkAt(t Task, olddirfd int32, oldpath uint64, newdirfd int32, newpath uint64, flags uint32) error {
	if flags&^(AT_SYMLINK_FOLLOW|AT_EMPTY_PATH) != 0 {
		return EINVAL
	}
	if flags&AT_EMPTY_PATH != 0 && t.Kernel().cfg.UID != 0 {
		return ENOENT // needs CAP_DAC_READ_SEARCH
	}
	n, _, err := lookupAt(t, olddirfd, oldpath, flags&AT_SYMLINK_FOLLOW != 0, flags&AT_EMPTY_PATH != 0)
	if err != nil {
		return err
	}
	k := t.Kernel()
	return createAt(t, newdirfd, newpath, false, func(dir *node, name string) error {
		switch {
		case n.kind == kindDir:
			return EPERM
		case onHost(dir) && n.host != nil && n.mnt == dir.mnt && n.parent != nil:
			return k.fs.inHostDir(n.parent, func(oldfd int) error {
				return k.fs.inHostDir(dir, func(newfd int) error { return hostLink(oldfd, n.name, newfd, name) })
			})
		case n.tmp == nil || n.mnt != dir.mnt:
			return EXDEV
		case n.tmp.nlink <= 0:
			return ENOENT
		}
		return k.tmpLink(t, n, dir, name)
	})
}

// Linkat implements linkat(2).
func Linkat(t Task, a Args) (uint64, error) {
	return 0, linkAt(t, a.Fd(0), a.Ptr(1), a.Fd(2), a.Ptr(3), a.U32(4))
}

// Link implements link(2) (amd64 only).
func Link(t Task, a Args) (uint64, error) {
	return 0, linkAt(t, AT_FDCWD, a.Ptr(0), AT_FDCWD, a.Ptr(1), 0)
}

// removeAt is do_unlinkat and do_rmdir: a read-only mount refuses before
// the name is looked up.
func removeAt(t Task, dirfd int32, pathAddr uint64, rmdir bool) error {
	dir, last, typ, slash, err := parentAt(t, dirfd, pathAddr)
	if err != nil {
		return err
	}
	switch {
	case rmdir && typ == lastDotDot:
		return ENOTEMPTY
	case rmdir && typ == lastDot:
		return EINVAL
	case rmdir && typ == lastRoot:
		return EBUSY
	case !rmdir && typ != lastNorm:
		return EISDIR
	}
	if dir.mnt.writeErr == EROFS {
		return EROFS
	}
	n, err := exists(t, dir, last)
	if err != nil {
		return err
	}
	switch {
	case rmdir && n.kind != kindDir:
		return ENOTDIR
	case !rmdir && n.kind == kindDir:
		return EISDIR
	case !rmdir && slash:
		return ENOTDIR // unlink("file/")
	}
	if !dir.mnt.changeable() {
		return dir.mnt.changeErr()
	}
	if err := permitted(t, dir, W_OK|X_OK); err != nil {
		return err
	}
	switch {
	case onHost(dir) && n.mnt == dir.mnt:
		return t.Kernel().fs.inHostDir(dir, func(fd int) error { return hostUnlink(fd, last, rmdir) })
	case n.host != nil:
		return EROFS // a host file showing through the tmpfs
	case n.mnt != dir.mnt || n.ino == 1:
		return EBUSY // a mount point
	case rmdir && len(n.children) > 0:
		return ENOTEMPTY
	}
	t.Kernel().unlinkChild(t, n)
	return nil
}

// Unlinkat implements unlinkat(2).
func Unlinkat(t Task, a Args) (uint64, error) {
	flags := a.U32(2)
	if flags&^AT_REMOVEDIR != 0 {
		return 0, EINVAL
	}
	return 0, removeAt(t, a.Fd(0), a.Ptr(1), flags&AT_REMOVEDIR != 0)
}

// Unlink implements unlink(2) (amd64 only).
func Unlink(t Task, a Args) (uint64, error) {
	return 0, removeAt(t, AT_FDCWD, a.Ptr(0), false)
}

// Rmdir implements rmdir(2) (amd64 only).
func Rmdir(t Task, a Args) (uint64, error) {
	return 0, removeAt(t, AT_FDCWD, a.Ptr(0), true)
}

// renameAt is do_renameat2.
func renameAt(t Task, olddirfd int32, oldpath uint64, newdirfd int32, newpath uint64, flags uint32) error {
	if flags&^(RENAME_NOREPLACE|RENAME_EXCHANGE|RENAME_WHITEOUT) != 0 {
		return EINVAL
	}
	if flags&(RENAME_NOREPLACE|RENAME_WHITEOUT) != 0 && flags&RENAME_EXCHANGE != 0 {
		return EINVAL
	}
	if flags&RENAME_WHITEOUT != 0 && t.Kernel().cfg.UID != 0 {
		return EPERM // needs CAP_MKNOD
	}
	od, olast, otyp, oslash, err := parentAt(t, olddirfd, oldpath)
	if err != nil {
		return err
	}
	nd, nlast, ntyp, nslash, err := parentAt(t, newdirfd, newpath)
	if err != nil {
		return err
	}
	switch {
	case od.mnt != nd.mnt:
		return EXDEV
	case otyp != lastNorm:
		return EBUSY
	case ntyp != lastNorm && flags&RENAME_NOREPLACE != 0:
		return EEXIST
	case ntyp != lastNorm:
		return EBUSY
	case od.mnt.writeErr == EROFS:
		return EROFS
	}
	n, err := exists(t, od, olast)
	if err != nil {
		return err
	}
	if (oslash || nslash) && n.kind != kindDir {
		return ENOTDIR // a trailing slash names a directory
	}
	if !od.mnt.changeable() {
		return od.mnt.changeErr()
	}
	if nd.unlinked {
		return ENOENT
	}
	if err := firstErr(permitted(t, od, W_OK|X_OK), permitted(t, nd, W_OK|X_OK)); err != nil {
		return err
	}
	fs := t.Kernel().fs
	switch {
	case onHost(od) && n.mnt == od.mnt:
		return fs.inHostDir(od, func(oldfd int) error {
			return fs.inHostDir(nd, func(newfd int) error { return hostRename(oldfd, olast, newfd, nlast, flags) })
		})
	case n.host != nil:
		return EROFS // a host file showing through the tmpfs
	case n.mnt != od.mnt || n.ino == 1:
		return EBUSY // a mount point
	}
	return t.Kernel().tmpRename(t, n, nd, nlast, flags)
}

// Renameat2 implements renameat2(2).
func Renameat2(t Task, a Args) (uint64, error) {
	return 0, renameAt(t, a.Fd(0), a.Ptr(1), a.Fd(2), a.Ptr(3), a.U32(4))
}

// Renameat implements renameat(2).
func Renameat(t Task, a Args) (uint64, error) {
	return 0, renameAt(t, a.Fd(0), a.Ptr(1), a.Fd(2), a.Ptr(3), 0)
}

// Rename implements rename(2) (amd64 only).
func Rename(t Task, a Args) (uint64, error) {
	return 0, renameAt(t, AT_FDCWD, a.Ptr(0), AT_FDCWD, a.Ptr(1), 0)
}

// inTree reports whether n is a file of the tree (virtual or
// Config.FSRoot), as opposed to a pipe or an anonymous inode.
func inTree(n *node) bool { return n.kind != kindPipe && n.kind != kindAnon }

// attrAt is what chmod and chown do to a path once they found it: a
// read-only mount refuses; on a tmpfs, apply changes the file.
func attrAt(t Task, dirfd int32, pathAddr uint64, follow, emptyOK bool, apply func(n *node) error) error {
	n, _, err := lookupAt(t, dirfd, pathAddr, follow, emptyOK)
	if err != nil {
		return err
	}
	return changeAttr(t, n, apply)
}

// changeAttr applies a change of mode, owner or times to n.
func changeAttr(t Task, n *node, apply func(n *node) error) error {
	if !inTree(n) {
		return nil
	}
	switch {
	case onHost(n):
		return apply(n)
	case n.tmp == nil || !n.mnt.writable():
		return n.mnt.changeErr()
	}
	if err := apply(n); err != nil {
		return err
	}
	n.tmp.ctime = realNow(t)
	return nil
}

// inParent runs op with the host descriptor of n's directory.
func inParent(t Task, n *node, op func(dirfd int) error) error {
	if n.parent == nil {
		return EBUSY
	}
	return t.Kernel().fs.inHostDir(n.parent, op)
}

// chmodTo returns the change chmod makes: the caller owns every tmpfs
// file, so it may; the host decides for its files.
func chmodTo(t Task, mode uint32) func(n *node) error {
	return func(n *node) error {
		if n.host != nil {
			return inParent(t, n, func(fd int) error {
				return hostChmod(fd, n.name, n.host, mode&0o7777, t.Kernel().fs.host.check)
			})
		}
		n.perm = mode & 0o7777
		return nil
	}
}

// chownTo returns the change chown makes: tmpfs files belong to the
// guest's ids, which "changing" to themselves (or -1) keeps; another owner
// is refused to a non-root guest and not kept for root.
func chownTo(t Task, uid, gid uint32) func(n *node) error {
	return func(n *node) error {
		cfg := t.Kernel().cfg
		ownUID, ownGID := cfg.UID, cfg.GID
		if n.host != nil {
			ownUID, ownGID = n.host.uid, n.host.gid
		}
		if (uid != ^uint32(0) && uid != ownUID) || (gid != ^uint32(0) && gid != ownGID) {
			if cfg.UID != 0 {
				return EPERM
			}
			return gapf("chown of a file to another owner")
		}
		return nil
	}
}

// fdFile returns the open file of fd for the f* calls, which refuse O_PATH
// descriptors with EBADF.
func fdFile(t Task, fd int32) (*file, error) {
	f, err := t.Kernel().files.get(fd)
	if err != nil {
		return nil, err
	}
	if f.flags&O_PATH != 0 {
		return nil, EBADF
	}
	return f, nil
}

// Fchmodat implements fchmodat(2).
func Fchmodat(t Task, a Args) (uint64, error) {
	return 0, attrAt(t, a.Fd(0), a.Ptr(1), true, false, chmodTo(t, a.U32(2)))
}

// Chmod implements chmod(2) (amd64 only).
func Chmod(t Task, a Args) (uint64, error) {
	return 0, attrAt(t, AT_FDCWD, a.Ptr(0), true, false, chmodTo(t, a.U32(1)))
}

// Fchmod implements fchmod(2): a pipe, eventfd or epoll instance takes the
// new permission bits.
func Fchmod(t Task, a Args) (uint64, error) {
	f, err := fdFile(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	if inTree(f.n) {
		return 0, changeAttr(t, f.n, chmodTo(t, a.U32(1)))
	}
	f.n.perm = a.U32(1) & 0o7777
	return 0, nil
}

// Fchownat implements fchownat(2).
func Fchownat(t Task, a Args) (uint64, error) {
	flags := a.U32(4)
	if flags&^(AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH) != 0 {
		return 0, EINVAL
	}
	return 0, attrAt(t, a.Fd(0), a.Ptr(1), flags&AT_SYMLINK_NOFOLLOW == 0, flags&AT_EMPTY_PATH != 0, chownTo(t, a.U32(2), a.U32(3)))
}

// Chown implements chown(2) (amd64 only).
func Chown(t Task, a Args) (uint64, error) {
	return 0, attrAt(t, AT_FDCWD, a.Ptr(0), true, false, chownTo(t, a.U32(1), a.U32(2)))
}

// Lchown implements lchown(2) (amd64 only).
func Lchown(t Task, a Args) (uint64, error) {
	return 0, attrAt(t, AT_FDCWD, a.Ptr(0), false, false, chownTo(t, a.U32(1), a.U32(2)))
}

// Fchown implements fchown(2). Owners of pipes and anonymous inodes are
// not kept: giving one away is an emulator gap.
func Fchown(t Task, a Args) (uint64, error) {
	f, err := fdFile(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	if inTree(f.n) {
		return 0, changeAttr(t, f.n, chownTo(t, a.U32(1), a.U32(2)))
	}
	cfg := t.Kernel().cfg
	uid, gid := a.U32(1), a.U32(2)
	if (uid != ^uint32(0) && uid != cfg.UID) || (gid != ^uint32(0) && gid != cfg.GID) {
		if cfg.UID != 0 {
			return 0, EPERM
		}
		return 0, gapf("fchown of a pipe or anonymous inode to another owner")
	}
	return 0, nil
}

// truncateAt is vfs_truncate's order of checks.
func truncateAt(t Task, pathAddr uint64, length int64) error {
	if length < 0 {
		return EINVAL
	}
	n, _, err := lookupAt(t, AT_FDCWD, pathAddr, true, false)
	if err != nil {
		return err
	}
	switch n.kind {
	case kindDir:
		return EISDIR
	case kindFile:
	default:
		return EINVAL
	}
	if onHost(n) {
		k := t.Kernel()
		return inParent(t, n, func(fd int) error {
			h, err := hostOpenWrite(fd, n.name, n.host, false, false, k.fs.host.check)
			if err != nil {
				return err
			}
			return firstErr(hostTruncate(h, length), h.Close())
		})
	}
	if n.tmp == nil || !n.mnt.writable() {
		return n.mnt.changeErr()
	}
	if err := permitted(t, n, W_OK); err != nil {
		return err
	}
	return resize(t, n, length)
}

// resize truncates or extends tmpfs file n to length bytes.
func resize(t Task, n *node, length int64) error {
	if err := t.Kernel().tmpResize(n.tmp, length); err != nil {
		return err
	}
	touch(t, n)
	return nil
}

// Truncate implements truncate(2).
func Truncate(t Task, a Args) (uint64, error) {
	return 0, truncateAt(t, a.Ptr(0), a.Int(1))
}

// Ftruncate implements ftruncate(2): only tmpfs regular files open for
// writing can be; any other valid descriptor fails with EINVAL.
func Ftruncate(t Task, a Args) (uint64, error) {
	if a.Int(1) < 0 {
		return 0, EINVAL
	}
	f, err := fdFile(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	switch {
	case f.n.kind != kindFile || !f.writable():
		return 0, EINVAL
	case f.host != nil:
		return 0, hostTruncate(f.host, a.Int(1))
	case f.n.tmp == nil:
		return 0, EINVAL
	}
	return 0, resize(t, f.n, a.Int(1))
}

func utimeNsecValid(ns int64) bool {
	return ns == UTIME_NOW || ns == UTIME_OMIT || (ns >= 0 && ns < 1e9)
}

// Utimensat implements utimensat(2). Times of pipes and anonymous inodes
// are not kept: setting them succeeds without effect.
func Utimensat(t Task, a Args) (uint64, error) {
	dirfd, pathAddr, times, flags := a.Fd(0), a.Ptr(1), a.Ptr(2), a.U32(3)
	var ts [2]timespec
	if times != 0 {
		for i := range ts {
			var err error
			if ts[i], err = readTimespec(t, times+16*uint64(i)); err != nil {
				return 0, err
			}
		}
		if ts[0].nsec == UTIME_OMIT && ts[1].nsec == UTIME_OMIT {
			return 0, nil // nothing to do: the path is not even looked at
		}
	}
	var n *node
	if pathAddr == 0 && dirfd != AT_FDCWD {
		if flags != 0 {
			return 0, EINVAL
		}
		f, err := fdFile(t, dirfd)
		if err != nil {
			return 0, err
		}
		n = f.n
	} else {
		if flags&^(AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH) != 0 {
			return 0, EINVAL
		}
		var err error
		if n, _, err = lookupAt(t, dirfd, pathAddr, flags&AT_SYMLINK_NOFOLLOW == 0, flags&AT_EMPTY_PATH != 0); err != nil {
			return 0, err
		}
	}
	if times != 0 && (!utimeNsecValid(ts[0].nsec) || !utimeNsecValid(ts[1].nsec)) {
		return 0, EINVAL
	}
	return 0, changeAttr(t, n, func(n *node) error {
		now := realNow(t)
		at, mt := int64(omitTime), int64(omitTime)
		set := func(dst *int64, ts timespec) {
			switch {
			case times == 0 || ts.nsec == UTIME_NOW:
				*dst = now
			case ts.nsec != UTIME_OMIT:
				*dst = ts.ns()
			}
		}
		set(&at, ts[0])
		set(&mt, ts[1])
		if n.host != nil {
			return inParent(t, n, func(fd int) error { return hostUtimes(fd, n.name, at, mt) })
		}
		if at != omitTime {
			n.tmp.atime = at
		}
		if mt != omitTime {
			n.tmp.mtime = mt
		}
		return nil
	})
}

// Creat implements creat(2) (amd64 only) as open(path, O_CREAT|O_WRONLY|O_TRUNC).
func Creat(t Task, a Args) (uint64, error) {
	return openAt(t, AT_FDCWD, a.Ptr(0), O_CREAT|O_WRONLY|O_TRUNC, a.U32(1))
}

// Fchmodat2 implements fchmodat2(2): fchmodat with flags; a symlink
// itself has no mode to change (EOPNOTSUPP).
func Fchmodat2(t Task, a Args) (uint64, error) {
	flags := a.U32(3)
	if flags&^(AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH) != 0 {
		return 0, EINVAL
	}
	n, _, err := lookupAt(t, a.Fd(0), a.Ptr(1), flags&AT_SYMLINK_NOFOLLOW == 0, flags&AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	if n.kind == kindSymlink {
		return 0, EOPNOTSUPP
	}
	return 0, changeAttr(t, n, chmodTo(t, a.U32(2)))
}
