package syscalls

// read, write and their vector and positional forms, over every kind of
// open file: virtual files, files under Config.FSRoot, devices, pipes,
// eventfds. No call holds more than a chunk of the guest's data at once,
// whatever length the guest passes.

// maxDeviceRead bounds one read of /dev/zero or /dev/urandom; a device
// read may return less than asked, and callers loop.
const maxDeviceRead = 1 << 20

// hostChunk is how much of a host file one step of a read holds.
const hostChunk = 64 << 10

// accessOK is access_ok: [addr, addr+n) lies in the user address space.
// It does not look at the mappings (a fault comes later, as EFAULT).
func accessOK(t Task, addr, n uint64) bool {
	top := taskSize(t)
	return n <= top && addr <= top-n
}

// copyOut writes b at addr and returns how many bytes it stored: all, or
// those before the first page that is not writable, or EFAULT if none
// (copy_to_user's partial-copy semantics as read(2) reports them).
func copyOut(t Task, addr uint64, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	err := t.WriteMem(addr, b)
	if err == nil {
		return len(b), nil
	}
	page := t.Arch().PageSize
	done := 0
	for done < len(b) {
		n := int(min(page-(addr+uint64(done))%page, uint64(len(b)-done)))
		if werr := t.WriteMem(addr+uint64(done), b[done:done+n]); werr != nil {
			break
		}
		done += n
	}
	if done == 0 {
		return 0, err
	}
	return done, nil
}

// copyIn reads up to n bytes at addr, stopping at the first unreadable
// page; EFAULT if none. Callers bound n: it is allocated at once.
func copyIn(t Task, addr, n uint64) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	b := make([]byte, n)
	err := t.ReadMem(addr, b)
	if err == nil {
		return b, nil
	}
	page := t.Arch().PageSize
	done := uint64(0)
	for done < n {
		c := min(page-(addr+done)%page, n-done)
		if rerr := t.ReadMem(addr+done, b[done:done+c]); rerr != nil {
			break
		}
		done += c
	}
	if done == 0 {
		return nil, err
	}
	return b[:done], nil
}

// iovec is struct iovec.
type iovec struct{ base, len uint64 }

// readIovecs reads an iovec array (import_iovec): EINVAL for a count
// outside [0, UIO_MAXIOV] or a negative length, EFAULT for a buffer
// outside the address space; the total is capped at MAX_RW_COUNT.
func readIovecs(t Task, addr uint64, cnt int32) ([]iovec, error) {
	if cnt < 0 || cnt > uioMaxIOV {
		return nil, EINVAL
	}
	if cnt == 0 {
		return nil, nil
	}
	raw := make([]byte, 16*int(cnt))
	if err := t.ReadMem(addr, raw); err != nil {
		return nil, err
	}
	iov := make([]iovec, cnt)
	for i := range iov {
		iov[i] = iovec{le.Uint64(raw[16*i:]), le.Uint64(raw[16*i+8:])}
		if int64(iov[i].len) < 0 {
			return nil, EINVAL
		}
	}
	total := uint64(0)
	for i := range iov {
		if !accessOK(t, iov[i].base, iov[i].len) {
			return nil, EFAULT
		}
		if iov[i].len > maxRWCount-total {
			iov[i].len = maxRWCount - total
		}
		total += iov[i].len
	}
	return iov, nil
}

// ioDst is where a read stores bytes: a guest buffer or an iovec array,
// or a host buffer (splice.go).
type ioDst struct {
	t     Task
	host  []byte
	iov   []iovec
	i     int    // current iovec
	off   uint64 // offset in it
	n     uint64 // bytes stored so far
	total uint64
}

func newDst(t Task, iov []iovec) *ioDst {
	d := &ioDst{t: t, iov: iov}
	for _, v := range iov {
		d.total += v.len
	}
	return d
}

// left is how many more bytes the destination takes.
func (d *ioDst) left() uint64 { return d.total - d.n }

// put stores b, which is at most left() bytes, and returns how many bytes
// it stored: all, or those before the first page it could not write,
// with EFAULT.
func (d *ioDst) put(b []byte) (int, error) {
	if d.host != nil {
		n := copy(d.host[d.n:], b)
		d.n += uint64(n)
		return n, nil
	}
	done := 0
	for done < len(b) && d.i < len(d.iov) {
		v := d.iov[d.i]
		if d.off == v.len {
			d.i, d.off = d.i+1, 0
			continue
		}
		c := b[done : done+int(min(v.len-d.off, uint64(len(b)-done)))]
		w, err := copyOut(d.t, v.base+d.off, c)
		done += w
		d.off += uint64(w)
		d.n += uint64(w)
		if err != nil || w < len(c) {
			return done, EFAULT
		}
	}
	return done, nil
}

// ioSrc is where a write takes bytes from: a guest buffer or an iovec
// array, or a host buffer (splice.go).
type ioSrc struct {
	t     Task
	host  []byte
	iov   []iovec
	i     int
	off   uint64
	n     uint64 // bytes taken so far
	total uint64
}

