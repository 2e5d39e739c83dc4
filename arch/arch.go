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
	"strconv"
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
	// InsnLen is the length of every instruction, or 0 where lengths vary
	// (x86).
	InsnLen uint64
	// SyscallInsnLen is the length of the syscall instruction (SYSCALL,
	// SVC #0): the PC after a syscall less this is the instruction.
	SyscallInsnLen uint64

	// HWCAP and HWCAP2 go in the auxiliary vector; they advertise only
	// what the emulated CPU executes. On x86 HWCAP is CPUID.1:EDX, which
	// Arch.CPU computes; use that.
	HWCAP, HWCAP2 uint64
	// MinSigStackSize is AT_MINSIGSTKSZ, or 0 to omit it.
	MinSigStackSize uint64
	// CPUID is what the x86 CPUID instruction answers before feature bits
	// are added (nil on arm64); Arch.CPU gives the whole answer.
	CPUID []CPUIDLeaf
	// Features are the CPUID feature bits the CPU may report, each
	// reported only where its probe executes on the engine.
	Features []CPUFeature
	// ExceptionSignals maps a CPU exception number (as Unicorn reports it)
	// to the signal Linux delivers for it; others are SIGSEGV.
	ExceptionSignals map[uint32]int

	// GPRs lists the general-purpose registers in display order.
	GPRs []RegInfo
	// Vectors lists the 128-bit vector registers (XMM, V) in order.
	Vectors []RegInfo
}

// vectorRegs names n consecutive 128-bit registers from first.
func vectorRegs(prefix string, first Reg, n int) []RegInfo {
	r := make([]RegInfo, n)
	for i := range r {
		r[i] = RegInfo{prefix + strconv.Itoa(i), first + Reg(i)}
	}
	return r
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

// CPUIDReg names one of the four registers a CPUID leaf answers in.
type CPUIDReg int

// The registers of a CPUID answer.
const (
	EAX CPUIDReg = iota
	EBX
	ECX
	EDX
)

// CPUFeature is one feature bit of a CPUID answer and an instruction that
// executes only on a CPU with the feature.
type CPUFeature struct {
	Name          string
	Leaf, Subleaf uint32
	Reg           CPUIDReg
	Bit           uint
	// Probe is machine code using the feature, or nil for a bit that is
	// not an instruction set the engine can lack (long mode, NX).
	Probe []byte
}

// CPU is what the guest is told about its CPU: the CPUID answers (x86)
// and the auxiliary vector's hardware capabilities.
type CPU struct {
	CPUID         []CPUIDLeaf
	HWCAP, HWCAP2 uint64
}

// CPU returns what the guest is told about a CPU on which exactly the
// features f with runs(f) execute.
func (a *Arch) CPU(runs func(CPUFeature) bool) CPU {
	c := CPU{HWCAP: a.HWCAP, HWCAP2: a.HWCAP2}
	if a.CPUID == nil {
		return c
	}
	c.CPUID = append([]CPUIDLeaf(nil), a.CPUID...)
	for _, f := range a.Features {
		if f.Probe != nil && !runs(f) {
			continue
		}
		for i := range c.CPUID {
			l := &c.CPUID[i]
			if l.Leaf == f.Leaf && (l.Subleaf == f.Subleaf || l.Subleaf == AnySubleaf) {
				*l.reg(f.Reg) |= 1 << f.Bit
				break
			}
		}
	}
	// AT_HWCAP on x86 is CPUID.1:EDX (arch/x86/include/asm/elf.h ELF_HWCAP).
	c.HWCAP = uint64(c.Leaf(1, 0).EDX)
	return c
}

// goamd64Levels are the CPUID features each GOAMD64 level above v1 needs,
// as the Go runtime checks them at startup (runtime/asm_amd64.s) and
// cmd/compile assumes them.
var goamd64Levels = []struct {
	level string
	needs []string
}{
	{"v2", []string{"CX16", "LAHF-SAHF", "POPCNT", "SSE3", "SSE4.1", "SSE4.2", "SSSE3"}},
	{"v3", []string{"AVX", "AVX2", "BMI1", "BMI2", "F16C", "FMA", "LZCNT", "MOVBE", "OSXSAVE"}},
}

// GOAMD64 returns the highest GOAMD64 level whose features the CPU
// reports ("v1" at least), and for each higher level the features it
// lacks.
func (c CPU) GOAMD64(a *Arch) (level string, missing map[string][]string) {
	has := map[string]bool{}
	for _, f := range a.Features {
		has[f.Name] = c.Has(f)
	}
	level = "v1"
	missing = map[string][]string{}
	reached := true // each level includes the ones below it
	for _, l := range goamd64Levels {
		for _, n := range l.needs {
			if !has[n] {
				missing[l.level] = append(missing[l.level], n)
			}
		}
		reached = reached && len(missing[l.level]) == 0
		if reached {
			level = l.level
		}
	}
	return level, missing
}

// Leaf returns the answer for EAX=leaf, ECX=sub: zeros where none is listed.
func (c CPU) Leaf(leaf, sub uint32) CPUIDLeaf {
	for _, l := range c.CPUID {
		if l.Leaf == leaf && (l.Subleaf == sub || l.Subleaf == AnySubleaf) {
			return l
		}
	}
	return CPUIDLeaf{Leaf: leaf, Subleaf: sub}
}

// Has reports whether the CPU reports feature f.
func (c CPU) Has(f CPUFeature) bool {
	l := c.Leaf(f.Leaf, f.Subleaf)
	return *l.reg(f.Reg)&(1<<f.Bit) != 0
}

func (l *CPUIDLeaf) reg(r CPUIDReg) *uint32 {
	return [...]*uint32{&l.EAX, &l.EBX, &l.ECX, &l.EDX}[r]
}

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
