package emu_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader/loadertest"
	"github.com/gorunemu/gorunemu/trace"
	"github.com/gorunemu/gorunemu/trace/tracetest"
)

// TestFaultsMatchLinux runs testdata/fault's four faults with signal
// delivery and compares them with the real thing: natively on an amd64
// host and under qemu-aarch64 for arm64. Go's handler turns each fault
// into its panic or fatal error, exit code 2; the report up to the first
// goroutine dump (whose heap addresses are randomized) must be the same
// byte for byte, and the nil dereference's whole output is. "recover"
// faults three times in a loop (where Unicorn's PC is from an older,
// chained block) and recovers each time.
func TestFaultsMatchLinux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures and runs them natively")
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "fault", a.Name)
			reference := referenceRunner(t, a)
			for _, what := range []string{"nil", "ud", "jump", "text", "mid", "recover"} {
				t.Run(what, func(t *testing.T) {
					var out, errOut bytes.Buffer
					rec := &tracetest.Recorder{}
					p := start(t, bin, emu.Config{Argv: []string{bin, what}, Stdout: &out, Stderr: &errOut,
						Trace: &emu.TraceOptions{Sink: rec}})
					r := runTo(t, p, emu.UntilExit())
					require.Equal(t, emu.StopExited, r.Kind, "%s\nstderr:\n%s", r, errOut.String())
					code, faults := 2, 1
					if what == "recover" {
						code, faults = 0, 3
					}
					assert.Equal(t, code, r.Code, "stderr:\n%s", errOut.String())
					assert.True(t, strings.HasPrefix(out.String(), "fault: "+what+"\n"), out.String())
					assert.Equal(t, faults, p.Stats().Signals)
					signals := rec.Of(trace.Signal)
					require.Len(t, signals, faults)
					for _, s := range signals {
						assert.Contains(t, s.Detail, "handler runtime.sigtramp")
					}

					if reference == nil {
						return
					}
					refCode, refOut, refErr := reference(bin, what)
					assert.Equal(t, refCode, r.Code)
					assert.Equal(t, refOut, out.String())
					want, got := report(refErr), report(errOut.String())
					if fix := knownDeviations[a.Name+"/"+what]; fix != nil {
						want = fix(want)
					}
					assert.Equal(t, want, got, "the fault report, up to the first goroutine")
					if what == "nil" || what == "recover" {
						assert.Equal(t, refErr, errOut.String())
					}
				})
			}
		})
	}
}

// knownDeviations adjust the reference's report where it is not Linux's
// or where gorunemu is known to differ.
var knownDeviations = map[string]func(string) string{
	// qemu-user reports an undefined instruction as ILL_ILLOPN; Linux's
	// arm64 do_undefinstr sends ILL_ILLOPC (1), as gorunemu does.
	"arm64/ud": func(s string) string { return strings.Replace(s, "sigcode=2", "sigcode=1", 1) },
}

// report is a Go fault report up to its first goroutine dump, with the
// M that took the signal ("m=2") left out: which thread runs the main
// goroutine depends on the host's scheduling (qemu-aarch64 printed m=0 on
// most runs here and m=2 on one); the emulator's is always the same.
func report(stderr string) string {
	if i := strings.Index(stderr, "\ngoroutine "); i >= 0 {
		stderr = stderr[:i+1]
	}
	return mRE.ReplaceAllString(stderr, " m=N ")
}

var mRE = regexp.MustCompile(` m=\d+ `)

// referenceRunner returns a function that runs a binary of arch a the
// way Linux does, or nil (after logging why) when this host cannot.
func referenceRunner(t *testing.T, a *arch.Arch) func(bin, arg string) (int, string, string) {
	var prefix []string
	switch {
	case a.Name == runtime.GOARCH && runtime.GOOS == "linux":
	case a == arch.ARM64:
		q, err := exec.LookPath("qemu-aarch64")
		if err != nil {
			t.Logf("no qemu-aarch64 (Debian qemu-user) to compare with: %v", err)
			return nil
		}
		prefix = []string{q}
	default:
		t.Logf("no way to run %s binaries here", a.Name)
		return nil
	}
	return func(bin, arg string) (int, string, string) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		argv := append(append(prefix, bin), arg)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = []string{}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("running %v: %v", argv, err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
	}
}