func newSrc(t Task, iov []iovec) *ioSrc {
	s := &ioSrc{t: t, iov: iov}
	for _, v := range iov {
		s.total += v.len
	}
	return s
}

// left is how many more bytes the source holds.
func (s *ioSrc) left() uint64 { return s.total - s.n }

// skip passes over n bytes (those a restarted write has already written).
func (s *ioSrc) skip(n uint64) {
	n = min(n, s.left())
	s.n += n
	if s.host != nil {
		return
	}
	for n > 0 && s.i < len(s.iov) {
		c := min(n, s.iov[s.i].len-s.off)
		s.off += c
		n -= c
		if s.off == s.iov[s.i].len {
			s.i, s.off = s.i+1, 0
		}
	}
}

// get takes up to n bytes (n bounded by the caller, and at most left()):
// all of them, or those before the first page it could not read, with
// EFAULT.
func (s *ioSrc) get(n uint64) ([]byte, error) {
	if s.host != nil {
		b := s.host[s.n : s.n+n]
		s.n += n
		return b, nil
	}
	var out []byte
	for uint64(len(out)) < n && s.i < len(s.iov) {
		v := s.iov[s.i]
		if s.off == v.len {
			s.i, s.off = s.i+1, 0
			continue
		}
		want := min(v.len-s.off, n-uint64(len(out)))
		b, err := copyIn(s.t, v.base+s.off, want)
		s.off += uint64(len(b))
		s.n += uint64(len(b))
		if out == nil && uint64(len(b)) == n {
			return b, nil
		}
		out = append(out, b...)
		if err != nil || uint64(len(b)) < want {
			return out, EFAULT
		}
	}
	return out, nil
}

// doRead reads f from pos (the file offset if pos is nil) into dst and
// returns how many bytes it stored. Short reads happen at end of file, at
// a fault after some bytes, for devices (at most 1 MiB) and for pipes.
func doRead(t Task, f *file, dst *ioDst, pos *int64) (uint64, error) {
	k := t.Kernel()
	n := f.n
	off := &f.off
	if pos != nil {
		off = pos
	}
	switch {
	case n.sock != nil:
		var from sockAddr
		got, _, err := n.sock.read(t, f, dst, 0, &from)
		return got, err
	case n.pipe != nil:
		return n.pipe.read(t, f, dst)
	case n.efd != nil:
		return n.efd.read(t, f, dst)
	case n.ep != nil:
		return 0, EINVAL // no read method
	}
	switch n.kind {
	case kindDir:
		return 0, EISDIR
	case kindFile:
		if f.host != nil {
			return readHostFile(f, dst, off)
		}
		data := f.data
		if n.tmp != nil {
			data = n.tmp.data
		}
		if *off >= int64(len(data)) || *off < 0 {
			return 0, nil
		}
		b := data[*off:]
		b = b[:min(uint64(len(b)), dst.left())]
		w, err := dst.put(b)
		*off += int64(w)
		if err != nil && w == 0 {
			return 0, err
		}
		return uint64(w), nil
	case kindChar:
		want := min(dst.left(), maxDeviceRead)
		switch n.dev {
		case devZero:
			return putChunks(dst, want, nil)
		case devRandom:
			return putChunks(dst, want, k.randomRead)
		}
		return 0, nil // /dev/null: end of file
	}
	return 0, EINVAL
}

// putChunks stores want bytes of zeros, or of what fill makes, a page at
// a time.
func putChunks(dst *ioDst, want uint64, fill func([]byte)) (uint64, error) {
	var buf [4096]byte
	total := uint64(0)
	for total < want {
		b := buf[:min(want-total, uint64(len(buf)))]
		if fill != nil {
			fill(b)
		} else {
			clear(b)
		}
		w, err := dst.put(b)
		total += uint64(w)
		if err != nil {
			if total == 0 {
				return 0, err
			}
			break
		}
	}
	return total, nil
}

// readHostFile reads a host regular file at *off, a chunk at a time.
func readHostFile(f *file, dst *ioDst, off *int64) (uint64, error) {
	if *off < 0 {
		return 0, EINVAL
	}
	buf := make([]byte, min(dst.left(), hostChunk))
	total := uint64(0)
	for dst.left() > 0 {
		b := buf[:min(dst.left(), uint64(len(buf)))]
		r, err := readHost(f.host, b, *off)
		if err != nil {
			if total == 0 {
				return 0, err
			}
			break
		}
		w, err := dst.put(b[:r])
		total += uint64(w)
		*off += int64(w)
		if err != nil {
			if total == 0 {
				return 0, err
			}
			break
		}
		if r < len(b) {
			break // end of file
		}
	}
	return total, nil
}

