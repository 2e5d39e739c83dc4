package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/trace"
)

// callsFlag is --calls (every call) or --calls=FILTER.
type callsFlag struct {
	on     bool
	filter string
}

func (c *callsFlag) String() string   { return c.filter }
func (c *callsFlag) IsBoolFlag() bool { return true }

func (c *callsFlag) Set(v string) error {
	switch v {
	case "true":
		c.on, c.filter = true, ""
	case "false":
		c.on, c.filter = false, ""
	default:
		c.on, c.filter = true, v
	}
	return nil
}

// match returns the filter as a predicate: a package ("runtime" matches
// runtime.main, not runtime/debug.Stack) or a regular expression.
func (c *callsFlag) match() (func(string) bool, error) {
	if c.filter == "" {
		return nil, nil
	}
	re, err := regexp.Compile(c.filter)
	if err != nil {
		return nil, fmt.Errorf("--calls=%s: %w", c.filter, err)
	}
	pkg := c.filter + "."
	return func(fn string) bool {
		return strings.HasPrefix(fn, pkg) || re.MatchString(fn)
	}, nil
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

const traceUsage = `Usage: gorunemu trace [flags] BINARY|PKGDIR [ARGS...]

Runs the guest to --until (main.main by default) and writes a trace of the
startup. Without other levels it shows milestones: the first entry into
each function of the startup path, with what happened there. Levels add up.
The trace goes to stdout (or -o FILE); the guest's own output goes to
stderr when the trace uses stdout. Flags must come before BINARY.

Flags:
`

// traceFlags are the trace levels and output flags, shared by trace and
// exec.
type traceFlags struct {
	calls      callsFlag
	watches    listFlag
	milestones *bool
	goroutines *bool
	syscalls   *bool
	insns      *bool
	regs       *bool
	syntax     *string
	format     *string
	out        *string
	maxBytes   *uint64
}

func (tf *traceFlags) register(fs *flag.FlagSet, milestones bool) {
	tf.milestones = fs.Bool("milestones", milestones, "report the startup milestones")
	fs.Var(&tf.calls, "calls", "report every function entry and return; `--calls=FILTER` keeps a package or regexp")
	tf.goroutines = fs.Bool("goroutines", true, "with --calls, keep a call stack per goroutine and report each switch (false: per thread)")
	tf.syscalls = fs.Bool("syscalls", false, "report every syscall, strace-style")
	tf.insns = fs.Bool("insns", false, "report every instruction with its disassembly")
	tf.regs = fs.Bool("regs", false, "with --insns, add the registers each instruction changed")
	tf.syntax = fs.String("syntax", "go", "disassembly syntax: go, gnu or intel")
	fs.Var(&tf.watches, "watch", "report stores into `SYMBOL[.FIELD][:SIZE]` or 0xADDR:SIZE (repeatable)")
	tf.format = fs.String("format", "text", "output format: text, jsonl, perfetto or pprof")
	tf.out = fs.String("o", "", "write the trace to `FILE` instead of stdout; FILE.gz or FILE.zst compresses it")
	tf.maxBytes = fs.Uint64("max-trace-bytes", defaultMaxTraceBytes, "stop when the trace reaches `BYTES`, before any compression (0: no limit)")
}

// any reports whether a level other than milestones is on.
func (tf *traceFlags) any() bool {
	return tf.calls.on || *tf.syscalls || *tf.insns || len(tf.watches) > 0
}

// tracing is a trace being written: its options for the run and what
// finish closes.
type tracing struct {
	tf    *traceFlags
	opts  *emu.TraceOptions
	sink  trace.Sink
	tout  *traceOutput
	file  *os.File
	guest io.Writer // where the guest's stdout and stderr go
	prog  *progress
}

// start checks the flags and opens the trace on -o FILE or stdout
// for img; errors come with the exit code. The guest's own output goes
// to stderr when the trace takes stdout.
func (tf *traceFlags) start(img *loader.Image, display string, stdout, stderr io.Writer) (*tracing, int, error) {
	if *tf.regs && !*tf.insns {
		return nil, exitUsage, errors.New("--regs shows the registers each instruction changed: it needs --insns")
	}
	syn, err := trace.ParseSyntax(*tf.syntax)
	if err != nil {
		return nil, exitUsage, fmt.Errorf("--syntax: %w", err)
	}
	filter, err := tf.calls.match()
	if err != nil {
		return nil, exitUsage, err
	}
	ws, err := parseWatches(img, tf.watches)
	if err != nil {
		return nil, exitUsage, err
	}
	tr := &tracing{tf: tf, guest: stderr}
	w := stdout
	if *tf.out != "" {
		f, err := os.Create(*tf.out)
		if err != nil {
			return nil, exitNoInput, err
		}
		tr.file, w, tr.guest = f, f, stdout
	}
	fail := func(code int, err error) (*tracing, int, error) {
		if tr.file != nil {
			tr.file.Close()
		}
		return nil, code, err
	}
	if tr.tout, err = newTraceOutput(w, *tf.out, *tf.maxBytes); err != nil {
		return fail(exitInternal, err)
	}
	w = tr.tout
	calls := tf.calls.on
	switch *tf.format {
	case "text":
		tr.sink = trace.NewText(w)
	case "jsonl":
		tr.sink = trace.NewJSONL(w)
	case "perfetto":
		tr.sink = trace.NewPerfetto(w)
	case "pprof":
		tr.sink = trace.NewPprof(w)
		calls, filter = true, nil // a profile needs every call
	default:
		return fail(exitUsage, fmt.Errorf("--format %q: want text, jsonl, perfetto or pprof", *tf.format))
	}
	tr.opts = &emu.TraceOptions{
		Sink:       tr.sink,
		Calls:      calls,
		CallFilter: filter,
		Syscalls:   *tf.syscalls,
		Insns:      *tf.insns,
		Regs:       *tf.regs,
		Syntax:     syn,
		Watches:    ws,
		Binary:     display,
	}
	if *tf.milestones {
		tr.opts.Milestones = goruntime.StartupPath(img.Arch)
	}
	if calls && *tf.goroutines && img.GoVersion != "" {
		if tr.opts.Goroutines, err = goruntime.Goroutines(img); err != nil {
			fmt.Fprintf(stderr, "gorunemu: calls are followed per thread, not per goroutine: %v\n", err)
		}
	}
	// The progress line shares a terminal with the trace only if the trace
	// goes to stdout; then it stays off.
	tr.prog = newProgress(stderr, *tf.out != "" || !isTerminal(stdout))
	tr.opts.Progress = tr.prog.update
	return tr, 0, nil
}

// finish closes the trace after the run, whose error it is given, and
// returns the error that matters.
func (tr *tracing) finish(err error) error {
	tr.prog.clear()
	if cerr := tr.sink.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing the trace: %w", cerr)
	}
	if cerr := tr.tout.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing the trace: %w", cerr)
	}
	if tr.file != nil {
		if cerr := tr.file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing the trace: %w", cerr)
		}
	}
	return err
}

