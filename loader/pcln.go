package loader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// This file reads Go's function table, .gopclntab, without debug/gosym:
// gosym answers one PC at a time by rescanning a function's tables, while
// tracing asks for millions of PCs, so the loader decodes each function's
// file and line tables once into ranges it can binary-search. The format is
// the one described in golang.org/s/go12symtab and runtime/symtab.go; tests
// compare the results with debug/gosym for several Go releases.
//
// Layout (all little-endian here, pointer size 8):
//
//	header: magic uint32, 0, 0, pc quantum uint8, pointer size uint8,
//	        then pointer-sized words:
//	  Go 1.18+ (magic 0xfffffff0, 1.20+: 0xfffffff1):
//	        nfunc, nfiles, textStart, funcnametab, cutab, filetab, pctab, functab
//	  Go 1.16–1.17 (magic 0xfffffffa):
//	        nfunc, nfiles, funcnametab, cutab, filetab, pctab, functab
//	  Go 1.2–1.15 (magic 0xfffffffb): nfunc, then the functab itself;
//	        names, pc tables and _func records are addressed from the table
//	        start, and a uint32 after the functab locates the file table.
//	functab: nfunc pairs (entry, _func offset) and a final end PC; fields
//	        are uint32 with entries relative to textStart from Go 1.18,
//	        pointer-sized absolute addresses before.
//	_func:  entry (uint32 offset from 1.18, pointer before), then uint32
//	        fields: 1 nameOff, 2 args, 3 deferreturn, 4 pcsp, 5 pcfile,
//	        6 pcln, 7 npcdata, 8 cuOffset (1.16+), ...
//	pc-value table: pairs of varints (zig-zag value delta, pc delta in
//	        quanta), starting from value -1 at the function entry; a zero
//	        value delta after the first pair ends it.

// Magic numbers of the pclntab header (internal/abi/symtab.go).
const (
	go12Magic  = 0xfffffffb
	go116Magic = 0xfffffffa
	go118Magic = 0xfffffff0
	go120Magic = 0xfffffff1
)

// pcln format versions, named after the Go release that introduced them.
const (
	ver12  = 12
	ver116 = 116
	ver118 = 118
	ver120 = 120
)

var errPclntab = errors.New("malformed .gopclntab")

// pclntab is a parsed header plus the sub-tables it locates. Addresses it
// returns are link-time addresses (add Image.Bias).
type pclntab struct {
	ver     int
	quantum uint64
	nfunc   uint64
	// textStart is runtime.text: functab entries are relative to it from
	// Go 1.18 (see findText).
	textStart uint64
	// gofunc is go:func.* (moduledata.gofunc), 0 if unknown: Go 1.18+
	// funcdata are offsets from it (see findGofunc).
	gofunc uint64

	data        []byte
	funcnametab string // the name table as one string: names are substrings
	cutab       []byte
	filetab     []byte
	filetabStr  string
	pctab       []byte
	functab     []byte
	funcdata    []byte // base of _func offsets
	fieldSize   uint64 // functab field size
	entrySize   uint64 // size of _func.entry
}

// pclnMagic returns the version for a header's first bytes, or 0.
func pclnMagic(b []byte) int {
	if len(b) < 8 || b[4] != 0 || b[5] != 0 {
		return 0
	}
	if q := b[6]; q != 1 && q != 2 && q != 4 {
		return 0
	}
	if b[7] != 8 {
		return 0
	}
	switch binary.LittleEndian.Uint32(b) {
	case go12Magic:
		return ver12
	case go116Magic:
		return ver116
	case go118Magic:
		return ver118
	case go120Magic:
		return ver120
	}
	return 0
}

// subslice returns b[off:] or an error.
func subslice(b []byte, off uint64, what string) ([]byte, error) {
	if off > uint64(len(b)) {
		return nil, fmt.Errorf("%w: %s offset %#x past the end of the table (%d bytes)", errPclntab, what, off, len(b))
	}
	return b[off:], nil
}

