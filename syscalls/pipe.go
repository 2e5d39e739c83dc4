package syscalls

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// Pipes, as fs/pipe.c has them: a ring of page-sized buffers (16 by
// default, 64 KiB), small writes merged into the last buffer, writes of at
// most PIPE_BUF bytes atomic, EOF once every write end is closed, EPIPE
// and SIGPIPE once every read end is. Blocking reads and writes wait on
// the pipe's wait queues through Task.Block.
//
// Buffer pages are accounted as for an unprivileged user, whatever the
// guest's uid: past pipe-user-pages-soft pages, new pipes get 2 buffers,
// and past pipeUserPagesHard creating a pipe fails with ENFILE, so a guest
// cannot make the emulator hold more than pipeUserPagesHard pages of pipe
// data (128 MiB).
//
// Fds 1 and 2 are pipes too, whose reader is the host: what is written to
// them goes straight to Config.Stdout and Config.Stderr, and they never
// fill. With Config.Stdin, fd 0 is a pipe whose writer is the host: a read
// takes what Config.Stdin gives, waiting for it with the whole emulation
// (the guest's other threads do not run meanwhile), and it always polls
// readable.

// pipe is one pipe (struct pipe_inode_info).
type pipe struct {
	k *Kernel
	// rd and wr are rd_wait and wr_wait: readers wait for data, writers
	// for room.
	rd, wr *waitQueue
	// bufs are the buffers in use, oldest first. Each is a window of a
	// page: its length is what is unread, and its capacity reaches the
	// end of the page, so appending to the last one merges a write into
	// it the way pipe_write does.
	bufs [][]byte
	// slots is max_usage: how many buffers the pipe may hold.
	slots int
	// readers and writers count the open descriptions of each end.
	readers, writers int
	// out is the host writer of fds 1 and 2 (nil for a pipe2 pipe).
	out io.Writer
	// in is the host reader of fd 0 (nil for others).
	in io.Reader
	// tcp: one direction of a TCP connection, whose pages count against
	// the system's socket memory rather than the user's pipe pages.
	tcp bool
}

// newPipeObject makes a pipe with its default number of buffers, or
// fails with ENFILE past the hard limit.
func (k *Kernel) newPipeObject() (*pipe, error) {
	slots := pipeDefBuffers
	if k.pipePages+slots > pipeUserPagesSoft {
		slots = pipeMinDefBuffers
	}
	if k.pipePages+slots > pipeUserPagesHard {
		return nil, ENFILE
	}
	k.pipePages += slots
	return &pipe{k: k, rd: k.newWaitQueue(), wr: k.newWaitQueue(), slots: slots}, nil
}

// newHostPipe makes the pipe of fd 1 or 2.
func (k *Kernel) newHostPipe(w io.Writer) *pipe {
	return &pipe{k: k, rd: k.newWaitQueue(), wr: k.newWaitQueue(), slots: pipeDefBuffers, readers: 1, writers: 1, out: w}
}

// ErrInterrupted is what a Config.Stdin reader returns when a read that
// waits is cut short for a signal from outside: the guest's read fails
// with EINTR, and the signal is delivered after it.
var ErrInterrupted = errors.New("syscalls: host read interrupted")

// newHostInPipe makes the pipe of fd 0 when the host gives stdin.
func (k *Kernel) newHostInPipe(r io.Reader) *pipe {
	return &pipe{k: k, rd: k.newWaitQueue(), wr: k.newWaitQueue(), slots: pipeDefBuffers, readers: 1, writers: 1, in: r}
}

// TCP buffers: Linux autotunes a loopback connection's send and receive
// buffers up to tcp_wmem's and tcp_rmem's maxima, so a writer of a few
// MiB does not wait for the reader (HTTP servers that answer an
// oversized request before reading it all rely on that). A direction of
// an emulated connection holds up to tcpBufPages pages, and all of them
// together at most maxTCPPages (as tcp_mem bounds TCP's memory): past
// that, writers wait as on a full buffer.
const (
	tcpBufPages = 4 << 20 / pipePage
	maxTCPPages = 256 << 20 / pipePage
)

