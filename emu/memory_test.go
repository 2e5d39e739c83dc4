package emu

import (
	"fmt"
	"math/bits"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu/unicorn"
	"github.com/gorunemu/gorunemu/syscalls"
)

const (
	rw   = syscalls.PROT_READ | syscalls.PROT_WRITE
	none = syscalls.PROT_NONE
	page = 0x1000
	base = 0x7f0000000000 // the test's mmap base
	top  = 0x7ffffffff000
)

func newSpace(t testing.TB, limit uint64) *addressSpace {
	t.Helper()
	a := arch.AMD64
	eng, err := unicorn.Open(unicorn.Arch(a.UnicornArch), unicorn.Mode(a.UnicornMode), a.CPUModel)
	require.NoError(t, err)
	require.NoError(t, eng.UsePageTable())
	as := newAddressSpace(eng, page, top, base, limit)
	t.Cleanup(func() {
		checkMirror(t, as)
		require.NoError(t, eng.Close())
		require.NoError(t, as.close())
	})
	return as
}

// checkMirror asserts that the engine's page table is exactly the Go
// mappings, that the memory they hold is what counts against the limit,
// and that the engine memory in use is that much.
func checkMirror(t testing.TB, as *addressSpace) {
	t.Helper()
	var want []unicorn.PageEntry
	held := uint64(0)
	for _, m := range as.maps {
		e := unicorn.PageEntry{Start: m.start, End: m.end, Prot: ucProt(m.prot)}
		if m.host != nil {
			require.Equal(t, int(m.end-m.start), len(m.host), "host slice of [%#x, %#x)", m.start, m.end)
			e.Phys, e.Host = m.phys, uintptr(unsafe.Pointer(&m.host[0]))
			held += m.end - m.start
		}
		want = append(want, e)
	}
	assert.Equal(t, want, as.eng.PageTable())
	assert.Equal(t, held, as.committed, "committed")
	assert.Equal(t, held, as.mem.inUse(), "engine memory in use")
}

type span struct {
	start, end uint64
	prot       syscalls.Prot
}

func spans(as *addressSpace) []span {
	var out []span
	for _, m := range as.maps {
		out = append(out, span{m.start, m.end, m.prot})
	}
	return out
}

func mmap(t *testing.T, as *addressSpace, addr, length uint64, prot syscalls.Prot, mode syscalls.MapMode) uint64 {
	t.Helper()
	a, err := as.mmap(syscalls.MapRequest{Addr: addr, Length: length, Prot: prot, Mode: mode})
	require.NoError(t, err)
	checkMirror(t, as)
	return a
}

func TestMmapPlacement(t *testing.T) {
	as := newSpace(t, 0)
	// No hint: top-down from the mmap base, each below the last.
	a1 := mmap(t, as, 0, 3*page, rw, syscalls.MapHint)
	assert.Equal(t, uint64(base-3*page), a1)
	a2 := mmap(t, as, 0, page, rw, syscalls.MapHint)
	assert.Equal(t, uint64(base-4*page), a2)
	// A free hint is honoured, rounded up to a page.
	a3 := mmap(t, as, 0xc000000001, 2*page, rw, syscalls.MapHint)
	assert.Equal(t, uint64(0xc000001000), a3)
	// A taken hint is not: the allocator looks elsewhere.
	a4 := mmap(t, as, a1, page, rw, syscalls.MapHint)
	assert.Equal(t, uint64(base-5*page), a4)
	// A gap that fits is reused, highest first.
	require.NoError(t, as.unmap(a2, page))
	a5 := mmap(t, as, 0, page, rw, syscalls.MapHint)
	assert.Equal(t, a2, a5)
	// Hints outside user space are ignored.
	a6 := mmap(t, as, top, page, rw, syscalls.MapHint)
	assert.Equal(t, uint64(base-6*page), a6)
}

func TestMmapFresh(t *testing.T) {
	as := newSpace(t, 0)
	a := mmap(t, as, 0, 2*page, rw, syscalls.MapHint)
	b := make([]byte, 2*page)
	require.NoError(t, as.read(a, b, false))
	assert.Equal(t, make([]byte, 2*page), b, "fresh pages read as zero")
}

