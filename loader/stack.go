package loader

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// StackConfig is what goes on a new process's initial stack besides what
// the Image provides. The zero value of a field means the default given
// in its comment; fields without a default are used as they are.
type StackConfig struct {
	// Argv is the argument vector. It may be empty, giving argc 0; note
	// that Linux 5.18 and later then pass argc 1 with argv[0] = "" (and
	// warn), so pass []string{""} to reproduce a current kernel.
	Argv []string
	// Envp is the environment, "KEY=value" strings.
	Envp []string
	// ExecFn is the AT_EXECFN string, the path given to execve(2); default
	// Argv[0], or Image.Path when Argv is empty.
	ExecFn string
	// Random is the 16 bytes AT_RANDOM points at.
	Random [16]byte
	// Top is the address just past the stack; default Arch.StackTop.
	// It must be 16-byte aligned.
	Top uint64
	// Platform is the AT_PLATFORM string; default Arch.Machine ("x86_64",
	// "aarch64").
	Platform string
	// HWCAP and HWCAP2 are AT_HWCAP and AT_HWCAP2 (usually Arch.HWCAP and
	// Arch.HWCAP2).
	HWCAP, HWCAP2 uint64
	// PageSize is AT_PAGESZ; default Arch.PageSize (4096). It also sets
	// MAX_ARG_STRLEN.
	PageSize uint64
	// ClkTck is AT_CLKTCK; default 100 (USER_HZ).
	ClkTck uint64
	// MinSigStackSize is AT_MINSIGSTKSZ; 0 omits the entry (Linux emits it
	// on amd64 and arm64: Arch.MinSigStackSize is the usual value).
	MinSigStackSize uint64
	// UID, EUID, GID and EGID are AT_UID, AT_EUID, AT_GID and AT_EGID.
	UID, EUID, GID, EGID uint64
	// Secure sets AT_SECURE to 1.
	Secure bool
	// SysinfoEHDR is AT_SYSINFO_EHDR, the address of a vDSO image; 0
	// omits the entry (the Go runtime then makes real clock_gettime
	// syscalls). Set it only when a valid vDSO ELF is mapped there.
	SysinfoEHDR uint64
	// InterpBase is AT_BASE: where the program interpreter (the dynamic
	// loader) is mapped; 0 for a static executable.
	InterpBase uint64
	// RseqFeatureSize and RseqAlign are AT_RSEQ_FEATURE_SIZE and
	// AT_RSEQ_ALIGN (Linux 6.3+ gives 28 and 32); both 0 omits the pair.
	RseqFeatureSize, RseqAlign uint64
	// StackLimit is the RLIMIT_STACK soft limit execve checks the strings
	// against; default Arch.StackSize (8 MiB).
	StackLimit uint64
}

// Stack is a process's initial stack: the bytes of [Low, Top) and where
// things are in them.
type Stack struct {
	// Top is the end of the stack, SP the initial stack pointer (it points
	// at argc) and Low the lowest address Data covers (equal to SP).
	Top, SP, Low uint64
	// Data holds the bytes of [Low, Top).
	Data []byte
	// Auxv is the auxiliary vector in stack order, ending with AT_NULL.
	Auxv []AuxEntry
	// ArgvAddr, EnvpAddr and AuxvAddr are where the argv pointer array,
	// the envp pointer array and the auxv pairs start.
	ArgvAddr, EnvpAddr, AuxvAddr uint64
	// RandomAddr, PlatformAddr and ExecFnAddr are the values of AT_RANDOM,
	// AT_PLATFORM and AT_EXECFN.
	RandomAddr, PlatformAddr, ExecFnAddr uint64
	// ArgStart/ArgEnd and EnvStart/EnvEnd delimit the argv and envp
	// strings, NULs included (mm->arg_start and friends: what
	// /proc/self/cmdline and /proc/self/environ return).
	ArgStart, ArgEnd, EnvStart, EnvEnd uint64
}

// AuxvBytes returns the auxiliary vector as /proc/self/auxv gives it: the
// raw little-endian (type, value) pairs, AT_NULL included.
func (s *Stack) AuxvBytes() []byte { return auxvBytes(s.Auxv) }

// Aux returns the value of the first auxv entry of type t.
func (s *Stack) Aux(t AuxType) (uint64, bool) {
	for _, e := range s.Auxv {
		if e.Type == t {
			return e.Val, true
		}
		if e.Type == AT_NULL {
			break
		}
	}
	return 0, false
}

