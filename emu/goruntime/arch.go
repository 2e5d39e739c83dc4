package goruntime

import (
	"fmt"

	"github.com/gorunemu/gorunemu/arch"
)

// rules is what differs between the guest arches in where the runtime
// keeps its state and how startup sets it, as a value (one per arch,
// amd64.go and arm64.go), so that Read and Check are written once.
type rules struct {
	arch *arch.Arch
	// tlsName names the thread pointer register in messages.
	tlsName string
	// gSlotInTLS: the thread pointer points just past m.tls[0], which
	// holds g (amd64: FS base = &m.tls+8, g = *(FS−8); runtime/go_tls.h).
	// Without it (arm64) a non-cgo binary keeps g only in its register
	// and never sets the thread pointer.
	gSlotInTLS bool
	// gTLSVar is the thread-local variable where a binary linked with a
	// C library (cgo) keeps g, at a thread-pointer offset the C library's
	// TLS layout decides (loader.Image.TLSOffset).
	gTLSVar string
	// gRegOnlyInGo: the g register holds g only in Go (ABIInternal) code
	// (amd64 R14, reloaded from TLS by ABI0→ABIInternal wrappers); on
	// arm64 R28 is g in all Go text, assembly too, but not in the C
	// library's code of a cgo binary.
	gRegOnlyInGo bool
	// g0StackSize is hi−lo of g0's stack as rt0_go sets it for a Go minor.
	g0StackSize func(minor int) uint64
	// guardsInRT0: rt0_go itself sets g0's stack guards to lo+stackGuard
	// (arm64); otherwise (amd64 without cgo) they stay at lo until
	// mstart0 raises them.
	guardsInRT0 bool
	// syscallInsn is the encoding of the syscall instruction.
	syscallInsn []byte
	// rt0 finds the addresses of runtime.g0 and runtime.m0 in the
	// machine code of runtime.rt0_go, which starts at pc.
	rt0 func(code []byte, pc uint64, off Offsets) (g0, m0 uint64, err error)
}

func rulesFor(a *arch.Arch) (*rules, error) {
	switch a {
	case arch.AMD64:
		return amd64Rules, nil
	case arch.ARM64:
		return arm64Rules, nil
	}
	return nil, fmt.Errorf("goruntime: unsupported arch %s", a.Name)
}

// g0 stack geometry, from runtime/asm_{amd64,arm64}.s rt0_go: hi is the
// stack pointer after rt0_go's prologue, 48 bytes below the entry SP
// (which points at argc) on both arches, and lo is 64 KiB below hi
// (plus 104 on amd64 before Go 1.21, "-64*1024+104").
const (
	g0HiBelowEntrySP = 48
	g0StackSize      = 64 << 10
)

// StackGuard returns the runtime's stackGuard constant for a Go minor
// version: how far above stack.lo a g's stack guards sit once set.
// Before Go 1.21 it is 928 × StackGuardMultiplier (runtime/stack.go
// _StackGuard); from 1.21 it is stackNosplit + StackSmall = 800 ×
// StackGuardMultiplier + 128. The multiplier is 2 in -race builds.
func StackGuard(minor int, race bool) uint64 {
	mult := uint64(1)
	if race {
		mult = 2
	}
	if minor <= 20 {
		return 928 * mult
	}
	return 800*mult + 128
}
