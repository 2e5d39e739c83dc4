package arch

import (
	"debug/elf"
	"strconv"
)

// Unicorn AArch64 register numbers (unicorn/arm64.h, enum uc_arm64_reg).
const (
	ARM64_X29       Reg = 1
	ARM64_X30       Reg = 2
	ARM64_NZCV      Reg = 3
	ARM64_SP        Reg = 4
	ARM64_X0        Reg = 199 // X0..X28 are consecutive
	ARM64_PC        Reg = 260
	ARM64_TPIDR_EL0 Reg = 262
	ARM64_Q0        Reg = 104 // Q0..Q31 are consecutive
	ARM64_FPCR      Reg = 291
	ARM64_FPSR      Reg = 292
	ARM64_PSTATE    Reg = 265 // gdb's cpsr
)

// ARM64X returns the Unicorn number of Xn, n in 0..30.
func ARM64X(n int) Reg {
	switch n {
	case 29:
		return ARM64_X29
	case 30:
		return ARM64_X30
	}
	return ARM64_X0 + Reg(n)
}

// Unicorn constants for opening an AArch64 engine (unicorn/unicorn.h,
// unicorn/arm64.h).
const (
	ucArchARM64   = 2 // UC_ARCH_ARM64
	ucModeARM     = 0 // UC_MODE_ARM, little-endian
	ucCPUARM64Max = 3 // UC_CPU_ARM64_MAX
)

// AArch64 HWCAP bits (arch/arm64/include/uapi/asm/hwcap.h).
const (
	HWCAP_FP      = 1 << 0
	HWCAP_ASIMD   = 1 << 1
	HWCAP_AES     = 1 << 3
	HWCAP_PMULL   = 1 << 4
	HWCAP_SHA1    = 1 << 5
	HWCAP_SHA2    = 1 << 6
	HWCAP_CRC32   = 1 << 7
	HWCAP_ATOMICS = 1 << 8
)

// ARM64 is the AArch64 guest.
var ARM64 = &Arch{
	Name:       "arm64",
	Machine:    "aarch64",
	ELFMachine: elf.EM_AARCH64,

	UnicornArch: ucArchARM64,
	UnicornMode: ucModeARM,
	// The "max" CPU executes LSE atomics, which Go uses when HWCAP
	// advertises them and requires for GOARM64=v8.1 binaries; Unicorn's
	// default Cortex-A72 does not have them.
	CPUModel: ucCPUARM64Max,

	PtrSize:    8,
	PageSize:   4096,
	StackAlign: 16,

	// TASK_SIZE with 48-bit VAs (arch/arm64/include/asm/processor.h); with
	// ASLR off the stack ends there.
	StackTop:  0x1000000000000,
	StackSize: 8 << 20,
	// mmap_base = TASK_SIZE - 128 MiB (mm/util.c) with no randomisation.
	MmapBase: 0xfffff8000000,
	// ELF_ET_DYN_BASE = 2 * DEFAULT_MAP_WINDOW_64 / 3, page aligned
	// (arch/arm64/include/asm/elf.h).
	PIEBase: 0xaaaaaaaaa000,

	PC:             ARM64_PC,
	SP:             ARM64_SP,
	TLS:            ARM64_TPIDR_EL0,
	G:              ARM64X(28),
	SyscallNr:      ARM64X(8),
	SyscallArgs:    [6]Reg{ARM64X(0), ARM64X(1), ARM64X(2), ARM64X(3), ARM64X(4), ARM64X(5)},
	SyscallRet:     ARM64X(0),
	LinkReg:        ARM64_X30,
	InsnLen:        4,
	SyscallInsnLen: 4,

	// What the "max" CPU executes of the features Go's internal/cpu reads.
	HWCAP:  HWCAP_FP | HWCAP_ASIMD | HWCAP_AES | HWCAP_PMULL | HWCAP_SHA1 | HWCAP_SHA2 | HWCAP_CRC32 | HWCAP_ATOMICS,
	HWCAP2: 0,
	// QEMU's AArch64 exception numbers (target/arm/cpu.h EXCP_*), as
	// Unicorn reports them, and the signals Linux sends.
	ExceptionSignals: map[uint32]int{
		1: SIGILL,  // EXCP_UDEF
		7: SIGTRAP, // EXCP_BKPT (BRK)
	},
	// AT_MINSIGSTKSZ for a kernel without SVE (signal_minsigstksz).
	MinSigStackSize: 4224,

	GPRs:    arm64GPRs(),
	Vectors: vectorRegs("v", ARM64_Q0, 32),
}

func arm64GPRs() []RegInfo {
	var r []RegInfo
	for n := 0; n <= 30; n++ {
		name := "x" + strconv.Itoa(n)
		switch n {
		case 29:
			name = "fp"
		case 30:
			name = "lr"
		}
		r = append(r, RegInfo{name, ARM64X(n)})
	}
	return append(r, RegInfo{"sp", ARM64_SP}, RegInfo{"pc", ARM64_PC}, RegInfo{"nzcv", ARM64_NZCV}, RegInfo{"tpidr_el0", ARM64_TPIDR_EL0})
}
