package emu

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gorunemu/gorunemu/emu/unicorn"
	"github.com/gorunemu/gorunemu/syscalls"
)

// mapping is one guest mapping. Its memory, if it has any, is a run of
// engine memory (engineMem) that Go reads and writes directly; the
// engine's page table points the guest's pages at it with the mapping's
// protection.
type mapping struct {
	start, end uint64
	prot       syscalls.Prot
	name       string
	// offset is the file offset of start in a mapping of a file; in
	// anonymous memory it is start itself, as Linux's vm_pgoff, so that
	// what once was one mapping and what was mapped adjacent both merge.
	offset uint64
	// phys is the engine address of host; both are zero for a mapping
	// without memory (a PROT_NONE reservation), which reads as zeros.
	phys uint64
	host []byte // len == end-start, or nil
	// code: the mapping was executable at some time, so the engine may
	// hold translated code from its memory.
	code bool
}

// counts reports whether m's memory counts against the memory limit: any
// memory it holds does, even if the guest cannot touch it now.
func (m *mapping) counts() bool { return m.host != nil }

// file reports whether m maps a file: its name is the file's absolute
// path, where anonymous memory has none or a bracketed one ("[heap]").
func (m *mapping) file() bool { return strings.HasPrefix(m.name, "/") }

// addressSpace is the guest's memory: Linux mmap/munmap/mprotect/brk
// semantics, kept in maps and mirrored into the engine's page table.
type addressSpace struct {
	eng      *unicorn.Engine
	mem      *engineMem
	page     uint64
	top      uint64 // first address past user space (TASK_SIZE)
	mmapBase uint64 // top-down search starts below this
	maps     []*mapping
	// committed counts the bytes of memory the mappings hold: what the
	// memory limit bounds. PROT_NONE reservations (Go reserves over a GiB
	// of address space at startup) hold none.
	committed uint64
	limit     uint64 // 0: none, else for all processes of the family
	// elsewhere counts what the family's other processes have committed.
	elsewhere func() uint64
	// limitHit is set when a mapping failed because of limit, so the run
	// can stop with its own reason instead of the guest seeing ENOMEM only.
	limitHit bool
	brkStart uint64
	brk      uint64
	maxMaps  int // maxMaps, or less in tests
}

// maxMaps is how many mappings a guest may hold: Linux's default
// vm.max_map_count. Past it mmap, mprotect and munmap fail with ENOMEM.
const maxMaps = 65530

// roomFor reports whether n more mappings fit.
func (as *addressSpace) roomFor(n int) bool { return len(as.maps)+n <= as.maxMaps }

// splits counts the mappings that a change of [addr, end) cuts in two.
func (as *addressSpace) splits(addr, end uint64) int {
	n := 0
	if m := as.lookup(addr); m != nil && m.start < addr {
		n++
	}
	if m := as.lookup(end); m != nil && m.start < end {
		n++
	}
	return n
}

func newAddressSpace(eng *unicorn.Engine, page, top, mmapBase, limit uint64) *addressSpace {
	return &addressSpace{eng: eng, mem: newEngineMem(eng, page, limit), page: page, top: top, mmapBase: mmapBase, limit: limit, maxMaps: maxMaps}
}

func (as *addressSpace) pageUp(x uint64) uint64   { return (x + as.page - 1) &^ (as.page - 1) }
func (as *addressSpace) pageDown(x uint64) uint64 { return x &^ (as.page - 1) }

// ucProt converts Linux protections to Unicorn's. Any access makes a page
// readable, as on x86 and arm64 page tables (no write- or exec-only pages).
func ucProt(p syscalls.Prot) unicorn.Prot {
	var u unicorn.Prot
	if p&(syscalls.PROT_READ|syscalls.PROT_WRITE|syscalls.PROT_EXEC) != 0 {
		u |= unicorn.ProtRead
	}
	if p&syscalls.PROT_WRITE != 0 {
		u |= unicorn.ProtWrite
	}
	if p&syscalls.PROT_EXEC != 0 {
		u |= unicorn.ProtExec
	}
	return u
}

