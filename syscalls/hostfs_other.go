//go:build !linux

package syscalls

import "errors"

// The view of Config.FSRoot needs Linux's O_PATH and openat semantics; on
// other hosts setting FSRoot makes every lookup that reaches it fail with
// an emulator error.

var errNoHostFS = errors.New("a read-only host root needs a Linux host")

func hostOpenRoot(dir string) (int, error)                     { return noFd, errNoHostFS }
func hostClose(fd int) error                                   { return errNoHostFS }
func hostLookup(dirfd int, name string) (int, hostStat, error) { return noFd, hostStat{}, errNoHostFS }
func hostReadlink(fd int) (string, error)                      { return "", errNoHostFS }
func hostFstat(fd int) (hostStat, error)                       { return hostStat{}, errNoHostFS }
func hostReadDir(dirfd int, check func(int)) ([]dirent, error) { return nil, errNoHostFS }
func hostErrno(err error) error                                { return EIO }
func hostOpenFile(dirfd int, name string, want *hostStat, check func(int)) (hostFile, error) {
	return nil, errNoHostFS
}

func hostMkdir(dirfd int, name string, mode uint32) error { return errNoHostFS }
func hostCreate(dirfd int, name string, acc int, mode uint32, check func(int)) (hostFile, error) {
	return nil, errNoHostFS
}
func hostSymlink(target string, dirfd int, name string) error                   { return errNoHostFS }
func hostLink(olddirfd int, oldname string, newdirfd int, newname string) error { return errNoHostFS }
func hostUnlink(dirfd int, name string, rmdir bool) error                       { return errNoHostFS }
func hostRename(olddirfd int, oldname string, newdirfd int, newname string, flags uint32) error {
	return errNoHostFS
}
func hostOpenWrite(dirfd int, name string, want *hostStat, read, trunc bool, check func(int)) (hostFile, error) {
	return nil, errNoHostFS
}
func hostChmod(dirfd int, name string, want *hostStat, mode uint32, check func(int)) error {
	return errNoHostFS
}
func hostUtimes(dirfd int, name string, atime, mtime int64) error { return errNoHostFS }
func hostTruncate(h hostFile, size int64) error                   { return errNoHostFS }
func hostWriteAt(h hostFile, b []byte, off int64) (int, error)    { return 0, errNoHostFS }
func hostFileStat(h hostFile) (hostStat, error)                   { return hostStat{}, errNoHostFS }
