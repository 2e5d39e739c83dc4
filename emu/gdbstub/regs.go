package gdbstub

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
)

// A register as gdb numbers it: the order of the target description,
// which is also the order of the 'g' packet.
type reg struct {
	name    string
	bits    int
	typ     string // gdb's type name
	group   string // "" for general
	feature string
	uc      arch.Reg // the engine's register
	wide    bool     // read through Reg128 (vectors, x87)
	zero    bool     // not kept by the engine: reads as 0 (orig_rax reads -1)
}

const (
	i386Core     = "org.gnu.gdb.i386.core"
	i386SSE      = "org.gnu.gdb.i386.sse"
	i386Linux    = "org.gnu.gdb.i386.linux"
	i386Segments = "org.gnu.gdb.i386.segments"
	arm64Core    = "org.gnu.gdb.aarch64.core"
	arm64FPU     = "org.gnu.gdb.aarch64.fpu"
	arm64TLS     = "org.gnu.gdb.aarch64.tls"
)

// pstateDAIF are PSTATE's interrupt mask bits.
const pstateDAIF = 0x3c0

// registers returns a's registers in gdb's order.
func registers(a *arch.Arch) []reg {
	var rs []reg
	add := func(r reg) { rs = append(rs, r) }
	if a == arch.AMD64 {
		for _, g := range []struct {
			name string
			r    arch.Reg
			typ  string
		}{
			{"rax", arch.AMD64_RAX, "int64"}, {"rbx", arch.AMD64_RBX, "int64"}, {"rcx", arch.AMD64_RCX, "int64"},
			{"rdx", arch.AMD64_RDX, "int64"}, {"rsi", arch.AMD64_RSI, "int64"}, {"rdi", arch.AMD64_RDI, "int64"},
			{"rbp", arch.AMD64_RBP, "data_ptr"}, {"rsp", arch.AMD64_RSP, "data_ptr"},
			{"r8", arch.AMD64_R8, "int64"}, {"r9", arch.AMD64_R9, "int64"}, {"r10", arch.AMD64_R10, "int64"},
			{"r11", arch.AMD64_R11, "int64"}, {"r12", arch.AMD64_R12, "int64"}, {"r13", arch.AMD64_R13, "int64"},
			{"r14", arch.AMD64_R14, "int64"}, {"r15", arch.AMD64_R15, "int64"}, {"rip", arch.AMD64_RIP, "code_ptr"},
		} {
			add(reg{name: g.name, bits: 64, typ: g.typ, feature: i386Core, uc: g.r})
		}
		add(reg{name: "eflags", bits: 32, typ: "int32", feature: i386Core, uc: arch.AMD64_EFLAGS})
		for _, s := range []struct {
			name string
			r    arch.Reg
		}{{"cs", arch.AMD64_CS}, {"ss", arch.AMD64_SS}, {"ds", arch.AMD64_DS}, {"es", arch.AMD64_ES}, {"fs", arch.AMD64_FS}, {"gs", arch.AMD64_GS}} {
			add(reg{name: s.name, bits: 32, typ: "int32", feature: i386Core, uc: s.r})
		}
		for i := 0; i < 8; i++ {
			add(reg{name: fmt.Sprintf("st%d", i), bits: 80, typ: "i387_ext", group: "float", feature: i386Core, uc: arch.AMD64_ST0 + arch.Reg(i), wide: true})
		}
		for _, f := range []struct {
			name string
			r    arch.Reg
		}{{"fctrl", arch.AMD64_FPCW}, {"fstat", arch.AMD64_FPSW}, {"ftag", arch.AMD64_FPTAG}, {"fiseg", arch.AMD64_FCS},
			{"fioff", arch.AMD64_FIP}, {"foseg", arch.AMD64_FDS}, {"fooff", arch.AMD64_FDP}, {"fop", arch.AMD64_FOP}} {
			add(reg{name: f.name, bits: 32, typ: "int", group: "float", feature: i386Core, uc: f.r})
		}
		for i := 0; i < 16; i++ {
			add(reg{name: fmt.Sprintf("xmm%d", i), bits: 128, typ: "vec128", group: "vector", feature: i386SSE, uc: arch.AMD64_XMM0 + arch.Reg(i), wide: true})
		}
		add(reg{name: "mxcsr", bits: 32, typ: "int", group: "vector", feature: i386SSE, uc: arch.AMD64_MXCSR})
		add(reg{name: "orig_rax", bits: 64, typ: "int", feature: i386Linux, zero: true})
		add(reg{name: "fs_base", bits: 64, typ: "int", feature: i386Segments, uc: arch.AMD64_FS_BASE})
		add(reg{name: "gs_base", bits: 64, typ: "int", feature: i386Segments, uc: arch.AMD64_GS_BASE})
		return rs
	}
	for i := 0; i < 31; i++ {
		add(reg{name: fmt.Sprintf("x%d", i), bits: 64, typ: "int", feature: arm64Core, uc: arch.ARM64X(i)})
	}
	add(reg{name: "sp", bits: 64, typ: "data_ptr", feature: arm64Core, uc: arch.ARM64_SP})
	add(reg{name: "pc", bits: 64, typ: "code_ptr", feature: arm64Core, uc: arch.ARM64_PC})
	add(reg{name: "cpsr", bits: 32, typ: "int", feature: arm64Core, uc: arch.ARM64_PSTATE})
	for i := 0; i < 32; i++ {
		add(reg{name: fmt.Sprintf("v%d", i), bits: 128, typ: "aarch64v", group: "vector", feature: arm64FPU, uc: arch.ARM64_Q0 + arch.Reg(i), wide: true})
	}
	add(reg{name: "fpsr", bits: 32, typ: "int", group: "float", feature: arm64FPU, uc: arch.ARM64_FPSR})
	add(reg{name: "fpcr", bits: 32, typ: "int", group: "float", feature: arm64FPU, uc: arch.ARM64_FPCR})
	add(reg{name: "tpidr", bits: 64, typ: "data_ptr", feature: arm64TLS, uc: arch.ARM64_TPIDR_EL0})
	return rs
}

