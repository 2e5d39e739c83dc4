package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader"
)

// envFlag collects repeated --env K=V flags.
type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, " ") }

func (e *envFlag) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

// runOptions are the flags shared by the commands that run a guest.
type runOptions struct {
	until       string
	seed        uint64
	env         envFlag
	goarch      string
	archSet     bool // --arch was given
	maxInsns    optUint
	maxMem      optUint
	maxThreads  optUint
	timeout     optDuration
	strict      bool
	stopOnFault bool
	fsRoot      string
	sysroot     string
	gdb         string    // --gdb HOST:PORT
	reached     []string  // milestones, for gdb's "monitor milestones"
	log         io.Writer // gorunemu's own messages: the command's stderr
	// replay starts the guest afresh for gdb's reverse execution (nil:
	// not possible, as when it reads stdin or changes host files).
	replay func() (*emu.Process, error)
	// current is the process a gdb session ended with, when reverse
	// execution replaced the first one.
	current *emu.Process

	// ctx is the run's deadline (--timeout), made with the process so
	// that the guest's output cannot block past it either.
	ctx    context.Context
	cancel context.CancelFunc
}

// context returns the run's context, which ends at --timeout after its
// first call.
func (o *runOptions) context() context.Context {
	if o.ctx == nil {
		o.ctx, o.cancel = context.Background(), func() {}
		if t := o.limits().timeout; t > 0 {
			o.ctx, o.cancel = context.WithTimeout(o.ctx, t)
		}
	}
	return o.ctx
}

func (o *runOptions) register(fs *flag.FlagSet) {
	o.log = fs.Output()
	fs.StringVar(&o.until, "until", "main.main", "where to stop: main.main, a `SYMBOL` or SYMBOL+0xOFF (as traces print them), FILE:LINE, an address 0xADDR, or exit")
	fs.Uint64Var(&o.seed, "seed", emu.DefaultSeed, "seed for AT_RANDOM and getrandom: same seed, same run")
	fs.Var(&o.env, "env", "set an environment variable `KEY=VALUE` for the guest (repeatable; the guest starts with none)")
	o.goarch = "amd64"
	fs.Func("arch", "`GOARCH` to build a package directory for: amd64 or arm64 (default amd64)", func(v string) error {
		if v != "amd64" && v != "arm64" {
			return errors.New("want amd64 or arm64")
		}
		o.goarch, o.archSet = v, true
		return nil
	})
	fs.Var(&o.maxInsns, "max-insns", fmt.Sprintf("stop after `N` guest instructions (0: none; default %s)", defaultsHelp(func(l limits) string { return count(l.insns) })))
	fs.Var(&o.maxMem, "max-mem", fmt.Sprintf("stop when the guest maps more than `BYTES` of accessible memory (0: none; default %s)", defaultsHelp(func(l limits) string { return fmt.Sprintf("%d GiB", l.mem>>30) })))
	o.maxThreads.positive = true
	fs.Var(&o.maxThreads, "max-threads", fmt.Sprintf("stop when the guest runs more than `N` threads (default %s)", defaultsHelp(func(l limits) string { return count(l.threads) })))
	fs.Var(&o.timeout, "timeout", fmt.Sprintf("stop after `DURATION` of wall-clock time (0: none; default %s)", defaultsHelp(func(l limits) string {
		if l.timeout == 0 {
			return "none"
		}
		return l.timeout.String()
	})))
	fs.Func("fs-root", "let the guest read host `DIR` as its root filesystem, read-only (default: only the virtual /proc, /sys and /dev files)", func(v string) error {
		fi, err := os.Stat(v)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return errors.New("not a directory")
		}
		o.fsRoot = v
		return nil
	})
	fs.Func("sysroot", "host `DIR` holding a dynamically linked program's dynamic loader and libraries, shown to the guest read-only at /lib, /usr/lib and /etc/ld.so.cache (default: --fs-root if it holds them, else / for the host's arch, else /usr/aarch64-linux-gnu or /usr/x86_64-linux-gnu)", func(v string) error {
		fi, err := os.Stat(v)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return errors.New("not a directory")
		}
		o.sysroot = v
		return nil
	})
	fs.StringVar(&o.gdb, "gdb", "", "before the guest runs, wait for gdb on `HOST:PORT` (port 0: any) and let it debug the guest from its first instruction (target remote HOST:PORT); when gdb detaches the run goes on")
	fs.BoolVar(&o.strict, "strict", false, "stop at the first syscall gorunemu does not implement, instead of returning ENOSYS")
	fs.BoolVar(&o.stopOnFault, "stop-on-fault", false, "stop at a guest fault (exit 128+signal) even if the guest handles the signal, as gdb does (default: deliver it as Linux does; Go panics)")
}

