package emu

import (
	"fmt"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/gorunemu/gorunemu/emu/unicorn"
	"github.com/gorunemu/gorunemu/syscalls"
)

// engineMem is the host memory behind guest mappings: a few large arenas,
// each one engine region at its own engine ("physical") address, handed
// out in runs of pages. Guest mappings point into them through the
// engine's page table, so the number of mappings a guest holds costs
// neither the engine nor the host a region each, and PROT_NONE
// reservations cost nothing at all.
type engineMem struct {
	eng    *unicorn.Engine
	page   uint64
	arenas []*arena // by engine address
	next   uint64   // engine address for the next arena
	size   uint64   // bytes in arenas
	// max bounds size (0: none): the memory limit plus room for
	// fragmentation, so that host address space stays bounded too.
	max uint64
}

// arena is one host allocation mapped into the engine whole.
type arena struct {
	phys uint64
	mem  []byte
	used []uint64 // one bit per page
	free int      // pages not in use
	hint int      // page after the last run handed out
}

const (
	// arenaSize is the usual arena; a larger request gets an arena of its
	// own size. Engine regions cost Unicorn time by their number, not size.
	arenaSize = 64 << 20
	// firstArena is the engine address of the first arena; arenas end
	// below the page refused accesses are sent to.
	firstArena = 1 << 32
	lastArena  = unicorn.Poison
)

func newEngineMem(eng *unicorn.Engine, page, limit uint64) *engineMem {
	em := &engineMem{eng: eng, page: page, next: firstArena}
	if limit > 0 {
		em.max = 2*limit + 4*arenaSize
	}
	return em
}

// alloc returns size bytes (whole pages) of zeroed memory and their
// engine address.
func (em *engineMem) alloc(size uint64) (uint64, []byte, error) {
	n := int(size / em.page)
	for _, a := range em.arenas {
		if a.free < n {
			continue
		}
		if i, ok := a.find(n); ok {
			return em.take(a, i, n)
		}
	}
	a, err := em.grow(max(arenaSize, size))
	if err != nil {
		return 0, nil, err
	}
	return em.take(a, 0, n)
}

func (em *engineMem) take(a *arena, i, n int) (uint64, []byte, error) {
	for k := i; k < i+n; k++ {
		a.used[k/64] |= 1 << (k % 64)
	}
	a.free -= n
	a.hint = i + n
	off := uint64(i) * em.page
	// The capacity runs to the arena's end, so that neighbours merged
	// again (addressSpace.rejoin) can grow the slice back.
	return a.phys + off, a.mem[off : off+uint64(n)*em.page], nil
}

// find returns the first page of a free run of n pages, looking from the
// hint onwards first.
func (a *arena) find(n int) (int, bool) {
	total := len(a.used) * 64
	if i, ok := a.findIn(n, a.hint, total); ok {
		return i, true
	}
	return a.findIn(n, 0, min(a.hint+n-1, total))
}

func (a *arena) findIn(n, from, to int) (int, bool) {
	run := 0
	for k := from; k < to; {
		if k%64 == 0 && a.used[k/64] == ^uint64(0) {
			run = 0
			k += 64
			continue
		}
		if k%64 == 0 && a.used[k/64] == 0 && run+64 < n {
			run += 64
			k += 64
			continue
		}
		if a.used[k/64]&(1<<(k%64)) != 0 {
			run = 0
		} else if run++; run == n {
			return k - n + 1, true
		}
		k++
	}
	return 0, false
}

// grow adds an arena of at least size bytes.
func (em *engineMem) grow(size uint64) (*arena, error) {
	size = (size + arenaSize - 1) / arenaSize * arenaSize
	if em.max > 0 && em.size+size > em.max || em.next+size > lastArena {
		return nil, syscalls.ENOMEM
	}
	mem, err := unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("emu: host memory for %d bytes of guest memory: %w", size, err)
	}
	if err := em.eng.MapPtr(em.next, mem, unicorn.ProtAll); err != nil {
		_ = unix.Munmap(mem)
		return nil, err
	}
	pages := int(size / em.page)
	a := &arena{phys: em.next, mem: mem, used: make([]uint64, (pages+63)/64), free: pages}
	// Pages past the end (a size not a multiple of 64 pages) are never free.
	for k := pages; k < len(a.used)*64; k++ {
		a.used[k/64] |= 1 << (k % 64)
	}
	// A gap of a page keeps runs of two arenas from looking contiguous.
	em.next += size + em.page
	em.size += size
	em.arenas = append(em.arenas, a)
	return a, nil
}

// release gives back size bytes at engine address phys: their contents
// go (MADV_DONTNEED), and an arena left empty goes back to the OS.
func (em *engineMem) release(phys, size uint64) error {
	i := sort.Search(len(em.arenas), func(i int) bool { return em.arenas[i].phys+uint64(len(em.arenas[i].mem)) > phys })
	if i == len(em.arenas) || em.arenas[i].phys > phys {
		return fmt.Errorf("emu: release of engine memory at %#x that no arena holds", phys)
	}
	a := em.arenas[i]
	first, n := int((phys-a.phys)/em.page), int(size/em.page)
	for k := first; k < first+n; k++ {
		a.used[k/64] &^= 1 << (k % 64)
	}
	a.free += n
	if a.free < len(a.mem)/int(em.page) {
		off := phys - a.phys
		return unix.Madvise(a.mem[off:off+size], unix.MADV_DONTNEED)
	}
	if err := em.eng.UnmapPhys(a.phys, uint64(len(a.mem))); err != nil {
		return err
	}
	em.arenas = append(em.arenas[:i], em.arenas[i+1:]...)
	em.size -= uint64(len(a.mem))
	return unix.Munmap(a.mem)
}

// close returns every arena to the OS; the engine must be closed already
// or about to be, since its regions point into them.
func (em *engineMem) close() error {
	var first error
	for _, a := range em.arenas {
		if err := unix.Munmap(a.mem); err != nil && first == nil {
			first = err
		}
	}
	em.arenas, em.size = nil, 0
	return first
}
