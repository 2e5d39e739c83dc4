package goruntime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader"
)

// Snapshot is the Go runtime's startup state in a stopped emulated
// process. Every value that could not be found is a Val whose Known is
// false, with the reason; none is a stand-in zero.
type Snapshot struct {
	// Arch is the guest's GOARCH.
	Arch string `json:"arch"`
	// GoVersion is the release that built the binary ("go1.21.13").
	GoVersion string `json:"go_version"`
	// Stripped reports a binary without an ELF symbol table, so without
	// the data symbols runtime.g0, runtime.m0, runtime.ncpu, ...
	Stripped bool `json:"stripped"`
	// Race reports a -race build, whose stack guards are larger.
	Race bool `json:"race"`
	// Offsets are the g and m field offsets used, and OffsetsFrom where
	// they come from ("DWARF" or the table for the version).
	Offsets     Offsets `json:"offsets"`
	OffsetsFrom string  `json:"offsets_from"`
	// Insns is how many instructions the process had executed.
	Insns uint64 `json:"insns"`
	// EntrySP is the stack pointer at the ELF entry point; it points at
	// argc.
	EntrySP Addr `json:"entry_sp"`
	// GTLSOffset is where a binary linked with a C library keeps g
	// relative to the thread pointer (runtime.tlsg on amd64,
	// runtime.tls_g on arm64); unknown without cgo's TLS.
	GTLSOffset Val[int64] `json:"g_tls_offset"`
	// CTLS: the binary has the TLS segment of a C library (cgo), found
	// or not.
	CTLS bool `json:"c_tls"`
	// Interpreter is the dynamic loader a dynamically linked binary was
	// started through, as mapped ("" for a static binary).
	Interpreter string `json:"interpreter,omitempty"`

	G0      G0       `json:"g0"`
	M0      M0       `json:"m0"`
	Threads []Thread `json:"threads"`
	// Exited lists the tids of threads that have exited.
	Exited []int `json:"exited,omitempty"`

	// Argc and Argv are runtime.argc and the strings runtime.argv points
	// at; ArgvAddr is runtime.argv itself. Without symbols they are read
	// where the runtime takes them from: the initial stack at EntrySP.
	Argc     Val[int64]    `json:"argc"`
	ArgvAddr Val[Addr]     `json:"argv_addr"`
	Argv     Val[[]string] `json:"argv"`
	// PhysPageSize, NCPU (runtime.ncpu, runtime.numCPUStartup from Go
	// 1.25), GOMAXPROCS and IsCgo are the runtime's variables.
	PhysPageSize Val[int64] `json:"phys_page_size"`
	NCPU         Val[int64] `json:"ncpu"`
	GOMAXPROCS   Val[int64] `json:"gomaxprocs"`
	IsCgo        Val[bool]  `json:"iscgo"`
	// AuxPageSize is the AT_PAGESZ the process was started with.
	AuxPageSize Val[int64] `json:"aux_page_size"`
}

// G0 is runtime.g0, the goroutine whose stack is the main thread's
// system stack.
type G0 struct {
	// Addr is &runtime.g0.
	Addr        Val[Addr] `json:"addr"`
	StackLo     Val[Addr] `json:"stack_lo"`
	StackHi     Val[Addr] `json:"stack_hi"`
	StackGuard0 Val[Addr] `json:"stackguard0"`
	StackGuard1 Val[Addr] `json:"stackguard1"`
	// M is g0.m.
	M Val[Addr] `json:"m"`
}

// M0 is runtime.m0, the M of the main thread.
type M0 struct {
	// Addr is &runtime.m0.
	Addr    Val[Addr] `json:"addr"`
	G0      Val[Addr] `json:"g0"`
	CurG    Val[Addr] `json:"curg"`
	GSignal Val[Addr] `json:"gsignal"`
	// ProcID is the tid minit stores.
	ProcID Val[uint64] `json:"procid"`
	// TLSAddr is &m0.tls; TLS its slots.
	TLSAddr Val[Addr]           `json:"tls_addr"`
	TLS     [TLSSlots]Val[Addr] `json:"tls"`
}

