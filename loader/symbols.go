package loader

import (
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Func is a function of the image.
type Func struct {
	// Name is the function's name: "runtime.rt0_go", "main.main".
	Name string
	// Entry is its first instruction, End the address just past it (for Go
	// functions, the next function's entry: alignment padding belongs to
	// the function before it).
	Entry, End uint64
}

// Symbol is what Symbolize knows about an address.
type Symbol struct {
	// Name is the function containing the address.
	Name string
	// Addr is the function's entry, Offset the distance from it.
	Addr   uint64
	Offset uint64
	// File and Line are the source position from .gopclntab: for code
	// inlined into the function, the position in the inlined callee, as
	// the Go runtime reports it (Image.Inlined gives the calls around
	// it). "" and 0 when unknown (non-Go code).
	File string
	Line int
}

// String formats s as "runtime.rt0_go+0x14", or just the name at offset 0.
func (s Symbol) String() string {
	if s.Offset == 0 {
		return s.Name
	}
	return s.Name + "+0x" + strconv.FormatUint(s.Offset, 16)
}

// funcInfo is a Func plus where its line table comes from.
type funcInfo struct {
	Func
	pcln int32 // index in the pclntab function table, or -1 (ELF symbol)
}

// nameAddr maps a symbol name to its address.
type nameAddr struct {
	name string
	addr uint64
}

// symbols holds an image's symbol tables, all addresses already biased.
type symbols struct {
	funcs []funcInfo // sorted by Entry, not overlapping
	names []nameAddr // sorted by name, unique

	tab  *pclntab // nil if the file has no usable .gopclntab
	bias uint64
	// lines[i] is function i's decoded line table (pclntab index), filled
	// on first use under mu and read without locking afterwards.
	mu    sync.Mutex
	lines []atomic.Pointer[[]lineRange]
	sps   spTables    // pcsp tables, like lines
	inl   inlineState // inline tables, like lines (inline.go)
	// objects are the ELF data symbols with a size, sorted by address.
	objects []DataSymbol
}

// loadSymbols reads the ELF symbol table and .gopclntab. Failures leave
// the image without (some) names and are recorded in SymbolErr.
func (img *Image) loadSymbols() {
	s := &symbols{bias: img.Bias}
	img.syms = s
	var errs []error

	f, err := openELF(img.data)
	if err != nil {
		errs = append(errs, fmt.Errorf("section headers: %w", err))
	}
	var elfSyms []elf.Symbol
	if f != nil {
		elfSyms, err = readSymbols(f)
		if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
			errs = append(errs, fmt.Errorf(".symtab: %w", err))
		}
	}
	img.Stripped = len(elfSyms) == 0

	tab, err := img.findPclntab(f, elfSyms)
	if err != nil {
		errs = append(errs, err)
	}
	var goFuncs []funcInfo
	if tab != nil {
		goFuncs, err = pclnFuncs(tab, img)
		if err != nil {
			errs = append(errs, fmt.Errorf(".gopclntab: %w", err))
			goFuncs = nil
		} else {
			s.tab = tab
			s.lines = make([]atomic.Pointer[[]lineRange], tab.nfunc)
			s.sps = make(spTables, tab.nfunc)
			s.inl.tables = make(inlTables, tab.nfunc)
		}
	}
	s.build(goFuncs, elfSyms, img.Bias)
	if len(errs) > 0 {
		img.SymbolErr = fmt.Errorf("loader: %s: symbols: %w", img.Path, errors.Join(errs...))
	}
}

// openELF runs debug/elf over data, turning a panic into an error.
func openELF(data []byte) (f *elf.File, err error) {
	if err := sectionHeadersFit(data); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("debug/elf panicked: %v", r)
		}
	}()
	return elf.NewFile(bytes.NewReader(data))
}

