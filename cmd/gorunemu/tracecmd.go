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

func traceCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o runOptions
	o.register(fs)
	var calls callsFlag
	var watches listFlag
	milestones := fs.Bool("milestones", true, "report the startup milestones")
	fs.Var(&calls, "calls", "report every function entry and return; `--calls=FILTER` keeps a package or regexp")
	syscallsOn := fs.Bool("syscalls", false, "report every syscall, strace-style")
	insns := fs.Bool("insns", false, "report every instruction with its disassembly")
	regs := fs.Bool("regs", false, "with --insns, add the registers each instruction changed")
	syntax := fs.String("syntax", "go", "disassembly syntax: go, gnu or intel")
	fs.Var(&watches, "watch", "report stores into `SYMBOL[.FIELD][:SIZE]` or 0xADDR:SIZE (repeatable)")
	format := fs.String("format", "text", "output format: text, jsonl, perfetto or pprof")
	out := fs.String("o", "", "write the trace to `FILE` instead of stdout; FILE.gz or FILE.zst compresses it")
	maxBytes := fs.Uint64("max-trace-bytes", defaultMaxTraceBytes, "stop when the trace reaches `BYTES`, before any compression (0: no limit)")
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
	if *regs && !*insns {
		fmt.Fprintln(stderr, "gorunemu trace: --regs shows the registers each instruction changed: it needs --insns")
		return exitUsage
	}
	syn, err := trace.ParseSyntax(*syntax)
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu trace: --syntax: %v\n", err)
		return exitUsage
	}
	filter, err := calls.match()
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu trace: %v\n", err)
		return exitUsage
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
	ws, err := parseWatches(img, watches)
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu trace: %v\n", err)
		return exitUsage
	}

	w := stdout
	guestOut := stderr
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "gorunemu trace: %v\n", err)
			return exitNoInput
		}
		defer f.Close()
		w, guestOut = f, stdout
	}
	tout, err := newTraceOutput(w, *out, *maxBytes)
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu trace: %v\n", err)
		return exitInternal
	}
	w = tout
	var sink trace.Sink
	switch *format {
	case "text":
		sink = trace.NewText(w)
	case "jsonl":
		sink = trace.NewJSONL(w)
	case "perfetto":
		sink = trace.NewPerfetto(w)
	case "pprof":
		sink = trace.NewPprof(w)
		calls.on, filter = true, nil // a profile needs every call
	default:
		fmt.Fprintf(stderr, "gorunemu trace: --format %q: want text, jsonl, perfetto or pprof\n", *format)
		return exitUsage
	}
	opts := &emu.TraceOptions{
		Sink:       sink,
		Milestones: *milestones,
		Calls:      calls.on,
		CallFilter: filter,
		Syscalls:   *syscallsOn,
		Insns:      *insns,
		Regs:       *regs,
		Syntax:     syn,
		Watches:    ws,
		Binary:     g.display(),
	}
	// The progress line shares a terminal with the trace only if the trace
	// goes to stdout; then it stays off.
	progress := newProgress(stderr, *out != "" || !isTerminal(stdout))
	opts.Progress = progress.update

	p, code, err := o.newProcess(img, guestArgs[1:], guestOut, guestOut, nil, opts)
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu: %v\n", err)
		return code
	}
	defer p.Close()
	r, err := o.execute(p)
	progress.clear()
	if cerr := sink.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing the trace: %w", cerr)
	}
	if cerr := tout.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing the trace: %w", cerr)
	}
	if errors.Is(err, errTraceFull) {
		fmt.Fprintf(stderr, "gorunemu trace: --max-trace-bytes=%d: the trace reached %d bytes after %d instructions and stops there; narrow it (--calls=FILTER, --until, fewer levels) or raise the limit (0: none)\n",
			*maxBytes, tout.n, p.Stats().Insns)
		return exitTraceMax
	}
	if err != nil {
		return runFailed(err, stderr)
	}
	if *out != "" {
		fmt.Fprintf(stderr, "gorunemu: %s; trace in %s\n", r, *out)
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
		if err != nil && img.Stripped {
			// Without symbols and DWARF, g0 and m0 are still found the
			// way inspect finds them.
			var serr error
			if f, serr = goruntime.StaticField(img, name); serr != nil {
				return nil, fmt.Errorf("--watch %s: the binary is stripped, and %v: watch an address instead", s, serr)
			}
			err = nil
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