// limits are the bounds a run stops at.
type limits struct {
	insns, mem, threads uint64 // 0 insns: no instruction limit
	timeout             time.Duration
}

// The defaults depend on the stop. A run to main.main or another symbol
// is startup, which takes a few hundred thousand instructions; one that
// takes billions or a minute is a runaway, and stops early. A run to exit
// is a whole program, which runs as long as it runs, as natively or under
// qemu-user (Ctrl-C stops it); memory and threads stay bounded because
// they are the host's: 8 GiB, and Go's own default thread limit, so a Go
// program meets its runtime's limit first.
var (
	startupLimits = limits{insns: emu.DefaultMaxInsns, mem: 1 << 30, threads: emu.DefaultMaxThreads, timeout: time.Minute}
	programLimits = limits{insns: 0, mem: 8 << 30, threads: 10000, timeout: 0}
)

func defaultsHelp(show func(limits) string) string {
	return show(startupLimits) + " to a symbol, " + show(programLimits) + " to exit"
}

func count(n uint64) string {
	if n == 0 {
		return "none"
	}
	return fmt.Sprint(n)
}

// limits returns the bounds of this run: the flags given, and the
// defaults for the stop asked for.
func (o *runOptions) limits() limits {
	l := startupLimits
	if o.until == "exit" {
		l = programLimits
	}
	if o.maxInsns.set {
		l.insns = o.maxInsns.v
	}
	if o.maxMem.set {
		l.mem = o.maxMem.v
	}
	if o.maxThreads.set {
		l.threads = o.maxThreads.v
	}
	if o.gdb != "" {
		l.timeout = 0 // a debugging session takes what it takes
	}
	if o.timeout.set {
		l.timeout = o.timeout.v
	}
	return l
}

// optUint and optDuration are flag values that know whether they were
// given, so that a default can depend on other flags.
type optUint struct {
	v        uint64
	set      bool
	positive bool // 0 is not a value (a limit of no threads)
}

func (f *optUint) String() string {
	if !f.set {
		return ""
	}
	return fmt.Sprint(f.v)
}

func (f *optUint) Set(s string) error {
	v, err := strconv.ParseUint(s, 0, 64)
	switch {
	case err != nil && f.positive, err == nil && v == 0 && f.positive:
		return errors.New("want a positive integer")
	case err != nil:
		return errors.New("want a non-negative integer")
	}
	f.v, f.set = v, true
	return nil
}

type optDuration struct {
	v   time.Duration
	set bool
}

func (f *optDuration) String() string {
	if !f.set {
		return ""
	}
	return f.v.String()
}

func (f *optDuration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return errors.New("want a duration such as 30s or 5m, or 0 for none")
	}
	f.v, f.set = v, true
	return nil
}

// guest is a binary ready to run, and what it took to get it.
type guest struct {
	path   string
	source string        // the package directory it was built from, if any
	built  time.Duration // time spent building it
}

// display is how the guest is named in output: the package directory it
// was built from, or its path.
func (g guest) display() string {
	if g.source != "" {
		return g.source
	}
	return g.path
}

// resolveBinary builds target if it is a package directory.
func (o *runOptions) resolveBinary(target string) (guest, int, error) {
	if !isPackageDir(target) {
		return guest{path: target}, 0, nil
	}
	start := time.Now()
	bin, err := buildPackage(target, o.goarch)
	if err != nil {
		return guest{}, exitNoInput, err
	}
	return guest{path: bin, source: target, built: time.Since(start)}, 0, nil
}

// openImage loads the guest binary, with the exit code for failures. A
// binary of another arch than --arch asked for is a usage error: --arch
// chooses how to build a package directory and cannot change a binary.
func (o *runOptions) openImage(path string) (*loader.Image, int, error) {
	img, err := loader.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return nil, exitNoInput, err
		}
		if strings.HasSuffix(path, ".go") {
			err = fmt.Errorf("%w (to build and run a Go program, pass its package directory: gorunemu run %s)", err, filepath.Dir(path))
		}
		return nil, exitBadInput, err
	}
	if o.archSet && img.Arch.Name != o.goarch {
		return nil, exitUsage, fmt.Errorf("--arch %s: %s is a linux/%s binary; --arch only chooses how to build a package directory", o.goarch, path, img.Arch.Name)
	}
	return img, 0, nil
}