// full reports a trace that reached --max-trace-bytes and returns the
// exit code.
func (tr *tracing) full(cmd string, p *emu.Process, stderr io.Writer) int {
	fmt.Fprintf(stderr, "gorunemu %s: --max-trace-bytes=%d: the trace reached %d bytes after %d instructions and stops there; narrow it (--calls=FILTER, --until, fewer levels) or raise the limit (0: none)\n",
		cmd, *tr.tf.maxBytes, tr.tout.n, p.Stats().Insns)
	return exitTraceMax
}

func traceCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o runOptions
	o.register(fs)
	var tf traceFlags
	tf.register(fs, true)
	usage := func(w io.Writer) {
		fmt.Fprint(w, traceUsage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fmt.Fprint(w, exitCodesHelp)
	}
	guestArgs, code, ok := parseArgs(fs, args, usage, stdout, stderr)
	if !ok {
		return code
	}
	g, code, err := o.resolveBinary(guestArgs[0])
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu: %v\n", err)
		return code
	}
	img, code, err := o.openImage(g.path)
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu: %v\n", err)
		return code
	}
	tr, code, err := tf.start(img, g.display(), stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu trace: %v\n", err)
		return code
	}
	p, code, err := o.newProcess(img, guestArgs[1:], tr.guest, tr.guest, tr.opts)
	if err != nil {
		tr.finish(nil)
		fmt.Fprintf(stderr, "gorunemu: %v\n", err)
		return code
	}
	defer p.Close()
	r, err := o.execute(p)
	if q := o.active(p); q != p {
		defer q.Close() // the replay a gdb session ended with
		p = q
	}
	err = tr.finish(err)
	if errors.Is(err, errTraceFull) {
		return tr.full("trace", p, stderr)
	}
	if err != nil {
		return runFailed(err, stderr)
	}
	switch {
	case *tf.out != "":
		fmt.Fprintf(stderr, "gorunemu: %s%s; trace in %s\n", r, o.notReached(r), *tf.out)
	case o.notReached(r) != "":
		fmt.Fprintf(stderr, "gorunemu: %s%s\n", r, o.notReached(r))
	}
	return o.exitCode(r)
}