// NewStack lays out the initial stack of img as Linux's execve does with
// address-space randomization off (fs/exec.c do_execveat_common and
// fs/binfmt_elf.c create_elf_tables), byte for byte. From Top down:
//
//	Top         ┌──────────────────────────────┐
//	            │ 8 zero bytes                 │ the NULL word __bprm_mm_init reserves
//	ExecFnAddr  │ execfn string, NUL           │ copied first
//	EnvStart    │ envp[0] … envp[n-1] strings  │ copied last to first, so in order
//	ArgStart    │ argv[0] … argv[n-1] strings  │ ArgEnd == EnvStart
//	            │ 0–15 zero bytes              │ arch_align_stack: down to 16
//	PlatformAddr│ platform string, NUL         │ AT_PLATFORM
//	RandomAddr  │ 16 random bytes              │ AT_RANDOM, not aligned
//	            │ 0–15 zero bytes              │ STACK_ROUND: SP down to 16
//	AuxvAddr    │ auxv pairs … AT_NULL, 0      │
//	EnvpAddr    │ envp pointers, NULL          │
//	ArgvAddr    │ argv pointers, NULL          │
//	SP          │ argc                         │ SP % 16 == 0
//	            └──────────────────────────────┘
//
// The auxv entries come in the kernel's order: AT_SYSINFO_EHDR and
// AT_MINSIGSTKSZ (ARCH_DLINFO, each only if set), AT_HWCAP, AT_PAGESZ,
// AT_CLKTCK, AT_PHDR, AT_PHENT, AT_PHNUM, AT_BASE (InterpBase),
// AT_FLAGS (0), AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE,
// AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_PLATFORM, AT_RSEQ_FEATURE_SIZE and
// AT_RSEQ_ALIGN (if set), AT_NULL.
//
// Like execve, NewStack fails with ErrArgListTooLong (E2BIG) when a string
// with its NUL is longer than MAX_ARG_STRLEN (32 pages) or when all of
// them, plus a pointer for each (at least one for argv), exceed
// max(ARG_MAX, min(StackLimit/4, 6 MiB)); and with ErrInvalidArg when a
// string contains a NUL byte.
func NewStack(img *Image, c StackConfig) (*Stack, error) {
	a := img.Arch
	if c.Top == 0 {
		c.Top = a.StackTop
	}
	if c.ExecFn == "" {
		if len(c.Argv) > 0 {
			c.ExecFn = c.Argv[0]
		} else {
			c.ExecFn = img.Path
		}
	}
	if c.Platform == "" {
		c.Platform = a.Machine
	}
	if c.PageSize == 0 {
		c.PageSize = a.PageSize
	}
	if c.ClkTck == 0 {
		c.ClkTck = 100
	}
	if c.StackLimit == 0 {
		c.StackLimit = a.StackSize
	}
	align := a.StackAlign
	if c.Top%align != 0 {
		return nil, fmt.Errorf("loader: stack top %#x is not %d-byte aligned: %w", c.Top, align, ErrBadStackTop)
	}

	// fs/exec.c: every string at most MAX_ARG_STRLEN with its NUL, and all
	// of them within the budget bprm_stack_limits computes.
	maxStr := maxArgStrlenPages * c.PageSize
	var total uint64
	check := func(what string, i int, s string) error {
		// The name is only for errors: formatting it for every string
		// would allocate per argument.
		name := func() string {
			if i < 0 {
				return what
			}
			return fmt.Sprintf("%s[%d]", what, i)
		}
		if strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("loader: %s contains a NUL byte: %w", name(), ErrInvalidArg)
		}
		n := uint64(len(s)) + 1
		if n > maxStr {
			return fmt.Errorf("loader: %s: %d bytes with its NUL, more than MAX_ARG_STRLEN (%d): %w", name(), n, maxStr, ErrArgListTooLong)
		}
		total += n
		return nil
	}
	if err := check("execfn", -1, c.ExecFn); err != nil {
		return nil, err
	}
	for i, s := range c.Envp {
		if err := check("envp", i, s); err != nil {
			return nil, err
		}
	}
	for i, s := range c.Argv {
		if err := check("argv", i, s); err != nil {
			return nil, err
		}
	}
	if strings.IndexByte(c.Platform, 0) >= 0 {
		return nil, fmt.Errorf("loader: platform string contains a NUL byte: %w", ErrInvalidArg)
	}
	limit := max(min(c.StackLimit/4, stkLim/4*3), argMax)
	ptrs := uint64(max(len(c.Argv), 1)+len(c.Envp)) * 8
	if limit <= ptrs || total > limit-ptrs {
		return nil, fmt.Errorf("loader: %d argv and %d envp strings take %d bytes and %d of pointers, more than the %d allowed: %w",
			len(c.Argv), len(c.Envp), total, ptrs, limit, ErrArgListTooLong)
	}

	// Everything below fits under Top (a low Top must not wrap around).
	bound := 8 + total + align + uint64(len(c.Platform)) + 1 + 16 + 8*uint64(3+len(c.Argv)+len(c.Envp)) + 16*maxAuxv + align
	if c.Top < bound {
		return nil, fmt.Errorf("loader: stack top %#x is too low for %d bytes of stack: %w", c.Top, bound, ErrBadStackTop)
	}

	st := &Stack{Top: c.Top}
	// Strings, from the top down.
	p := c.Top - 8
	p -= uint64(len(c.ExecFn)) + 1
	st.ExecFnAddr = p
	st.EnvEnd = p
	envAddrs := make([]uint64, len(c.Envp))
	for i := len(c.Envp) - 1; i >= 0; i-- {
		p -= uint64(len(c.Envp[i])) + 1
		envAddrs[i] = p
	}
	st.EnvStart = p
	st.ArgEnd = p
	argAddrs := make([]uint64, len(c.Argv))
	for i := len(c.Argv) - 1; i >= 0; i-- {
		p -= uint64(len(c.Argv[i])) + 1
		argAddrs[i] = p
	}
	st.ArgStart = p

	// create_elf_tables.
	p &^= align - 1
	p -= uint64(len(c.Platform)) + 1
	st.PlatformAddr = p
	p -= uint64(len(c.Random))
	st.RandomAddr = p

	var auxv []AuxEntry
	add := func(t AuxType, v uint64) { auxv = append(auxv, AuxEntry{t, v}) }
	if c.SysinfoEHDR != 0 {
		add(AT_SYSINFO_EHDR, c.SysinfoEHDR)
	}
	if c.MinSigStackSize != 0 {
		add(AT_MINSIGSTKSZ, c.MinSigStackSize)
	}
	add(AT_HWCAP, c.HWCAP)
	add(AT_PAGESZ, c.PageSize)
	add(AT_CLKTCK, c.ClkTck)
	add(AT_PHDR, img.PhdrAddr)
	add(AT_PHENT, uint64(img.Phent))
	add(AT_PHNUM, uint64(img.Phnum))
	add(AT_BASE, c.InterpBase)
	add(AT_FLAGS, 0)
	add(AT_ENTRY, img.Entry)
	add(AT_UID, c.UID)
	add(AT_EUID, c.EUID)
	add(AT_GID, c.GID)
	add(AT_EGID, c.EGID)
	var secure uint64
	if c.Secure {
		secure = 1
	}
	add(AT_SECURE, secure)
	add(AT_RANDOM, st.RandomAddr)
	add(AT_HWCAP2, c.HWCAP2)
	add(AT_EXECFN, st.ExecFnAddr)
	add(AT_PLATFORM, st.PlatformAddr)
	if c.RseqFeatureSize != 0 || c.RseqAlign != 0 {
		add(AT_RSEQ_FEATURE_SIZE, c.RseqFeatureSize)
		add(AT_RSEQ_ALIGN, c.RseqAlign)
	}
	add(AT_NULL, 0)
	st.Auxv = auxv

	// argc, argv, NULL, envp, NULL, then the auxv words, rounded down.
	words := uint64(1+len(c.Argv)+1+len(c.Envp)+1) + 2*uint64(len(auxv))
	sp := (p - 8*words) &^ (align - 1)
	st.SP, st.Low = sp, sp
	st.ArgvAddr = sp + 8
	st.EnvpAddr = st.ArgvAddr + 8*uint64(len(c.Argv)+1)
	st.AuxvAddr = st.EnvpAddr + 8*uint64(len(c.Envp)+1)

	data := make([]byte, c.Top-sp)
	le := binary.LittleEndian
	at := func(addr uint64) []byte { return data[addr-sp:] }
	le.PutUint64(at(sp), uint64(len(c.Argv)))
	for i, v := range argAddrs {
		le.PutUint64(at(st.ArgvAddr+8*uint64(i)), v)
		copy(at(v), c.Argv[i])
	}
	for i, v := range envAddrs {
		le.PutUint64(at(st.EnvpAddr+8*uint64(i)), v)
		copy(at(v), c.Envp[i])
	}
	copy(at(st.AuxvAddr), auxvBytes(auxv))
	copy(at(st.RandomAddr), c.Random[:])
	copy(at(st.PlatformAddr), c.Platform)
	copy(at(st.ExecFnAddr), c.ExecFn)
	// The NUL terminators, the NULL array ends and the paddings are the
	// zeros make left.
	st.Data = data
	return st, nil
}
