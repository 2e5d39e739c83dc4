package emu

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/syscalls"
)

// FuzzAddressSpace runs a sequence of mmap, munmap, mprotect, madvise
// and writes, decoded from the input, over a small window of pages, and
// after each checks the address space against a page-by-page model: which
// pages are mapped, their protection and contents, and that the engine's
// page table, the memory counted and the engine memory in use agree
// (checkMirror). A short mapping bound makes ENOMEM paths run too.
func FuzzAddressSpace(f *testing.F) {
	f.Add([]byte{0, 0, 8, 3, 2, 1, 2, 1, 3, 0, 8, 0, 4, 2, 1, 9})
	f.Add([]byte{0, 4, 4, 0, 1, 5, 2, 7, 3, 1, 1, 2, 2, 0, 8, 3})
	f.Add([]byte{0, 0, 16, 2, 2, 0, 1, 2, 4, 1, 2, 6, 1, 2, 1, 8, 2, 0, 16, 3})
	f.Fuzz(func(t *testing.T, ops []byte) {
		const window = 16 // pages
		as := newSpace(t, 10*page)
		as.maxMaps = 8
		base := uint64(0x10000000)
		type pageModel struct {
			mapped bool
			prot   syscalls.Prot
			fill   byte // every byte of the page, as last written
		}
		var model [window]pageModel
		ops = ops[:min(len(ops), 4*64)] // 64 operations say enough
		protOf := func(b byte) syscalls.Prot {
			return []syscalls.Prot{none, syscalls.PROT_READ, rw, syscalls.PROT_READ | syscalls.PROT_EXEC}[b%4]
		}
		for len(ops) >= 4 {
			op, at, n, arg := ops[0]%5, uint64(ops[1]%window), uint64(ops[2]%window)+1, ops[3]
			ops = ops[4:]
			n = min(n, window-at)
			addr, length := base+at*page, n*page
			switch op {
			case 0: // mmap MAP_FIXED
				_, err := as.mmap(syscalls.MapRequest{Addr: addr, Length: length, Prot: protOf(arg), Mode: syscalls.MapFixed})
				if err == nil {
					for k := at; k < at+n; k++ {
						model[k] = pageModel{mapped: true, prot: protOf(arg)}
					}
				} else {
					require.ErrorIs(t, err, syscalls.ENOMEM)
				}
			case 1: // munmap
				if err := as.unmap(addr, length); err == nil {
					for k := at; k < at+n; k++ {
						model[k] = pageModel{}
					}
				} else {
					require.ErrorIs(t, err, syscalls.ENOMEM)
				}
			case 2: // mprotect
				err := as.protect(addr, length, protOf(arg))
				all := true
				for k := at; k < at+n; k++ {
					all = all && model[k].mapped
				}
				if !all {
					require.ErrorIs(t, err, syscalls.ENOMEM, "mprotect over a hole")
					break
				}
				if err == nil {
					for k := at; k < at+n; k++ {
						model[k].prot = protOf(arg)
					}
				} else {
					require.ErrorIs(t, err, syscalls.ENOMEM)
					// A refused mprotect may have changed a part, as
					// Linux's may: take the protections from the list.
					for k := at; k < at+n; k++ {
						model[k].prot = as.lookup(base + k*page).prot
					}
				}
			case 3: // madvise(MADV_DONTNEED)
				err := as.discard(addr, length)
				if err == nil {
					for k := at; k < at+n; k++ {
						model[k].fill = 0
					}
				}
			case 4: // a write as a syscall makes it (copy_to_user)
				b := make([]byte, length)
				for i := range b {
					b[i] = arg
				}
				err := as.write(addr, b, false)
				ok := true
				for k := at; k < at+n; k++ {
					ok = ok && model[k].mapped && model[k].prot&syscalls.PROT_WRITE != 0
				}
				if ok {
					require.NoError(t, err)
					for k := at; k < at+n; k++ {
						model[k].fill = arg
					}
				} else {
					require.ErrorIs(t, err, syscalls.EFAULT)
					// Pages before the first refused one were written.
					for k := at; k < at+n && model[k].mapped && model[k].prot&syscalls.PROT_WRITE != 0; k++ {
						model[k].fill = arg
					}
				}
			}
			checkMirror(t, as)
			for k := uint64(0); k < window; k++ {
				m := as.lookup(base + k*page)
				require.Equal(t, model[k].mapped, m != nil, "page %d mapped", k)
				if m == nil {
					continue
				}
				require.Equal(t, model[k].prot, m.prot, "page %d protection", k)
				got := make([]byte, page)
				require.NoError(t, as.read(base+k*page, got, true))
				if n := bytes.Count(got, []byte{model[k].fill}); n != page {
					t.Fatalf("page %d holds %d bytes other than %#x", k, page-n, model[k].fill)
				}
			}
		}
	})
}
