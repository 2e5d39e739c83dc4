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
	AMD64_MXCSR   Reg = 249
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

	PC:             AMD64_RIP,
	SP:             AMD64_RSP,
	TLS:            AMD64_FS_BASE,
	G:              AMD64_R14,
	SyscallNr:      AMD64_RAX,
	SyscallArgs:    [6]Reg{AMD64_RDI, AMD64_RSI, AMD64_RDX, AMD64_R10, AMD64_R8, AMD64_R9},
	SyscallRet:     AMD64_RAX,
	LinkReg:        -1,
	SyscallInsnLen: 2,

	// AT_HWCAP on x86 is CPUID.1:EDX (arch/x86/include/asm/elf.h
	// ELF_HWCAP). AT_HWCAP2 would carry FSGSBASE, which is not offered.
	HWCAP:  amd64Leaf1EDX,
	HWCAP2: 0,
	CPUID:  amd64CPUID,
	// x86 exception vectors (Intel SDM vol. 3A, 6.3.1) and the signals
	// arch/x86/kernel/traps.c sends for them.
	ExceptionSignals: map[uint32]int{
		0:  SIGFPE,  // #DE divide error
		1:  SIGTRAP, // #DB debug
		3:  SIGTRAP, // #BP breakpoint (INT3)
		6:  SIGILL,  // #UD invalid opcode
		16: SIGFPE,  // #MF x87 error
		17: SIGBUS,  // #AC alignment check
		19: SIGFPE,  // #XM SIMD floating point
	},
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

// CPUID feature bits the emulated x86 CPU reports (Intel SDM vol. 2A,
// CPUID). Each one is there because Unicorn 2.0.1's TCG executes the
// instructions it stands for; emu/unicorn's tests run one instruction per
// bit. Unicorn's own CPUID leaves out SSE3 and FPU, which it executes,
// and the Haswell model would claim POPCNT, MOVBE, PCLMULQDQ and XSAVE,
// which it does not, so gorunemu answers CPUID itself.
const (
	amd64Leaf1ECX = 1<<0 | // SSE3
		1<<9 | // SSSE3
		1<<13 | // CMPXCHG16B
		1<<19 | // SSE4.1
		1<<20 | // SSE4.2
		1<<25 // AES
	amd64Leaf1EDX = 1<<0 | // FPU
		1<<4 | // TSC
		1<<8 | // CMPXCHG8B
		1<<15 | // CMOV
		1<<19 | // CLFLUSH
		1<<23 | // MMX
		1<<24 | // FXSAVE
		1<<25 | // SSE
		1<<26 // SSE2
	amd64Leaf7EBX = 1<<3 | // BMI1
		1<<8 | // BMI2
		1<<19 // ADX
	amd64Ext1ECX = 1<<0 | // LAHF/SAHF in 64-bit mode
		1<<5 // LZCNT
	amd64Ext1EDX = 1<<11 | // SYSCALL
		1<<20 | // NX
		1<<27 | // RDTSCP
		1<<29 // long mode
)

var amd64CPUID = []CPUIDLeaf{
	// Highest basic leaf 7; vendor "GenuineIntel" in EBX, EDX, ECX.
	{Leaf: 0, Subleaf: AnySubleaf, EAX: 7, EBX: 0x756e6547, EDX: 0x49656e69, ECX: 0x6c65746e},
	// Family 6 model 0x3c stepping 4 (Haswell); 64-byte CLFLUSH lines.
	{Leaf: 1, Subleaf: AnySubleaf, EAX: 0x306c4, EBX: 0x800, ECX: amd64Leaf1ECX, EDX: amd64Leaf1EDX},
	{Leaf: 7, Subleaf: 0, EBX: amd64Leaf7EBX},
	{Leaf: 0x80000000, Subleaf: AnySubleaf, EAX: 0x80000004, EBX: 0x756e6547, EDX: 0x49656e69, ECX: 0x6c65746e},
	{Leaf: 0x80000001, Subleaf: AnySubleaf, ECX: amd64Ext1ECX, EDX: amd64Ext1EDX},
	// Brand string "gorunemu virtual x86-64 CPU", 16 bytes per leaf.
	brandLeaf(0x80000002, "gorunemu virtual"),
	brandLeaf(0x80000003, " x86-64 CPU"),
	brandLeaf(0x80000004, ""),
}

func brandLeaf(leaf uint32, s string) CPUIDLeaf {
	var b [16]byte
	copy(b[:], s)
	w := func(i int) uint32 {
		return uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
	}
	return CPUIDLeaf{Leaf: leaf, Subleaf: AnySubleaf, EAX: w(0), EBX: w(4), ECX: w(8), EDX: w(12)}
}
