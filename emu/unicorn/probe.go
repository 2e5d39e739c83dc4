package unicorn

/*
#include <unicorn/unicorn.h>
*/
import "C"

import "fmt"

// Probe reports which of the code snippets execute on an engine of the
// given arch, mode and CPU model: a snippet runs when it reaches the
// syscall instruction appended to it, and does not when it raises an
// undefined-instruction fault. Snippets run with the first two argument
// registers (x86: RBX and RDI; arm64: X0 and X1) pointing at a writable
// page; each must fall through to its end.
func Probe(arch Arch, mode Mode, cpuModel int, snippets [][]byte) ([]bool, error) {
	if len(snippets) == 0 {
		return nil, nil
	}
	e, err := Open(arch, mode, cpuModel)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	const code, scratch, slot = 0x10000, 0x20000, 64
	var syscall []byte
	var ptrRegs []int
	switch arch {
	case ArchX86:
		syscall = []byte{0x0f, 0x05}
		ptrRegs = []int{C.UC_X86_REG_RBX, C.UC_X86_REG_RDI}
	case ArchARM64:
		syscall = []byte{0x01, 0x00, 0x00, 0xd4} // svc #0
		ptrRegs = []int{C.UC_ARM64_REG_X0, C.UC_ARM64_REG_X1}
	default:
		return nil, fmt.Errorf("unicorn: probe: unsupported arch %d", arch)
	}
	size := uint64(len(snippets)*slot+0xfff) &^ 0xfff
	if err := e.Map(code, size, ProtRead|ProtExec); err != nil {
		return nil, err
	}
	if err := e.Map(scratch, 0x1000, ProtRead|ProtWrite); err != nil {
		return nil, err
	}
	ran := make([]bool, len(snippets))
	for i, s := range snippets {
		if len(s)+len(syscall) > slot {
			return nil, fmt.Errorf("unicorn: probe %d: %d bytes is too long", i, len(s))
		}
		at := uint64(code + i*slot)
		if err := e.WriteMem(at, append(append([]byte{}, s...), syscall...)); err != nil {
			return nil, err
		}
		if err := e.RegWriteBatch(ptrRegs, []uint64{scratch, scratch}); err != nil {
			return nil, err
		}
		x, err := e.Start(at, Unlimited)
		if err != nil {
			return nil, err
		}
		ran[i] = x.Syscall
	}
	return ran, nil
}