// Thread is one live thread of the process and the runtime state it
// points at.
type Thread struct {
	TID   int    `json:"tid"`
	Main  bool   `json:"main"`
	State string `json:"state"`
	// PC is where the thread resumes; Func names it ("runtime.futex+0x23")
	// and File is its source file.
	PC   Addr   `json:"pc"`
	Func string `json:"func"`
	File string `json:"file"`
	SP   Addr   `json:"sp"`
	// TLSBase is the thread pointer: FS base (amd64) or TPIDR_EL0 (arm64).
	TLSBase Addr `json:"tls_base"`
	// GoCode: PC is in a function compiled from Go (not assembly, not
	// an ABI wrapper). AfterSyscall: the instruction before PC is a
	// syscall (SYSCALL, SVC #0), so the thread is blocked in or returning
	// from one. At either kind of place g, SP and the stack bounds agree;
	// elsewhere in assembly the runtime may be switching them.
	GoCode       bool `json:"go_code"`
	AfterSyscall bool `json:"after_syscall"`
	// GReg is the g register: R14 (amd64) or R28 (arm64). GRegLive says
	// whether it must hold g at PC: always on arm64; on amd64 only in
	// Go code, as assembly (ABI0) functions may use R14 freely.
	GReg     Val[Addr] `json:"g_reg"`
	GRegLive bool      `json:"g_reg_live"`
	// TLSG is g's slot in thread-local storage: *(FS base − 8), in
	// m.tls (amd64 without cgo), or with cgo *(thread pointer +
	// Snapshot.GTLSOffset), runtime.tlsg or runtime.tls_g in the C
	// library's TLS block. arm64 without cgo keeps none.
	TLSG Val[Addr] `json:"tls_g"`
	// TCB is *(FS base) in a cgo binary on amd64: the C library's thread
	// control block starts with a pointer to itself.
	TCB Val[Addr] `json:"tcb"`
	// G is the goroutine the thread runs: GReg where it is live, else
	// TLSG (amd64 assembly). 0 means none yet (a thread clone made that
	// has not run).
	G Val[Addr] `json:"g"`
	// GStackLo and GStackHi are G's stack bounds.
	GStackLo Val[Addr] `json:"g_stack_lo"`
	GStackHi Val[Addr] `json:"g_stack_hi"`
	// M is G's m, and the rest its fields.
	M        Val[Addr]   `json:"m"`
	MG0      Val[Addr]   `json:"m_g0"`
	MCurG    Val[Addr]   `json:"m_curg"`
	MGSignal Val[Addr]   `json:"m_gsignal"`
	MProcID  Val[uint64] `json:"m_procid"`
}