func TestMmapFixedReplaces(t *testing.T) {
	as := newSpace(t, 0)
	a := mmap(t, as, 0x10000000, 4*page, rw, syscalls.MapFixed)
	fill(t, as, a, 4*page, 0xaa)
	// MAP_FIXED over the middle two pages: they are fresh and PROT_NONE,
	// the outer ones keep their contents.
	b := mmap(t, as, a+page, 2*page, none, syscalls.MapFixed)
	assert.Equal(t, a+page, b)
	assert.Equal(t, []span{{a, a + page, rw}, {a + page, a + 3*page, none}, {a + 3*page, a + 4*page, rw}}, spans(as))
	assertBytes(t, as, a, page, 0xaa)
	assertBytes(t, as, a+3*page, page, 0xaa)
	assert.ErrorIs(t, as.read(a+page, make([]byte, 1), false), syscalls.EFAULT, "PROT_NONE is not readable")
	// Committing the reservation read-write gives zeroed pages.
	mmap(t, as, a+page, 2*page, rw, syscalls.MapFixed)
	assertBytes(t, as, a+page, 2*page, 0)
	assert.Equal(t, 4*uint64(page), as.committed)
}

func TestMmapFixedNoReplace(t *testing.T) {
	as := newSpace(t, 0)
	a := mmap(t, as, 0x20000000, 2*page, rw, syscalls.MapFixed)
	_, err := as.mmap(syscalls.MapRequest{Addr: a + page, Length: 2 * page, Prot: rw, Mode: syscalls.MapNoReplace})
	assert.ErrorIs(t, err, syscalls.EEXIST)
	b := mmap(t, as, a+2*page, page, rw, syscalls.MapNoReplace)
	assert.Equal(t, a+2*page, b)
}

// TestMmapNoRoom: placement fails when nothing is free. The arguments
// themselves are syscalls.Mmap's to check (its TestMmapErrors).
func TestMmapNoRoom(t *testing.T) {
	as := newSpace(t, 0)
	_, err := as.mmap(syscalls.MapRequest{Length: top, Prot: rw})
	assert.ErrorIs(t, err, syscalls.ENOMEM)
	assert.Empty(t, as.maps)
}

func TestMemoryLimit(t *testing.T) {
	as := newSpace(t, 4*page)
	// Reservations are free: they cannot be touched.
	r := mmap(t, as, 0, 100*page, none, syscalls.MapHint)
	a := mmap(t, as, 0, 3*page, rw, syscalls.MapHint)
	_, err := as.mmap(syscalls.MapRequest{Length: 2 * page, Prot: rw})
	assert.ErrorIs(t, err, syscalls.ENOMEM)
	assert.True(t, as.limitHit)
	as.limitHit = false
	// Committing reserved pages counts.
	assert.ErrorIs(t, as.protect(r, 2*page, rw), syscalls.ENOMEM)
	assert.True(t, as.limitHit)
	_, err = as.mmap(syscalls.MapRequest{Addr: r, Length: 2 * page, Prot: rw, Mode: syscalls.MapFixed})
	assert.ErrorIs(t, err, syscalls.ENOMEM)
	// Replacing accessible pages does not count twice.
	mmap(t, as, a, 3*page, rw, syscalls.MapFixed)
	mmap(t, as, a, 3*page, none, syscalls.MapFixed)
	assert.Equal(t, uint64(0), as.committed)
	require.NoError(t, as.protect(r, 4*page, rw))
	assert.Equal(t, uint64(4*page), as.committed)
	require.NoError(t, as.unmap(r, 100*page))
	assert.Equal(t, uint64(0), as.committed)
}

func TestMunmap(t *testing.T) {
	as := newSpace(t, 0)
	a := mmap(t, as, 0x30000000, 5*page, rw, syscalls.MapFixed)
	fill(t, as, a, 5*page, 0x5a)
	require.NoError(t, as.unmap(a+page, 2*page))
	checkMirror(t, as)
	assert.Equal(t, []span{{a, a + page, rw}, {a + 3*page, a + 5*page, rw}}, spans(as))
	assertBytes(t, as, a, page, 0x5a)
	assertBytes(t, as, a+3*page, 2*page, 0x5a)
	assert.ErrorIs(t, as.read(a+page, make([]byte, 1), false), syscalls.EFAULT)
	// Holes in the range are fine; a partial last page goes whole.
	require.NoError(t, as.unmap(a, 3*page+1))
	checkMirror(t, as)
	assert.Equal(t, []span{{a + 4*page, a + 5*page, rw}}, spans(as))
	assert.Equal(t, uint64(page), as.committed)
}

func TestMprotect(t *testing.T) {
	as := newSpace(t, 0)
	a := mmap(t, as, 0x40000000, 3*page, rw, syscalls.MapFixed)
	require.NoError(t, as.protect(a+page, page, syscalls.PROT_READ))
	checkMirror(t, as)
	assert.Equal(t, []span{{a, a + page, rw}, {a + page, a + 2*page, syscalls.PROT_READ}, {a + 2*page, a + 3*page, rw}}, spans(as))
	assert.ErrorIs(t, as.write(a+page, []byte{1}, false), syscalls.EFAULT, "read-only")
	require.NoError(t, as.write(a+page, []byte{1}, true), "the kernel may still fill it")
	// A hole anywhere in the range: ENOMEM and nothing changes.
	require.NoError(t, as.unmap(a+2*page, page))
	assert.ErrorIs(t, as.protect(a, 3*page, none), syscalls.ENOMEM)
	assert.Equal(t, []span{{a, a + page, rw}, {a + page, a + 2*page, syscalls.PROT_READ}}, spans(as))
}

