package unicorn

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
)

// runARM64 runs code followed by SVC #0 on a fresh arm64 engine with a
// scratch page at 0x10000 in X0 and X1.
func runARM64(t *testing.T, code []byte) Exit {
	t.Helper()
	e := open(t, arch.ARM64)
	require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
	require.NoError(t, e.Map(0x10000, 0x1000, ProtRead|ProtWrite))
	require.NoError(t, e.WriteMem(0x1000, append(append([]byte{}, code...), arm64Code(0xd4000001)...)))
	require.NoError(t, e.RegWriteBatch([]int{int(arch.ARM64_X0), int(arch.ARM64X(1))}, []uint64{0x10000, 0x10000}))
	x, err := e.Start(0x1000, Unlimited)
	require.NoError(t, err)
	return x
}

// TestUserModeX86 checks that guest code runs at CPL 3 with Linux's
// user selectors, so that privileged instructions fault (#GP, which
// Linux turns into SIGSEGV) instead of running; before, mov to DR7
// crashed the host process. IN and OUT are the exception: Unicorn runs
// every port access whatever the privilege (its gen_check_io returns at
// once), as a no-op without a hook, so they touch nothing.
func TestUserModeX86(t *testing.T) {
	e, x := runX86(t, nil, nil)
	require.True(t, x.Syscall)
	v := make([]uint64, 2)
	require.NoError(t, e.RegReadBatch([]int{int(arch.AMD64_CS), int(arch.AMD64_SS)}, v))
	assert.Equal(t, []uint64{0x33, 0x2b}, v, "CS and SS are Linux's user selectors")
	assert.Equal(t, uint64(3), v[0]&3, "CPL 3")

	// The faulting instruction is the last of each snippet, this long.
	lastLen := map[string]int{"mov dr7, rax": 3, "mov rax, cr0": 3, "hlt": 1, "wrmsr": 2, "rdmsr": 2,
		"cli": 1, "lidt [rbx]": 3, "invd": 2, "mov ss, 0 sel": 2}
	for name, code := range map[string][]byte{
		"mov dr7, rax":  {0xb8, 0x01, 0, 0, 0, 0x0f, 0x23, 0xf8},
		"mov rax, cr0":  {0x0f, 0x20, 0xc0},
		"hlt":           {0xf4},
		"wrmsr":         {0x0f, 0x30},
		"rdmsr":         {0x0f, 0x32},
		"cli":           {0xfa},
		"lidt [rbx]":    {0x0f, 0x01, 0x1b},
		"invd":          {0x0f, 0x08},
		"mov ss, 0 sel": {0x31, 0xc0, 0x8e, 0xd0},
	} {
		e, x := runX86(t, code, nil)
		require.NotNil(t, x.Fault, name)
		assert.False(t, x.Syscall, name)
		assert.Equal(t, FaultException, x.Fault.Kind, "%s: %v", name, x.Fault)
		assert.Equal(t, uint32(13), x.Fault.Intno, "%s raises #GP", name)
		pc, err := e.RegRead(int(arch.AMD64_RIP))
		require.NoError(t, err)
		assert.Equal(t, uint64(0x1000+len(code)-lastLen[name]), pc, "%s: RIP is the faulting instruction", name)
	}
	for name, code := range map[string][]byte{
		"cpuid":        {0x0f, 0xa2},
		"xor eax, eax": {0x31, 0xc0},
		"store":        {0x48, 0x89, 0x03}, // mov [rbx], rax
	} {
		_, x := runX86(t, code, nil)
		assert.True(t, x.Syscall, "%s runs in user mode: %v", name, x.Fault)
	}
}

