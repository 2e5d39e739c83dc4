package goruntime

import (
	"fmt"
	"strings"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader"
)

// startupPath is the table of milestones: the functions a Go program's
// startup passes through, in the order they are first entered, and what
// is worth saying when each is reached. Functions missing from a binary
// (renamed in another Go release, or for the other arch) are skipped; add
// a row to follow a new one.
var startupPath = []struct {
	fn     string
	arch   *arch.Arch // nil for both
	detail func(r *reader, t *emu.Thread) string
}{
	{"_start", nil, entryDetail}, // cgo: the C library's entry, which calls main
	{"_rt0_amd64_linux", arch.AMD64, entryDetail},
	{"_rt0_arm64_linux", arch.ARM64, entryDetail},
	{"_rt0_amd64", arch.AMD64, nil},
	{"_rt0_arm64", arch.ARM64, nil},
	// cgo: __libc_start_main calls main; arm64 Go before 1.26:
	// _rt0_arm64_linux -> main. main jumps to rt0_go.
	{"main", nil, nil},
	{"runtime.rt0_go", nil, nil},
	{"x_cgo_init", nil, cgoInitDetail}, // cgo: rt0_go calls _cgo_init
	{"runtime.settls", nil, nil},       // amd64: arch_prctl(ARCH_SET_FS) follows
	{"runtime.check", nil, g0Detail},
	{"runtime.args", nil, argsDetail},
	{"runtime.sysargs", nil, auxvDetail},
	{"runtime.osinit", nil, nil},
	{"runtime.schedinit", nil, osinitDetail},
	{"runtime.stackinit", nil, nil},
	{"runtime.mallocinit", nil, nil},
	{"runtime.mcommoninit", nil, nil},
	{"runtime.gcinit", nil, nil},
	{"runtime.procresize", nil, nil},
	{"runtime.newproc", nil, procsDetail},
	{"runtime.mstart", nil, nil},
	{"runtime.schedule", nil, nil},
	{"runtime.main", nil, gDetail},
	{"runtime.newm", nil, nil},
	{"x_cgo_thread_start", nil, cgoThreadDetail}, // cgo: each M starts through pthread_create
	{"runtime.gcenable", nil, nil},
	{"runtime.doInit1", nil, nil}, // Go 1.21+
	{"runtime.doInit", nil, nil},  // before Go 1.21
	{"main.main", nil, gDetail},
}

// everyEntry are the milestones reported at every entry: one per new M.
var everyEntry = map[string]bool{"x_cgo_thread_start": true}

// ncpuVars are the names the runtime's CPU count has had: ncpu until Go
// 1.24, numCPUStartup from 1.25.
var ncpuVars = []string{"runtime.ncpu", "runtime.numCPUStartup"}

// StartupPath returns the milestones of a Go program's startup on arch a,
// for emu.TraceOptions: from _rt0_<arch>_linux through rt0_go, the
// scheduler's set-up and runtime.main to main.main, each with what the
// runtime has just set up there (g0's stack, argc/argv, auxv, the CPU
// count, GOMAXPROCS, the running g).
func StartupPath(a *arch.Arch) []emu.Milestone {
	var out []emu.Milestone
	// One reader per process: finding the offsets walks the DWARF.
	var r *reader
	for _, row := range startupPath {
		if row.arch != nil && row.arch != a {
			continue
		}
		m := emu.Milestone{Func: row.fn, Every: everyEntry[row.fn]}
		if detail := row.detail; detail != nil {
			m.Detail = func(p *emu.Process, t *emu.Thread) string {
				if r == nil || r.p != p {
					var err error
					if r, err = newReader(p); err != nil {
						return ""
					}
				}
				return detail(r, t)
			}
		}
		out = append(out, m)
	}
	return out
}

