package syscalls

import (
	"encoding/binary"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// inet4 is a sockaddr_in.
func inet4(a, b, c, d byte, port uint16) []byte {
	sa := make([]byte, 16)
	binary.LittleEndian.PutUint16(sa, AF_INET)
	binary.BigEndian.PutUint16(sa[2:], port)
	copy(sa[4:], []byte{a, b, c, d})
	return sa
}

// inet6 is a sockaddr_in6 for ip (16 bytes).
func inet6(ip []byte, port uint16) []byte {
	sa := make([]byte, 28)
	binary.LittleEndian.PutUint16(sa, AF_INET6)
	binary.BigEndian.PutUint16(sa[2:], port)
	copy(sa[8:], ip)
	return sa
}

// unixAddr is a sockaddr_un for a path, or an abstract name after "@".
func unixAddr(name string) []byte {
	sa := make([]byte, 2, 2+len(name)+1)
	binary.LittleEndian.PutUint16(sa, AF_UNIX)
	if len(name) > 0 && name[0] == '@' {
		return append(append(sa, 0), name[1:]...)
	}
	return append(append(sa, name...), 0)
}

// addrOf calls getsockname or getpeername and returns the address.
func (f *fakeTask) addrOf(t testing.TB, call string, fd uint64) []byte {
	t.Helper()
	buf, l := f.alloc(128), f.u64s(128)
	f.ok(t, call, fd, buf, l)
	return f.mem(t, buf, int(f.u32At(t, l)))
}

func (f *fakeTask) send(t testing.TB, fd uint64, s string) {
	t.Helper()
	if n := f.ok(t, "write", fd, f.cstr(s), uint64(len(s))); n != uint64(len(s)) {
		t.Fatalf("wrote %d of %d", n, len(s))
	}
}

func (f *fakeTask) recv(t testing.TB, fd uint64) string {
	t.Helper()
	buf := f.alloc(256)
	n := f.ok(t, "read", fd, buf, 256)
	return string(f.mem(t, buf, int(n)))
}

// TestTCPLoopback: a server and a client in one process talk TCP over
// the loopback network, IPv4 to a dual-stack listener, as Go's net and
// httptest do.
func TestTCPLoopback(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		l := f.ok(t, "socket", AF_INET6, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0)
		one := f.u64s(1)
		f.ok(t, "setsockopt", l, SOL_SOCKET, SO_REUSEADDR, one, 4)
		f.ok(t, "bind", l, f.bytesAt(inet6(make([]byte, 16), 0)), 28)
		f.ok(t, "listen", l, 128)
		la := f.addrOf(t, "getsockname", l)
		port := binary.BigEndian.Uint16(la[2:])
		if port != ephemeralLow {
			t.Errorf("first ephemeral port %d, want %d (deterministic)", port, ephemeralLow)
		}
		f.fails(t, EAGAIN, "accept4", l, 0, 0, SOCK_NONBLOCK)
		ep := f.ok(t, "epoll_create1", 0)
		f.ok(t, "epoll_ctl", ep, EPOLL_CTL_ADD, l, f.epev(EPOLLIN, 7))

		c := f.ok(t, "socket", AF_INET, SOCK_STREAM, 0)
		f.fails(t, ENOTCONN, "getpeername", c, f.alloc(16), f.u64s(16))
		f.ok(t, "connect", c, f.bytesAt(inet4(127, 0, 0, 1, port)), 16)
		if evs := f.epWait(t, ep, 4, 0); len(evs) != 1 || evs[0].data != 7 {
			t.Errorf("listener events %+v after a connect", evs)
		}
		peer := f.alloc(28)
		s := f.ok(t, "accept4", l, peer, f.u64s(28), SOCK_CLOEXEC)
		mapped := append(make([]byte, 10), 0xff, 0xff, 127, 0, 0, 1)
		if got := f.mem(t, peer, 28); string(got[8:24]) != string(mapped) {
			t.Errorf("accepted peer %x, want ::ffff:127.0.0.1", got)
		}
		if ca := f.addrOf(t, "getpeername", c); string(ca[4:8]) != "\x7f\x00\x00\x01" || binary.BigEndian.Uint16(ca[2:]) != port {
			t.Errorf("client's peer %x", ca)
		}
		f.send(t, c, "ping")
		if got := f.recv(t, s); got != "ping" {
			t.Errorf("server read %q", got)
		}
		f.send(t, s, "pong")
		if got := f.recv(t, c); got != "pong" {
			t.Errorf("client read %q", got)
		}
		// A few MiB go into the buffers without the reader, as on Linux's
		// loopback; the reader then gets them all.
		big := f.ok(t, "mmap", 0, 2<<20, uint64(PROT_READ|PROT_WRITE), MAP_PRIVATE|MAP_ANONYMOUS, neg(1), 0)
		if n := f.ok(t, "write", c, big, 2<<20); n != 2<<20 {
			t.Errorf("a 2 MiB write took %d bytes", n)
		}
		for left := uint64(2 << 20); left > 0; {
			left -= f.ok(t, "read", s, big, left)
		}
		// A read with nothing there waits (blocking socket).
		if c := f.sys(t, "read", s, f.alloc(8), 8); !c.Blocked {
			t.Errorf("an empty read did not wait: %+v", c)
		}
		f.ok(t, "shutdown", c, SHUT_WR)
		if got := f.recv(t, s); got != "" {
			t.Errorf("read %q after the peer's shutdown, want end of file", got)
		}
		f.ok(t, "close", s)
		f.fails(t, EPIPE, "sendto", c, f.cstr("x"), 1, MSG_NOSIGNAL, 0, 0)

		// What cannot be reached.
		x := f.ok(t, "socket", AF_INET, SOCK_STREAM, 0)
		f.fails(t, ECONNREFUSED, "connect", x, f.bytesAt(inet4(127, 0, 0, 1, 9)), 16)
		f.fails(t, ENETUNREACH, "connect", x, f.bytesAt(inet4(10, 0, 0, 1, 80)), 16)
		f.fails(t, EADDRNOTAVAIL, "bind", x, f.bytesAt(inet4(10, 0, 0, 1, 80)), 16)
		f.fails(t, EADDRINUSE, "bind", x, f.bytesAt(inet4(127, 0, 0, 1, port)), 16)
		f.fails(t, EINVAL, "bind", x, f.bytesAt(inet4(127, 0, 0, 1, 0)), 8)
	})
}

