package loader

import "sync/atomic"

// SPDelta returns how far the stack pointer at pc is below its value at
// the function's entry, from the function's pcsp table in .gopclntab: the
// size of the frame the function has set up so far. ok is false for
// addresses outside Go functions or without a table.
//
// It is what an unwinder needs to find the return address: on amd64 it is
// at SP+delta (CALL pushed it just above the frame); on arm64 it is in LR
// while delta is 0 and at SP+0 once the prologue has stored it.
func (img *Image) SPDelta(pc uint64) (int64, bool) {
	s := img.symbols()
	i := s.find(pc)
	if i < 0 || s.funcs[i].pcln < 0 {
		return 0, false
	}
	f := &s.funcs[i]
	tab := s.spTable(f)
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
		return 0, false
	}
	return int64(tab[lo].val), true
}

// spTable returns f's decoded pcsp ranges (biased), decoding them on first
// use.
func (s *symbols) spTable(f *funcInfo) []valueRange {
	p := &s.sps[f.pcln]
	if t := p.Load(); t != nil {
		return *t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := p.Load(); t != nil {
		return *t
	}
	var tab []valueRange
	if rec, err := s.tab.funcRecord(uint64(f.pcln)); err == nil {
		tab, err = s.tab.values(s.tab.funcField(rec, 4), f.Entry-s.bias, f.End-s.bias)
		if err != nil {
			tab = nil
		}
	}
	for k := range tab {
		tab[k].lo += s.bias
		tab[k].hi += s.bias
	}
	p.Store(&tab)
	return tab
}

// spTables is allocated with the line tables.
type spTables = []atomic.Pointer[[]valueRange]
