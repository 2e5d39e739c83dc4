package emu

import (
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu/unicorn"
	"github.com/gorunemu/gorunemu/syscalls"
)

// chunk is one host allocation backing guest memory. Mappings split from
// the same guest mapping share it; it is returned to the OS when no
// mapping uses any of it.
type chunk struct {
	mem  []byte
	live uint64 // bytes still mapped in the guest
}

// mapping is one guest region backed by host memory, so Go reads and
// writes guest memory without cgo calls. Accessible mappings are mirrored
// 1:1 by Unicorn regions. PROT_NONE ones are not given to Unicorn at all:
// the guest cannot touch them either way, and Unicorn 2.0.1 flushes its TLB
// page by page over a whole region whenever part of it is unmapped or
// reprotected, which for Go's 512 MiB reservations costs seconds.
type mapping struct {
	start, end uint64
	prot       syscalls.Prot
	name       string
	offset     uint64 // file offset, for file-backed segments
	host       []byte // len == end-start
	chunk      *chunk
	coff       uint64 // where host starts in chunk.mem
	// filled: the host memory holds data (a file's) although the guest
	// may not touch it (PROT_NONE), so it counts against the limit.
	filled bool
}

// counts reports whether m's host memory counts against the memory limit:
// the guest can touch it, or it was filled.
func (m *mapping) counts() bool { return m.prot != syscalls.PROT_NONE || m.filled }

// addressSpace is the guest's memory: Linux mmap/munmap/mprotect/brk
// semantics on top of Unicorn regions.
type addressSpace struct {
	eng      *unicorn.Engine
	page     uint64
	top      uint64 // first address past user space (TASK_SIZE)
	mmapBase uint64 // top-down search starts below this
	maps     []*mapping
	// committed counts the bytes of accessible mappings: what the guest
	// can touch, so what the memory limit bounds. PROT_NONE reservations
	// (Go reserves over a GiB of address space at startup) are free.
	committed uint64
	limit     uint64 // 0: none, else for all processes of the family
	// elsewhere counts what the family's other processes have committed.
	elsewhere func() uint64
	// limitHit is set when a mapping failed because of limit, so the run
	// can stop with its own reason instead of the guest seeing ENOMEM only.
	limitHit bool
	brkStart uint64
	brk      uint64
	// interrupted, if set, reports that the run is to stop: a change of
	// thousands of engine regions (seconds with Unicorn) gives up then
	// with errInterrupted, leaving the engine out of step with maps.
	interrupted func() bool
	// regions counts the accessible mappings, each an engine region (a
	// mapping split but not yet changed counts twice: an upper bound);
	// maxRegions bounds it (0: no bound). See regionLimit.
	regions, maxRegions int
}

// errInterrupted is what a memory operation returns when it gave up
// halfway because the run is to stop: the process cannot go on after it.
var errInterrupted = errors.New("emu: the run stopped inside a change of thousands of mappings; the process cannot continue")

// regionLimit is how many accessible mappings a guest may have. Each is a
// Unicorn region, and Unicorn's physical memory map holds fewer than
// TARGET_PAGE_SIZE sections, then aborts the host program: 1024 on arm64,
// whose smallest page is 1 KiB (measured: 1,000 alternating regions run,
// 1,050 abort), 4096 on x86. Past the bound mmap and mprotect fail with
// ENOMEM, as Linux's do past vm.max_map_count; Go programs use a few
// dozen.
func regionLimit(a *arch.Arch) int {
	switch a.Name {
	case "arm64":
		return 900
	case "amd64":
		return 3600
	}
	panic("emu: no region limit for arch " + a.Name)
}

// roomFor reports whether n more accessible mappings fit.
func (as *addressSpace) roomFor(n int) bool {
	return as.maxRegions == 0 || as.regions+n <= as.maxRegions
}