// dynamicHint says what to do when a dynamically linked program's
// loader cannot be found or used: where its libraries could come from, and
// that a Go program can be rebuilt static instead.
func dynamicHint(img *loader.Image, ie *emu.InterpError) string {
	var b strings.Builder
	if ie.Sysroot == "" {
		fmt.Fprintf(&b, "hint: the program needs the %s C library; ", img.Arch.Name)
		if img.Arch.Name == runtime.GOARCH {
			b.WriteString("install it (apt-get install libc6) or pass --sysroot DIR")
		} else {
			fmt.Fprintf(&b, "install Debian's cross libraries (apt-get install libc6-%s-cross, in /usr/%s-linux-gnu) or pass --sysroot DIR", img.Arch.Name, img.Arch.Machine)
		}
		b.WriteString(" naming a root that holds " + ie.Interp)
	} else {
		fmt.Fprintf(&b, "hint: pass --sysroot DIR naming a root that holds %s and the program's libraries for %s", ie.Interp, img.Arch.Name)
	}
	if img.GoVersion != "" {
		fmt.Fprintf(&b, "; or, as a Go program (%s), rebuild it static with CGO_ENABLED=0 go build, or pass its package directory, which gorunemu builds that way", img.GoVersion)
	}
	return b.String()
}

// newProcess prepares img to run with the options; args follow argv[0].
func (o *runOptions) newProcess(img *loader.Image, args []string, stdout, stderr io.Writer, tr *emu.TraceOptions) (*emu.Process, int, error) {
	argv := append([]string{"./" + baseName(img.Path)}, args...)
	return o.newProcessWith(img, argv, stdout, stderr, func(c *emu.Config) { c.Trace = tr })
}

// newProcessWith prepares img to run with the options and argv, after
// adjust has changed what the options do not say.
func (o *runOptions) newProcessWith(img *loader.Image, argv []string, stdout, stderr io.Writer, adjust func(*emu.Config)) (*emu.Process, int, error) {
	l := o.limits()
	maxInsns := l.insns
	if maxInsns == 0 {
		maxInsns = math.MaxUint64
	}
	maxThreads := int(min(l.threads, math.MaxInt32))
	cfg := emu.Config{
		Argv:        argv,
		Env:         o.env,
		Seed:        o.seed,
		Stdout:      newDeadlineWriter(o.context(), stdout),
		Stderr:      newDeadlineWriter(o.context(), stderr),
		MaxInsns:    maxInsns,
		MaxMem:      l.mem,
		MaxThreads:  maxThreads,
		Strict:      o.strict,
		StopOnFault: o.stopOnFault,
		FSRoot:      o.fsRoot,
		Sysroot:     o.sysroot,
	}
	adjust(&cfg)
	if o.gdb != "" && cfg.Trace == nil {
		// For "monitor milestones".
		cfg.Trace = &emu.TraceOptions{Milestones: goruntime.StartupPath(img.Arch), Sink: &milestoneLog{o}}
		o.replay = replayer(img, cfg, o)
	}
	var p *emu.Process
	var err error
	if o.replay != nil {
		p, err = o.replay()
	} else {
		p, err = emu.New(img, cfg)
	}
	if err != nil {
		var ie *emu.InterpError
		if errors.As(err, &ie) {
			return nil, exitBadInput, fmt.Errorf("%w\n%s", err, dynamicHint(img, ie))
		}
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return nil, exitNoInput, err
		}
		return nil, exitInternal, err
	}
	return p, 0, nil
}