// Read finds the Go runtime's state in p, which must be stopped (between
// calls to Run). Field offsets come from the binary's DWARF, or from the
// table for its Go version when it has none; an unknown version without
// DWARF is an error wrapping ErrUnknownVersion. The addresses of g0 and
// m0 come from the symbol table, or, stripped, from the instructions of
// runtime.rt0_go that load them, or failing that from the main thread's
// registers.
func Read(p *emu.Process) (*Snapshot, error) {
	img := p.Image()
	if img.GoVersion == "" {
		return nil, fmt.Errorf("goruntime: %s: %w", img.Path, ErrNotGo)
	}
	ru, err := rulesFor(p.Arch())
	if err != nil {
		return nil, err
	}
	off, from, err := offsetsFor(img)
	if err != nil {
		return nil, fmt.Errorf("goruntime: %s: %w", img.Path, err)
	}
	r := &reader{p: p, img: img, ru: ru, off: off}
	s := &Snapshot{
		Arch:        p.Arch().Name,
		GoVersion:   img.GoVersion,
		Stripped:    img.Stripped,
		Race:        hasFunc(img, "runtime.racecallbackthunk"),
		Offsets:     off,
		OffsetsFrom: from,
		Insns:       p.Insns(),
		EntrySP:     Addr(p.Stack().SP),
	}
	if in := p.Interpreter(); in != nil {
		s.Interpreter = in.Path
	}
	r.s = s
	tpoff, err := img.TLSOffset(ru.gTLSVar)
	switch {
	case !img.Cgo():
		// A PIE without cgo has a TLS segment, but Go sets the thread
		// pointer itself (settls), as in a static binary.
		s.GTLSOffset = unknown[int64]("not linked with a C library's threads (no cgo)")
	case err == nil:
		s.CTLS = true
		s.GTLSOffset = known(tpoff, ru.gTLSVar+" in PT_TLS")
	case errors.Is(err, loader.ErrNoTLS):
		s.GTLSOffset = unknown[int64]("not linked with a C library: %v", err)
	default:
		s.CTLS = true
		s.GTLSOffset = unknown[int64]("linked with a C library, but %v", err)
	}
	if err := r.threads(); err != nil {
		return nil, err
	}
	r.runtimeObjects()
	r.fillThreads()
	r.variables()
	r.nameAll()
	return s, nil
}

// nameAll sets Sym on every known address of the snapshot, once g0 and
// m0 are known so that stripped binaries get "m0.tls+0x8" names too.
func (r *reader) nameAll() {
	s := r.s
	vals := []*Val[Addr]{
		&s.G0.Addr, &s.G0.StackLo, &s.G0.StackHi, &s.G0.StackGuard0, &s.G0.StackGuard1, &s.G0.M,
		&s.M0.Addr, &s.M0.G0, &s.M0.CurG, &s.M0.GSignal, &s.M0.TLSAddr, &s.ArgvAddr,
	}
	for i := range s.M0.TLS {
		vals = append(vals, &s.M0.TLS[i])
	}
	for i := range s.Threads {
		t := &s.Threads[i]
		vals = append(vals, &t.GReg, &t.TLSG, &t.G, &t.GStackLo, &t.GStackHi, &t.M, &t.MG0, &t.MCurG, &t.MGSignal)
	}
	for _, v := range vals {
		if v.Known {
			v.Sym = r.name(uint64(v.Value))
		}
	}
}

// Source descriptions for Val.From when a value is derived rather than
// read at a symbol.
const (
	fromRT0     = "runtime.rt0_go code"
	fromFS      = "FS base − 8 − m.tls"
	fromMainG   = "g.m of the main thread's g"
	fromM0G0    = "m0.g0"
	fromStack   = "initial stack at entry SP"
	fromNoCgoFn = "no runtime/cgo functions linked"
	fromCgoFn   = "runtime/cgo functions linked"
)

// reader holds what Read needs while it fills a Snapshot.
type reader struct {
	p   *emu.Process
	img *loader.Image
	ru  *rules
	off Offsets
	s   *Snapshot
	// main is the main thread's entry in s.Threads, or nil if it exited.
	main *Thread
}

