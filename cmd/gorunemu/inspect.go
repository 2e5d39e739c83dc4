package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader"
)

// exitCheckFailed is inspect's status when a startup invariant fails.
const exitCheckFailed = 1

const inspectUsage = `Usage: gorunemu inspect [flags] BINARY|PKGDIR [ARGS...]

Runs the guest to --until (main.main by default), reads the Go runtime's
state there (g0, m0, every thread's g, m and TLS, argv and the runtime's
variables) and checks the invariants startup establishes. It prints a
table with symbols beside addresses, or with --json one JSON object, and
exits 1 when a check fails. Flags must come before BINARY.

Flags:
`

func inspectCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o runOptions
	o.register(fs)
	asJSON := fs.Bool("json", false, "print the snapshot and the checks as one JSON object")
	quiet := fs.Bool("q", false, "print only the checks that failed and the count (the exit code says the rest)")
	var ex examineOptions
	ex.register(fs)
	usage := func(w io.Writer) {
		fmt.Fprint(w, inspectUsage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fmt.Fprint(w, exitCodesHelp)
		fmt.Fprintln(w, "  1       inspect: a startup check failed")
	}
	guestArgs, code, ok := parseArgs(fs, args, usage, stdout, stderr)
	if !ok {
		return code
	}
	if o.until == "exit" || o.until == "" {
		fmt.Fprintln(stderr, "gorunemu inspect: --until must name a symbol or an address: the runtime is read in a live process")
		return exitUsage
	}
	g, code, err := o.resolveBinary(guestArgs[0])
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu: %v\n", err)
		return code
	}
	p, code, err := o.open(g, guestArgs[1:], io.Discard, io.Discard)
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu: %v\n", err)
		return code
	}
	defer func() {
		if err := p.Close(); err != nil {
			fmt.Fprintf(stderr, "gorunemu: %v\n", err)
		}
	}()
	start := time.Now()
	r, err := o.execute(p)
	if q := o.active(p); q != p {
		defer q.Close() // the replay a gdb session ended with
		p = q
	}
	if err != nil {
		return runFailed(err, stderr)
	}
	if r.Kind != emu.StopUntil {
		fmt.Fprintf(stderr, "gorunemu inspect: %s did not reach --until %s: %s\n", g.display(), o.until, r)
		return o.exitCode(r)
	}
	s, err := goruntime.Read(p)
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu inspect: %v\n", err)
		if errors.Is(err, goruntime.ErrUnknownVersion) || errors.Is(err, goruntime.ErrNotGo) || errors.Is(err, goruntime.ErrBadDWARF) {
			return exitBadInput
		}
		return exitInternal
	}
	results := goruntime.Evaluate(s)
	var x *examined
	if !ex.empty() {
		if x, err = ex.examine(p); err != nil {
			fmt.Fprintf(stderr, "gorunemu inspect: %v\n", err)
			var bad *badVar
			switch {
			case errors.Is(err, loader.ErrNoDWARF) || errors.Is(err, goruntime.ErrBadDWARF):
				return exitBadInput
			case errors.As(err, &bad):
				return exitUsage
			}
			return exitInternal
		}
	}
	elapsed := time.Since(start)
	if *asJSON {
		if err := writeInspectJSON(stdout, g, r, s, results, x); err != nil {
			fmt.Fprintf(stderr, "gorunemu inspect: %v\n", err)
			return exitInternal
		}
	} else if *quiet {
		writeChecks(stdout, results, true)
	} else {
		writeInspect(stdout, g, r, s, results, elapsed)
		if x != nil {
			x.write(stdout)
		}
	}
	for _, res := range results {
		if res.Status == goruntime.Fail {
			return exitCheckFailed
		}
	}
	return exitOK
}

// inspectJSON is the object inspect --json prints.
type inspectJSON struct {
	Binary   string              `json:"binary"`
	Source   string              `json:"source,omitempty"`
	Stop     string              `json:"stop"`
	StopPC   goruntime.Addr      `json:"stop_pc"`
	Snapshot *goruntime.Snapshot `json:"snapshot"`
	Checks   []goruntime.Result  `json:"checks"`
	Failed   int                 `json:"failed"`
	// What the examine flags asked for, if any.
	*examined
}

func writeInspectJSON(w io.Writer, g guest, r *emu.StopReason, s *goruntime.Snapshot, results []goruntime.Result, x *examined) error {
	out := inspectJSON{Binary: g.path, Source: g.source, Stop: r.String(), StopPC: goruntime.Addr(r.PC), Snapshot: s, Checks: results, examined: x}
	for _, res := range results {
		if res.Status == goruntime.Fail {
			out.Failed++
		}
	}
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	if err := e.Encode(out); err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	return nil
}

