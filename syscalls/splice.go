package syscalls

import "encoding/binary"

// Copies between descriptors inside the kernel: copy_file_range between
// regular files, sendfile from a regular file, and splice to or from a
// pipe (a socket's stream counts as its pipe). They move bytes through a
// host buffer with the same read and write paths as read(2) and write(2),
// and never take more from the source than the destination has room for,
// so a copy that must wait loses nothing: the call waits, or is redone
// from the same offset.

// spliceChunk bounds one call's copy, as MAX_RW_COUNT bounds a read.
const spliceChunk = 1 << 20

// SPLICE_F_NONBLOCK makes splice not wait on its pipes.
const SPLICE_F_NONBLOCK = 0x2

func hostDst(b []byte) *ioDst { return &ioDst{host: b, total: uint64(len(b))} }
func hostSrc(b []byte) *ioSrc { return &ioSrc{host: b, total: uint64(len(b))} }

// readOffset reads a loff_t argument: nil for a null pointer.
func readOffset(t Task, addr uint64) (*int64, error) {
	if addr == 0 {
		return nil, nil
	}
	var b [8]byte
	if err := t.ReadMem(addr, b[:]); err != nil {
		return nil, err
	}
	off := int64(binary.LittleEndian.Uint64(b[:]))
	if off < 0 {
		return nil, EINVAL
	}
	return &off, nil
}

func writeOffset(t Task, addr uint64, off *int64) error {
	if addr == 0 {
		return nil
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(*off))
	return t.WriteMem(addr, b[:])
}

// twoFiles returns the open files of a copy's source and destination:
// EBADF unless one can be read and the other written.
func twoFiles(t Task, inFd, outFd int32) (in, out *file, err error) {
	k := t.Kernel()
	if in, err = k.files.get(inFd); err != nil {
		return nil, nil, err
	}
	if out, err = k.files.get(outFd); err != nil {
		return nil, nil, err
	}
	if !in.readable() || !out.writable() {
		return nil, nil, EBADF
	}
	return in, out, nil
}

// move copies up to n bytes from in at *inPos to out at *outPos (nil:
// the descriptions' own offsets) through a host buffer, and returns how
// many it wrote. A regular source ends up just past what was written, so
// a write that falls short or waits loses nothing: the rest is read again.
func move(t Task, in, out *file, outFd int32, n uint64, inPos, outPos *int64) (uint64, error) {
	if inPos == nil && in.n.kind == kindFile {
		inPos = &in.off
	}
	var start int64
	if inPos != nil {
		start = *inPos
	}
	buf := make([]byte, n)
	got, err := doRead(t, in, hostDst(buf), inPos)
	if err != nil || got == 0 {
		return 0, err
	}
	w, err := doWrite(t, out, outFd, hostSrc(buf[:got]), outPos)
	if in.n.kind == kindFile {
		*inPos = start + int64(w)
	}
	if err != nil && w == 0 {
		return 0, err
	}
	return w, nil
}

// CopyFileRange implements copy_file_range(2).
func CopyFileRange(t Task, a Args) (uint64, error) {
	if a.U32(5) != 0 {
		return 0, EINVAL
	}
	in, out, err := twoFiles(t, a.Fd(0), a.Fd(2))
	if err != nil {
		return 0, err
	}
	switch {
	case out.flags&O_APPEND != 0:
		return 0, EBADF
	case in.n.kind == kindDir || out.n.kind == kindDir:
		return 0, EISDIR
	case in.n.kind != kindFile || out.n.kind != kindFile:
		return 0, EINVAL
	}
	inOff, err := readOffset(t, a.Ptr(1))
	if err != nil {
		return 0, err
	}
	outOff, err := readOffset(t, a.Ptr(3))
	if err != nil {
		return 0, err
	}
	if inOff == nil {
		inOff = &in.off
	}
	if outOff == nil {
		outOff = &out.off
	}
	n := min(a.Uint(4), spliceChunk)
	if in.n == out.n && *inOff < *outOff+int64(n) && *outOff < *inOff+int64(n) {
		return 0, EINVAL // overlapping ranges of one file
	}
	w, err := move(t, in, out, a.Fd(2), n, inOff, outOff)
	if err != nil {
		return 0, err
	}
	if err := firstErr(nil, writeOffset(t, a.Ptr(1), inOff), writeOffset(t, a.Ptr(3), outOff)); err != nil {
		return 0, err
	}
	return w, nil
}

