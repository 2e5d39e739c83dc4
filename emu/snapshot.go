package emu

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"unsafe"
	"weak"

	"golang.org/x/sys/unix"

	"github.com/gorunemu/gorunemu/emu/unicorn"
)

// A Snapshot is a process as it was at one position of its run, to go
// back to with Restore: the reverse debugger's way back without running
// again from the start. It holds the guest's memory (the pages not all
// zero), every thread's CPU state, the engine's clock and random source,
// and the values of the emulator's and kernel's objects (memento.go).
//
// A snapshot serves the process it was taken of, as long as that stays
// one process: a child's engine cannot be taken back. Host files the
// guest closes after a snapshot stay open in the kernel (KeepHostFiles)
// for the descriptions a restore brings back.
type Snapshot struct {
	p        *Process
	eng      *unicorn.Engine // p's engine and memory then: execve replaces them
	mem      *addressSpace
	position uint64
	started  int // child processes the family had started
	graph    *memento
	engine   unicorn.EngineState
	contexts map[*Thread]*unicorn.Context
	space    spaceSnapshot
	bytes    uint64
}

// ErrNoSnapshot says a process cannot be snapshotted or restored here.
var ErrNoSnapshot = errors.New("emu: no snapshot")

// spaceSnapshot is an address space's mappings and engine memory.
type spaceSnapshot struct {
	as     addressSpace // its fields; maps is nil
	maps   []mapping    // host is nil; phys says where the memory is
	em     engineMem    // its fields; arenas is nil
	arenas []arenaSnapshot
}

type arenaSnapshot struct {
	phys       uint64
	size       int
	used       []uint64
	free, hint int
	pages      []int32  // the pages not all zero, in order
	data       [][]byte // their contents, shared with the snapshot before where the same
}

// Position returns where the snapshot was taken (Process.Position).
func (s *Snapshot) Position() uint64 { return s.position }

// Bytes returns the guest memory the snapshot holds of its own: pages
// that did not change since the process's snapshot before, while that
// one is kept, are shared with it (see MemoryOf).
func (s *Snapshot) Bytes() uint64 { return s.bytes }

// MemoryOf returns the guest memory snaps hold together, each shared
// page counted once.
func MemoryOf(snaps []*Snapshot) uint64 {
	seen := map[*byte]bool{}
	var n uint64
	for _, s := range snaps {
		for _, a := range s.space.arenas {
			for _, d := range a.data {
				if !seen[&d[0]] {
					seen[&d[0]] = true
					n += uint64(len(d))
				}
			}
		}
	}
	return n
}

// Snapshot saves the process's state at its position. Take it between
// runs.
func (p *Process) Snapshot() (*Snapshot, error) {
	switch {
	case p.closed || p.broken != nil || p.exited != nil:
		return nil, fmt.Errorf("%w: the process has ended", ErrNoSnapshot)
	case len(p.fam.procs) != 1:
		return nil, fmt.Errorf("%w: the process has children", ErrNoSnapshot)
	}
	p.kernel.KeepHostFiles()
	s := &Snapshot{p: p, eng: p.eng, mem: p.mem, position: p.Position(), started: p.fam.started,
		engine: p.eng.State(), contexts: map[*Thread]*unicorn.Context{}}
	// The CPU state of the thread loaded in the engine is the engine's.
	if c := p.cur; c != nil && c.state != Exited {
		if err := p.eng.Save(c.ctx); err != nil {
			return nil, err
		}
	}
	for _, t := range p.threads {
		if t.ctx == nil {
			continue
		}
		c, err := p.eng.Clone(t.ctx)
		if err != nil {
			return nil, err
		}
		s.contexts[t] = c
	}
	if err := p.reload(); err != nil {
		return nil, err
	}
	var prev *spaceSnapshot
	if last := p.lastSnapshot.Value(); last != nil && last.mem == p.mem {
		prev = &last.space
	}
	s.space, s.bytes = p.mem.snapshot(prev)
	p.lastSnapshot = weak.Make(s)
	s.graph = saveGraph(p)
	return s, nil
}

