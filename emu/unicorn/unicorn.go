// Package unicorn is gorunemu's cgo binding to libunicorn 2.1 or later
// (Debian's libunicorn-dev; scripts/install-deps.sh fetches trixie's
// 2.1.1 into /opt/gorunemu/unicorn where the system has an older one). It
// is the only package that uses cgo.
//
// The binding is shaped for running whole processes: memory can be backed
// by host memory the caller owns (MapPtr), registers move in batches, CPU
// contexts are saved and restored for thread switches, and the hooks that
// run per block, per instruction or per memory write are C functions that
// append to ring buffers which Go drains after each stop. Nothing crosses
// into Go while the guest runs; Start returns with an Exit that says why it
// stopped (a syscall, a stop address, the instruction budget, a fault, a
// full ring).
//
// Every Unicorn error is returned as an *Error naming the operation and its
// addresses; no code above this package sees uc_err values.
package unicorn

/*
#cgo CFLAGS: -I/opt/gorunemu/unicorn/include
#cgo LDFLAGS: -L/opt/gorunemu/unicorn/lib -l:libunicorn.a -lpthread -lm
#include <stdlib.h>
#include "hooks.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// Arch selects the guest CPU family.
type Arch int

// Guest CPU families; the values are Unicorn's uc_arch.
const (
	ArchX86   Arch = C.UC_ARCH_X86
	ArchARM64 Arch = C.UC_ARCH_ARM64
)

// Mode is Unicorn's uc_mode.
type Mode int

// Modes gorunemu uses.
const (
	Mode64    Mode = C.UC_MODE_64  // x86-64
	ModeARM64 Mode = C.UC_MODE_ARM // AArch64, little-endian
)

// Prot is a set of Unicorn page permissions.
type Prot uint32

// Page permissions; the values are Unicorn's uc_prot.
const (
	ProtNone  Prot = C.UC_PROT_NONE
	ProtRead  Prot = C.UC_PROT_READ
	ProtWrite Prot = C.UC_PROT_WRITE
	ProtExec  Prot = C.UC_PROT_EXEC
	ProtAll   Prot = C.UC_PROT_ALL
)

// Version returns the linked libunicorn's version as "major.minor.patch".
func Version() string {
	v := uint32(C.uc_version(nil, nil))
	return fmt.Sprintf("%d.%d.%d", v>>24, v>>16&0xff, v>>8&0xff)
}

// Error is a failed Unicorn call.
type Error struct {
	Op   string // what was attempted, with its addresses
	Code int    // uc_err
	Msg  string // uc_strerror
}

func (e *Error) Error() string { return fmt.Sprintf("unicorn: %s: %s", e.Op, e.Msg) }

func ucErr(code C.uc_err, format string, args ...any) error {
	if code == C.UC_ERR_OK {
		return nil
	}
	return &Error{Op: fmt.Sprintf(format, args...), Code: int(code), Msg: C.GoString(C.uc_strerror(code))}
}

// ErrClosed is returned by calls on a closed Engine.
var ErrClosed = errors.New("unicorn: engine is closed")

// Engine is one Unicorn instance with gorunemu's hooks installed. An Engine
// is not safe for concurrent use; separate Engines are independent.
type Engine struct {
	mu    sync.Mutex // guards Close against finalizer races only
	uc    *C.uc_engine
	st    *C.gre_state
	arch  Arch
	stops map[uint64]C.uc_hook
	insn  C.uc_hook
	watch map[[2]uint64]bool
	// started is set by the first Start: hooks added later need the
	// translation cache flushed to take effect (unicorn#2200).
	started bool
}

// userModeScratch is the page the x86 ring change borrows for a moment:
// the last page below 2^47, just past Linux's user address space
// (TASK_SIZE_MAX 0x7ffffffff000), which no guest mapping can take.
const userModeScratch = 0x7ffffffff000

// Open creates an engine for arch/mode with the CPU model cpuModel (a
// UC_CPU_* value, or -1 for Unicorn's default) and installs the standard
// hooks: syscalls, CPU exceptions, invalid memory, invalid instructions and
// the block counter.
func Open(arch Arch, mode Mode, cpuModel int) (*Engine, error) {
	// The hooks (hooks.c) know x86-64 and AArch64 and nothing else.
	if arch != ArchX86 && arch != ArchARM64 {
		return nil, fmt.Errorf("unicorn: arch %d: the hooks handle only x86 and arm64", arch)
	}
	var uc *C.uc_engine
	if err := ucErr(C.uc_open(C.uc_arch(arch), C.uc_mode(mode), &uc), "open arch %d mode %d", arch, mode); err != nil {
		return nil, err
	}
	e := &Engine{uc: uc, arch: arch, stops: map[uint64]C.uc_hook{}, watch: map[[2]uint64]bool{}}
	if cpuModel >= 0 {
		// uc_ctl is variadic, which cgo cannot call; the wrapper is in ctl.c.
		if err := ucErr(C.gre_set_cpu_model(uc, C.int(cpuModel)), "set cpu model %d", cpuModel); err != nil {
			C.uc_close(uc)
			return nil, err
		}
	}
	e.st = C.gre_new(uc, C.int(arch))
	if e.st == nil {
		C.uc_close(uc)
		return nil, errors.New("unicorn: out of memory for hook state")
	}
	var h C.uc_hook
	for _, add := range []struct {
		name string
		fn   func() C.uc_err
	}{
		{"syscall", func() C.uc_err { return C.gre_hook_syscall(e.st, &h) }},
		{"interrupt", func() C.uc_err { return C.gre_hook_intr(e.st, &h) }},
		{"counters", func() C.uc_err { return C.gre_hook_counters(e.st, &h) }},
		{"invalid memory", func() C.uc_err { return C.gre_hook_invalid_mem(e.st, &h) }},
		{"invalid instruction", func() C.uc_err { return C.gre_hook_invalid_insn(e.st, &h) }},
		{"block", func() C.uc_err { return C.gre_hook_block(e.st, &h) }},
		{"tlb fill", func() C.uc_err { return C.gre_hook_tlb(e.st, &h) }},
	} {
		if err := ucErr(add.fn(), "add %s hook", add.name); err != nil {
			e.Close()
			return nil, err
		}
	}
	// After the hooks: adding hooks to an engine that has run keeps
	// memory that uc_close does not give back (about 50 KiB a process).
	if err := ucErr(C.gre_enter_user_mode(e.st, userModeScratch), "enter user mode"); err != nil {
		e.Close()
		return nil, err
	}
	runtime.SetFinalizer(e, (*Engine).Close)
	return e, nil
}

// Arch returns the engine's CPU family.
func (e *Engine) Arch() Arch { return e.arch }

// Close frees the engine and its hook state. It is safe to call twice.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.uc == nil {
		return nil
	}
	err := ucErr(C.uc_close(e.uc), "close")
	C.gre_free(e.st)
	e.uc, e.st = nil, nil
	runtime.SetFinalizer(e, nil)
	return err
}

func (e *Engine) check() error {
	if e.uc == nil {
		return ErrClosed
	}
	return nil
}
