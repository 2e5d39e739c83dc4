package unicorn

/*
#include <unicorn/unicorn.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Map maps size bytes of zeroed memory at addr, both page aligned.
func (e *Engine) Map(addr, size uint64, prot Prot) error {
	if err := e.check(); err != nil {
		return err
	}
	return ucErr(C.uc_mem_map(e.uc, C.uint64_t(addr), C.size_t(size), C.uint32_t(prot)),
		"map [%#x, %#x) %s", addr, addr+size, prot)
}

// MapPtr maps host memory mem at guest address addr. mem must be page
// aligned, a multiple of the page size, outside the Go heap (for example
// from unix.Mmap) and alive until the range is unmapped or the engine
// closed. Splitting such a region (Unmap or Protect of a part) costs no
// copy, which is why gorunemu backs all guest memory this way.
func (e *Engine) MapPtr(addr uint64, mem []byte, prot Prot) error {
	if err := e.check(); err != nil {
		return err
	}
	if len(mem) == 0 {
		return fmt.Errorf("unicorn: map [%#x, %#x): empty host memory", addr, addr)
	}
	return ucErr(C.uc_mem_map_ptr(e.uc, C.uint64_t(addr), C.size_t(len(mem)), C.uint32_t(prot), unsafe.Pointer(&mem[0])),
		"map host memory at [%#x, %#x) %s", addr, addr+uint64(len(mem)), prot)
}

// Unmap removes [addr, addr+size) from the guest address space.
func (e *Engine) Unmap(addr, size uint64) error {
	if err := e.check(); err != nil {
		return err
	}
	return ucErr(C.uc_mem_unmap(e.uc, C.uint64_t(addr), C.size_t(size)), "unmap [%#x, %#x)", addr, addr+size)
}

// Protect sets the permissions of [addr, addr+size).
func (e *Engine) Protect(addr, size uint64, prot Prot) error {
	if err := e.check(); err != nil {
		return err
	}
	return ucErr(C.uc_mem_protect(e.uc, C.uint64_t(addr), C.size_t(size), C.uint32_t(prot)),
		"protect [%#x, %#x) %s", addr, addr+size, prot)
}

// ReadMem copies guest memory at addr into b, ignoring page permissions.
func (e *Engine) ReadMem(addr uint64, b []byte) error {
	if err := e.check(); err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	return ucErr(C.uc_mem_read(e.uc, C.uint64_t(addr), unsafe.Pointer(&b[0]), C.size_t(len(b))),
		"read [%#x, %#x)", addr, addr+uint64(len(b)))
}

// WriteMem copies b into guest memory at addr, ignoring page permissions.
// Unlike a store into host memory given to MapPtr, it also discards any
// translated code for the range.
func (e *Engine) WriteMem(addr uint64, b []byte) error {
	if err := e.check(); err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	return ucErr(C.uc_mem_write(e.uc, C.uint64_t(addr), unsafe.Pointer(&b[0]), C.size_t(len(b))),
		"write [%#x, %#x)", addr, addr+uint64(len(b)))
}

// Region is one mapped range as Unicorn sees it.
type Region struct {
	Begin, End uint64 // [Begin, End)
	Prot       Prot
}

// Regions lists the mapped ranges in address order.
func (e *Engine) Regions() ([]Region, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	var regs *C.uc_mem_region
	var n C.uint32_t
	if err := ucErr(C.uc_err(C.uc_mem_regions(e.uc, &regs, &n)), "list regions"); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	defer C.uc_free(unsafe.Pointer(regs))
	out := make([]Region, n)
	for i, r := range unsafe.Slice(regs, n) {
		out[i] = Region{Begin: uint64(r.begin), End: uint64(r.end) + 1, Prot: Prot(r.perms)}
	}
	return out, nil
}

func (p Prot) String() string {
	b := []byte("---")
	if p&ProtRead != 0 {
		b[0] = 'r'
	}
	if p&ProtWrite != 0 {
		b[1] = 'w'
	}
	if p&ProtExec != 0 {
		b[2] = 'x'
	}
	return string(b)
}
