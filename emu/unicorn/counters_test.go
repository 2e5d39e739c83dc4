package unicorn

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
)

// TestTSCIsVirtual checks that RDTSC and RDTSCP read the virtual counter
// (instructions plus the offset), wherever they are: here in code the
// test writes, which no scan of a binary would find, and one reached at
// an offset into another instruction's bytes; and that the instructions
// after one are counted once (with Unicorn before 2.1.2 RDTSC faults and
// the rest of its block runs as a block of its own).
func TestTSCIsVirtual(t *testing.T) {
	regs := []int{int(arch.AMD64_RAX), int(arch.AMD64_RDX), int(arch.AMD64_RCX)}
	for name, c := range map[string]struct {
		code  []byte
		start uint64
	}{
		"rdtsc":  {[]byte{0x0f, 0x31}, 0x1000},
		"rdtscp": {[]byte{0x0f, 0x01, 0xf9}, 0x1000},
		// mov eax, 0x9090310f: entered one byte in, it is rdtsc; nop; nop.
		"misaligned rdtsc":    {[]byte{0xb8, 0x0f, 0x31, 0x90, 0x90}, 0x1001},
		"rdtsc with prefixes": {[]byte{0x66, 0x48, 0x0f, 0x31, 0x90}, 0x1000},
	} {
		e := open(t, arch.AMD64)
		require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
		require.NoError(t, e.WriteMem(0x1000, append(append([]byte{}, c.code...), 0x0f, 0x05)))
		require.NoError(t, e.RegWriteBatch(regs, []uint64{0, 0, 0xdead}))
		e.SetTSCOffset(5 << 32)
		x, err := e.Start(c.start, Unlimited)
		require.NoError(t, err)
		require.True(t, x.Syscall, "%s: %v", name, x.Fault)
		v := make([]uint64, 3)
		require.NoError(t, e.RegReadBatch(regs, v))
		tsc := v[1]<<32 | v[0]
		assert.Equal(t, e.Insns()+5<<32, tsc, "%s reads the virtual counter", name)
		if name == "rdtscp" {
			assert.Zero(t, v[2], "TSC_AUX is CPU 0")
		}
		want := map[string]uint64{"rdtsc": 2, "rdtscp": 2, "misaligned rdtsc": 4, "rdtsc with prefixes": 3}[name]
		assert.Equal(t, want, e.Insns(), "%s: instructions counted once", name)
	}
}

// TestARM64CountersAreVirtual checks CNTVCT_EL0 against the virtual clock
// at the CPU's own CNTFRQ_EL0, and that RNDR gives the same values for the
// same seed and others for another.
func TestARM64CountersAreVirtual(t *testing.T) {
	run := func(seed, offset uint64, words ...uint32) []uint64 {
		e := open(t, arch.ARM64)
		require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
		require.NoError(t, e.WriteMem(0x1000, arm64Code(append(words, 0xd4000001)...)))
		e.SetTSCOffset(offset)
		e.SeedRandom(seed)
		x, err := e.Start(0x1000, Unlimited)
		require.NoError(t, err)
		require.True(t, x.Syscall, "%v", x.Fault)
		v := make([]uint64, 3)
		require.NoError(t, e.RegReadBatch([]int{int(arch.ARM64_X0), int(arch.ARM64X(1)), int(arch.ARM64X(2))}, v))
		return append(v, e.Insns())
	}
	// mrs x0, CNTVCT_EL0; mrs x1, CNTFRQ_EL0
	v := run(1, 3_000_000_000, 0xd53be040, 0xd53be001)
	freq, ns := v[1], v[3]+3_000_000_000
	assert.Equal(t, uint64(1_000_000_000), freq, "CNTFRQ_EL0 is 1 GHz, as Armv8.6 requires")
	assert.Equal(t, ns/1_000_000_000*freq+ns%1_000_000_000*freq/1_000_000_000, v[0], "CNTVCT_EL0 is the virtual clock at %d Hz", freq)
	assert.Equal(t, ns, v[0], "in nanoseconds (the block's instructions count from its start)")

	// mrs x0, RNDR; mrs x1, RNDRRS; mrs x2, NZCV
	a, b, c := run(7, 0, 0xd53b2400, 0xd53b2421, 0xd53b4202), run(7, 0, 0xd53b2400, 0xd53b2421, 0xd53b4202), run(8, 0, 0xd53b2400, 0xd53b2421, 0xd53b4202)
	assert.Equal(t, a[:2], b[:2], "same seed, same values")
	assert.NotEqual(t, a[:2], c[:2], "another seed, other values")
	assert.NotEqual(t, a[0], a[1])
	assert.Zero(t, a[2], "NZCV is 0: the read succeeded")
}