// sectionHeadersFit checks that the section header table and the section
// name table lie inside the file before debug/elf reads them: it
// allocates for them first and notices a short file afterwards (20 MiB for
// a 120-byte file whose headers claim a huge table, found by FuzzParse).
func sectionHeadersFit(data []byte) error {
	const ehsize, shsize = 64, 64 // ELF64 header and section header sizes
	n := uint64(len(data))
	if n < ehsize {
		return fmt.Errorf("ELF header truncated")
	}
	le := binary.LittleEndian
	shoff := le.Uint64(data[0x28:])
	entsize, shnum, shstrndx := uint64(le.Uint16(data[0x3a:])), uint64(le.Uint16(data[0x3c:])), uint64(le.Uint16(data[0x3e:]))
	if shoff == 0 {
		return nil // no section headers: debug/elf reads none
	}
	if entsize < shsize || shoff > n || n-shoff < entsize {
		return fmt.Errorf("section header table at %#x (entries of %d bytes) past the end of the %d-byte file", shoff, entsize, n)
	}
	sec0 := data[shoff:]
	if shnum == 0 { // extended numbering: the count is section 0's sh_size
		shnum = le.Uint64(sec0[0x20:])
	}
	if shstrndx == 0xffff { // SHN_XINDEX: the index is section 0's sh_link
		shstrndx = uint64(le.Uint32(sec0[0x28:]))
	}
	if shnum > (n-shoff)/entsize {
		return fmt.Errorf("section header table [%#x, +%d*%d) past the end of the %d-byte file", shoff, shnum, entsize, n)
	}
	if shstrndx != 0 && shstrndx < shnum {
		h := data[shoff+shstrndx*entsize:]
		const shtNobits = 8
		off, size := le.Uint64(h[0x18:]), le.Uint64(h[0x20:])
		if le.Uint32(h[4:]) != shtNobits && (off > n || size > n-off) {
			return fmt.Errorf("section name table [%#x, +%d) past the end of the %d-byte file", off, size, n)
		}
	}
	return nil
}

// readSymbols returns the .symtab entries, turning a panic into an error.
func readSymbols(f *elf.File) (syms []elf.Symbol, err error) {
	defer func() {
		if r := recover(); r != nil {
			syms, err = nil, fmt.Errorf("debug/elf panicked: %v", r)
		}
	}()
	return f.Symbols()
}

// findPclntab locates .gopclntab: by section header, else by the
// runtime.pclntab symbol, else by scanning the read-only segments for its
// header (files whose section headers were removed). It returns nil, nil
// for a file that has none.
func (img *Image) findPclntab(f *elf.File, elfSyms []elf.Symbol) (*pclntab, error) {
	if f != nil {
		data, addr, err := sectionData(f, img.data, ".gopclntab")
		switch {
		case err == nil:
			tab, err := parsePclntab(data)
			if err != nil {
				return nil, fmt.Errorf(".gopclntab: %w", err)
			}
			img.findBases(tab, addr, f, elfSyms)
			return tab, nil
		case !errors.Is(err, errNoSection):
			return nil, err
		}
	}
	start, sok := symbolValue(elfSyms, "runtime.pclntab")
	end, eok := symbolValue(elfSyms, "runtime.epclntab")
	if sok && eok && end > start {
		if data := img.fileBytes(start+img.Bias, end-start); data != nil {
			tab, err := parsePclntab(data)
			if err != nil {
				return nil, fmt.Errorf("runtime.pclntab: %w", err)
			}
			img.findBases(tab, start, f, elfSyms)
			return tab, nil
		}
	}
	for _, seg := range img.Segments {
		if seg.Prot&PROT_EXEC != 0 {
			continue
		}
		for _, off := range findPclntabMagic(seg.Data) {
			tab, err := parsePclntab(seg.Data[off:])
			if err != nil {
				continue
			}
			img.findBases(tab, seg.Addr-img.Bias+uint64(off), f, elfSyms)
			if _, err := pclnFuncs(tab, img); err == nil {
				return tab, nil
			}
		}
	}
	return nil, nil
}

// symbolValue returns the value of the named ELF symbol.
func symbolValue(syms []elf.Symbol, name string) (uint64, bool) {
	for _, s := range syms {
		if s.Name == name {
			return s.Value, true
		}
	}
	return 0, false
}

// Offsets in the runtime's moduledata (runtime/symtab.go), the same from
// Go 1.16 to 1.26: pcHeader, six slices, findfunctab, then minpc, maxpc,
// text, etext.
const (
	mdMinPC = 8 + 6*24 + 8
	mdText  = mdMinPC + 16
	mdEText = mdText + 8
)

// findBases sets the link-time addresses that a table's offsets are
// relative to but that it may not record: runtime.text (findText) and
// go:func.* (findGofunc, in inline.go). addr is the table's link-time
// address. Both may need runtime.firstmoduledata, which is searched for
// at most once.
func (img *Image) findBases(tab *pclntab, addr uint64, f *elf.File, elfSyms []elf.Symbol) {
	md := sync.OnceValue(func() []byte { return img.findModuledata(tab, addr) })
	img.findText(tab, md, f, elfSyms)
	img.findGofunc(tab, md, elfSyms)
}

