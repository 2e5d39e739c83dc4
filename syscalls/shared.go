package syscalls

import "errors"

// Shared file mappings (MAP_SHARED of a file open for writing, as the Go
// linker writes its output). The pages start as a copy of the file, as
// for a private mapping, and what the guest stored goes back to the file
// at msync, munmap (or a mapping over it), execve and the process's end,
// where Linux has one page cache for both. So between those points read(2)
// does not see the mapping's stores, and a forked child's copy is its own.
// Bytes past the end of the file are not written back, as Linux would
// raise SIGBUS there.

// sharedMap is the part [start, end) of a shared mapping of f, whose
// start is at file offset off.
type sharedMap struct {
	start, end uint64
	f          *file
	off        uint64
}

// addShared records a shared mapping of f; it holds a reference to the
// open file description, as the vma holds its file.
func (k *Kernel) addShared(start, length uint64, f *file, off uint64) {
	f.refs++
	k.shared = append(k.shared, &sharedMap{start: start, end: start + length, f: f, off: off})
}

// flushShared writes what [lo, hi) of the shared mappings holds back to
// their files, reading guest memory with read. With unmap the range is no
// longer mapped: the records are cut and their files let go.
func (k *Kernel) flushShared(t Task, read func(addr uint64, b []byte) error, lo, hi uint64, unmap bool) error {
	var keep []*sharedMap
	var errs []error
	for _, m := range k.shared {
		a, b := max(m.start, lo), min(m.end, hi)
		if a >= b {
			keep = append(keep, m)
			continue
		}
		if read != nil {
			errs = append(errs, writeBack(t, read, m, a, b))
		}
		if !unmap {
			keep = append(keep, m)
			continue
		}
		if m.start < a {
			m.f.refs++
			keep = append(keep, &sharedMap{start: m.start, end: a, f: m.f, off: m.off})
		}
		if b < m.end {
			m.f.refs++
			keep = append(keep, &sharedMap{start: b, end: m.end, f: m.f, off: m.off + (b - m.start)})
		}
		errs = append(errs, k.files.put(t, m.f))
	}
	k.shared = keep
	return errors.Join(errs...)
}

// writeBack writes [a, b) of m to its file, up to the file's end.
func writeBack(t Task, read func(uint64, []byte) error, m *sharedMap, a, b uint64) error {
	off := m.off + (a - m.start)
	size := uint64(max(m.f.size(), 0))
	if off >= size {
		return nil
	}
	b = min(b, a+(size-off))
	buf := make([]byte, min(b-a, hostChunk))
	for x := a; x < b; {
		n := min(b-x, uint64(len(buf)))
		if err := read(x, buf[:n]); err != nil {
			return nil // no longer readable (PROT_NONE): nothing to take
		}
		pos := int64(off + (x - a))
		if _, err := doWrite(t, m.f, -1, hostSrc(buf[:n]), &pos); err != nil {
			return err
		}
		x += n
	}
	return nil
}

// FlushShared writes every shared file mapping of the process back, and
// forgets them: the emulator calls it when the process's memory goes
// away (its end, an execve), with a reader of that memory. t is any live
// thread of the emulation.
func (k *Kernel) FlushShared(t Task, read func(addr uint64, b []byte) error) error {
	return k.flushShared(t, read, 0, ^uint64(0), true)
}

// Flags of msync.
const (
	MS_ASYNC      = 1
	MS_INVALIDATE = 2
	MS_SYNC       = 4
)

// Msync implements msync(2): shared file mappings in the range are
// written back (MS_ASYNC too, at once). ENOMEM if part of the range is
// not mapped.
func Msync(t Task, a Args) (uint64, error) {
	addr, length, flags := a.Ptr(0), a.Uint(1), a.Int32(2)
	page := t.Arch().PageSize
	if addr%page != 0 || flags&^(MS_ASYNC|MS_INVALIDATE|MS_SYNC) != 0 || flags&(MS_ASYNC|MS_SYNC) == MS_ASYNC|MS_SYNC {
		return 0, EINVAL
	}
	length, ok := pageAlign(length, page)
	if !ok || addr+length < addr {
		return 0, ENOMEM
	}
	if !covered(t, addr, addr+length) {
		return 0, ENOMEM
	}
	return 0, t.Kernel().flushShared(t, t.ReadMem, addr, addr+length, false)
}

// Modes of fallocate.
const (
	FALLOC_FL_KEEP_SIZE = 1
)

// Fallocate implements fallocate(2) for tmpfs files: mode 0 extends the
// file (reading as zeros), FALLOC_FL_KEEP_SIZE reserves nothing that a
// write would not find; other modes, and files of writable host
// directories, fail with EOPNOTSUPP, as on a filesystem without them.
func Fallocate(t Task, a Args) (uint64, error) {
	mode, off, length := a.Int32(1), int64(a.Uint(2)), int64(a.Uint(3))
	f, err := t.Kernel().files.get(a.Fd(0))
	if err != nil {
		return 0, err
	}
	switch {
	case off < 0 || length <= 0:
		return 0, EINVAL
	case !f.writable():
		return 0, EBADF
	case f.n.pipe != nil || f.n.sock != nil:
		return 0, ESPIPE
	case f.n.kind != kindFile:
		return 0, ENODEV
	case off+length < 0:
		return 0, EFBIG
	case f.n.tmp == nil || mode&^FALLOC_FL_KEEP_SIZE != 0:
		return 0, EOPNOTSUPP
	case mode == FALLOC_FL_KEEP_SIZE || off+length <= int64(len(f.n.tmp.data)):
		return 0, nil
	}
	return 0, t.Kernel().tmpResize(f.n.tmp, off+length)
}
