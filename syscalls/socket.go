package syscalls

import (
	"encoding/binary"
	"net/netip"
	"path"
	"strings"
)

// Sockets inside the emulation. The guest has a loopback network of its
// own and nothing else: TCP and UDP over IPv4 and IPv6 between its own
// sockets, on 127.0.0.0/8 and ::1 (and the wildcard addresses, which mean
// them), and unix-domain stream, datagram and seqpacket sockets, named in
// a tmpfs, in the abstract namespace, or unnamed from socketpair. Nothing
// reaches the host's network or its sockets: connecting to any other
// address fails with ENETUNREACH, binding to one with EADDRNOTAVAIL, and a
// host socket file refuses connections.
//
// A connected stream is two pipes, one each way, so it blocks, polls,
// hangs up and bounds its buffers as pipes do (pipe.go); a connect to a
// listening socket completes at once, queueing the server's end on the
// listener until accept takes it. Datagrams queue on the receiving
// socket, bounded by its receive buffer. Everything waits on the virtual
// clock. A seqpacket connection sends each message to its peer's queue,
// as a datagram socket does. Ancillary data (SCM_RIGHTS, credentials) is
// not emulated.

// Socket families, types and options (include/linux/socket.h, net.h,
// in.h, in6.h, asm-generic/socket.h, tcp.h).
const (
	AF_UNIX  = 1
	AF_INET  = 2
	AF_INET6 = 10

	SOCK_STREAM    = 1
	SOCK_DGRAM     = 2
	SOCK_RAW       = 3
	SOCK_SEQPACKET = 5

	SOL_SOCKET   = 1
	IPPROTO_IP   = 0
	IPPROTO_TCP  = 6
	IPPROTO_UDP  = 17
	IPPROTO_IPV6 = 41

	SO_DEBUG      = 1
	SO_REUSEADDR  = 2
	SO_TYPE       = 3
	SO_ERROR      = 4
	SO_DONTROUTE  = 5
	SO_BROADCAST  = 6
	SO_SNDBUF     = 7
	SO_RCVBUF     = 8
	SO_KEEPALIVE  = 9
	SO_OOBINLINE  = 10
	SO_LINGER     = 13
	SO_REUSEPORT  = 15
	SO_PASSCRED   = 16
	SO_PEERCRED   = 17
	SO_ACCEPTCONN = 30
	SO_PROTOCOL   = 38
	SO_DOMAIN     = 39

	TCP_NODELAY   = 1
	TCP_KEEPIDLE  = 4
	TCP_KEEPINTVL = 5
	TCP_KEEPCNT   = 6
	IPV6_V6ONLY   = 26

	SHUT_RD   = 0
	SHUT_WR   = 1
	SHUT_RDWR = 2

	MSG_OOB          = 0x1
	MSG_PEEK         = 0x2
	MSG_DONTROUTE    = 0x4
	MSG_TRUNC        = 0x20
	MSG_DONTWAIT     = 0x40
	MSG_EOR          = 0x80
	MSG_WAITALL      = 0x100
	MSG_NOSIGNAL     = 0x4000
	MSG_CMSG_CLOEXEC = 0x40000000

	// somaxconn is net.core.somaxconn; rmemDefault net.core.rmem_default.
	somaxconn   = 4096
	rmemDefault = 212992
	// ephemeral ports are ip_local_port_range's default.
	ephemeralLow, ephemeralHigh = 32768, 60999
	sunPathMax                  = 108
)

// sockAddr is a socket address: an IP and port, or a unix name (a path,
// or an abstract name, or none).
type sockAddr struct {
	family   int
	ip       netip.Addr // IPv4 addresses as themselves, not mapped
	port     uint16
	path     string // unix: the name as given
	abstract bool
}

// socket is one socket (struct sock).
type socket struct {
	k                  *Kernel
	family, typ, proto int
	local, remote      sockAddr
	bound, listening   bool
	connected          bool
	v6only             bool
	opts               map[[2]int32]int32 // other int options, as set
	shutRd, shutWr     bool
	peerGone           bool  // a seqpacket peer closed or shut down writing
	node               *node // the unix socket file it is bound to
	// A connected stream or seqpacket socket reads in and writes out.
	in, out *pipe
	peer    *socket
	// A listener's queue of connected server ends, and its waiters.
	backlog    []*socket
	maxBacklog int
	acceptQ    *waitQueue
	// A datagram socket's received messages and their bytes.
	dgrams  []dgram
	dgBytes int
	dgQ     *waitQueue
}

