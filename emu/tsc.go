package emu

import (
	"bytes"
	"sort"

	"golang.org/x/arch/x86/x86asm"

	"github.com/gorunemu/gorunemu/loader"
)

// fixTSC makes every RDTSC and RDTSCP in the executable's functions read
// the virtual clock (one tick per instruction) instead of the host's time
// stamp counter, on engines that cannot hook the instructions themselves
// (Unicorn before 2.1.2). Go reads it in runtime.cputicks; without this,
// two runs differ.
func (p *Process) fixTSC() error {
	if p.arch.CPUID == nil || p.eng.TSCHooked() { // only x86 has a readable time stamp counter
		return nil
	}
	funcs := p.img.Funcs()
	var afters []uint64
	for _, s := range p.img.Segments {
		if s.Prot&loader.PROT_EXEC == 0 {
			continue
		}
		for _, pat := range [][]byte{{0x0f, 0x31}, {0x0f, 0x01, 0xf9}} {
			for off := 0; ; {
				i := bytes.Index(s.Data[off:], pat)
				if i < 0 {
					break
				}
				at := s.Addr + uint64(off+i)
				off += i + 1
				if next, ok := rdtscAt(s, funcs, at); ok {
					afters = append(afters, next)
				}
			}
		}
	}
	return p.eng.FixTSC(afters)
}

// rdtscAt reports whether an RDTSC or RDTSCP instruction starts at addr,
// by decoding its function from the entry, and returns the address after.
func rdtscAt(s loader.Segment, funcs []loader.Func, addr uint64) (uint64, bool) {
	i := sort.Search(len(funcs), func(i int) bool { return funcs[i].End > addr })
	if i == len(funcs) || funcs[i].Entry > addr || funcs[i].Entry < s.Addr {
		return 0, false
	}
	pc := funcs[i].Entry
	for pc < addr {
		inst, err := x86asm.Decode(s.Data[pc-s.Addr:], 64)
		if err != nil {
			pc++ // data or padding: resynchronise
			continue
		}
		pc += uint64(inst.Len)
	}
	if pc != addr {
		return 0, false
	}
	inst, err := x86asm.Decode(s.Data[pc-s.Addr:], 64)
	if err != nil || (inst.Op != x86asm.RDTSC && inst.Op != x86asm.RDTSCP) {
		return 0, false
	}
	return pc + uint64(inst.Len), true
}