// TestUDPLoopback: datagrams keep their boundaries and their sender.
func TestUDPLoopback(t *testing.T) {
	f := newFake(t, arch.ARM64)
	r := f.ok(t, "socket", AF_INET, SOCK_DGRAM|SOCK_NONBLOCK, 0)
	f.ok(t, "bind", r, f.bytesAt(inet4(127, 0, 0, 1, 5000)), 16)
	w := f.ok(t, "socket", AF_INET, SOCK_DGRAM, 0)
	f.fails(t, EDESTADDRREQ, "sendto", w, f.cstr("x"), 1, 0, 0, 0)
	to := f.bytesAt(inet4(127, 0, 0, 1, 5000))
	f.ok(t, "sendto", w, f.cstr("first"), 5, 0, to, 16)
	f.ok(t, "sendto", w, f.cstr("second"), 6, 0, to, 16)
	buf, from, fl := f.alloc(16), f.alloc(16), f.u64s(16)
	if n := f.ok(t, "recvfrom", r, buf, 3, 0, from, fl); n != 3 || string(f.mem(t, buf, 3)) != "fir" {
		t.Errorf("truncated datagram: %d %q", n, f.mem(t, buf, 3))
	}
	if wa := f.addrOf(t, "getsockname", w); string(f.mem(t, from, 16)) != string(wa) {
		t.Errorf("sender %x, want %x", f.mem(t, from, 16), wa)
	}
	if n := f.ok(t, "recvfrom", r, buf, 16, 0, 0, 0); string(f.mem(t, buf, int(n))) != "second" {
		t.Errorf("second datagram %q", f.mem(t, buf, int(n)))
	}
	f.fails(t, EAGAIN, "recvfrom", r, buf, 16, 0, 0, 0)
	// UDP to a port nobody has is lost, not refused.
	f.ok(t, "sendto", w, f.cstr("lost"), 4, 0, f.bytesAt(inet4(127, 0, 0, 1, 5001)), 16)
}

