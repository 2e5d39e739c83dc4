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
func hostReadDir(dirfd int, check func(int)) ([]dirent, error) { return nil, errNoHostFS }
func hostErrno(err error) error                                { return EIO }
func hostOpenFile(dirfd int, name string, want *hostStat, check func(int)) (hostFile, error) {
	return nil, errNoHostFS
}
