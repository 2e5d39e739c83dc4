package emu

import (
	"encoding/binary"
	"fmt"
)

// The vDSO's code, assembled here from its instruction encodings (the
// tests disassemble it back). Each function reads the virtual clock the
// way the syscalls do, without a syscall: on amd64 RDTSC, which traps and
// is answered with the virtual clock in nanoseconds (the guest runs with
// CR4.TSD); on arm64 CNTVCT_EL0, answered the same way at CNTFRQ_EL0 =
// 1 GHz. CLOCK_REALTIME adds the realtime base stored after the code.
// Clocks the vDSO does not serve (the CPU-time clocks) and clock_getres
// make the syscall, as Linux's vDSO falls back.

const (
	vdsoSecond = 1_000_000_000
	// vdsoTick is the coarse clocks' step: syscalls.tickNS.
	vdsoTick = 4_000_000
)

// Linux clock ids the vDSO answers itself.
const (
	clockRealtime        = 0
	clockMonotonic       = 1
	clockMonotonicRaw    = 4
	clockRealtimeCoarse  = 5
	clockMonotonicCoarse = 6
	clockBoottime        = 7
	clockTAI             = 11
)

// asm is a tiny assembler: bytes with labels and the branches to them.
type asm struct {
	b      []byte
	labels map[string]int
	fixups []fixup
}

type fixup struct {
	at    int
	label string
	kind  int
}

const (
	rel8     = iota // x86: signed byte from the next instruction
	rel32           // x86: signed word from the end of the 4 bytes
	armImm19        // arm64: B.cond, CBZ, LDR literal: words from the instruction
	armImm26        // arm64: B
)

func newAsm() *asm { return &asm{labels: map[string]int{}} }

func (a *asm) label(name string) { a.labels[name] = len(a.b) }

func (a *asm) bytes(b ...byte) { a.b = append(a.b, b...) }

// x86ref emits prefix and a 1- or 4-byte reference to label.
func (a *asm) x86ref(kind int, label string, prefix ...byte) {
	a.b = append(a.b, prefix...)
	a.fixups = append(a.fixups, fixup{len(a.b), label, kind})
	if kind == rel8 {
		a.b = append(a.b, 0)
	} else {
		a.b = append(a.b, 0, 0, 0, 0)
	}
}

// word emits one arm64 instruction.
func (a *asm) word(w uint32) { a.b = binary.LittleEndian.AppendUint32(a.b, w) }

// armRef emits w with an imm19 field (bits 5-23) pointing at label.
func (a *asm) armRef(w uint32, label string) {
	a.fixups = append(a.fixups, fixup{len(a.b), label, armImm19})
	a.word(w)
}

// armB emits an unconditional branch to label.
func (a *asm) armB(label string) {
	a.fixups = append(a.fixups, fixup{len(a.b), label, armImm26})
	a.word(0x14000000)
}

// align pads with pad to a multiple of n.
func (a *asm) align(n int, pad byte) {
	for len(a.b)%n != 0 {
		a.b = append(a.b, pad)
	}
}

// finish resolves the references.
func (a *asm) finish() ([]byte, error) {
	for _, f := range a.fixups {
		to, ok := a.labels[f.label]
		if !ok {
			return nil, fmt.Errorf("vdso: no label %s", f.label)
		}
		switch f.kind {
		case rel8:
			d := to - (f.at + 1)
			if d < -128 || d > 127 {
				return nil, fmt.Errorf("vdso: %s is %d bytes away", f.label, d)
			}
			a.b[f.at] = byte(int8(d))
		case rel32:
			binary.LittleEndian.PutUint32(a.b[f.at:], uint32(int32(to-(f.at+4))))
		case armImm19, armImm26:
			d := uint32((to - f.at) / 4)
			w := binary.LittleEndian.Uint32(a.b[f.at:])
			if f.kind == armImm19 {
				w |= d & 0x7ffff << 5
			} else {
				w |= d & 0x3ffffff
			}
			binary.LittleEndian.PutUint32(a.b[f.at:], w)
		}
	}
	return a.b, nil
}

// vdsoFunc is a function of the vDSO: its names and where it starts.
type vdsoFunc struct {
	name, alias string // alias is a weak name ("" for none)
	label       string
}

