package emu

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/gorunemu/gorunemu/loader"
)

// startupPath is the table of milestones: the functions a Go program's
// startup passes through, in the order they are first entered, and what
// is worth saying when each is reached. Functions missing from a binary
// (renamed in another Go release, or for the other arch) are skipped; add
// a row to follow a new one.
var startupPath = []milestoneRow{
	{fn: "_rt0_amd64_linux", show: showEntry},
	{fn: "_rt0_arm64_linux", show: showEntry},
	{fn: "_rt0_amd64"},
	{fn: "_rt0_arm64"},
	{fn: "main", arch: "arm64"}, // Go before 1.26: _rt0_arm64_linux -> main -> rt0_go
	{fn: "runtime.rt0_go"},
	{fn: "runtime.settls"}, // amd64: arch_prctl(ARCH_SET_FS) follows
	{fn: "runtime.check", show: showG0},
	{fn: "runtime.args", show: showArgs},
	{fn: "runtime.sysargs", show: showAuxv},
	{fn: "runtime.osinit"},
	{fn: "runtime.schedinit", show: showOSInit},
	{fn: "runtime.stackinit"},
	{fn: "runtime.mallocinit"},
	{fn: "runtime.mcommoninit"},
	{fn: "runtime.gcinit"},
	{fn: "runtime.procresize"},
	{fn: "runtime.newproc", show: showProcs},
	{fn: "runtime.mstart"},
	{fn: "runtime.schedule"},
	{fn: "runtime.main", show: showG},
	{fn: "runtime.newm"},
	{fn: "runtime.gcenable"},
	{fn: "runtime.doInit1"}, // Go 1.21+
	{fn: "runtime.doInit"},  // before Go 1.21
	{fn: "main.main", show: showG},
}

type milestoneRow struct {
	fn   string
	arch string // "" for both
	show func(c *milestoneCtx) string
}

type milestone struct {
	milestoneRow
	addr uint64
}

// milestonesFor resolves the table against p's binary.
func milestonesFor(p *Process) []*milestone {
	var out []*milestone
	for _, r := range startupPath {
		if r.arch != "" && r.arch != p.arch.Name {
			continue
		}
		if addr, ok := p.img.Lookup(r.fn); ok {
			out = append(out, &milestone{milestoneRow: r, addr: addr})
		}
	}
	return out
}

// milestoneSyscall reports whether a milestone trace shows a syscall:
// those that set up TLS and threads.
func milestoneSyscall(name string) bool {
	return name == "arch_prctl" || name == "clone"
}

// milestoneCtx is what a milestone's show function can look at: the
// process, stopped with thread t at the milestone's entry.
type milestoneCtx struct {
	p *Process
	t *Thread
}

// word reads a pointer-sized variable by symbol; ok is false in stripped
// binaries or when unreadable.
func (c *milestoneCtx) word(sym string, off uint64) (uint64, bool) {
	d, ok := c.p.img.Data(sym)
	if !ok {
		return 0, false
	}
	v, err := c.p.ReadU64(d.Addr + off)
	return v, err == nil
}

// int32Var reads a 32-bit variable by one of its names.
func (c *milestoneCtx) int32Var(names ...string) (int32, bool) {
	for _, n := range names {
		if d, ok := c.p.img.Data(n); ok {
			var b [4]byte
			if c.p.ReadMem(d.Addr, b[:]) == nil {
				return int32(binary.LittleEndian.Uint32(b[:])), true
			}
		}
	}
	return 0, false
}

func showEntry(c *milestoneCtx) string {
	st := c.p.Stack()
	sp, err := c.t.Reg(c.p.arch.SP)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("sp=%#x argc=%d argv=%s", sp, len(c.p.cfg.Argv), quoteList(c.p.cfg.Argv)) +
		fmt.Sprintf(" envc=%d auxv=%d entries", len(c.p.cfg.Env), len(st.Auxv))
}

// showG0 reports the g0 stack rt0_go has just carved out of the initial
// stack.
func showG0(c *milestoneCtx) string {
	lo, ok1 := c.word("runtime.g0", 0)
	hi, ok2 := c.word("runtime.g0", 8)
	if !ok1 || !ok2 {
		return ""
	}
	guard, _ := c.word("runtime.g0", 16)
	return fmt.Sprintf("g0.stack=[%#x, %#x) size=%#x stackguard0=lo+%#x (set by rt0_go; hi = entry SP - %#x)",
		lo, hi, hi-lo, guard-lo, c.p.Stack().SP-hi)
}

func showArgs(c *milestoneCtx) string {
	st := c.p.Stack()
	return fmt.Sprintf("argc=%d argv=%#x %s", len(c.p.cfg.Argv), st.ArgvAddr, quoteList(c.p.cfg.Argv))
}

func showAuxv(c *milestoneCtx) string {
	st := c.p.Stack()
	var parts []string
	for _, t := range []loader.AuxType{loader.AT_PAGESZ, loader.AT_RANDOM, loader.AT_HWCAP, loader.AT_PLATFORM} {
		if v, ok := st.Aux(t); ok {
			switch t {
			case loader.AT_PAGESZ:
				parts = append(parts, fmt.Sprintf("page size %d (AT_PAGESZ)", v))
			default:
				parts = append(parts, fmt.Sprintf("%s=%#x", t, v))
			}
		}
	}
	return "auxv: " + strings.Join(parts, " ")
}

// showOSInit reports what osinit found: the CPU count and page size.
func showOSInit(c *milestoneCtx) string {
	var parts []string
	if n, ok := c.int32Var("runtime.numCPUStartup", "runtime.ncpu"); ok {
		parts = append(parts, fmt.Sprintf("ncpu=%d", n))
	}
	if v, ok := c.word("runtime.physPageSize", 0); ok {
		parts = append(parts, fmt.Sprintf("physPageSize=%d", v))
	}
	return strings.Join(parts, " ")
}

func showProcs(c *milestoneCtx) string {
	if n, ok := c.int32Var("runtime.gomaxprocs"); ok {
		return fmt.Sprintf("GOMAXPROCS=%d", n)
	}
	return ""
}

// showG names the goroutine running: the G register holds it on entry to
// Go functions.
func showG(c *milestoneCtx) string {
	g, err := c.t.Reg(c.p.arch.G)
	if err != nil || g == 0 {
		return ""
	}
	s := fmt.Sprintf("g=%#x", g)
	if d, ok := c.p.img.Data("runtime.g0"); ok && d.Addr == g {
		s += " (g0)"
	}
	return s
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, " ") + "]"
}
