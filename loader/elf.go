package loader

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"syscall"

	"github.com/gorunemu/gorunemu/arch"
)

// Limits that keep hostile or absurd files from costing memory. A Go
// executable is a few MiB of file and a few more of memory.
const (
	// MaxFileSize is the largest file Open and Parse read.
	MaxFileSize = 1 << 30
	// MaxImageSize bounds the memory the PT_LOAD segments take, counted in
	// whole pages.
	MaxImageSize = 1 << 30
)

// String formats p as /proc/self/maps does: "r-x", "rw-".
func (p Prot) String() string {
	b := []byte("---")
	if p&PROT_READ != 0 {
		b[0] = 'r'
	}
	if p&PROT_WRITE != 0 {
		b[1] = 'w'
	}
	if p&PROT_EXEC != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// protOf converts ELF p_flags to a Prot.
func protOf(f elf.ProgFlag) Prot {
	var p Prot
	if f&elf.PF_R != 0 {
		p |= PROT_READ
	}
	if f&elf.PF_W != 0 {
		p |= PROT_WRITE
	}
	if f&elf.PF_X != 0 {
		p |= PROT_EXEC
	}
	return p
}

// Segment is one PT_LOAD program header, validated and relocated by the
// image's bias. The loader maps [Addr, Addr+MemSize) with Prot, copies
// Data to Addr and leaves the rest zero, as Linux does: the bytes between
// FileSize and MemSize are .bss. Segments never overlap, but two of them
// may share a page (the kernel then maps the later one over the shared
// page). Segments with a zero p_memsz are left out.
type Segment struct {
	// Addr is the load address (p_vaddr + Image.Bias).
	Addr uint64
	// MemSize is p_memsz; FileSize is p_filesz (never more than MemSize).
	MemSize  uint64
	FileSize uint64
	// Off is p_offset, the file offset of the segment's first byte.
	Off uint64
	// Data holds the FileSize bytes of the file at Off. It shares memory
	// with the Image: do not modify it.
	Data []byte
	// Prot is what p_flags allows.
	Prot Prot
	// Index is the position of the program header in the program header
	// table, as readelf -l numbers them and as error messages cite it.
	Index int
}

// End returns the address just past the segment in memory.
func (s *Segment) End() uint64 { return s.Addr + s.MemSize }

// Image is a validated static ELF64 executable for one of the supported
// arches: what Linux's load_elf_binary needs to map it, plus what gorunemu
// needs to name addresses in it.
type Image struct {
	// Path is the file name the image was opened with.
	Path string
	// Arch is the guest architecture e_machine names.
	Arch *arch.Arch
	// Type is ET_EXEC or ET_DYN (a PIE, a static-pie or a shared object
	// such as the dynamic loader).
	Type elf.Type
	// Interp is the path the PT_INTERP header names (the dynamic loader,
	// "/lib64/ld-linux-x86-64.so.2"), or "" for a static executable.
	Interp string
	// Bias is added to every address in the file: 0 for ET_EXEC; for
	// ET_DYN it is Arch.PIEBase less the first PT_LOAD's p_vaddr, rounded
	// down to a page, which is where load_elf_binary puts a PIE that has
	// an interpreter when ASLR is off. (Linux maps a static-pie, having no
	// interpreter, in the mmap area instead: 0x7ffff7c00000 for the hello
	// fixture on an amd64 6.18 kernel. gorunemu keeps it at PIEBase, clear
	// of the mmap area.)
	Bias uint64
	// Entry is e_entry + Bias: where the first instruction runs.
	Entry uint64
	// Segments are the PT_LOAD segments sorted by address.
	Segments []Segment
	// PhdrAddr is the address of the program header table in memory
	// (AT_PHDR). Like Linux (5.18+, fs/binfmt_elf.c), it is computed from
	// the PT_LOAD whose file range contains e_phoff; when none does, the
	// PT_PHDR address is used; when there is neither it is 0.
	PhdrAddr uint64
	// Phent is e_phentsize (AT_PHENT; 56 for ELF64), Phnum is e_phnum
	// (AT_PHNUM).
	Phent int
	Phnum int
	// BrkStart is the initial program break: the end of the highest
	// segment, rounded up to a page.
	BrkStart uint64
	// GoVersion is the Go release that built the file, as debug/buildinfo
	// reports it ("go1.26.8"), or "" if it is not a Go executable.
	GoVersion string
	// Stripped reports that the file has no ELF symbol table (.symtab), as
	// after go build -ldflags=-s or strip(1). Function names still come
	// from .gopclntab; data symbols (runtime.m0, runtime.g0) are gone.
	Stripped bool
	// SymbolErr says why symbol tables that the file appears to have could
	// not be read (a corrupt section header table or .gopclntab), or is nil.
	// The image loads either way; only names are missing.
	SymbolErr error

	data []byte // the whole file
	syms *symbols
}

// Open reads the executable at path and validates it with Parse's rules.
// The file is read into memory once and closed before Open returns.
func Open(path string) (img *Image, err error) {
	// O_NONBLOCK: a FIFO given as the binary must not wait for a writer
	// before the checks below refuse it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			img, err = nil, fmt.Errorf("loader: %w", cerr)
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	if fi.IsDir() {
		return nil, formatErr(path, -1, ErrNotRegular, "is a directory, not an executable file")
	}
	if !fi.Mode().IsRegular() {
		return nil, formatErr(path, -1, ErrNotRegular, "not a regular file (mode %v)", fi.Mode())
	}
	if fi.Size() > MaxFileSize {
		return nil, formatErr(path, -1, ErrTooLarge, "file of %d bytes is larger than the %d MiB limit", fi.Size(), MaxFileSize>>20)
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("loader: %s: read: %w", path, err)
	}
	return parse(data, path, nil)
}

// Parse validates the size bytes of r as a static ELF64 executable and
// returns its Image; path only names it in errors and in Image.Path.
// It accepts exactly what gorunemu can run the way Linux would:
//
//   - ELF64, little-endian, e_machine x86-64 or AArch64;
//   - ET_EXEC or ET_DYN (PIE and static-pie); a PT_INTERP header must hold
//     a NUL-terminated path of at most PATH_MAX bytes (Image.Interp), as
//     load_elf_binary checks, or it is refused with ErrNeedsInterpreter;
//   - at least one PT_LOAD; each with p_filesz <= p_memsz, its file range
//     inside the file, p_vaddr ≡ p_offset modulo the page size, no address
//     wraparound, below the stack region of the arch, and not overlapping
//     another; all of them together at most MaxImageSize;
//   - e_entry inside an executable PT_LOAD.
//
// Every rejection is a *FormatError wrapping one of the Err* sentinels.
// Parse never panics, and it allocates no more than the file's size plus
// its symbol tables. The bytes are copied; r is not used afterwards.
func Parse(r io.ReaderAt, size int64, path string) (*Image, error) {
	if size < 0 {
		return nil, fmt.Errorf("loader: %s: negative size %d", path, size)
	}
	if size > MaxFileSize {
		return nil, formatErr(path, -1, ErrTooLarge, "file of %d bytes is larger than the %d MiB limit", size, MaxFileSize>>20)
	}
	data := make([]byte, size)
	if n, err := r.ReadAt(data, 0); n < len(data) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("loader: %s: read: %w", path, err)
	}
	return parse(data, path, nil)
}

