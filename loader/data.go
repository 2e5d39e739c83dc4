package loader

import (
	"cmp"
	"slices"
)

// DataSymbol is a variable from the ELF symbol table (runtime.m0,
// runtime.g0, ...). Stripped executables have none.
type DataSymbol struct {
	Name       string
	Addr, Size uint64
}

// Data returns the variable named name.
func (img *Image) Data(name string) (DataSymbol, bool) {
	for _, d := range img.dataSymbols() {
		if d.Name == name {
			return d, true
		}
	}
	return DataSymbol{}, false
}

// DataAt returns the variable containing addr and addr's offset in it.
func (img *Image) DataAt(addr uint64) (DataSymbol, uint64, bool) {
	objs := img.dataSymbols()
	i, _ := slices.BinarySearchFunc(objs, addr, func(d DataSymbol, a uint64) int {
		if d.Addr+d.Size <= a {
			return -1
		}
		if d.Addr > a {
			return 1
		}
		return 0
	})
	if i < len(objs) && objs[i].Addr <= addr && addr < objs[i].Addr+objs[i].Size {
		return objs[i], addr - objs[i].Addr, true
	}
	return DataSymbol{}, 0, false
}

// dataSymbols returns the data symbols sorted by address.
func (img *Image) dataSymbols() []DataSymbol { return img.symbols().objects }

// sortObjects orders data symbols by address and drops overlaps (the
// larger of two symbols at one address, then the first, wins).
func sortObjects(objs []DataSymbol) []DataSymbol {
	slices.SortStableFunc(objs, func(a, b DataSymbol) int {
		return cmp.Or(cmp.Compare(a.Addr, b.Addr), cmp.Compare(b.Size, a.Size))
	})
	out := objs[:0]
	for _, d := range objs {
		if n := len(out); n > 0 && d.Addr < out[n-1].Addr+out[n-1].Size {
			continue
		}
		out = append(out, d)
	}
	return out
}
