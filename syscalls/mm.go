package syscalls

// Memory syscalls. The address space itself is the Task's: handlers
// validate and decode arguments the way mm/mmap.c, mm/mprotect.c and
// mm/madvise.c do, then ask the Task.

// MmapMinAddr is the default vm.mmap_min_addr: no mapping starts below
// it; hints below it are raised to it (mm/util.c round_hint_to_min) and
// fixed mappings there fail with EPERM (security_mmap_addr).
const MmapMinAddr = 65536

func pageAlign(x, page uint64) (uint64, bool) {
	y := (x + page - 1) &^ (page - 1)
	return y, y >= x
}

// taskSize is TASK_SIZE: the end of user address space, which is where
// the arch descriptor puts the top of the stack.
func taskSize(t Task) uint64 { return t.Arch().StackTop }

// Mmap implements mmap(2) for anonymous memory and for regular files of
// the virtual filesystem, which are mapped as anonymous memory filled with
// the file's contents. A MAP_SHARED mapping of a file open for writing
// is written back to it at msync, munmap, execve and exit (shared.go);
// other MAP_SHARED file mappings are private copies, which nobody can
// tell apart. Pages past the end of a file read as
// zero where Linux would raise SIGBUS. MAP_GROWSDOWN and, on amd64,
// MAP_32BIT are emulator gaps; MAP_HUGETLB fails with ENOMEM as on a system
// without reserved huge pages.
func Mmap(t Task, a Args) (uint64, error) {
	addr, length, prot, flags, fd, off := a.Ptr(0), a.Uint(1), a.U32(2), a.Uint(3), a.Fd(4), a.Uint(5)
	page := t.Arch().PageSize
	x := abiOf(t.Arch())
	k := t.Kernel()

	if off%page != 0 {
		return 0, EINVAL
	}
	var f *file
	if flags&MAP_ANONYMOUS == 0 {
		var err error
		if f, err = k.files.get(fd); err != nil {
			return 0, err
		}
	}
	if length == 0 {
		return 0, EINVAL
	}
	length, ok := pageAlign(length, page)
	if !ok || length == 0 {
		return 0, ENOMEM
	}
	if off/page+length/page < off/page {
		return 0, EOVERFLOW
	}
	if flags&MAP_FIXED_NOREPLACE != 0 {
		flags |= MAP_FIXED
	}
	if length > taskSize(t) {
		return 0, ENOMEM
	}
	if flags&MAP_FIXED != 0 {
		if addr > taskSize(t)-length {
			return 0, ENOMEM
		}
		if addr%page != 0 {
			return 0, EINVAL
		}
		if addr < MmapMinAddr {
			return 0, EPERM
		}
	}

	typ := flags & MAP_TYPE
	name := "" // a file's path, for /proc/self/maps
	var data []byte
	if f != nil {
		switch typ {
		case MAP_SHARED, MAP_SHARED_VALIDATE:
			known := uint64(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE |
				MAP_EXECUTABLE | MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE |
				MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_SYNC | MAP_FIXED_NOREPLACE | x.map32bit)
			if typ == MAP_SHARED_VALIDATE && flags&^known != 0 {
				return 0, EOPNOTSUPP
			}
			if typ == MAP_SHARED_VALIDATE && flags&MAP_SYNC != 0 {
				return 0, EOPNOTSUPP // no DAX here
			}
			if Prot(prot)&PROT_WRITE != 0 && !f.writable() {
				return 0, EACCES
			}
			if !f.readable() {
				return 0, EACCES
			}
		case MAP_PRIVATE:
			if !f.readable() {
				return 0, EACCES
			}
		default:
			return 0, EINVAL
		}
		switch {
		case f.n.kind == kindChar && f.n.dev == devZero:
			// /dev/zero maps as anonymous memory.
		case f.n.kind == kindFile && f.n.mnt.mmap && f.host != nil:
			name = k.fs.pathOf(f.n)
		case f.n.kind == kindFile && f.n.mnt.mmap:
			name = k.fs.pathOf(f.n)
			contents := f.data
			if f.n.tmp != nil {
				contents = f.n.tmp.data
			}
			if off < uint64(len(contents)) {
				data = contents[off:]
				data = data[:min(uint64(len(data)), length)]
			}
		default:
			return 0, ENODEV
		}
	} else if typ != MAP_SHARED && typ != MAP_PRIVATE {
		return 0, EINVAL
	}

	switch {
	case flags&MAP_GROWSDOWN != 0:
		return 0, gapf("mmap(MAP_GROWSDOWN)")
	case flags&x.map32bit != 0 && flags&MAP_FIXED == 0:
		return 0, gapf("mmap(MAP_32BIT)")
	case flags&MAP_HUGETLB != 0:
		note(t, "no huge pages are reserved")
		return 0, ENOMEM
	}

	req := MapRequest{Length: length, Prot: Prot(prot) & (PROT_READ | PROT_WRITE | PROT_EXEC), Name: name, Offset: fileOffset(name, off),
		Filled: len(data) > 0 || (f != nil && f.host != nil)}
	switch {
	case flags&MAP_FIXED_NOREPLACE != 0:
		req.Mode, req.Addr = MapNoReplace, addr
	case flags&MAP_FIXED != 0:
		req.Mode, req.Addr = MapFixed, addr
	default:
		req.Mode, req.Addr = MapHint, addr&^(page-1)
		if req.Addr != 0 && req.Addr < MmapMinAddr {
			req.Addr = MmapMinAddr
		}
	}
	if req.Mode == MapFixed { // what the new mapping replaces is unmapped
		if err := k.flushShared(t, t.ReadMem, addr, addr+length, true); err != nil {
			return 0, err
		}
	}
	got, err := t.Mmap(req)
	if err != nil {
		return 0, err
	}
	if f != nil && typ != MAP_PRIVATE && f.writable() && f.n.kind == kindFile {
		k.addShared(got, length, f, off)
	}
	if len(data) > 0 {
		if err := t.FillMem(got, data); err != nil {
			return 0, err
		}
	}
	if f != nil && f.host != nil {
		if err := fillFromHost(t, f.host, got, off, length); err != nil {
			return 0, err
		}
	}
	return got, nil
}

