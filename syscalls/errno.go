package syscalls

import "strconv"

// Errno is a Linux error number the guest sees: a handler returns it as its
// error, and Dispatch turns it into -errno in the result register. Values
// are the asm-generic ones, the same on amd64 and arm64; the constants
// (ENOENT, EINVAL, ...) are generated into zerrors.go.
type Errno int

// Error returns the name and the strerror text, e.g.
// "ENOENT (no such file or directory)".
func (e Errno) Error() string {
	if e > 0 && int(e) < len(errnoTexts) && errnoTexts[e] != "" {
		return errnoNames[e] + " (" + errnoTexts[e] + ")"
	}
	return "errno " + strconv.Itoa(int(e))
}

// Name returns the kernel's name for e ("ENOENT"), or "E<n>" for a number
// Linux does not define.
func (e Errno) Name() string {
	if e > 0 && int(e) < len(errnoNames) && errnoNames[e] != "" {
		return errnoNames[e]
	}
	return "E" + strconv.Itoa(int(e))
}

// maxErrno is the largest errno a syscall may return: results in
// [-4095, -1] are errors (include/linux/err.h MAX_ERRNO).
const maxErrno = 4095

// ret is -e as the result register holds it.
func (e Errno) ret() uint64 { return uint64(-int64(e)) }

// SignalName returns a signal's name: "SIGURG", "SIGRTMIN" for 32, and
// "SIGRT_<n>" for 32+n (strace's spelling), or "<n>" if sig is out of range.
func SignalName(sig int) string {
	switch {
	case sig > 0 && sig < len(signalNames) && signalNames[sig] != "":
		return signalNames[sig]
	case sig == SIGRTMIN:
		return "SIGRTMIN"
	case sig > SIGRTMIN && sig <= NSIG:
		return "SIGRT_" + strconv.Itoa(sig-SIGRTMIN)
	}
	return strconv.Itoa(sig)
}
