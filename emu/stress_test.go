package emu_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
	"github.com/gorunemu/gorunemu/syscalls"
	"github.com/gorunemu/gorunemu/trace"
)

// TestManyAtOnce runs 32 emulations concurrently, both arches mixed, each
// with its own output, and checks that none sees another's.
func TestManyAtOnce(t *testing.T) {
	const n = 32
	imgs := map[string]*loader.Image{}
	for _, a := range arch.All() {
		img, err := loader.Open(loadertest.Build(t, "args", a.Name))
		require.NoError(t, err)
		imgs[a.Name] = img
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			a := arch.All()[i%2]
			var out bytes.Buffer
			p, err := emu.New(imgs[a.Name], emu.Config{
				Argv:   []string{"./args", strconv.Itoa(i)},
				Env:    []string{fmt.Sprintf("GORUNEMU_TEST=%d", i)},
				Seed:   uint64(i + 1),
				Stdout: &out,
			})
			if err != nil {
				errs[i] = err
				return
			}
			defer p.Close()
			r, err := p.Run(context.Background(), emu.UntilExit())
			switch {
			case err != nil:
				errs[i] = err
			case r.Kind != emu.StopExited || r.Code != 0:
				errs[i] = fmt.Errorf("run %d (%s): %s", i, a.Name, r)
			case out.String() != fmt.Sprintf("arg[0]=./args\narg[1]=%d\nGORUNEMU_TEST=%d\n", i, i):
				errs[i] = fmt.Errorf("run %d (%s) printed %q", i, a.Name, out.String())
			}
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
}

// TestMemoryReturnsAfterClose runs the hello fixture to main.main many
// times in a row and checks that the process's resident memory stops
// growing: Close gives back the engine and the guest's memory. RSS moves
// by megabytes either way as the Go and C heaps settle, so it is sampled
// every ten runs and the growth counted from the highest early sample to
// the lowest late one: a leaked guest address space or engine, megabytes
// per run, still shows. Set GORUNEMU_LONG=1 for the full 1000 runs.
func TestMemoryReturnsAfterClose(t *testing.T) {
	runs := 120
	if os.Getenv("GORUNEMU_LONG") != "" {
		runs = 1000
	}
	img, err := loader.Open(loadertest.Build(t, "hello", "amd64"))
	require.NoError(t, err)
	once := func() {
		p, err := emu.New(img, emu.Config{})
		require.NoError(t, err)
		r, err := p.Run(context.Background(), emu.UntilSymbol("main.main"))
		require.NoError(t, err)
		require.Equal(t, emu.StopUntil, r.Kind)
		require.NoError(t, p.Close())
	}
	const every, window = 10, 3
	var samples []int64 // KiB, after warm-up and then every ten runs
	for i := 1; i <= runs; i++ {
		once()
		if i%every == 0 && i > runs/10 {
			runtime.GC()
			debug.FreeOSMemory()
			samples = append(samples, rssKiB(t))
		}
	}
	require.Greater(t, len(samples), 2*window)
	early := slices.Max(samples[:window])
	late := slices.Min(samples[len(samples)-window:])
	between := (len(samples) - 2*window + 1) * every
	perRun := float64(late-early) / float64(between)
	t.Logf("RSS every %d runs (KiB): %v; %+d KiB over %d runs, %.1f KiB per run", every, samples, late-early, between, perRun)
	assert.Less(t, perRun, 64.0, "KiB per run")
}

func rssKiB(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			v, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			require.NoError(t, err)
			return v
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// panicky fails inside gorunemu's own code on purpose.
type panicky struct {
	emu.NopObserver
	after string
}

func (o panicky) Syscall(_ *emu.Thread, c *syscalls.Call) {
	if c.Name == o.after {
		panic("observer bug on " + c.Name)
	}
}

// TestInternalErrorIsCaught: a panic in gorunemu's code stops the run
// with an *emu.InternalError naming the guest's position; the host goes
// on, and the process refuses to run further.
func TestInternalErrorIsCaught(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			p := start(t, loadertest.Build(t, "hello", a.Name), emu.Config{Observer: panicky{after: "sched_getaffinity"}})
			r, err := p.Run(context.Background(), emu.UntilExit())
			assert.Nil(t, r)
			var ie *emu.InternalError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, "observer bug on sched_getaffinity", ie.Value)
			assert.Equal(t, p.MainThread().TID, ie.TID)
			assert.Contains(t, ie.Symbol, "sched_getaffinity")
			assert.Contains(t, ie.Stack, "panicky")
			_, err = p.Run(context.Background(), emu.UntilExit())
			assert.ErrorAs(t, err, &ie, "the process stays stopped")

			// A sink that panics is caught the same way.
			q := start(t, loadertest.Build(t, "hello", a.Name), emu.Config{Trace: &emu.TraceOptions{Sink: panicSink{}, Milestones: goruntime.StartupPath(a)}})
			_, err = q.Run(context.Background(), emu.UntilSymbol("main.main"))
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, "sink bug", ie.Value)
		})
	}
}