// sync copies the mappings over [start, end) into the engine's page
// table; a mapping that straddles an end goes in clipped, as the engine
// keeps its entry's outer part.
func (as *addressSpace) sync(start, end uint64) error {
	var pages []unicorn.Page
	for i := as.find(start); i < len(as.maps) && as.maps[i].start < end; i++ {
		m := as.maps[i]
		lo, hi := max(m.start, start), min(m.end, end)
		p := unicorn.Page{Start: lo, End: hi, Prot: ucProt(m.prot)}
		if m.host != nil {
			p.Phys = m.phys + (lo - m.start)
			p.Host = m.host[lo-m.start : hi-m.start]
		}
		pages = append(pages, p)
	}
	return as.eng.SetPages(start, end, pages)
}

// find returns the index of the first mapping that ends after addr.
func (as *addressSpace) find(addr uint64) int {
	return sort.Search(len(as.maps), func(i int) bool { return as.maps[i].end > addr })
}

// lookup returns the mapping holding addr, or nil.
func (as *addressSpace) lookup(addr uint64) *mapping {
	i := as.find(addr)
	if i < len(as.maps) && as.maps[i].start <= addr {
		return as.maps[i]
	}
	return nil
}

// free reports whether [start, end) overlaps no mapping.
func (as *addressSpace) free(start, end uint64) bool {
	i := as.find(start)
	return i == len(as.maps) || as.maps[i].start >= end
}

// mmap implements the placement rules of mmap(2) for anonymous memory.
// syscalls.Mmap has checked r's arguments (see MapRequest). A PROT_NONE
// mapping gets memory only if it is to be filled (with a file's data).
func (as *addressSpace) mmap(r syscalls.MapRequest) (uint64, error) {
	length := r.Length
	withMem := r.Prot != syscalls.PROT_NONE || r.Filled
	var addr uint64
	switch r.Mode {
	case syscalls.MapFixed, syscalls.MapNoReplace:
		addr = r.Addr
		if r.Mode == syscalls.MapNoReplace && !as.free(addr, addr+length) {
			return 0, syscalls.EEXIST
		}
		if err := as.checkLimit(addr, length, withMem); err != nil {
			return 0, err
		}
		if !as.roomFor(as.splits(addr, addr+length) + 1) {
			return 0, syscalls.ENOMEM
		}
		if err := as.unmap(addr, length); err != nil {
			return 0, err
		}
	default:
		var ok bool
		addr, ok = as.place(as.pageUp(r.Addr), length)
		if !ok || !as.roomFor(1) {
			return 0, syscalls.ENOMEM
		}
		if err := as.checkLimit(addr, length, withMem); err != nil {
			return 0, err
		}
	}
	if err := as.mapNew(addr, length, r.Prot, r.Name, withMem); err != nil {
		return 0, err
	}
	if m := as.lookup(addr); m.file() {
		m.offset = r.Offset
	}
	return addr, nil
}

// checkLimit fails with ENOMEM if mapping [addr, addr+length), with memory
// if withMem, replacing what is there, would pass the memory limit.
func (as *addressSpace) checkLimit(addr, length uint64, withMem bool) error {
	if !withMem {
		return nil
	}
	replaced := uint64(0)
	for i := as.find(addr); i < len(as.maps) && as.maps[i].start < addr+length; i++ {
		m := as.maps[i]
		if lo, hi := max(m.start, addr), min(m.end, addr+length); lo < hi && m.counts() {
			replaced += hi - lo
		}
	}
	return as.checkGrowth(length, replaced)
}

// checkGrowth fails with ENOMEM if adding bytes of memory while freeing
// freed would pass the memory limit.
func (as *addressSpace) checkGrowth(bytes, freed uint64) error {
	if as.limit == 0 {
		return nil
	}
	others := uint64(0)
	if as.elsewhere != nil {
		others = as.elsewhere()
	}
	if others+as.committed-freed+bytes > as.limit {
		as.limitHit = true
		return syscalls.ENOMEM
	}
	return nil
}