// findText sets tab.textStart (link-time) for a Go 1.18+ table whose
// header does not record it. In order: the runtime.text symbol;
// runtime.firstmoduledata.text (md returns the moduledata, see
// findModuledata); the .text section; the first executable segment.
func (img *Image) findText(tab *pclntab, md func() []byte, f *elf.File, elfSyms []elf.Symbol) {
	if tab.ver < ver118 || tab.textStart != 0 {
		return
	}
	if v, ok := symbolValue(elfSyms, "runtime.text"); ok {
		tab.textStart = v
		return
	}
	if b := md(); b != nil {
		tab.textStart = binary.LittleEndian.Uint64(b[mdText:])
		return
	}
	if f != nil {
		if s := f.Section(".text"); s != nil && s.Addr != 0 {
			tab.textStart = s.Addr
			return
		}
	}
	for _, seg := range img.Segments {
		if seg.Prot&PROT_EXEC != 0 {
			tab.textStart = seg.Addr - img.Bias
			return
		}
	}
}

// findModuledata returns the file bytes of runtime.firstmoduledata (at
// least up to etext) of a Go 1.18+ executable, or nil: it looks in the
// writable segments for a word equal to addr, the table's link-time
// address (moduledata.pcHeader), followed by a minpc equal to its text
// plus the first function's offset, an etext above text, and a text in
// executable memory.
func (img *Image) findModuledata(tab *pclntab, addr uint64) []byte {
	if tab.ver < ver118 {
		return nil
	}
	var pat [8]byte
	binary.LittleEndian.PutUint64(pat[:], addr)
	first := tab.field(0) // function 0's offset from text
	le := binary.LittleEndian
	for _, seg := range img.Segments {
		if seg.Prot&PROT_WRITE == 0 {
			continue
		}
		b := seg.Data
		for i := 0; ; {
			j := bytes.Index(b[i:], pat[:])
			if j < 0 {
				break
			}
			off := i + j
			i = off + 1
			if (seg.Addr+uint64(off))%8 != 0 || off+mdEText+8 > len(b) {
				continue
			}
			text := le.Uint64(b[off+mdText:])
			if le.Uint64(b[off+mdMinPC:]) == text+first && le.Uint64(b[off+mdEText:]) > text && img.executable(text+img.Bias) {
				return b[off:]
			}
		}
	}
	return nil
}

// fileBytes returns the file bytes backing [addr, addr+n) if they lie in
// one segment's file part.
func (img *Image) fileBytes(addr, n uint64) []byte {
	s := img.SegmentAt(addr)
	if s == nil {
		return nil
	}
	off := addr - s.Addr
	if off > s.FileSize || n > s.FileSize-off {
		return nil
	}
	return s.Data[off : off+n]
}

// pclnFuncs lists tab's functions, biased, checking that each lies in
// executable memory.
func pclnFuncs(tab *pclntab, img *Image) ([]funcInfo, error) {
	funcs := make([]funcInfo, 0, tab.nfunc)
	for i := range tab.nfunc {
		entry, end := tab.entry(i), tab.entry(i+1)
		if end < entry {
			return nil, fmt.Errorf("%w: function %d: entry %#x after end %#x", errPclntab, i, entry, end)
		}
		rec, err := tab.funcRecord(i)
		if err != nil {
			return nil, err
		}
		name, ok := tab.name(tab.funcField(rec, 1))
		if !ok {
			return nil, fmt.Errorf("%w: function %d: bad name offset", errPclntab, i)
		}
		if entry == end {
			continue
		}
		entry += img.Bias
		end += img.Bias
		if !img.executable(entry) || !img.executable(end-1) {
			return nil, fmt.Errorf("%w: function %s [%#x, %#x) is not in executable memory", errPclntab, name, entry, end)
		}
		funcs = append(funcs, funcInfo{Func: Func{Name: name, Entry: entry, End: end}, pcln: int32(i)})
	}
	if len(funcs) == 0 {
		return nil, fmt.Errorf("%w: no functions", errPclntab)
	}
	return funcs, nil
}

