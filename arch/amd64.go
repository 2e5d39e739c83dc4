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
	AMD64_CS      Reg = 11 // 16-bit selectors
	AMD64_SS      Reg = 49
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
	// For debuggers: the other selectors, the second segment base and the
	// x87 state (ST0..ST7 are consecutive, 80 bits each).
	AMD64_DS    Reg = 17
	AMD64_ES    Reg = 28
	AMD64_FS    Reg = 32
	AMD64_GS    Reg = 33
	AMD64_ST0   Reg = 114
	AMD64_FPCW  Reg = 246
	AMD64_FPSW  Reg = 31
	AMD64_FPTAG Reg = 247
	AMD64_FIP   Reg = 254
	AMD64_FCS   Reg = 255
	AMD64_FDP   Reg = 256
	AMD64_FDS   Reg = 257
	AMD64_FOP   Reg = 258
)

// Unicorn constants for opening an x86-64 engine (unicorn/unicorn.h,
// unicorn/x86.h).
const (
	ucArchX86           = 4  // UC_ARCH_X86
	ucMode64            = 8  // UC_MODE_64
	ucCPUX86SandyBridge = 17 // UC_CPU_X86_SANDYBRIDGE
)

// AMD64 is the x86-64 guest.
var AMD64 = &Arch{
	Name:       "amd64",
	Machine:    "x86_64",
	ELFMachine: elf.EM_X86_64,

	UnicornArch: ucArchX86,
	UnicornMode: ucMode64,
	// Sandy Bridge is the newest Intel model without RDRAND: QEMU gates
	// RDRAND and RDSEED on the model's features, not on the CPUID the
	// guest sees, and answers them from the host's randomness, which
	// Unicorn gives no way to seed. On this model both are undefined, as
	// on a real Sandy Bridge, so every value a guest can read follows the
	// seed. It has all of x86-64-v2 (Haswell's MOVBE, BMI and LZCNT
	// matter only to GOAMD64=v3, whose AVX2 Unicorn's TCG lacks anyway).
	// The CPUID the guest sees is gorunemu's own and advertises only
	// what runs (Arch.CPU).
	CPUModel: ucCPUX86SandyBridge,

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
	// ELF_HWCAP), which Arch.CPU fills in. AT_HWCAP2 would carry FSGSBASE,
	// which is not offered.
	CPUID:    amd64CPUID,
	Features: amd64Features,
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
	Vectors: vectorRegs("xmm", AMD64_XMM0, 16),
}