// parseWatches resolves --watch specs: SYMBOL[.FIELD...][:SIZE] (a
// variable from the symbol table, or a field of it through DWARF, its whole
// size by default) or 0xADDR:SIZE.
func parseWatches(img *loader.Image, specs []string) ([]emu.Watch, error) {
	var out []emu.Watch
	for _, s := range specs {
		name, sizeText, hasSize := strings.Cut(s, ":")
		var size uint64
		if hasSize {
			v, err := strconv.ParseUint(sizeText, 0, 64)
			if err != nil || v == 0 {
				return nil, fmt.Errorf("--watch %s: bad size %q", s, sizeText)
			}
			size = v
		}
		if strings.HasPrefix(name, "0x") {
			addr, err := strconv.ParseUint(name[2:], 16, 64)
			if err != nil {
				return nil, fmt.Errorf("--watch %s: bad address: %w", s, err)
			}
			if !hasSize {
				return nil, fmt.Errorf("--watch %s: an address needs a size (0xADDR:SIZE)", s)
			}
			out = append(out, emu.Watch{Addr: addr, Size: size})
			continue
		}
		f, err := img.LookupField(name)
		if err != nil {
			// Without symbols or usable DWARF, g0 and m0 are still found
			// the way inspect finds them.
			sf, serr := goruntime.StaticField(img, name)
			switch {
			case serr == nil:
				f, err = sf, nil
			case img.Stripped:
				return nil, fmt.Errorf("--watch %s: the binary is stripped, and %v: watch an address instead", s, serr)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("--watch %s: %w", s, err)
		}
		if !hasSize {
			size = f.Size
		}
		out = append(out, emu.Watch{Addr: f.Addr, Size: size, Label: name})
	}
	return out, nil
}

// progress prints a line on stderr while a trace runs, if stderr is a
// terminal and the trace has taken more than a second.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time
	shown bool
}

// newProgress shows progress on w if w is a terminal and allowed says the
// trace does not go to the same terminal.
func newProgress(w io.Writer, allowed bool) *progress {
	return &progress{w: w, tty: allowed && isTerminal(w), start: time.Now()}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *progress) update(s emu.Stats) {
	if !p.tty || time.Since(p.start) < time.Second {
		return
	}
	p.shown = true
	fmt.Fprintf(p.w, "\r\033[Kgorunemu: %d instructions, %d syscalls, %d threads, %s",
		s.Insns, s.Syscalls, s.Threads, time.Since(p.start).Round(100*time.Millisecond))
}

func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