// place finds room for length bytes: at hint if that range is free, else
// the highest free range below mmapBase (Linux's top-down allocator), else
// the lowest one above it.
func (as *addressSpace) place(hint, length uint64) (uint64, bool) {
	if hint != 0 && hint >= syscalls.MmapMinAddr && hint+length > hint && hint+length <= as.top && as.free(hint, hint+length) {
		return hint, true
	}
	// Gaps below mmapBase, from the top down.
	end := as.mmapBase
	j := as.find(end)
	if j < len(as.maps) && as.maps[j].start < end {
		end = as.maps[j].start
	}
	for i := j - 1; ; i-- {
		gapStart := uint64(syscalls.MmapMinAddr)
		if i >= 0 {
			gapStart = as.maps[i].end
		}
		if end > gapStart && end-gapStart >= length {
			return end - length, true
		}
		if i < 0 {
			break
		}
		end = as.maps[i].start
	}
	// Gaps above mmapBase, from the bottom up.
	start := as.mmapBase
	for i := as.find(start); ; i++ {
		gapEnd := as.top
		if i < len(as.maps) {
			gapEnd = as.maps[i].start
		}
		if gapEnd > start && gapEnd-start >= length {
			return start, true
		}
		if i >= len(as.maps) {
			return 0, false
		}
		start = max(start, as.maps[i].end)
	}
}

// mapNew maps [addr, addr+length), which must be free: fresh zeroed
// memory if withMem, else none (a reservation).
func (as *addressSpace) mapNew(addr, length uint64, prot syscalls.Prot, name string, withMem bool) error {
	m := &mapping{start: addr, end: addr + length, prot: prot, name: name, code: prot&syscalls.PROT_EXEC != 0}
	if !m.file() {
		m.offset = addr
	}
	if withMem {
		if err := as.back(m); err != nil {
			return err
		}
	}
	i := as.find(addr)
	as.maps = append(as.maps, nil)
	copy(as.maps[i+1:], as.maps[i:])
	as.maps[i] = m
	return as.sync(m.start, m.end)
}

// back gives m, which has none, zeroed memory.
func (as *addressSpace) back(m *mapping) error {
	phys, host, err := as.mem.alloc(m.end - m.start)
	if err != nil {
		if errors.Is(err, syscalls.ENOMEM) {
			as.limitHit = as.limit > 0
		}
		return err
	}
	m.phys, m.host = phys, host
	as.committed += m.end - m.start
	return nil
}

// backPages gives the pages of [addr, end), inside one mapping without
// memory, zeroed memory of their own.
func (as *addressSpace) backPages(addr, end uint64) error {
	lo, hi := as.pageDown(addr), as.pageUp(end)
	if err := as.checkGrowth(hi-lo, 0); err != nil {
		return err
	}
	if !as.roomFor(as.splits(lo, hi)) {
		return syscalls.ENOMEM
	}
	i, _ := as.span(lo, hi)
	if err := as.back(as.maps[i]); err != nil {
		return err
	}
	return as.sync(lo, hi)
}

// split cuts the mapping holding addr in two at addr (a page boundary), so
// that range operations apply to whole mappings. The engine's page table
// is brought in step by the operation's sync.
func (as *addressSpace) split(addr uint64) {
	i := as.find(addr)
	if i == len(as.maps) || as.maps[i].start >= addr {
		return
	}
	m := as.maps[i]
	off := addr - m.start
	right := &mapping{start: addr, end: m.end, prot: m.prot, name: m.name, offset: m.offset + off, code: m.code}
	if m.host != nil {
		right.phys, right.host = m.phys+off, m.host[off:]
		m.host = m.host[:off]
	}
	m.end = addr
	as.maps = append(as.maps, nil)
	copy(as.maps[i+2:], as.maps[i+1:])
	as.maps[i+1] = right
}

// span returns the index range of mappings inside [addr, end) after
// splitting at both ends.
func (as *addressSpace) span(addr, end uint64) (int, int) {
	as.split(addr)
	as.split(end)
	i := as.find(addr)
	j := i
	for j < len(as.maps) && as.maps[j].start < end {
		j++
	}
	return i, j
}

// unmap removes whole pages of [addr, addr+length); holes are fine.
func (as *addressSpace) unmap(addr, length uint64) error {
	end := addr + as.pageUp(length)
	if m := as.lookup(addr); m != nil && m.start < addr && m.end > end && !as.roomFor(1) {
		return syscalls.ENOMEM // a hole in one mapping makes two of it, as Linux's munmap checks
	}
	i, j := as.span(addr, end)
	var first error
	for _, m := range as.maps[i:j] {
		if err := as.release(m); err != nil && first == nil {
			first = err
		}
	}
	as.maps = append(as.maps[:i], as.maps[j:]...)
	if err := as.sync(addr, end); err != nil {
		return err
	}
	return first
}

