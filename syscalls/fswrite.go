package syscalls

import "strings"

// Calls that would change the filesystem. Nothing the guest sees can be
// changed: the root filesystem (virtual files and the view of
// Config.FSRoot) and sysfs are read-only mounts, so these calls fail as
// Linux fails them there, after the same path checks: EROFS, or EEXIST,
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
func parentAt(t Task, dirfd int32, pathAddr uint64) (dir *node, last string, typ lastType, err error) {
	p, err := readPath(t, pathAddr)
	if err != nil {
		return nil, "", 0, err
	}
	if p == "" {
		return nil, "", 0, ENOENT
	}
	start, err := startDir(t, dirfd, p)
	if err != nil {
		return nil, "", 0, err
	}
	fs := t.Kernel().fs
	trimmed := strings.TrimRight(p, "/")
	if trimmed == "" {
		return fs.root, "", lastRoot, nil
	}
	dir = start
	last = trimmed
	if i := strings.LastIndexByte(trimmed, '/'); i >= 0 {
		last = trimmed[i+1:]
		if dir, err = fs.resolve(start, trimmed[:i+1], true); err != nil {
			return nil, "", 0, err
		}
	}
	if dir.kind != kindDir {
		return nil, "", 0, ENOTDIR
	}
	switch last {
	case ".":
		return dir, last, lastDot, nil
	case "..":
		return dir, last, lastDotDot, nil
	}
	if len(last) > nameMax {
		return nil, "", 0, ENAMETOOLONG
	}
	return dir, last, lastNorm, nil
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
// taken (or is ".", ".." or "/"), else the directory's mount refuses.
func createAt(t Task, dirfd int32, pathAddr uint64) error {
	dir, last, typ, err := parentAt(t, dirfd, pathAddr)
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
	return dir.mnt.changeErr()
}

// Mkdirat implements mkdirat(2).
func Mkdirat(t Task, a Args) (uint64, error) {
	return 0, createAt(t, a.Fd(0), a.Ptr(1))
}

// Mkdir implements mkdir(2) (amd64 only).
func Mkdir(t Task, a Args) (uint64, error) {
	return 0, createAt(t, AT_FDCWD, a.Ptr(0))
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
	return createAt(t, dirfd, pathAddr)
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
	return createAt(t, dirfd, pathAddr)
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
	if _, _, err := lookupAt(t, olddirfd, oldpath, flags&AT_SYMLINK_FOLLOW != 0, flags&AT_EMPTY_PATH != 0); err != nil {
		return err
	}
	return createAt(t, newdirfd, newpath)
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
	dir, last, typ, err := parentAt(t, dirfd, pathAddr)
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
	}
	return dir.mnt.changeErr()
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
	od, olast, otyp, err := parentAt(t, olddirfd, oldpath)
	if err != nil {
		return err
	}
	nd, _, ntyp, err := parentAt(t, newdirfd, newpath)
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
	if _, err := exists(t, od, olast); err != nil {
		return err
	}
	return od.mnt.changeErr()
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

// attrAt is what chmod, chown and utimes do to a path once they found it:
// the mount refuses.
func attrAt(t Task, dirfd int32, pathAddr uint64, follow, emptyOK bool) error {
	n, _, err := lookupAt(t, dirfd, pathAddr, follow, emptyOK)
	if err != nil {
		return err
	}
	if !inTree(n) {
		return nil
	}
	return n.mnt.changeErr()
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
	return 0, attrAt(t, a.Fd(0), a.Ptr(1), true, false)
}

// Chmod implements chmod(2) (amd64 only).
func Chmod(t Task, a Args) (uint64, error) {
	return 0, attrAt(t, AT_FDCWD, a.Ptr(0), true, false)
}

// Fchmod implements fchmod(2): a pipe, eventfd or epoll instance takes the
// new permission bits.
func Fchmod(t Task, a Args) (uint64, error) {
	f, err := fdFile(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	if inTree(f.n) {
		return 0, f.n.mnt.changeErr()
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
	return 0, attrAt(t, a.Fd(0), a.Ptr(1), flags&AT_SYMLINK_NOFOLLOW == 0, flags&AT_EMPTY_PATH != 0)
}

// Chown implements chown(2) (amd64 only).
func Chown(t Task, a Args) (uint64, error) {
	return 0, attrAt(t, AT_FDCWD, a.Ptr(0), true, false)
}

// Lchown implements lchown(2) (amd64 only).
func Lchown(t Task, a Args) (uint64, error) {
	return 0, attrAt(t, AT_FDCWD, a.Ptr(0), false, false)
}

// Fchown implements fchown(2). Owners of pipes and anonymous inodes are
// not kept: giving one away is an emulator gap.
func Fchown(t Task, a Args) (uint64, error) {
	f, err := fdFile(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	if inTree(f.n) {
		return 0, f.n.mnt.changeErr()
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
	return n.mnt.changeErr()
}

// Truncate implements truncate(2).
func Truncate(t Task, a Args) (uint64, error) {
	return 0, truncateAt(t, a.Ptr(0), a.Int(1))
}

// Ftruncate implements ftruncate(2): no descriptor is a regular file open
// for writing, so a valid one fails with EINVAL.
func Ftruncate(t Task, a Args) (uint64, error) {
	if a.Int(1) < 0 {
		return 0, EINVAL
	}
	if _, err := fdFile(t, a.Fd(0)); err != nil {
		return 0, err
	}
	return 0, EINVAL
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
	if !inTree(n) {
		return 0, nil
	}
	return 0, n.mnt.changeErr()
}

// Creat implements creat(2) (amd64 only) as open(path, O_CREAT|O_WRONLY|O_TRUNC).
func Creat(t Task, a Args) (uint64, error) {
	return openAt(t, AT_FDCWD, a.Ptr(0), O_CREAT|O_WRONLY|O_TRUNC)
}
