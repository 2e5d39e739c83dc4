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
		if s.Name != name || elf.ST_TYPE(s.Info) != elf.STT_TLS {
			continue
		}
		align := max(tls.Align, 1)
		switch img.Arch.Name {
		case "amd64":
			return int64(s.Value) - int64(alignUp(tls.Memsz, align)), nil
		case "arm64":
			return int64(alignUp(16, align)) + int64(s.Value), nil
		}
		return 0, fmt.Errorf("no TLS layout for arch %s", img.Arch.Name)
	}
	return 0, fmt.Errorf("no thread-local symbol %s (stripped?)", name)
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) / a * a }