// amd64VDSO assembles the amd64 functions; the realtime base is the
// 8 bytes at label "base".
func amd64VDSO() (*asm, []vdsoFunc) {
	a := newAsm()
	// now: RAX = the virtual clock in ns (RDTSC traps and is answered).
	now := func() { a.bytes(0x0f, 0x31, 0x48, 0xc1, 0xe2, 0x20, 0x48, 0x09, 0xd0) } // rdtsc; shl rdx,32; or rax,rdx
	coarse := func() {
		a.bytes(0x48, 0x89, 0xc1, 0x31, 0xd2) // mov rcx,rax; xor edx,edx
		a.bytes(0x41, 0xb8)                   // mov r8d, tick
		a.b = binary.LittleEndian.AppendUint32(a.b, vdsoTick)
		a.bytes(0x49, 0xf7, 0xf0, 0x48, 0x89, 0xc8, 0x48, 0x29, 0xd0) // div r8; mov rax,rcx; sub rax,rdx
	}
	addBase := func() { a.x86ref(rel32, "base", 0x48, 0x03, 0x05) } // add rax,[rip+base]
	split := func() {                                               // RAX = s, RDX = ns of the RAX nanoseconds
		a.bytes(0x31, 0xd2, 0xb9) // xor edx,edx; mov ecx, 1e9
		a.b = binary.LittleEndian.AppendUint32(a.b, vdsoSecond)
		a.bytes(0x48, 0xf7, 0xf1) // div rcx
	}
	syscall := func(nr uint32) {
		a.bytes(0xb8) // mov eax, nr
		a.b = binary.LittleEndian.AppendUint32(a.b, nr)
		a.bytes(0x0f, 0x05, 0xc3) // syscall; ret
	}

	// clock_gettime(EDI clock, RSI timespec)
	a.label("clock_gettime")
	for _, c := range []struct {
		id    byte
		label string
	}{
		{clockRealtime, "gt_real"}, {clockTAI, "gt_real"}, {clockMonotonic, "gt_mono"},
		{clockMonotonicRaw, "gt_mono"}, {clockBoottime, "gt_mono"},
		{clockRealtimeCoarse, "gt_realc"}, {clockMonotonicCoarse, "gt_monoc"},
	} {
		a.bytes(0x83, 0xff, c.id) // cmp edi, id
		a.x86ref(rel8, c.label, 0x74)
	}
	syscall(228) // clock_gettime
	a.label("gt_realc")
	now()
	coarse()
	addBase()
	a.x86ref(rel8, "gt_store", 0xeb)
	a.label("gt_real")
	now()
	addBase()
	a.x86ref(rel8, "gt_store", 0xeb)
	a.label("gt_monoc")
	now()
	coarse()
	a.x86ref(rel8, "gt_store", 0xeb)
	a.label("gt_mono")
	now()
	a.label("gt_store")
	split()
	a.bytes(0x48, 0x89, 0x06, 0x48, 0x89, 0x56, 0x08) // mov [rsi],rax; mov [rsi+8],rdx
	a.bytes(0x31, 0xc0, 0xc3)                         // xor eax,eax; ret

	// gettimeofday(RDI timeval, RSI timezone)
	a.align(16, 0xcc)
	a.label("gettimeofday")
	a.bytes(0x48, 0x85, 0xff) // test rdi,rdi
	a.x86ref(rel8, "tod_tz", 0x74)
	now()
	addBase()
	split()
	a.bytes(0x48, 0x89, 0x07, 0x48, 0x89, 0xd0) // mov [rdi],rax; mov rax,rdx
	a.bytes(0x31, 0xd2, 0xb9)                   // xor edx,edx; mov ecx,1000
	a.b = binary.LittleEndian.AppendUint32(a.b, 1000)
	a.bytes(0x48, 0xf7, 0xf1, 0x48, 0x89, 0x47, 0x08) // div rcx; mov [rdi+8],rax
	a.label("tod_tz")
	a.bytes(0x48, 0x85, 0xf6) // test rsi,rsi
	a.x86ref(rel8, "tod_done", 0x74)
	a.bytes(0x48, 0xc7, 0x06, 0, 0, 0, 0) // mov qword [rsi],0: UTC, no DST
	a.label("tod_done")
	a.bytes(0x31, 0xc0, 0xc3) // xor eax,eax; ret

	// time(RDI time_t*)
	a.align(16, 0xcc)
	a.label("time")
	now()
	addBase()
	split()
	a.bytes(0x48, 0x85, 0xff) // test rdi,rdi
	a.x86ref(rel8, "time_done", 0x74)
	a.bytes(0x48, 0x89, 0x07) // mov [rdi],rax
	a.label("time_done")
	a.bytes(0xc3)

	// getcpu(RDI cpu, RSI node, RDX cache): CPU 0, node 0.
	a.align(16, 0xcc)
	a.label("getcpu")
	a.bytes(0x48, 0x85, 0xff)
	a.x86ref(rel8, "cpu_node", 0x74)
	a.bytes(0xc7, 0x07, 0, 0, 0, 0) // mov dword [rdi],0
	a.label("cpu_node")
	a.bytes(0x48, 0x85, 0xf6)
	a.x86ref(rel8, "cpu_done", 0x74)
	a.bytes(0xc7, 0x06, 0, 0, 0, 0) // mov dword [rsi],0
	a.label("cpu_done")
	a.bytes(0x31, 0xc0, 0xc3)

	// clock_getres(EDI clock, RSI timespec): the syscall.
	a.align(16, 0xcc)
	a.label("clock_getres")
	syscall(229)

	a.align(8, 0xcc)
	a.label("base")
	return a, []vdsoFunc{
		{"__vdso_clock_gettime", "clock_gettime", "clock_gettime"},
		{"__vdso_gettimeofday", "gettimeofday", "gettimeofday"},
		{"__vdso_time", "time", "time"},
		{"__vdso_getcpu", "getcpu", "getcpu"},
		{"__vdso_clock_getres", "clock_getres", "clock_getres"},
	}
}