type dgram struct {
	from sockAddr
	data []byte
}

// network is the loopback network of a Kernel: the bound inet sockets by
// protocol and port, and the abstract unix names.
type network struct {
	inet     map[inetKey][]*socket
	abstract map[string]*socket
	nextPort int
}

type inetKey struct {
	dgram bool
	port  uint16
}

func (k *Kernel) net() *network {
	if k.netw == nil {
		k.netw = &network{inet: map[inetKey][]*socket{}, abstract: map[string]*socket{}, nextPort: ephemeralLow}
	}
	return k.netw
}

// newSocket makes a socket after socket(2)'s checks.
func (k *Kernel) newSocket(family, typ, proto int) (*socket, error) {
	switch family {
	case AF_UNIX:
		switch typ {
		case SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET:
		default:
			return nil, ESOCKTNOSUPPORT
		}
		if proto != 0 {
			return nil, EPROTONOSUPPORT
		}
	case AF_INET, AF_INET6:
		switch {
		case typ == SOCK_STREAM && (proto == 0 || proto == IPPROTO_TCP):
			proto = IPPROTO_TCP
		case typ == SOCK_DGRAM && (proto == 0 || proto == IPPROTO_UDP):
			proto = IPPROTO_UDP
		case typ == SOCK_RAW:
			return nil, EPERM // needs CAP_NET_RAW; and there is no network
		case typ == SOCK_STREAM || typ == SOCK_DGRAM:
			return nil, EPROTONOSUPPORT
		default:
			return nil, ESOCKTNOSUPPORT
		}
	default:
		return nil, EAFNOSUPPORT
	}
	return &socket{k: k, family: family, typ: typ, proto: proto, opts: map[[2]int32]int32{},
		acceptQ: k.newWaitQueue(), dgQ: k.newWaitQueue()}, nil
}

// stream: connection-oriented (listen, accept, connect to a listener);
// bytes: a byte stream through pipes. A seqpacket socket is the one but
// not the other: connected, it sends messages to its peer's queue.
func (s *socket) stream() bool { return s.typ != SOCK_DGRAM }
func (s *socket) bytes() bool  { return s.typ == SOCK_STREAM }

// sockNode is the inode of a socket, on sockfs.
func (k *Kernel) sockNode(s *socket) *node {
	m := k.fs.sockets
	m.nextIno++
	return &node{kind: kindAnon, name: "socket", perm: S_IFSOCK | 0o777, mnt: m, ino: 2000 + m.nextIno, sock: s}
}

// openSocket installs s as a new descriptor.
func (k *Kernel) openSocket(t Task, s *socket, flags uint32) (uint64, error) {
	f := &file{n: k.sockNode(s), flags: O_RDWR | uint64(flags&SOCK_NONBLOCK)}
	fd, err := k.files.alloc(f, 0, flags&SOCK_CLOEXEC != 0)
	if err != nil {
		return 0, firstErr(err, f.release(t, k))
	}
	return uint64(fd), nil
}

// socketArgs checks socket(2)'s and socketpair(2)'s first two arguments
// in __sys_socket's order, flags then family.
func socketArgs(a Args) (family int, typ int32, err error) {
	typ = a.Int32(1)
	if uint32(typ)&^SOCK_TYPE_MASK&^uint32(SOCK_NONBLOCK|SOCK_CLOEXEC) != 0 {
		return 0, 0, EINVAL
	}
	family = int(a.Int32(0))
	if family < 0 || family >= afMax {
		return 0, 0, EAFNOSUPPORT
	}
	return family, typ, nil
}

// Socket implements socket(2).
func Socket(t Task, a Args) (uint64, error) {
	family, typ, err := socketArgs(a)
	if err != nil {
		return 0, err
	}
	k := t.Kernel()
	s, err := k.newSocket(family, int(typ&SOCK_TYPE_MASK), int(a.Int32(2)))
	if err != nil {
		return 0, err
	}
	return k.openSocket(t, s, uint32(typ))
}

