package emu

import (
	"encoding/binary"

	"golang.org/x/arch/x86/x86asm"

	"github.com/gorunemu/gorunemu/arch"
)

// Unicorn 2.0.1 does not bring the PC up to date before a data access
// faults (unicorn#1699, on both arches): after the fault the PC register
// holds the start of the translation block, or of an older one that
// jumped to it directly, while the other registers are as they were just
// before the faulting instruction (emu/unicorn's TestFaultMidBlock).
// faultPC finds that instruction: the first load or store of the block
// the block hook saw start last whose address, computed from the
// registers, covers the fault address with the same direction of access.
// When none does, the PC register is kept.

// faultPC returns the PC of the instruction that made fault f on thread
// t, which is loaded in the engine with its PC register at pc.
func (p *Process) faultPC(t *Thread, f *Fault, pc uint64) uint64 {
	if f.Access != "read" && f.Access != "write" {
		return pc
	}
	block, size := p.eng.LastBlock()
	if size == 0 {
		return pc
	}
	code := p.codeAt(block, int(size))
	write := f.Access == "write"
	var at uint64
	var ok bool
	switch p.arch.Name {
	case "arm64":
		at, ok = p.arm64FaultPC(t, f.Addr, write, block, code)
	case "amd64":
		at, ok = p.amd64FaultPC(t, f.Addr, write, block, code)
	default:
		panic("emu: no fault decoder for arch " + p.arch.Name)
	}
	if !ok {
		return pc
	}
	return at
}

func (p *Process) arm64FaultPC(t *Thread, addr uint64, write bool, pc uint64, code []byte) (uint64, bool) {
	regs := make([]arch.Reg, 32)
	for n := range 31 {
		regs[n] = arch.ARM64X(n)
	}
	regs[31] = arch.ARM64_SP
	vals := make([]uint64, 32)
	if err := t.Regs(regs, vals); err != nil {
		return 0, false
	}
	for i := 0; i+4 <= len(code); i += 4 {
		w := binary.LittleEndian.Uint32(code[i:])
		at := pc + uint64(i)
		if m, ok := arm64MemAccess(w, at, vals); ok && m.covers(addr, write) {
			return at, true
		}
	}
	return 0, false
}

// x86Regs are the registers an x86-64 address may use, by x86asm's name.
var x86Regs = map[x86asm.Reg]arch.Reg{
	x86asm.RAX: arch.AMD64_RAX, x86asm.RCX: arch.AMD64_RCX, x86asm.RDX: arch.AMD64_RDX, x86asm.RBX: arch.AMD64_RBX,
	x86asm.RSP: arch.AMD64_RSP, x86asm.RBP: arch.AMD64_RBP, x86asm.RSI: arch.AMD64_RSI, x86asm.RDI: arch.AMD64_RDI,
	x86asm.R8: arch.AMD64_R8, x86asm.R9: arch.AMD64_R9, x86asm.R10: arch.AMD64_R10, x86asm.R11: arch.AMD64_R11,
	x86asm.R12: arch.AMD64_R12, x86asm.R13: arch.AMD64_R13, x86asm.R14: arch.AMD64_R14, x86asm.R15: arch.AMD64_R15,
	x86asm.FS: arch.AMD64_FS_BASE, x86asm.GS: arch.AMD64_GS_BASE,
}

func (p *Process) amd64FaultPC(t *Thread, addr uint64, write bool, pc uint64, code []byte) (uint64, bool) {
	regs := make([]arch.Reg, 0, len(x86Regs))
	for _, r := range x86Regs {
		regs = append(regs, r)
	}
	vals := make([]uint64, len(regs))
	if err := t.Regs(regs, vals); err != nil {
		return 0, false
	}
	val := make(map[arch.Reg]uint64, len(regs))
	for i, r := range regs {
		val[r] = vals[i]
	}
	for off := 0; off < len(code); {
		inst, err := x86asm.Decode(code[off:], 64)
		if err != nil {
			break
		}
		at := pc + uint64(off)
		if m, ok := x86MemAccess(inst, at, val); ok && m.covers(addr, write) {
			return at, true
		}
		off += inst.Len
	}
	return 0, false
}

