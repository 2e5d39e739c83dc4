package syscalls

import (
	"os"

	"golang.org/x/sys/unix"
)

// Host calls behind the writable host directories (Config.RW, hostrw.go).
// Like the read-only view, every call names one component relative to a
// directory descriptor the walker opened, and never follows a symlink in
// it; a file is changed only through a descriptor that was checked to be
// the file the lookup saw.

// hostMkdir is mkdirat.
func hostMkdir(dirfd int, name string, mode uint32) error {
	return hostErrno(unix.Mkdirat(dirfd, name, mode))
}

// hostCreate creates and opens a new regular file (O_EXCL, so nothing
// that appears in between is opened).
func hostCreate(dirfd int, name string, acc int, mode uint32, check func(int)) (hostFile, error) {
	fd, err := unix.Openat(dirfd, name, acc|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_NOCTTY|unix.O_CLOEXEC, mode)
	if err != nil {
		return nil, hostErrno(err)
	}
	check(fd)
	return os.NewFile(uintptr(fd), name), nil
}

// hostSymlink is symlinkat.
func hostSymlink(target string, dirfd int, name string) error {
	return hostErrno(unix.Symlinkat(target, dirfd, name))
}

// hostLink is linkat without following.
func hostLink(olddirfd int, oldname string, newdirfd int, newname string) error {
	return hostErrno(unix.Linkat(olddirfd, oldname, newdirfd, newname, 0))
}

// hostUnlink is unlinkat, of a directory with rmdir.
func hostUnlink(dirfd int, name string, rmdir bool) error {
	flags := 0
	if rmdir {
		flags = unix.AT_REMOVEDIR
	}
	return hostErrno(unix.Unlinkat(dirfd, name, flags))
}

// hostRename is renameat2.
func hostRename(olddirfd int, oldname string, newdirfd int, newname string, flags uint32) error {
	return hostErrno(unix.Renameat2(olddirfd, oldname, newdirfd, newname, uint(flags)))
}

// hostOpenWrite opens the regular file want describes for writing (and
// reading, with read), then truncates it if asked: only after the check
// that it is that file.
func hostOpenWrite(dirfd int, name string, want *hostStat, read, trunc bool, check func(int)) (hostFile, error) {
	if want.mode&S_IFMT != S_IFREG {
		return nil, EACCES
	}
	acc := unix.O_WRONLY
	if read {
		acc = unix.O_RDWR
	}
	fd, err := unix.Openat(dirfd, name, acc|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, hostErrno(err)
	}
	check(fd)
	err = sameRegular(fd, want)
	if err == nil && trunc {
		err = hostErrno(unix.Ftruncate(fd, 0))
	}
	if err != nil {
		return nil, firstErr(err, hostClose(fd))
	}
	return os.NewFile(uintptr(fd), name), nil
}

// hostChmod changes the mode of the file or directory want describes,
// through a descriptor checked to be it (fchmodat would follow a symlink
// swapped in).
func hostChmod(dirfd int, name string, want *hostStat, mode uint32, check func(int)) error {
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
	switch want.mode & S_IFMT {
	case S_IFREG:
	case S_IFDIR:
		flags |= unix.O_DIRECTORY
	default:
		return EROFS // symlinks have no mode; FIFOs and devices stay closed
	}
	fd, err := unix.Openat(dirfd, name, flags, 0)
	if err != nil {
		return hostErrno(err)
	}
	check(fd)
	st, err := hostFstat(fd)
	if err == nil && (st.dev != want.dev || st.ino != want.ino) {
		err = ENOENT
	}
	if err == nil {
		err = hostErrno(unix.Fchmod(fd, mode))
	}
	return firstErr(err, hostClose(fd))
}

// hostUtimes is utimensat without following; a time of UTIME_OMIT keeps
// it.
func hostUtimes(dirfd int, name string, atime, mtime int64) error {
	ts := []unix.Timespec{hostTime(atime), hostTime(mtime)}
	return hostErrno(unix.UtimesNanoAt(dirfd, name, ts, unix.AT_SYMLINK_NOFOLLOW))
}

func hostTime(ns int64) unix.Timespec {
	if ns == omitTime {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	return unix.NsecToTimespec(ns)
}

// hostTruncate is ftruncate of a host file open for writing.
func hostTruncate(h hostFile, size int64) error {
	f, ok := h.(*os.File)
	if !ok {
		return EBADF
	}
	return hostErrno(f.Truncate(size))
}

// hostWriteAt writes b at off.
func hostWriteAt(h hostFile, b []byte, off int64) (int, error) {
	f, ok := h.(*os.File)
	if !ok {
		return 0, EBADF
	}
	n, err := f.WriteAt(b, off)
	if err != nil {
		return n, hostErrno(err)
	}
	return n, nil
}

// hostFileStat describes an open host file.
func hostFileStat(h hostFile) (hostStat, error) {
	f, ok := h.(*os.File)
	if !ok {
		return hostStat{}, EBADF
	}
	return hostFstat(int(f.Fd()))
}