// release gives a removed mapping's memory back, first dropping any code
// the engine translated from it (its engine addresses will hold other
// contents).
func (as *addressSpace) release(m *mapping) error {
	if m.host == nil {
		return nil
	}
	size := m.end - m.start
	as.committed -= size
	if m.code {
		if err := as.eng.DiscardCode(m.phys, size); err != nil {
			return err
		}
	}
	err := as.mem.release(m.phys, size)
	m.phys, m.host = 0, nil
	return err
}

// covered reports whether every page of [addr, end) is mapped.
func (as *addressSpace) covered(addr, end uint64) bool {
	for i := as.find(addr); addr < end; i++ {
		if i >= len(as.maps) || as.maps[i].start > addr {
			return false
		}
		addr = as.maps[i].end
	}
	return true
}

// protect changes the protection of [addr, addr+length); ENOMEM if a page
// in it is unmapped (checked before anything changes). Pieces of a
// reservation made accessible get zeroed memory. Like Linux's vma_merge,
// the pieces that end up alike and adjacent (same protection, name and
// contiguous memory, as pieces of one mmap are) become one mapping again.
func (as *addressSpace) protect(addr, length uint64, prot syscalls.Prot) error {
	end := addr + as.pageUp(length)
	if !as.covered(addr, end) {
		return syscalls.ENOMEM
	}
	need := uint64(0)
	if prot != syscalls.PROT_NONE {
		for i := as.find(addr); i < len(as.maps) && as.maps[i].start < end; i++ {
			if m := as.maps[i]; m.host == nil {
				need += min(m.end, end) - max(m.start, addr)
			}
		}
	}
	if err := as.checkGrowth(need, 0); err != nil {
		return err
	}
	if !as.roomFor(as.splits(addr, end)) {
		return syscalls.ENOMEM
	}
	i, j := as.span(addr, end)
	var failed error
	for _, m := range as.maps[i:j] {
		if prot != syscalls.PROT_NONE && m.host == nil {
			if err := as.back(m); err != nil {
				failed = err // Linux too may leave a part changed
				break
			}
		}
		m.prot = prot
		if prot&syscalls.PROT_EXEC != 0 {
			m.code = true
		}
	}
	// The neighbours join in if they merge with the range's ends.
	lo, hi := max(i-1, 0), min(j+1, len(as.maps))
	hi = as.rejoin(lo, hi)
	if err := as.sync(as.maps[lo].start, as.maps[hi-1].end); err != nil {
		return err
	}
	return failed
}

// rejoin merges the alike neighbours among maps[lo:hi] into one mapping
// each and returns where the range now ends.
func (as *addressSpace) rejoin(lo, hi int) int {
	out := as.maps[:lo]
	for _, m := range as.maps[lo:hi] {
		if n := len(out); n > lo && mergeable(out[n-1], m) {
			last := out[n-1]
			last.end = m.end
			if last.host != nil {
				last.host = last.host[:last.end-last.start] // contiguous: see mergeable
			}
			last.code = last.code || m.code
			continue
		}
		out = append(out, m)
	}
	end := len(out)
	as.maps = append(out, as.maps[hi:]...)
	return end
}

// mergeable reports whether b can join a, which precedes it: the same
// protection and name, adjacent, and both without memory or with
// contiguous memory of one arena (see engineMem.grow).
func mergeable(a, b *mapping) bool {
	size := a.end - a.start
	if a.prot != b.prot || a.end != b.start || a.name != b.name || a.offset+size != b.offset {
		return false
	}
	if a.host == nil || b.host == nil {
		return a.host == nil && b.host == nil
	}
	return a.phys+size == b.phys && uint64(cap(a.host)) >= size+(b.end-b.start)
}

// discard makes [addr, addr+length) read as zero (MADV_DONTNEED).
func (as *addressSpace) discard(addr, length uint64) error {
	end := addr + as.pageUp(length)
	if !as.covered(addr, end) {
		return syscalls.ENOMEM
	}
	for i := as.find(addr); i < len(as.maps) && as.maps[i].start < end; i++ {
		m := as.maps[i]
		if m.host == nil {
			continue
		}
		lo, hi := max(m.start, addr), min(m.end, end)
		if err := unix.Madvise(m.host[lo-m.start:hi-m.start], unix.MADV_DONTNEED); err != nil {
			return fmt.Errorf("emu: discard [%#x, %#x): %w", lo, hi, err)
		}
	}
	return nil
}