// doWrite writes src to f, which is open for writing, at pos (the file
// offset if pos is nil).
func doWrite(t Task, f *file, fd int32, src *ioSrc, pos *int64) (uint64, error) {
	n := f.n
	switch {
	case n.sock != nil:
		return n.sock.write(t, f, src, 0, nil)
	case n.pipe != nil && n.pipe.out != nil:
		return n.pipe.hostWrite(fd, src)
	case n.pipe != nil:
		return n.pipe.write(t, f, src)
	case n.efd != nil:
		return n.efd.write(t, f, src)
	case n.ep != nil:
		return 0, EINVAL
	case n.kind == kindChar:
		return src.left(), nil // null, zero and random take anything
	case n.kind == kindFile && n.tmp != nil:
		if pos == nil {
			pos = &f.off
		}
		return t.Kernel().tmpWrite(t, f, src, pos)
	case n.kind == kindFile && f.host != nil:
		if pos == nil {
			pos = &f.off
		}
		return writeHost(f, src, pos)
	}
	// Only tmpfs regular files and those of writable host directories are
	// ever open for writing.
	return 0, EBADF
}

// oneBuf is a single buffer as an iovec: access_ok and MAX_RW_COUNT.
func oneBuf(t Task, addr, n uint64) ([]iovec, error) {
	if !accessOK(t, addr, n) {
		return nil, EFAULT
	}
	return []iovec{{addr, min(n, maxRWCount)}}, nil
}

// Read implements read(2). Reads of /dev/zero and /dev/urandom return at
// most 1 MiB at a time.
func Read(t Task, a Args) (uint64, error) {
	f, err := t.Kernel().files.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if !f.readable() {
		return 0, EBADF
	}
	if f.n.ep != nil {
		return 0, EINVAL
	}
	iov, err := oneBuf(t, a.Ptr(1), a.Uint(2))
	if err != nil {
		return 0, err
	}
	return doRead(t, f, newDst(t, iov), nil)
}

// Readv implements readv(2).
func Readv(t Task, a Args) (uint64, error) {
	f, err := t.Kernel().files.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	if !f.readable() {
		return 0, EBADF
	}
	iov, err := readIovecs(t, a.Ptr(1), a.Int32(2))
	if err != nil {
		return 0, err
	}
	return doRead(t, f, newDst(t, iov), nil)
}

// positional reports whether f can be read or written at an offset
// (FMODE_PREAD): not pipes, eventfds or epoll instances.
func positional(f *file) bool {
	return f.n.kind != kindPipe && f.n.kind != kindFifo && f.n.kind != kindAnon
}

// Pread64 implements pread64(2).
func Pread64(t Task, a Args) (uint64, error) {
	f, err := t.Kernel().files.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	off := a.Int(3)
	if off < 0 {
		return 0, EINVAL
	}
	if !positional(f) {
		return 0, ESPIPE // no FMODE_PREAD, checked before the access mode
	}
	if !f.readable() {
		return 0, EBADF
	}
	iov, err := oneBuf(t, a.Ptr(1), a.Uint(2))
	if err != nil {
		return 0, err
	}
	return doRead(t, f, newDst(t, iov), &off)
}

// Write implements write(2). Fds 1 and 2 go to Config.Stdout and
// Config.Stderr; an error from those writers is an emulator error, not a
// guest errno.
func Write(t Task, a Args) (uint64, error) {
	fd := a.Fd(0)
	f, err := t.Kernel().files.get(fd)
	if err != nil {
		return 0, err
	}
	if !f.writable() {
		return 0, EBADF
	}
	if f.n.ep != nil {
		return 0, EINVAL
	}
	iov, err := oneBuf(t, a.Ptr(1), a.Uint(2))
	if err != nil {
		return 0, err
	}
	return doWrite(t, f, fd, newSrc(t, iov), nil)
}

// Pwrite64 implements pwrite64(2).
func Pwrite64(t Task, a Args) (uint64, error) {
	fd := a.Fd(0)
	f, err := t.Kernel().files.get(fd)
	if err != nil {
		return 0, err
	}
	off := a.Int(3)
	if off < 0 {
		return 0, EINVAL
	}
	if !positional(f) {
		return 0, ESPIPE
	}
	if !f.writable() {
		return 0, EBADF
	}
	iov, err := oneBuf(t, a.Ptr(1), a.Uint(2))
	if err != nil {
		return 0, err
	}
	if f.flags&O_APPEND != 0 {
		return doWrite(t, f, fd, newSrc(t, iov), nil) // pwrite ignores the offset with O_APPEND on Linux
	}
	return doWrite(t, f, fd, newSrc(t, iov), &off)
}

// Writev implements writev(2). A pipe takes the buffers as one write
// (atomic up to PIPE_BUF bytes in all).
func Writev(t Task, a Args) (uint64, error) {
	fd := a.Fd(0)
	f, err := t.Kernel().files.get(fd)
	if err != nil {
		return 0, err
	}
	if !f.writable() {
		return 0, EBADF
	}
	iov, err := readIovecs(t, a.Ptr(1), a.Int32(2))
	if err != nil {
		return 0, err
	}
	return doWrite(t, f, fd, newSrc(t, iov), nil)
}