// insnsBetween counts the instructions from block, where a translation
// block starts, up to pc inside it: the index of pc's instruction in the
// block. It is 0 when pc is not found by decoding from block.
func (p *Process) insnsBetween(block, pc uint64) uint64 {
	if pc <= block || pc-block > maxBlockBytes {
		return 0
	}
	if n := p.arch.InsnLen; n != 0 {
		return (pc - block) / n
	}
	code := p.codeAt(block, int(pc-block))
	var count uint64
	for off := 0; off < len(code); count++ {
		inst, err := x86asm.Decode(code[off:], 64)
		if err != nil {
			return 0
		}
		off += inst.Len
	}
	return count
}

// maxBlockBytes bounds a translation block's size (QEMU's TCG stops a
// block well within a page).
const maxBlockBytes = 4096

// codeAt reads up to n bytes of code at pc, stopping at unmapped memory.
func (p *Process) codeAt(pc uint64, n int) []byte {
	code := make([]byte, n)
	page := p.arch.PageSize
	got := 0
	for got < n {
		chunk := min(n-got, int(page-(pc+uint64(got))%page))
		if p.mem.read(pc+uint64(got), code[got:got+chunk], true) != nil {
			break
		}
		got += chunk
	}
	return code[:got]
}

// x86MemAccess computes the address of inst's memory operand from the
// registers in val. A memory destination (the first operand, in Intel
// order) is written and, for read-modify-write instructions, read; CMP
// and TEST only read it; LEA and NOP access nothing.
func x86MemAccess(inst x86asm.Inst, pc uint64, val map[arch.Reg]uint64) (m memAccess, ok bool) {
	switch inst.Op {
	case x86asm.LEA, x86asm.NOP, x86asm.PREFETCHNTA, x86asm.PREFETCHT0, x86asm.PREFETCHT1, x86asm.PREFETCHT2, x86asm.PREFETCHW:
		return memAccess{}, false
	}
	for i, a := range inst.Args {
		mem, isMem := a.(x86asm.Mem)
		if !isMem {
			continue
		}
		addr := uint64(mem.Disp)
		if mem.Disp >= 1<<31 && mem.Disp < 1<<32 {
			// A 32-bit displacement, which the CPU sign-extends
			// (x86asm leaves an absolute one unsigned).
			addr = uint64(int64(int32(uint32(mem.Disp))))
		}
		if mem.Segment == x86asm.FS || mem.Segment == x86asm.GS {
			addr += val[x86Regs[mem.Segment]]
		}
		switch {
		case mem.Base == x86asm.RIP:
			addr += pc + uint64(inst.Len)
		case mem.Base != 0:
			addr += x86Reg(mem.Base, val)
		}
		if mem.Index != 0 {
			addr += x86Reg(mem.Index, val) * uint64(mem.Scale)
		}
		if inst.AddrSize == 32 {
			addr = uint64(uint32(addr))
		}
		size := uint64(max(inst.MemBytes, 1))
		if i == 0 && inst.Op != x86asm.CMP && inst.Op != x86asm.TEST {
			return memAccess{addr: addr, size: size, load: true, store: true}, true
		}
		return memAccess{addr: addr, size: size, load: true}, true
	}
	return memAccess{}, false
}

// x86Reg is the value of an address register, 64- or 32-bit.
func x86Reg(r x86asm.Reg, val map[arch.Reg]uint64) uint64 {
	if r >= x86asm.EAX && r <= x86asm.R15L {
		return uint64(uint32(val[x86Regs[r-x86asm.EAX+x86asm.RAX]]))
	}
	return val[x86Regs[r]]
}

// memAccess is where a load or store goes and how many bytes it spans
// (at most; LD1..LD4 and literal loads are counted at their largest).
type memAccess struct {
	addr, size  uint64
	load, store bool
}

// covers reports whether m could have faulted at addr: Unicorn reports
// the address of the access, or of the part of it (one register of a
// pair, the page it crosses into) that faulted.
func (m memAccess) covers(addr uint64, write bool) bool {
	if write && !m.store || !write && !m.load {
		return false
	}
	return addr >= m.addr && addr-m.addr < max(m.size, 1)
}