// build fills s.funcs and s.names from the Go function table and the ELF
// symbols.
func (s *symbols) build(goFuncs []funcInfo, elfSyms []elf.Symbol, bias uint64) {
	type rankedName struct {
		nameAddr
		rank int // lower wins: ELF global, ELF other, pclntab, ABI wrapper
	}
	var names []rankedName
	var elfFuncs []funcInfo
	for _, sym := range elfSyms {
		if sym.Name == "" || sym.Section == elf.SHN_UNDEF {
			continue
		}
		typ := elf.ST_TYPE(sym.Info)
		switch typ {
		case elf.STT_FUNC, elf.STT_OBJECT, elf.STT_NOTYPE:
		default:
			continue
		}
		addr := sym.Value
		if sym.Section != elf.SHN_ABS {
			addr += bias
		}
		rank := 1
		if elf.ST_BIND(sym.Info) == elf.STB_GLOBAL {
			rank = 0
		}
		names = append(names, rankedName{nameAddr{sym.Name, addr}, rank})
		if typ == elf.STT_FUNC && sym.Size > 0 && addr+sym.Size > addr {
			elfFuncs = append(elfFuncs, funcInfo{Func: Func{Name: sym.Name, Entry: addr, End: addr + sym.Size}, pcln: -1})
		}
		if typ == elf.STT_OBJECT && sym.Size > 0 && addr+sym.Size > addr {
			s.objects = append(s.objects, DataSymbol{Name: sym.Name, Addr: addr, Size: sym.Size})
		}
	}
	// A function called across ABIs has a wrapper of the same name in
	// .gopclntab, at <autogenerated>:1. .symtab suffixes the ABI0 one with
	// ".abi0": the wrapper of a Go function, or the assembly function
	// itself when the wrapper is the ABIInternal one. Name them the same
	// way, so that a name means the same function with and without
	// .symtab; the plain name stays as a lower-ranked fallback.
	groups := make(map[string][]int, len(goFuncs))
	for i, f := range goFuncs {
		groups[f.Name] = append(groups[f.Name], i)
	}
	for name, idx := range groups {
		if len(idx) == 1 {
			f := goFuncs[idx[0]]
			names = append(names, rankedName{nameAddr{name, f.Entry}, 2})
			continue
		}
		var real, wrappers []funcInfo
		realFile := ""
		for _, i := range idx {
			f := goFuncs[i]
			if file := s.tab.entryFile(uint64(f.pcln), f.Entry-bias); file == "<autogenerated>" {
				wrappers = append(wrappers, f)
			} else {
				real = append(real, f)
				realFile = file
			}
		}
		if len(real) != 1 || len(wrappers) == 0 {
			for _, i := range idx {
				names = append(names, rankedName{nameAddr{name, goFuncs[i].Entry}, 2})
			}
			continue
		}
		abi0, internal := wrappers, real
		if strings.HasSuffix(realFile, ".s") {
			abi0, internal = real, wrappers
		}
		for _, f := range internal {
			names = append(names, rankedName{nameAddr{name, f.Entry}, 2})
		}
		for _, f := range abi0 {
			names = append(names, rankedName{nameAddr{name + ".abi0", f.Entry}, 2})
			names = append(names, rankedName{nameAddr{name, f.Entry}, 3})
		}
	}
	slices.SortStableFunc(names, func(a, b rankedName) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.rank, b.rank), cmp.Compare(a.addr, b.addr))
	})
	s.names = make([]nameAddr, 0, len(names))
	for i, n := range names {
		if i > 0 && names[i-1].name == n.name {
			continue
		}
		s.names = append(s.names, n.nameAddr)
	}

	s.objects = sortObjects(s.objects)

	// Go functions first; ELF functions fill the gaps (non-Go code),
	// clipped so that ranges never overlap.
	all := append(goFuncs, elfFuncs...)
	slices.SortStableFunc(all, func(a, b funcInfo) int {
		return cmp.Or(cmp.Compare(a.Entry, b.Entry), cmp.Compare(b.pcln, a.pcln))
	})
	var funcs []funcInfo
	for _, f := range all {
		if n := len(funcs); n > 0 {
			prev := &funcs[n-1]
			if f.Entry < prev.End {
				if f.pcln >= 0 && prev.pcln < 0 {
					// A Go function wins over an ELF symbol that runs into it.
					prev.End = f.Entry
					if prev.End == prev.Entry {
						funcs = funcs[:n-1]
					}
				} else {
					continue
				}
			}
		}
		funcs = append(funcs, f)
	}
	s.funcs = funcs
}