// TestUnixSockets: socketpair, named sockets in a tmpfs and abstract
// names.
func TestUnixSockets(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFakeWith(t, a, Config{Tmpfs: []string{"/tmp"}})
		sv := f.u64s(0)
		f.ok(t, "socketpair", AF_UNIX, SOCK_STREAM, 0, sv)
		x, y := uint64(f.u32At(t, sv)), uint64(f.u32At(t, sv+4))
		f.send(t, x, "to y")
		f.send(t, y, "to x")
		if got := f.recv(t, y); got != "to y" {
			t.Errorf("y read %q", got)
		}
		if got := f.recv(t, x); got != "to x" {
			t.Errorf("x read %q", got)
		}
		f.ok(t, "close", x)
		if got := f.recv(t, y); got != "" {
			t.Errorf("read %q after the peer closed", got)
		}
		f.fails(t, EOPNOTSUPP, "socketpair", AF_INET, SOCK_STREAM, 0, sv)

		// Seqpacket pairs keep message boundaries, and end.
		f.ok(t, "socketpair", AF_UNIX, SOCK_SEQPACKET, 0, sv)
		x, y = uint64(f.u32At(t, sv)), uint64(f.u32At(t, sv+4))
		f.send(t, x, "first")
		f.send(t, x, "second")
		if got := f.recv(t, y); got != "first" {
			t.Errorf("first message %q", got)
		}
		buf, msg := f.alloc(8), f.alloc(56)
		iov := f.u64s(buf, 3)
		if err := f.WriteMem(msg, append(make([]byte, 16), f.mem(t, f.u64s(iov, 1), 16)...)); err != nil {
			t.Fatal(err)
		}
		if n := f.ok(t, "recvmsg", y, msg, 0); n != 3 || string(f.mem(t, buf, 3)) != "sec" || f.u32At(t, msg+48)&MSG_TRUNC == 0 {
			t.Errorf("short recvmsg: %d %q flags %#x", n, f.mem(t, buf, 3), f.u32At(t, msg+48))
		}
		f.ok(t, "close", x)
		if got := f.recv(t, y); got != "" {
			t.Errorf("read %q after the peer closed", got)
		}
		f.fails(t, EPIPE, "sendto", y, f.cstr("x"), 1, MSG_NOSIGNAL, 0, 0)

		// Datagram pairs keep message boundaries.
		f.ok(t, "socketpair", AF_UNIX, SOCK_DGRAM, 0, sv)
		x, y = uint64(f.u32At(t, sv)), uint64(f.u32At(t, sv+4))
		f.send(t, x, "one")
		f.send(t, x, "two")
		if got := f.recv(t, y); got != "one" {
			t.Errorf("first datagram %q", got)
		}

		// A named stream socket.
		l := f.ok(t, "socket", AF_UNIX, SOCK_STREAM, 0)
		addr := unixAddr("/tmp/sock")
		f.ok(t, "bind", l, f.bytesAt(addr), uint64(len(addr)))
		f.ok(t, "listen", l, 5)
		if st := f.statPath(t, "/tmp/sock", 0); st.mode&S_IFMT != S_IFSOCK {
			t.Errorf("socket file mode %o", st.mode)
		}
		f.fails(t, ENXIO, "openat", atFdcwd, f.cstr("/tmp/sock"), O_RDONLY, 0)
		c := f.ok(t, "socket", AF_UNIX, SOCK_STREAM, 0)
		f.ok(t, "connect", c, f.bytesAt(addr), uint64(len(addr)))
		s := f.ok(t, "accept", l, 0, 0)
		f.send(t, c, "hello")
		if got := f.recv(t, s); got != "hello" {
			t.Errorf("accepted end read %q", got)
		}
		other := f.ok(t, "socket", AF_UNIX, SOCK_STREAM, 0)
		f.fails(t, EADDRINUSE, "bind", other, f.bytesAt(addr), uint64(len(addr)))
		ro := unixAddr("/etc/sock")
		f.fails(t, EROFS, "bind", other, f.bytesAt(ro), uint64(len(ro)))
		missing := unixAddr("/tmp/none")
		f.fails(t, ENOENT, "connect", other, f.bytesAt(missing), uint64(len(missing)))
		regular := unixAddr("/etc/hostname")
		f.fails(t, ECONNREFUSED, "connect", other, f.bytesAt(regular), uint64(len(regular)))

		// Abstract names, and autobind.
		ab := unixAddr("@gorunemu")
		f.ok(t, "bind", other, f.bytesAt(ab), uint64(len(ab)))
		f.ok(t, "listen", other, 1)
		c2 := f.ok(t, "socket", AF_UNIX, SOCK_STREAM, 0)
		f.ok(t, "connect", c2, f.bytesAt(ab), uint64(len(ab)))
		if got := f.addrOf(t, "getpeername", c2); string(got) != string(ab) {
			t.Errorf("peer %q, want %q", got, ab)
		}
		auto := f.ok(t, "socket", AF_UNIX, SOCK_DGRAM, 0)
		f.ok(t, "bind", auto, f.bytesAt(unixAddr("")[:2]), 2)
		if got := f.addrOf(t, "getsockname", auto); len(got) != 8 || got[2] != 0 {
			t.Errorf("autobound name %q, want an abstract five-digit name", got)
		}
	})
}