// Sendfile implements sendfile(2) (sendfile64): from a regular file to
// any descriptor open for writing.
func Sendfile(t Task, a Args) (uint64, error) {
	in, out, err := twoFiles(t, a.Fd(1), a.Fd(0))
	if err != nil {
		return 0, err
	}
	if in.n.kind != kindFile {
		return 0, EINVAL
	}
	off, err := readOffset(t, a.Ptr(2))
	if err != nil {
		return 0, err
	}
	n := min(a.Uint(3), spliceChunk, writeRoom(out))
	if n == 0 {
		return waitRoom(t, out, false)
	}
	w, err := move(t, in, out, a.Fd(0), n, off, nil) // a wait is redone from the same offset
	if err != nil {
		return 0, err
	}
	return w, writeOffset(t, a.Ptr(2), off)
}

// streamPipe is the pipe a write to f fills, or a read from f drains:
// a pipe's own, or a connected stream socket's.
func streamPipe(f *file, write bool) *pipe {
	switch n := f.n; {
	case n.pipe != nil && n.pipe.out == nil && n.pipe.in == nil:
		return n.pipe
	case n.sock != nil && n.sock.stream() && write:
		return n.sock.out
	case n.sock != nil && n.sock.stream():
		return n.sock.in
	}
	return nil
}

// writeRoom is how many bytes a write to f takes without waiting: a
// pipe's free buffers, or as much as one copy moves for anything else
// (a pipe with no reader takes anything, to fail with EPIPE).
func writeRoom(f *file) uint64 {
	p := streamPipe(f, true)
	if p == nil || p.readers <= 0 {
		return spliceChunk
	}
	return uint64(max(p.slots-len(p.bufs), 0)) * pipePage
}

// waitRoom waits for room in f's pipe, or fails with EAGAIN.
func waitRoom(t Task, f *file, nonblock bool) (uint64, error) {
	if nonblock || f.flags&O_NONBLOCK != 0 {
		return 0, EAGAIN
	}
	ws, _, _ := restartState(t)
	return block(t, streamPipe(f, true).wr, ws)
}

// Splice implements splice(2): one end must be a pipe; the other a pipe,
// a stream socket or a regular file.
func Splice(t Task, a Args) (uint64, error) {
	in, out, err := twoFiles(t, a.Fd(0), a.Fd(2))
	if err != nil {
		return 0, err
	}
	flags := a.U32(5)
	inPipe := in.n.pipe != nil && in.n.pipe.in == nil
	outPipe := out.n.pipe != nil && out.n.pipe.out == nil
	switch {
	case !inPipe && !outPipe:
		return 0, EINVAL
	case inPipe && a.Ptr(1) != 0, outPipe && a.Ptr(3) != 0:
		return 0, ESPIPE
	case out.flags&O_APPEND != 0:
		return 0, EINVAL
	}
	supported := func(f *file) bool { return f.n.kind == kindFile || streamPipe(f, false) != nil }
	if !supported(in) || !supported(out) {
		return 0, EINVAL
	}
	inOff, err := readOffset(t, a.Ptr(1))
	if err != nil {
		return 0, err
	}
	outOff, err := readOffset(t, a.Ptr(3))
	if err != nil {
		return 0, err
	}
	n := min(a.Uint(4), spliceChunk, writeRoom(out))
	if a.Uint(4) == 0 {
		return 0, nil
	}
	nonblock := flags&SPLICE_F_NONBLOCK != 0
	if n == 0 {
		return waitRoom(t, out, nonblock)
	}
	src := in
	if nonblock && in.flags&O_NONBLOCK == 0 && in.n.kind != kindFile {
		src = &file{n: in.n, flags: in.flags | O_NONBLOCK, off: in.off}
	}
	w, err := move(t, src, out, a.Fd(2), n, inOff, outOff)
	if err != nil {
		return 0, err
	}
	if err := firstErr(nil, writeOffset(t, a.Ptr(1), inOff), writeOffset(t, a.Ptr(3), outOff)); err != nil {
		return 0, err
	}
	return w, nil
}