// TestUserModeARM64 checks that guest code runs at EL0 with what Linux
// allows there: EL1 system registers are undefined instructions (SIGILL
// on Linux), while FP/SIMD, the virtual counter and DC ZVA work.
func TestUserModeARM64(t *testing.T) {
	for name, word := range map[string]uint32{
		"mrs x0, CurrentEL": 0xd5384240,
		"msr VBAR_EL1, x0":  0xd518c000,
		"msr MDSCR_EL1, x0": 0xd5100240,
		"msr CPACR_EL1, x0": 0xd5181040,
		"mrs x0, SCTLR_EL1": 0xd5381000,
		"msr DAIFSet, #0xf": 0xd5034fdf, // masking interrupts is EL1's
		"mrs x0, MIDR_EL1":  0xd5380000, // Linux emulates it only with HWCAP_CPUID
		"tlbi vmalle1":      0xd508871f,
		"eret":              0xd69f03e0,
		"hvc #0":            0xd4000002,
		"smc #0":            0xd4000003,
		"msr SPSel, #1":     0xd50041bf,
	} {
		x := runARM64(t, arm64Code(word))
		require.NotNil(t, x.Fault, name)
		assert.False(t, x.Syscall, name)
	}
	for name, word := range map[string]uint32{
		"fmov d0, x1":        0x9e670020,
		"mrs x0, CNTVCT_EL0": 0xd53be040,
		"mrs x0, CNTFRQ_EL0": 0xd53be000,
		"mrs x0, DCZID_EL0":  0xd53b00e0,
		"dc zva, x0":         0xd50b7420,
		"mrs x0, CTR_EL0":    0xd53b0020,
		"mrs x0, TPIDR_EL0":  0xd53bd040,
		"msr TPIDR_EL0, x0":  0xd51bd040,
		"wfe":                0xd503205f,
	} {
		x := runARM64(t, arm64Code(word))
		assert.True(t, x.Syscall, "%s runs at EL0: %v", name, x.Fault)
	}
}

// TestX86ExceptionsDoNotNest: each #GP the guest raises is its own, as on
// Linux, where the kernel's handler ends it. QEMU counts an exception in
// flight until an IDT handler is entered, which never happens here, so the
// second would become a double fault (8) and the third halt the CPU.
func TestX86ExceptionsDoNotNest(t *testing.T) {
	e := open(t, arch.AMD64)
	require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
	require.NoError(t, e.WriteMem(0x1000, []byte{0xf4, 0x0f, 0x31, 0x0f, 0x05})) // hlt; rdtsc; syscall
	for i := 0; i < 4; i++ {
		x, err := e.Start(0x1000, Unlimited)
		require.NoError(t, err)
		require.NotNil(t, x.Fault, "run %d", i)
		assert.Equal(t, uint32(13), x.Fault.Intno, "run %d: #GP, not a double fault", i)
		x, err = e.Start(0x1001, Unlimited)
		require.NoError(t, err)
		assert.True(t, x.Syscall, "run %d: RDTSC after a #GP: %v", i, x.Fault)
	}
}

// TestX86DoubleFaultRetried: with an exception QEMU still counts in flight
// (as after one no hook saw), the next #GP becomes a double fault, which
// no user process sees. The engine clears it and runs the instruction
// again: RDTSC reads the counter, counted once, and a #GP stays a #GP.
func TestX86DoubleFaultRetried(t *testing.T) {
	e := open(t, arch.AMD64)
	require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
	require.NoError(t, e.WriteMem(0x1000, []byte{0x90, 0x0f, 0x31, 0x0f, 0x05})) // nop; rdtsc; syscall
	require.NoError(t, e.WriteMem(0x1010, []byte{0xf4}))                         // hlt
	regs := []int{int(arch.AMD64_RAX), int(arch.AMD64_RDX)}

	require.True(t, e.setExceptionInFlight(13))
	x, err := e.Start(0x1000, Unlimited)
	require.NoError(t, err)
	require.True(t, x.Syscall, "RDTSC after an exception in flight: %v", x.Fault)
	v := make([]uint64, 2)
	require.NoError(t, e.RegReadBatch(regs, v))
	assert.Equal(t, e.Insns(), v[1]<<32|v[0], "RDTSC read the counter")
	assert.Equal(t, uint64(3), e.Insns(), "each instruction counted once")
	assert.Equal(t, uint64(1), e.doubleFaultsRetried())

	require.True(t, e.setExceptionInFlight(13))
	x, err = e.Start(0x1010, Unlimited)
	require.NoError(t, err)
	require.NotNil(t, x.Fault)
	assert.Equal(t, uint32(13), x.Fault.Intno, "HLT's own #GP")
	assert.Equal(t, uint64(2), e.doubleFaultsRetried())
}
