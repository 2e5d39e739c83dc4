package loader_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/loader"
)

// phdr is a program header for hand-made ELF files.
type phdr struct {
	typ                              elf.ProgType
	flags                            elf.ProgFlag
	off, vaddr, filesz, memsz, align uint64
}

// elfFile describes a hand-made ELF64 file; zero fields get the values of
// a minimal valid static executable.
type elfFile struct {
	class, data, version byte
	typ                  elf.Type
	machine              elf.Machine
	entry                uint64
	phoff                uint64
	phentsize            uint16
	phnum                int // -1: len(phdrs)
	phdrs                []phdr
	size                 int               // file size; 0: just past the furthest header or segment
	at                   map[uint64][]byte // extra bytes at file offsets
}

const base = 0x400000

// minimal returns a valid static executable for a: one R+X PT_LOAD that
// maps the first 0x300 bytes of the file at 0x400000 with 0x1000 bytes of
// memory, entry at 0x400100.
func minimal(a *arch.Arch) elfFile {
	return elfFile{
		machine: a.ELFMachine,
		entry:   base + 0x100,
		phnum:   -1,
		phdrs: []phdr{
			{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_X, off: 0, vaddr: base, filesz: 0x300, memsz: 0x1000, align: 0x1000},
		},
	}
}

func (e elfFile) bytes() []byte {
	le := binary.LittleEndian
	or := func(v, d byte) byte {
		if v == 0 {
			return d
		}
		return v
	}
	phoff := e.phoff
	if phoff == 0 {
		phoff = 64
	}
	phentsize := e.phentsize
	if phentsize == 0 {
		phentsize = 56
	}
	phnum := e.phnum
	if phnum < 0 {
		phnum = len(e.phdrs)
	}
	typ := e.typ
	if typ == 0 {
		typ = elf.ET_EXEC
	}
	size := e.size
	if size == 0 {
		size = int(phoff) + 56*len(e.phdrs)
		for _, p := range e.phdrs {
			if end := int(p.off + p.filesz); p.typ == elf.PT_LOAD && end > size && end < 1<<20 {
				size = end
			}
		}
		for off, b := range e.at {
			if end := int(off) + len(b); end > size {
				size = end
			}
		}
	}
	// Headers that fall outside the file are written to a scratch tail
	// and cut off.
	buf := size
	if end := int(phoff) + 56*len(e.phdrs); len(e.phdrs) > 0 && end > buf {
		buf = end
	}
	b := make([]byte, buf)
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS] = or(e.class, byte(elf.ELFCLASS64))
	b[elf.EI_DATA] = or(e.data, byte(elf.ELFDATA2LSB))
	b[elf.EI_VERSION] = or(e.version, byte(elf.EV_CURRENT))
	le.PutUint16(b[16:], uint16(typ))
	le.PutUint16(b[18:], uint16(e.machine))
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], e.entry)
	le.PutUint64(b[32:], phoff)
	le.PutUint16(b[52:], 64)
	le.PutUint16(b[54:], phentsize)
	le.PutUint16(b[56:], uint16(phnum))
	le.PutUint16(b[58:], 64)
	for i, p := range e.phdrs {
		h := b[int(phoff)+56*i:]
		le.PutUint32(h[0:], uint32(p.typ))
		le.PutUint32(h[4:], uint32(p.flags))
		le.PutUint64(h[8:], p.off)
		le.PutUint64(h[16:], p.vaddr)
		le.PutUint64(h[24:], p.vaddr)
		le.PutUint64(h[32:], p.filesz)
		le.PutUint64(h[40:], p.memsz)
		le.PutUint64(h[48:], p.align)
	}
	for off, v := range e.at {
		copy(b[off:], v)
	}
	return b[:size]
}

func parseBytes(b []byte, path string) (*loader.Image, error) {
	return loader.Parse(bytes.NewReader(b), int64(len(b)), path)
}