// open loads the guest binary and prepares it to run.
func (o *runOptions) open(g guest, args []string, stdout, stderr io.Writer) (*emu.Process, int, error) {
	img, code, err := o.openImage(g.path)
	if err != nil {
		return nil, code, err
	}
	return o.newProcess(img, args, stdout, stderr, nil)
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// execute runs p to the stop the options ask for, with the timeout; with
// --gdb, gdb drives it first (the timeout starts when gdb lets go).
func (o *runOptions) execute(p *emu.Process) (*emu.StopReason, error) {
	until, err := emu.ParseUntil(o.until)
	if err != nil {
		return nil, fmt.Errorf("--until: %w: %w", errBadUntil, err)
	}
	if o.gdb != "" {
		r, err := o.serveGDB(p, o.log)
		if r != nil || err != nil {
			return r, err
		}
		p = o.active(p)
	}
	ctx := o.context()
	defer o.cancel()
	return p.Run(ctx, until)
}

var errBadUntil = errors.New("bad stop")

// parseArgs parses a guest command's flags and checks that a BINARY or
// PKGDIR follows them. Asked for with -h, the help goes to stdout; after
// a usage error, to stderr. It returns BINARY and the guest's arguments,
// or the exit code to stop with.
//
// A flag of gorunemu's own among the guest's arguments is refused rather
// than passed on (gorunemu run ./prog --until exit is a mistake, not a
// request), unless "--" after BINARY says that what follows is the
// guest's; that "--" is dropped.
func parseArgs(fs *flag.FlagSet, args []string, usage func(io.Writer), stdout, stderr io.Writer) (guestArgs []string, code int, ok bool) {
	fs.SetOutput(stderr)
	fs.Usage = func() {} // printed below, to the right stream
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return nil, exitOK, false
		}
		usage(stderr)
		return nil, exitUsage, false
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "gorunemu %s: missing BINARY or PKGDIR\n", fs.Name())
		usage(stderr)
		return nil, exitUsage, false
	}
	guestArgs = fs.Args()
	for i, a := range guestArgs[1:] {
		if a == "--" {
			return append(guestArgs[:i+1:i+1], guestArgs[i+2:]...), 0, true
		}
		if name, ok := flagName(a); ok && fs.Lookup(name) != nil {
			fmt.Fprintf(stderr, "gorunemu %s: %s comes after %s: gorunemu's flags go before BINARY; to pass it to the guest, put -- before the guest's arguments\n", fs.Name(), a, guestArgs[0])
			return nil, exitUsage, false
		}
	}
	return guestArgs, 0, true
}

// flagName returns the name of a command-line flag written -name,
// --name or --name=value.
func flagName(arg string) (string, bool) {
	if len(arg) < 2 || arg[0] != '-' {
		return "", false
	}
	name := strings.TrimPrefix(arg[1:], "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		name = name[:i]
	}
	return name, name != "" && name[0] != '-'
}

// runFailed reports an error from running the guest and returns the exit
// code: a stop that names no symbol is the user's mistake, the rest ours.
func runFailed(err error, stderr io.Writer) int {
	fmt.Fprintf(stderr, "gorunemu: %v\n", err)
	if errors.Is(err, emu.ErrNoSymbol) || errors.Is(err, errBadUntil) {
		return exitUsage
	}
	return exitInternal
}

// abnormal reports whether r is not what the run asked for: neither the
// --until stop nor, with --until exit, the guest exiting.
func (o *runOptions) abnormal(r *emu.StopReason) bool {
	return r.Kind != emu.StopUntil && !(r.Kind == emu.StopExited && o.until == "exit")
}

// notReached says, when the guest ended before the stop asked for, that
// it was never reached.
func (o *runOptions) notReached(r *emu.StopReason) string {
	if o.until == "exit" || (r.Kind != emu.StopExited && r.Kind != emu.StopKilled) {
		return ""
	}
	return fmt.Sprintf(", before reaching --until %s", o.until)
}

// limitFlag names the flag whose limit r reached, as "--timeout=1s: ".
func (o *runOptions) limitFlag(r *emu.StopReason) string {
	l := o.limits()
	switch r.Kind {
	case emu.StopInsnLimit:
		return fmt.Sprintf("--max-insns=%d: ", l.insns)
	case emu.StopMemLimit:
		return fmt.Sprintf("--max-mem=%d: ", l.mem)
	case emu.StopThreadLimit:
		return fmt.Sprintf("--max-threads=%d: ", l.threads)
	case emu.StopTimeout:
		return fmt.Sprintf("--timeout=%v: ", l.timeout)
	case emu.StopUnimplemented:
		return "--strict: "
	}
	return ""
}