// machineNames spells the ELF machines Go also targets the GOARCH way.
var machineNames = map[elf.Machine]string{
	elf.EM_386:       "386",
	elf.EM_ARM:       "arm",
	elf.EM_RISCV:     "riscv64",
	elf.EM_PPC64:     "ppc64le",
	elf.EM_S390:      "s390x",
	elf.EM_MIPS:      "mips64le",
	elf.EM_LOONGARCH: "loong64",
	elf.EM_SPARCV9:   "sparc64",
}

func machineName(m elf.Machine) string {
	if s, ok := machineNames[m]; ok {
		return s
	}
	return m.String()
}

// progHeader is an Elf64_Phdr with its index and file offset.
type progHeader struct {
	index  int
	off    int64 // where the header itself is in the file
	typ    elf.ProgType
	flags  elf.ProgFlag
	offset uint64
	vaddr  uint64
	filesz uint64
	memsz  uint64
	align  uint64
}

// parse validates data; base, if not nil, is where an ET_DYN file's first
// page goes instead of Arch.PIEBase.
func parse(data []byte, path string, base *uint64) (*Image, error) {
	size := uint64(len(data))
	if size == 0 {
		return nil, formatErr(path, -1, ErrNotELF, "empty file (not an ELF file)")
	}
	if size < 4 || !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		if bytes.HasPrefix(data, []byte("#!")) {
			return nil, formatErr(path, 0, ErrNotELF, "not an ELF file (a \"#!\" script)")
		}
		return nil, formatErr(path, 0, ErrNotELF, "not an ELF file")
	}
	if size < elf.EI_NIDENT {
		return nil, formatErr(path, 0, ErrTruncated, "truncated ELF file (%d bytes)", size)
	}
	switch c := elf.Class(data[elf.EI_CLASS]); c {
	case elf.ELFCLASS64:
	case elf.ELFCLASS32:
		return nil, formatErr(path, elf.EI_CLASS, ErrNot64Bit, "32-bit ELF (only ELF64 is supported)")
	default:
		return nil, formatErr(path, elf.EI_CLASS, ErrMalformed, "malformed ELF header: invalid class %d", uint8(c))
	}
	switch d := elf.Data(data[elf.EI_DATA]); d {
	case elf.ELFDATA2LSB:
	case elf.ELFDATA2MSB:
		return nil, formatErr(path, elf.EI_DATA, ErrBigEndian, "big-endian ELF (only little-endian is supported)")
	default:
		return nil, formatErr(path, elf.EI_DATA, ErrMalformed, "malformed ELF header: invalid data encoding %d", uint8(d))
	}
	if v := elf.Version(data[elf.EI_VERSION]); v != elf.EV_CURRENT {
		return nil, formatErr(path, elf.EI_VERSION, ErrMalformed, "malformed ELF header: invalid version %d", uint8(v))
	}
	if size < elf64EhdrSize {
		return nil, formatErr(path, 0, ErrTruncated, "truncated ELF file: the header needs %d bytes, the file has %d", elf64EhdrSize, size)
	}

	le := binary.LittleEndian
	typ := elf.Type(le.Uint16(data[16:]))
	machine := elf.Machine(le.Uint16(data[18:]))
	entry := le.Uint64(data[24:])
	phoff := le.Uint64(data[32:])
	phentsize := le.Uint16(data[54:])
	phnum := le.Uint16(data[56:])

	switch typ {
	case elf.ET_EXEC, elf.ET_DYN:
	case elf.ET_REL:
		return nil, formatErr(path, 16, ErrNotExecutable, "not an executable: relocatable object file (ET_REL)")
	case elf.ET_CORE:
		return nil, formatErr(path, 16, ErrNotExecutable, "not an executable: core dump (ET_CORE)")
	default:
		return nil, formatErr(path, 16, ErrNotExecutable, "not an executable: e_type %#x", uint16(typ))
	}
	a, ok := arch.ByMachine(machine)
	if !ok {
		return nil, formatErr(path, 18, ErrUnsupportedMachine, "unsupported machine %q (want amd64 or arm64)", machineName(machine))
	}
	if a.PtrSize != 8 {
		return nil, formatErr(path, 18, ErrUnsupportedMachine, "arch %s has %d-byte pointers, the loader handles only 8", a.Name, a.PtrSize)
	}
	if phentsize != elf64PhdrSize {
		return nil, formatErr(path, 54, ErrMalformed, "malformed ELF header: e_phentsize %d, want %d", phentsize, elf64PhdrSize)
	}
	if phnum == 0 {
		return nil, formatErr(path, 56, ErrBadSegment, "no program headers, so no PT_LOAD segments")
	}
	// load_elf_phdrs refuses tables larger than a page (ELF_MIN_ALIGN).
	phsize := uint64(phnum) * elf64PhdrSize
	if phsize > a.PageSize {
		return nil, formatErr(path, 56, ErrMalformed, "malformed ELF header: %d program headers take %d bytes, more than a page", phnum, phsize)
	}
	if phoff > size || phsize > size-phoff {
		return nil, formatErr(path, 32, ErrTruncated, "truncated ELF file: program headers [%#x, %#x) past end of file (size %d)", phoff, phoff+phsize, size)
	}

	phdrs := make([]progHeader, phnum)
	for i := range phdrs {
		o := phoff + uint64(i)*elf64PhdrSize
		b := data[o : o+elf64PhdrSize]
		phdrs[i] = progHeader{
			index:  i,
			off:    int64(o),
			typ:    elf.ProgType(le.Uint32(b[0:])),
			flags:  elf.ProgFlag(le.Uint32(b[4:])),
			offset: le.Uint64(b[8:]),
			vaddr:  le.Uint64(b[16:]),
			filesz: le.Uint64(b[32:]),
			memsz:  le.Uint64(b[40:]),
			align:  le.Uint64(b[48:]),
		}
	}
	var interp string
	for _, ph := range phdrs {
		if ph.typ == elf.PT_INTERP {
			name, err := interpName(path, data, ph)
			if err != nil {
				return nil, err
			}
			interp = name
			break // load_elf_binary takes the first
		}
	}

	img := &Image{
		Interp: interp,
		Path:   path,
		Arch:   a,
		Type:   typ,
		Phent:  int(phentsize),
		Phnum:  int(phnum),
		data:   data,
	}
	if typ == elf.ET_DYN {
		for _, ph := range phdrs {
			if ph.typ == elf.PT_LOAD {
				// load_elf_binary: ELF_PAGESTART(ELF_ET_DYN_BASE - vaddr)
				// for the executable; an interpreter's first page goes
				// where mmap put it.
				img.Bias = (a.PIEBase - ph.vaddr) &^ (a.PageSize - 1)
				if base != nil {
					img.Bias = *base - ph.vaddr&^(a.PageSize-1)
				}
				break
			}
		}
	}
	if err := img.loadSegments(phdrs, size); err != nil {
		return nil, err
	}

	img.Entry = entry + img.Bias
	if !img.executable(img.Entry) {
		return nil, formatErr(path, 24, ErrBadEntry, "bad entry point %#x: not in an executable PT_LOAD segment", img.Entry)
	}

	found := false
	for _, ph := range phdrs {
		if ph.typ == elf.PT_LOAD && ph.offset <= phoff && phoff-ph.offset < ph.filesz {
			img.PhdrAddr = phoff - ph.offset + ph.vaddr + img.Bias
			found = true
		}
	}
	if !found {
		for _, ph := range phdrs {
			if ph.typ == elf.PT_PHDR {
				img.PhdrAddr = ph.vaddr + img.Bias
				break
			}
		}
	}

	img.GoVersion = goVersion(data)
	img.loadSymbols()
	return img, nil
}

