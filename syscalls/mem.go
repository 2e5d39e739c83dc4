package syscalls

import "bytes"

// Guest memory helpers. Both guests are little-endian and 64-bit.

func readU32(t Task, addr uint64) (uint32, error) {
	var b [4]byte
	if err := t.ReadMem(addr, b[:]); err != nil {
		return 0, err
	}
	return le.Uint32(b[:]), nil
}

func readU64(t Task, addr uint64) (uint64, error) {
	var b [8]byte
	if err := t.ReadMem(addr, b[:]); err != nil {
		return 0, err
	}
	return le.Uint64(b[:]), nil
}

func writeU32(t Task, addr uint64, v uint32) error {
	var b [4]byte
	le.PutUint32(b[:], v)
	return t.WriteMem(addr, b[:])
}

func writeU64(t Task, addr uint64, v uint64) error {
	var b [8]byte
	le.PutUint64(b[:], v)
	return t.WriteMem(addr, b[:])
}

// readCString reads a NUL-terminated string of at most max bytes before
// the NUL, page by page as strncpy_from_user does: EFAULT if it runs into
// unreadable memory first, ENAMETOOLONG if there is no NUL within max+1
// bytes.
func readCString(t Task, addr uint64, max int) (string, error) {
	if addr == 0 {
		return "", EFAULT
	}
	page := t.Arch().PageSize
	var out []byte
	for len(out) <= max {
		n := page - addr%page
		if rem := uint64(max + 1 - len(out)); n > rem {
			n = rem
		}
		buf := make([]byte, n)
		if err := t.ReadMem(addr, buf); err != nil {
			// The string may end before the unreadable byte: retry
			// byte by byte within this chunk.
			for i := range buf {
				if err := t.ReadMem(addr+uint64(i), buf[i:i+1]); err != nil {
					return "", err
				}
				if buf[i] == 0 {
					return string(append(out, buf[:i]...)), nil
				}
			}
			return "", err
		}
		if i := bytes.IndexByte(buf, 0); i >= 0 {
			return string(append(out, buf[:i]...)), nil
		}
		out = append(out, buf...)
		addr += n
	}
	return "", ENAMETOOLONG
}

// readPath reads a pathname argument (getname): EFAULT, ENAMETOOLONG past
// PATH_MAX-1 bytes.
func readPath(t Task, addr uint64) (string, error) {
	return readCString(t, addr, pathMax-1)
}

// timespec is struct __kernel_timespec: tv_sec, tv_nsec.
type timespec struct{ sec, nsec int64 }

func readTimespec(t Task, addr uint64) (timespec, error) {
	var b [16]byte
	if err := t.ReadMem(addr, b[:]); err != nil {
		return timespec{}, err
	}
	return timespec{int64(le.Uint64(b[:])), int64(le.Uint64(b[8:]))}, nil
}

// valid is timespec64_valid: a non-negative time with nsec in [0, 1e9).
func (ts timespec) valid() bool {
	return ts.sec >= 0 && ts.nsec >= 0 && ts.nsec < 1e9
}

// ns returns the time in ns, saturating at the largest int64.
func (ts timespec) ns() int64 {
	const maxSec = (1<<63 - 1) / 1_000_000_000
	if ts.sec >= maxSec {
		return 1<<63 - 1
	}
	return ts.sec*1e9 + ts.nsec
}

func writeTimespec(t Task, addr uint64, ns int64) error {
	var b [16]byte
	putTimespec(b[:], ns)
	return t.WriteMem(addr, b[:])
}