// Socketpair implements socketpair(2): unix sockets only, as on Linux.
func Socketpair(t Task, a Args) (uint64, error) {
	family, typ, err := socketArgs(a)
	if err != nil {
		return 0, err
	}
	k := t.Kernel()
	if family != AF_UNIX {
		if family == AF_INET || family == AF_INET6 {
			return 0, EOPNOTSUPP
		}
		return 0, EAFNOSUPPORT
	}
	x, err := k.newSocket(family, int(typ&SOCK_TYPE_MASK), int(a.Int32(2)))
	if err != nil {
		return 0, err
	}
	y, _ := k.newSocket(family, x.typ, x.proto)
	if err := k.join(x, y); err != nil {
		return 0, err
	}
	if !accessOK(t, a.Ptr(3), 8) {
		x.release(t)
		y.release(t)
		return 0, EFAULT
	}
	fx, err := k.openSocket(t, x, uint32(typ))
	if err != nil {
		y.release(t)
		return 0, err
	}
	fy, err := k.openSocket(t, y, uint32(typ))
	if err != nil {
		return 0, firstErr(err, k.files.close(t, int32(fx)))
	}
	var b [8]byte
	binary.LittleEndian.PutUint32(b[:], uint32(fx))
	binary.LittleEndian.PutUint32(b[4:], uint32(fy))
	if err := t.WriteMem(a.Ptr(3), b[:]); err != nil {
		return 0, firstErr(err, k.files.close(t, int32(fx)), k.files.close(t, int32(fy)))
	}
	return 0, nil
}

// join connects two sockets to each other: two pipes for a stream, each
// other's address for datagrams.
func (k *Kernel) join(x, y *socket) error {
	x.connected, y.connected = true, true
	x.peer, y.peer = y, x
	if !x.bytes() {
		return nil
	}
	var p1, p2 *pipe
	if x.family == AF_UNIX {
		var err error
		if p1, err = k.newPipeObject(); err != nil {
			return err
		}
		if p2, err = k.newPipeObject(); err != nil {
			p1.free()
			return err
		}
	} else {
		p1, p2 = k.newTCPPipe(), k.newTCPPipe()
	}
	p1.readers, p1.writers, p2.readers, p2.writers = 1, 1, 1, 1
	x.out, y.in = p1, p1
	y.out, x.in = p2, p2
	return nil
}

// release is the last close of a socket: its pipe ends close (the peer
// sees end of file, and EPIPE on writing), a listener's queued
// connections are reset, and its name is freed.
func (s *socket) release(t Task) {
	s.shutdown(t, true, true)
	for _, c := range s.backlog {
		c.release(t)
	}
	s.backlog = nil
	s.unbind()
	if s.peer != nil && !s.bytes() && s.peer.peer == s {
		s.peer.peer = nil
		if s.stream() {
			// The seqpacket peer reads what is queued, then end of file.
			s.peer.peerGone = true
			if t != nil {
				s.peer.dgQ.wake(t, 0)
			}
		}
	}
	if t != nil {
		s.acceptQ.wake(t, 0)
		s.dgQ.wake(t, 0)
	}
}

// shutdown ends one or both directions of a connected stream.
func (s *socket) shutdown(t Task, rd, wr bool) {
	if rd && !s.shutRd {
		s.shutRd = true
		if s.in != nil {
			s.in.readers--
			s.closedEnd(t, s.in)
		}
	}
	if wr && !s.shutWr {
		s.shutWr = true
		if s.out != nil {
			s.out.writers--
			s.closedEnd(t, s.out)
		}
	}
}

func (s *socket) closedEnd(t Task, p *pipe) {
	if p.readers <= 0 && p.writers <= 0 {
		p.free()
	}
	if t != nil {
		p.rd.wake(t, 0)
		p.wr.wake(t, 0)
	}
}