// arm64 instruction encodings the vDSO uses.
const (
	armRet         = 0xd65f03c0
	armSvc0        = 0xd4000001
	armMrsX9Cntvct = 0xd53be049 // mrs x9, cntvct_el0
	armAddX9X9X10  = 0x8b0a0129 // add x9, x9, x10
	armMovW0Zero   = 0x52800000 // mov w0, #0
	armStrXzrX1    = 0xf900003f // str xzr, [x1]
	armStpX12X13X1 = 0xa9000000 | 13<<10 | 1<<5 | 12
	armStpX12X13X0 = 0xa9000000 | 13<<10 | 0<<5 | 12
	armUdivX12X9   = 0x9ac00800 | 11<<16 | 9<<5 | 12          // udiv x12, x9, x11
	armMsubX13     = 0x9b008000 | 11<<16 | 9<<10 | 12<<5 | 13 // msub x13, x12, x11, x9
	armMulX9       = 0x9b000000 | 11<<16 | 31<<10 | 12<<5 | 9 // mul x9, x12, x11
	armUdivX13X13  = 0x9ac00800 | 11<<16 | 13<<5 | 13         // udiv x13, x13, x11
)

// armMovX returns movz/movk instructions setting register rd to v (< 2^32).
func armMovX(rd uint32, v uint32) []uint32 {
	return []uint32{0xd2800000 | (v&0xffff)<<5 | rd, 0xf2a00000 | (v>>16)<<5 | rd}
}

// arm64VDSO assembles the arm64 functions; the realtime base is the 8
// bytes at label "base".
func arm64VDSO() (*asm, []vdsoFunc) {
	a := newAsm()
	words := func(ws ...uint32) {
		for _, w := range ws {
			a.word(w)
		}
	}
	coarse := func() { // x9 -= x9 % tick
		words(armMovX(11, vdsoTick)...)
		words(armUdivX12X9, armMulX9)
	}
	split := func() { // x12 = s, x13 = ns of the x9 nanoseconds
		words(armMovX(11, vdsoSecond)...)
		words(armUdivX12X9, armMsubX13)
	}
	addBase := func() {
		a.armRef(0x58000000|10, "base") // ldr x10, base
		words(armAddX9X9X10)
	}
	syscall := func(nr uint32) { words(0xd2800000|nr<<5|8, armSvc0, armRet) } // mov x8, nr; svc #0; ret

	// __kernel_clock_gettime(w0 clock, x1 timespec)
	a.label("clock_gettime")
	for _, c := range []struct {
		id    uint32
		label string
	}{
		{clockRealtime, "gt_real"}, {clockTAI, "gt_real"}, {clockMonotonic, "gt_mono"},
		{clockMonotonicRaw, "gt_mono"}, {clockBoottime, "gt_mono"},
		{clockRealtimeCoarse, "gt_realc"}, {clockMonotonicCoarse, "gt_monoc"},
	} {
		words(0x7100001f | c.id<<10)  // cmp w0, #id
		a.armRef(0x54000000, c.label) // b.eq
	}
	syscall(113) // clock_gettime
	a.label("gt_realc")
	words(armMrsX9Cntvct)
	coarse()
	addBase()
	a.armB("gt_store")
	a.label("gt_real")
	words(armMrsX9Cntvct)
	addBase()
	a.armB("gt_store")
	a.label("gt_monoc")
	words(armMrsX9Cntvct)
	coarse()
	a.armB("gt_store")
	a.label("gt_mono")
	words(armMrsX9Cntvct)
	a.label("gt_store")
	split()
	words(armStpX12X13X1, armMovW0Zero, armRet)

	// __kernel_gettimeofday(x0 timeval, x1 timezone)
	a.label("gettimeofday")
	a.armRef(0xb4000000|0, "tod_tz") // cbz x0, tod_tz
	words(armMrsX9Cntvct)
	addBase()
	split()
	words(armMovX(11, 1000)...)
	words(armUdivX13X13, armStpX12X13X0)
	a.label("tod_tz")
	a.armRef(0xb4000000|1, "tod_done") // cbz x1, tod_done
	words(armStrXzrX1)
	a.label("tod_done")
	words(armMovW0Zero, armRet)

	// __kernel_clock_getres(w0 clock, x1 timespec): the syscall.
	a.label("clock_getres")
	syscall(114)

	// __kernel_rt_sigreturn: the default signal restorer.
	a.label("rt_sigreturn")
	words(0xd2800000|139<<5|8, armSvc0) // mov x8, #139; svc #0

	a.align(8, 0)
	a.label("base")
	return a, []vdsoFunc{
		{"__kernel_clock_gettime", "", "clock_gettime"},
		{"__kernel_gettimeofday", "", "gettimeofday"},
		{"__kernel_clock_getres", "", "clock_getres"},
		{"__kernel_rt_sigreturn", "", "rt_sigreturn"},
	}
}
