package loader

import (
	"encoding/binary"
	"strconv"
)

// This file holds the Linux and ELF ABI constants the loader uses, with
// Linux's spelling and the header each comes from.

// ELF64 structure sizes (the System V gABI, "ELF Header" and "Program
// Header"; include/uapi/linux/elf.h Elf64_Ehdr, Elf64_Phdr).
const (
	elf64EhdrSize = 64
	elf64PhdrSize = 56
	// pathMax bounds the PT_INTERP string as load_elf_binary does
	// (include/uapi/linux/limits.h PATH_MAX).
	pathMax = 4096
)

// Prot is a set of memory access permissions, as mmap(2) and mprotect(2)
// take them.
type Prot uint8

// Permission bits with Linux's values (include/uapi/asm-generic/mman-common.h).
const (
	PROT_READ  Prot = 0x1
	PROT_WRITE Prot = 0x2
	PROT_EXEC  Prot = 0x4
)

// Limits execve(2) applies to the argument and environment strings.
const (
	// maxArgStrlenPages is MAX_ARG_STRLEN, the longest string with its
	// NUL, in pages (include/uapi/linux/binfmts.h: PAGE_SIZE * 32).
	maxArgStrlenPages = 32
	// argMax is ARG_MAX, the floor of the strings' total budget
	// (include/uapi/linux/limits.h).
	argMax = 131072
	// stkLim is _STK_LIM, the default RLIMIT_STACK
	// (include/uapi/linux/resource.h); the budget is at most three
	// quarters of it (fs/exec.c bprm_stack_limits).
	stkLim = 8 << 20
	// maxAuxv bounds the number of auxv entries NewStack writes.
	maxAuxv = 25
)

// AuxType is the type (a_type) of an auxiliary vector entry.
type AuxType uint64

// Auxiliary vector entry types. The values are Linux's and the same on
// amd64 and arm64: include/uapi/linux/auxvec.h for the generic ones,
// arch/x86/include/uapi/asm/auxvec.h and arch/arm64/include/uapi/asm/auxvec.h
// for AT_SYSINFO_EHDR and AT_MINSIGSTKSZ. getauxval(3) documents their
// meaning.
const (
	AT_NULL              AuxType = 0  // end of vector
	AT_IGNORE            AuxType = 1  // entry should be ignored
	AT_EXECFD            AuxType = 2  // file descriptor of program (binfmt_misc)
	AT_PHDR              AuxType = 3  // program headers for program
	AT_PHENT             AuxType = 4  // size of program header entry
	AT_PHNUM             AuxType = 5  // number of program headers
	AT_PAGESZ            AuxType = 6  // system page size
	AT_BASE              AuxType = 7  // base address of interpreter
	AT_FLAGS             AuxType = 8  // flags
	AT_ENTRY             AuxType = 9  // entry point of program
	AT_NOTELF            AuxType = 10 // program is not ELF
	AT_UID               AuxType = 11 // real uid
	AT_EUID              AuxType = 12 // effective uid
	AT_GID               AuxType = 13 // real gid
	AT_EGID              AuxType = 14 // effective gid
	AT_PLATFORM          AuxType = 15 // string identifying CPU for optimizations
	AT_HWCAP             AuxType = 16 // arch dependent hints at CPU capabilities
	AT_CLKTCK            AuxType = 17 // frequency at which times() increments
	AT_SECURE            AuxType = 23 // secure mode boolean
	AT_BASE_PLATFORM     AuxType = 24 // string identifying real platform
	AT_RANDOM            AuxType = 25 // address of 16 random bytes
	AT_HWCAP2            AuxType = 26 // extension of AT_HWCAP
	AT_RSEQ_FEATURE_SIZE AuxType = 27 // rseq supported feature size (Linux 6.3+)
	AT_RSEQ_ALIGN        AuxType = 28 // rseq allocation alignment (Linux 6.3+)
	AT_EXECFN            AuxType = 31 // filename of program
	AT_SYSINFO_EHDR      AuxType = 33 // address of the vDSO ELF header (asm/auxvec.h)
	AT_MINSIGSTKSZ       AuxType = 51 // minimal stack size for signal delivery (asm/auxvec.h)
)

var auxNames = map[AuxType]string{
	AT_NULL:              "AT_NULL",
	AT_IGNORE:            "AT_IGNORE",
	AT_EXECFD:            "AT_EXECFD",
	AT_PHDR:              "AT_PHDR",
	AT_PHENT:             "AT_PHENT",
	AT_PHNUM:             "AT_PHNUM",
	AT_PAGESZ:            "AT_PAGESZ",
	AT_BASE:              "AT_BASE",
	AT_FLAGS:             "AT_FLAGS",
	AT_ENTRY:             "AT_ENTRY",
	AT_NOTELF:            "AT_NOTELF",
	AT_UID:               "AT_UID",
	AT_EUID:              "AT_EUID",
	AT_GID:               "AT_GID",
	AT_EGID:              "AT_EGID",
	AT_PLATFORM:          "AT_PLATFORM",
	AT_HWCAP:             "AT_HWCAP",
	AT_CLKTCK:            "AT_CLKTCK",
	AT_SECURE:            "AT_SECURE",
	AT_BASE_PLATFORM:     "AT_BASE_PLATFORM",
	AT_RANDOM:            "AT_RANDOM",
	AT_HWCAP2:            "AT_HWCAP2",
	AT_RSEQ_FEATURE_SIZE: "AT_RSEQ_FEATURE_SIZE",
	AT_RSEQ_ALIGN:        "AT_RSEQ_ALIGN",
	AT_EXECFN:            "AT_EXECFN",
	AT_SYSINFO_EHDR:      "AT_SYSINFO_EHDR",
	AT_MINSIGSTKSZ:       "AT_MINSIGSTKSZ",
}

// String returns the Linux name of t ("AT_RANDOM"), or "AT_<n>" for a type
// this package does not know.
func (t AuxType) String() string {
	if s, ok := auxNames[t]; ok {
		return s
	}
	return "AT_" + strconv.FormatUint(uint64(t), 10)
}

// AuxEntry is one auxiliary vector entry (Elf64_auxv_t).
type AuxEntry struct {
	Type AuxType
	Val  uint64
}

// String formats e as "AT_PAGESZ=0x1000".
func (e AuxEntry) String() string {
	return e.Type.String() + "=0x" + strconv.FormatUint(e.Val, 16)
}

// auxvBytes encodes entries as consecutive little-endian (type, value)
// pairs of 8 bytes each, as they sit on the stack and as /proc/self/auxv
// returns them.
func auxvBytes(entries []AuxEntry) []byte {
	b := make([]byte, 16*len(entries))
	for i, e := range entries {
		binary.LittleEndian.PutUint64(b[16*i:], uint64(e.Type))
		binary.LittleEndian.PutUint64(b[16*i+8:], e.Val)
	}
	return b
}