// newTCPPipe makes one direction of a TCP connection.
func (k *Kernel) newTCPPipe() *pipe {
	return &pipe{k: k, rd: k.newWaitQueue(), wr: k.newWaitQueue(), slots: tcpBufPages, tcp: true}
}

// free gives the pipe's pages back once no end is open.
func (p *pipe) free() {
	switch {
	case p.tcp:
		p.k.tcpPages -= len(p.bufs)
	case p.out == nil && p.in == nil:
		p.k.pipePages -= p.slots
	}
	p.slots, p.bufs = 0, nil
}

func (p *pipe) full() bool {
	return len(p.bufs) >= p.slots || p.tcp && p.k.tcpPages >= maxTCPPages
}

// unread is how many bytes wait to be read (FIONREAD).
func (p *pipe) unread() int {
	n := 0
	for _, b := range p.bufs {
		n += len(b)
	}
	return n
}

// poll is pipe_poll: the read end is readable when a buffer holds data
// and hung up when no writer is left; the write end is writable while a
// buffer is free and in error when no reader is left.
func (p *pipe) poll(f *file) uint32 {
	var ev uint32
	if f.readable() {
		if len(p.bufs) > 0 || p.in != nil {
			ev |= EPOLLIN | EPOLLRDNORM
		}
		if p.writers == 0 {
			ev |= EPOLLHUP
		}
	}
	if f.writable() {
		if p.out != nil || !p.full() {
			ev |= EPOLLOUT | EPOLLWRNORM
		}
		if p.readers == 0 {
			ev |= EPOLLERR
		}
	}
	return ev
}

// release closes one end (pipe_release): the other side's waiters all
// wake, to see EOF or EPIPE. The pages go back to the account when the
// last end is closed.
func (p *pipe) release(t Task, f *file) {
	if f.readable() {
		p.readers--
	}
	if f.writable() {
		p.writers--
	}
	if p.readers <= 0 && p.writers <= 0 {
		p.free()
	}
	if t != nil {
		p.rd.wake(t, 0)
		p.wr.wake(t, 0)
	}
}

// read is pipe_read into dst: whatever is there, up to dst's length,
// without waiting for more once something was read.
func (p *pipe) read(t Task, f *file, dst *ioDst) (uint64, error) {
	if dst.left() == 0 {
		return 0, nil // a null read succeeds at once
	}
	if p.in != nil {
		return p.hostRead(dst)
	}
	ws, _, _ := restartState(t)
	if len(p.bufs) == 0 {
		if p.writers == 0 {
			return 0, nil
		}
		if f.flags&O_NONBLOCK != 0 {
			return 0, EAGAIN
		}
		return block(t, p.rd, ws)
	}
	// Writers are woken only if the pipe was full when the read began
	// (was_full in pipe_read).
	wasFull := p.full()
	total := uint64(0)
	for len(p.bufs) > 0 && dst.left() > 0 {
		b := p.bufs[0]
		n, err := dst.put(b[:min(uint64(len(b)), dst.left())])
		total += uint64(n)
		p.bufs[0] = b[n:]
		if len(p.bufs[0]) == 0 {
			p.bufs[0] = nil
			p.bufs = p.bufs[1:]
			if p.tcp {
				p.k.tcpPages--
			}
		}
		if err != nil {
			if total == 0 {
				return 0, err
			}
			break
		}
	}
	if len(p.bufs) == 0 {
		p.bufs = nil
	}
	if wasFull {
		p.wr.wake(t, EPOLLOUT|EPOLLWRNORM)
	}
	return total, nil
}

