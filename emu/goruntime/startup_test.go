package goruntime_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
	"github.com/gorunemu/gorunemu/trace"
	"github.com/gorunemu/gorunemu/trace/tracetest"
)

// traced runs bin to until with tracing and returns what was recorded.
func traced(t *testing.T, bin string, u emu.Until, opts emu.TraceOptions) (*tracetest.Recorder, *emu.Process, *emu.StopReason) {
	t.Helper()
	rec := &tracetest.Recorder{}
	opts.Sink = rec
	p, err := emu.Open(bin, emu.Config{Trace: &opts})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	r, err := p.Run(context.Background(), u)
	require.NoError(t, err)
	return rec, p, r
}

func fmtHex(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

func milestoneNames(r *tracetest.Recorder) []string {
	var names []string
	for _, e := range r.Of(trace.Milestone) {
		names = append(names, e.At.Func)
	}
	return names
}

func TestTraceMilestones(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "hello", a.Name)
			rec, p, r := traced(t, bin, emu.UntilSymbol("main.main"), emu.TraceOptions{Milestones: goruntime.StartupPath(a)})
			require.Equal(t, emu.StopUntil, r.Kind)
			names := milestoneNames(rec)
			want := []string{"_rt0_" + a.Name + "_linux", "_rt0_" + a.Name, "runtime.rt0_go", "runtime.check", "runtime.args",
				"runtime.sysargs", "runtime.osinit", "runtime.schedinit", "runtime.mallocinit", "runtime.mcommoninit",
				"runtime.gcinit", "runtime.procresize", "runtime.newproc", "runtime.mstart", "runtime.schedule",
				"runtime.main", "runtime.newm", "runtime.doInit1", "runtime.gcenable", "main.main"}
			assert.Subset(t, names, want)
			// In order of first entry.
			last := -1
			for _, w := range want {
				i := indexOf(names, w)
				assert.Greater(t, i, last, "%s comes after the milestones before it in %v", w, names)
				last = i
			}
			assert.Equal(t, trace.Stop, rec.Events[len(rec.Events)-1].Kind)
			assert.Equal(t, p.Image().GoVersion, rec.Header.GoVersion)

			// The details a reader needs.
			detail := map[string]string{}
			for _, e := range rec.Of(trace.Milestone) {
				detail[e.At.Func] = e.Detail
			}
			assert.Contains(t, detail["runtime.check"], "size=0x10000")
			assert.Contains(t, detail["runtime.check"], "hi = entry SP - 0x30")
			assert.Contains(t, detail["runtime.sysargs"], "page size 4096 (AT_PAGESZ)")
			assert.Contains(t, detail["runtime.schedinit"], "ncpu=2 physPageSize=4096")
			assert.Contains(t, detail["runtime.newproc"], "GOMAXPROCS=2")
			assert.Contains(t, detail["runtime.args"], `argc=1`)

			threads := rec.Of(trace.ThreadStart)
			assert.Len(t, threads, p.Stats().Threads-1)
			for _, th := range threads {
				assert.Equal(t, p.MainThread().TID, th.Parent)
				assert.Contains(t, th.Detail, "created by runtime.newosproc")
			}
		})
	}
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

// TestTraceArchPrctl checks that the milestone trace shows the TLS setup
// with its argument &m0.tls+8 (m.tls is at 0x80 in Go 1.25+).
func TestTraceArchPrctl(t *testing.T) {
	bin := loadertest.Build(t, "hello", "amd64")
	rec, p, _ := traced(t, bin, emu.UntilSymbol("runtime.check"), emu.TraceOptions{Milestones: goruntime.StartupPath(arch.AMD64)})
	var prctl []trace.Event
	for _, e := range rec.Of(trace.Syscall) {
		if e.Name == "arch_prctl" {
			prctl = append(prctl, e)
		}
	}
	require.Len(t, prctl, 1)
	e := prctl[0]
	m0, ok := p.Image().Lookup("runtime.m0")
	require.True(t, ok)
	require.Len(t, e.Args, 2)
	assert.Equal(t, "ARCH_SET_FS", e.Args[0])
	assert.Equal(t, fmtHex(m0+0x80+8), e.Args[1], "the argument is &m0.tls+8")
	assert.Equal(t, "= 0", e.Result)
	assert.Equal(t, "FS base = runtime.m0+0x88", e.Detail)
	assert.Equal(t, "runtime.settls", e.At.Func)
	assert.Equal(t, "runtime.rt0_go", e.Caller.Func)
}

