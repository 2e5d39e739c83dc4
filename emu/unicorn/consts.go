package unicorn

/*
#include <unicorn/unicorn.h>
*/
import "C"

// headerConstants maps names to the values in Unicorn's C headers, so that
// tests can check the copies in package arch (which must not need cgo).
func headerConstants() map[string]int {
	return map[string]int{
		"UC_ARCH_X86": C.UC_ARCH_X86, "UC_ARCH_ARM64": C.UC_ARCH_ARM64,
		"UC_MODE_64": C.UC_MODE_64, "UC_MODE_ARM": C.UC_MODE_ARM,
		"UC_CPU_X86_SANDYBRIDGE": C.UC_CPU_X86_SANDYBRIDGE, "UC_CPU_ARM64_MAX": C.UC_CPU_ARM64_MAX,
		"rax": C.UC_X86_REG_RAX, "rbx": C.UC_X86_REG_RBX, "rcx": C.UC_X86_REG_RCX, "rdx": C.UC_X86_REG_RDX,
		"rsi": C.UC_X86_REG_RSI, "rdi": C.UC_X86_REG_RDI, "rbp": C.UC_X86_REG_RBP, "rsp": C.UC_X86_REG_RSP,
		"r8": C.UC_X86_REG_R8, "r9": C.UC_X86_REG_R9, "r10": C.UC_X86_REG_R10, "r11": C.UC_X86_REG_R11,
		"r12": C.UC_X86_REG_R12, "r13": C.UC_X86_REG_R13, "r14": C.UC_X86_REG_R14, "r15": C.UC_X86_REG_R15,
		"rip": C.UC_X86_REG_RIP, "eflags": C.UC_X86_REG_EFLAGS, "fs_base": C.UC_X86_REG_FS_BASE,
		"xmm0": C.UC_X86_REG_XMM0,
		"x0":   C.UC_ARM64_REG_X0, "x8": C.UC_ARM64_REG_X8, "x28": C.UC_ARM64_REG_X28,
		"fp": C.UC_ARM64_REG_X29, "lr": C.UC_ARM64_REG_X30, "sp": C.UC_ARM64_REG_SP,
		"pc": C.UC_ARM64_REG_PC, "nzcv": C.UC_ARM64_REG_NZCV, "tpidr_el0": C.UC_ARM64_REG_TPIDR_EL0,
		"pstate": C.UC_ARM64_REG_PSTATE, "fpcr": C.UC_ARM64_REG_FPCR, "fpsr": C.UC_ARM64_REG_FPSR, "q0": C.UC_ARM64_REG_Q0,
		"ds": C.UC_X86_REG_DS, "es": C.UC_X86_REG_ES, "fs": C.UC_X86_REG_FS, "gs": C.UC_X86_REG_GS,
		"st0": C.UC_X86_REG_ST0, "fpcw": C.UC_X86_REG_FPCW, "fpsw": C.UC_X86_REG_FPSW, "fptag": C.UC_X86_REG_FPTAG,
		"fip": C.UC_X86_REG_FIP, "fcs": C.UC_X86_REG_FCS, "fdp": C.UC_X86_REG_FDP, "fds": C.UC_X86_REG_FDS, "fop": C.UC_X86_REG_FOP,
		"mxcsr": C.UC_X86_REG_MXCSR, "gs_base": C.UC_X86_REG_GS_BASE,
	}
}
