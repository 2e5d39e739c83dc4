package syscalls

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Host calls behind the read-only view of Config.FSRoot (hostfs.go). This
// file is host code, so it carries a host build constraint (_linux.go):
// every path it opens is one component relative to a directory descriptor,
// with O_NOFOLLOW.

// hostOpenRoot opens DIR as an O_PATH directory descriptor.
func hostOpenRoot(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return noFd, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return fd, nil
}

// hostClose closes a descriptor the view opened.
func hostClose(fd int) error {
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("closing host fd %d: %w", fd, err)
	}
	return nil
}

// hostLookup opens name under dirfd as O_PATH|O_NOFOLLOW and fstats it.
func hostLookup(dirfd int, name string) (int, hostStat, error) {
	if name == "" || name == "." || name == ".." || containsSlash(name) {
		// The walker handles these itself; they never reach the host.
		return noFd, hostStat{}, ENOENT
	}
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return noFd, hostStat{}, hostErrno(err)
	}
	st, err := hostFstat(fd)
	if err != nil {
		return noFd, hostStat{}, firstErr(err, hostClose(fd))
	}
	return fd, st, nil
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}

func hostFstat(fd int) (hostStat, error) {
	var s unix.Stat_t
	if err := unix.Fstat(fd, &s); err != nil {
		return hostStat{}, hostErrno(err)
	}
	return hostStat{
		mode: s.Mode, uid: s.Uid, gid: s.Gid,
		dev: uint64(s.Dev), ino: s.Ino, nlink: uint64(s.Nlink), rdev: uint64(s.Rdev),
		size: s.Size, blksize: int64(s.Blksize), blocks: s.Blocks,
		atime: s.Atim.Nano(), mtime: s.Mtim.Nano(), ctime: s.Ctim.Nano(),
	}, nil
}

// hostReadlink reads the target of the symlink open as fd (readlinkat
// with an empty path, on an O_PATH descriptor).
func hostReadlink(fd int) (string, error) {
	buf := make([]byte, pathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", hostErrno(err)
	}
	return string(buf[:n]), nil
}

// hostOpenFile opens name under dirfd for reading. It must be the regular
// file want describes: anything else (a FIFO swapped in, another file) is
// closed unread and fails with ENOENT. O_NONBLOCK keeps a FIFO swapped in
// from blocking the open; it is cleared once the file is known to be
// regular.
func hostOpenFile(dirfd int, name string, want *hostStat, check func(int)) (hostFile, error) {
	if want.mode&S_IFMT != S_IFREG {
		return nil, EACCES
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, hostErrno(err)
	}
	check(fd)
	if err := sameRegular(fd, want); err != nil {
		return nil, firstErr(err, hostClose(fd))
	}
	return os.NewFile(uintptr(fd), name), nil
}

// sameRegular checks that fd, opened with O_NONBLOCK, is the regular file
// want describes (else ENOENT), and clears O_NONBLOCK.
func sameRegular(fd int, want *hostStat) error {
	st, err := hostFstat(fd)
	if err == nil && (st.mode&S_IFMT != S_IFREG || st.dev != want.dev || st.ino != want.ino) {
		err = ENOENT
	}
	if err == nil {
		err = hostErrno(unix.SetNonblock(fd, false))
	}
	return err
}

// hostReadDir lists the directory open (O_PATH) as dirfd, without "."
// and "..".
func hostReadDir(dirfd int, check func(int)) (ents []dirent, err error) {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, hostErrno(err)
	}
	check(fd)
	defer func() {
		if cerr := hostClose(fd); cerr != nil {
			ents, err = nil, cerr
		}
	}()
	var out []dirent
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return nil, hostErrno(err)
		}
		if n <= 0 {
			return out, nil
		}
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(le.Uint16(b[16:]))
			if reclen < 19 || reclen > len(b) {
				break
			}
			name := b[19:reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			if s := string(name); s != "." && s != ".." {
				out = append(out, dirent{ino: le.Uint64(b), typ: b[18], name: s})
			}
			b = b[reclen:]
		}
	}
}

// hostErrno turns a host error into the errno the guest sees. The host's
// numbers are never passed through: each one the view can meet is mapped
// by name, and anything else is EIO.
func hostErrno(err error) error {
	if err == nil {
		return nil
	}
	var g Errno
	if errors.As(err, &g) {
		return g
	}
	var e unix.Errno
	if !errors.As(err, &e) {
		return EIO
	}
	switch e {
	case unix.ENOENT:
		return ENOENT
	case unix.ENOTDIR:
		return ENOTDIR
	case unix.EACCES, unix.EPERM:
		return EACCES
	case unix.ENAMETOOLONG:
		return ENAMETOOLONG
	case unix.ELOOP:
		return ELOOP
	case unix.ENOMEM:
		return ENOMEM
	case unix.EMFILE, unix.ENFILE:
		return ENFILE
	case unix.EOVERFLOW:
		return EOVERFLOW
	case unix.EISDIR:
		return EISDIR
	case unix.ENXIO, unix.ENODEV:
		return ENXIO
	// What a change in a writable host directory (Config.RW) can meet.
	case unix.EEXIST:
		return EEXIST
	case unix.ENOTEMPTY:
		return ENOTEMPTY
	case unix.EXDEV:
		return EXDEV
	case unix.ENOSPC, unix.EDQUOT:
		return ENOSPC
	case unix.EROFS:
		return EROFS
	case unix.EFBIG:
		return EFBIG
	case unix.EBUSY:
		return EBUSY
	case unix.EINVAL:
		return EINVAL
	case unix.EMLINK:
		return EMLINK
	case unix.ETXTBSY:
		return ETXTBSY
	}
	return EIO
}
