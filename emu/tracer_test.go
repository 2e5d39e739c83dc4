package emu_test

import (
	"bytes"
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
	p := start(t, bin, emu.Config{Trace: &opts})
	r := runTo(t, p, u)
	return rec, p, r
}

// g0Watch watches the whole of runtime.g0 in bin.
func g0Watch(t *testing.T, bin string) emu.Watch {
	t.Helper()
	img, err := loader.Open(bin)
	require.NoError(t, err)
	g0, ok := img.Data("runtime.g0")
	require.True(t, ok)
	return emu.Watch{Addr: g0.Addr, Size: g0.Size, Label: "runtime.g0"}
}

// TestTraceWatchG0 asks who sets runtime.g0.stack.lo: rt0_go, in assembly.
func TestTraceWatchG0(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "hello", a.Name)
			g0 := g0Watch(t, bin)
			rec, _, _ := traced(t, bin, emu.UntilSymbol("main.main"), emu.TraceOptions{Watches: []emu.Watch{g0}})
			var lo []trace.Event
			for _, e := range rec.Of(trace.Write) {
				if e.Addr == g0.Addr { // g.stack.lo is the first field
					lo = append(lo, e)
				}
			}
			require.NotEmpty(t, lo)
			first := lo[0]
			assert.Equal(t, "runtime.rt0_go", first.At.Func)
			assert.Equal(t, "runtime/asm_"+a.Name+".s", first.At.File)
			assert.Equal(t, "runtime.g0", first.Target)
			assert.Equal(t, 8, first.Size)
			assert.Zero(t, first.Old)
			assert.NotZero(t, first.New)
		})
	}
}

// TestTraceInsnsMatchesCount checks that the instruction stream and the
// block counter agree exactly.
func TestTraceInsnsMatchesCount(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			rec, _, r := traced(t, loadertest.Build(t, "hello", a.Name), emu.UntilSymbol("runtime.schedinit"), emu.TraceOptions{Insns: true, Regs: true})
			insns := rec.Of(trace.Insn)
			require.Equal(t, r.Insns, uint64(len(insns)))
			for i, e := range insns {
				if e.Insns != uint64(i) {
					t.Fatalf("instruction %d stamped %d", i, e.Insns)
				}
			}
			// The entry's second instruction loads argc (1) into a register.
			second := insns[1]
			require.Len(t, second.Regs, 1)
			assert.Equal(t, map[string]string{"amd64": "rdi", "arm64": "x0"}[a.Name], second.Regs[0].Name)
			assert.Equal(t, uint64(1), second.Regs[0].Value)
			assert.NotEmpty(t, second.Asm)
			assert.NotEmpty(t, second.Bytes)
		})
	}
}

func TestTraceCalls(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			rec, _, _ := traced(t, loadertest.Build(t, "hello", a.Name), emu.UntilSymbol("main.main"), emu.TraceOptions{Calls: true})
			calls := rec.Of(trace.Call)
			require.NotEmpty(t, calls)
			assert.Equal(t, "_rt0_"+a.Name+"_linux", calls[0].At.Func)
			assert.Zero(t, calls[0].Depth)
			seen := map[string]bool{}
			for _, c := range calls {
				seen[c.At.Func] = true
				assert.GreaterOrEqual(t, c.Depth, 0)
			}
			for _, f := range []string{"runtime.rt0_go", "runtime.schedinit", "runtime.mallocinit", "runtime.main", "runtime.mstart"} {
				assert.True(t, seen[f], "%s is called", f)
			}
			var rets int
			for _, e := range rec.Of(trace.Return) {
				rets++
				assert.NotEmpty(t, e.Name)
			}
			assert.Greater(t, rets, len(calls)/2, "most calls return")

			// A filter keeps only its package.
			only, _, _ := traced(t, loadertest.Build(t, "hello", a.Name), emu.UntilSymbol("main.main"), emu.TraceOptions{
				Calls: true, CallFilter: func(fn string) bool { return strings.HasPrefix(fn, "internal/") },
			})
			for _, c := range only.Of(trace.Call) {
				assert.True(t, strings.HasPrefix(c.At.Func, "internal/"), c.At.Func)
			}
			assert.NotEmpty(t, only.Of(trace.Call))
		})
	}
}

