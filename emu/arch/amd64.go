package arch

import "debug/elf"

// Unicorn x86 register numbers (unicorn/x86.h, enum uc_x86_reg).
const (
	AMD64_RAX     Reg = 35
	AMD64_RBP     Reg = 36
	AMD64_RBX     Reg = 37
	AMD64_RCX     Reg = 38
	AMD64_RDI     Reg = 39
	AMD64_RDX     Reg = 40
	AMD64_RIP     Reg = 41
	AMD64_RSI     Reg = 43
	AMD64_RSP     Reg = 44
	AMD64_EFLAGS  Reg = 25
	AMD64_R8      Reg = 106
	AMD64_R9      Reg = 107
	AMD64_R10     Reg = 108
	AMD64_R11     Reg = 109
	AMD64_R12     Reg = 110
	AMD64_R13     Reg = 111
	AMD64_R14     Reg = 112
	AMD64_R15     Reg = 113
	AMD64_FS_BASE Reg = 250
	AMD64_GS_BASE Reg = 251
	AMD64_XMM0    Reg = 122 // XMM0..XMM15 are consecutive
)

// Unicorn constants for opening an x86-64 engine (unicorn/unicorn.h,
// unicorn/x86.h).
const (
	ucArchX86       = 4  // UC_ARCH_X86
	ucMode64        = 8  // UC_MODE_64
	ucCPUX86Haswell = 19 // UC_CPU_X86_HASWELL
)

// AMD64 is the x86-64 guest.
var AMD64 = &Arch{
	Name:       "amd64",
	Machine:    "x86_64",
	ELFMachine: elf.EM_X86_64,

	UnicornArch: ucArchX86,
	UnicornMode: ucMode64,
	// Haswell is the newest model whose instructions Unicorn's TCG
	// executes apart from AVX; the CPUID the guest sees is gorunemu's own
	// (emu/cpuid.go) and advertises only what runs.
	CPUModel: ucCPUX86Haswell,

	PtrSize:    8,
	PageSize:   4096,
	StackAlign: 16,

	// TASK_SIZE_MAX for 4-level paging is 0x7ffffffff000
	// (arch/x86/include/asm/page_64_types.h); with ASLR off the stack ends
	// there.
	StackTop:  0x7ffffffff000,
	StackSize: 8 << 20, // RLIMIT_STACK default
	// mmap_base = TASK_SIZE - max(RLIMIT_STACK + guard, 128 MiB)
	// (mm/util.c mmap_base) with no randomisation.
	MmapBase: 0x7ffff7fff000,
	// ELF_ET_DYN_BASE = TASK_SIZE / 3 * 2, page aligned
	// (arch/x86/include/asm/elf.h).
	PIEBase: 0x555555554000,

	PC:          AMD64_RIP,
	SP:          AMD64_RSP,
	TLS:         AMD64_FS_BASE,
	G:           AMD64_R14,
	SyscallNr:   AMD64_RAX,
	SyscallArgs: [6]Reg{AMD64_RDI, AMD64_RSI, AMD64_RDX, AMD64_R10, AMD64_R8, AMD64_R9},
	SyscallRet:  AMD64_RAX,
	LinkReg:     -1,

	// AT_HWCAP on x86 is CPUID.1:EDX (arch/x86/include/asm/elf.h
	// ELF_HWCAP); it is filled in from the emulated CPUID at run time.
	HWCAP:  0,
	HWCAP2: 0,
	// AT_MINSIGSTKSZ as the reference machine's kernel reports it.
	MinSigStackSize: 3376,

	GPRs: []RegInfo{
		{"rax", AMD64_RAX}, {"rbx", AMD64_RBX}, {"rcx", AMD64_RCX}, {"rdx", AMD64_RDX},
		{"rsi", AMD64_RSI}, {"rdi", AMD64_RDI}, {"rbp", AMD64_RBP}, {"rsp", AMD64_RSP},
		{"r8", AMD64_R8}, {"r9", AMD64_R9}, {"r10", AMD64_R10}, {"r11", AMD64_R11},
		{"r12", AMD64_R12}, {"r13", AMD64_R13}, {"r14", AMD64_R14}, {"r15", AMD64_R15},
		{"rip", AMD64_RIP}, {"eflags", AMD64_EFLAGS}, {"fs_base", AMD64_FS_BASE},
	},
}
