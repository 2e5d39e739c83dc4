package arch

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func feature(t *testing.T, name string) CPUFeature {
	t.Helper()
	for _, f := range AMD64.Features {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no feature %s", name)
	return CPUFeature{}
}

func TestCPUReportsWhatRuns(t *testing.T) {
	none := AMD64.CPU(func(CPUFeature) bool { return false })
	// Only the bits that are not instructions remain: SYSCALL, NX, LM.
	assert.Equal(t, uint32(1<<11|1<<20|1<<29), none.Leaf(0x80000001, 0).EDX)
	assert.Zero(t, none.Leaf(1, 0).ECX)
	assert.Zero(t, none.HWCAP)
	assert.Equal(t, uint32(7), none.Leaf(0, 0).EAX, "the rest of the table stays")

	noPopcnt := AMD64.CPU(func(f CPUFeature) bool { return f.Name != "POPCNT" })
	assert.False(t, noPopcnt.Has(feature(t, "POPCNT")))
	assert.True(t, noPopcnt.Has(feature(t, "SSE4.2")))
	// SSE3, PCLMULQDQ, SSSE3, CX16, SSE4.1, SSE4.2, MOVBE, AES.
	assert.Equal(t, uint32(1<<0|1<<1|1<<9|1<<13|1<<19|1<<20|1<<22|1<<25), noPopcnt.Leaf(1, 0).ECX)
	assert.True(t, noPopcnt.Has(feature(t, "BMI2")))
	assert.Equal(t, uint64(noPopcnt.Leaf(1, 0).EDX), noPopcnt.HWCAP, "AT_HWCAP is CPUID.1:EDX")
	assert.NotZero(t, noPopcnt.HWCAP&(1<<26), "SSE2")

	// The base table is not changed by computing a CPU.
	assert.Zero(t, AMD64.CPUID[1].ECX)

	// arm64 has no CPUID; its HWCAP is its own.
	arm := ARM64.CPU(func(CPUFeature) bool { return true })
	assert.Nil(t, arm.CPUID)
	assert.Equal(t, ARM64.HWCAP, arm.HWCAP)
}