// TestStopOnFault: with StopOnFault the run stops at the fault, as
// before any handler runs, even though Go has one installed.
func TestStopOnFault(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "fault", a.Name)
			p := start(t, bin, emu.Config{Argv: []string{bin, "nil"}, StopOnFault: true})
			r := runTo(t, p, emu.UntilExit())
			require.Equal(t, emu.StopFault, r.Kind, "%s", r)
			assert.Equal(t, "main.deref", r.Symbol)
			assert.Equal(t, uint64(8), r.Fault.Addr)
			assert.Zero(t, p.Stats().Signals)

			// The stop is at the storing instruction itself, on arm64
			// too, where Unicorn leaves the PC at the block's start.
			p = start(t, bin, emu.Config{Argv: []string{bin, "text"}, StopOnFault: true})
			r = runTo(t, p, emu.UntilExit())
			require.Equal(t, emu.StopFault, r.Kind, "%s", r)
			code := make([]byte, 16)
			require.NoError(t, p.ReadMem(r.PC, code))
			asm, _ := trace.Disassemble(a.Name, code, r.PC, trace.SyntaxGo, nil)
			want := map[string]string{"amd64": "MOVB $0xcc, 0(AX)", "arm64": "MOVB R3, (R0)"}[a.Name]
			assert.Equal(t, want, asm, "the instruction at the fault's PC %#x", r.PC)
		})
	}
}

// TestSentSignals runs testdata/signals: sysmon's SIGURG (tgkill) must
// reach the spinning goroutine's thread for Go's asynchronous preemption,
// a SIGUSR1 the program sends itself with kill must reach os/signal, the
// collector's SIGURGs must leave goroutines intact, and a signal to a
// thread asleep in read(2) must interrupt and restart the read.
// Both finish as they do natively or under qemu-aarch64, and the same
// way every time.
func TestSentSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures")
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "signals", a.Name)
			reference := referenceRunner(t, a)
			for _, c := range []struct{ what, out, sig, how string }{
				{"preempt", "main ran again: the spinning goroutine was preempted\n", "SIGURG", "sent with tkill"},
				{"notify", "received: user defined signal 1\n", "SIGUSR1", "sent with kill"},
				// Found a bug: a signal frame saved the stale PC register
				// after a stop between chained blocks.
				{"gc", "[2546416 2546416 2546416 2546416]\n", "SIGURG", "sent with tkill"},
				// Without interrupting the blocked read this deadlocks; with
				// EINTR instead of the SA_RESTART restart, read fails.
				{"interrupt", "received: user defined signal 1\nread \"hello\", <nil>\n", "SIGUSR1", "read interrupted: restarts after the handler"},
			} {
				t.Run(c.what, func(t *testing.T) {
					var insns [2]uint64
					for i := range insns {
						var out, errOut bytes.Buffer
						rec := &tracetest.Recorder{}
						p := start(t, bin, emu.Config{Argv: []string{bin, c.what}, Stdout: &out, Stderr: &errOut,
							MaxInsns: 1e9, Trace: &emu.TraceOptions{Sink: rec}})
						r := runTo(t, p, emu.UntilExit())
						require.Equal(t, emu.StopExited, r.Kind, "%s\nstderr:\n%s", r, errOut.String())
						assert.Equal(t, 0, r.Code)
						assert.Equal(t, c.out, out.String())
						var seen bool
						for _, e := range rec.Of(trace.Signal) {
							if e.Name == c.sig && strings.Contains(e.Detail, c.how) {
								seen = true
							}
						}
						assert.True(t, seen, "a %s %s in the trace", c.sig, c.how)
						insns[i] = r.Insns
					}
					assert.Equal(t, insns[0], insns[1], "two runs, same instructions")
					if reference != nil {
						code, out, _ := reference(bin, c.what)
						assert.Equal(t, 0, code)
						assert.Equal(t, c.out, out)
					}
				})
			}
		})
	}
}
