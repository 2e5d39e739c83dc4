package goruntime

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testOffsets = layouts[len(layouts)-1].off

// TestAMD64RT0 decodes hand-assembled rt0_go excerpts.
func TestAMD64RT0(t *testing.T) {
	lea := func(reg byte, disp int32) []byte { // LEAQ disp(RIP), reg (REX.W 8D /r, mod 00 rm 101)
		b := []byte{0x48, 0x8d, 0x05 | reg<<3, 0, 0, 0, 0}
		binary.LittleEndian.PutUint32(b[3:], uint32(disp))
		return b
	}
	const rax, rcx, rdi = 0, 1, 7
	movCXToAX := []byte{0x48, 0x89, 0x08}        // MOVQ CX, 0(AX)
	movCXTo8AX := []byte{0x48, 0x89, 0x48, 0x08} // MOVQ CX, 8(AX)
	call := []byte{0xe8, 0, 0, 0, 0}             // CALL next
	cat := func(parts ...[]byte) (b []byte) {
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	for _, c := range []struct {
		name   string
		code   []byte
		g0, m0 uint64
		err    string
	}{
		{
			// LEAQ g0, DI at 0x1000 (next 0x1007, g0 = 0x1107); LEAQ g0, CX
			// at 0x1007; LEAQ m0, AX at 0x100e (next 0x1015, m0 = 0x1215);
			// MOVQ CX, m_g0(AX).
			name: "g0 then m0",
			code: cat(lea(rdi, 0x100), lea(rcx, 0xf9), lea(rax, 0x200), movCXToAX),
			g0:   0x1107, m0: 0x1215,
		},
		{
			name: "a call forgets the registers",
			code: cat(lea(rdi, 0x100), lea(rcx, 0xf9), lea(rax, 0x200), call, movCXToAX),
			err:  "no store of runtime.g0",
		},
		{
			name: "a store at another offset is not m.g0",
			code: cat(lea(rdi, 0x100), lea(rcx, 0xf9), lea(rax, 0x200), movCXTo8AX),
			err:  "no store of runtime.g0",
		},
		{
			name: "no LEA at all",
			code: cat(call, movCXToAX),
			err:  "no RIP-relative LEA",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			g0, m0, err := amd64RT0(c.code, 0x1000, testOffsets)
			if c.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.g0, g0, "g0 %#x", g0)
			assert.Equal(t, c.m0, m0, "m0 %#x", m0)
		})
	}
}

// TestARM64RT0 decodes hand-assembled rt0_go excerpts.
func TestARM64RT0(t *testing.T) {
	adrp := func(rd, pages uint32) uint32 { // ADRP Xd, pages*4096 (immlo in 30:29, immhi in 23:5)
		return 0x90000000 | (pages&3)<<29 | (pages>>2&0x7ffff)<<5 | rd
	}
	add := func(rd, rn, imm uint32) uint32 { return 0x91000000 | imm<<10 | rn<<5 | rd }
	str := func(rt, rn, off uint32) uint32 { return 0xf9000000 | (off/8)<<10 | rn<<5 | rt }
	const bl = 0x94000010  // BL +0x40
	const ldr = 0xf9400380 // MOVD (R28), R0
	words := func(ws ...uint32) []byte {
		b := make([]byte, 4*len(ws))
		for i, w := range ws {
			binary.LittleEndian.PutUint32(b[4*i:], w)
		}
		return b
	}
	for _, c := range []struct {
		name   string
		code   []byte
		g0, m0 uint64
		err    string
	}{
		{
			// At 0x10000: ADRP R28 +1 page; ADD $0x20 → g0 = 0x11020. At
			// 0x10008: ADRP R0 +2 pages; ADD $0x40 → m0 = 0x12040.
			name: "g0 then m0",
			code: words(adrp(28, 1), add(28, 28, 0x20), adrp(0, 2), add(0, 0, 0x40), str(28, 0, 0)),
			g0:   0x11020, m0: 0x12040,
		},
		{
			name: "a call keeps g but forgets R0",
			code: words(adrp(28, 1), add(28, 28, 0x20), adrp(0, 2), add(0, 0, 0x40), bl, str(28, 0, 0)),
			err:  "no store of runtime.g0",
		},
		{
			name: "a call between g0 and m0 keeps g",
			code: words(adrp(28, 1), add(28, 28, 0x20), bl, ldr, adrp(0, 2), add(0, 0, 0x40), str(28, 0, 0)),
			g0:   0x11020, m0: 0x12040,
		},
		{
			name: "a negative page offset",
			code: words(adrp(28, 1<<21-1), add(28, 28, 0x20), adrp(0, 2), add(0, 0, 0x40), str(28, 0, 0)),
			g0:   0xf020, m0: 0x12040,
		},
		{
			name: "a store at another offset is not m.g0",
			code: words(adrp(28, 1), add(28, 28, 0x20), adrp(0, 2), add(0, 0, 0x40), str(28, 0, 16)),
			err:  "no store of runtime.g0",
		},
		{
			name: "g0 never reaches R28",
			code: words(adrp(1, 1), add(1, 1, 0x20), str(1, 0, 0)),
			err:  "no ADRP+ADD of runtime.g0",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			g0, m0, err := arm64RT0(c.code, 0x10000, testOffsets)
			if c.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.g0, g0, "g0 %#x", g0)
			assert.Equal(t, c.m0, m0, "m0 %#x", m0)
		})
	}
}

func TestGoMinor(t *testing.T) {
	for v, want := range map[string]int{"go1.17.13": 17, "go1.21": 21, "go1.26rc1": 26, "go1.9": 9} {
		got, ok := goMinor(v)
		assert.True(t, ok, v)
		assert.Equal(t, want, got, v)
	}
	for _, v := range []string{"", "devel go1.27-abcdef", "go2.0", "go1."} {
		_, ok := goMinor(v)
		assert.False(t, ok, v)
	}
}