// interpName returns the path in the PT_INTERP program header ph, which
// load_elf_binary wants NUL-terminated and at most PATH_MAX bytes long.
func interpName(path string, data []byte, ph progHeader) (string, error) {
	size := uint64(len(data))
	switch {
	case ph.filesz < 2 || ph.filesz > pathMax:
		return "", formatErr(path, ph.off, ErrNeedsInterpreter, "PT_INTERP of %d bytes: an interpreter path takes 2 to %d", ph.filesz, pathMax)
	case ph.offset > size || ph.filesz > size-ph.offset:
		return "", formatErr(path, ph.off, ErrTruncated, "truncated ELF file: PT_INTERP [%#x, %#x) past end of file (size %d)", ph.offset, ph.offset+ph.filesz, size)
	}
	name := data[ph.offset : ph.offset+ph.filesz]
	if name[len(name)-1] != 0 {
		return "", formatErr(path, ph.off, ErrNeedsInterpreter, "PT_INTERP path %q is not NUL-terminated", name)
	}
	name = name[:len(name)-1]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i] // the kernel opens the C string
	}
	if len(name) == 0 {
		return "", formatErr(path, ph.off, ErrNeedsInterpreter, "PT_INTERP names no file")
	}
	return string(name), nil
}

// LoadAt returns img as it is when an ET_DYN file is mapped with its first
// page at base, as Linux maps an ELF interpreter wherever mmap puts it.
func (img *Image) LoadAt(base uint64) (*Image, error) {
	if img.Type != elf.ET_DYN {
		return nil, fmt.Errorf("loader: %s: only an ET_DYN file can be loaded anywhere, this one is %v", img.Path, img.Type)
	}
	if base%img.Arch.PageSize != 0 {
		return nil, fmt.Errorf("loader: %s: load address %#x is not page-aligned", img.Path, base)
	}
	return parse(img.data, img.Path, &base)
}

