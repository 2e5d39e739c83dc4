package emu

import (
	"bytes"
	"debug/elf"
	"path"
	"sort"
)

// Names for code outside the executable: the dynamic loader and the
// libraries it maps (libc.so.6). An address is found in its mapping, whose
// file offset gives the address in the file (through the file's PT_LOAD
// headers), which is then looked up in the file's ELF symbols: .symtab
// when the file has one, else .dynsym. Debian's libraries keep only the
// exported functions in .dynsym, so an address outside every symbol's
// extent is not given the nearest name before it: it is named by its
// file and offset ("ld-linux-x86-64.so.2+0x1ab70"), which addr2line and
// objdump take.

// objectSyms are the functions of one shared object.
type objectSyms struct {
	name  string // the file's base name
	loads []elf.ProgHeader
	funcs []objectFunc // by address
}

type objectFunc struct {
	addr, size uint64
	name       string
	rank       int // symRank
}

// objectLoc names pc when it lies in a file the process mapped other
// than the executable: the function and the offset into it, or (fn "")
// the address in the file; object is the file's base name. ok is false
// for anonymous memory and the executable itself.
func (p *Process) objectLoc(pc uint64) (fn string, off uint64, object string, ok bool) {
	m := p.mem.lookup(pc)
	var syms *objectSyms
	var fo uint64
	switch {
	case m == nil:
	case m.name == "[vdso]" && p.vdsoImage != nil:
		if p.objects == nil {
			p.objects = map[string]*objectSyms{}
		}
		if syms = p.objects[m.name]; syms == nil {
			syms = parseObjectSyms(p.vdsoImage, vdsoSoname)
			p.objects[m.name] = syms
		}
		fo = pc - p.vdso
	case m.file() && m.name != p.exePath():
		syms = p.objectSyms(m.name)
		fo = m.offset + (pc - m.start)
	}
	if syms == nil {
		return "", 0, "", false
	}
	for _, ph := range syms.loads {
		if fo < ph.Off || fo-ph.Off >= ph.Filesz {
			continue
		}
		addr := fo - ph.Off + ph.Vaddr
		i := sort.Search(len(syms.funcs), func(i int) bool { return syms.funcs[i].addr > addr }) - 1
		if i >= 0 && addr-syms.funcs[i].addr < syms.funcs[i].size {
			f := syms.funcs[i]
			return f.name, addr - f.addr, syms.name, true
		}
		return "", addr, syms.name, true
	}
	return "", 0, "", false
}

// objectSyms returns the functions of the file at guest path name, read
// once through the guest's file system; nil if it is no ELF file.
func (p *Process) objectSyms(name string) *objectSyms {
	if s, seen := p.objects[name]; seen {
		return s
	}
	if p.objects == nil {
		p.objects = map[string]*objectSyms{}
	}
	var s *objectSyms
	if p.kernel != nil {
		if data, _, err := p.kernel.ReadFile(name); err == nil {
			s = parseObjectSyms(data, path.Base(name))
		}
	}
	p.objects[name] = s
	return s
}

// parseObjectSyms reads the functions of an ELF file; nil if it is not
// one. debug/elf may panic on a corrupt file: that only costs the names.
func parseObjectSyms(data []byte, name string) (s *objectSyms) {
	defer func() {
		if recover() != nil {
			s = nil
		}
	}()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	s = &objectSyms{name: name}
	for _, ph := range f.Progs {
		if ph.Type == elf.PT_LOAD {
			s.loads = append(s.loads, ph.ProgHeader)
		}
	}
	syms, err := f.Symbols()
	if err != nil || len(syms) == 0 {
		syms, _ = f.DynamicSymbols()
	}
	best := map[uint64]int{} // address -> index in s.funcs
	for _, sym := range syms {
		t := elf.ST_TYPE(sym.Info)
		if (t != elf.STT_FUNC && t != elf.STT_GNU_IFUNC) || sym.Value == 0 || sym.Section == elf.SHN_UNDEF {
			continue
		}
		f := objectFunc{addr: sym.Value, size: sym.Size, name: sym.Name, rank: symRank(sym)}
		// Aliases share an address: keep a global name over a weak or
		// local one, and the shorter of two of the same binding
		// (clock_gettime over __clock_gettime).
		if i, ok := best[f.addr]; ok {
			if k := s.funcs[i]; f.rank < k.rank || f.rank == k.rank && len(f.name) < len(k.name) {
				s.funcs[i] = f
			}
			continue
		}
		best[f.addr] = len(s.funcs)
		s.funcs = append(s.funcs, f)
	}
	sort.Slice(s.funcs, func(i, j int) bool { return s.funcs[i].addr < s.funcs[j].addr })
	return s
}

// symRank orders aliases: a global name first, then a weak one, then a
// local one.
func symRank(s elf.Symbol) int {
	switch elf.ST_BIND(s.Info) {
	case elf.STB_GLOBAL:
		return 0
	case elf.STB_WEAK:
		return 1
	}
	return 2
}
