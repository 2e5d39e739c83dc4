package goruntime

import (
	"errors"
	"fmt"

	"golang.org/x/arch/x86/x86asm"

	"github.com/gorunemu/gorunemu/arch"
)

var amd64Rules = &rules{
	arch:         arch.AMD64,
	tlsName:      "FS base",
	gSlotInTLS:   true,
	gTLSVar:      "runtime.tlsg",
	gRegOnlyInGo: true,
	g0StackSize: func(minor int) uint64 {
		if minor <= 20 {
			return g0StackSize - 104 // LEAQ (-64*1024+104)(SP), BX
		}
		return g0StackSize
	},
	guardsInRT0: false,
	syscallInsn: []byte{0x0f, 0x05}, // SYSCALL
	rt0:         amd64RT0,
}

// amd64RT0 decodes rt0_go (runtime/asm_amd64.s), which loads g0's address
// with "LEAQ runtime·g0(SB), DI" before anything else, and later stores
// it into m0 with "LEAQ runtime·m0(SB), AX; MOVQ CX, m_g0(AX)". It tracks
// the registers that hold RIP-relative addresses: g0 is the first one
// loaded; m0 is the base of the first store of g0's address at offset
// m.g0.
func amd64RT0(code []byte, pc uint64, off Offsets) (g0, m0 uint64, err error) {
	regs := map[x86asm.Reg]uint64{}
	for len(code) > 0 {
		inst, err := x86asm.Decode(code, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("decoding at %#x: %w", pc, err)
		}
		next := pc + uint64(inst.Len)
		dst, isReg := inst.Args[0].(x86asm.Reg)
		switch {
		case inst.Op == x86asm.LEA && isReg:
			if mem, ok := inst.Args[1].(x86asm.Mem); ok && mem.Base == x86asm.RIP && mem.Index == 0 {
				a := uint64(int64(next) + mem.Disp)
				regs[reg64(dst)] = a
				if g0 == 0 {
					g0 = a
				}
				break
			}
			delete(regs, reg64(dst))
		case inst.Op == x86asm.MOV && !isReg:
			mem, ok := inst.Args[0].(x86asm.Mem)
			src, sok := inst.Args[1].(x86asm.Reg)
			if ok && sok && g0 != 0 && mem.Index == 0 && mem.Segment == 0 && uint64(mem.Disp) == off.MG0 {
				base, bok := regs[reg64(mem.Base)]
				if v, vok := regs[reg64(src)]; vok && v == g0 && bok {
					return g0, base, nil
				}
			}
		case inst.Op == x86asm.CALL || inst.Op == x86asm.CPUID:
			clear(regs) // clobbers registers without naming them
		case isReg:
			delete(regs, reg64(dst))
		}
		code, pc = code[inst.Len:], next
	}
	if g0 == 0 {
		return 0, 0, errors.New("no RIP-relative LEA of runtime.g0")
	}
	return 0, 0, errors.New("no store of runtime.g0 into runtime.m0's g0 field")
}

// reg64 maps a sub-register (EAX, AX, AL) to its 64-bit register.
func reg64(r x86asm.Reg) x86asm.Reg {
	switch {
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return x86asm.RAX + (r - x86asm.EAX)
	case r >= x86asm.AX && r <= x86asm.R15W:
		return x86asm.RAX + (r - x86asm.AX)
	}
	return r
}