// Span is the size of the address range the segments take, from the first
// one's page to the end of the last one's: what load_elf_interp reserves
// in one mmap (total_mapping_size).
func (img *Image) Span() uint64 {
	page := img.Arch.PageSize
	first, last := img.Segments[0], img.Segments[len(img.Segments)-1]
	return (last.End()+page-1)&^(page-1) - first.Addr&^(page-1)
}

// loadSegments validates the PT_LOAD headers and fills img.Segments and
// img.BrkStart.
func (img *Image) loadSegments(phdrs []progHeader, size uint64) error {
	a := img.Arch
	page := a.PageSize
	stackLow := a.StackTop - a.StackSize
	var total uint64
	var segs []Segment
	for _, ph := range phdrs {
		if ph.typ != elf.PT_LOAD {
			continue
		}
		p, i := img.Path, ph.index
		if ph.filesz > ph.memsz {
			return segmentErr(p, ph.off, i, "filesz %#x larger than memsz %#x", ph.filesz, ph.memsz)
		}
		if ph.offset > size || ph.filesz > size-ph.offset {
			return segmentErr(p, ph.off, i, "file range [%#x, %#x) past end of file (size %d)", ph.offset, ph.offset+ph.filesz, size)
		}
		if ph.vaddr%page != ph.offset%page {
			return segmentErr(p, ph.off, i, "vaddr %#x and offset %#x differ modulo the page size %#x", ph.vaddr, ph.offset, page)
		}
		if ph.memsz == 0 {
			continue
		}
		if ph.memsz > MaxImageSize {
			return segmentErr(p, ph.off, i, "memsz %#x is larger than the %d MiB image limit", ph.memsz, MaxImageSize>>20)
		}
		addr := ph.vaddr + img.Bias
		if ph.vaddr+ph.memsz < ph.vaddr || addr+ph.memsz < addr {
			return segmentErr(p, ph.off, i, "vaddr %#x + memsz %#x wraps around the address space", ph.vaddr, ph.memsz)
		}
		if addr+ph.memsz > stackLow {
			return segmentErr(p, ph.off, i, "[%#x, %#x) reaches the stack region [%#x, %#x)", addr, addr+ph.memsz, stackLow, a.StackTop)
		}
		// Whole pages, as they will be mapped.
		total += (addr+ph.memsz+page-1)&^(page-1) - addr&^(page-1)
		if total > MaxImageSize {
			return segmentErr(p, ph.off, i, "PT_LOAD segments take more than the %d MiB image limit", MaxImageSize>>20)
		}
		segs = append(segs, Segment{
			Addr:     addr,
			MemSize:  ph.memsz,
			FileSize: ph.filesz,
			Off:      ph.offset,
			Data:     img.data[ph.offset : ph.offset+ph.filesz : ph.offset+ph.filesz],
			Prot:     protOf(ph.flags),
			Index:    ph.index,
		})
	}
	if len(segs) == 0 {
		return formatErr(img.Path, -1, ErrBadSegment, "no PT_LOAD segments")
	}
	slices.SortStableFunc(segs, func(x, y Segment) int {
		switch {
		case x.Addr < y.Addr:
			return -1
		case x.Addr > y.Addr:
			return 1
		}
		return 0
	})
	for k := 1; k < len(segs); k++ {
		prev, s := &segs[k-1], &segs[k]
		if s.Addr < prev.End() {
			later, earlier := s, prev
			if prev.Index > s.Index {
				later, earlier = prev, s
			}
			return segmentErr(img.Path, phdrs[later.Index].off, later.Index, "[%#x, %#x) overlaps PT_LOAD %d [%#x, %#x)",
				later.Addr, later.End(), earlier.Index, earlier.Addr, earlier.End())
		}
	}
	img.Segments = segs
	last := segs[len(segs)-1]
	img.BrkStart = (last.End() + page - 1) &^ (page - 1)
	return nil
}