func TestParseMinimal(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			b := minimal(a).bytes()
			img, err := parseBytes(b, "prog")
			require.NoError(t, err)
			assert.Equal(t, "prog", img.Path)
			assert.Same(t, a, img.Arch)
			assert.Equal(t, elf.ET_EXEC, img.Type)
			assert.Equal(t, uint64(0), img.Bias)
			assert.Equal(t, uint64(0x400100), img.Entry)
			assert.Equal(t, uint64(0x400040), img.PhdrAddr, "e_phoff 64 inside the segment at offset 0")
			assert.Equal(t, 56, img.Phent)
			assert.Equal(t, 1, img.Phnum)
			assert.Equal(t, uint64(0x401000), img.BrkStart)
			assert.Equal(t, "", img.GoVersion)
			assert.True(t, img.Stripped)
			require.Len(t, img.Segments, 1)
			s := img.Segments[0]
			assert.Equal(t, loader.Segment{Addr: 0x400000, MemSize: 0x1000, FileSize: 0x300, Off: 0, Data: b[:0x300], Prot: loader.PROT_READ | loader.PROT_EXEC, Index: 0}, s)
			assert.Equal(t, "r-x", s.Prot.String())
			_, ok := img.Lookup("main.main")
			assert.False(t, ok)
			_, ok = img.Symbolize(img.Entry)
			assert.False(t, ok)
			assert.Empty(t, img.Funcs())

			buf := make([]byte, 8)
			require.NoError(t, img.ReadMem(0x4002fc, buf))
			assert.Equal(t, append(append([]byte{}, b[0x2fc:0x300]...), 0, 0, 0, 0), buf, "file bytes then .bss zeros")
			assert.Error(t, img.ReadMem(0x400ffc, buf), "runs past the segment")
		})
	}
}