// unbind frees the socket's address.
func (s *socket) unbind() {
	if !s.bound {
		return
	}
	s.bound = false
	nw := s.k.net()
	switch {
	case s.family == AF_UNIX && s.local.abstract:
		if nw.abstract[s.local.path] == s {
			delete(nw.abstract, s.local.path)
		}
	case s.family == AF_UNIX:
		if s.node != nil && s.node.sock == s {
			s.node.sock = nil // the file stays, and refuses connections
		}
	default:
		key := inetKey{!s.stream(), s.local.port}
		list := nw.inet[key]
		for i, o := range list {
			if o == s {
				nw.inet[key] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(nw.inet[key]) == 0 {
			delete(nw.inet, key)
		}
	}
}

// sockOf returns the socket of descriptor fd: EBADF, or ENOTSOCK.
func sockOf(t Task, fd int32) (*socket, *file, error) {
	f, err := t.Kernel().files.get(fd)
	if err != nil {
		return nil, nil, err
	}
	if f.n.sock == nil {
		return nil, nil, ENOTSOCK
	}
	return f.n.sock, f, nil
}

// readAddr reads a sockaddr of len bytes for socket s (bind, connect,
// sendto).
func (s *socket) readAddr(t Task, addr uint64, n uint32) (sockAddr, error) {
	if n > 128 {
		return sockAddr{}, EINVAL
	}
	if n < 2 {
		return sockAddr{}, EINVAL
	}
	b, err := copyIn(t, addr, uint64(n))
	if err != nil {
		return sockAddr{}, err
	}
	fam := int(binary.LittleEndian.Uint16(b))
	sa := sockAddr{family: fam}
	switch s.family {
	case AF_UNIX:
		if fam != AF_UNIX {
			return sockAddr{}, EINVAL
		}
		p := b[2:]
		if len(p) > 0 && p[0] == 0 {
			sa.abstract, sa.path = true, string(p[1:])
			return sa, nil
		}
		if i := strings.IndexByte(string(p), 0); i >= 0 {
			p = p[:i]
		}
		sa.path = string(p)
		return sa, nil
	case AF_INET:
		if n < 16 {
			return sockAddr{}, EINVAL
		}
		if fam != AF_INET {
			return sockAddr{}, EAFNOSUPPORT
		}
		sa.port = binary.BigEndian.Uint16(b[2:])
		sa.ip = netip.AddrFrom4([4]byte(b[4:8]))
	case AF_INET6:
		if fam == AF_INET && n >= 16 {
			sa.family = AF_INET // allowed for a v4 peer of a dual-stack socket
			sa.port = binary.BigEndian.Uint16(b[2:])
			sa.ip = netip.AddrFrom4([4]byte(b[4:8]))
			return sa, nil
		}
		if n < 24 {
			return sockAddr{}, EINVAL
		}
		if fam != AF_INET6 {
			return sockAddr{}, EAFNOSUPPORT
		}
		sa.port = binary.BigEndian.Uint16(b[2:])
		sa.ip = netip.AddrFrom16([16]byte(b[8:24])).Unmap()
	}
	return sa, nil
}

// encode writes sa as the sockaddr of family fam (an AF_INET6 socket
// shows IPv4 addresses mapped).
func (sa sockAddr) encode(fam int) []byte {
	switch fam {
	case AF_UNIX:
		b := make([]byte, 2, 2+len(sa.path)+1)
		binary.LittleEndian.PutUint16(b, AF_UNIX)
		switch {
		case sa.abstract:
			b = append(append(b, 0), sa.path...)
		case sa.path != "":
			b = append(append(b, sa.path...), 0)
		}
		return b
	case AF_INET:
		b := make([]byte, 16)
		binary.LittleEndian.PutUint16(b, AF_INET)
		binary.BigEndian.PutUint16(b[2:], sa.port)
		ip := sa.ip
		if !ip.IsValid() {
			ip = netip.IPv4Unspecified()
		}
		a4 := ip.Unmap().As4()
		copy(b[4:], a4[:])
		return b
	}
	b := make([]byte, 28)
	binary.LittleEndian.PutUint16(b, AF_INET6)
	binary.BigEndian.PutUint16(b[2:], sa.port)
	ip := sa.ip
	if !ip.IsValid() {
		ip = netip.IPv6Unspecified()
	}
	a16 := ip.As16()
	copy(b[8:], a16[:])
	return b
}

// putAddr stores sa at addr for a caller that gave *lenAddr bytes of room
// and writes the full length back, as move_addr_to_user does.
func putAddr(t Task, addr, lenAddr uint64, b []byte) error {
	if addr == 0 || lenAddr == 0 {
		return nil
	}
	var lb [4]byte
	if err := t.ReadMem(lenAddr, lb[:]); err != nil {
		return err
	}
	room := int32(binary.LittleEndian.Uint32(lb[:]))
	if room < 0 {
		return EINVAL
	}
	if n := min(int(room), len(b)); n > 0 {
		if err := t.WriteMem(addr, b[:n]); err != nil {
			return err
		}
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(len(b)))
	return t.WriteMem(lenAddr, lb[:])
}

// loopback reports whether ip is an address of the emulated machine: the
// loopback networks, or the wildcard.
func loopback(ip netip.Addr) bool {
	return ip.IsLoopback() || ip.IsUnspecified()
}

// Bind implements bind(2).
func Bind(t Task, a Args) (uint64, error) {
	s, _, err := sockOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	sa, err := s.readAddr(t, a.Ptr(1), a.U32(2))
	if err != nil {
		return 0, err
	}
	return 0, s.bind(t, sa)
}

func (s *socket) bind(t Task, sa sockAddr) error {
	if s.bound {
		return EINVAL
	}
	k := s.k
	nw := k.net()
	if s.family == AF_UNIX {
		switch {
		case sa.abstract:
			if _, taken := nw.abstract[sa.path]; taken {
				return EADDRINUSE
			}
			nw.abstract[sa.path] = s
		case sa.path == "":
			// autobind: an abstract name of five hex digits
			for i := 0; ; i++ {
				name := hex5(i)
				if _, taken := nw.abstract[name]; !taken {
					sa.abstract, sa.path = true, name
					nw.abstract[name] = s
					break
				}
			}
		default:
			if len(sa.path) >= sunPathMax {
				return EINVAL
			}
			n, err := k.bindPath(t, sa.path, s)
			if err != nil {
				return err
			}
			s.node = n
		}
		s.local, s.bound = sa, true
		return nil
	}
	if sa.family == AF_INET && s.family == AF_INET6 {
		return EINVAL // bind needs an AF_INET6 address on an AF_INET6 socket
	}
	if !loopback(sa.ip) {
		return EADDRNOTAVAIL
	}
	if s.family == AF_INET6 && sa.ip.Is4() && s.v6only {
		return EADDRNOTAVAIL
	}
	if sa.port == 0 {
		port, ok := nw.ephemeral(!s.stream())
		if !ok {
			return EADDRINUSE
		}
		sa.port = port
	} else if nw.conflict(s, sa) {
		return EADDRINUSE
	}
	key := inetKey{!s.stream(), sa.port}
	nw.inet[key] = append(nw.inet[key], s)
	s.local, s.bound = sa, true
	return nil
}

func hex5(i int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 5)
	for j := 4; j >= 0; j-- {
		b[j] = digits[i&0xf]
		i >>= 4
	}
	return string(b)
}

// ephemeral picks a free port, the same sequence in every run.
func (nw *network) ephemeral(dgram bool) (uint16, bool) {
	for range ephemeralHigh - ephemeralLow + 1 {
		p := nw.nextPort
		nw.nextPort++
		if nw.nextPort > ephemeralHigh {
			nw.nextPort = ephemeralLow
		}
		if len(nw.inet[inetKey{dgram, uint16(p)}]) == 0 {
			return uint16(p), true
		}
	}
	return 0, false
}

// covers reports whether a socket bound to local accepts traffic for ip.
func (s *socket) covers(ip netip.Addr) bool {
	l := s.local.ip
	switch {
	case l.IsUnspecified() && l.Is6():
		return !(ip.Is4() && s.v6only)
	case l.IsUnspecified():
		return ip.Is4()
	}
	return l == ip
}

// conflict reports whether binding s to sa clashes with a socket bound
// to the same port, unless both asked for SO_REUSEADDR (and the other is
// not listening) or SO_REUSEPORT.
func (nw *network) conflict(s *socket, sa sockAddr) bool {
	for _, o := range nw.inet[inetKey{!s.stream(), sa.port}] {
		if s.opt(SOL_SOCKET, SO_REUSEPORT) != 0 && o.opt(SOL_SOCKET, SO_REUSEPORT) != 0 {
			continue
		}
		if s.opt(SOL_SOCKET, SO_REUSEADDR) != 0 && o.opt(SOL_SOCKET, SO_REUSEADDR) != 0 && !o.listening {
			continue
		}
		probe := &socket{local: sa, v6only: s.v6only}
		if o.covers(sa.ip) || probe.covers(o.local.ip) ||
			(sa.ip.IsUnspecified() && o.local.ip.IsUnspecified()) {
			return true
		}
	}
	return false
}

func (s *socket) opt(level, name int32) int32 { return s.opts[[2]int32{level, name}] }

// bindPath makes the socket file of a unix socket: on a tmpfs; elsewhere
// the mount refuses as for any new file.
func (k *Kernel) bindPath(t Task, p string, s *socket) (*node, error) {
	start := k.cwd
	if strings.HasPrefix(p, "/") {
		start = k.fs.root
	}
	dir, err := k.fs.resolve(start, path.Dir(p), true)
	if err != nil {
		return nil, err
	}
	if dir.kind != kindDir {
		return nil, ENOTDIR
	}
	name := path.Base(p)
	if _, err := exists(t, dir, name); err == nil {
		return nil, EADDRINUSE
	}
	switch {
	case dir.mnt.writable():
	case dir.mnt.rwHost:
		return nil, gapf("a unix socket file in a writable host directory")
	default:
		return nil, dir.mnt.changeErr()
	}
	if err := permitted(t, dir, W_OK|X_OK); err != nil {
		return nil, err
	}
	n := k.tmpCreate(t, dir, name, kindSocket, 0o777&^k.umask, "")
	n.sock = s
	return n, nil
}

// Listen implements listen(2).
func Listen(t Task, a Args) (uint64, error) {
	s, _, err := sockOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	if !s.stream() {
		return 0, EOPNOTSUPP
	}
	if s.connected {
		return 0, EINVAL
	}
	if !s.bound {
		// An unbound socket gets an address first (inet_autobind).
		sa := sockAddr{family: s.family}
		switch s.family {
		case AF_INET:
			sa.ip = netip.IPv4Unspecified()
		case AF_INET6:
			sa.ip = netip.IPv6Unspecified()
		}
		if err := s.bind(t, sa); err != nil {
			return 0, err
		}
	}
	backlog := int(a.Int32(1))
	if backlog < 0 || backlog > somaxconn {
		backlog = somaxconn
	}
	s.listening, s.maxBacklog = true, backlog+1
	return 0, nil
}

// findListener finds the socket a connect to sa reaches.
func (k *Kernel) findListener(t Task, s *socket, sa sockAddr) (*socket, error) {
	nw := k.net()
	if s.family == AF_UNIX {
		var l *socket
		switch {
		case sa.abstract:
			l = nw.abstract[sa.path]
		case sa.path == "":
			return nil, EINVAL
		default:
			start := k.cwd
			if strings.HasPrefix(sa.path, "/") {
				start = k.fs.root
			}
			n, err := k.fs.resolve(start, sa.path, true)
			if err != nil {
				return nil, err
			}
			if n.kind != kindSocket && !(n.kind == kindSpecial && n.host.mode&S_IFMT == S_IFSOCK) {
				return nil, ECONNREFUSED
			}
			l = n.sock // nil for a host socket: it stays closed
		}
		if l == nil || l.typ != s.typ {
			if l != nil {
				return nil, EPROTOTYPE
			}
			return nil, ECONNREFUSED
		}
		return l, nil
	}
	if !loopback(sa.ip) {
		return nil, ENETUNREACH
	}
	ip := sa.ip
	if ip.IsUnspecified() {
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		if sa.family == AF_INET6 && s.family == AF_INET6 {
			ip = netip.IPv6Loopback()
		}
	}
	for _, o := range nw.inet[inetKey{!s.stream(), sa.port}] {
		if o.covers(ip) && (o.listening || !s.stream()) {
			return o, nil
		}
	}
	return nil, ECONNREFUSED
}

// Connect implements connect(2). A stream connect to a listener completes
// at once; a datagram connect sets the default destination.
func Connect(t Task, a Args) (uint64, error) {
	s, _, err := sockOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	sa, err := s.readAddr(t, a.Ptr(1), a.U32(2))
	if err != nil {
		return 0, err
	}
	k := t.Kernel()
	if !s.stream() {
		l, err := k.findListener(t, s, sa)
		if err != nil && s.family == AF_UNIX {
			return 0, err
		}
		if err != nil && err != ECONNREFUSED {
			return 0, err
		}
		if err := s.autobind(t, sa.ip); err != nil {
			return 0, err
		}
		s.remote, s.connected = sa, true
		if s.family == AF_UNIX {
			s.peer = l
		}
		return 0, nil
	}
	switch {
	case s.listening:
		return 0, EINVAL
	case s.connected:
		return 0, EISCONN
	}
	l, err := k.findListener(t, s, sa)
	if err != nil {
		return 0, err
	}
	if len(l.backlog) >= l.maxBacklog {
		if s.family == AF_UNIX {
			return 0, EAGAIN
		}
		return 0, ECONNREFUSED
	}
	if err := s.autobind(t, sa.ip); err != nil {
		return 0, err
	}
	srv, _ := k.newSocket(l.family, l.typ, l.proto)
	if err := k.join(s, srv); err != nil {
		return 0, err
	}
	srv.local, srv.bound = l.local, false
	if s.family != AF_UNIX {
		srv.local.ip = sa.ip
		if srv.local.ip.IsUnspecified() {
			srv.local.ip = s.local.ip
		}
	}
	srv.remote = s.local
	s.remote = srv.local
	l.backlog = append(l.backlog, srv)
	l.acceptQ.wake(t, EPOLLIN|EPOLLRDNORM)
	return 0, nil
}

// autobind gives an unbound inet socket an ephemeral port on the address
// it will use to reach dest, before it connects or sends.
func (s *socket) autobind(t Task, dest netip.Addr) error {
	if s.bound || s.family == AF_UNIX {
		return nil
	}
	sa := sockAddr{family: s.family, ip: dest}
	switch {
	case dest.IsLoopback():
	case s.family == AF_INET6 && !dest.Is4():
		sa.ip = netip.IPv6Loopback()
	default:
		sa.ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return s.bind(t, sa)
}

// Accept implements accept(2).
func Accept(t Task, a Args) (uint64, error) {
	return accept(t, a, 0)
}

// Accept4 implements accept4(2): flags are checked before the descriptor.
func Accept4(t Task, a Args) (uint64, error) {
	if a.U32(3)&^uint32(SOCK_NONBLOCK|SOCK_CLOEXEC) != 0 {
		return 0, EINVAL
	}
	return accept(t, a, a.U32(3))
}

func accept(t Task, a Args, flags uint32) (uint64, error) {
	s, f, err := sockOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	if !s.stream() {
		return 0, EOPNOTSUPP
	}
	if !s.listening {
		return 0, EINVAL
	}
	ws, _, _ := restartState(t)
	if len(s.backlog) == 0 {
		if f.flags&O_NONBLOCK != 0 {
			return 0, EAGAIN
		}
		return block(t, s.acceptQ, ws)
	}
	c := s.backlog[0]
	s.backlog = s.backlog[1:]
	k := t.Kernel()
	fd, err := k.openSocket(t, c, flags)
	if err != nil {
		c.release(t)
		return 0, err
	}
	if err := putAddr(t, a.Ptr(1), a.Ptr(2), c.remote.encode(c.family)); err != nil {
		return 0, firstErr(err, k.files.close(t, int32(fd)))
	}
	return fd, nil
}

// Getsockname implements getsockname(2).
func Getsockname(t Task, a Args) (uint64, error) {
	s, _, err := sockOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	local := s.local
	if local.family == 0 {
		local.family = s.family
	}
	return 0, putAddr(t, a.Ptr(1), a.Ptr(2), local.encode(s.family))
}

// Getpeername implements getpeername(2).
func Getpeername(t Task, a Args) (uint64, error) {
	s, _, err := sockOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	if !s.connected {
		return 0, ENOTCONN
	}
	return 0, putAddr(t, a.Ptr(1), a.Ptr(2), s.remote.encode(s.family))
}

// Shutdown implements shutdown(2).
func Shutdown(t Task, a Args) (uint64, error) {
	s, _, err := sockOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	how := a.Int32(1)
	if how < SHUT_RD || how > SHUT_RDWR {
		return 0, EINVAL
	}
	if !s.connected {
		return 0, ENOTCONN
	}
	s.shutdown(t, how != SHUT_WR, how != SHUT_RD)
	if !s.bytes() && how != SHUT_WR {
		s.dgQ.wake(t, 0)
	}
	if s.stream() && !s.bytes() && how != SHUT_RD && s.peer != nil {
		s.peer.peerGone = true
		s.peer.dgQ.wake(t, 0)
	}
	return 0, nil
}

// Setsockopt implements setsockopt(2) for integer options: they are kept
// and read back; those that change behaviour here are SO_REUSEADDR,
// SO_REUSEPORT and IPV6_V6ONLY.
func Setsockopt(t Task, a Args) (uint64, error) {
	s, _, err := sockOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	level, name, optlen := a.Int32(1), a.Int32(2), a.Int32(4)
	if optlen < 0 {
		return 0, EINVAL
	}
	if level == SOL_SOCKET && name == SO_LINGER {
		if optlen < 8 {
			return 0, EINVAL
		}
		_, err := copyIn(t, a.Ptr(3), 8)
		return 0, err // lingering is moot: nothing is ever lost in flight
	}
	if optlen < 4 {
		return 0, EINVAL
	}
	b, err := copyIn(t, a.Ptr(3), 4)
	if err != nil {
		return 0, err
	}
	v := int32(binary.LittleEndian.Uint32(b))
	switch level {
	case SOL_SOCKET:
		switch name {
		case SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_BROADCAST, SO_DEBUG, SO_DONTROUTE,
			SO_OOBINLINE, SO_PASSCRED, SO_SNDBUF, SO_RCVBUF:
		default:
			return 0, ENOPROTOOPT
		}
	case IPPROTO_TCP:
		if s.proto != IPPROTO_TCP {
			return 0, EOPNOTSUPP
		}
		switch name {
		case TCP_NODELAY, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT:
		default:
			return 0, ENOPROTOOPT
		}
	case IPPROTO_IPV6:
		if s.family != AF_INET6 {
			return 0, EOPNOTSUPP
		}
		if name != IPV6_V6ONLY {
			return 0, ENOPROTOOPT
		}
		if s.bound {
			return 0, EINVAL
		}
		s.v6only = v != 0
	case IPPROTO_IP:
		if s.family == AF_UNIX {
			return 0, EOPNOTSUPP
		}
		return 0, ENOPROTOOPT
	default:
		return 0, ENOPROTOOPT
	}
	s.opts[[2]int32{level, name}] = v
	return 0, nil
}

// Getsockopt implements getsockopt(2) for integer options.
func Getsockopt(t Task, a Args) (uint64, error) {
	s, _, err := sockOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	level, name := a.Int32(1), a.Int32(2)
	var v int32
	switch {
	case level == SOL_SOCKET && name == SO_ERROR:
		v = 0 // a connect completes or fails at once: no error waits here
	case level == SOL_SOCKET && name == SO_TYPE:
		v = int32(s.typ)
	case level == SOL_SOCKET && name == SO_DOMAIN:
		v = int32(s.family)
	case level == SOL_SOCKET && name == SO_PROTOCOL:
		v = int32(s.proto)
	case level == SOL_SOCKET && name == SO_ACCEPTCONN:
		if s.listening {
			v = 1
		}
	case level == SOL_SOCKET && (name == SO_SNDBUF || name == SO_RCVBUF):
		v = s.opt(level, name) * 2 // the kernel doubles what was set
		if v == 0 {
			v = rmemDefault
		}
	case level == IPPROTO_IPV6 && name == IPV6_V6ONLY && s.family == AF_INET6:
		if s.v6only {
			v = 1
		}
	case level == SOL_SOCKET || level == IPPROTO_TCP:
		v = s.opt(level, name)
	default:
		return 0, ENOPROTOOPT
	}
	var lb [4]byte
	if err := t.ReadMem(a.Ptr(4), lb[:]); err != nil {
		return 0, err
	}
	room := int32(binary.LittleEndian.Uint32(lb[:]))
	if room < 0 {
		return 0, EINVAL
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(v))
	n := min(int(room), 4)
	if err := t.WriteMem(a.Ptr(3), b[:n]); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(n))
	return 0, t.WriteMem(a.Ptr(4), lb[:])
}
