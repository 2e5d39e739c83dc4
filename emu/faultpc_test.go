package emu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"

	"github.com/gorunemu/gorunemu/arch"
)

// TestARM64MemAccess decodes one instruction of each load/store class.
// Each encoding is checked against arm64asm's disassembly first, so a
// wrong word fails loudly instead of testing something else.
func TestARM64MemAccess(t *testing.T) {
	x := make([]uint64, 32)
	for i := range x {
		x[i] = 0x10000 * uint64(i+1)
	}
	x[31] = 0x7ff000 // sp
	const pc = 0x400000
	for _, c := range []struct {
		word        uint32
		asm         string
		addr, size  uint64
		load, store bool
	}{
		{0xf9400020, "LDR X0, [X1]", x[1], 8, true, false},
		{0xf9000c22, "STR X2, [X1,#24]", x[1] + 24, 8, false, true},
		{0x39400461, "LDRB W1, [X3,#1]", x[3] + 1, 1, true, false},
		{0xb9400be0, "LDR W0, [SP,#8]", x[31] + 8, 4, true, false},
		{0xf85f8020, "LDUR X0, [X1,#-8]", x[1] - 8, 8, true, false},
		{0xf8008420, "STR X0, [X1],#8", x[1], 8, false, true},
		{0xf8010c20, "STR X0, [X1,#16]!", x[1] + 16, 8, false, true},
		{0xf8627820, "LDR X0, [X1,X2,LSL #3]", x[1] + x[2]<<3, 8, true, false},
		{0xb862c820, "LDR W0, [X1,W2,SXTW]", x[1] + uint64(int64(int32(x[2]))), 4, true, false},
		{0xa9410be1, "LDP X1, X2, [SP,#16]", x[31] + 16, 16, true, false},
		{0xa9bf7bfd, "STP X29, X30, [SP,#-16]!", x[31] - 16, 16, false, true},
		{0xa8c17bfd, "LDP X29, X30, [SP],#16", x[31], 16, true, false},
		{0x3dc00420, "LDR Q0, [X1,#16]", x[1] + 16, 16, true, false},
		{0xc85f7c20, "LDXR X0, [X1]", x[1], 8, true, false},
		{0xc89ffc20, "STLR X0, [X1]", x[1], 8, false, true},
		{0xf8e20020, "LDADDAL X2, X0, [X1]", x[1], 8, true, true},
		{0x4c407020, "LD1 {V0.16B}, [X1]", x[1], 64, true, false},
	} {
		inst, err := arm64asm.Decode([]byte{byte(c.word), byte(c.word >> 8), byte(c.word >> 16), byte(c.word >> 24)})
		if c.word == 0xf8e20020 {
			// arm64asm has no LSE atomics; Arm ARM C6.2.83 LDADD:
			// size 11 111000 A=1 R=1 1 Rs=2 0 000 00 Rn=1 Rt=0.
			require.Error(t, err)
		} else if assert.NoError(t, err, "%#08x", c.word) {
			assert.Equal(t, c.asm, inst.String(), "encoding %#08x", c.word)
		}
		m, ok := arm64MemAccess(c.word, pc, x)
		if assert.True(t, ok, c.asm) {
			assert.Equal(t, memAccess{addr: c.addr, size: c.size, load: c.load, store: c.store}, m, c.asm)
		}
	}
	for _, w := range []uint32{0xd2800201 /* MOVZ */, 0x8b020020 /* ADD */, 0x14000000 /* B */, 0xd65f03c0 /* RET */} {
		_, ok := arm64MemAccess(w, pc, x)
		assert.False(t, ok, "%#08x is no load or store", w)
	}
}

// TestX86MemAccess computes memory operands' addresses and directions.
func TestX86MemAccess(t *testing.T) {
	val := map[arch.Reg]uint64{}
	for x86, r := range x86Regs {
		val[r] = 0x1000 * uint64(x86)
	}
	const pc = 0x401000
	for _, c := range []struct {
		code        []byte
		asm         string // Go syntax, to check the encoding
		addr, size  uint64
		load, store bool
	}{
		{[]byte{0x48, 0x8b, 0x03}, "MOVQ 0(BX), AX", val[arch.AMD64_RBX], 8, true, false},
		{[]byte{0x48, 0x89, 0x43, 0x10}, "MOVQ AX, 0x10(BX)", val[arch.AMD64_RBX] + 0x10, 8, true, true},
		{[]byte{0x48, 0x8b, 0x44, 0xcb, 0xf8}, "MOVQ -0x8(BX)(CX*8), AX", val[arch.AMD64_RBX] + 8*val[arch.AMD64_RCX] - 8, 8, true, false},
		{[]byte{0x48, 0x8b, 0x05, 0x10, 0, 0, 0}, "MOVQ 0x10(IP), AX", pc + 7 + 0x10, 8, true, false},
		{[]byte{0x64, 0x48, 0x8b, 0x0c, 0x25, 0xf8, 0xff, 0xff, 0xff}, "MOVQ FS:0xfffffff8, CX", val[arch.AMD64_FS_BASE] - 8, 8, true, false},
		{[]byte{0x48, 0x39, 0x03}, "CMPQ 0(BX), AX", val[arch.AMD64_RBX], 8, true, false},
		{[]byte{0xc6, 0x00, 0xcc}, "MOVB $0xcc, 0(AX)", val[arch.AMD64_RAX], 1, true, true},
	} {
		inst, err := x86asm.Decode(c.code, 64)
		require.NoError(t, err, "% x", c.code)
		require.Equal(t, c.asm, x86asm.GoSyntax(inst, pc, nil), "encoding % x", c.code)
		m, ok := x86MemAccess(inst, pc, val)
		if assert.True(t, ok, c.asm) {
			assert.Equal(t, memAccess{addr: c.addr, size: c.size, load: c.load, store: c.store}, m, c.asm)
		}
	}
	lea, err := x86asm.Decode([]byte{0x48, 0x8d, 0x43, 0x10}, 64) // LEAQ 0x10(BX), AX
	require.NoError(t, err)
	_, ok := x86MemAccess(lea, pc, val)
	assert.False(t, ok, "LEA accesses no memory")

	// An access covers only its own bytes: a fault on the next page
	// belongs to the load from 8(BX), not to the one from 0(BX).
	m := memAccess{addr: 0x1ff8, size: 8, load: true}
	assert.True(t, m.covers(0x1ff8, false))
	assert.False(t, m.covers(0x2000, false))
	assert.False(t, m.covers(0x1ff8, true), "a load does not explain a write fault")
}