// executable reports whether addr lies in a segment with PROT_EXEC.
func (img *Image) executable(addr uint64) bool {
	s := img.SegmentAt(addr)
	return s != nil && s.Prot&PROT_EXEC != 0
}

// SegmentAt returns the segment whose memory range contains addr, or nil.
func (img *Image) SegmentAt(addr uint64) *Segment {
	i, _ := slices.BinarySearchFunc(img.Segments, addr, func(s Segment, a uint64) int {
		if s.Addr > a {
			return 1
		}
		return -1
	})
	// i is the first segment starting above addr.
	if i == 0 {
		return nil
	}
	s := &img.Segments[i-1]
	if addr < s.End() {
		return s
	}
	return nil
}

// ReadMem copies the bytes at address addr into b as they are right after
// loading: file bytes for [Addr, Addr+FileSize) of a segment, zeros for
// the rest of it. It fails if any byte of the range is in no segment.
func (img *Image) ReadMem(addr uint64, b []byte) error {
	for len(b) > 0 {
		s := img.SegmentAt(addr)
		if s == nil {
			return fmt.Errorf("loader: %s: address %#x is in no segment", img.Path, addr)
		}
		off := addr - s.Addr
		n := uint64(len(b))
		if n > s.MemSize-off {
			n = s.MemSize - off
		}
		var c uint64
		if off < s.FileSize {
			c = uint64(copy(b[:n], s.Data[off:]))
		}
		clear(b[c:n])
		b = b[n:]
		addr += n
	}
	return nil
}

