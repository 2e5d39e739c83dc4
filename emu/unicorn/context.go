package unicorn

/*
#include <unicorn/unicorn.h>
#include "hooks.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Context is a saved CPU state: every register, including FS base on x86
// and TPIDR_EL0 on AArch64. Memory is not part of it. gorunemu keeps one
// per guest thread and restores it to switch threads.
type Context struct {
	c *C.uc_context
}

// NewContext allocates a context holding the engine's current CPU state.
func (e *Engine) NewContext() (*Context, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	var c *C.uc_context
	if err := ucErr(C.uc_context_alloc(e.uc, &c), "allocate context"); err != nil {
		return nil, err
	}
	ctx := &Context{c: c}
	runtime.SetFinalizer(ctx, (*Context).Free)
	if err := e.Save(ctx); err != nil {
		ctx.Free()
		return nil, err
	}
	return ctx, nil
}

// Save stores the engine's CPU state into ctx.
func (e *Engine) Save(ctx *Context) error {
	if err := e.check(); err != nil {
		return err
	}
	return ucErr(C.uc_context_save(e.uc, ctx.c), "save context")
}

// Restore loads ctx into the engine's CPU.
func (e *Engine) Restore(ctx *Context) error {
	if err := e.check(); err != nil {
		return err
	}
	return ucErr(C.uc_context_restore(e.uc, ctx.c), "restore context")
}

// Clone returns a copy of ctx. The engine's CPU is left as ctx.
func (e *Engine) Clone(ctx *Context) (*Context, error) {
	if err := e.Restore(ctx); err != nil {
		return nil, err
	}
	return e.NewContext()
}

// RegReadBatch reads registers from the saved state.
func (ctx *Context) RegReadBatch(regs []int, vals []uint64) error {
	return regBatch(nil, ctx.c, regs, vals, false)
}

// RegWriteBatch writes registers into the saved state.
func (ctx *Context) RegWriteBatch(regs []int, vals []uint64) error {
	return regBatch(nil, ctx.c, regs, vals, true)
}

// Free releases the context. It is safe to call twice.
func (ctx *Context) Free() {
	if ctx.c != nil {
		C.uc_context_free(ctx.c)
		ctx.c = nil
		runtime.SetFinalizer(ctx, nil)
	}
}

// RegRead128 returns a 128-bit register (an XMM or Q register) of the
// saved state as low and high halves.
func (ctx *Context) RegRead128(reg int) (lo, hi uint64, err error) {
	var v [2]C.uint64_t
	err = ucErr(C.uc_context_reg_read(ctx.c, C.int(reg), unsafe.Pointer(&v[0])), "read register %d of a context", reg)
	return uint64(v[0]), uint64(v[1]), err
}

// RegWrite128 sets a 128-bit register (an XMM or Q register) of the saved
// state from low and high halves.
func (ctx *Context) RegWrite128(reg int, lo, hi uint64) error {
	v := [2]C.uint64_t{C.uint64_t(lo), C.uint64_t(hi)}
	return ucErr(C.uc_context_reg_write(ctx.c, C.int(reg), unsafe.Pointer(&v[0])), "write register %d of a context", reg)
}