// threads records every live thread's registers.
func (r *reader) threads() error {
	a := r.ru.arch
	for _, t := range r.p.Threads() {
		if t.State() == emu.Exited {
			r.s.Exited = append(r.s.Exited, t.TID)
			continue
		}
		vals := make([]uint64, 3)
		if err := t.Regs([]arch.Reg{a.SP, a.TLS, a.G}, vals); err != nil {
			return fmt.Errorf("goruntime: thread %d registers: %w", t.TID, err)
		}
		th := Thread{
			TID:     t.TID,
			Main:    t == r.p.MainThread(),
			State:   t.State().String(),
			PC:      Addr(t.PC()),
			SP:      Addr(vals[0]),
			TLSBase: Addr(vals[1]),
			GReg:    known(Addr(vals[2]), a.RegName(a.G)),
			TCB:     unknown[Addr]("read only in cgo binaries on amd64"),
		}
		if sym, ok := r.img.Symbolize(t.PC()); ok {
			th.Func, th.File = sym.String(), sym.File
		} else {
			th.Func = r.p.Symbolize(t.PC()) // the C library's code, for cgo
		}
		th.GoCode = strings.HasSuffix(th.File, ".go")
		th.AfterSyscall = r.afterSyscall(t.PC())
		// Outside the pclntab is the C library's code (cgo), where the
		// g register is an ordinary callee-saved one.
		goText := th.File != ""
		th.GRegLive = th.GoCode || !r.ru.gRegOnlyInGo && goText
		if cgo := r.s.GTLSOffset; cgo.Known {
			if vals[1] == 0 {
				th.TLSG = unknown[Addr]("%s is 0: TLS not set up", r.ru.tlsName)
			} else {
				th.TLSG = r.word(vals[1]+uint64(cgo.Value), fmt.Sprintf("*(%s %s) %s", r.ru.tlsName, spaced(cgo.Value), r.ru.gTLSVar))
				if r.ru.gSlotInTLS {
					th.TCB = r.word(vals[1], fmt.Sprintf("*(%s)", r.ru.tlsName))
				}
			}
			th.G = th.TLSG
			if th.GRegLive {
				th.G = th.GReg
			}
		} else if r.s.CTLS {
			th.TLSG = unknown[Addr]("%s", r.s.GTLSOffset.Why)
			th.G = th.TLSG
			if th.GRegLive {
				th.G = th.GReg
			}
		} else if r.ru.gSlotInTLS {
			if vals[1] == 0 {
				th.TLSG = unknown[Addr]("%s is 0: TLS not set up", r.ru.tlsName)
			} else {
				th.TLSG = r.word(vals[1]-8, "*(FS base − 8)")
			}
			th.G = th.TLSG
			if th.GRegLive {
				th.G = th.GReg
			}
		} else {
			th.TLSG = unknown[Addr]("%s keeps no g: the runtime holds it only in %s", r.ru.tlsName, a.RegName(a.G))
			th.G = th.GReg
		}
		r.s.Threads = append(r.s.Threads, th)
	}
	for i := range r.s.Threads {
		if r.s.Threads[i].Main {
			r.main = &r.s.Threads[i]
		}
	}
	return nil
}

// afterSyscall reports whether the instruction just before pc is the
// arch's syscall instruction.
func (r *reader) afterSyscall(pc uint64) bool {
	insn := r.ru.syscallInsn
	b := make([]byte, len(insn))
	if pc < uint64(len(b)) || r.p.ReadMem(pc-uint64(len(b)), b) != nil {
		return false
	}
	return bytes.Equal(b, insn)
}