// Restore takes the process back to snapshot s: everything the guest
// and the emulator's kernel hold is as it was at s's position, and a run
// from there does what the first did.
func (p *Process) Restore(s *Snapshot) error {
	switch {
	case s.p != p:
		return fmt.Errorf("%w: the snapshot is of another process", ErrNoSnapshot)
	case p.closed || p.broken != nil:
		return fmt.Errorf("%w: the process is closed", ErrNoSnapshot)
	case p.eng != s.eng || p.mem != s.mem:
		return fmt.Errorf("%w: the process has run another program since", ErrNoSnapshot)
	case len(p.fam.procs) != 1 || p.fam.started != s.started:
		return fmt.Errorf("%w: the process has started others since", ErrNoSnapshot)
	}
	code := p.mem.code()
	p.kernel.KeepOpenHostFiles()
	s.graph.restore()
	if err := p.mem.restore(s.space); err != nil {
		p.broken = err
		return err
	}
	if !slices.EqualFunc(code, p.mem.code(), codeRange.equal) {
		if err := p.eng.ForgetCode(); err != nil {
			p.broken = err
			return err
		}
	}
	for t, c := range s.contexts {
		ctx, err := p.eng.Clone(c)
		if err != nil {
			p.broken = err
			return err
		}
		t.ctx = ctx
	}
	if err := p.eng.SetState(s.engine); err != nil {
		p.broken = err
		return err
	}
	p.fam.syncTSC(p)
	if err := p.reload(); err != nil {
		p.broken = err
		return err
	}
	return nil
}

// reload loads the current thread's saved state into the engine.
func (p *Process) reload() error {
	if c := p.cur; c != nil && c.ctx != nil {
		return p.eng.Restore(c.ctx)
	}
	return nil
}

// codeRange is the memory of a mapping code may have been translated
// from.
type codeRange struct {
	start, phys uint64
	mem         []byte
}

func (c codeRange) equal(d codeRange) bool {
	return c.start == d.start && c.phys == d.phys && bytes.Equal(c.mem, d.mem)
}

// code copies the memory of the mappings code may come from: translated
// code stays valid across a restore that leaves all of it as it was (a
// static program's text never changes).
func (as *addressSpace) code() []codeRange {
	var out []codeRange
	for _, m := range as.maps {
		if m.code && m.host != nil {
			out = append(out, codeRange{m.start, m.phys, slices.Clone(m.host)})
		}
	}
	return out
}

// snapshot saves the mappings and the memory behind them: of each arena,
// the pages in use that are not all zero, sharing those that equal
// prev's (the process's snapshot before, or nil). It returns the bytes
// it copied.
func (as *addressSpace) snapshot(prev *spaceSnapshot) (spaceSnapshot, uint64) {
	s := spaceSnapshot{as: *as, em: *as.mem}
	s.as.maps, s.em.arenas = nil, nil
	for _, m := range as.maps {
		c := *m
		c.host = nil
		s.maps = append(s.maps, c)
	}
	before := map[uint64]*arenaSnapshot{}
	if prev != nil {
		for i := range prev.arenas {
			before[prev.arenas[i].phys] = &prev.arenas[i]
		}
	}
	var copied uint64
	page := int(as.page)
	for _, a := range as.mem.arenas {
		sa := arenaSnapshot{phys: a.phys, size: len(a.mem), used: append([]uint64(nil), a.used...), free: a.free, hint: a.hint}
		old := before[a.phys]
		if old != nil && old.size != len(a.mem) {
			old = nil
		}
		// Pages the host never gave memory to are zero: mincore says
		// which those are without touching them.
		resident := make([]byte, len(a.mem)/page)
		if mincore(a.mem, resident) != nil {
			for i := range resident {
				resident[i] = 1
			}
		}
		k := 0 // walks old's pages alongside
		for i := range len(a.mem) / page {
			b := a.mem[i*page : (i+1)*page]
			if a.used[i/64]&(1<<(i%64)) == 0 || resident[i]&1 == 0 || zeroPage(b) {
				continue
			}
			for old != nil && k < len(old.pages) && int(old.pages[k]) < i {
				k++
			}
			sa.pages = append(sa.pages, int32(i))
			if old != nil && k < len(old.pages) && int(old.pages[k]) == i && bytes.Equal(old.data[k], b) {
				sa.data = append(sa.data, old.data[k])
				continue
			}
			// A page apiece: a page shared on outlives its snapshot alone.
			sa.data = append(sa.data, bytes.Clone(b))
			copied += uint64(page)
		}
		s.arenas = append(s.arenas, sa)
	}
	return s, copied
}