// write is pipe_write from src: a write of at most PIPE_BUF bytes goes in
// whole or waits; a longer one fills what room there is and, if blocking,
// waits for more until all is written (the bytes already written are
// kept in the thread's wait state across restarts). With no reader left
// the writer gets SIGPIPE, and EPIPE unless it wrote something.
func (p *pipe) write(t Task, f *file, src *ioSrc) (uint64, error) {
	ws, restarted, _ := restartState(t)
	if !restarted {
		ws.done = 0
	}
	src.skip(ws.done)
	total := ws.done + src.left()
	if total == 0 {
		return 0, nil // a null write succeeds, even with no reader
	}
	done := ws.done
	wrote := false
	defer func() {
		if wrote {
			p.rd.wake(t, EPOLLIN|EPOLLRDNORM)
		}
	}()
	// The first, partial page of a write may merge into the last buffer.
	if chars := total % pipePage; chars != 0 && done == 0 && len(p.bufs) > 0 && p.readers > 0 {
		last := len(p.bufs) - 1
		if b := p.bufs[last]; uint64(len(b))+chars <= uint64(cap(b)) {
			chunk, err := src.get(chars)
			if err != nil {
				return 0, err
			}
			p.bufs[last] = append(b, chunk...)
			done += chars
			wrote = true
			if done == total {
				return done, nil
			}
		}
	}
	for {
		if p.readers == 0 {
			if _, err := sendSignal(t, t.TID(), SIGPIPE, SI_USER); err != nil {
				return 0, err
			}
			if done > 0 {
				return done, nil
			}
			return 0, EPIPE
		}
		if !p.full() {
			// A new buffer takes a whole page, so a write of at most
			// PIPE_BUF bytes that reaches here goes in at once.
			page := make([]byte, 0, pipePage)
			chunk, err := src.get(min(total-done, pipePage))
			if err != nil {
				// copy_page_from_iter stopped short: the partial page
				// is dropped.
				if done > 0 {
					return done, nil
				}
				return 0, EFAULT
			}
			p.bufs = append(p.bufs, append(page, chunk...))
			if p.tcp {
				p.k.tcpPages++
			}
			done += uint64(len(chunk))
			wrote = true
			if done == total {
				return done, nil
			}
			continue
		}
		if f.flags&O_NONBLOCK != 0 {
			if done > 0 {
				return done, nil
			}
			return 0, EAGAIN
		}
		ws.done = done
		return block(t, p.wr, ws)
	}
}

// hostWrite sends what src holds to the host writer of fd 1 or 2, in
// chunks, stopping at a fault.
func (p *pipe) hostWrite(fd int32, src *ioSrc) (uint64, error) {
	const chunk = 64 << 10
	total := uint64(0)
	for src.left() > 0 {
		b, err := src.get(min(src.left(), chunk))
		if len(b) > 0 {
			if _, werr := p.out.Write(b); werr != nil {
				if errors.Is(werr, context.DeadlineExceeded) || errors.Is(werr, context.Canceled) {
					// The run is ending while the host's reader stalls:
					// the write is interrupted, as by a signal, and the
					// run stops before the guest goes on.
					if total > 0 {
						return total, nil
					}
					return 0, EINTR
				}
				return 0, fmt.Errorf("fd %d: host writer: %w", fd, werr)
			}
			total += uint64(len(b))
		}
		if err != nil {
			if total == 0 {
				return 0, err
			}
			break
		}
	}
	return total, nil
}

// hostRead reads fd 0 from the host reader: what one Read gives, up to a
// page at a time; 0 at the host's end of file. A failing host read is EIO.
func (p *pipe) hostRead(dst *ioDst) (uint64, error) {
	buf := make([]byte, min(dst.left(), pipePage*pipeDefBuffers))
	n, err := p.in.Read(buf)
	if n == 0 && err != nil {
		switch {
		case err == io.EOF:
			return 0, nil
		case errors.Is(err, ErrInterrupted):
			return 0, EINTR
		}
		return 0, EIO
	}
	w, perr := dst.put(buf[:n])
	if perr != nil && w == 0 {
		return 0, perr
	}
	return uint64(w), nil
}

// setSize is F_SETPIPE_SZ (pipe_set_size): the size rounds up to a power
// of two pages; shrinking below what the pipe holds is EBUSY.
func (p *pipe) setSize(t Task, arg uint64) (uint64, error) {
	size := uint64(uint32(arg))
	if size > 1<<31 {
		return 0, EINVAL // round_pipe_size gives 0
	}
	if size < pipePage {
		size = pipePage
	}
	size = 1 << bits.Len64(size-1)
	slots := int(size / pipePage)
	if slots > p.slots && size > pipeMaxSize {
		return 0, EPERM // unprivileged, as accounted
	}
	if p.out == nil && slots > p.slots && p.k.pipePages-p.slots+slots > pipeUserPagesSoft {
		return 0, EPERM
	}
	if slots < len(p.bufs) {
		return 0, EBUSY
	}
	if p.out == nil {
		p.k.pipePages += slots - p.slots
	}
	p.slots = slots
	if slots > len(p.bufs) {
		p.wr.wake(t, EPOLLOUT|EPOLLWRNORM)
	}
	return uint64(slots) * pipePage, nil
}