type panicSink struct{}

func (panicSink) Begin(trace.Header) error { return nil }
func (panicSink) Emit(*trace.Event) error  { panic("sink bug") }
func (panicSink) Close() error             { return nil }

// TestLimitStops checks the stop reasons the library reports for limits.
func TestLimitStops(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			p := start(t, loadertest.Build(t, "loop", a.Name), emu.Config{MaxInsns: 5_000_000})
			r := runTo(t, p, emu.UntilExit())
			assert.Equal(t, emu.StopInsnLimit, r.Kind)
			assert.Equal(t, uint64(5_000_000), r.Limit)
			assert.GreaterOrEqual(t, r.Insns, uint64(5_000_000))
			assert.Less(t, r.Insns, uint64(5_000_000+1000), "the limit stops at the next block")
			assert.Equal(t, "main.main", strings.SplitN(r.Symbol, "+", 2)[0])
			assert.True(t, strings.HasSuffix(r.File, "testdata/loop/main.go"), r.File)
			assert.Equal(t, []string{"runtime.main"}, firstFuncs(r.Backtrace, 1))

			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			p = start(t, loadertest.Build(t, "loop", a.Name), emu.Config{})
			r, err := p.Run(ctx, emu.UntilExit())
			require.NoError(t, err)
			assert.Equal(t, emu.StopCanceled, r.Kind)

			p = start(t, loadertest.Build(t, "alloc", a.Name), emu.Config{MaxMem: 64 << 20})
			r = runTo(t, p, emu.UntilExit())
			assert.Equal(t, emu.StopMemLimit, r.Kind)
			assert.Equal(t, uint64(64<<20), r.Limit)

			p = start(t, loadertest.Build(t, "spawn", a.Name), emu.Config{MaxThreads: 10})
			r = runTo(t, p, emu.UntilExit())
			assert.Equal(t, emu.StopThreadLimit, r.Kind)
			assert.Equal(t, uint64(10), r.Limit)
		})
	}
}

func firstFuncs(bt []string, n int) []string {
	var out []string
	for _, f := range bt[:min(n, len(bt))] {
		out = append(out, strings.SplitN(f, "+", 2)[0])
	}
	return out
}

// TestSpinAfterSyscallYields runs a goroutine that spins right after a
// syscall while main sleeps. With a one-instruction slice every start that
// ends in a syscall uses up the slice; the spinning thread must still
// yield at the end of its next slice, so main wakes, prints and exits.
// (When it did not, the spinning thread ran on unchecked, past the
// instruction limit too, and this test hung.)
func TestSpinAfterSyscallYields(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			p := start(t, loadertest.Build(t, "spin", a.Name), emu.Config{Slice: 1, MaxInsns: 50_000_000, Stdout: &out})
			r := runTo(t, p, emu.UntilExit())
			require.Equal(t, emu.StopExited, r.Kind, "stop: %s", r)
			assert.Equal(t, 0, r.Code)
			assert.Equal(t, "main ran again\n", out.String())
		})
	}
}

// TestBacktraceFramesNamed stops hello at instruction limits that land on
// threads in different states (a new M in mstart, a goroutine growing
// its stack, the main goroutine) and checks that every frame of every
// backtrace is a function: unwinding stops at a thread's or a stack's
// first frame instead of reading what lies past it.
func TestBacktraceFramesNamed(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "hello", a.Name)
			for _, n := range []uint64{150_000, 200_500, 210_000, 250_000, 260_000} {
				p := start(t, bin, emu.Config{MaxInsns: n})
				r := runTo(t, p, emu.UntilSymbol("main.main"))
				require.Equal(t, emu.StopInsnLimit, r.Kind)
				require.NotEmpty(t, r.Backtrace, "at %d", n)
				for i, f := range r.Backtrace {
					assert.Regexp(t, `^[\w./()*\-]+(\+0x[0-9a-f]+)?$`, f, "frame %d of %v at %d", i, r.Backtrace, n)
				}
			}
		})
	}
}
