package unicorn

/*
#include <unicorn/unicorn.h>
#include "hooks.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// MaxBatch is the most registers one batched call moves.
const MaxBatch = 64

// RegRead returns the 64-bit register reg (a Unicorn register number, such as
// those in package arch).
func (e *Engine) RegRead(reg int) (uint64, error) {
	if err := e.check(); err != nil {
		return 0, err
	}
	var v C.uint64_t
	err := ucErr(C.uc_reg_read(e.uc, C.int(reg), unsafe.Pointer(&v)), "read register %d", reg)
	return uint64(v), err
}

// ReadSysReg reads the AArch64 system register with encoding (op0, op1,
// CRn, CRm, op2), whatever the guest's exception level; an error means the
// CPU has no such register.
func (e *Engine) ReadSysReg(op0, op1, crn, crm, op2 int) (uint64, error) {
	if err := e.check(); err != nil {
		return 0, err
	}
	var v C.uint64_t
	err := ucErr(C.gre_read_sysreg(e.uc, C.int(op0), C.int(op1), C.int(crn), C.int(crm), C.int(op2), &v),
		"read system register %d,%d,c%d,c%d,%d", op0, op1, crn, crm, op2)
	return uint64(v), err
}

// RegWrite sets the 64-bit register reg.
func (e *Engine) RegWrite(reg int, v uint64) error {
	if err := e.check(); err != nil {
		return err
	}
	cv := C.uint64_t(v)
	return ucErr(C.uc_reg_write(e.uc, C.int(reg), unsafe.Pointer(&cv)), "write register %d=%#x", reg, v)
}

// RegReadBatch reads len(regs) 64-bit registers into vals in one call.
func (e *Engine) RegReadBatch(regs []int, vals []uint64) error {
	if err := e.check(); err != nil {
		return err
	}
	return regBatch(e.uc, nil, regs, vals, false)
}

// RegWriteBatch writes len(regs) 64-bit registers from vals in one call.
func (e *Engine) RegWriteBatch(regs []int, vals []uint64) error {
	if err := e.check(); err != nil {
		return err
	}
	return regBatch(e.uc, nil, regs, vals, true)
}

func regBatch(uc *C.uc_engine, ctx *C.uc_context, regs []int, vals []uint64, write bool) error {
	if len(regs) != len(vals) || len(regs) > MaxBatch {
		return fmt.Errorf("unicorn: register batch of %d registers and %d values (max %d)", len(regs), len(vals), MaxBatch)
	}
	if len(regs) == 0 {
		return nil
	}
	var ids [MaxBatch]C.int
	for i, r := range regs {
		ids[i] = C.int(r)
	}
	cvals := (*C.uint64_t)(unsafe.Pointer(&vals[0]))
	if write {
		return ucErr(C.gre_reg_write_batch(uc, ctx, &ids[0], cvals, C.int(len(regs))), "write %d registers", len(regs))
	}
	return ucErr(C.gre_reg_read_batch(uc, ctx, &ids[0], cvals, C.int(len(regs))), "read %d registers", len(regs))
}

// RegRead128 returns a 128-bit register (an XMM or Q register) as low and
// high halves.
func (e *Engine) RegRead128(reg int) (lo, hi uint64, err error) {
	if err := e.check(); err != nil {
		return 0, 0, err
	}
	var v [2]C.uint64_t
	err = ucErr(C.uc_reg_read(e.uc, C.int(reg), unsafe.Pointer(&v[0])), "read register %d", reg)
	return uint64(v[0]), uint64(v[1]), err
}

// RegWrite128 sets a 128-bit register (an XMM or Q register) from low and
// high halves.
func (e *Engine) RegWrite128(reg int, lo, hi uint64) error {
	if err := e.check(); err != nil {
		return err
	}
	v := [2]C.uint64_t{C.uint64_t(lo), C.uint64_t(hi)}
	return ucErr(C.uc_reg_write(e.uc, C.int(reg), unsafe.Pointer(&v[0])), "write register %d", reg)
}
