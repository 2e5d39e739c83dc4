package unicorn

import (
	"testing"

	"github.com/gorunemu/gorunemu/emu/arch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runX86 runs code followed by SYSCALL on a fresh amd64 engine with RBX
// and RDI pointing at scratch memory and returns how it stopped.
func runX86(t *testing.T, code []byte, setup func(e *Engine)) (*Engine, Exit) {
	t.Helper()
	e := open(t, arch.AMD64)
	require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
	require.NoError(t, e.Map(0x10000, 0x1000, ProtRead|ProtWrite))
	require.NoError(t, e.WriteMem(0x1000, append(append([]byte{}, code...), 0x0f, 0x05)))
	require.NoError(t, e.RegWriteBatch([]int{int(arch.AMD64_RBX), int(arch.AMD64_RDI)}, []uint64{0x10000, 0x10000}))
	if setup != nil {
		setup(e)
	}
	x, err := e.Start(0x1000, 0)
	require.NoError(t, err)
	return e, x
}

func TestCPUIDAnswersFromTable(t *testing.T) {
	regs := []int{int(arch.AMD64_RAX), int(arch.AMD64_RBX), int(arch.AMD64_RCX), int(arch.AMD64_RDX)}
	for _, l := range arch.AMD64.CPUID {
		e, x := runX86(t, []byte{0x0f, 0xa2}, func(e *Engine) {
			require.NoError(t, e.SetCPUID(arch.AMD64.CPUID))
			require.NoError(t, e.RegWriteBatch([]int{int(arch.AMD64_RAX), int(arch.AMD64_RCX)}, []uint64{uint64(l.Leaf), 0}))
		})
		require.True(t, x.Syscall)
		v := make([]uint64, 4)
		require.NoError(t, e.RegReadBatch(regs, v))
		assert.Equal(t, []uint64{uint64(l.EAX), uint64(l.EBX), uint64(l.ECX), uint64(l.EDX)}, v, "leaf %#x", l.Leaf)
	}
	// A leaf that is not listed reads as zeros.
	e, x := runX86(t, []byte{0x0f, 0xa2}, func(e *Engine) {
		require.NoError(t, e.SetCPUID(arch.AMD64.CPUID))
		require.NoError(t, e.RegWriteBatch(regs, []uint64{0xd, 1, 2, 3}))
	})
	require.True(t, x.Syscall)
	v := make([]uint64, 4)
	require.NoError(t, e.RegReadBatch(regs, v))
	assert.Equal(t, []uint64{0, 0, 0, 0}, v)
}

// TestAdvertisedFeaturesExecute runs one instruction for every CPUID
// feature bit gorunemu reports, and one for features it must not report.
func TestAdvertisedFeaturesExecute(t *testing.T) {
	leaf := func(l, sub uint32) arch.CPUIDLeaf {
		for _, x := range arch.AMD64.CPUID {
			if x.Leaf == l && (x.Subleaf == sub || x.Subleaf == arch.AnySubleaf) {
				return x
			}
		}
		t.Fatalf("no leaf %#x", l)
		return arch.CPUIDLeaf{}
	}
	l1, l7, e1 := leaf(1, 0), leaf(7, 0), leaf(0x80000001, 0)
	cases := []struct {
		name string
		reg  uint32 // the feature word
		bit  uint
		code []byte
	}{
		{"SSE3 movddup", l1.ECX, 0, []byte{0xf2, 0x0f, 0x12, 0xc1}},
		{"SSSE3 pshufb", l1.ECX, 9, []byte{0x66, 0x0f, 0x38, 0x00, 0xc1}},
		{"CX16 cmpxchg16b", l1.ECX, 13, []byte{0xf0, 0x48, 0x0f, 0xc7, 0x0f}},
		{"SSE4.1 pminsd", l1.ECX, 19, []byte{0x66, 0x0f, 0x38, 0x39, 0xc1}},
		{"SSE4.2 crc32", l1.ECX, 20, []byte{0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc3}},
		{"AES aesenc", l1.ECX, 25, []byte{0x66, 0x0f, 0x38, 0xdc, 0xc1}},
		{"FPU fld1", l1.EDX, 0, []byte{0xd9, 0xe8}},
		{"TSC rdtsc", l1.EDX, 4, []byte{0x0f, 0x31}},
		{"CX8 cmpxchg8b", l1.EDX, 8, []byte{0xf0, 0x0f, 0xc7, 0x0f}},
		{"CMOV cmovz", l1.EDX, 15, []byte{0x48, 0x0f, 0x44, 0xc3}},
		{"CLFSH clflush", l1.EDX, 19, []byte{0x0f, 0xae, 0x3b}},
		{"MMX paddb", l1.EDX, 23, []byte{0x0f, 0xfc, 0xc1}},
		{"FXSR fxsave", l1.EDX, 24, []byte{0x0f, 0xae, 0x07}},
		{"SSE addps", l1.EDX, 25, []byte{0x0f, 0x58, 0xc1}},
		{"SSE2 paddq", l1.EDX, 26, []byte{0x66, 0x0f, 0xd4, 0xc1}},
		{"BMI1 andn", l7.EBX, 3, []byte{0xc4, 0xe2, 0xf8, 0xf2, 0xc3}},
		{"BMI2 shlx", l7.EBX, 8, []byte{0xc4, 0xe2, 0xf9, 0xf7, 0xc3}},
		{"ADX adcx", l7.EBX, 19, []byte{0x66, 0x48, 0x0f, 0x38, 0xf6, 0xc3}},
		{"LAHF lahf", e1.ECX, 0, []byte{0x9f}},
		{"LZCNT lzcnt", e1.ECX, 5, []byte{0xf3, 0x48, 0x0f, 0xbd, 0xc3}},
		{"RDTSCP rdtscp", e1.EDX, 27, []byte{0x0f, 0x01, 0xf9}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.NotZero(t, c.reg&(1<<c.bit), "feature bit not advertised")
			_, x := runX86(t, c.code, nil)
			assert.True(t, x.Syscall, "instruction did not run: %v", x.Fault)
		})
	}
	// Not advertised, because they do not execute.
	absent := []struct {
		name string
		reg  uint32
		bit  uint
		code []byte
	}{
		{"POPCNT", l1.ECX, 23, []byte{0xf3, 0x48, 0x0f, 0xb8, 0xc3}},
		{"MOVBE", l1.ECX, 22, []byte{0x48, 0x0f, 0x38, 0xf0, 0x03}},
		{"PCLMULQDQ", l1.ECX, 1, []byte{0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00}},
		{"OSXSAVE xgetbv", l1.ECX, 27, []byte{0x0f, 0x01, 0xd0}},
	}
	for _, c := range absent {
		t.Run("no "+c.name, func(t *testing.T) {
			assert.Zero(t, c.reg&(1<<c.bit), "feature bit advertised")
			_, x := runX86(t, c.code, nil)
			require.NotNil(t, x.Fault, "instruction ran: advertise it")
			assert.Equal(t, FaultInvalidInsn, x.Fault.Kind)
		})
	}
}

func TestFixTSC(t *testing.T) {
	// rdtsc; nop; then SYSCALL: the hook on the nop replaces RDX:RAX.
	e, x := runX86(t, []byte{0x0f, 0x31, 0x90}, func(e *Engine) {
		require.NoError(t, e.FixTSC([]uint64{0x1002}))
		e.SetTSCOffset(1 << 40)
	})
	require.True(t, x.Syscall)
	v := make([]uint64, 2)
	require.NoError(t, e.RegReadBatch([]int{int(arch.AMD64_RAX), int(arch.AMD64_RDX)}, v))
	tsc := v[1]<<32 | v[0]
	assert.Equal(t, uint64(1<<40)+e.Insns(), tsc, "one tick per instruction plus the offset")
}