// fillFromHost copies a host file's bytes from off into a new mapping of
// length bytes at addr, a chunk at a time; the rest reads as zero.
func fillFromHost(t Task, h hostFile, addr, off, length uint64) error {
	buf := make([]byte, min(length, hostChunk))
	for done := uint64(0); done < length; {
		if off+done > 1<<63-1 {
			return nil
		}
		n, err := readHost(h, buf[:min(length-done, uint64(len(buf)))], int64(off+done))
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if err := t.FillMem(addr+done, buf[:n]); err != nil {
			return err
		}
		done += uint64(n)
	}
	return nil
}

// Munmap implements munmap(2).
func Munmap(t Task, a Args) (uint64, error) {
	addr, length := a.Ptr(0), a.Uint(1)
	page, top := t.Arch().PageSize, taskSize(t)
	if addr%page != 0 || addr > top || length > top-addr {
		return 0, EINVAL
	}
	// length <= TASK_SIZE - addr, so aligning it cannot overflow.
	if length, _ = pageAlign(length, page); length == 0 {
		return 0, EINVAL
	}
	if err := t.Kernel().flushShared(t, t.ReadMem, addr, addr+length, true); err != nil {
		return 0, err
	}
	return 0, t.Munmap(addr, length)
}

// Mprotect implements mprotect(2). PROT_GROWSDOWN and PROT_GROWSUP are
// emulator gaps.
func Mprotect(t Task, a Args) (uint64, error) {
	addr, length, prot := a.Ptr(0), a.Uint(1), a.U32(2)
	page := t.Arch().PageSize
	if addr%page != 0 {
		return 0, EINVAL
	}
	if length == 0 {
		return 0, nil
	}
	length, ok := pageAlign(length, page)
	if !ok || addr+length <= addr {
		return 0, ENOMEM
	}
	grows := prot & (PROT_GROWSDOWN | PROT_GROWSUP)
	if grows == PROT_GROWSDOWN|PROT_GROWSUP {
		return 0, EINVAL
	}
	if prot&^(uint32(PROT_READ|PROT_WRITE|PROT_EXEC)|PROT_SEM|grows) != 0 {
		return 0, EINVAL
	}
	if grows != 0 {
		return 0, gapf("mprotect(PROT_GROWSDOWN/PROT_GROWSUP)")
	}
	return 0, t.Mprotect(addr, length, Prot(prot)&(PROT_READ|PROT_WRITE|PROT_EXEC))
}