func TestParseLayouts(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Run("static-pie", func(t *testing.T) {
				e := minimal(a)
				e.typ = elf.ET_DYN
				e.entry = 0x100
				e.phdrs[0].vaddr = 0
				e.phdrs = append(e.phdrs, phdr{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_W, off: 0x300, vaddr: 0x1300, filesz: 0x10, memsz: 0x2000})
				img, err := parseBytes(e.bytes(), "pie")
				require.NoError(t, err)
				assert.Equal(t, a.PIEBase, img.Bias)
				assert.Equal(t, a.PIEBase+0x100, img.Entry)
				assert.Equal(t, a.PIEBase+0x40, img.PhdrAddr)
				assert.Equal(t, a.PIEBase+0x1300, img.Segments[1].Addr)
				assert.Equal(t, loader.PROT_READ|loader.PROT_WRITE, img.Segments[1].Prot)
				assert.Equal(t, a.PIEBase+0x4000, img.BrkStart, "page after 0x1300+0x2000")
			})
			t.Run("static-pie-nonzero-vaddr", func(t *testing.T) {
				e := minimal(a)
				e.typ = elf.ET_DYN
				e.entry = 0x10100
				e.phdrs[0].vaddr = 0x10000
				img, err := parseBytes(e.bytes(), "pie")
				require.NoError(t, err)
				assert.Equal(t, a.PIEBase-0x10000, img.Bias, "the first segment lands at PIEBase")
				assert.Equal(t, a.PIEBase, img.Segments[0].Addr)
				assert.Equal(t, a.PIEBase+0x100, img.Entry)
			})
			t.Run("pie-with-interpreter", func(t *testing.T) {
				e := minimal(a)
				e.typ = elf.ET_DYN
				e.entry = 0x100
				e.phdrs[0].vaddr = 0
				// Linux takes the first PT_INTERP and the C string in it.
				e.phdrs = append(e.phdrs,
					phdr{typ: elf.PT_INTERP, flags: elf.PF_R, off: 0x200, filesz: 0x20, memsz: 0x20},
					phdr{typ: elf.PT_INTERP, flags: elf.PF_R, off: 0x280, filesz: 8, memsz: 8})
				e.at = map[uint64][]byte{0x200: []byte("/lib/ld.so\x00junk"), 0x280: []byte("/other\x00")}
				img, err := parseBytes(e.bytes(), "pie")
				require.NoError(t, err)
				assert.Equal(t, "/lib/ld.so", img.Interp)
				assert.Equal(t, a.PIEBase, img.Segments[0].Addr)
			})
			t.Run("load-at", func(t *testing.T) {
				// A shared object (the dynamic loader) goes wherever mmap
				// put its first page; its own vaddrs may start off a page.
				e := minimal(a)
				e.typ = elf.ET_DYN
				e.entry = 0x140
				e.phdrs[0].vaddr = 0x40
				e.phdrs[0].off = 0x40
				e.phdrs[0].filesz = 0x2c0
				e.phdrs[0].memsz = 0x2c0
				e.phdrs = append(e.phdrs, phdr{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_W, off: 0x300, vaddr: 0x2300, filesz: 0x10, memsz: 0x1000})
				img, err := parseBytes(e.bytes(), "ld.so")
				require.NoError(t, err)
				assert.Equal(t, "", img.Interp)
				assert.Equal(t, uint64(0x4000), img.Span(), "from page 0 to the end of the page holding 0x3300")
				const at = 0x7ffff7fc3000
				moved, err := img.LoadAt(at)
				require.NoError(t, err)
				assert.Equal(t, uint64(at), moved.Bias)
				assert.Equal(t, uint64(at+0x140), moved.Entry)
				assert.Equal(t, uint64(at+0x40), moved.Segments[0].Addr)
				assert.Equal(t, uint64(at+0x2300), moved.Segments[1].Addr)
				assert.Equal(t, uint64(at+0x4000), moved.BrkStart)
				assert.Equal(t, img.Span(), moved.Span())
				_, err = img.LoadAt(at + 1)
				assert.ErrorContains(t, err, "not page-aligned")
				exec, err := parseBytes(minimal(a).bytes(), "prog")
				require.NoError(t, err)
				_, err = exec.LoadAt(at)
				assert.ErrorContains(t, err, "only an ET_DYN file")
			})
			t.Run("pt-phdr-fallback", func(t *testing.T) {
				// The program headers sit at 0x400, outside the PT_LOAD's file
				// range [0, 0x300): AT_PHDR comes from PT_PHDR.
				e := minimal(a)
				e.phoff = 0x400
				e.phdrs = append([]phdr{{typ: elf.PT_PHDR, flags: elf.PF_R, off: 0x400, vaddr: 0x500400, filesz: 112, memsz: 112}}, e.phdrs...)
				img, err := parseBytes(e.bytes(), "prog")
				require.NoError(t, err)
				assert.Equal(t, uint64(0x500400), img.PhdrAddr)
				assert.Equal(t, 2, img.Phnum)
				assert.Equal(t, 1, img.Segments[0].Index)
			})
			t.Run("sorted-and-empty-skipped", func(t *testing.T) {
				e := minimal(a)
				e.phdrs = []phdr{
					{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_W, off: 0x1100, vaddr: 0x601100, filesz: 0x20, memsz: 0x30},
					{typ: elf.PT_LOAD, flags: elf.PF_R, off: 0x1000, vaddr: 0x700000, filesz: 0, memsz: 0},
					{typ: elf.PT_GNU_STACK, flags: elf.PF_R | elf.PF_W},
					{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_X, off: 0, vaddr: base, filesz: 0x300, memsz: 0x300},
				}
				e.size = 0x1200
				img, err := parseBytes(e.bytes(), "prog")
				require.NoError(t, err)
				require.Len(t, img.Segments, 2)
				assert.Equal(t, 3, img.Segments[0].Index)
				assert.Equal(t, uint64(base), img.Segments[0].Addr)
				assert.Equal(t, 0, img.Segments[1].Index)
				assert.Equal(t, uint64(0x602000), img.BrkStart)
				assert.Nil(t, img.SegmentAt(0x400300), "between segments")
				assert.Equal(t, 0, img.SegmentAt(0x60112f).Index)
				assert.Nil(t, img.SegmentAt(0x601130))
			})
		})
	}
}

