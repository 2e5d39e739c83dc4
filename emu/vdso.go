package emu

import (
	"debug/elf"
	"encoding/binary"
	"fmt"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/syscalls"
)

// The vDSO: the small shared object Linux maps into every process so that
// reading the clock needs no syscall (vdso(7)); AT_SYSINFO_EHDR points at
// it. The Go runtime and the C library look its functions up by name and
// version through its dynamic symbol table, so it is a real ELF shared
// object, built here once per arch and realtime base: ELF header, program
// headers (PT_LOAD, PT_DYNAMIC), a SysV hash table, .dynsym, .dynstr,
// symbol versions (.gnu.version, .gnu.version_d), .dynamic, the code
// (vdso_code.go) and section headers for debuggers. Linux names the
// functions __vdso_* with version LINUX_2.6 on x86-64 and __kernel_* with
// LINUX_2.6.39 on arm64.

const vdsoSoname = "linux-vdso.so.1"

// vdsoVersion is the symbol version of the vDSO's functions on a.
func vdsoVersion(a *arch.Arch) string {
	if a == arch.AMD64 {
		return "LINUX_2.6"
	}
	return "LINUX_2.6.39"
}

// buildVDSO returns the vDSO image for a, whose CLOCK_REALTIME is
// realtimeBase ns after the virtual clock, and its functions' offsets by
// name.
func buildVDSO(a *arch.Arch, realtimeBase int64) ([]byte, error) {
	var code *asm
	var funcs []vdsoFunc
	machine := elf.EM_X86_64
	if a == arch.AMD64 {
		code, funcs = amd64VDSO()
	} else {
		code, funcs = arm64VDSO()
		machine = elf.EM_AARCH64
	}
	code.b = binary.LittleEndian.AppendUint64(code.b, uint64(realtimeBase))
	text, err := code.finish()
	if err != nil {
		return nil, err
	}

	le := binary.LittleEndian
	// Strings: the soname, the version, then the symbol names.
	strtab := []byte{0}
	str := func(s string) uint32 {
		off := uint32(len(strtab))
		strtab = append(append(strtab, s...), 0)
		return off
	}
	sonameOff, versionOff := str(vdsoSoname), str(vdsoVersion(a))
	type sym struct {
		name            uint32
		bind            elf.SymBind
		textValue, size int // offset in text, length
	}
	// A function runs to the next one, the last to the realtime base.
	starts := []int{code.labels["base"]}
	for _, f := range funcs {
		starts = append(starts, code.labels[f.label])
	}
	sizeOf := func(at int) int {
		end := code.labels["base"]
		for _, s := range starts {
			if s > at && s < end {
				end = s
			}
		}
		return end - at
	}
	syms := []sym{{}} // the null symbol
	for _, f := range funcs {
		at := code.labels[f.label]
		syms = append(syms, sym{str(f.name), elf.STB_GLOBAL, at, sizeOf(at)})
		if f.alias != "" {
			syms = append(syms, sym{str(f.alias), elf.STB_WEAK, at, sizeOf(at)})
		}
	}
	shstr := []byte{0}
	shname := func(s string) uint32 {
		off := uint32(len(shstr))
		shstr = append(append(shstr, s...), 0)
		return off
	}

	// Layout.
	const ehdr, phent, nphdr = 64, 56, 2
	off := ehdr + phent*nphdr
	place := func(size, align int) int {
		off = (off + align - 1) &^ (align - 1)
		at := off
		off += size
		return at
	}
	n := len(syms)
	hashOff := place(4*(2+1+n), 8)
	symOff := place(24*n, 8)
	strOff := place(len(strtab), 1)
	versymOff := place(2*n, 2)
	verdefOff := place(2*28, 4)
	const ndyn = 11
	dynOff := place(16*ndyn, 8)
	textOff := place(len(text), 16)
	type section struct {
		name           uint32
		typ            elf.SectionType
		flags          elf.SectionFlag
		off, size      int
		link, info     uint32
		align, entsize uint64
	}
	secs := []section{
		{},
		{shname(".hash"), elf.SHT_HASH, elf.SHF_ALLOC, hashOff, 4 * (2 + 1 + n), 2, 0, 8, 4},
		{shname(".dynsym"), elf.SHT_DYNSYM, elf.SHF_ALLOC, symOff, 24 * n, 3, 1, 8, 24},
		{shname(".dynstr"), elf.SHT_STRTAB, elf.SHF_ALLOC, strOff, len(strtab), 0, 0, 1, 0},
		{shname(".gnu.version"), elf.SHT_GNU_VERSYM, elf.SHF_ALLOC, versymOff, 2 * n, 2, 0, 2, 2},
		{shname(".gnu.version_d"), elf.SHT_GNU_VERDEF, elf.SHF_ALLOC, verdefOff, 2 * 28, 3, 2, 4, 0},
		{shname(".dynamic"), elf.SHT_DYNAMIC, elf.SHF_ALLOC | elf.SHF_WRITE, dynOff, 16 * ndyn, 3, 0, 8, 16},
		{shname(".text"), elf.SHT_PROGBITS, elf.SHF_ALLOC | elf.SHF_EXECINSTR, textOff, len(text), 0, 0, 16, 0},
		{shname(".shstrtab"), elf.SHT_STRTAB, 0, 0, 0, 0, 0, 1, 0},
	}
	shstrOff := place(len(shstr), 1)
	secs[len(secs)-1].off, secs[len(secs)-1].size = shstrOff, len(shstr)
	shOff := place(64*len(secs), 8)
	img := make([]byte, off)
	// The PT_LOAD covers everything, section headers included, as the
	// kernel's vDSO: gdb reads the object from memory by its segments.
	loadSize := len(img)

	// ELF header.
	copy(img, elf.ELFMAG)
	img[elf.EI_CLASS], img[elf.EI_DATA], img[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le.PutUint16(img[16:], uint16(elf.ET_DYN))
	le.PutUint16(img[18:], uint16(machine))
	le.PutUint32(img[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(img[32:], ehdr)          // e_phoff
	le.PutUint64(img[40:], uint64(shOff)) // e_shoff
	le.PutUint16(img[52:], ehdr)
	le.PutUint16(img[54:], phent)
	le.PutUint16(img[56:], nphdr)
	le.PutUint16(img[58:], 64)
	le.PutUint16(img[60:], uint16(len(secs)))
	le.PutUint16(img[62:], uint16(len(secs)-1))
	phdr := func(i int, typ elf.ProgType, flags elf.ProgFlag, o, size, align int) {
		p := img[ehdr+phent*i:]
		le.PutUint32(p, uint32(typ))
		le.PutUint32(p[4:], uint32(flags))
		le.PutUint64(p[8:], uint64(o))
		le.PutUint64(p[16:], uint64(o))
		le.PutUint64(p[24:], uint64(o))
		le.PutUint64(p[32:], uint64(size))
		le.PutUint64(p[40:], uint64(size))
		le.PutUint64(p[48:], uint64(align))
	}
	phdr(0, elf.PT_LOAD, elf.PF_R|elf.PF_X, 0, loadSize, int(a.PageSize))
	phdr(1, elf.PT_DYNAMIC, elf.PF_R, dynOff, 16*ndyn, 8)

	// SysV hash: one bucket holding every symbol, chained down to 0.
	h := img[hashOff:]
	le.PutUint32(h, 1)
	le.PutUint32(h[4:], uint32(n))
	le.PutUint32(h[8:], uint32(n-1))
	for i := 1; i < n; i++ {
		le.PutUint32(h[12+4*i:], uint32(i-1))
	}
	// Symbols, all functions in .text (section 7), version 2.
	for i, s := range syms {
		e := img[symOff+24*i:]
		if i == 0 {
			continue
		}
		le.PutUint32(e, s.name)
		e[4] = byte(s.bind)<<4 | byte(elf.STT_FUNC)
		le.PutUint16(e[6:], 7)
		le.PutUint64(e[8:], uint64(textOff+s.textValue))
		le.PutUint64(e[16:], uint64(s.size))
		le.PutUint16(img[versymOff+2*i:], 2)
	}
	copy(img[strOff:], strtab)
	// Version definitions: the object itself (base), then the version.
	verdef := func(at int, flags, ndx uint16, name uint32, hashOf string, next uint32) {
		v := img[at:]
		le.PutUint16(v, 1) // vd_version
		le.PutUint16(v[2:], flags)
		le.PutUint16(v[4:], ndx)
		le.PutUint16(v[6:], 1) // vd_cnt
		le.PutUint32(v[8:], elfHash(hashOf))
		le.PutUint32(v[12:], 20) // vd_aux
		le.PutUint32(v[16:], next)
		le.PutUint32(v[20:], name) // vda_name
	}
	verdef(verdefOff, 1 /* VER_FLG_BASE */, 1, sonameOff, vdsoSoname, 28)
	verdef(verdefOff+28, 0, 2, versionOff, vdsoVersion(a), 0)
	// .dynamic: addresses are offsets, the object being linked at 0.
	dyn := [][2]uint64{
		{uint64(elf.DT_HASH), uint64(hashOff)},
		{uint64(elf.DT_STRTAB), uint64(strOff)},
		{uint64(elf.DT_SYMTAB), uint64(symOff)},
		{uint64(elf.DT_STRSZ), uint64(len(strtab))},
		{uint64(elf.DT_SYMENT), 24},
		{uint64(elf.DT_SONAME), uint64(sonameOff)},
		{uint64(elf.DT_VERSYM), uint64(versymOff)},
		{uint64(elf.DT_VERDEF), uint64(verdefOff)},
		{uint64(elf.DT_VERDEFNUM), 2},
		{uint64(elf.DT_FLAGS_1), 0},
		{uint64(elf.DT_NULL), 0},
	}
	for i, d := range dyn {
		le.PutUint64(img[dynOff+16*i:], d[0])
		le.PutUint64(img[dynOff+16*i+8:], d[1])
	}
	copy(img[textOff:], text)
	copy(img[shstrOff:], shstr)
	for i, s := range secs {
		if i == 0 {
			continue
		}
		e := img[shOff+64*i:]
		le.PutUint32(e, s.name)
		le.PutUint32(e[4:], uint32(s.typ))
		le.PutUint64(e[8:], uint64(s.flags))
		if s.flags&elf.SHF_ALLOC != 0 {
			le.PutUint64(e[16:], uint64(s.off)) // sh_addr
		}
		le.PutUint64(e[24:], uint64(s.off))
		le.PutUint64(e[32:], uint64(s.size))
		le.PutUint32(e[40:], s.link)
		le.PutUint32(e[44:], s.info)
		le.PutUint64(e[48:], s.align)
		le.PutUint64(e[56:], s.entsize)
	}
	if uint64(len(img)) > 2*a.PageSize {
		return nil, fmt.Errorf("vdso: %d bytes, more than two pages", len(img))
	}
	return img, nil
}

// elfHash is the SysV ELF hash of DT_HASH tables and vd_hash.
func elfHash(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); i++ {
		h = h<<4 + uint32(s[i])
		if g := h & 0xf0000000; g != 0 {
			h ^= g >> 24
		}
		h &^= 0xf0000000
	}
	return h
}

// vdsoPages and vvarPages are the sizes of Linux 6.1's [vdso] and of the
// [vvar] data pages below it, by arch. gorunemu's vDSO reads nothing from
// [vvar] (the clock comes from the counter); the pages are there so that
// the address space has Linux's layout.
var (
	vdsoPages = map[*arch.Arch]uint64{arch.AMD64: 2, arch.ARM64: 2}
	vvarPages = map[*arch.Arch]uint64{arch.AMD64: 4, arch.ARM64: 2}
)

// mapVDSO maps [vvar] and the vDSO above it where mmap would put them
// (below the dynamic loader, as Linux's arch_setup_additional_pages runs
// after load_elf_interp), and remembers the vDSO for AT_SYSINFO_EHDR.
func (p *Process) mapVDSO(realtimeBase int64) error {
	img, err := buildVDSO(p.arch, realtimeBase)
	if err != nil {
		return err
	}
	page := p.arch.PageSize
	vvar, size := vvarPages[p.arch]*page, vdsoPages[p.arch]*page
	addr, ok := p.mem.place(0, vvar+size)
	if !ok {
		return fmt.Errorf("emu: no room for the vDSO: %w", syscalls.ENOMEM)
	}
	if err := p.mem.mapNew(addr, vvar, syscalls.PROT_READ, "[vvar]", true); err != nil {
		return fmt.Errorf("emu: [vvar]: %w", err)
	}
	addr += vvar
	if err := p.mem.mapNew(addr, size, syscalls.PROT_READ|syscalls.PROT_EXEC, "[vdso]", true); err != nil {
		return fmt.Errorf("emu: vDSO: %w", err)
	}
	if err := p.mem.write(addr, img, true); err != nil {
		return fmt.Errorf("emu: vDSO: %w", err)
	}
	p.vdso, p.vdsoImage = addr, img
	return nil
}
