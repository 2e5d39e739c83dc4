package unicorn

import (
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
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
	x, err := e.Start(0x1000, Unlimited)
	require.NoError(t, err)
	return e, x
}

// allFeatures is the CPU with every candidate feature of amd64 reported.
func allFeatures() arch.CPU {
	return arch.AMD64.CPU(func(arch.CPUFeature) bool { return true })
}

func TestCPUIDAnswersFromTable(t *testing.T) {
	cpu := allFeatures()
	regs := []int{int(arch.AMD64_RAX), int(arch.AMD64_RBX), int(arch.AMD64_RCX), int(arch.AMD64_RDX)}
	for _, l := range cpu.CPUID {
		e, x := runX86(t, []byte{0x0f, 0xa2}, func(e *Engine) {
			require.NoError(t, e.SetCPUID(cpu.CPUID))
			require.NoError(t, e.RegWriteBatch([]int{int(arch.AMD64_RAX), int(arch.AMD64_RCX)}, []uint64{uint64(l.Leaf), 0}))
		})
		require.True(t, x.Syscall)
		v := make([]uint64, 4)
		require.NoError(t, e.RegReadBatch(regs, v))
		assert.Equal(t, []uint64{uint64(l.EAX), uint64(l.EBX), uint64(l.ECX), uint64(l.EDX)}, v, "leaf %#x", l.Leaf)
	}
	// A leaf that is not listed reads as zeros.
	e, x := runX86(t, []byte{0x0f, 0xa2}, func(e *Engine) {
		require.NoError(t, e.SetCPUID(cpu.CPUID))
		require.NoError(t, e.RegWriteBatch(regs, []uint64{0xd, 1, 2, 3}))
	})
	require.True(t, x.Syscall)
	v := make([]uint64, 4)
	require.NoError(t, e.RegReadBatch(regs, v))
	assert.Equal(t, []uint64{0, 0, 0, 0}, v)
}

// TestProbeMatchesExecution runs every candidate feature's instruction on
// an engine of its own and checks that Probe, which runs them all on one
// engine, reports the same.
func TestProbeMatchesExecution(t *testing.T) {
	var snippets [][]byte
	var names []string
	for _, f := range arch.AMD64.Features {
		if f.Probe != nil {
			snippets = append(snippets, f.Probe)
			names = append(names, f.Name)
		}
	}
	a := arch.AMD64
	ran, err := Probe(Arch(a.UnicornArch), Mode(a.UnicornMode), a.CPUModel, snippets)
	require.NoError(t, err)
	require.Len(t, ran, len(snippets))
	for i, code := range snippets {
		_, x := runX86(t, code, nil)
		if x.Syscall {
			assert.True(t, ran[i], "%s runs but the probe says it does not", names[i])
		} else {
			require.NotNil(t, x.Fault, names[i])
			assert.Equal(t, FaultInvalidInsn, x.Fault.Kind, names[i])
			assert.False(t, ran[i], "%s does not run but the probe says it does", names[i])
		}
	}
	// A snippet that is not an instruction at all (UD2) never runs.
	ran, err = Probe(Arch(a.UnicornArch), Mode(a.UnicornMode), a.CPUModel, [][]byte{{0x0f, 0x0b}, {0x90}})
	require.NoError(t, err)
	assert.Equal(t, []bool{false, true}, ran)
}

// TestEngineFeatures pins what the linked Unicorn executes on the guest's
// CPU model, so that a change of engine or model shows up as a change of
// the guest's CPU. 2.1 runs the x86-64-v2 instructions 2.0.1 lacked
// (POPCNT above all). Sandy Bridge has no MOVBE, ADX or AVX2, and no
// RDRAND or RDSEED, whose values would come from the host.
func TestEngineFeatures(t *testing.T) {
	require.True(t, strings.HasPrefix(Version(), "2."), Version())
	for _, c := range []struct {
		name string
		code []byte
		runs bool
	}{
		{"POPCNT", []byte{0xf3, 0x48, 0x0f, 0xb8, 0xc3}, true},
		{"MOVBE", []byte{0x48, 0x0f, 0x38, 0xf0, 0x03}, false},
		{"RDRAND rax", []byte{0x48, 0x0f, 0xc7, 0xf0}, false},
		{"RDSEED rax", []byte{0x48, 0x0f, 0xc7, 0xf8}, false},
		{"PCLMULQDQ", []byte{0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00}, true},
		{"SSE4.2 crc32", []byte{0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc3}, true},
		{"ADX adcx", []byte{0x66, 0x48, 0x0f, 0x38, 0xf6, 0xc3}, false},
		{"AVX vaddps", []byte{0xc5, 0xf4, 0x58, 0xc2}, false},
	} {
		_, x := runX86(t, c.code, nil)
		assert.Equal(t, c.runs, x.Syscall, "%s on libunicorn %s", c.name, Version())
	}
}