// TestTraceDeterministic writes the same text trace twice.
func TestTraceDeterministic(t *testing.T) {
	bin := loadertest.Build(t, "hello", "arm64")
	run := func() string {
		var b bytes.Buffer
		sink := trace.NewText(&b)
		p := start(t, bin, emu.Config{Trace: &emu.TraceOptions{Sink: sink, Milestones: goruntime.StartupPath(arch.ARM64), Syscalls: true, Calls: true}})
		runTo(t, p, emu.UntilExit())
		require.NoError(t, sink.Close())
		return b.String()
	}
	a, b := run(), run()
	assert.Greater(t, len(a), 100000)
	assert.True(t, a == b, "two runs give byte-identical traces")
}

func fmtHex(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

// TestTraceCallsIgnoreStops checks that the stops milestones make at
// function entries do not change the calls trace: a block that a stop
// cut short is followed once, not again when it resumes.
func TestTraceCallsIgnoreStops(t *testing.T) {
	type call struct {
		kind        trace.Kind
		insns       uint64
		depth       int
		fn, retName string
	}
	calls := func(r *tracetest.Recorder) []call {
		var out []call
		for _, e := range r.Events {
			if e.Kind == trace.Call || e.Kind == trace.Return {
				out = append(out, call{e.Kind, e.Insns, e.Depth, e.At.Func, e.Name})
			}
		}
		return out
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "hello", a.Name)
			plain, _, _ := traced(t, bin, emu.UntilSymbol("main.main"), emu.TraceOptions{Calls: true})
			stopped, _, _ := traced(t, bin, emu.UntilSymbol("main.main"), emu.TraceOptions{Calls: true, Milestones: goruntime.StartupPath(a)})
			require.NotEmpty(t, stopped.Of(trace.Milestone))
			want, got := calls(plain), calls(stopped)
			require.NotEmpty(t, want)
			assert.Equal(t, want, got)
			for i := 1; i < len(got); i++ {
				if got[i].kind == trace.Call && got[i-1].kind == trace.Call && got[i].fn == got[i-1].fn && got[i].insns == got[i-1].insns {
					t.Fatalf("%s entered twice at instruction %d", got[i].fn, got[i].insns)
				}
			}
		})
	}
}

// TestTraceEventsInOrder traces every level at once and checks that the
// events come in instruction order, and that a watched store is stamped
// with the count of the instruction that made it, right after it.
func TestTraceEventsInOrder(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "hello", a.Name)
			rec, _, _ := traced(t, bin, emu.UntilSymbol("runtime.schedinit"), emu.TraceOptions{
				Milestones: goruntime.StartupPath(a), Syscalls: true, Calls: true, Insns: true,
				Watches: []emu.Watch{g0Watch(t, bin)},
			})
			writes := 0
			for i, e := range rec.Events {
				if i > 0 {
					require.GreaterOrEqual(t, e.Insns, rec.Events[i-1].Insns, "event %d (%s) after %s", i, e.Kind, rec.Events[i-1].Kind)
				}
				if e.Kind != trace.Write {
					continue
				}
				writes++
				// The storing instruction is the last one before the write.
				var prev *trace.Event
				for j := i - 1; j >= 0; j-- {
					if rec.Events[j].Kind == trace.Insn {
						prev = &rec.Events[j]
						break
					}
				}
				require.NotNil(t, prev)
				assert.Equal(t, prev.At.PC, e.At.PC, "write %d", writes)
				assert.Equal(t, prev.Insns, e.Insns, "write %d at %s", writes, e.At.Func)
			}
			assert.GreaterOrEqual(t, writes, 4, "rt0_go stores g0's stack bounds and guards")
		})
	}
}