func TestDiscard(t *testing.T) {
	as := newSpace(t, 0)
	a := mmap(t, as, 0x50000000, 3*page, rw, syscalls.MapFixed)
	fill(t, as, a, 3*page, 0x77)
	require.NoError(t, as.discard(a+page, page))
	assertBytes(t, as, a, page, 0x77)
	assertBytes(t, as, a+page, page, 0)
	assertBytes(t, as, a+2*page, page, 0x77)
	assert.ErrorIs(t, as.discard(a+3*page, page), syscalls.ENOMEM)
}

func TestBrk(t *testing.T) {
	as := newSpace(t, 0)
	as.brkStart, as.brk = 0x600000, 0x600000
	assert.Equal(t, uint64(0x600000), as.setBrk(0), "brk(0) queries")
	assert.Equal(t, uint64(0x602345), as.setBrk(0x602345))
	assert.Equal(t, []span{{0x600000, 0x603000, rw}}, spans(as))
	require.NoError(t, as.write(0x602344, []byte{1}, false))
	assert.Equal(t, uint64(0x601000), as.setBrk(0x601000))
	assert.Equal(t, []span{{0x600000, 0x601000, rw}}, spans(as))
	assert.Equal(t, uint64(0x601000), as.setBrk(0x500000), "below the start: unchanged")
	// Growing into a mapping fails and leaves the break.
	mmap(t, as, 0x605000, page, rw, syscalls.MapFixed)
	assert.Equal(t, uint64(0x601000), as.setBrk(0x606000))
}

func fill(t *testing.T, as *addressSpace, addr, n uint64, v byte) {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		b[i] = v
	}
	require.NoError(t, as.write(addr, b, false))
}

func assertBytes(t *testing.T, as *addressSpace, addr, n uint64, v byte) {
	t.Helper()
	b := make([]byte, n)
	require.NoError(t, as.read(addr, b, false))
	for i, x := range b {
		if x != v {
			t.Errorf("byte at %#x = %#x, want %#x", addr+uint64(i), x, v)
			return
		}
	}
}

// TestProtectMergesAndBoundsMappings: pieces of one mapping that end up
// alike merge again, in the list and in the page table, and a guest
// cannot hold more mappings than the bound: mprotect fails with ENOMEM.
func TestProtectMergesAndBoundsMappings(t *testing.T) {
	as := newSpace(t, 0)
	as.maxMaps = 6
	addr, err := as.mmap(syscalls.MapRequest{Length: 16 * page, Prot: rw})
	require.NoError(t, err)
	for k := uint64(1); k < 16; k += 2 {
		err = as.protect(addr+k*page, page, none)
		if err != nil {
			break
		}
	}
	require.ErrorIs(t, err, syscalls.ENOMEM)
	assert.LessOrEqual(t, len(as.maps), 6)
	checkMirror(t, as)

	require.NoError(t, as.protect(addr, 16*page, rw))
	assert.Equal(t, []span{{addr, addr + 16*page, rw}}, spans(as), "one mapping again")
	checkMirror(t, as)
	// The merged mapping's memory is the original: a write lands at the
	// same host byte.
	require.NoError(t, as.write(addr+5*page+7, []byte{42}, false))
	assert.Equal(t, byte(42), as.maps[as.find(addr)].host[5*page+7])
}

// TestManyMappingsFewRegions: a guest holding as many mappings as Linux
// allows, alternating in protection, costs the engine one region (the
// arena behind the one mmap), not one per mapping, and the next mapping
// fails.
func TestManyMappingsFewRegions(t *testing.T) {
	as := newSpace(t, 0)
	n := uint64(maxMaps)
	addr, err := as.mmap(syscalls.MapRequest{Length: n * page, Prot: syscalls.PROT_READ})
	require.NoError(t, err)
	for k := uint64(1); k < n; k += 2 {
		require.NoError(t, as.protect(addr+k*page, page, rw))
	}
	assert.Equal(t, maxMaps, len(as.maps))
	_, err = as.mmap(syscalls.MapRequest{Length: page, Prot: rw})
	assert.ErrorIs(t, err, syscalls.ENOMEM, "past vm.max_map_count")
	regions, err := as.eng.Regions()
	require.NoError(t, err)
	assert.Len(t, regions, 1, "one arena")
	require.NoError(t, as.protect(addr, n*page, rw))
	assert.Len(t, as.maps, 1)
	require.NoError(t, as.unmap(addr, n*page))
	regions, err = as.eng.Regions()
	require.NoError(t, err)
	assert.Empty(t, regions, "empty arenas go back")
}