// TestSocketErrors: argument checks in Linux's order, and the calls on
// descriptors that are not sockets.
func TestSocketErrors(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		f.fails(t, EAFNOSUPPORT, "socket", 99, SOCK_STREAM, 0)
		f.fails(t, EINVAL, "socket", AF_INET, SOCK_STREAM|0x100000, 0)
		f.fails(t, EPERM, "socket", AF_INET, SOCK_RAW, 1)
		f.fails(t, EPROTONOSUPPORT, "socket", AF_INET, SOCK_STREAM, IPPROTO_UDP)
		f.fails(t, ESOCKTNOSUPPORT, "socket", AF_UNIX, 4, 0)
		for _, name := range []string{"connect", "bind", "listen", "accept", "sendto", "recvfrom",
			"sendmsg", "recvmsg", "shutdown", "getsockname", "getpeername", "setsockopt",
			"getsockopt", "sendmmsg", "recvmmsg", "accept4"} {
			f.fails(t, ENOTSOCK, name, 1)
			f.fails(t, EBADF, name, 99)
		}
		f.fails(t, EINVAL, "accept4", 1, 0, 0, 0x1)
		d := f.ok(t, "socket", AF_INET, SOCK_DGRAM, 0)
		f.fails(t, EOPNOTSUPP, "listen", d, 1)
		f.fails(t, ENOPROTOOPT, "setsockopt", d, SOL_SOCKET, 999, f.u64s(1), 4)
		typ, l := f.alloc(4), f.u64s(4)
		f.ok(t, "getsockopt", d, SOL_SOCKET, SO_TYPE, typ, l)
		if f.u32At(t, typ) != SOCK_DGRAM {
			t.Errorf("SO_TYPE %d", f.u32At(t, typ))
		}
	})
}
