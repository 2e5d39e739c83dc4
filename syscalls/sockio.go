package syscalls

import "encoding/binary"

// Moving data through sockets (socket.go): reads and writes, the send and
// receive calls, and readiness for epoll.

// read receives into dst: from the stream's inbound pipe, or the
// next message (the rest of which is dropped, as MSG_TRUNC says).
func (s *socket) read(t Task, f *file, dst *ioDst, flags uint32, from *sockAddr) (uint64, uint32, error) {
	nonblock := f.flags&O_NONBLOCK != 0 || flags&MSG_DONTWAIT != 0
	if s.stream() && !s.connected {
		if s.listening {
			return 0, 0, EINVAL
		}
		return 0, 0, ENOTCONN
	}
	if s.bytes() {
		if s.shutRd {
			return 0, 0, nil
		}
		if flags&MSG_PEEK != 0 {
			return 0, 0, gapf("recv(MSG_PEEK) on a stream socket")
		}
		rf := &file{flags: O_RDONLY}
		if nonblock {
			rf.flags |= O_NONBLOCK
		}
		n, err := s.in.read(t, rf, dst)
		*from = s.remote
		return n, 0, err
	}
	ws, _, _ := restartState(t)
	if len(s.dgrams) == 0 {
		if s.shutRd || s.peerGone {
			return 0, 0, nil
		}
		if nonblock {
			return 0, 0, EAGAIN
		}
		n, err := block(t, s.dgQ, ws)
		return n, 0, err
	}
	d := s.dgrams[0]
	if flags&MSG_PEEK == 0 {
		s.dgrams = s.dgrams[1:]
		s.dgBytes -= len(d.data)
		s.dgQ.wake(t, EPOLLOUT|EPOLLWRNORM) // a sender waiting for room
	}
	w, err := dst.put(d.data[:min(uint64(len(d.data)), dst.left())])
	if err != nil && w == 0 {
		return 0, 0, err
	}
	var mflags uint32
	if w < len(d.data) {
		mflags |= MSG_TRUNC
		if flags&MSG_TRUNC != 0 {
			w = len(d.data)
		}
	}
	*from = d.from
	return uint64(w), mflags, nil
}

// write sends src: into the stream's outbound pipe, or as one datagram to
// to (or the connected peer).
func (s *socket) write(t Task, f *file, src *ioSrc, flags uint32, to *sockAddr) (uint64, error) {
	nonblock := f.flags&O_NONBLOCK != 0 || flags&MSG_DONTWAIT != 0
	if s.stream() && !s.bytes() {
		switch {
		case !s.connected:
			return 0, ENOTCONN
		case s.shutWr || s.peer == nil:
			return 0, s.epipe(t, flags)
		}
	}
	if s.bytes() {
		if s.out == nil {
			if s.family == AF_UNIX {
				return 0, ENOTCONN
			}
			return 0, EPIPE
		}
		if s.shutWr {
			return 0, s.epipe(t, flags)
		}
		wf := &file{flags: O_WRONLY}
		if nonblock {
			wf.flags |= O_NONBLOCK
		}
		if flags&MSG_NOSIGNAL != 0 && s.out.readers == 0 {
			return 0, EPIPE
		}
		return s.out.write(t, wf, src)
	}
	k := t.Kernel()
	var dest *socket
	switch {
	case to == nil && s.peer != nil:
		dest = s.peer
	case to == nil && !s.connected:
		return 0, EDESTADDRREQ
	default:
		if to == nil {
			to = &s.remote
		}
		l, err := k.findListener(t, s, *to)
		if err != nil && (err != ECONNREFUSED || s.family == AF_UNIX) {
			return 0, err
		}
		dest = l
		if err := s.autobind(t, to.ip); err != nil {
			return 0, err
		}
	}
	if src.left() > 65507 && s.family != AF_UNIX {
		return 0, EMSGSIZE
	}
	data, err := src.get(src.left())
	if err != nil {
		return 0, err
	}
	if dest == nil || dest.shutRd {
		if s.family == AF_UNIX {
			return 0, ECONNREFUSED
		}
		return uint64(len(data)), nil // UDP to nobody is lost on the way
	}
	if dest.dgBytes+len(data) > rmemDefault {
		if s.family != AF_UNIX {
			return uint64(len(data)), nil // dropped, as a full UDP queue does
		}
		if nonblock {
			return 0, EAGAIN
		}
		ws, _, _ := restartState(t)
		return block(t, dest.dgQ, ws)
	}
	from := s.local
	if from.family == 0 {
		from.family = s.family
	}
	dest.dgrams = append(dest.dgrams, dgram{from: from, data: append([]byte(nil), data...)})
	dest.dgBytes += len(data)
	dest.dgQ.wake(t, EPOLLIN|EPOLLRDNORM)
	return uint64(len(data)), nil
}

