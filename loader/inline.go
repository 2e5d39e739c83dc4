package loader

import (
	"cmp"
	"debug/elf"
	"encoding/binary"
	"slices"
	"sync/atomic"
)

// This file reads the inline trees of .gopclntab, the way the Go runtime
// expands inlined calls in tracebacks and runtime.CallersFrames
// (runtime/symtabinl.go from Go 1.21, runtime/symtab.go before). For a
// function with inlined code:
//
//	pcdata[PCDATA_InlTreeIndex] is a pc-value table giving, at each PC,
//	        the index in the function's inline tree of the inlined call
//	        the instruction belongs to, or -1 outside inlined code;
//	funcdata[FUNCDATA_InlTree] locates the tree, an array of records:
//	  Go 1.16–1.19 (20 bytes): parent int16, funcID uint8, _ byte,
//	        file int32, line int32, func_ int32 (name offset),
//	        parentPc int32;
//	  Go 1.20+ (16 bytes): funcID uint8, _ [3]byte, nameOff int32,
//	        parentPc int32, startLine int32.
//
// nameOff is an offset in the function name table and parentPc the offset
// from the function's entry of an instruction whose position is the call
// site, so the inline index at entry+parentPc is the next outer level.
// The runtime walks parentPc, not the older records' parent field, and
// takes every position from the pcfile and pcln tables: at the PC itself
// for the innermost frame, at entry+parentPc for the one that called it.
//
// Where funcdata is depends on the release (runtime.funcdata):
//
//	Go 1.16–1.17: after the npcdata uint32 pcdata offsets, aligned to 8
//	        from the start of the function table, nfuncdata absolute
//	        pointers, 0 meaning absent;
//	Go 1.18+: right after the pcdata offsets, nfuncdata uint32 offsets
//	        from moduledata.gofunc (the symbol go:func.*, go.func.*
//	        before 1.20), ^0 meaning absent.
//
// The _func header before the pcdata offsets is 44 bytes in Go 1.16–1.17
// (a pointer-sized entry, eight uint32 fields, then funcID, flag, a pad
// byte and nfuncdata), 40 in Go 1.18–1.19 (a uint32 entry offset) and 44
// again from Go 1.20 (startLine after cuOffset). Go 1.2–1.15 tables have
// other layouts and are not read.

// Indexes of the inline tables among a function's pcdata and funcdata
// (internal/abi/symtab.go; runtime/symtab.go before Go 1.21: the same
// values since Go 1.9).
const (
	pcdataInlTreeIndex = 2
	funcdataInlTree    = 3
)

// Offsets of moduledata.gofunc (runtime/symtab.go): after etext come
// noptrdata, enoptrdata, data, edata, bss, ebss, noptrbss, enoptrbss,
// then from Go 1.20 covctrs, ecovctrs, then end, gcdata, gcbss, types,
// etypes, rodata and gofunc.
const (
	mdGofunc118 = mdEText + 8 + 8*8 + 6*8
	mdGofunc120 = mdGofunc118 + 2*8
)

// maxInlineDepth bounds the parentPc walk: Go's inliner nests nowhere near
// this deep, and a damaged table could make the walk go round in circles.
const maxInlineDepth = 100

// InlinedFrame is one logical frame at a PC in inlined code.
type InlinedFrame struct {
	// Func is the function's name, as Symbol.Name gives it.
	Func string
	// File and Line are the position in Func: for the innermost frame,
	// the PC's own; for the others, the call of the frame inside them.
	// "" and 0 when unknown.
	File string
	Line int
	// Wrapper reports that Func is code the compiler generated around
	// other code (a method, ABI or method-value wrapper, the closure of a
	// go or defer statement, an equality function: abi.FuncIDWrapper).
	// Go's tracebacks and runtime.CallersFrames leave such frames out
	// unless they are the innermost one.
	Wrapper bool
}