// exitCode maps how the run ended to gorunemu's exit status.
func (o *runOptions) exitCode(r *emu.StopReason) int {
	untilExit := o.until == "exit"
	switch r.Kind {
	case emu.StopUntil:
		return exitOK
	case emu.StopExited:
		if untilExit {
			return r.Code & 0xff
		}
		return exitNotReach
	case emu.StopKilled:
		return 128 + r.Signal
	case emu.StopFault:
		return 128 + r.Fault.Signal
	case emu.StopDeadlock:
		return exitDeadlock
	case emu.StopInsnLimit:
		return exitInsns
	case emu.StopMemLimit:
		return exitMem
	case emu.StopThreadLimit:
		return exitThreads
	case emu.StopCanceled, emu.StopTimeout:
		return exitTimeout
	case emu.StopUnimplemented:
		return exitInternal
	}
	return exitInternal
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o runOptions
	o.register(fs)
	quiet := fs.Bool("q", false, "print no summary")
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: gorunemu run [flags] BINARY|PKGDIR [ARGS...]\n\n"+
			"Runs the guest to --until and prints a summary: to stdout, or to stderr\n"+
			"with --until exit, where the guest's own stdout and stderr pass through.\n"+
			"Flags must come before BINARY; what follows it is the guest's argv\n"+
			"(after --, also words that look like gorunemu's flags).\n\nFlags:\n")
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
	// The guest's output passes through only when it runs to the end.
	guestOut, guestErr, summary := io.Discard, io.Discard, stdout
	if o.until == "exit" {
		guestOut, guestErr, summary = stdout, stderr, stderr
	}
	p, code, err := o.open(g, guestArgs[1:], guestOut, guestErr)
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu: %v\n", err)
		return code
	}
	defer p.Close()
	start := time.Now()
	r, err := o.execute(p)
	if q := o.active(p); q != p {
		defer q.Close() // the replay a gdb session ended with
		p = q
	}
	elapsed := time.Since(start)
	if err != nil {
		return runFailed(err, stderr)
	}
	if !*quiet {
		printSummary(summary, p, r, g, elapsed)
	}
	if o.abnormal(r) {
		fmt.Fprintf(stderr, "gorunemu: %s%s%s\n", o.limitFlag(r), r, o.notReached(r))
	}
	return o.exitCode(r)
}

// printSummary writes the run's outcome as aligned "key: value" lines.
func printSummary(w io.Writer, p *emu.Process, r *emu.StopReason, g guest, elapsed time.Duration) {
	img := p.Image()
	st := p.Stats()
	live := 0
	for _, t := range p.Threads() {
		if t.State() != emu.Exited {
			live++
		}
	}
	version := img.GoVersion
	if version == "" {
		version = "not a Go binary"
	}
	if g.source != "" {
		fmt.Fprintf(w, "binary:    %s (%s, %s; built in %v to %s)\n", g.source, p.Arch().Name, version, g.built.Round(time.Millisecond), g.path)
	} else {
		fmt.Fprintf(w, "binary:    %s (%s, %s)\n", g.path, p.Arch().Name, version)
	}
	fmt.Fprintf(w, "stop:      %s\n", r)
	if len(r.Backtrace) > 0 && r.Kind != emu.StopUntil {
		fmt.Fprintf(w, "called by: %s\n", strings.Join(r.Backtrace, " <- "))
	}
	fmt.Fprintf(w, "insns:     %d\n", st.Insns)
	unimpl := "none unimplemented"
	if len(st.Unimplemented) > 0 {
		var names []string
		for n, c := range st.Unimplemented {
			names = append(names, fmt.Sprintf("%s×%d", n, c))
		}
		sort.Strings(names)
		unimpl = "unimplemented: " + strings.Join(names, " ")
	}
	fmt.Fprintf(w, "syscalls:  %d (%s)\n", st.Syscalls, unimpl)
	fmt.Fprintf(w, "threads:   %d created, %d live\n", st.Threads, live)
	if st.Processes > 0 {
		fmt.Fprintf(w, "processes: %d started, %d instructions in all\n", st.Processes, st.AllInsns)
	}
	guest := time.Duration(st.AllInsns) + st.Slept
	fmt.Fprintf(w, "time:      %v (guest clock %v, %v of it asleep)\n", elapsed.Round(time.Millisecond), guest.Round(time.Microsecond), st.Slept.Round(time.Microsecond))
	if peak, ok := hostPeakRSS(); ok {
		fmt.Fprintf(w, "memory:    %d MiB of host memory at the peak (gorunemu's whole process)\n", peak>>20)
	}
}

// hostPeakRSS returns this process's peak resident set (VmHWM). Unlike
// getrusage's ru_maxrss it does not count what the process's parent held
// before the exec that started it.
func hostPeakRSS() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kib, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kib << 10, err == nil
		}
	}
	return 0, false
}