// TestParseRejects covers every rejection, for both arches, checking the
// sentinel, the *FormatError and the whole message.
func TestParseRejects(t *testing.T) {
	type tc struct {
		name   string
		file   func(a *arch.Arch) []byte
		is     error
		msg    string // with %s for the arch's stack region where needed
		offset int64
	}
	mod := func(f func(e *elfFile, a *arch.Arch)) func(a *arch.Arch) []byte {
		return func(a *arch.Arch) []byte {
			e := minimal(a)
			f(&e, a)
			return e.bytes()
		}
	}
	raw := func(b []byte) func(*arch.Arch) []byte { return func(*arch.Arch) []byte { return b } }
	cases := []tc{
		{"empty", raw(nil), loader.ErrNotELF, "loader: prog: empty file (not an ELF file)", -1},
		{"script", raw([]byte("#!/bin/sh\necho hello\n")), loader.ErrNotELF, `loader: prog: not an ELF file (a "#!" script)`, 0},
		{"text", raw([]byte("hello world\n")), loader.ErrNotELF, "loader: prog: not an ELF file", 0},
		{"three-bytes", raw([]byte("\x7fEL")), loader.ErrNotELF, "loader: prog: not an ELF file", 0},
		{"truncated-ident", raw([]byte("\x7fELF\x02\x01")), loader.ErrTruncated, "loader: prog: truncated ELF file (6 bytes)", 0},
		{"truncated-header", func(a *arch.Arch) []byte { return minimal(a).bytes()[:40] }, loader.ErrTruncated,
			"loader: prog: truncated ELF file: the header needs 64 bytes, the file has 40", 0},
		{"32-bit", mod(func(e *elfFile, _ *arch.Arch) { e.class = byte(elf.ELFCLASS32) }), loader.ErrNot64Bit,
			"loader: prog: 32-bit ELF (only ELF64 is supported)", 4},
		{"bad-class", mod(func(e *elfFile, _ *arch.Arch) { e.class = 7 }), loader.ErrMalformed,
			"loader: prog: malformed ELF header: invalid class 7", 4},
		{"big-endian", mod(func(e *elfFile, _ *arch.Arch) { e.data = byte(elf.ELFDATA2MSB) }), loader.ErrBigEndian,
			"loader: prog: big-endian ELF (only little-endian is supported)", 5},
		{"bad-data", mod(func(e *elfFile, _ *arch.Arch) { e.data = 9 }), loader.ErrMalformed,
			"loader: prog: malformed ELF header: invalid data encoding 9", 5},
		{"bad-version", mod(func(e *elfFile, _ *arch.Arch) { e.version = 2 }), loader.ErrMalformed,
			"loader: prog: malformed ELF header: invalid version 2", 6},
		{"riscv64", mod(func(e *elfFile, _ *arch.Arch) { e.machine = elf.EM_RISCV }), loader.ErrUnsupportedMachine,
			`loader: prog: unsupported machine "riscv64" (want amd64 or arm64)`, 18},
		{"i386", mod(func(e *elfFile, _ *arch.Arch) { e.machine = elf.EM_386 }), loader.ErrUnsupportedMachine,
			`loader: prog: unsupported machine "386" (want amd64 or arm64)`, 18},
		{"unknown-machine", mod(func(e *elfFile, _ *arch.Arch) { e.machine = elf.EM_IA_64 }), loader.ErrUnsupportedMachine,
			`loader: prog: unsupported machine "EM_IA_64" (want amd64 or arm64)`, 18},
		{"ET_REL", mod(func(e *elfFile, _ *arch.Arch) { e.typ = elf.ET_REL }), loader.ErrNotExecutable,
			"loader: prog: not an executable: relocatable object file (ET_REL)", 16},
		{"ET_CORE", mod(func(e *elfFile, _ *arch.Arch) { e.typ = elf.ET_CORE }), loader.ErrNotExecutable,
			"loader: prog: not an executable: core dump (ET_CORE)", 16},
		{"unknown-type", mod(func(e *elfFile, _ *arch.Arch) { e.typ = 0xfe00 }), loader.ErrNotExecutable,
			"loader: prog: not an executable: e_type 0xfe00", 16},
		{"interp-not-terminated", mod(func(e *elfFile, _ *arch.Arch) {
			e.phdrs = append([]phdr{{typ: elf.PT_INTERP, flags: elf.PF_R, off: 0x200, vaddr: 0x400200, filesz: 27, memsz: 27}}, e.phdrs...)
			e.at = map[uint64][]byte{0x200: []byte("/lib64/ld-linux-x86-64.so.2")}
		}), loader.ErrNeedsInterpreter,
			`loader: prog: PT_INTERP path "/lib64/ld-linux-x86-64.so.2" is not NUL-terminated`, 64},
		{"interp-empty", mod(func(e *elfFile, _ *arch.Arch) {
			e.phdrs = append(e.phdrs, phdr{typ: elf.PT_INTERP, flags: elf.PF_R, off: 0x200, vaddr: 0x400200, filesz: 4, memsz: 4})
		}), loader.ErrNeedsInterpreter, "loader: prog: PT_INTERP names no file", 120},
		{"interp-too-long", mod(func(e *elfFile, _ *arch.Arch) {
			e.phdrs = append(e.phdrs, phdr{typ: elf.PT_INTERP, flags: elf.PF_R, off: 0x200, vaddr: 0x400200, filesz: 4097, memsz: 4097})
		}), loader.ErrNeedsInterpreter, "loader: prog: PT_INTERP of 4097 bytes: an interpreter path takes 2 to 4096", 120},
		{"interp-past-eof", mod(func(e *elfFile, _ *arch.Arch) {
			e.phdrs = append(e.phdrs, phdr{typ: elf.PT_INTERP, off: 0x1000000, filesz: 28})
		}), loader.ErrTruncated,
			"loader: prog: truncated ELF file: PT_INTERP [0x1000000, 0x100001c) past end of file (size 768)", 120},
		{"phentsize", mod(func(e *elfFile, _ *arch.Arch) { e.phentsize = 32 }), loader.ErrMalformed,
			"loader: prog: malformed ELF header: e_phentsize 32, want 56", 54},
		{"too-many-phdrs", mod(func(e *elfFile, _ *arch.Arch) { e.phnum = 74 }), loader.ErrMalformed,
			"loader: prog: malformed ELF header: 74 program headers take 4144 bytes, more than a page", 56},
		{"phdrs-past-eof", mod(func(e *elfFile, _ *arch.Arch) { e.phnum = 20 }), loader.ErrTruncated,
			"loader: prog: truncated ELF file: program headers [0x40, 0x4a0) past end of file (size 768)", 32},
		{"phoff-past-eof", mod(func(e *elfFile, _ *arch.Arch) { e.phoff = 1 << 62; e.phdrs = nil; e.phnum = 1; e.size = 0x300 }), loader.ErrTruncated,
			"loader: prog: truncated ELF file: program headers [0x4000000000000000, 0x4000000000000038) past end of file (size 768)", 32},
		{"no-phdrs", mod(func(e *elfFile, _ *arch.Arch) { e.phdrs = nil; e.size = 0x300 }), loader.ErrBadSegment,
			"loader: prog: no program headers, so no PT_LOAD segments", 56},
		{"no-pt-load", mod(func(e *elfFile, _ *arch.Arch) {
			e.phdrs = []phdr{{typ: elf.PT_NOTE, off: 0x100, filesz: 0x10}, {typ: elf.PT_GNU_STACK, flags: elf.PF_R | elf.PF_W}}
		}), loader.ErrBadSegment, "loader: prog: no PT_LOAD segments", -1},
		{"only-empty-pt-load", mod(func(e *elfFile, _ *arch.Arch) { e.phdrs[0].filesz, e.phdrs[0].memsz = 0, 0; e.size = 0x300 }),
			loader.ErrBadSegment, "loader: prog: no PT_LOAD segments", -1},
		{"load-past-eof", mod(func(e *elfFile, _ *arch.Arch) {
			e.phdrs = append(e.phdrs, phdr{}, phdr{typ: elf.PT_LOAD, flags: elf.PF_R, off: 0x2000, vaddr: 0x602000, filesz: 0x800, memsz: 0x800})
			e.phdrs[1].typ = elf.PT_NULL
			e.size = 0x2400
		}), loader.ErrBadSegment, "loader: prog: PT_LOAD 2: file range [0x2000, 0x2800) past end of file (size 9216)", 176},
		{"load-offset-overflow", mod(func(e *elfFile, _ *arch.Arch) { e.phdrs[0].off = ^uint64(0) - 0xfff; e.size = 0x300 }),
			loader.ErrBadSegment, "loader: prog: PT_LOAD 0: file range [0xfffffffffffff000, 0xfffffffffffff300) past end of file (size 768)", 64},
		{"filesz-gt-memsz", mod(func(e *elfFile, _ *arch.Arch) { e.phdrs[0].memsz = 0x200 }), loader.ErrBadSegment,
			"loader: prog: PT_LOAD 0: filesz 0x300 larger than memsz 0x200", 64},
		{"incongruent", mod(func(e *elfFile, _ *arch.Arch) { e.phdrs[0].vaddr = base + 0x10; e.entry = base + 0x110 }), loader.ErrBadSegment,
			"loader: prog: PT_LOAD 0: vaddr 0x400010 and offset 0x0 differ modulo the page size 0x1000", 64},
		{"overlap", mod(func(e *elfFile, _ *arch.Arch) {
			e.phdrs = append(e.phdrs, phdr{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_W, off: 0x200, vaddr: base + 0x200, filesz: 0x100, memsz: 0x100})
		}), loader.ErrBadSegment, "loader: prog: PT_LOAD 1: [0x400200, 0x400300) overlaps PT_LOAD 0 [0x400000, 0x401000)", 120},
		{"overlap-reversed", mod(func(e *elfFile, _ *arch.Arch) {
			// The earlier header maps [0x400200, 0x400300), inside the later
			// one: the error names the later header.
			e.phdrs = append([]phdr{{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_W, off: 0x200, vaddr: base + 0x200, filesz: 0x100, memsz: 0x100}}, e.phdrs...)
		}), loader.ErrBadSegment, "loader: prog: PT_LOAD 1: [0x400000, 0x401000) overlaps PT_LOAD 0 [0x400200, 0x400300)", 120},
		{"huge-memsz", mod(func(e *elfFile, _ *arch.Arch) { e.phdrs[0].memsz = 1 << 40 }), loader.ErrBadSegment,
			"loader: prog: PT_LOAD 0: memsz 0x10000000000 is larger than the 1024 MiB image limit", 64},
		{"wraparound", mod(func(e *elfFile, _ *arch.Arch) {
			e.phdrs[0].vaddr = 0xfffffffffffff000
			e.entry = 0xfffffffffffff100
		}), loader.ErrBadSegment, "loader: prog: PT_LOAD 0: vaddr 0xfffffffffffff000 + memsz 0x1000 wraps around the address space", 64},
		{"in-stack", mod(func(e *elfFile, a *arch.Arch) {
			e.phdrs[0].vaddr = a.StackTop - 0x1000
			e.entry = a.StackTop - 0xf00
		}), loader.ErrBadSegment, "loader: prog: PT_LOAD 0: [%#x, %#x) reaches the stack region [%#x, %#x)", 64},
		{"total-too-large", mod(func(e *elfFile, _ *arch.Arch) {
			e.phdrs = append(e.phdrs,
				phdr{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_W, vaddr: 0x10000000, memsz: 600 << 20},
				phdr{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_W, vaddr: 0x40000000, memsz: 600 << 20})
		}), loader.ErrBadSegment, "loader: prog: PT_LOAD 2: PT_LOAD segments take more than the 1024 MiB image limit", 176},
		{"entry-outside", mod(func(e *elfFile, _ *arch.Arch) { e.entry = 0x500000 }), loader.ErrBadEntry,
			"loader: prog: bad entry point 0x500000: not in an executable PT_LOAD segment", 24},
		{"entry-not-exec", mod(func(e *elfFile, _ *arch.Arch) {
			e.phdrs = append(e.phdrs, phdr{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_W, off: 0x200, vaddr: 0x600200, filesz: 0x100, memsz: 0x100})
			e.entry = 0x600210
		}), loader.ErrBadEntry, "loader: prog: bad entry point 0x600210: not in an executable PT_LOAD segment", 24},
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					img, err := parseBytes(c.file(a), "prog")
					require.Error(t, err)
					assert.Nil(t, img)
					assert.ErrorIs(t, err, c.is)
					var fe *loader.FormatError
					require.ErrorAs(t, err, &fe)
					assert.Equal(t, "prog", fe.Path)
					assert.Equal(t, c.offset, fe.Offset)
					assert.Same(t, c.is, fe.Err)
					want := c.msg
					if c.name == "in-stack" {
						low := a.StackTop - a.StackSize
						want = fmt.Sprintf(c.msg, a.StackTop-0x1000, a.StackTop, low, a.StackTop)
					}
					assert.Equal(t, want, err.Error())
					assert.Equal(t, want, "loader: prog: "+fe.Msg)
				})
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()

	_, err := loader.Open(dir)
	assert.ErrorIs(t, err, loader.ErrNotRegular)
	assert.Equal(t, "loader: "+dir+": is a directory, not an executable file", err.Error())

	// A FIFO is refused at once, not after waiting for a writer.
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	done := make(chan error, 1)
	go func() { _, err := loader.Open(fifo); done <- err }()
	select {
	case err = <-done:
		assert.ErrorIs(t, err, loader.ErrNotRegular)
	case <-time.After(10 * time.Second):
		t.Fatal("loader.Open waits on a FIFO")
	}

	_, err = loader.Open(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Equal(t, "loader: open "+filepath.Join(dir, "missing")+": no such file or directory", err.Error())

	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o755))
	_, err = loader.Open(empty)
	assert.ErrorIs(t, err, loader.ErrNotELF)
	assert.Equal(t, "loader: "+empty+": empty file (not an ELF file)", err.Error())

	script := filepath.Join(dir, "hello.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho hello\n"), 0o755))
	_, err = loader.Open(script)
	assert.ErrorIs(t, err, loader.ErrNotELF)
	assert.Equal(t, "loader: "+script+": not an ELF file (a \"#!\" script)", err.Error())

	for _, a := range arch.All() {
		p := filepath.Join(dir, a.Name)
		require.NoError(t, os.WriteFile(p, minimal(a).bytes(), 0o755))
		img, err := loader.Open(p)
		require.NoError(t, err, a.Name)
		assert.Same(t, a, img.Arch)
	}
}