// amd64Features are the CPUID feature bits the emulated x86 CPU may
// report (Intel SDM vol. 2A, CPUID), each with one instruction that uses
// the feature. Which of them execute depends on the Unicorn linked (2.0.1
// lacks POPCNT, MOVBE and PCLMULQDQ; 2.1.1 runs those but not ADCX), so
// emu probes them on the engine itself and reports exactly the ones that
// run. AVX and XSAVE are not candidates: Unicorn's TCG has no AVX, and
// OSXSAVE would only invite the runtime to look for it.
//
// A probe runs with RBX and RDI pointing at a writable page and must not
// move RSP or branch.
var amd64Features = []CPUFeature{
	{"SSE3", 1, 0, ECX, 0, []byte{0xf2, 0x0f, 0x12, 0xc1}},                  // movddup xmm0, xmm1
	{"PCLMULQDQ", 1, 0, ECX, 1, []byte{0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00}}, // pclmulqdq xmm0, xmm1, 0
	{"SSSE3", 1, 0, ECX, 9, []byte{0x66, 0x0f, 0x38, 0x00, 0xc1}},           // pshufb xmm0, xmm1
	{"CX16", 1, 0, ECX, 13, []byte{0xf0, 0x48, 0x0f, 0xc7, 0x0f}},           // lock cmpxchg16b [rdi]
	{"SSE4.1", 1, 0, ECX, 19, []byte{0x66, 0x0f, 0x38, 0x39, 0xc1}},         // pminsd xmm0, xmm1
	{"SSE4.2", 1, 0, ECX, 20, []byte{0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc3}},   // crc32 rax, rbx
	{"MOVBE", 1, 0, ECX, 22, []byte{0x48, 0x0f, 0x38, 0xf0, 0x03}},          // movbe rax, [rbx]
	{"POPCNT", 1, 0, ECX, 23, []byte{0xf3, 0x48, 0x0f, 0xb8, 0xc3}},         // popcnt rax, rbx
	{"AES", 1, 0, ECX, 25, []byte{0x66, 0x0f, 0x38, 0xdc, 0xc1}},            // aesenc xmm0, xmm1
	{"FPU", 1, 0, EDX, 0, []byte{0xd9, 0xe8}},                               // fld1
	{"TSC", 1, 0, EDX, 4, []byte{0x0f, 0x31}},                               // rdtsc
	{"CX8", 1, 0, EDX, 8, []byte{0xf0, 0x0f, 0xc7, 0x0f}},                   // lock cmpxchg8b [rdi]
	{"CMOV", 1, 0, EDX, 15, []byte{0x48, 0x0f, 0x44, 0xc3}},                 // cmovz rax, rbx
	{"CLFSH", 1, 0, EDX, 19, []byte{0x0f, 0xae, 0x3b}},                      // clflush [rbx]
	{"MMX", 1, 0, EDX, 23, []byte{0x0f, 0xfc, 0xc1}},                        // paddb mm0, mm1
	{"FXSR", 1, 0, EDX, 24, []byte{0x0f, 0xae, 0x07}},                       // fxsave [rdi]
	{"SSE", 1, 0, EDX, 25, []byte{0x0f, 0x58, 0xc1}},                        // addps xmm0, xmm1
	{"SSE2", 1, 0, EDX, 26, []byte{0x66, 0x0f, 0xd4, 0xc1}},                 // paddq xmm0, xmm1
	{"BMI1", 7, 0, EBX, 3, []byte{0xc4, 0xe2, 0xf8, 0xf2, 0xc3}},            // andn rax, rax, rbx
	{"BMI2", 7, 0, EBX, 8, []byte{0xc4, 0xe2, 0xf9, 0xf7, 0xc3}},            // shlx rax, rbx, rax
	{"ADX", 7, 0, EBX, 19, []byte{0x66, 0x48, 0x0f, 0x38, 0xf6, 0xc3}},      // adcx rax, rbx
	{"LAHF-SAHF", 0x80000001, 0, ECX, 0, []byte{0x9f}},                      // lahf
	{"LZCNT", 0x80000001, 0, ECX, 5, []byte{0xf3, 0x48, 0x0f, 0xbd, 0xc3}},  // lzcnt rax, rbx
	{"SYSCALL", 0x80000001, 0, EDX, 11, nil},                                // how the guest reaches the kernel at all
	{"NX", 0x80000001, 0, EDX, 20, nil},                                     // page protection, not an instruction
	{"RDTSCP", 0x80000001, 0, EDX, 27, []byte{0x0f, 0x01, 0xf9}},            // rdtscp
	{"LM", 0x80000001, 0, EDX, 29, nil},                                     // the guest runs in long mode
}

// amd64CPUID is the CPUID table without feature bits; Arch.CPU adds the
// features that execute.
var amd64CPUID = []CPUIDLeaf{
	// Highest basic leaf 7; vendor "GenuineIntel" in EBX, EDX, ECX.
	{Leaf: 0, Subleaf: AnySubleaf, EAX: 7, EBX: 0x756e6547, EDX: 0x49656e69, ECX: 0x6c65746e},
	// Family 6 model 0x2a stepping 7 (Sandy Bridge); 64-byte CLFLUSH lines.
	{Leaf: 1, Subleaf: AnySubleaf, EAX: 0x206a7, EBX: 0x800},
	{Leaf: 7, Subleaf: 0},
	{Leaf: 0x80000000, Subleaf: AnySubleaf, EAX: 0x80000004, EBX: 0x756e6547, EDX: 0x49656e69, ECX: 0x6c65746e},
	{Leaf: 0x80000001, Subleaf: AnySubleaf},
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