// parsePclntab parses a 64-bit little-endian pclntab. For Go 1.18+ tables
// textStart is the header's value, which is 0 from Go 1.20 on (the linker
// leaves the field unused): the caller must then find runtime.text.
func parsePclntab(data []byte) (*pclntab, error) {
	ver := pclnMagic(data)
	if ver == 0 {
		return nil, fmt.Errorf("%w: unknown header", errPclntab)
	}
	t := &pclntab{ver: ver, quantum: uint64(data[6]), data: data}
	word := func(n uint64) (uint64, error) {
		o := 8 + 8*n
		if o+8 > uint64(len(data)) {
			return 0, fmt.Errorf("%w: header truncated", errPclntab)
		}
		return binary.LittleEndian.Uint64(data[o:]), nil
	}
	var words [8]uint64
	nwords := uint64(8)
	switch ver {
	case ver12:
		nwords = 1
	case ver116:
		nwords = 7
	}
	for i := range nwords {
		w, err := word(i)
		if err != nil {
			return nil, err
		}
		words[i] = w
	}
	t.nfunc = words[0]
	t.fieldSize, t.entrySize = 8, 8
	var err error
	switch ver {
	case ver118, ver120:
		t.fieldSize, t.entrySize = 4, 4
		t.textStart = words[2]
		err = t.locate(words[3], words[4], words[5], words[6], words[7])
	case ver116:
		err = t.locate(words[2], words[3], words[4], words[5], words[6])
	case ver12:
		t.funcnametab = string(data)
		t.pctab = data
		t.funcdata = data
		t.functab = data[16:]
	}
	if err != nil {
		return nil, err
	}
	if t.nfunc == 0 || t.nfunc > uint64(len(t.functab)) {
		return nil, fmt.Errorf("%w: %d functions", errPclntab, t.nfunc)
	}
	ftSize := (2*t.nfunc + 1) * t.fieldSize
	if ftSize > uint64(len(t.functab)) {
		return nil, fmt.Errorf("%w: function table of %d entries past the end", errPclntab, t.nfunc)
	}
	if ver == ver12 {
		if ftSize+4 > uint64(len(t.functab)) {
			return nil, fmt.Errorf("%w: no file table offset", errPclntab)
		}
		fileoff := uint64(binary.LittleEndian.Uint32(t.functab[ftSize:]))
		ft, err := subslice(data, fileoff, "file table")
		if err != nil {
			return nil, err
		}
		if len(ft) < 4 {
			return nil, fmt.Errorf("%w: file table truncated", errPclntab)
		}
		n := uint64(binary.LittleEndian.Uint32(ft))
		if 4*n > uint64(len(ft)) {
			return nil, fmt.Errorf("%w: file table of %d entries past the end", errPclntab, n)
		}
		t.filetab = ft[:4*n]
	}
	t.functab = t.functab[:ftSize]
	return t, nil
}

// locate sets the sub-tables of a Go 1.16+ table from their offsets.
func (t *pclntab) locate(funcname, cu, file, pc, fn uint64) error {
	var err error
	var names []byte
	if names, err = subslice(t.data, funcname, "function name table"); err != nil {
		return err
	}
	if t.cutab, err = subslice(t.data, cu, "compilation unit table"); err != nil {
		return err
	}
	if t.filetab, err = subslice(t.data, file, "file table"); err != nil {
		return err
	}
	if t.pctab, err = subslice(t.data, pc, "pc table"); err != nil {
		return err
	}
	if t.functab, err = subslice(t.data, fn, "function table"); err != nil {
		return err
	}
	t.funcdata = t.functab
	t.funcnametab = string(names)
	t.filetabStr = string(t.filetab)
	return nil
}

// uintAt reads a functab field.
func (t *pclntab) field(i uint64) uint64 {
	o := i * t.fieldSize
	if t.fieldSize == 4 {
		return uint64(binary.LittleEndian.Uint32(t.functab[o:]))
	}
	return binary.LittleEndian.Uint64(t.functab[o:])
}

// entry returns the start of function i (i == nfunc gives the end of the
// last one).
func (t *pclntab) entry(i uint64) uint64 {
	v := t.field(2 * i)
	if t.ver >= ver118 {
		v += t.textStart
	}
	return v
}

// funcRecord returns the _func record of function i, checked to hold at
// least the fields this package reads.
func (t *pclntab) funcRecord(i uint64) ([]byte, error) {
	off := t.field(2*i + 1)
	need := t.entrySize + 8*4
	if off > uint64(len(t.funcdata)) || need > uint64(len(t.funcdata))-off {
		return nil, fmt.Errorf("%w: function %d record at %#x past the end", errPclntab, i, off)
	}
	return t.funcdata[off:], nil
}

// funcField returns uint32 field n (1-based, after the entry) of a _func.
func (t *pclntab) funcField(rec []byte, n uint64) uint32 {
	return binary.LittleEndian.Uint32(rec[t.entrySize+(n-1)*4:])
}

// name returns the NUL-terminated name at off in the name table.
func (t *pclntab) name(off uint32) (string, bool) {
	s := t.funcnametab
	if uint64(off) >= uint64(len(s)) {
		return "", false
	}
	s = s[off:]
	i := bytesIndexZero(s)
	if i < 0 {
		return "", false
	}
	return s[:i], true
}

func bytesIndexZero(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return i
		}
	}
	return -1
}

// file returns the name of file number fno of the function whose
// compilation unit starts at cu (ignored before Go 1.16).
func (t *pclntab) file(cu uint32, fno int32) string {
	if fno < 0 {
		return ""
	}
	le := binary.LittleEndian
	if t.ver == ver12 {
		o := 4 * uint64(fno)
		if fno == 0 || o+4 > uint64(len(t.filetab)) {
			return ""
		}
		off := uint64(le.Uint32(t.filetab[o:]))
		if off >= uint64(len(t.funcnametab)) {
			return ""
		}
		s := t.funcnametab[off:]
		if i := bytesIndexZero(s); i >= 0 {
			return s[:i]
		}
		return ""
	}
	if cu == ^uint32(0) {
		return ""
	}
	o := (uint64(cu) + uint64(fno)) * 4
	if o+4 > uint64(len(t.cutab)) {
		return ""
	}
	off := le.Uint32(t.cutab[o:])
	if off == ^uint32(0) || uint64(off) >= uint64(len(t.filetabStr)) {
		return ""
	}
	s := t.filetabStr[off:]
	if i := bytesIndexZero(s); i >= 0 {
		return s[:i]
	}
	return ""
}