// Lookup returns the address of the named symbol: a function or, when the
// file has an ELF symbol table, a data symbol. Names are Go's
// ("main.main", "runtime.rt0_go", "_rt0_amd64_linux", "runtime.m0").
// Functions resolve in stripped executables too, from .gopclntab; data
// symbols such as runtime.m0 and runtime.g0 exist only in .symtab, so a
// stripped executable (Stripped) lacks them. Where both tables name a
// symbol, the ELF symbol table wins, and a global symbol over a local one.
func (img *Image) Lookup(name string) (uint64, bool) {
	names := img.symbols().names
	i, ok := slices.BinarySearchFunc(names, name, func(n nameAddr, name string) int {
		return cmp.Compare(n.name, name)
	})
	if !ok {
		return 0, false
	}
	return names[i].addr, true
}

// Funcs lists the image's functions sorted by address: Go functions from
// .gopclntab and, where no Go function is, ELF function symbols with a
// size. The slice is the caller's to keep.
func (img *Image) Funcs() []Func {
	funcs := img.symbols().funcs
	out := make([]Func, len(funcs))
	for i, f := range funcs {
		out[i] = f.Func
	}
	return out
}

// FuncAt returns the function containing pc.
func (img *Image) FuncAt(pc uint64) (Func, bool) {
	s := img.symbols()
	i := s.find(pc)
	if i < 0 {
		return Func{}, false
	}
	return s.funcs[i].Func, true
}

// noSymbols stands in for the tables of an Image not made by Open or Parse.
var noSymbols = &symbols{}

// symbols returns img's symbol tables.
func (img *Image) symbols() *symbols {
	if img.syms == nil {
		return noSymbols
	}
	return img.syms
}

// find returns the index of the function containing pc, or -1.
func (s *symbols) find(pc uint64) int {
	lo, hi := 0, len(s.funcs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.funcs[m].Entry <= pc {
			lo = m + 1
		} else {
			hi = m
		}
	}
	// lo is the first function starting above pc.
	if lo == 0 || pc >= s.funcs[lo-1].End {
		return -1
	}
	return lo - 1
}

// Symbolize names the function containing pc and, for Go code, the source
// file and line. It is safe for concurrent use and, once a function's line
// table has been decoded (on the first PC in it), does not allocate.
func (img *Image) Symbolize(pc uint64) (Symbol, bool) {
	s := img.symbols()
	i := s.find(pc)
	if i < 0 {
		return Symbol{}, false
	}
	f := &s.funcs[i]
	sym := Symbol{Name: f.Name, Addr: f.Entry, Offset: pc - f.Entry}
	if f.pcln < 0 {
		return sym, true
	}
	lines := s.lineTable(f)
	// Last range starting at or below pc.
	lo, hi := 0, len(lines)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if lines[m].pc <= pc {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo > 0 {
		r := &lines[lo-1]
		sym.File = r.file
		if r.line > 0 {
			sym.Line = int(r.line)
		}
	}
	return sym, true
}

// lineTable returns f's decoded line ranges (biased), decoding them on
// first use. A table that fails to decode yields no positions.
func (s *symbols) lineTable(f *funcInfo) []lineRange {
	p := &s.lines[f.pcln]
	if l := p.Load(); l != nil {
		return *l
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := p.Load(); l != nil {
		return *l
	}
	lines, err := s.tab.lines(uint64(f.pcln), f.Entry-s.bias, f.End-s.bias)
	if err != nil {
		lines = nil
	}
	for k := range lines {
		lines[k].pc += s.bias
	}
	p.Store(&lines)
	return lines
}

// LineAddrs returns the addresses where code for source line line of
// file begins: in each function with code from that line, the lowest PC
// the line table gives it. file matches a recorded path exactly or as
// its last elements ("main.go", "hello/main.go"). The result is sorted;
// it is empty when no code has that position.
func (img *Image) LineAddrs(file string, line int) []uint64 {
	s := img.symbols()
	var out []uint64
	for i := range s.funcs {
		f := &s.funcs[i]
		if f.pcln < 0 {
			continue
		}
		for _, r := range s.lineTable(f) {
			if int(r.line) == line && (r.file == file || strings.HasSuffix(r.file, "/"+file)) {
				out = append(out, r.pc)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}