func newAddressSpace(eng *unicorn.Engine, page, top, mmapBase, limit uint64) *addressSpace {
	return &addressSpace{eng: eng, page: page, top: top, mmapBase: mmapBase, limit: limit}
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
// syscalls.Mmap has checked r's arguments (see MapRequest).
func (as *addressSpace) mmap(r syscalls.MapRequest) (uint64, error) {
	length := r.Length
	var addr uint64
	switch r.Mode {
	case syscalls.MapFixed, syscalls.MapNoReplace:
		addr = r.Addr
		if r.Mode == syscalls.MapNoReplace && !as.free(addr, addr+length) {
			return 0, syscalls.EEXIST
		}
		if err := as.checkLimit(addr, length, r.Prot != syscalls.PROT_NONE || r.Filled); err != nil {
			return 0, err
		}
		if r.Prot != syscalls.PROT_NONE && !as.roomFor(2) { // a split, and the new one
			return 0, syscalls.ENOMEM
		}
		if err := as.unmap(addr, length); err != nil {
			return 0, err
		}
	default:
		var ok bool
		addr, ok = as.place(as.pageUp(r.Addr), length)
		if !ok {
			return 0, syscalls.ENOMEM
		}
		if err := as.checkLimit(addr, length, r.Prot != syscalls.PROT_NONE || r.Filled); err != nil {
			return 0, err
		}
		if r.Prot != syscalls.PROT_NONE && !as.roomFor(1) {
			return 0, syscalls.ENOMEM
		}
	}
	if err := as.mapNew(addr, length, r.Prot, r.Name); err != nil {
		return 0, err
	}
	if r.Filled {
		as.markFilled(as.lookup(addr))
	}
	return addr, nil
}

// markFilled records that m's host memory holds data, counting it
// against the limit if it did not count already.
func (as *addressSpace) markFilled(m *mapping) {
	if !m.counts() {
		as.committed += m.end - m.start
	}
	m.filled = true
}

// checkLimit fails with ENOMEM if mapping [addr, addr+length) with host
// memory that counts (accessible, or filled with a file's data), replacing
// what is there, would pass the memory limit.
func (as *addressSpace) checkLimit(addr, length uint64, counts bool) error {
	if as.limit == 0 || !counts {
		return nil
	}
	replaced := uint64(0)
	for i := as.find(addr); i < len(as.maps) && as.maps[i].start < addr+length; i++ {
		m := as.maps[i]
		if lo, hi := max(m.start, addr), min(m.end, addr+length); lo < hi && m.counts() {
			replaced += hi - lo
		}
	}
	others := uint64(0)
	if as.elsewhere != nil {
		others = as.elsewhere()
	}
	if others+as.committed-replaced+length > as.limit {
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

// mapNew maps fresh zeroed memory at [addr, addr+length), which must be free.
func (as *addressSpace) mapNew(addr, length uint64, prot syscalls.Prot, name string) error {
	mem, err := unix.Mmap(-1, 0, int(length), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return fmt.Errorf("emu: host memory for [%#x, %#x): %w", addr, addr+length, err)
	}
	if prot != syscalls.PROT_NONE {
		if err := as.eng.MapPtr(addr, mem, ucProt(prot)); err != nil {
			if uerr := unix.Munmap(mem); uerr != nil {
				return fmt.Errorf("%w (and freeing host memory: %v)", err, uerr)
			}
			return err
		}
	}
	m := &mapping{start: addr, end: addr + length, prot: prot, name: name, host: mem, chunk: &chunk{mem: mem, live: length}}
	i := as.find(addr)
	as.maps = append(as.maps, nil)
	copy(as.maps[i+1:], as.maps[i:])
	as.maps[i] = m
	if prot != syscalls.PROT_NONE {
		as.committed += length
		as.regions++
	}
	return nil
}

// split cuts the mapping holding addr in two at addr (a page boundary), so
// that range operations apply to whole mappings. Unicorn splits its own
// region when the range operation reaches it.
func (as *addressSpace) split(addr uint64) {
	i := as.find(addr)
	if i == len(as.maps) || as.maps[i].start >= addr {
		return
	}
	m := as.maps[i]
	off := addr - m.start
	right := &mapping{start: addr, end: m.end, prot: m.prot, name: m.name, offset: m.offset + off, host: m.host[off:], chunk: m.chunk, coff: m.coff + off, filled: m.filled}
	if m.prot != syscalls.PROT_NONE {
		as.regions++
	}
	m.end, m.host = addr, m.host[:off:off]
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
	i, j := as.span(addr, end)
	for _, m := range as.maps[i:j] {
		if m.prot != syscalls.PROT_NONE {
			if err := as.eng.Unmap(m.start, m.end-m.start); err != nil {
				return err
			}
			as.regions--
		}
		if err := as.release(m); err != nil {
			return err
		}
	}
	as.maps = append(as.maps[:i], as.maps[j:]...)
	return nil
}

// release gives a removed mapping's host memory back to the OS.
func (as *addressSpace) release(m *mapping) error {
	size := m.end - m.start
	if m.counts() {
		as.committed -= size
	}
	m.chunk.live -= size
	if m.chunk.live == 0 {
		return unix.Munmap(m.chunk.mem)
	}
	return unix.Madvise(m.host, unix.MADV_DONTNEED)
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
// in it is unmapped (checked before anything changes). Like Linux's
// vma_merge, the pieces that end up alike and adjacent (same protection,
// name and host memory, as pieces of one mmap are) become one mapping
// again, and one engine region: a guest that protects page by page and
// then the whole range does not leave thousands of regions behind, which
// cost Unicorn time on every change and, past a few thousand on arm64,
// abort it.
func (as *addressSpace) protect(addr, length uint64, prot syscalls.Prot) error {
	end := addr + as.pageUp(length)
	if !as.covered(addr, end) {
		return syscalls.ENOMEM
	}
	if err := as.checkLimit(addr, end-addr, prot != syscalls.PROT_NONE); err != nil {
		return err
	}
	i, j := as.span(addr, end)
	// The neighbours join in if they will merge with the range's ends.
	lo, hi := i, j
	if lo > 0 && mergeable(as.maps[lo-1], as.maps[lo], as.maps[lo-1].prot, prot) {
		lo--
	}
	if hi < len(as.maps) && mergeable(as.maps[hi-1], as.maps[hi], prot, as.maps[hi].prot) {
		hi++
	}
	// Count the regions before and after, and refuse before changing
	// anything if there would be too many.
	after := func(k int) syscalls.Prot {
		if k >= i && k < j {
			return prot
		}
		return as.maps[k].prot
	}
	before, runs := 0, 0
	for k := lo; k < hi; k++ {
		if as.maps[k].prot != syscalls.PROT_NONE {
			before++
		}
		if after(k) != syscalls.PROT_NONE && (k == lo || !mergeable(as.maps[k-1], as.maps[k], after(k-1), after(k))) {
			runs++
		}
	}
	if as.maxRegions > 0 && as.regions+runs-before > as.maxRegions {
		// Undo the splits: the engine still has the pieces as one.
		as.rejoin(max(i-1, 0), min(j+1, len(as.maps)))
		return syscalls.ENOMEM
	}
	for _, m := range as.maps[i:j] {
		now := prot != syscalls.PROT_NONE || m.filled
		switch {
		case !m.counts() && now:
			as.committed += m.end - m.start
		case m.counts() && !now:
			as.committed -= m.end - m.start
		}
	}
	for k, m := range as.maps[lo:hi] {
		if k%64 == 63 && as.interrupted != nil && as.interrupted() {
			return errInterrupted
		}
		if m.prot != syscalls.PROT_NONE {
			if err := as.eng.Unmap(m.start, m.end-m.start); err != nil {
				return err
			}
		}
	}
	for _, m := range as.maps[i:j] {
		m.prot = prot
	}
	// Count the accessible pieces as regions; rejoin takes back those
	// that merge, leaving runs of them.
	as.regions -= before
	for _, m := range as.maps[lo:hi] {
		if m.prot != syscalls.PROT_NONE {
			as.regions++
		}
	}
	hi = as.rejoin(lo, hi)
	for _, m := range as.maps[lo:hi] {
		if m.prot != syscalls.PROT_NONE {
			if err := as.eng.MapPtr(m.start, m.host, ucProt(m.prot)); err != nil {
				return err
			}
		}
	}
	return nil
}

// rejoin merges the alike neighbours among maps[lo:hi] into one mapping
// each, counting one region less for each accessible one absorbed, and
// returns where the range now ends. It changes no engine region: after a
// split that no change followed, the engine has the pieces as one already;
// protect maps the merged ones afresh.
func (as *addressSpace) rejoin(lo, hi int) int {
	out := as.maps[:lo]
	for _, m := range as.maps[lo:hi] {
		if n := len(out); n > lo && mergeable(out[n-1], m, out[n-1].prot, m.prot) {
			last := out[n-1]
			last.end = m.end
			size := last.end - last.start
			last.host = last.chunk.mem[last.coff : last.coff+size : last.coff+size]
			if m.prot != syscalls.PROT_NONE {
				as.regions--
			}
			continue
		}
		out = append(out, m)
	}
	end := len(out)
	as.maps = append(out, as.maps[hi:]...)
	return end
}

// mergeable reports whether b can join a, which precedes it, when they
// have protections aProt and bProt: the same, adjacent, alike, and backed
// by adjacent host memory of one chunk.
func mergeable(a, b *mapping, aProt, bProt syscalls.Prot) bool {
	return aProt == bProt && a.filled == b.filled && a.end == b.start && a.chunk == b.chunk && a.coff+(a.end-a.start) == b.coff &&
		a.name == b.name && a.offset+(a.end-a.start) == b.offset
}

// discard makes [addr, addr+length) read as zero (MADV_DONTNEED).
func (as *addressSpace) discard(addr, length uint64) error {
	end := addr + as.pageUp(length)
	if !as.covered(addr, end) {
		return syscalls.ENOMEM
	}
	for i := as.find(addr); i < len(as.maps) && as.maps[i].start < end; i++ {
		m := as.maps[i]
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
		if err := as.mapNew(oldTop, newTop-oldTop, syscalls.PROT_READ|syscalls.PROT_WRITE, "[heap]"); err != nil {
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
		h := m.host[addr-m.start : addr-m.start+n]
		if write {
			copy(h, b[:n])
		} else {
			copy(b[:n], h)
		}
		b = b[n:]
		addr += n
	}
	return nil
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
		out = append(out, syscalls.Mapping{Start: m.start, End: m.end, Prot: m.prot, Name: m.name, Offset: m.offset})
	}
	return out
}

// close returns all host memory; the engine must be closed already or
// about to be, since its regions point into it.
func (as *addressSpace) close() error {
	var first error
	seen := map[*chunk]bool{}
	for _, m := range as.maps {
		if seen[m.chunk] {
			continue
		}
		seen[m.chunk] = true
		if err := unix.Munmap(m.chunk.mem); err != nil && first == nil {
			first = err
		}
	}
	as.maps = nil
	return first
}