// TestTraceStripped checks that a stripped binary's milestone trace names
// the same functions, from .gopclntab alone.
func TestTraceStripped(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			full, _, _ := traced(t, loadertest.Build(t, "hello", a.Name), emu.UntilSymbol("main.main"), emu.TraceOptions{Milestones: goruntime.StartupPath(a)})
			stripped, p, r := traced(t, loadertest.Build(t, "hello", a.Name, loadertest.Stripped()), emu.UntilSymbol("main.main"), emu.TraceOptions{Milestones: goruntime.StartupPath(a)})
			require.True(t, p.Image().Stripped)
			require.Equal(t, emu.StopUntil, r.Kind)
			assert.Equal(t, milestoneNames(full), milestoneNames(stripped))
		})
	}
}

// TestCallsFollowGoroutines traces calls to main.main with goroutines
// followed: runtime.main starts goroutine 1's own stack at depth 0 after
// a switch, gcenable's goroutines get theirs, g0's stack does not grow
// with every trip through the scheduler, and a function that grew its
// stack through morestack is not entered twice.
func TestCallsFollowGoroutines(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			img, err := loader.Open(loadertest.Build(t, "hello", a.Name))
			require.NoError(t, err)
			gs, err := goruntime.Goroutines(img)
			require.NoError(t, err)
			rec, _, r := traced(t, img.Path, emu.UntilSymbol("main.main"), emu.TraceOptions{Calls: true, Goroutines: gs})
			require.Equal(t, emu.StopUntil, r.Kind)

			names := map[int64]string{}
			maxDepth := 0
			var mainCall *trace.Event
			for i, e := range rec.Events {
				switch e.Kind {
				case trace.Switch:
					require.NotZero(t, e.G)
					names[e.GoID] = e.Name
				case trace.Call:
					maxDepth = max(maxDepth, e.Depth)
					if e.At.Func == "runtime.main" {
						mainCall = &rec.Events[i]
					}
				}
			}
			require.NotNil(t, mainCall, "runtime.main is entered")
			assert.Equal(t, 0, mainCall.Depth, "runtime.main is the first function of goroutine 1")
			assert.Equal(t, int64(1), mainCall.GoID)
			assert.Equal(t, "goroutine 1", names[1])
			assert.Equal(t, "g0", names[0])
			assert.Contains(t, names, int64(2), "gcenable starts goroutines that run before main.main: %v", names)
			assert.Less(t, maxDepth, 64, "call stacks stay as deep as Go's are")

			// After a return from morestack into f, f's jump back to its
			// entry is not a call.
			last := map[uint64]*trace.Event{}
			moreStack := 0
			for i, e := range rec.Events {
				if e.Kind != trace.Call && e.Kind != trace.Return {
					continue
				}
				if p := last[e.G]; p != nil && p.Kind == trace.Return && p.Name == "runtime.morestack" {
					moreStack++
					assert.False(t, e.Kind == trace.Call && e.At.Func == p.At.Func,
						"%s entered again after morestack at instruction %d", e.At.Func, e.Insns)
				}
				last[e.G] = &rec.Events[i]
			}
			assert.Positive(t, moreStack, "hello grows a stack before main.main")

			// Every call and return names its goroutine once g0 is set.
			for _, e := range rec.Of(trace.Call) {
				if e.Insns > mainCall.Insns {
					assert.NotZero(t, e.G, "%s at %d", e.At.Func, e.Insns)
				}
			}
		})
	}
}

// TestCallsPerThreadWithoutGoroutines checks the fallback: without
// Goroutines, stacks are per thread and there are no switches.
func TestCallsPerThreadWithoutGoroutines(t *testing.T) {
	bin := loadertest.Build(t, "hello", "amd64")
	rec, _, _ := traced(t, bin, emu.UntilSymbol("main.main"), emu.TraceOptions{Calls: true})
	assert.Empty(t, rec.Of(trace.Switch))
	for _, e := range rec.Of(trace.Call) {
		require.Zero(t, e.G)
	}
	assert.True(t, strings.Contains(fmtEvents(rec.Of(trace.Call)), "runtime.main"))
}

func fmtEvents(es []trace.Event) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.At.Func)
		b.WriteByte('\n')
	}
	return b.String()
}