// goVersion returns the Go version recorded in data by the Go linker, or
// "" if there is none. debug/buildinfo is defensive, but this runs on
// untrusted input, so a panic counts as "not a Go executable".
func goVersion(data []byte) (v string) {
	if sectionHeadersFit(data) != nil {
		return "" // buildinfo reads section headers through debug/elf
	}
	defer func() {
		if recover() != nil {
			v = ""
		}
	}()
	bi, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		return ""
	}
	return bi.GoVersion
}

// errNoSection marks a section the file does not have.
var errNoSection = errors.New("no such section")

// section returns the file bytes of the named section, bounded by the file
// size, and its address.
func sectionData(f *elf.File, data []byte, name string) ([]byte, uint64, error) {
	s := f.Section(name)
	if s == nil {
		return nil, 0, errNoSection
	}
	if s.Type == elf.SHT_NOBITS {
		return nil, 0, fmt.Errorf("section %s has no file contents", name)
	}
	if s.Flags&elf.SHF_COMPRESSED != 0 {
		return nil, 0, fmt.Errorf("section %s is compressed", name)
	}
	if s.Offset > uint64(len(data)) || s.Size > uint64(len(data))-s.Offset {
		return nil, 0, fmt.Errorf("section %s [%#x, %#x) is past end of file (size %d)", name, s.Offset, s.Offset+s.Size, len(data))
	}
	return data[s.Offset : s.Offset+s.Size : s.Offset+s.Size], s.Addr, nil
}
