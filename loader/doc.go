// Package loader turns a Linux ELF executable into what the emulator maps
// and runs, and builds the initial stack Linux would give it.
//
// Open (or Parse) validates a static ELF64 executable for amd64 or arm64 —
// the checks of Linux's load_elf_binary plus the limits of an emulator —
// and returns an Image: its PT_LOAD segments relocated by the load bias,
// entry point, program header address, initial program break and Go
// version. Every rejection is a *FormatError wrapping a sentinel such as
// ErrNotELF or ErrNeedsInterpreter, for errors.Is. The image also names
// addresses: Lookup finds a symbol's address, Symbolize turns a PC into
// function+offset and file:line, and Funcs lists the functions. Function
// names and positions come from Go's .gopclntab, so they survive
// go build -ldflags='-s -w'; data symbols need the ELF symbol table.
//
// NewStack lays out argc, argv, envp, the auxiliary vector and the strings
// they point at exactly as Linux's execve does with ASLR off; its doc
// comment has the byte-order diagram, and a test compares it with the stack
// of a real process under gdb when the host allows.
//
// The package is pure Go and imports no emulator code; the guest arch
// descriptors come from package arch. Both arches are handled on every host.
package loader