// arm64MemAccess decodes the address a load/store instruction w at pc
// accesses, given the registers x0..x30 and sp in x (Arm ARM, C4.1.66
// "Loads and Stores"). ok is false for other instructions.
func arm64MemAccess(w uint32, pc uint64, x []uint64) (m memAccess, ok bool) {
	rn := x[w>>5&31]               // base: register 31 is SP
	reg := func(n uint32) uint64 { // register operand: 31 is XZR
		if n == 31 {
			return 0
		}
		return x[n]
	}
	v := w>>26&1 == 1 // SIMD&FP register
	size := w >> 30
	opc := w >> 22 & 3
	// loadOpc is the direction of the single-register forms: for general
	// registers opc 00 stores and the rest load; for SIMD&FP, opc bit 0
	// loads.
	loadOpc := opc != 0
	scale := size
	if v {
		loadOpc = opc&1 == 1
		scale |= (opc & 2) << 1 // 128-bit Q
	}
	simm := func(bits, shift uint32) uint64 {
		return uint64(int64(int32(w<<(32-shift-bits)) >> (32 - bits)))
	}
	one := uint64(1) << scale // a single register's access
	switch {
	case w>>24&0x3b == 0x39: // load/store register (unsigned immediate)
		return memAccess{addr: rn + uint64(w>>10&0xfff)<<scale, size: one, load: loadOpc, store: !loadOpc}, true
	case w>>24&0x3b == 0x38 && w>>21&1 == 0: // unscaled, pre-, post-index, unprivileged
		addr := rn + simm(9, 12)
		if w>>10&3 == 1 { // post-index: the base, then the writeback
			addr = rn
		}
		return memAccess{addr: addr, size: one, load: loadOpc, store: !loadOpc}, true
	case w>>24&0x3b == 0x38 && w>>10&3 == 2: // register offset
		off := reg(w >> 16 & 31)
		switch w >> 13 & 7 {
		case 2: // UXTW
			off = uint64(uint32(off))
		case 6: // SXTW
			off = uint64(int64(int32(off)))
		}
		if w>>12&1 == 1 {
			off <<= scale
		}
		return memAccess{addr: rn + off, size: one, load: loadOpc, store: !loadOpc}, true
	case w>>24&0x3b == 0x38 && w>>10&3 == 0: // atomic memory operations (LSE)
		return memAccess{addr: rn, size: 1 << size, load: true, store: true}, true
	case w>>27&7 == 5: // load/store pair
		pscale := 2 + size>>1
		if v {
			pscale = 2 + size
		}
		addr := rn + simm(7, 15)<<pscale
		if w>>23&3 == 1 { // post-index
			addr = rn
		}
		load := w>>22&1 == 1
		return memAccess{addr: addr, size: 2 << pscale, load: load, store: !load}, true
	case w>>24&0x3f == 0x08: // exclusive and ordered (LDXR, STLR, CAS, ...)
		load := w>>22&1 == 1
		n := uint64(1) << size
		if w>>21&1 == 1 { // pairs (LDXP, CASP) and CAS: at most two registers
			n *= 2
		}
		if w>>23&1 == 1 && w>>21&1 == 1 { // CAS: read and write
			return memAccess{addr: rn, size: n, load: true, store: true}, true
		}
		return memAccess{addr: rn, size: n, load: load, store: !load}, true
	case w>>24&0x3f == 0x19 && w>>21&1 == 0 && w>>10&3 == 0: // LDAPUR, STLUR
		return memAccess{addr: rn + simm(9, 12), size: 1 << size, load: opc != 0, store: opc == 0}, true
	case w&0xbf800000 == 0x0c000000, w&0xbf800000 == 0x0c800000, // LD1..LD4, ST1..ST4
		w&0xbf800000 == 0x0d000000, w&0xbf800000 == 0x0d800000:
		load := w>>22&1 == 1
		return memAccess{addr: rn, size: 64, load: load, store: !load}, true
	case w>>24&0x3b == 0x18: // load register (literal)
		return memAccess{addr: pc + simm(19, 5)<<2, size: 16, load: true}, true
	}
	return memAccess{}, false
}