// runtimeObjects finds g0 and m0 and reads their fields.
func (r *reader) runtimeObjects() {
	s, o := r.s, r.off
	s.G0.Addr, s.M0.Addr = r.symbol("runtime.g0"), r.symbol("runtime.m0")
	if !s.G0.Addr.Known || !s.M0.Addr.Known {
		g0, m0, err := r.fromRT0()
		switch {
		case err != nil:
			if !s.G0.Addr.Known {
				s.G0.Addr = unknown[Addr]("no symbol runtime.g0, and %v", err)
			}
			if !s.M0.Addr.Known {
				s.M0.Addr = unknown[Addr]("no symbol runtime.m0, and %v", err)
			}
		default:
			if !s.G0.Addr.Known {
				s.G0.Addr = known(Addr(g0), fromRT0)
			}
			if !s.M0.Addr.Known {
				s.M0.Addr = known(Addr(m0), fromRT0)
			}
		}
	}
	if !s.M0.Addr.Known && r.main != nil {
		// Last resort: the main thread always runs m0.
		switch m := r.main; {
		case r.ru.gSlotInTLS && m.TLSBase != 0 && !s.CTLS: // with cgo FS base is the C library's
			s.M0.Addr = known(m.TLSBase-8-Addr(o.MTLS), fromFS)
		case !r.ru.gSlotInTLS && m.G.Known && m.G.Value != 0:
			if v := r.field(m.G, o.GM, "g.m"); v.Known {
				s.M0.Addr = known(v.Value, fromMainG)
			}
		}
	}
	m0 := s.M0.Addr
	s.M0.G0 = r.field(m0, o.MG0, "m0.g0")
	s.M0.CurG = r.field(m0, o.MCurG, "m0.curg")
	s.M0.GSignal = r.field(m0, o.MGSignal, "m0.gsignal")
	s.M0.ProcID = asUint(r.field(m0, o.MProcID, "m0.procid"))
	if m0.Known {
		s.M0.TLSAddr = known(m0.Value+Addr(o.MTLS), "&m0.tls")
	} else {
		s.M0.TLSAddr = unknown[Addr]("m0 not found")
	}
	for i := range s.M0.TLS {
		s.M0.TLS[i] = r.field(m0, o.MTLS+uint64(8*i), fmt.Sprintf("m0.tls[%d]", i))
	}
	if !s.G0.Addr.Known && s.M0.G0.Known {
		s.G0.Addr = known(s.M0.G0.Value, fromM0G0)
	}
	g0 := s.G0.Addr
	s.G0.StackLo = r.field(g0, o.GStackLo, "g0.stack.lo")
	s.G0.StackHi = r.field(g0, o.GStackHi, "g0.stack.hi")
	s.G0.StackGuard0 = r.field(g0, o.GStackguard0, "g0.stackguard0")
	s.G0.StackGuard1 = r.field(g0, o.GStackguard1, "g0.stackguard1")
	s.G0.M = r.field(g0, o.GM, "g0.m")
}

// fromRT0 decodes runtime.rt0_go for the addresses of g0 and m0.
func (r *reader) fromRT0() (g0, m0 uint64, err error) {
	entry, ok := r.img.Lookup("runtime.rt0_go")
	if !ok {
		return 0, 0, errors.New("no function runtime.rt0_go")
	}
	f, ok := r.img.FuncAt(entry)
	if !ok || f.End <= entry || f.End-entry > 4096 {
		return 0, 0, fmt.Errorf("runtime.rt0_go at %#x has no usable extent", entry)
	}
	code := make([]byte, f.End-entry)
	if err := r.img.ReadMem(entry, code); err != nil {
		return 0, 0, err
	}
	g0, m0, err = r.ru.rt0(code, entry, r.off)
	if err != nil {
		return 0, 0, fmt.Errorf("runtime.rt0_go: %w", err)
	}
	return g0, m0, nil
}

// fillThreads reads each thread's g and m.
func (r *reader) fillThreads() {
	o := r.off
	for i := range r.s.Threads {
		t := &r.s.Threads[i]
		g := t.G
		if g.Known && g.Value == 0 {
			g = unknown[Addr]("the thread has no g yet")
		}
		t.GStackLo = r.field(g, o.GStackLo, "g.stack.lo")
		t.GStackHi = r.field(g, o.GStackHi, "g.stack.hi")
		t.M = r.field(g, o.GM, "g.m")
		m := t.M
		if m.Known && m.Value == 0 {
			m = unknown[Addr]("g.m is nil")
		}
		t.MG0 = r.field(m, o.MG0, "m.g0")
		t.MCurG = r.field(m, o.MCurG, "m.curg")
		t.MGSignal = r.field(m, o.MGSignal, "m.gsignal")
		t.MProcID = asUint(r.field(m, o.MProcID, "m.procid"))
	}
}

