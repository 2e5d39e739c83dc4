// Package arch describes the two guest architectures as values: registers,
// the Linux syscall ABI, stack and page layout, the CPU model and the
// hardware capabilities the guest is told about. Logic elsewhere is written
// once and takes an *Arch; nothing here is build-tagged, so both guests are
// in every gorunemu binary whatever the host.
//
// Register numbers are Unicorn's (unicorn/x86.h, unicorn/arm64.h) so that
// they can be handed to the engine as they are; emu/unicorn's tests check
// them against the C headers. This package itself needs no cgo.
package arch

import (
	"debug/elf"
	"fmt"
)

// Reg is a Unicorn register number of the arch it belongs to.
type Reg int

// RegInfo names a register for traces.
type RegInfo struct {
	Name string
	Reg  Reg
}

// Arch is one guest architecture.
type Arch struct {
	// Name is the GOARCH spelling: "amd64" or "arm64".
	Name string
	// Machine is what uname(2) and AT_PLATFORM report: "x86_64" or "aarch64".
	Machine    string
	ELFMachine elf.Machine

	// UnicornArch, UnicornMode and CPUModel open the engine (uc_arch,
	// uc_mode, UC_CPU_*).
	UnicornArch int
	UnicornMode int
	CPUModel    int

	PtrSize    int
	PageSize   uint64
	StackAlign uint64

	// StackTop is where the initial stack ends, as Linux places it with
	// ASLR off (TASK_SIZE on a 4-level/48-bit address space).
	StackTop uint64
	// StackSize is how much stack is mapped below StackTop at start (Linux
	// grows it on demand up to RLIMIT_STACK; Go's g0 needs 64 KiB of it).
	StackSize uint64
	// MmapBase is where mmap without a hint starts searching, downwards,
	// below the stack gap (mm->mmap_base with ASLR off).
	MmapBase uint64
	// PIEBase is where a static-pie (ET_DYN) executable is loaded
	// (ELF_ET_DYN_BASE with ASLR off).
	PIEBase uint64

	PC, SP Reg
	// TLS is the thread pointer: FS base on amd64, TPIDR_EL0 on arm64.
	TLS Reg
	// G is the register the Go ABI keeps the current goroutine in.
	G Reg
	// SyscallNr, SyscallArgs and SyscallRet are the Linux syscall ABI.
	SyscallNr   Reg
	SyscallArgs [6]Reg
	SyscallRet  Reg
	// LinkReg is the return-address register (arm64), or -1.
	LinkReg Reg
	// SyscallInsnLen is the length of the syscall instruction (SYSCALL,
	// SVC #0): the PC after a syscall less this is the instruction.
	SyscallInsnLen uint64

	// HWCAP and HWCAP2 go in the auxiliary vector; they advertise only
	// what the emulated CPU executes.
	HWCAP, HWCAP2 uint64
	// MinSigStackSize is AT_MINSIGSTKSZ, or 0 to omit it.
	MinSigStackSize uint64
	// CPUID is what the x86 CPUID instruction answers (nil on arm64).
	CPUID []CPUIDLeaf
	// ExceptionSignals maps a CPU exception number (as Unicorn reports it)
	// to the signal Linux delivers for it; others are SIGSEGV.
	ExceptionSignals map[uint32]int

	// GPRs lists the general-purpose registers in display order.
	GPRs []RegInfo
}

func (a *Arch) String() string { return a.Name }

// ByName returns the arch for a GOARCH name.
func ByName(name string) (*Arch, error) {
	switch name {
	case "amd64":
		return AMD64, nil
	case "arm64":
		return ARM64, nil
	}
	return nil, fmt.Errorf("unsupported architecture %q (want amd64 or arm64)", name)
}

// ByMachine returns the arch for an ELF machine.
func ByMachine(m elf.Machine) (*Arch, bool) {
	switch m {
	case elf.EM_X86_64:
		return AMD64, true
	case elf.EM_AARCH64:
		return ARM64, true
	}
	return nil, false
}

// All lists the supported arches in a fixed order.
func All() []*Arch { return []*Arch{AMD64, ARM64} }

// RegName returns the display name of r, or "r<N>".
func (a *Arch) RegName(r Reg) string {
	for _, g := range a.GPRs {
		if g.Reg == r {
			return g.Name
		}
	}
	return fmt.Sprintf("r%d", int(r))
}

// CPUIDLeaf is one answer of the x86 CPUID instruction for EAX=Leaf,
// ECX=Subleaf (AnySubleaf: every ECX). Leaves not listed read as zeros.
type CPUIDLeaf struct {
	Leaf, Subleaf      uint32
	EAX, EBX, ECX, EDX uint32
}

// AnySubleaf in CPUIDLeaf.Subleaf matches every subleaf.
const AnySubleaf = 0xffffffff

// Signal numbers used for faults (asm-generic/signal.h; the same on amd64
// and arm64).
const (
	SIGILL  = 4
	SIGTRAP = 5
	SIGBUS  = 7
	SIGFPE  = 8
	SIGSEGV = 11
)

// ExceptionSignal returns the signal Linux sends for CPU exception intno.
func (a *Arch) ExceptionSignal(intno uint32) int {
	if s, ok := a.ExceptionSignals[intno]; ok {
		return s
	}
	return SIGSEGV
}