// Goroutines says where img's threads keep their running goroutine, so
// that a call trace can follow goroutines (emu.TraceOptions.Goroutines).
// It fails for a binary whose g layout is unknown.
func Goroutines(img *loader.Image) (*emu.Goroutines, error) {
	ru, err := rulesFor(img.Arch)
	if err != nil {
		return nil, err
	}
	off, err := quickOffsets(img)
	if err != nil {
		return nil, fmt.Errorf("goruntime: %s: %w", img.Path, err)
	}
	gs := &emu.Goroutines{
		InRegister: !ru.gSlotInTLS,
		GoID:       off.GGoID,
		GM:         off.GM,
		MG0:        off.MG0,
		MGSignal:   off.MGSignal,
	}
	if ru.gSlotInTLS {
		gs.TLSOffset = -8 // the thread pointer is &m.tls+8, and m.tls[0] is g
	}
	if addr, ok := img.Lookup("runtime.morestack"); ok {
		gs.MoreStack = addr
	}
	for _, fn := range switchers {
		if addr, ok := img.Lookup(fn); ok {
			gs.Switchers = append(gs.Switchers, addr)
		}
	}
	return gs, nil
}

// switchers are the runtime's functions that set g or move the stack
// pointer to another goroutine's stack (runtime/asm_*.s, sys_linux_*.s,
// tls_arm64.s): from g0 to a goroutine (gogo), to g0 (mcall,
// systemstack, morestack, asmcgocall), the thread's first g (rt0_go,
// clone) and the signal handler's (setg, sigtramp).
var switchers = []string{
	"runtime.gogo", "gogo", "runtime.mcall", "runtime.systemstack", "runtime.systemstack_switch",
	"gosave_systemstack_switch", "runtime.morestack", "runtime.morestack_noctxt",
	"runtime.asmcgocall", "runtime.asmcgocall_no_g", "runtime.cgocallback",
	"runtime.setg", "setg_gcc", "runtime.save_g", "runtime.load_g",
	"runtime.rt0_go", "runtime.clone", "runtime.sigtramp", "runtime.cgoSigtramp",
	"runtime.switchToCrashStack0",
}

// newReader returns a reader for milestone details: no Snapshot, just
// the binary's offsets and arch rules.
func newReader(p *emu.Process) (*reader, error) {
	ru, err := rulesFor(p.Arch())
	if err != nil {
		return nil, err
	}
	off, err := quickOffsets(p.Image())
	if err != nil {
		return nil, err
	}
	return &reader{p: p, img: p.Image(), ru: ru, off: off}, nil
}

// quickOffsets returns the table's offsets for a release the table
// covers (the version matrix test holds them equal to each release's
// DWARF), and reads the DWARF only for others: reading it takes longer
// than tracing hello's startup.
func quickOffsets(img *loader.Image) (Offsets, error) {
	if l, err := tableRow(img.GoVersion); err == nil && !strings.Contains(img.GoVersion, "devel") {
		return l.off, nil
	}
	off, _, err := offsetsFor(img)
	return off, err
}

func entryDetail(r *reader, t *emu.Thread) string {
	sp, err := t.Reg(r.ru.arch.SP)
	if err != nil {
		return ""
	}
	argv, env := r.p.Args()
	return fmt.Sprintf("sp=%#x argc=%d argv=%s envc=%d auxv=%d entries",
		sp, len(argv), quoteList(argv), len(env), len(r.p.Stack().Auxv))
}

// cgoInitDetail names the g x_cgo_init(g0, setg, tlsg, tlsbase) gets,
// whose stack bounds it sets from the C thread's stack.
func cgoInitDetail(r *reader, t *emu.Thread) string {
	g, err := t.Reg(r.ru.arch.SyscallArgs[0]) // the C ABI's first argument too
	if err != nil {
		return ""
	}
	name := fmt.Sprintf("%#x", g)
	if g0 := r.symbol("runtime.g0"); g0.Known && uint64(g0.Value) == g {
		name = "runtime.g0"
	}
	return "g=" + name + ": the C library sets g0's stack bounds from its thread's stack"
}