// pipeAt is the body of pipe and pipe2: a new pipe, its read end at the
// lower fd, written to fds as two C ints.
func pipeAt(t Task, fds uint64, flags uint64) (uint64, error) {
	if flags&^uint64(O_CLOEXEC|O_NONBLOCK|abiOf(t.Arch()).oDirect|O_NOTIFICATION_PIPE) != 0 {
		return 0, EINVAL
	}
	switch {
	case flags&abiOf(t.Arch()).oDirect != 0:
		return 0, gapf("pipe2(O_DIRECT): packet pipes")
	case flags&O_NOTIFICATION_PIPE != 0:
		return 0, gapf("pipe2(O_NOTIFICATION_PIPE): watch queues")
	}
	k := t.Kernel()
	p, err := k.newPipeObject()
	if err != nil {
		return 0, err
	}
	n := k.fs.newPipe(p)
	nb := flags & O_NONBLOCK
	rf := &file{n: n, flags: O_RDONLY | nb}
	wf := &file{n: n, flags: O_WRONLY | nb}
	p.readers, p.writers = 1, 1
	cloexec := flags&O_CLOEXEC != 0
	ft := &k.files
	rfd, err := ft.alloc(rf, 0, cloexec)
	if err != nil {
		p.free()
		return 0, err
	}
	wfd, err := ft.alloc(wf, 0, cloexec)
	if err != nil {
		ft.drop(rfd)
		p.free()
		return 0, err
	}
	var b [8]byte
	le.PutUint32(b[:], uint32(rfd))
	le.PutUint32(b[4:], uint32(wfd))
	if err := t.WriteMem(fds, b[:]); err != nil {
		ft.drop(rfd)
		ft.drop(wfd)
		p.free()
		return 0, err
	}
	return 0, nil
}

// Pipe2 implements pipe2(2). O_DIRECT (packet mode) and
// O_NOTIFICATION_PIPE are emulator gaps.
func Pipe2(t Task, a Args) (uint64, error) {
	return pipeAt(t, a.Ptr(0), uint64(a.U32(1)))
}

// Pipe implements pipe(2) (amd64 only).
func Pipe(t Task, a Args) (uint64, error) {
	return pipeAt(t, a.Ptr(0), 0)
}

// openFifo opens a named pipe (fifo_open): a reader waits for a writer
// and a writer for a reader, unless O_NONBLOCK, when a writer without a
// reader fails with ENXIO; O_RDWR never waits. A waiting open has already
// counted itself (the thread's wait state says so), so its other side can
// go on.
func (k *Kernel) openFifo(t Task, n *node, flags uint64, cloexec bool) (uint64, error) {
	ws, restarted, _ := restartState(t)
	if !restarted {
		ws.done = 0
	}
	if n.pipe == nil || n.pipe.slots == 0 {
		p, err := k.newPipeObject()
		if err != nil {
			return 0, err
		}
		n.pipe = p
	}
	p := n.pipe
	acc := flags & O_ACCMODE
	nonblock := flags&O_NONBLOCK != 0
	f := &file{n: n, flags: flags &^ (O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC), largefile: true}
	counted := ws.done == 1
	switch acc {
	case O_RDONLY:
		if !counted {
			p.readers++
			p.wr.wake(t, 0)
		}
		if p.writers == 0 && !nonblock {
			ws.done = 1
			return block(t, p.rd, ws)
		}
	case O_WRONLY:
		if !counted {
			if p.readers == 0 && nonblock {
				return 0, ENXIO
			}
			p.writers++
			p.rd.wake(t, 0)
		}
		if p.readers == 0 {
			ws.done = 1
			return block(t, p.wr, ws)
		}
	default:
		p.readers++
		p.writers++
	}
	ws.done = 0
	fd, err := k.files.alloc(f, 0, cloexec)
	if err != nil {
		return 0, firstErr(err, f.release(t, k))
	}
	return uint64(fd), nil
}