// epipe is a write past the end of a connection: EPIPE, and SIGPIPE
// unless MSG_NOSIGNAL.
func (s *socket) epipe(t Task, flags uint32) error {
	if flags&MSG_NOSIGNAL == 0 {
		if _, err := sendSignal(t, t.TID(), SIGPIPE, SI_USER); err != nil {
			return err
		}
	}
	return EPIPE
}

// poll is the socket's readiness.
func (s *socket) poll() uint32 {
	var ev uint32
	switch {
	case s.listening:
		if len(s.backlog) > 0 {
			ev |= EPOLLIN | EPOLLRDNORM
		}
	case s.bytes() && s.in != nil:
		if len(s.in.bufs) > 0 || s.in.writers <= 0 || s.shutRd {
			ev |= EPOLLIN | EPOLLRDNORM
		}
		if s.in.writers <= 0 || s.shutRd {
			ev |= EPOLLRDHUP
		}
		if s.shutWr || s.out.readers <= 0 || !s.out.full() {
			ev |= EPOLLOUT | EPOLLWRNORM
		}
		if (s.in.writers <= 0 || s.shutRd) && (s.shutWr || s.out.readers <= 0) {
			ev |= EPOLLHUP
		}
	case s.stream() && s.connected: // seqpacket
		if len(s.dgrams) > 0 || s.peerGone {
			ev |= EPOLLIN | EPOLLRDNORM
		}
		if s.peerGone {
			ev |= EPOLLRDHUP | EPOLLHUP
		} else if s.peer != nil && s.peer.dgBytes < rmemDefault {
			ev |= EPOLLOUT | EPOLLWRNORM
		}
	case s.stream():
		ev |= EPOLLOUT | EPOLLHUP
	default:
		if len(s.dgrams) > 0 {
			ev |= EPOLLIN | EPOLLRDNORM
		}
		ev |= EPOLLOUT | EPOLLWRNORM
	}
	return ev
}

// queues are the wait queues an epoll item on the socket watches.
func (s *socket) queues() []*waitQueue {
	qs := []*waitQueue{s.acceptQ, s.dgQ}
	if s.in != nil {
		qs = append(qs, s.in.rd)
	}
	if s.out != nil {
		qs = append(qs, s.out.wr)
	}
	return qs
}

// msghdr is struct msghdr (the same on both guests).
type msghdr struct {
	name       uint64
	namelen    uint32
	iov        uint64
	iovlen     uint64
	control    uint64
	controllen uint64
	flags      uint32
}

func readMsghdr(t Task, addr uint64) (msghdr, error) {
	b, err := copyIn(t, addr, 56)
	if err != nil {
		return msghdr{}, err
	}
	le := binary.LittleEndian
	return msghdr{name: le.Uint64(b), namelen: le.Uint32(b[8:]), iov: le.Uint64(b[16:]), iovlen: le.Uint64(b[24:]),
		control: le.Uint64(b[32:]), controllen: le.Uint64(b[40:]), flags: le.Uint32(b[48:])}, nil
}