// TestReservationsHoldNothing: PROT_NONE reservations, however large,
// take neither host nor engine memory; the pages made accessible get it.
func TestReservationsHoldNothing(t *testing.T) {
	as := newSpace(t, 0)
	r, err := as.mmap(syscalls.MapRequest{Length: 64 << 40, Prot: none})
	require.NoError(t, err)
	assert.Zero(t, as.mem.size)
	assertZeroForced(t, as, r+12345*page)
	require.NoError(t, as.protect(r+page, 2*page, rw))
	assert.Equal(t, uint64(2*page), as.committed)
	assert.Equal(t, uint64(arenaSize), as.mem.size)
	fill(t, as, r+page, 2*page, 9)
	// Forced writes (a debugger's) into a reservation give it memory.
	require.NoError(t, as.write(r+100*page+page-1, []byte{1, 2}, true))
	assert.Equal(t, uint64(4*page), as.committed, "the two pages written")
	b := make([]byte, 2)
	require.NoError(t, as.read(r+100*page+page-1, b, true))
	assert.Equal(t, []byte{1, 2}, b)
}

func assertZeroForced(t *testing.T, as *addressSpace, addr uint64) {
	t.Helper()
	b := []byte{1, 2, 3}
	require.NoError(t, as.read(addr, b, true))
	assert.Equal(t, []byte{0, 0, 0}, b)
}

// TestFilledReservationCounts: a PROT_NONE mapping that a file's data is
// written into uses host memory, so it counts against the limit (a guest
// mapping a big file PROT_NONE again and again took gigabytes past
// --max-mem), and stops counting when it is unmapped.
func TestFilledReservationCounts(t *testing.T) {
	as := newSpace(t, 4*page)
	a, err := as.mmap(syscalls.MapRequest{Length: 3 * page, Prot: none, Filled: true})
	require.NoError(t, err)
	assert.Equal(t, uint64(3*page), as.committed)
	_, err = as.mmap(syscalls.MapRequest{Length: 2 * page, Prot: none, Filled: true})
	assert.ErrorIs(t, err, syscalls.ENOMEM, "a second filled mapping passes the limit")
	// Made accessible and back, it still counts once.
	require.NoError(t, as.protect(a, page, rw))
	require.NoError(t, as.protect(a, page, none))
	assert.Equal(t, uint64(3*page), as.committed)
	require.NoError(t, as.unmap(a, 3*page))
	assert.Zero(t, as.committed)
	// An empty reservation stays free.
	_, err = as.mmap(syscalls.MapRequest{Length: 100 * page, Prot: none})
	require.NoError(t, err)
	assert.Zero(t, as.committed)
}

// BenchmarkMappingOps measures one mprotect that splits a mapping and one
// that merges it back, and one mmap and munmap of a page, in an address
// space that holds n mappings alternating in protection. Linux takes
// about a microsecond for each at any n; so should gorunemu (with an
// engine region per mapping, n = 5000 took seconds per operation).
func BenchmarkMappingOps(b *testing.B) {
	for _, n := range []uint64{100, 10000, 60000} {
		b.Run(fmt.Sprintf("maps=%d", n), func(b *testing.B) {
			as := newSpace(b, 0)
			addr, err := as.mmap(syscalls.MapRequest{Length: n * page, Prot: syscalls.PROT_READ})
			require.NoError(b, err)
			for k := uint64(1); k < n; k += 2 {
				require.NoError(b, as.protect(addr+k*page, page, rw))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := uint64(i) % (n / 2) * 2
				if err := as.protect(addr+k*page, page, none); err != nil {
					b.Fatal(err)
				}
				if err := as.protect(addr+k*page, page, syscalls.PROT_READ); err != nil {
					b.Fatal(err)
				}
				a, err := as.mmap(syscalls.MapRequest{Length: page, Prot: rw})
				if err != nil {
					b.Fatal(err)
				}
				if err := as.unmap(a, page); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(4*b.N), "ns/syscall")
		})
	}
}

// inUse counts the pages handed out, for tests.
func (em *engineMem) inUse() uint64 {
	var n uint64
	for _, a := range em.arenas {
		for _, w := range a.used {
			n += uint64(bits.OnesCount64(w))
		}
		n -= uint64(len(a.used)*64 - len(a.mem)/int(em.page)) // the never-free tail
	}
	return n * em.page
}