// entryFile returns the source file of function i's first instruction
// (entry is link-time), or "" if unknown.
func (t *pclntab) entryFile(i, entry uint64) string {
	rec, err := t.funcRecord(i)
	if err != nil {
		return ""
	}
	vs, err := t.values(t.funcField(rec, 5), entry, entry+1)
	if err != nil || len(vs) == 0 {
		return ""
	}
	cu := ^uint32(0)
	if t.ver >= ver116 {
		cu = t.funcField(rec, 8)
	}
	return t.file(cu, vs[0].val)
}

// valueRange is one step of a pc-value table: val holds for [lo, hi).
type valueRange struct {
	lo, hi uint64
	val    int32
}

// values decodes the pc-value table at off for the function [entry, end).
// Offset 0 means the function has no such table.
func (t *pclntab) values(off uint32, entry, end uint64) ([]valueRange, error) {
	if off == 0 {
		return nil, nil
	}
	if uint64(off) >= uint64(len(t.pctab)) {
		return nil, fmt.Errorf("%w: pc-value table at %#x past the end", errPclntab, off)
	}
	p := t.pctab[off:]
	var out []valueRange
	val := int32(-1)
	pc := entry
	for first := true; pc < end; first = false {
		uv, n := binary.Uvarint(p)
		if n <= 0 || uv > 1<<32-1 {
			return out, fmt.Errorf("%w: bad varint in pc-value table at %#x", errPclntab, off)
		}
		p = p[n:]
		if uv == 0 && !first {
			break
		}
		// Zig-zag: the low bit is the sign.
		d := int32(uint32(uv) >> 1)
		if uv&1 != 0 {
			d = ^d
		}
		val += d
		pd, n := binary.Uvarint(p)
		if n <= 0 || pd > 1<<32-1 {
			return out, fmt.Errorf("%w: bad varint in pc-value table at %#x", errPclntab, off)
		}
		p = p[n:]
		hi := pc + pd*t.quantum
		if hi > end || hi < pc {
			hi = end
		}
		if hi > pc {
			out = append(out, valueRange{pc, hi, val})
		}
		pc = hi
	}
	return out, nil
}

// lineRange says that PCs from pc up to the next range's pc come from
// file:line. line is -1 where the table has no value.
type lineRange struct {
	pc   uint64
	line int32
	file string
}

// lines decodes function i's file and line tables into ranges sorted by
// pc, merged where neither changes. entry and end are link-time.
func (t *pclntab) lines(i, entry, end uint64) ([]lineRange, error) {
	rec, err := t.funcRecord(i)
	if err != nil {
		return nil, err
	}
	pcfile := t.funcField(rec, 5)
	pcln := t.funcField(rec, 6)
	cu := ^uint32(0)
	if t.ver >= ver116 {
		cu = t.funcField(rec, 8)
	}
	files, err := t.values(pcfile, entry, end)
	if err != nil {
		return nil, err
	}
	lns, err := t.values(pcln, entry, end)
	if err != nil {
		return nil, err
	}
	var out []lineRange
	at := func(rs []valueRange, k *int, pc uint64) (val int32, next uint64) {
		for *k < len(rs) && rs[*k].hi <= pc {
			*k++
		}
		if *k == len(rs) {
			return -1, end
		}
		if r := rs[*k]; r.lo <= pc {
			return r.val, r.hi
		}
		return -1, rs[*k].lo
	}
	var fi, li int
	for pc := entry; pc < end; {
		fv, fnext := at(files, &fi, pc)
		lv, lnext := at(lns, &li, pc)
		file := t.file(cu, fv)
		if n := len(out); n == 0 || out[n-1].line != lv || out[n-1].file != file {
			out = append(out, lineRange{pc: pc, line: lv, file: file})
		}
		pc = min(fnext, lnext)
	}
	return out, nil
}

// hasPrefixMagic reports whether b starts like a 64-bit little-endian
// pclntab header.
func hasPrefixMagic(b []byte) bool { return pclnMagic(b) != 0 }

// findPclntabMagic returns the offsets in b where a pclntab header could
// start, in order.
func findPclntabMagic(b []byte) []int {
	var offs []int
	for _, m := range []uint32{go120Magic, go118Magic, go116Magic, go12Magic} {
		var pat [4]byte
		binary.LittleEndian.PutUint32(pat[:], m)
		for i := 0; ; {
			j := bytes.Index(b[i:], pat[:])
			if j < 0 {
				break
			}
			if hasPrefixMagic(b[i+j:]) {
				offs = append(offs, i+j)
			}
			i += j + 1
		}
	}
	return offs
}