// setBrk implements brk(2): the break moves within [brkStart, ...) while
// the pages it needs are free; the result is always the current break.
func (as *addressSpace) setBrk(addr uint64) uint64 {
	if addr < as.brkStart {
		return as.brk
	}
	oldTop, newTop := as.pageUp(as.brk), as.pageUp(addr)
	switch {
	case newTop > oldTop:
		if !as.free(oldTop, newTop) || as.checkLimit(oldTop, newTop-oldTop, true) != nil {
			return as.brk
		}
		if err := as.mapNew(oldTop, newTop-oldTop, syscalls.PROT_READ|syscalls.PROT_WRITE, "[heap]", true); err != nil {
			return as.brk
		}
	case newTop < oldTop:
		if err := as.unmap(newTop, oldTop-newTop); err != nil {
			return as.brk
		}
	}
	as.brk = addr
	return as.brk
}

// read copies guest memory at addr into b. Unless force, every page must
// be readable, as for copy_from_user; EFAULT otherwise.
func (as *addressSpace) read(addr uint64, b []byte, force bool) error {
	return as.copyGuest(addr, b, false, force)
}

// write copies b into guest memory at addr. Unless force, every page must
// be writable, as for copy_to_user; EFAULT otherwise.
func (as *addressSpace) write(addr uint64, b []byte, force bool) error {
	return as.copyGuest(addr, b, true, force)
}

func (as *addressSpace) copyGuest(addr uint64, b []byte, write, force bool) error {
	if addr+uint64(len(b)) < addr {
		return syscalls.EFAULT
	}
	for len(b) > 0 {
		m := as.lookup(addr)
		if m == nil {
			return syscalls.EFAULT
		}
		// Any protection makes a page readable (see ucProt).
		if !force && (m.prot == syscalls.PROT_NONE || write && m.prot&syscalls.PROT_WRITE == 0) {
			return syscalls.EFAULT
		}
		n := min(uint64(len(b)), m.end-addr)
		switch {
		case m.host == nil && !write: // a reservation reads as zeros
			clear(b[:n])
		case m.host == nil:
			// A forced write (a debugger's) into a reservation: the
			// pages written get memory, and the loop goes on with them.
			if err := as.backPages(addr, addr+n); err != nil {
				return err
			}
			continue
		case write:
			copy(m.host[addr-m.start:], b[:n])
			// The engine does not see host-side stores: code it
			// translated from these bytes goes.
			if m.code {
				if err := as.eng.DiscardCode(m.phys+addr-m.start, n); err != nil {
					return err
				}
			}
		default:
			copy(b[:n], m.host[addr-m.start:addr-m.start+n])
		}
		b = b[n:]
		addr += n
	}
	return nil
}

// copyFrom gives as, which is empty, a copy of every mapping of src (for
// fork), with the pages src has touched copied.
func (as *addressSpace) copyFrom(src *addressSpace) error {
	for _, m := range src.maps {
		c := &mapping{start: m.start, end: m.end, prot: m.prot, name: m.name, offset: m.offset, code: m.code}
		if m.host != nil {
			if err := as.back(c); err != nil {
				return err
			}
			copyTouched(c.host, m.host, int(as.page))
		}
		as.maps = append(as.maps, c)
	}
	return as.sync(0, ^uint64(0))
}

// list returns the mappings for /proc/self/maps, merging pieces that differ
// only by how they were split.
func (as *addressSpace) list() []syscalls.Mapping {
	var out []syscalls.Mapping
	for _, m := range as.maps {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.End == m.start && last.Prot == m.prot && last.Name == m.name && last.Name == "" {
				last.End = m.end
				continue
			}
		}
		var off uint64
		if m.file() {
			off = m.offset
		}
		out = append(out, syscalls.Mapping{Start: m.start, End: m.end, Prot: m.prot, Name: m.name, Offset: off})
	}
	return out
}

// close returns all host memory; the engine must be closed already or
// about to be, since its regions point into it.
func (as *addressSpace) close() error {
	as.maps = nil
	return as.mem.close()
}
