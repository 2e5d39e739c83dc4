package goruntime

import (
	"encoding/binary"
	"errors"

	"github.com/gorunemu/gorunemu/arch"
)

var arm64Rules = &rules{
	arch:         arch.ARM64,
	tlsName:      "TPIDR_EL0",
	gSlotInTLS:   false,
	gTLSVar:      "runtime.tls_g",
	gRegOnlyInGo: false,
	g0StackSize:  func(int) uint64 { return g0StackSize },
	guardsInRT0:  true,
	syscallInsn:  []byte{0x01, 0x00, 0x00, 0xd4}, // SVC #0
	rt0:          arm64RT0,
}

// AArch64 encodings that arm64RT0 follows (Arm ARM, C6.2: ADRP, ADD
// (immediate), STR (immediate) unsigned offset, 64-bit).
const (
	adrpMask, adrpBits = 0x9f000000, 0x90000000
	addMask, addBits   = 0xff800000, 0x91000000 // sf=1 op=0 S=0, sh in bit 22
	strMask, strBits   = 0xffc00000, 0xf9000000
	// Loads and stores with an unsigned immediate offset; bit 22 is L.
	ldstMask, ldstBits = 0x3b000000, 0x39000000
	blMask, blBits     = 0xfc000000, 0x94000000
	blrMask, blrBits   = 0xfffffc1f, 0xd63f0000
	mrsMask, mrsBits   = 0xfff00000, 0xd5300000
	gReg               = 28 // R28 is g (runtime/asm_arm64.s, cmd/internal/obj/arm64 REGG)
)

// arm64RT0 decodes rt0_go (runtime/asm_arm64.s), which starts with
// "MOVD $runtime·g0(SB), g" (ADRP+ADD into R28) and later "MOVD
// $runtime·m0(SB), R0; MOVD g, m_g0(R0)". It tracks the registers that
// hold ADRP(+ADD) addresses: g0 is the first address put in R28; m0 is
// the base of the first store of R28 at offset m.g0.
func arm64RT0(code []byte, pc uint64, off Offsets) (g0, m0 uint64, err error) {
	regs := map[uint32]uint64{}
	for ; len(code) >= 4; code, pc = code[4:], pc+4 {
		w := binary.LittleEndian.Uint32(code)
		rd, rn := w&31, (w>>5)&31
		switch {
		case w&adrpMask == adrpBits:
			imm := int64(((w>>5)&0x7ffff)<<2|(w>>29)&3) << 12
			imm = imm << 31 >> 31 // sign-extend 33 bits
			regs[rd] = uint64(int64(pc&^0xfff) + imm)
		case w&addMask == addBits:
			imm := uint64((w >> 10) & 0xfff)
			if w&(1<<22) != 0 {
				imm <<= 12
			}
			if base, ok := regs[rn]; ok && rn != 31 {
				regs[rd] = base + imm
				if rd == gReg && g0 == 0 {
					g0 = regs[rd]
				}
			} else {
				delete(regs, rd)
			}
		case w&strMask == strBits:
			offset := uint64((w>>10)&0xfff) * 8
			if rd == gReg && g0 != 0 && regs[gReg] == g0 && offset == off.MG0 {
				if base, ok := regs[rn]; ok && rn != 31 {
					return g0, base, nil
				}
			}
		case w&ldstMask == ldstBits && w&(1<<22) == 0:
			// another store: writes no register
		case (w>>26)&7 == 5: // branches, exceptions, system (C4.1.65)
			switch {
			case w&blMask == blBits, w&blrMask == blrBits:
				// A call may clobber every register but g.
				g, ok := regs[gReg]
				clear(regs)
				if ok {
					regs[gReg] = g
				}
			case w&mrsMask == mrsBits:
				delete(regs, rd)
			}
		default:
			delete(regs, rd)
		}
	}
	if g0 == 0 {
		return 0, 0, errors.New("no ADRP+ADD of runtime.g0 into R28")
	}
	return 0, 0, errors.New("no store of runtime.g0 into runtime.m0's g0 field")
}
