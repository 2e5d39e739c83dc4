package loader

import (
	"debug/elf"
	"errors"
	"fmt"
)

// ErrNoTLS means the executable has no PT_TLS segment: a Go binary linked
// without a C library.
var ErrNoTLS = errors.New("no thread-local storage segment")

// TLSOffset returns where the thread-local variable name of the
// executable lives relative to the thread pointer (FS base, TPIDR_EL0),
// as the C library lays out the static TLS block of the main program: on
// x86-64 (TLS variant II) the block ends at the thread pointer, so the
// offset is negative; on arm64 (variant I) it starts after the 16-byte
// thread control block, rounded up to the block's alignment. A Go binary
// linked without cgo has no PT_TLS (ErrNoTLS); a stripped one linked with
// a C library has the segment but no symbol to find the variable by.
func (img *Image) TLSOffset(name string) (int64, error) {
	f, err := openELF(img.data)
	if err != nil {
		return 0, err
	}
	var tls *elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_TLS {
			tls = p
		}
	}
	if tls == nil {
		return 0, ErrNoTLS
	}
	syms, err := f.Symbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return 0, err
	}
	for _, s := range syms {
		if s.Name == name && elf.ST_TYPE(s.Info) == elf.STT_TLS {
			return img.tlsOffset(tls, s.Value)
		}
	}
	// Go's g slot is the executable's only thread-local variable unless
	// the C library is linked in statically: in a segment of Go's own
	// size it is the first word, found without a symbol (a stripped or
	// internally linked PIE).
	if goSlots[name] && tls.Memsz <= goTLSSize {
		return img.tlsOffset(tls, 0)
	}
	return 0, fmt.Errorf("no thread-local symbol %s (stripped?)", name)
}

// goTLSSize bounds the TLS segment Go's linker makes for g alone: one
// word on amd64, two on arm64. A C library's is hundreds of bytes.
const goTLSSize = 16

// goSlots are the names the Go runtime gives its TLS slot for g.
var goSlots = map[string]bool{"runtime.tlsg": true, "runtime.tls_g": true}

// tlsOffset is the offset from the thread pointer of the variable at
// value in the executable's TLS segment tls.
func (img *Image) tlsOffset(tls *elf.Prog, value uint64) (int64, error) {
	align := max(tls.Align, 1)
	switch img.Arch.Name {
	case "amd64":
		return int64(value) - int64(alignUp(tls.Memsz, align)), nil
	case "arm64":
		return int64(alignUp(16, align)) + int64(value), nil
	}
	return 0, fmt.Errorf("no TLS layout for arch %s", img.Arch.Name)
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) / a * a }

// Cgo reports whether the executable runs Go on the C library's threads
// (cgo), whose thread pointer is then the C library's: it has
// runtime/cgo's C functions (x_cgo_init in the symbol table, or
// _cgo_topofstack among the dynamic symbols a stripped one keeps), or a
// TLS segment larger than Go's own (a C library linked in statically). A Go program linked as a PIE without cgo has a TLS segment
// and the dynamic loader too, but sets its own thread pointer.
func (img *Image) Cgo() bool {
	if _, ok := img.Lookup("x_cgo_init"); ok {
		return true
	}
	f, err := openELF(img.data)
	if err != nil {
		return false
	}
	if dyn, err := f.DynamicSymbols(); err == nil {
		for _, s := range dyn {
			if s.Name == "_cgo_topofstack" || s.Name == "x_cgo_init" {
				return true
			}
		}
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_TLS && p.Memsz > goTLSSize {
			return true
		}
	}
	return false
}