// variables reads argc, argv and the runtime variables of the snapshot.
func (r *reader) variables() {
	s := r.s
	s.Argc = r.intVar("runtime.argc")
	s.ArgvAddr = r.symbolWord("runtime.argv")
	if !s.Argc.Known {
		// rt0 passes [SP] and SP+8 to runtime.args.
		if v := r.word(uint64(s.EntrySP), fromStack); v.Known {
			s.Argc = known(int64(int32(v.Value)), fromStack)
		}
		s.ArgvAddr = known(s.EntrySP+8, fromStack)
	}
	s.Argv = r.argv()
	s.PhysPageSize = r.intVar("runtime.physPageSize")
	s.NCPU = r.intVar(ncpuVars...)
	s.GOMAXPROCS = r.intVar("runtime.gomaxprocs")
	if v := r.intVar("runtime.iscgo"); v.Known {
		s.IsCgo = known(v.Value != 0, v.From)
	} else if r.img.Stripped {
		// runtime/cgo sets runtime.iscgo statically (var _iscgo = true),
		// so it is true exactly when that package is linked in.
		if hasFuncPrefix(r.img, "runtime/cgo.") {
			s.IsCgo = known(true, fromCgoFn)
		} else {
			s.IsCgo = known(false, fromNoCgoFn)
		}
	} else {
		s.IsCgo = unknown[bool]("%s", v.Why)
	}
	if ps, ok := r.p.Stack().Aux(loader.AT_PAGESZ); ok {
		s.AuxPageSize = known(int64(ps), "auxv AT_PAGESZ")
	} else {
		s.AuxPageSize = unknown[int64]("no AT_PAGESZ in the auxiliary vector")
	}
}

// argv reads the argc strings ArgvAddr points at.
func (r *reader) argv() Val[[]string] {
	s := r.s
	if !s.Argc.Known || !s.ArgvAddr.Known {
		return unknown[[]string]("argc or argv unavailable")
	}
	if s.Argc.Value < 0 || s.Argc.Value > 4096 {
		return unknown[[]string]("argc %d is not a plausible count", s.Argc.Value)
	}
	out := make([]string, 0, s.Argc.Value)
	for i := range s.Argc.Value {
		ptr := r.word(uint64(s.ArgvAddr.Value)+uint64(8*i), "argv")
		if !ptr.Known {
			return unknown[[]string]("argv[%d]: %s", i, ptr.Why)
		}
		str, err := r.cString(uint64(ptr.Value))
		if err != nil {
			return unknown[[]string]("argv[%d]: %v", i, err)
		}
		out = append(out, str)
	}
	return known(out, s.ArgvAddr.From)
}

// maxCString bounds the strings cString reads (MAX_ARG_STRLEN).
const maxCString = 32 * 4096

// cString reads a NUL-terminated string, a page at a time so that a
// string ending just below unmapped memory reads.
func (r *reader) cString(addr uint64) (string, error) {
	var b []byte
	page := r.ru.arch.PageSize
	for len(b) < maxCString {
		n := page - addr%page
		chunk := make([]byte, n)
		if err := r.p.ReadMem(addr, chunk); err != nil {
			return "", err
		}
		if i := bytes.IndexByte(chunk, 0); i >= 0 {
			return string(append(b, chunk[:i]...)), nil
		}
		b = append(b, chunk...)
		addr += n
	}
	return "", fmt.Errorf("no NUL within %d bytes", maxCString)
}

// symbol returns the address of a data symbol.
func (r *reader) symbol(name string) Val[Addr] {
	d, ok := r.img.Data(name)
	if !ok {
		return unknown[Addr]("%s", r.noSymbol(name))
	}
	return known(Addr(d.Addr), name)
}

// noSymbol says why a data symbol is missing.
func (r *reader) noSymbol(name string) string {
	if r.img.Stripped {
		return "stripped: no symbol table to find " + name
	}
	return "no symbol " + name
}

// symbolWord reads the pointer-sized variable name.
func (r *reader) symbolWord(name string) Val[Addr] {
	d, ok := r.img.Data(name)
	if !ok {
		return unknown[Addr]("%s", r.noSymbol(name))
	}
	return r.word(d.Addr, name)
}

