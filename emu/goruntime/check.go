package goruntime

import (
	"fmt"
	"math"
	"strings"

	"github.com/gorunemu/gorunemu/arch"
)

// Status is the outcome of one check.
type Status int

// Check outcomes.
const (
	// Pass: the invariant holds.
	Pass Status = iota
	// Fail: it does not; Check reports it as a Violation.
	Fail
	// Skip: it cannot be decided from this snapshot (a value derived from
	// the very thing the check compares it with, a thread that has not
	// run yet, a register that is not g at the thread's PC); the message
	// says which.
	Skip
)

// String returns "pass", "FAIL" or "skip".
func (s Status) String() string {
	switch s {
	case Pass:
		return "pass"
	case Fail:
		return "FAIL"
	case Skip:
		return "skip"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText encodes s as "pass", "fail" or "skip".
func (s Status) MarshalText() ([]byte, error) { return []byte(strings.ToLower(s.String())), nil }

// UnmarshalText decodes what MarshalText encodes.
func (s *Status) UnmarshalText(b []byte) error {
	for _, st := range []Status{Pass, Fail, Skip} {
		if strings.EqualFold(string(b), st.String()) {
			*s = st
			return nil
		}
	}
	return fmt.Errorf("goruntime: unknown check status %q", b)
}

// Result is one check of one invariant, for the process or one thread.
type Result struct {
	// ID names the invariant: "tls", "g0-stack", ... (see Evaluate).
	ID string `json:"id"`
	// TID is the thread the check is about, or 0 for the process.
	TID     int    `json:"tid,omitempty"`
	Status  Status `json:"status"`
	Message string `json:"message"`
}

// String formats r as "FAIL tls (thread 4242): FS base ...".
func (r Result) String() string {
	where := ""
	if r.TID != 0 {
		where = fmt.Sprintf(" (thread %d)", r.TID)
	}
	return fmt.Sprintf("%s %s%s: %s", r.Status, r.ID, where, r.Message)
}

// Violation is an invariant that does not hold.
type Violation struct {
	ID      string `json:"id"`
	TID     int    `json:"tid,omitempty"`
	Message string `json:"message"`
}

// String formats v as "tls (thread 4242): FS base 0x... ≠ ...".
func (v Violation) String() string {
	if v.TID != 0 {
		return fmt.Sprintf("%s (thread %d): %s", v.ID, v.TID, v.Message)
	}
	return v.ID + ": " + v.Message
}

// Check returns the startup invariants that s violates, in Evaluate's
// order; none for a runtime that started right.
func Check(s *Snapshot) []Violation {
	var out []Violation
	for _, r := range Evaluate(s) {
		if r.Status == Fail {
			out = append(out, Violation{ID: r.ID, TID: r.TID, Message: r.Message})
		}
	}
	return out
}

// Evaluate checks the invariants the Go runtime establishes during
// startup (runtime/asm_{amd64,arm64}.s rt0_go, proc.go mstart0 and
// minit), each with a pass, fail or skip and a readable message:
//
//   - m0-g0, g0-m: m0.g0 == &g0 and g0.m == &m0.
//   - g0-stack: g0's stack as rt0_go sets it, anchored on the entry SP:
//     hi == entry SP − 48; hi − lo == 64 KiB (less 104 bytes on amd64
//     before Go 1.21); stackguard0 == stackguard1 == lo + StackGuard once
//     m0 has scheduled a goroutine (before that, on amd64, lo: mstart0
//     raises them). A mismatch names the fields that are off.
//   - m0-procid: m0.procid == the main thread's tid (0 before minit).
//   - argv: runtime.argv == entry SP + 8, where rt0 found argv.
//   - page-size: runtime.physPageSize == AT_PAGESZ.
//
// and for every thread:
//
//   - tls (amd64): FS base == &m.tls+8 of the thread's m (m0 on the main
//     thread), and, where R14 is g, *(FS base − 8) == R14.
//   - tpidr (arm64): TPIDR_EL0 == 0 in a binary without cgo.
//   - g-in-m: the thread's g is g0, curg or gsignal of its m (g.m); on
//     the main thread that m is m0.
//   - sp-in-stack: g.stack.lo < SP ≤ g.stack.hi for the g the thread
//     runs (g0's bounds on the main thread whenever it runs on g0), where
//     the thread is in Go code or at a syscall.
//   - procid: m.procid == the thread's tid.
//
// Before rt0_go has linked g0 and m0 (m0.g0 and g0.m still nil) there is
// nothing to check, and Evaluate returns a single "startup" skip.
// Invariants set later in startup (argv and page-size by runtime.args)
// are skipped while their variables are still zero.
func Evaluate(s *Snapshot) []Result {
	c := &checker{s: s}
	a, err := arch.ByName(s.Arch)
	if err == nil {
		c.ru, err = rulesFor(a)
	}
	if err != nil {
		return []Result{{ID: "arch", Status: Fail, Message: err.Error()}}
	}
	minor, ok := goMinor(s.GoVersion)
	if !ok {
		minor = math.MaxInt // a development build: newer than any release
	}
	c.minor = minor
	if s.M0.G0.Known && s.M0.G0.Value == 0 && s.G0.M.Known && s.G0.M.Value == 0 {
		return []Result{{ID: "startup", Status: Skip, Message: "rt0_go has not linked g0 and m0 yet (m0.g0 and g0.m are nil): " +
			"the startup invariants are not established before that"}}
	}
	c.g0m0()
	c.g0Stack()
	c.m0ProcID()
	c.argv()
	c.pageSize()
	for i := range s.Threads {
		c.thread(&s.Threads[i])
	}
	return c.out
}

// checker accumulates results.
type checker struct {
	s     *Snapshot
	ru    *rules
	minor int
	out   []Result
}

func (c *checker) add(id string, tid int, st Status, format string, args ...any) {
	c.out = append(c.out, Result{ID: id, TID: tid, Status: st, Message: fmt.Sprintf(format, args...)})
}

// eq adds a pass when got == want and a fail otherwise, describing both.
func (c *checker) eq(id string, tid int, what string, got Addr, wantWhat string, want Addr) {
	if got == want {
		c.add(id, tid, Pass, "%s %s == %s", what, got, wantWhat)
		return
	}
	c.add(id, tid, Fail, "%s %s ≠ %s %s (off by %s)", what, got, wantWhat, want, signed(int64(got-want)))
}

// need adds a fail naming the first unknown value and reports false, or
// reports true when all are known.
func (c *checker) need(id string, tid int, vals ...namedVal) bool {
	for _, v := range vals {
		if !v.v.Known {
			c.add(id, tid, Fail, "%s unavailable: %s", v.name, v.v.Why)
			return false
		}
	}
	return true
}

type namedVal struct {
	name string
	v    Val[Addr]
}

func nv(name string, v Val[Addr]) namedVal { return namedVal{name, v} }

// scheduled reports whether m0 has run a goroutine, which it does only
// after mstart0 and minit: the main thread runs a g other than g0, or m0
// has a current g.
func (c *checker) scheduled() bool {
	s := c.s
	if s.M0.CurG.Known && s.M0.CurG.Value != 0 {
		return true
	}
	for _, t := range s.Threads {
		if t.Main && t.G.Known && s.G0.Addr.Known && t.G.Value != 0 && t.G.Value != s.G0.Addr.Value {
			return true
		}
	}
	return false
}

func (c *checker) g0m0() {
	s := c.s
	switch {
	case s.G0.Addr.From == fromM0G0:
		c.add("m0-g0", 0, Skip, "&g0 is known only as m0.g0 (no symbol, rt0_go not decoded), so it cannot be checked against it")
	case c.need("m0-g0", 0, nv("&g0", s.G0.Addr), nv("m0.g0", s.M0.G0)):
		c.eq("m0-g0", 0, "m0.g0", s.M0.G0.Value, "&g0", s.G0.Addr.Value)
	}
	if c.need("g0-m", 0, nv("&m0", s.M0.Addr), nv("g0.m", s.G0.M)) {
		c.eq("g0-m", 0, "g0.m", s.G0.M.Value, "&m0", s.M0.Addr.Value)
	}
}

// g0Stack compares g0's bounds and guards with what rt0_go and mstart0
// make of the entry SP.
func (c *checker) g0Stack() {
	s := c.s
	lo, hi, sg0, sg1 := s.G0.StackLo, s.G0.StackHi, s.G0.StackGuard0, s.G0.StackGuard1
	if !c.need("g0-stack", 0, nv("g0.stack.lo", lo), nv("g0.stack.hi", hi), nv("g0.stackguard0", sg0), nv("g0.stackguard1", sg1)) {
		return
	}
	guard := StackGuard(c.minor, s.Race)
	if s.IsCgo.Known && s.IsCgo.Value {
		// _cgo_init sets the bounds from the C thread's stack.
		want := lo.Value + Addr(guard)
		if sg0.Value == want && sg1.Value == want {
			c.add("g0-stack", 0, Pass, "cgo: g0.stackguard0 == stackguard1 == lo + %d", guard)
		} else {
			c.add("g0-stack", 0, Fail, "cgo: g0.stackguard0 lo %s, stackguard1 lo %s, want lo + %#x",
				signed(int64(sg0.Value-lo.Value)), signed(int64(sg1.Value-lo.Value)), guard)
		}
		return
	}
	size := c.ru.g0StackSize(c.minor)
	wantHi := s.EntrySP - g0HiBelowEntrySP
	wantLo := wantHi - Addr(size)
	wantGuard := wantLo + Addr(guard)
	early := !c.ru.guardsInRT0 && !c.scheduled() && sg0.Value == wantLo && sg1.Value == wantLo
	if early {
		wantGuard = wantLo
	}
	var bad []string
	for _, f := range []struct {
		name      string
		got, want Addr
		how       string
	}{
		{"hi", hi.Value, wantHi, fmt.Sprintf("entry SP − %d", g0HiBelowEntrySP)},
		{"lo", lo.Value, wantLo, fmt.Sprintf("entry SP − %d − %#x", g0HiBelowEntrySP, size)},
		{"stackguard0", sg0.Value, wantGuard, fmt.Sprintf("lo + %d", guard)},
		{"stackguard1", sg1.Value, wantGuard, fmt.Sprintf("lo + %d", guard)},
	} {
		if f.got != f.want {
			bad = append(bad, fmt.Sprintf("%s %s ≠ %s = %s", f.name, f.got, f.how, f.want))
		}
	}
	if len(bad) > 0 {
		c.add("g0-stack", 0, Fail, "g0.stack as rt0_go sets it in %s on %s: %s", s.GoVersion, s.Arch, strings.Join(bad, "; "))
		return
	}
	guards := fmt.Sprintf("stackguard0 == stackguard1 == lo + %d", guard)
	if early {
		guards = fmt.Sprintf("stackguard0 == stackguard1 == lo (mstart0 has not raised them to lo + %d yet)", guard)
	}
	c.add("g0-stack", 0, Pass, "g0.stack [%s, %s): hi == entry SP − %d, hi − lo == %#x, %s", lo.Value, hi.Value, g0HiBelowEntrySP, size, guards)
}

func (c *checker) m0ProcID() {
	s := c.s
	var main *Thread
	for i := range s.Threads {
		if s.Threads[i].Main {
			main = &s.Threads[i]
		}
	}
	switch {
	case main == nil:
		c.add("m0-procid", 0, Skip, "the main thread has exited")
	case !s.M0.ProcID.Known:
		c.add("m0-procid", 0, Fail, "m0.procid unavailable: %s", s.M0.ProcID.Why)
	case s.M0.ProcID.Value == uint64(main.TID):
		c.add("m0-procid", 0, Pass, "m0.procid == %d, the main thread's tid", main.TID)
	case s.M0.ProcID.Value == 0 && !c.scheduled():
		c.add("m0-procid", 0, Pass, "m0.procid is 0: minit has not run yet")
	default:
		c.add("m0-procid", 0, Fail, "m0.procid %d ≠ %d, the main thread's tid", s.M0.ProcID.Value, main.TID)
	}
}

func (c *checker) argv() {
	s := c.s
	switch {
	case s.ArgvAddr.From == fromStack:
		c.add("argv", 0, Skip, "no symbols for runtime.argc and runtime.argv: argc and argv were read from the initial stack")
	case !s.Argc.Known || !s.ArgvAddr.Known:
		c.add("argv", 0, Fail, "runtime.argc or runtime.argv unavailable: %s%s", s.Argc.Why, s.ArgvAddr.Why)
	case s.Argc.Value == 0 && s.ArgvAddr.Value == 0:
		c.add("argv", 0, Skip, "runtime.argc and runtime.argv are 0: runtime.args has not run yet")
	case s.ArgvAddr.Value != s.EntrySP+8:
		c.add("argv", 0, Fail, "runtime.argv %s ≠ entry SP + 8 = %s", s.ArgvAddr.Value, s.EntrySP+8)
	default:
		c.add("argv", 0, Pass, "runtime.argv == entry SP + 8 (%s), runtime.argc == %d", s.ArgvAddr.Value, s.Argc.Value)
	}
}

func (c *checker) pageSize() {
	s := c.s
	switch {
	case !s.PhysPageSize.Known:
		c.add("page-size", 0, Skip, "runtime.physPageSize unavailable: %s", s.PhysPageSize.Why)
	case !s.AuxPageSize.Known:
		c.add("page-size", 0, Skip, "%s", s.AuxPageSize.Why)
	case s.PhysPageSize.Value == 0:
		c.add("page-size", 0, Skip, "runtime.physPageSize is 0: runtime.args has not read the auxiliary vector yet")
	case s.PhysPageSize.Value == s.AuxPageSize.Value:
		c.add("page-size", 0, Pass, "runtime.physPageSize == AT_PAGESZ == %d", s.PhysPageSize.Value)
	default:
		c.add("page-size", 0, Fail, "runtime.physPageSize %d ≠ AT_PAGESZ %d", s.PhysPageSize.Value, s.AuxPageSize.Value)
	}
}

// thread checks one thread's TLS, g, m and stack.
func (c *checker) thread(t *Thread) {
	tid := t.TID
	if !t.G.Known && !t.Main {
		for _, id := range c.threadIDs() {
			c.add(id, tid, Skip, "g unavailable in %s: %s", t.Func, t.G.Why)
		}
		return
	}
	if t.G.Known && t.G.Value == 0 && !t.Main {
		for _, id := range c.threadIDs() {
			c.add(id, tid, Skip, "the thread has not run yet: it has no g (%s)", t.Func)
		}
		return
	}
	if c.ru.gSlotInTLS {
		c.tls(t)
	} else {
		c.tpidr(t)
	}
	c.gInM(t)
	c.spInStack(t)
	if !t.Main {
		switch {
		case !t.MProcID.Known:
			c.add("procid", tid, Fail, "m.procid unavailable: %s", t.MProcID.Why)
		case t.MProcID.Value == uint64(tid):
			c.add("procid", tid, Pass, "m.procid == tid %d", tid)
		default:
			c.add("procid", tid, Fail, "m.procid %d ≠ tid %d", t.MProcID.Value, tid)
		}
	}
}

// tls checks that FS base points just past m.tls[0] of the thread's m,
// and that the slot holds the g R14 holds.
func (c *checker) tls(t *Thread) {
	s, tid := c.s, t.TID
	m, mWhat := t.M, "g.m"
	if t.Main {
		m, mWhat = s.M0.Addr, "m0"
	}
	if s.CTLS {
		c.cgoTLS(t)
		return
	}
	var bad, good []string
	switch {
	case t.Main && s.M0.Addr.From == fromFS:
		good = append(good, "&m0 was derived from FS base itself")
	case !m.Known:
		bad = append(bad, fmt.Sprintf("%s unavailable: %s", mWhat, m.Why))
	default:
		want := m.Value + Addr(s.Offsets.MTLS) + 8
		if t.TLSBase == want {
			good = append(good, fmt.Sprintf("FS base %s == &%s.tls+8", t.TLSBase, mWhat))
		} else {
			bad = append(bad, fmt.Sprintf("FS base %s ≠ &%s.tls+8 %s (off by %s)", t.TLSBase, mWhat, want, signed(int64(t.TLSBase-want))))
		}
	}
	switch {
	case !t.GRegLive:
		good = append(good, fmt.Sprintf("R14 is not g in %s (%s is not Go code)", t.Func, t.File))
	case !t.TLSG.Known:
		bad = append(bad, "*(FS base − 8) unavailable: "+t.TLSG.Why)
	case t.TLSG.Value == t.GReg.Value:
		good = append(good, fmt.Sprintf("*(FS base − 8) == R14 == %s", t.GReg.Value))
	default:
		bad = append(bad, fmt.Sprintf("*(FS base − 8) %s ≠ R14 %s", t.TLSG.Value, t.GReg.Value))
	}
	if len(bad) > 0 {
		c.add("tls", tid, Fail, "%s", strings.Join(bad, "; "))
		return
	}
	c.add("tls", tid, Pass, "%s", strings.Join(good, "; "))
}

// cgoTLS checks a thread of a binary linked with a C library: the thread
// pointer is the C library's (on amd64 its thread control block starts
// with a pointer to itself), and g's slot in the C library's TLS block
// (runtime.tlsg, runtime.tls_g) holds the g in the g register.
func (c *checker) cgoTLS(t *Thread) {
	s, tid, id := c.s, t.TID, c.threadIDs()[0]
	if !s.GTLSOffset.Known {
		c.add(id, tid, Skip, "%s", s.GTLSOffset.Why)
		return
	}
	slot := fmt.Sprintf("*(%s %s) %s", c.ru.tlsName, spaced(s.GTLSOffset.Value), c.ru.gTLSVar)
	reg := c.ru.arch.RegName(c.ru.arch.G)
	var bad, good []string
	switch {
	case t.TLSBase == 0:
		bad = append(bad, fmt.Sprintf("%s is 0 in a binary linked with a C library", c.ru.tlsName))
	case !c.ru.gSlotInTLS:
	case !t.TCB.Known:
		bad = append(bad, "*(FS base) unavailable: "+t.TCB.Why)
	case t.TCB.Value == t.TLSBase:
		good = append(good, fmt.Sprintf("FS base %s is the C library's thread pointer (its TCB points to itself)", t.TLSBase))
	default:
		bad = append(bad, fmt.Sprintf("FS base %s is no C library thread pointer: *(FS base) %s ≠ FS base", t.TLSBase, t.TCB.Value))
	}
	switch {
	case t.TLSBase == 0:
	case !t.GRegLive && t.File == "":
		good = append(good, fmt.Sprintf("%s is not g in %s (the C library's code)", reg, t.Func))
	case !t.GRegLive:
		good = append(good, fmt.Sprintf("%s is not g in %s (%s is not Go code)", reg, t.Func, t.File))
	case !t.TLSG.Known:
		bad = append(bad, slot+" unavailable: "+t.TLSG.Why)
	case t.TLSG.Value == t.GReg.Value:
		good = append(good, fmt.Sprintf("%s == %s == %s", slot, reg, t.GReg.Value))
	default:
		bad = append(bad, fmt.Sprintf("%s %s ≠ %s %s", slot, t.TLSG.Value, reg, t.GReg.Value))
	}
	if len(bad) > 0 {
		c.add(id, tid, Fail, "%s", strings.Join(bad, "; "))
		return
	}
	c.add(id, tid, Pass, "%s", strings.Join(good, "; "))
}

// tpidr checks that a binary without cgo leaves TPIDR_EL0 alone.
func (c *checker) tpidr(t *Thread) {
	s, tid := c.s, t.TID
	switch {
	case s.CTLS:
		c.cgoTLS(t)
	case !s.IsCgo.Known:
		c.add("tpidr", tid, Skip, "iscgo unavailable: %s", s.IsCgo.Why)
	case s.IsCgo.Value:
		c.add("tpidr", tid, Skip, "a cgo binary: the C library owns %s", c.ru.tlsName)
	case t.TLSBase == 0:
		c.add("tpidr", tid, Pass, "%s is 0: a Go binary without cgo keeps g only in R28", c.ru.tlsName)
	case s.Interpreter != "" && t.TLSBase == c.mainTLSBase():
		c.add("tpidr", tid, Pass, "%s %s is the main thread's, as the dynamic loader set it and clone passed it on: Go without cgo keeps g only in R28", c.ru.tlsName, t.TLSBase)
	default:
		c.add("tpidr", tid, Fail, "%s %s ≠ 0 in a binary without cgo", c.ru.tlsName, t.TLSBase)
	}
}

// mainTLSBase is the main thread's thread pointer, or 0.
func (c *checker) mainTLSBase() Addr {
	for _, t := range c.s.Threads {
		if t.Main {
			return t.TLSBase
		}
	}
	return 0
}

// gInM checks that the thread's g is one of its m's goroutines, and that
// the main thread's m is m0.
func (c *checker) gInM(t *Thread) {
	s, tid := c.s, t.TID
	if !c.need("g-in-m", tid, nv("g", t.G), nv("g.m", t.M)) {
		return
	}
	g, m := t.G.Value, t.M.Value
	if m == 0 {
		c.add("g-in-m", tid, Fail, "g %s has no m (g.m is nil)", g)
		return
	}
	if t.Main && s.M0.Addr.From != fromMainG { // else &m0 is this very g.m
		if !c.need("g-in-m", tid, nv("&m0", s.M0.Addr)) {
			return
		}
		if m != s.M0.Addr.Value {
			c.add("g-in-m", tid, Fail, "the main thread's g %s has g.m %s ≠ &m0 %s", g, m, s.M0.Addr.Value)
			return
		}
	}
	if !c.need("g-in-m", tid, nv("m.g0", t.MG0), nv("m.curg", t.MCurG), nv("m.gsignal", t.MGSignal)) {
		return
	}
	which := "m"
	if t.Main {
		which = "m0"
	}
	switch g {
	case t.MG0.Value:
		c.add("g-in-m", tid, Pass, "g %s is g0 of %s %s", g, which, m)
	case t.MCurG.Value:
		c.add("g-in-m", tid, Pass, "g %s is curg of %s %s", g, which, m)
	case t.MGSignal.Value:
		c.add("g-in-m", tid, Pass, "g %s is gsignal of %s %s", g, which, m)
	default:
		c.add("g-in-m", tid, Fail, "g %s is none of its %s %s's g0 %s, curg %s, gsignal %s", g, which, m, t.MG0.Value, t.MCurG.Value, t.MGSignal.Value)
	}
}

// spInStack checks that SP is inside the running g's stack.
func (c *checker) spInStack(t *Thread) {
	s, tid := c.s, t.TID
	if !t.GoCode && !t.AfterSyscall {
		c.add("sp-in-stack", tid, Skip, "%s is assembly and not at a syscall: the runtime may be switching stacks there", t.Func)
		return
	}
	if !c.need("sp-in-stack", tid, nv("g", t.G), nv("g.stack.lo", t.GStackLo), nv("g.stack.hi", t.GStackHi)) {
		return
	}
	lo, hi := t.GStackLo.Value, t.GStackHi.Value
	which := "g " + t.G.Value.String()
	if s.G0.Addr.Known && t.G.Value == s.G0.Addr.Value {
		which = "g0"
	}
	if lo < t.SP && t.SP <= hi {
		c.add("sp-in-stack", tid, Pass, "SP %s is in %s's stack: lo %s < SP ≤ hi %s", t.SP, which, lo, hi)
	} else {
		c.add("sp-in-stack", tid, Fail, "SP %s is outside %s's stack (lo %s, hi %s]", t.SP, which, lo, hi)
	}
}

// threadIDs lists the per-thread checks of the arch.
func (c *checker) threadIDs() []string {
	id := "tpidr"
	if c.ru.gSlotInTLS {
		id = "tls"
	}
	return []string{id, "g-in-m", "sp-in-stack", "procid"}
}

// spaced formats an offset as "+ 0x30" or "− 0x58", for expressions.
func spaced(d int64) string {
	if d < 0 {
		return fmt.Sprintf("− %#x", uint64(-d))
	}
	return fmt.Sprintf("+ %#x", uint64(d))
}

// signed formats a difference as "+0x8" or "-0x3a0".
func signed(d int64) string {
	if d < 0 {
		return fmt.Sprintf("-%#x", uint64(-d))
	}
	return fmt.Sprintf("+%#x", uint64(d))
}