// covered reports whether every page of [start, end) is mapped.
func covered(t Task, start, end uint64) bool {
	for _, m := range t.Mappings() {
		if m.End <= start {
			continue
		}
		if m.Start > start {
			return false
		}
		start = m.End
		if start >= end {
			return true
		}
	}
	return start >= end
}

// Madvise implements madvise(2). MADV_DONTNEED and MADV_DONTNEED_LOCKED
// zero the pages; the other valid advice changes nothing an emulated
// program can observe (MADV_FREE may free lazily, and here never does) and
// is accepted after checking that the range is mapped (ENOMEM otherwise).
// Advice that only applies to file or shared memory fails with EINVAL on
// the anonymous memory that exists here.
func Madvise(t Task, a Args) (uint64, error) {
	start, lenIn, advice := a.Ptr(0), a.Uint(1), a.Int32(2)
	page := t.Arch().PageSize
	switch advice {
	case MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE,
		MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_MERGEABLE, MADV_UNMERGEABLE,
		MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK,
		MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
		MADV_DONTNEED_LOCKED, MADV_COLLAPSE:
	case MADV_HWPOISON, MADV_SOFT_OFFLINE:
		return 0, EPERM // needs CAP_SYS_ADMIN, and memory-failure injection is not emulated
	default:
		return 0, EINVAL
	}
	if start%page != 0 {
		return 0, EINVAL
	}
	length, ok := pageAlign(lenIn, page)
	if (lenIn != 0 && length == 0) || !ok {
		return 0, EINVAL
	}
	end := start + length
	if end < start {
		return 0, EINVAL
	}
	if end == start {
		return 0, nil
	}
	switch advice {
	case MADV_DONTNEED, MADV_DONTNEED_LOCKED:
		return 0, t.DiscardMem(start, length)
	case MADV_REMOVE:
		if !covered(t, start, end) {
			return 0, ENOMEM
		}
		return 0, EINVAL // private anonymous memory cannot be punched
	}
	if !covered(t, start, end) {
		return 0, ENOMEM
	}
	return 0, nil
}

// Brk implements brk(2): the result is the new break, or the old one if it
// could not move.
func Brk(t Task, a Args) (uint64, error) {
	return t.Brk(a.Ptr(0)), nil
}

// Mincore implements mincore(2). Residency is not modelled: every mapped
// page is reported resident.
func Mincore(t Task, a Args) (uint64, error) {
	start, length, vec := a.Ptr(0), a.Uint(1), a.Ptr(2)
	page, top := t.Arch().PageSize, taskSize(t)
	if start%page != 0 {
		return 0, EINVAL
	}
	if start > top || length > top-start {
		return 0, ENOMEM
	}
	pages := (length + page - 1) / page
	if pages == 0 {
		return 0, nil
	}
	if !covered(t, start, start+pages*page) {
		return 0, ENOMEM
	}
	const chunk = 4096
	b := make([]byte, min(pages, chunk))
	for i := range b {
		b[i] = 1
	}
	for done := uint64(0); done < pages; done += chunk {
		n := min(pages-done, chunk)
		if err := t.WriteMem(vec+done, b[:n]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// fileOffset is the file offset /proc/self/maps shows for a mapping of
// the file name at off: 0 for anonymous memory.
func fileOffset(name string, off uint64) uint64 {
	if name == "" {
		return 0
	}
	return off
}