// intVar reads the first of names that exists as an integer variable of
// 1, 4 or 8 bytes (its ELF symbol's size), sign-extended.
func (r *reader) intVar(names ...string) Val[int64] {
	for _, name := range names {
		d, ok := r.img.Data(name)
		if !ok {
			continue
		}
		var b [8]byte
		switch d.Size {
		case 1, 4, 8:
		default:
			return unknown[int64]("%s has %d bytes, not an integer", name, d.Size)
		}
		if err := r.p.ReadMem(d.Addr, b[:d.Size]); err != nil {
			return unknown[int64]("%s: %v", name, err)
		}
		v := int64(binary.LittleEndian.Uint64(b[:]))
		switch d.Size {
		case 1:
			v = int64(int8(v))
		case 4:
			v = int64(int32(v))
		}
		return known(v, name)
	}
	return unknown[int64]("%s", r.noSymbol(strings.Join(names, " or ")))
}

// word reads a pointer-sized word of guest memory.
func (r *reader) word(addr uint64, from string) Val[Addr] {
	v, err := r.p.ReadU64(addr)
	if err != nil {
		return unknown[Addr]("%s: %v", from, err)
	}
	return known(Addr(v), from)
}

// field reads the word at base+off, named from in the result.
func (r *reader) field(base Val[Addr], off uint64, from string) Val[Addr] {
	if !base.Known {
		owner, _, _ := strings.Cut(from, ".")
		return unknown[Addr]("%s unknown", owner)
	}
	return r.word(uint64(base.Value)+off, from)
}

// name says what an address is: a data symbol, a function, a runtime
// object found without symbols, or the mapping it is in.
func (r *reader) name(a uint64) string {
	if a == 0 {
		return ""
	}
	if d, off, ok := r.img.DataAt(a); ok {
		if off == 0 {
			return d.Name
		}
		return fmt.Sprintf("%s+%#x", d.Name, off)
	}
	if s, ok := r.img.Symbolize(a); ok {
		return s.String()
	}
	if r.s != nil {
		if n := r.s.objectName(Addr(a)); n != "" {
			return n
		}
	}
	for _, m := range r.p.Mappings() {
		if a >= m.Start && a < m.End {
			switch {
			case m.Name == "":
				return "[anon]"
			case strings.HasPrefix(m.Name, "["):
				return m.Name
			}
			return path.Base(m.Name)
		}
	}
	return ""
}

// objectName names addresses inside g0 and m0 when no symbol does
// (stripped binaries): "m0.tls+0x8".
func (s *Snapshot) objectName(a Addr) string {
	o := s.Offsets
	if m0, ok := s.M0.Addr.Get(); ok {
		switch {
		case a == m0:
			return "m0"
		case a == m0+Addr(o.MTLS):
			return "m0.tls"
		case a > m0+Addr(o.MTLS) && a <= m0+Addr(o.MTLS)+8*TLSSlots:
			return fmt.Sprintf("m0.tls+%#x", uint64(a-m0-Addr(o.MTLS)))
		}
	}
	if g0, ok := s.G0.Addr.Get(); ok && a == g0 {
		return "g0"
	}
	return ""
}

// asUint converts an address-typed Val to a plain number.
func asUint(v Val[Addr]) Val[uint64] {
	return Val[uint64]{Value: uint64(v.Value), Known: v.Known, Why: v.Why, From: v.From}
}

// hasFunc reports whether the image has a function of that name.
func hasFunc(img *loader.Image, name string) bool {
	_, ok := img.Lookup(name)
	return ok
}

// hasFuncPrefix reports whether a function's name starts with prefix.
func hasFuncPrefix(img *loader.Image, prefix string) bool {
	for _, f := range img.Funcs() {
		if strings.HasPrefix(f.Name, prefix) {
			return true
		}
	}
	return false
}