// Inlined returns the logical call stack at pc when the compiler inlined
// the code there into the function containing it, and nil otherwise. The
// frames are innermost first: frames[0] is the inlined function, at the
// file and line Symbolize reports for pc; each next frame is the function
// that called the one before, at the line of that call; the last one is
// the physical function (Symbol.Name) at the line of the outermost
// inlined call. They are the frames runtime.CallersFrames reports for
// the PC, less those it drops as wrappers (see InlinedFrame.Wrapper).
//
// Everything comes from .gopclntab, so stripped executables have it too,
// for Go 1.16 and later. Each function's inline table is decoded on the
// first PC in it; after that Inlined does not allocate. The returned
// slice is shared: callers must not modify it. It is safe for concurrent
// use.
func (img *Image) Inlined(pc uint64) []InlinedFrame {
	s := img.symbols()
	i := s.find(pc)
	if i < 0 || s.funcs[i].pcln < 0 {
		return nil
	}
	tab := s.inlineTable(img, &s.funcs[i])
	// First range ending above pc.
	lo, hi := 0, len(tab)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if tab[m].hi <= pc {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(tab) || tab[lo].lo > pc {
		return nil
	}
	return tab[lo].frames
}

// inlineRange says that PCs in [lo, hi) are in inlined code, with frames
// as Inlined returns them.
type inlineRange struct {
	lo, hi uint64
	frames []InlinedFrame
}

// inlTables is allocated with the line tables.
type inlTables = []atomic.Pointer[[]inlineRange]

// inlineState is what an image keeps for Inlined.
type inlineState struct {
	// tables[i] is function i's decoded inline ranges (pclntab index),
	// filled on first use under symbols.mu and read without locking
	// afterwards.
	tables inlTables
	// wrapper is the value of abi.FuncIDWrapper in the executable, or -1
	// if unknown; set under symbols.mu with the first table.
	wrapper    int
	wrapperSet bool
}

// inlineTable returns f's inline ranges (biased), sorted and disjoint,
// decoding them on first use. A damaged table yields fewer ranges or none.
func (s *symbols) inlineTable(img *Image, f *funcInfo) []inlineRange {
	p := &s.inl.tables[f.pcln]
	if t := p.Load(); t != nil {
		return *t
	}
	// Before taking mu, which lineTable takes too.
	lines := s.lineTable(f)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := p.Load(); t != nil {
		return *t
	}
	if !s.inl.wrapperSet {
		s.inl.wrapper = s.wrapperFuncID()
		s.inl.wrapperSet = true
	}
	d := inlineDecoder{t: s.tab, img: img, f: f, lines: lines, bias: s.bias, wrapper: s.inl.wrapper}
	tab := d.decode()
	p.Store(&tab)
	return tab
}

// wrapperFuncID returns the value of abi.FuncIDWrapper, which changes
// between releases (22 in Go 1.17, 21 in 1.18–1.21, 22 in 1.22–1.24, 23
// from 1.25) as special runtime functions come and go: it is the funcID
// of runtime.deferreturn, which cmd/internal/objabi.GetFuncID has marked
// as a wrapper since before Go 1.17. -1 if there is none.
func (s *symbols) wrapperFuncID() int {
	i, ok := slices.BinarySearchFunc(s.names, "runtime.deferreturn", func(n nameAddr, name string) int {
		return cmp.Compare(n.name, name)
	})
	if !ok {
		return -1
	}
	fi := s.find(s.names[i].addr)
	if fi < 0 || s.funcs[fi].pcln < 0 {
		return -1
	}
	id, ok := s.tab.funcID(uint64(s.funcs[fi].pcln))
	if !ok || id == 0 {
		return -1
	}
	return int(id)
}

// inlineDecoder decodes one function's inline table.
type inlineDecoder struct {
	t     *pclntab
	img   *Image
	f     *funcInfo
	lines []lineRange // f's line table, biased
	bias  uint64
	// wrapper is abi.FuncIDWrapper's value, -1 if unknown.
	wrapper int

	entry, end uint64       // link-time
	index      []valueRange // the PCDATA_InlTreeIndex table, link-time
	tree       []byte       // the inline tree up to the end of its segment's file bytes
	size       uint64       // of a tree record
	// physWrapper says whether the physical function is a wrapper.
	physWrapper bool
	// callers memoizes callers by tree index; a nil value marks a failed
	// walk.
	callers map[int32][]InlinedFrame
}

// decode returns the function's inline ranges.
func (d *inlineDecoder) decode() []inlineRange {
	pcdata, treeAddr, ok := d.t.inlineTree(uint64(d.f.pcln))
	if !ok {
		return nil
	}
	d.tree = d.img.fileTail(treeAddr + d.bias)
	if d.tree == nil {
		return nil
	}
	d.size = 20
	if d.t.ver >= ver120 {
		d.size = 16
	}
	physID, ok := d.t.funcID(uint64(d.f.pcln))
	if !ok {
		return nil
	}
	d.physWrapper = d.isWrapper(physID)
	d.entry, d.end = d.f.Entry-d.bias, d.f.End-d.bias
	index, err := d.t.values(pcdata, d.entry, d.end)
	if err != nil {
		return nil
	}
	d.index = index
	d.callers = make(map[int32][]InlinedFrame)
	// Two passes: the first counts the ranges and their frames, the
	// second fills arrays of the right sizes.
	var out []inlineRange
	var all []InlinedFrame
	for pass := range 2 {
		nr, nf := 0, 0
		for _, r := range d.index {
			if r.val < 0 {
				continue
			}
			name, _, wrapper, ok := d.record(r.val)
			if !ok {
				continue
			}
			outer := d.callersOf(r.val, 0)
			if outer == nil {
				continue
			}
			// One range per line of the innermost frame.
			for pc := r.lo; pc < r.hi; {
				file, line, next := d.lineAt(pc)
				next = min(next, r.hi)
				if pass == 1 {
					start := len(all)
					all = append(all, InlinedFrame{Func: name, File: file, Line: line, Wrapper: wrapper})
					all = append(all, outer...)
					out = append(out, inlineRange{lo: pc + d.bias, hi: next + d.bias, frames: all[start:len(all):len(all)]})
				}
				nr++
				nf += 1 + len(outer)
				pc = next
			}
		}
		if pass == 0 {
			if nr == 0 {
				return nil
			}
			out = make([]inlineRange, 0, nr)
			all = make([]InlinedFrame, 0, nf)
		}
	}
	return out
}

// callersOf returns the frames outside inlined call k: the function that
// called it, at the call, then that function's callers, ending with the
// physical function. nil means the tree is damaged.
func (d *inlineDecoder) callersOf(k int32, depth int) []InlinedFrame {
	if fs, ok := d.callers[k]; ok {
		return fs
	}
	if depth > maxInlineDepth {
		return nil
	}
	var fs []InlinedFrame
	if _, parentPc, _, ok := d.record(k); ok {
		pc := d.entry + parentPc
		file, line, _ := d.lineAt(pc)
		if pk := d.indexAt(pc); pk < 0 {
			fs = []InlinedFrame{{Func: d.f.Name, File: file, Line: line, Wrapper: d.physWrapper}}
		} else if name, _, wrapper, ok := d.record(pk); ok {
			if rest := d.callersOf(pk, depth+1); rest != nil {
				fs = append([]InlinedFrame{{Func: name, File: file, Line: line, Wrapper: wrapper}}, rest...)
			}
		}
	}
	d.callers[k] = fs
	return fs
}

// record returns the name, the parentPc and whether the function is a
// wrapper for inline tree record k, checked to lie in the tree's segment
// and parentPc in the function.
func (d *inlineDecoder) record(k int32) (name string, parentPc uint64, wrapper, ok bool) {
	if k < 0 {
		return "", 0, false, false
	}
	o := uint64(k) * d.size
	if o+d.size > uint64(len(d.tree)) {
		return "", 0, false, false
	}
	r := d.tree[o : o+d.size]
	le := binary.LittleEndian
	var id uint8
	var nameOff, ppc uint32
	if d.size == 16 {
		id, nameOff, ppc = r[0], le.Uint32(r[4:]), le.Uint32(r[8:])
	} else {
		id, nameOff, ppc = r[2], le.Uint32(r[12:]), le.Uint32(r[16:])
	}
	if int32(ppc) < 0 || uint64(ppc) >= d.end-d.entry {
		return "", 0, false, false
	}
	name, ok = d.t.name(nameOff)
	return name, uint64(ppc), d.isWrapper(id), ok
}

// isWrapper reports whether funcID id is abi.FuncIDWrapper.
func (d *inlineDecoder) isWrapper(id uint8) bool { return d.wrapper >= 0 && int(id) == d.wrapper }

// indexAt returns the inline tree index at link-time pc, -1 if none.
func (d *inlineDecoder) indexAt(pc uint64) int32 {
	lo, hi := 0, len(d.index)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if d.index[m].hi <= pc {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(d.index) || d.index[lo].lo > pc {
		return -1
	}
	return d.index[lo].val
}

// lineAt returns the file and line at link-time pc and the link-time PC
// where they next change (or the function's end).
func (d *inlineDecoder) lineAt(pc uint64) (file string, line int, next uint64) {
	bpc := pc + d.bias
	lo, hi := 0, len(d.lines)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if d.lines[m].pc <= bpc {
			lo = m + 1
		} else {
			hi = m
		}
	}
	next = d.end
	if lo < len(d.lines) {
		next = d.lines[lo].pc - d.bias
	}
	if lo > 0 {
		r := &d.lines[lo-1]
		file = r.file
		if r.line > 0 {
			line = int(r.line)
		}
	}
	return file, line, next
}

// funcHeader returns the size of a _func record before its pcdata
// offsets, 0 for a table this package does not read inline trees from.
func (t *pclntab) funcHeader() uint64 {
	switch t.ver {
	case ver116, ver120:
		return 44
	case ver118:
		return 40
	}
	return 0
}

// funcID returns function i's _func.funcID, the fourth byte from the end
// of the header (then flag, a pad byte and nfuncdata).
func (t *pclntab) funcID(i uint64) (uint8, bool) {
	hdr := t.funcHeader()
	rec, err := t.funcRecord(i)
	if hdr == 0 || err != nil || uint64(len(rec)) < hdr {
		return 0, false
	}
	return rec[hdr-4], true
}

// inlineTree locates function i's inline tables: the offset in pctab of
// its PCDATA_InlTreeIndex table and the link-time address of its
// FUNCDATA_InlTree. ok is false for a function without inlined code, a
// damaged record, or a table this package does not read.
func (t *pclntab) inlineTree(i uint64) (pcdata uint32, tree uint64, ok bool) {
	hdr := t.funcHeader()
	rec, err := t.funcRecord(i)
	if hdr == 0 || err != nil || uint64(len(rec)) < hdr {
		return 0, 0, false
	}
	npcdata := uint64(t.funcField(rec, 7))
	nfuncdata := uint64(rec[hdr-1])
	if npcdata <= pcdataInlTreeIndex || nfuncdata <= funcdataInlTree {
		return 0, 0, false
	}
	le := binary.LittleEndian
	fd := hdr + 4*npcdata // the funcdata, before any alignment
	if fd > uint64(len(rec)) {
		return 0, 0, false
	}
	pcdata = le.Uint32(rec[hdr+4*pcdataInlTreeIndex:])
	if pcdata == 0 {
		return 0, 0, false
	}
	if t.ver == ver116 {
		// Absolute pointers, aligned from the function table's start.
		o := t.field(2*i+1) + fd
		o = (o+7)&^7 + 8*funcdataInlTree
		if o+8 > uint64(len(t.funcdata)) {
			return 0, 0, false
		}
		tree = le.Uint64(t.funcdata[o:])
		return pcdata, tree, tree != 0
	}
	o := fd + 4*funcdataInlTree
	if o+4 > uint64(len(rec)) || t.gofunc == 0 {
		return 0, 0, false
	}
	off := le.Uint32(rec[o:])
	if off == ^uint32(0) {
		return 0, 0, false
	}
	return pcdata, t.gofunc + uint64(off), true
}

// findGofunc sets tab.gofunc (link-time) for a Go 1.18+ table: the
// go:func.* symbol (go.func.* in Go 1.18 and 1.19), else
// moduledata.gofunc (md returns the moduledata, see findModuledata),
// which must lie in the file bytes of a non-executable segment, at or
// after moduledata.rodata.
func (img *Image) findGofunc(tab *pclntab, md func() []byte, elfSyms []elf.Symbol) {
	if tab.ver < ver118 {
		return
	}
	for _, name := range []string{"go:func.*", "go.func.*"} {
		if v, ok := symbolValue(elfSyms, name); ok && img.rodata(v+img.Bias) {
			tab.gofunc = v
			return
		}
	}
	b := md()
	off := mdGofunc118
	if tab.ver >= ver120 {
		off = mdGofunc120
	}
	if len(b) < off+8 {
		return
	}
	le := binary.LittleEndian
	v, rodata := le.Uint64(b[off:]), le.Uint64(b[off-8:])
	if v != 0 && rodata <= v && img.rodata(v+img.Bias) {
		tab.gofunc = v
	}
}

// rodata reports whether addr is in the file bytes of a non-executable
// segment.
func (img *Image) rodata(addr uint64) bool {
	s := img.SegmentAt(addr)
	return s != nil && s.Prot&PROT_EXEC == 0 && img.fileTail(addr) != nil
}

// fileTail returns the file bytes from addr to the end of its segment's
// file part, or nil.
func (img *Image) fileTail(addr uint64) []byte {
	s := img.SegmentAt(addr)
	if s == nil {
		return nil
	}
	n := min(s.FileSize, uint64(len(s.Data)))
	if off := addr - s.Addr; off < n {
		return s.Data[off:n]
	}
	return nil
}