func TestParseReadError(t *testing.T) {
	b := minimal(arch.AMD64).bytes()
	_, err := loader.Parse(bytes.NewReader(b), int64(len(b))+10, "prog")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "loader: prog: read: ")
	var fe *loader.FormatError
	assert.False(t, errors.As(err, &fe), "an I/O failure is not a format error")

	_, err = loader.Parse(bytes.NewReader(b), loader.MaxFileSize+1, "prog")
	assert.ErrorIs(t, err, loader.ErrTooLarge)
}

// TestParseMutations flips every byte of the headers of a valid file to a
// few values: Parse must return an image or an error, never panic.
func TestParseMutations(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			e := minimal(a)
			e.phdrs = append(e.phdrs,
				phdr{typ: elf.PT_LOAD, flags: elf.PF_R | elf.PF_W, off: 0x200, vaddr: 0x601200, filesz: 0x100, memsz: 0x2000},
				phdr{typ: elf.PT_PHDR, flags: elf.PF_R, off: 64, vaddr: base + 64, filesz: 168, memsz: 168})
			orig := e.bytes()
			n := 0
			for i := 0; i < 64+56*len(e.phdrs); i++ {
				for _, v := range []byte{0, 1, 0x7f, 0x80, 0xff} {
					b := bytes.Clone(orig)
					b[i] = v
					img, err := parseBytes(b, "m")
					if err == nil {
						n++
						exerciseImage(t, img)
					} else {
						var fe *loader.FormatError
						assert.ErrorAs(t, err, &fe)
					}
				}
			}
			assert.Positive(t, n, "some mutations leave a valid file")
		})
	}
}

// exerciseImage calls the read-only methods of img on addresses around its
// segments, as a fuzzer would.
func exerciseImage(t *testing.T, img *loader.Image) {
	t.Helper()
	for _, s := range img.Segments {
		for _, pc := range []uint64{s.Addr, s.Addr + s.MemSize/2, s.End() - 1, s.End()} {
			img.Symbolize(pc)
			img.FuncAt(pc)
			buf := make([]byte, 16)
			if img.ReadMem(pc, buf) == nil && img.SegmentAt(pc) == nil {
				t.Errorf("ReadMem(%#x) succeeded outside every segment", pc)
			}
		}
	}
	img.Lookup("main.main")
	img.Funcs()
	for _, pc := range img.LineAddrs("main.go", 8) {
		if _, ok := img.FuncAt(pc); !ok {
			t.Errorf("LineAddrs gave %#x, in no function", pc)
		}
	}
	if _, err := loader.NewStack(img, loader.StackConfig{Argv: []string{"m"}}); err != nil {
		t.Errorf("NewStack: %v", err)
	}
}