// table writes aligned rows: a label, a value, what the value is (a
// symbol, a mapping), and a note.
type table struct {
	w   io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func newTable(w io.Writer) *table {
	t := &table{w: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

// row adds a row of up to four cells; the fourth, the note, is not
// aligned.
func (t *table) row(cols ...string) {
	cells := make([]string, 4)
	copy(cells, cols)
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

// flush writes the table without the padding the empty last cells leave.
func (t *table) flush() {
	t.tw.Flush()
	for _, line := range strings.SplitAfter(t.buf.String(), "\n") {
		if line != "" {
			fmt.Fprintln(t.w, strings.TrimRight(line, " \n"))
		}
	}
	t.buf.Reset()
}

// addr adds a row for an address: its value and symbol, or why it is
// unavailable.
func (t *table) addr(label string, v goruntime.Val[goruntime.Addr], note string) {
	if !v.Known {
		t.row(label, "unavailable", "", v.Why)
		return
	}
	t.row(label, v.Value.String(), v.Sym, note)
}

// num adds a row for a number.
func (t *table) num(label string, v goruntime.Val[int64], note string) {
	if !v.Known {
		t.row(label, "unavailable", "", v.Why)
		return
	}
	if note == "" {
		note = v.From
	}
	t.row(label, strconv.FormatInt(v.Value, 10), "", note)
}

// derived notes where a value came from when it was not read at a
// symbol of the same name.
func derived(v goruntime.Val[goruntime.Addr], symbol string) string {
	if v.Known && v.From != symbol {
		return "from " + v.From
	}
	return ""
}

// rel formats a − b as "base + 0x3a0" or "base − 0x30".
func rel(a, b goruntime.Addr, base string) string {
	if a >= b {
		return fmt.Sprintf("%s + %#x", base, uint64(a-b))
	}
	return fmt.Sprintf("%s − %#x", base, uint64(b-a))
}

func writeInspect(w io.Writer, g guest, r *emu.StopReason, s *goruntime.Snapshot, results []goruntime.Result, elapsed time.Duration) {
	if g.source != "" {
		fmt.Fprintf(w, "binary:   %s (%s, %s; built in %v to %s)\n", g.source, s.Arch, s.GoVersion, g.built.Round(time.Millisecond), g.path)
	} else {
		fmt.Fprintf(w, "binary:   %s (%s, %s)\n", g.path, s.Arch, s.GoVersion)
	}
	stripped := "symbols"
	if s.Stripped {
		stripped = "stripped"
	}
	fmt.Fprintf(w, "stop:     %s after %d instructions (%v)\n", r, s.Insns, elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "layout:   %s; g/m offsets from %s\n", stripped, s.OffsetsFrom)
	fmt.Fprintln(w)

	t := newTable(w)
	lo, hi := s.G0.StackLo, s.G0.StackHi
	t.addr("g0", s.G0.Addr, derived(s.G0.Addr, "runtime.g0"))
	t.addr("  stack.lo", lo, "")
	hiNote := ""
	if hi.Known {
		hiNote = rel(hi.Value, s.EntrySP, "entry SP")
		if lo.Known {
			hiNote += fmt.Sprintf("; hi − lo = %#x", uint64(hi.Value-lo.Value))
		}
	}
	t.addr("  stack.hi", hi, hiNote)
	for _, sg := range []struct {
		label string
		v     goruntime.Val[goruntime.Addr]
	}{{"  stackguard0", s.G0.StackGuard0}, {"  stackguard1", s.G0.StackGuard1}} {
		note := ""
		if sg.v.Known && lo.Known {
			note = rel(sg.v.Value, lo.Value, "lo")
		}
		t.addr(sg.label, sg.v, note)
	}
	t.addr("  m", s.G0.M, "")
	t.addr("m0", s.M0.Addr, derived(s.M0.Addr, "runtime.m0"))
	t.addr("  g0", s.M0.G0, "")
	t.addr("  curg", s.M0.CurG, "")
	t.addr("  gsignal", s.M0.GSignal, "")
	if v := s.M0.ProcID; v.Known {
		t.row("  procid", strconv.FormatUint(v.Value, 10))
	} else {
		t.row("  procid", "unavailable", "", v.Why)
	}
	t.addr("  tls", s.M0.TLSAddr, "")
	for i, v := range s.M0.TLS {
		t.addr(fmt.Sprintf("  tls[%d]", i), v, "")
	}
	t.row("variables")
	t.num("  argc", s.Argc, "")
	if v := s.Argv; v.Known {
		q := make([]string, len(v.Value))
		for i, a := range v.Value {
			q[i] = strconv.Quote(a)
		}
		note := "from " + v.From
		if s.ArgvAddr.Known {
			note = fmt.Sprintf("runtime.argv = %s (%s)", s.ArgvAddr.Value, rel(s.ArgvAddr.Value, s.EntrySP, "entry SP"))
			if s.ArgvAddr.From != "runtime.argv" {
				note = fmt.Sprintf("at %s (%s), %s", s.ArgvAddr.Value, rel(s.ArgvAddr.Value, s.EntrySP, "entry SP"), s.ArgvAddr.From)
			}
		}
		t.row("  argv", "["+strings.Join(q, " ")+"]", "", note)
	} else {
		t.row("  argv", "unavailable", "", v.Why)
	}
	t.num("  physPageSize", s.PhysPageSize, "")
	t.num("  ncpu", s.NCPU, "")
	t.num("  gomaxprocs", s.GOMAXPROCS, "")
	if v := s.IsCgo; v.Known {
		t.row("  iscgo", strconv.FormatBool(v.Value), "", v.From)
	} else {
		t.row("  iscgo", "unavailable", "", v.Why)
	}
	t.row("  entry SP", s.EntrySP.String(), "[stack]", "points at argc")

	for _, th := range s.Threads {
		tags := []string{th.State}
		if th.Main {
			tags = append([]string{"main"}, tags...)
		}
		t.row(fmt.Sprintf("thread %d", th.TID), strings.Join(tags, ", "))
		t.row("  pc", th.PC.String(), th.Func)
		spNote := ""
		if th.GStackLo.Known && th.GStackHi.Known {
			spNote = fmt.Sprintf("g's stack is [%s, %s)", th.GStackLo.Value, th.GStackHi.Value)
		}
		t.row("  sp", th.SP.String(), "", spNote)
		tlsName, gName := "fs_base", "r14"
		if s.Arch == "arm64" {
			tlsName, gName = "tpidr_el0", "x28"
		}
		t.row("  "+tlsName, th.TLSBase.String(), tlsSym(s, th))
		gNote := ""
		if !th.GRegLive {
			gNote = "not g in assembly"
		}
		t.addr("  "+gName, th.GReg, gNote)
		if s.Arch == "amd64" {
			t.addr("  *(fs_base-8)", th.TLSG, "")
		}
		t.addr("  g", th.G, gRole(th))
		mNote := ""
		if th.MProcID.Known {
			mNote = fmt.Sprintf("procid %d", th.MProcID.Value)
		}
		t.addr("  m", th.M, mNote)
	}
	t.flush()

	fmt.Fprintln(w)
	fmt.Fprintln(w, "checks")
	writeChecks(w, results, false)
}

// writeChecks prints the check results, or with failedOnly only the
// failures, and the count of each status.
func writeChecks(w io.Writer, results []goruntime.Result, failedOnly bool) {
	t := newTable(w)
	var n [3]int
	for _, res := range results {
		n[res.Status]++
		if failedOnly && res.Status != goruntime.Fail {
			continue
		}
		where := ""
		if res.TID != 0 {
			where = strconv.Itoa(res.TID)
		}
		t.row("  "+res.Status.String(), res.ID, where, res.Message)
	}
	t.flush()
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", n[goruntime.Pass], n[goruntime.Fail], n[goruntime.Skip])
}

// tlsSym names what the thread pointer points at when it is where the
// runtime puts it, just past m.tls[0] of the thread's m: "runtime.m0+0x88",
// or "m0.tls+0x8" and "g.m.tls+0x8" without symbols.
func tlsSym(s *goruntime.Snapshot, th goruntime.Thread) string {
	off := goruntime.Addr(s.Offsets.MTLS + 8)
	if th.TLSBase == 0 || !th.M.Known || th.TLSBase != th.M.Value+off {
		return ""
	}
	switch th.M.Sym {
	case "runtime.m0":
		return fmt.Sprintf("runtime.m0+%#x", uint64(off))
	case "m0":
		return "m0.tls+0x8"
	}
	return "g.m.tls+0x8"
}

// gRole says which of its m's goroutines the thread runs: "m0.curg",
// "m.g0".
func gRole(th goruntime.Thread) string {
	if !th.G.Known {
		return ""
	}
	m := "m."
	if th.Main {
		m = "m0."
	}
	switch g := th.G.Value; {
	case g == 0:
		return "none yet"
	case th.MG0.Known && g == th.MG0.Value:
		return m + "g0"
	case th.MCurG.Known && g == th.MCurG.Value:
		return m + "curg"
	case th.MGSignal.Known && g == th.MGSignal.Value:
		return m + "gsignal"
	}
	return ""
}
