package unicorn

/*
#include "hooks.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// An engine starts with guest addresses equal to engine addresses: Map,
// MapPtr, Protect and the memory calls work on them directly, as the
// engine's own tests and the CPU probes use it. UsePageTable switches the
// engine to a guest page table (pagetable.c): from then on guest addresses
// are translated through Pages on every TLB miss, and engine memory,
// mapped with MapPtr at engine addresses, is only what the pages point to.

// Poison is the engine address past which no engine memory may be mapped:
// refused guest pages are sent to it (see pagetable.c).
const Poison = uint64(C.GRE_POISON)

// Page is one guest mapping in the page table.
type Page struct {
	Start, End uint64 // guest virtual [Start, End)
	Phys       uint64 // engine address of Start; 0 if it has no memory
	Host       []byte // the host memory at Phys, End-Start bytes, or nil
	Prot       Prot   // what the guest may do (ProtNone: mapped, inaccessible)
}

// UsePageTable makes the engine translate guest addresses through the
// pages set with SetPages.
func (e *Engine) UsePageTable() error {
	if err := e.check(); err != nil {
		return err
	}
	return ucErr(C.gre_paging_start(e.st), "use the page table")
}

// SetPages replaces the page table's entries over [start, end) with
// pages, which must lie inside it, sorted and apart; entries that straddle
// start or end keep their outer parts. It flushes the TLB.
func (e *Engine) SetPages(start, end uint64, pages []Page) error {
	if err := e.check(); err != nil {
		return err
	}
	vs := make([]C.gre_vma, len(pages))
	for i, p := range pages {
		if p.Start < start || p.End > end || p.Start >= p.End || i > 0 && p.Start < pages[i-1].End {
			return fmt.Errorf("unicorn: page [%#x, %#x) out of order in [%#x, %#x)", p.Start, p.End, start, end)
		}
		vs[i] = C.gre_vma{start: C.uint64_t(p.Start), end: C.uint64_t(p.End), perms: C.uint32_t(p.Prot)}
		if p.Host != nil {
			if uint64(len(p.Host)) != p.End-p.Start || p.Phys == 0 {
				return fmt.Errorf("unicorn: page [%#x, %#x) with %d bytes of memory at %#x", p.Start, p.End, len(p.Host), p.Phys)
			}
			vs[i].phys = C.uint64_t(p.Phys)
			vs[i].host = C.uint64_t(uintptr(unsafe.Pointer(&p.Host[0])))
		}
	}
	var in *C.gre_vma
	if len(vs) > 0 {
		in = &vs[0]
	}
	if C.gre_vm_replace(e.st, C.uint64_t(start), C.uint64_t(end), in, C.size_t(len(vs))) != 0 {
		return fmt.Errorf("unicorn: page table update over [%#x, %#x) failed", start, end)
	}
	return nil
}

// PageEntry is a page table entry as the engine holds it, for tests.
type PageEntry struct {
	Start, End, Phys uint64
	Prot             Prot
	Host             uintptr
}

// PageTable returns a copy of the page table.
func (e *Engine) PageTable() []PageEntry {
	if e.st == nil || e.st.nvmas == 0 {
		return nil
	}
	vs := unsafe.Slice(e.st.vmas, e.st.nvmas)
	out := make([]PageEntry, len(vs))
	for i, v := range vs {
		out[i] = PageEntry{Start: uint64(v.start), End: uint64(v.end), Phys: uint64(v.phys), Prot: Prot(v.perms), Host: uintptr(v.host)}
	}
	return out
}

// DiscardCode drops the translated code held in engine memory [phys,
// phys+size): after a write from the host side, which Unicorn does not
// see, or before the memory is used again for other contents.
func (e *Engine) DiscardCode(phys, size uint64) error {
	if err := e.check(); err != nil {
		return err
	}
	return ucErr(C.gre_discard_code(e.st, C.uint64_t(phys), C.uint64_t(size)), "discard code in [%#x, %#x)", phys, phys+size)
}

// UnmapPhys removes the engine memory at [phys, phys+size), which the page
// table must no longer point into.
func (e *Engine) UnmapPhys(phys, size uint64) error {
	if err := e.check(); err != nil {
		return err
	}
	return ucErr(C.gre_unmap_phys(e.st, C.uint64_t(phys), C.uint64_t(size)), "unmap engine memory [%#x, %#x)", phys, phys+size)
}