// targetXML is the target description gdb reads (qXfer:features:read).
func targetXML(a *arch.Arch) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>` + "\n" + `<!DOCTYPE target SYSTEM "gdb-target.dtd">` + "\n<target version=\"1.0\">\n")
	if a == arch.AMD64 {
		b.WriteString("  <architecture>i386:x86-64</architecture>\n  <osabi>GNU/Linux</osabi>\n")
	} else {
		b.WriteString("  <architecture>aarch64</architecture>\n  <osabi>GNU/Linux</osabi>\n")
	}
	feature := ""
	for i, r := range registers(a) {
		if r.feature != feature {
			if feature != "" {
				b.WriteString("  </feature>\n")
			}
			feature = r.feature
			fmt.Fprintf(&b, "  <feature name=%q>\n", feature)
			switch feature {
			case i386SSE:
				b.WriteString(`    <vector id="v4f" type="ieee_single" count="4"/>
    <vector id="v2d" type="ieee_double" count="2"/>
    <vector id="v16i8" type="int8" count="16"/>
    <vector id="v8i16" type="int16" count="8"/>
    <vector id="v4i32" type="int32" count="4"/>
    <vector id="v2i64" type="int64" count="2"/>
    <union id="vec128">
      <field name="v4_float" type="v4f"/>
      <field name="v2_double" type="v2d"/>
      <field name="v16_int8" type="v16i8"/>
      <field name="v8_int16" type="v8i16"/>
      <field name="v4_int32" type="v4i32"/>
      <field name="v2_int64" type="v2i64"/>
      <field name="uint128" type="uint128"/>
    </union>
`)
			case arm64FPU:
				b.WriteString(`    <vector id="v2d" type="ieee_double" count="2"/>
    <vector id="v2u" type="uint64" count="2"/>
    <vector id="v4f" type="ieee_single" count="4"/>
    <vector id="v4u" type="uint32" count="4"/>
    <vector id="v8u" type="uint16" count="8"/>
    <vector id="v16u" type="uint8" count="16"/>
    <union id="aarch64v">
      <field name="d" type="v2d"/>
      <field name="ud" type="v2u"/>
      <field name="s" type="v4f"/>
      <field name="us" type="v4u"/>
      <field name="h" type="v8u"/>
      <field name="b" type="v16u"/>
      <field name="q" type="uint128"/>
    </union>
`)
			}
		}
		fmt.Fprintf(&b, "    <reg name=%q bitsize=\"%d\" type=%q regnum=\"%d\"", r.name, r.bits, r.typ, i)
		if r.group != "" {
			fmt.Fprintf(&b, " group=%q", r.group)
		}
		b.WriteString("/>\n")
	}
	b.WriteString("  </feature>\n</target>\n")
	return b.String()
}

// readReg returns register r of thread t as the 'g' packet carries it:
// little-endian, bits/8 bytes.
func readReg(t *emu.Thread, r reg) ([]byte, error) {
	b := make([]byte, 16)
	switch {
	case r.zero:
		if r.name == "orig_rax" {
			binary.LittleEndian.PutUint64(b, ^uint64(0)) // no syscall to restart
		}
	case r.wide:
		lo, hi, err := t.Reg128(r.uc)
		if err != nil {
			return nil, err
		}
		binary.LittleEndian.PutUint64(b, lo)
		binary.LittleEndian.PutUint64(b[8:], hi)
	case r.uc == arch.ARM64_PSTATE:
		// EL0's view, as Linux reports pstate: the DAIF masks Unicorn
		// keeps set are not the thread's.
		v, err := t.Reg(r.uc)
		if err != nil {
			return nil, err
		}
		binary.LittleEndian.PutUint64(b, v&^pstateDAIF)
	default:
		v, err := t.Reg(r.uc)
		if err != nil {
			return nil, err
		}
		binary.LittleEndian.PutUint64(b, v)
	}
	return b[:r.bits/8], nil
}

// writeReg sets register r of thread t from its bytes in the 'G' or 'P'
// packet.
func writeReg(t *emu.Thread, r reg, b []byte) error {
	if len(b) != r.bits/8 {
		return fmt.Errorf("register %s takes %d bytes, not %d", r.name, r.bits/8, len(b))
	}
	v := make([]byte, 16)
	copy(v, b)
	switch {
	case r.zero:
		return nil // nothing in the engine to change
	case r.wide:
		return t.SetReg128(r.uc, binary.LittleEndian.Uint64(v), binary.LittleEndian.Uint64(v[8:]))
	case r.uc == arch.ARM64_PSTATE:
		// Only the condition flags are the thread's to change.
		return t.SetReg(arch.ARM64_NZCV, binary.LittleEndian.Uint64(v)&0xf0000000)
	}
	return t.SetReg(r.uc, binary.LittleEndian.Uint64(v))
}
