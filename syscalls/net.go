package syscalls

// Sockets. The guest has no network and no local sockets (see
// "Isolation" in the package doc): creating a socket fails with EACCES,
// as when a security module denies it, after the argument checks Linux
// makes first. No descriptor can therefore be a socket, and the calls
// that take one fail with ENOTSOCK, or EBADF for a descriptor that is not
// open.

// socketCheck is __sys_socket's order: flags, then family.
func socketCheck(family, typ int32) error {
	if uint32(typ)&^SOCK_TYPE_MASK&^uint32(SOCK_NONBLOCK|SOCK_CLOEXEC) != 0 {
		return EINVAL
	}
	if family < 0 || family >= afMax {
		return EAFNOSUPPORT
	}
	return EACCES
}

// Socket implements socket(2): every valid request is refused with
// EACCES.
func Socket(t Task, a Args) (uint64, error) {
	return 0, socketCheck(a.Int32(0), a.Int32(1))
}

// Socketpair implements socketpair(2): every valid request is refused
// with EACCES, and the fds are not written.
func Socketpair(t Task, a Args) (uint64, error) {
	return 0, socketCheck(a.Int32(0), a.Int32(1))
}

// SockFd implements the calls that act on a socket descriptor: connect(2),
// bind(2), listen(2), accept(2), sendto(2), recvfrom(2), sendmsg(2),
// recvmsg(2), shutdown(2), getsockname(2), getpeername(2),
// setsockopt(2), getsockopt(2), sendmmsg(2), recvmmsg(2). The descriptor
// is always their first argument.
func SockFd(t Task, a Args) (uint64, error) {
	if _, err := t.Kernel().files.get(a.Fd(0)); err != nil {
		return 0, err
	}
	return 0, ENOTSOCK
}

// Accept4 implements accept4(2): flags are checked before the descriptor.
func Accept4(t Task, a Args) (uint64, error) {
	if a.U32(3)&^uint32(SOCK_NONBLOCK|SOCK_CLOEXEC) != 0 {
		return 0, EINVAL
	}
	return SockFd(t, a)
}