// destination reads the address a send names, if any; a connected
// stream ignores it.
func (s *socket) destination(t Task, addr uint64, n uint32) (*sockAddr, error) {
	if addr == 0 || (s.stream() && s.connected) {
		return nil, nil
	}
	sa, err := s.readAddr(t, addr, n)
	if err != nil {
		return nil, err
	}
	return &sa, nil
}

// Sendto implements sendto(2).
func Sendto(t Task, a Args) (uint64, error) {
	s, f, err := sockOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	iov, err := oneBuf(t, a.Ptr(1), a.Uint(2))
	if err != nil {
		return 0, err
	}
	to, err := s.destination(t, a.Ptr(4), a.U32(5))
	if err != nil {
		return 0, err
	}
	return s.write(t, f, newSrc(t, iov), a.U32(3), to)
}

// Recvfrom implements recvfrom(2).
func Recvfrom(t Task, a Args) (uint64, error) {
	s, f, err := sockOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	iov, err := oneBuf(t, a.Ptr(1), a.Uint(2))
	if err != nil {
		return 0, err
	}
	var from sockAddr
	n, _, err := s.read(t, f, newDst(t, iov), a.U32(3), &from)
	if err != nil {
		return 0, err
	}
	if a.Ptr(4) != 0 && !s.stream() {
		if err := putAddr(t, a.Ptr(4), a.Ptr(5), from.encode(s.family)); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// Sendmsg implements sendmsg(2) without ancillary data.
func Sendmsg(t Task, a Args) (uint64, error) {
	s, f, err := sockOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	m, err := readMsghdr(t, a.Ptr(1))
	if err != nil {
		return 0, err
	}
	if m.controllen > 0 {
		return 0, gapf("sendmsg with ancillary data")
	}
	iov, err := readIovecs(t, m.iov, int32(m.iovlen))
	if err != nil {
		return 0, err
	}
	to, err := s.destination(t, m.name, m.namelen)
	if err != nil {
		return 0, err
	}
	return s.write(t, f, newSrc(t, iov), a.U32(2), to)
}

// Recvmsg implements recvmsg(2): no ancillary data is ever received.
func Recvmsg(t Task, a Args) (uint64, error) {
	s, f, err := sockOf(t, a.Fd(0))
	if err != nil {
		return 0, err
	}
	m, err := readMsghdr(t, a.Ptr(1))
	if err != nil {
		return 0, err
	}
	iov, err := readIovecs(t, m.iov, int32(m.iovlen))
	if err != nil {
		return 0, err
	}
	var from sockAddr
	n, mflags, err := s.read(t, f, newDst(t, iov), a.U32(2), &from)
	if err != nil {
		return 0, err
	}
	var b [8]byte
	if m.name != 0 && !s.stream() {
		enc := from.encode(s.family)
		if err := t.WriteMem(m.name, enc[:min(len(enc), int(m.namelen))]); err != nil {
			return 0, err
		}
		binary.LittleEndian.PutUint32(b[:4], uint32(len(enc)))
		if err := t.WriteMem(a.Ptr(1)+8, b[:4]); err != nil {
			return 0, err
		}
	} else {
		if err := t.WriteMem(a.Ptr(1)+8, b[:4]); err != nil {
			return 0, err
		}
	}
	if err := t.WriteMem(a.Ptr(1)+40, b[:8]); err != nil { // msg_controllen = 0
		return 0, err
	}
	binary.LittleEndian.PutUint32(b[:4], mflags)
	if err := t.WriteMem(a.Ptr(1)+48, b[:4]); err != nil {
		return 0, err
	}
	return n, nil
}

// SockFd implements the socket calls not emulated for real sockets
// (sendmmsg, recvmmsg): EBADF or ENOTSOCK for what is not a socket.
func SockFd(t Task, a Args) (uint64, error) {
	if _, _, err := sockOf(t, a.Fd(0)); err != nil {
		return 0, err
	}
	return 0, gapf("sendmmsg/recvmmsg")
}