// restore makes the address space what s saved: the same arenas at the
// same engine addresses with the same contents, the same mappings, and
// the page table built anew from them.
func (as *addressSpace) restore(s spaceSnapshot) error {
	em := as.mem
	want := map[uint64]*arenaSnapshot{}
	for i := range s.arenas {
		want[s.arenas[i].phys] = &s.arenas[i]
	}
	// Arenas made since go; those released since come back.
	have := map[uint64]*arena{}
	for _, a := range em.arenas {
		if w := want[a.phys]; w != nil && w.size == len(a.mem) {
			have[a.phys] = a
			continue
		}
		if err := em.eng.UnmapPhys(a.phys, uint64(len(a.mem))); err != nil {
			return err
		}
		if err := unix.Munmap(a.mem); err != nil {
			return err
		}
	}
	eng, maps := as.eng, as.maps[:0]
	*as, *em = s.as, s.em
	as.eng, as.mem, em.eng = eng, em, eng
	em.arenas = nil
	page := int(as.page)
	for i := range s.arenas {
		w := &s.arenas[i]
		a := have[w.phys]
		if a == nil {
			mem, err := unix.Mmap(-1, 0, w.size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
			if err != nil {
				return fmt.Errorf("emu: host memory for a snapshot's %d bytes: %w", w.size, err)
			}
			if err := eng.MapPtr(w.phys, mem, unicorn.ProtAll); err != nil {
				_ = unix.Munmap(mem)
				return err
			}
			a = &arena{phys: w.phys, mem: mem}
		} else {
			clearOthers(a.mem, w.pages, page)
		}
		a.used, a.free, a.hint = append(a.used[:0], w.used...), w.free, w.hint
		for k, pg := range w.pages {
			copy(a.mem[int(pg)*page:], w.data[k])
		}
		em.arenas = append(em.arenas, a)
	}
	sort.Slice(em.arenas, func(i, j int) bool { return em.arenas[i].phys < em.arenas[j].phys })
	for _, m := range s.maps {
		c := m
		if c.phys != 0 {
			a := em.arenaAt(c.phys)
			if a == nil {
				return fmt.Errorf("emu: snapshot mapping [%#x, %#x) at engine address %#x, in no arena", c.start, c.end, c.phys)
			}
			off := c.phys - a.phys
			c.host = a.mem[off : off+(c.end-c.start)]
		}
		maps = append(maps, &c)
	}
	as.maps = maps
	return as.sync(0, ^uint64(0))
}

// clearOthers zeroes the pages of mem not listed in keep (sorted) that
// the host holds and are not zero already. Writing in place is cheaper
// than giving the memory back and faulting it in again.
func clearOthers(mem []byte, keep []int32, page int) {
	resident := make([]byte, len(mem)/page)
	if mincore(mem, resident) != nil {
		clear(mem)
		return
	}
	for i := range resident {
		if len(keep) > 0 && int(keep[0]) == i {
			keep = keep[1:]
			continue
		}
		if b := mem[i*page : (i+1)*page]; resident[i]&1 != 0 && !zeroPage(b) {
			clear(b)
		}
	}
}

// mincore sets vec[i]&1 for each page of b the host holds memory for.
func mincore(b, vec []byte) error {
	_, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	if e != 0 {
		return e
	}
	return nil
}

var zeros [64 << 10]byte

// zeroPage says whether page b (at most 64 KiB) is all zeros.
func zeroPage(b []byte) bool { return bytes.Equal(b, zeros[:len(b)]) }

// arenaAt returns the arena holding engine address phys, or nil.
func (em *engineMem) arenaAt(phys uint64) *arena {
	i := sort.Search(len(em.arenas), func(i int) bool { return em.arenas[i].phys+uint64(len(em.arenas[i].mem)) > phys })
	if i == len(em.arenas) || em.arenas[i].phys > phys {
		return nil
	}
	return em.arenas[i]
}