// cgoThreadDetail names the new M whose thread x_cgo_thread_start(ts)
// starts: ts.g is its g0.
func cgoThreadDetail(r *reader, t *emu.Thread) string {
	ts, err := t.Reg(r.ru.arch.SyscallArgs[0]) // the C ABI's first argument too
	if err != nil {
		return ""
	}
	g0, err := r.p.ReadU64(ts)
	if err != nil || g0 == 0 {
		return ""
	}
	m, err := r.p.ReadU64(g0 + r.off.GM)
	if err != nil || m == 0 {
		return fmt.Sprintf("a new M, g0=%#x", g0)
	}
	return fmt.Sprintf("a new M: m=%#x g0=%#x, started by pthread_create", m, g0)
}

// g0Detail reports the g0 stack rt0_go has just carved out of the
// initial stack.
func g0Detail(r *reader, _ *emu.Thread) string {
	g0 := r.symbol("runtime.g0")
	if !g0.Known {
		a, _, err := r.fromRT0()
		if err != nil {
			return ""
		}
		g0 = known(Addr(a), fromRT0)
	}
	lo, hi := r.field(g0, r.off.GStackLo, "g0.stack.lo"), r.field(g0, r.off.GStackHi, "g0.stack.hi")
	guard := r.field(g0, r.off.GStackguard0, "g0.stackguard0")
	if !lo.Known || !hi.Known || !guard.Known {
		return ""
	}
	l, h, g := uint64(lo.Value), uint64(hi.Value), uint64(guard.Value)
	by := "set by rt0_go"
	if _, cgo := r.p.Image().Lookup("x_cgo_init"); cgo {
		by = "lo from the C thread's stack by x_cgo_init, hi by rt0_go"
	}
	return fmt.Sprintf("g0.stack=[%#x, %#x) size=%#x stackguard0=lo+%#x (%s; hi = entry SP - %#x)",
		l, h, h-l, g-l, by, r.p.Stack().SP-h)
}

func argsDetail(r *reader, _ *emu.Thread) string {
	argv, _ := r.p.Args()
	return fmt.Sprintf("argc=%d argv=%#x %s", len(argv), r.p.Stack().ArgvAddr, quoteList(argv))
}

func auxvDetail(r *reader, _ *emu.Thread) string {
	st := r.p.Stack()
	var parts []string
	for _, t := range []loader.AuxType{loader.AT_PAGESZ, loader.AT_RANDOM, loader.AT_HWCAP, loader.AT_PLATFORM} {
		if v, ok := st.Aux(t); ok {
			if t == loader.AT_PAGESZ {
				parts = append(parts, fmt.Sprintf("page size %d (AT_PAGESZ)", v))
			} else {
				parts = append(parts, fmt.Sprintf("%s=%#x", t, v))
			}
		}
	}
	return "auxv: " + strings.Join(parts, " ")
}

// osinitDetail reports what osinit found: the CPU count and page size.
func osinitDetail(r *reader, _ *emu.Thread) string {
	var parts []string
	if n := r.intVar(ncpuVars...); n.Known {
		parts = append(parts, fmt.Sprintf("ncpu=%d", n.Value))
	}
	if v := r.intVar("runtime.physPageSize"); v.Known {
		parts = append(parts, fmt.Sprintf("physPageSize=%d", v.Value))
	}
	return strings.Join(parts, " ")
}

func procsDetail(r *reader, _ *emu.Thread) string {
	if n := r.intVar("runtime.gomaxprocs"); n.Known {
		return fmt.Sprintf("GOMAXPROCS=%d", n.Value)
	}
	return ""
}

// gDetail names the goroutine running: the g register holds it on entry
// to Go functions.
func gDetail(r *reader, t *emu.Thread) string {
	g, err := t.Reg(r.ru.arch.G)
	if err != nil || g == 0 {
		return ""
	}
	s := fmt.Sprintf("g=%#x", g)
	if goid := r.word(g+r.off.GGoID, "g.goid"); goid.Known {
		s += fmt.Sprintf(" goid=%d", goid.Value)
	}
	if d, ok := r.img.Data("runtime.g0"); ok && d.Addr == g {
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
