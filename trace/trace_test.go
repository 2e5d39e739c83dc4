package trace

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sample is a small run's events, one of each kind.
func sample() []Event {
	at := func(fn string, off uint64, file string, line int) Loc {
		return Loc{PC: 0x401000 + off, Func: fn, Offset: off, File: file, Line: line}
	}
	return []Event{
		{Kind: Milestone, Insns: 0, ThreadInsns: 0, TID: 4242, At: at("_rt0_amd64_linux", 0, "runtime/rt0_linux_amd64.s", 8), Detail: "argc=1"},
		{Kind: Call, Insns: 4, ThreadInsns: 4, TID: 4242, Depth: 0, At: at("runtime.rt0_go", 0, "runtime/asm_amd64.s", 177)},
		{Kind: Call, Insns: 36, ThreadInsns: 36, TID: 4242, Depth: 1, At: at("runtime.settls", 0, "runtime/sys_linux_amd64.s", 649)},
		{Kind: Syscall, Insns: 44, ThreadInsns: 44, TID: 4242, At: at("runtime.settls", 0x1c, "", 0), Name: "arch_prctl",
			Args: []string{"ARCH_SET_FS", "0x583fe8"}, Result: "= 0", Caller: at("runtime.rt0_go", 0xbe, "", 0), Detail: "FS base = runtime.m0+0x88"},
		{Kind: Return, Insns: 49, ThreadInsns: 49, TID: 4242, Depth: 1, Name: "runtime.settls", At: at("runtime.rt0_go", 0xbe, "", 0)},
		{Kind: Insn, Insns: 50, ThreadInsns: 50, TID: 4242, At: at("runtime.rt0_go", 0xc3, "runtime/asm_amd64.s", 230), Bytes: []byte{0x48, 0x8b, 0x3c, 0x24}, Asm: "MOVQ 0(SP), DI",
			Regs: []Reg{{"rdi", 0x1}}},
		{Kind: Write, Insns: 51, ThreadInsns: 51, TID: 4242, At: at("runtime.rt0_go", 0x36, "runtime/asm_amd64.s", 198), Addr: 0x583fe8, Size: 8, Old: 0, New: 0x7ffffffeee30, Target: "runtime.g0"},
		{Kind: ThreadStart, Insns: 60, TID: 4243, Parent: 4242, At: at("runtime.clone", 0x52, "", 0), Detail: "created by runtime.newm1"},
		{Kind: Call, Insns: 61, ThreadInsns: 1, TID: 4243, Depth: 0, At: at("runtime.mstart", 0, "runtime/asm_amd64.s", 425)},
		{Kind: ThreadExit, Insns: 70, ThreadInsns: 10, TID: 4243, Code: 0},
		{Kind: Stop, Insns: 80, ThreadInsns: 80, TID: 4242, Detail: "reached main.main (0x49e140) on thread 4242"},
	}
}

func header() Header {
	return Header{Binary: "testdata/hello", Arch: "amd64", GoVersion: "go1.26.8", Args: []string{"./hello", "a b"}}
}

func write(t *testing.T, s Sink) {
	t.Helper()
	require.NoError(t, s.Begin(header()))
	for _, e := range sample() {
		e := e
		require.NoError(t, s.Emit(&e))
	}
	require.NoError(t, s.Close())
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	write(t, NewText(&b))
	want := `# gorunemu trace testdata/hello amd64 go1.26.8
# argv "./hello" "a b"
#      insns   tid event
           0  4242 milestone _rt0_amd64_linux runtime/rt0_linux_amd64.s:8: argc=1
           4  4242 call   0 runtime.rt0_go runtime/asm_amd64.s:177
          36  4242 call   1   runtime.settls runtime/sys_linux_amd64.s:649
          44  4242 syscall arch_prctl(ARCH_SET_FS, 0x583fe8) = 0 in runtime.settls from runtime.rt0_go+0xbe # FS base = runtime.m0+0x88
          49  4242 return   1   runtime.settls -> runtime.rt0_go+0xbe
          50  4242 insn 0x4010c3 runtime.rt0_go+0xc3 runtime/asm_amd64.s:230 48 8b 3c 24 | MOVQ 0(SP), DI ; rdi=0x1
          51  4242 write runtime.g0 8 0x0 -> 0x7ffffffeee30 by runtime.rt0_go+0x36 runtime/asm_amd64.s:198
          60  4243 thread from 4242 at runtime.clone+0x52: created by runtime.newm1
          61  4243 call   0 runtime.mstart runtime/asm_amd64.s:425
          70  4243 exit 0
          80  4242 stop reached main.main (0x49e140) on thread 4242
`
	assert.Equal(t, want, b.String())
}

func TestTextIndentIsCapped(t *testing.T) {
	var b bytes.Buffer
	s := NewText(&b)
	require.NoError(t, s.Emit(&Event{Kind: Call, Depth: 100, At: Loc{Func: "f"}}))
	require.NoError(t, s.Close())
	assert.Equal(t, "           0     0 call 100 "+strings.Repeat("  ", maxIndent)+"f\n", b.String())
}

func TestJSONL(t *testing.T) {
	var b bytes.Buffer
	write(t, NewJSONL(&b))
	sc := bufio.NewScanner(&b)
	var objs []map[string]any
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "line %q", sc.Text())
		objs = append(objs, m)
	}
	require.Len(t, objs, 1+len(sample()))
	assert.Equal(t, map[string]any{"event": "header", "binary": "testdata/hello", "arch": "amd64", "go_version": "go1.26.8", "argv": []any{"./hello", "a b"}}, objs[0])
	sys := objs[4]
	assert.Equal(t, "syscall", sys["event"])
	assert.Equal(t, "arch_prctl", sys["name"])
	assert.Equal(t, []any{"ARCH_SET_FS", "0x583fe8"}, sys["args"])
	assert.Equal(t, "= 0", sys["result"])
	assert.Equal(t, map[string]any{"pc": "0x4010be", "func": "runtime.rt0_go", "offset": float64(0xbe)}, sys["caller"])
	call := objs[2]
	assert.Equal(t, float64(0), call["depth"], "depth 0 is present")
	insn := objs[6]
	assert.Equal(t, "488b3c24", insn["bytes"])
	assert.Equal(t, []any{map[string]any{"name": "rdi", "value": "0x1"}}, insn["regs"])
	w := objs[7]
	assert.Equal(t, "0x7ffffffeee30", w["new"])
	assert.Equal(t, "runtime.g0", w["target"])
	assert.Equal(t, float64(0), objs[10]["code"])
}

func TestPerfetto(t *testing.T) {
	var b bytes.Buffer
	write(t, NewPerfetto(&b))
	var evs []map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &evs), "a Trace Event JSON array")
	depth := map[float64]int{}
	names := map[float64]bool{}
	for _, e := range evs {
		for _, k := range []string{"name", "ph", "ts", "pid", "tid"} {
			assert.Contains(t, e, k)
		}
		switch e["ph"] {
		case "B":
			depth[e["tid"].(float64)]++
		case "E":
			depth[e["tid"].(float64)]--
		case "M":
			if e["name"] == "thread_name" {
				names[e["tid"].(float64)] = true
			}
		case "i":
		default:
			t.Errorf("unexpected phase %v", e["ph"])
		}
	}
	assert.Equal(t, map[float64]int{4242: 0, 4243: 0}, depth, "every slice is closed")
	assert.Equal(t, map[float64]bool{4242: true, 4243: true}, names, "a named track per thread")
}

func TestPerfettoEmpty(t *testing.T) {
	var b bytes.Buffer
	s := NewPerfetto(&b)
	require.NoError(t, s.Close())
	var evs []any
	require.NoError(t, json.Unmarshal(b.Bytes(), &evs))
	assert.Empty(t, evs)
}

// profileSamples parses a profile and sums its samples by stack, written
// leaf first as "f < caller < ...".
func profileSamples(t *testing.T, r io.Reader) (*profile.Profile, map[string]int64) {
	t.Helper()
	p, err := profile.Parse(r)
	require.NoError(t, err)
	got := map[string]int64{}
	for _, s := range p.Sample {
		var frames []string
		for _, l := range s.Location {
			frames = append(frames, l.Line[0].Function.Name)
		}
		got[strings.Join(frames, " < ")] += s.Value[0]
	}
	return p, got
}

func TestPprof(t *testing.T) {
	var b bytes.Buffer
	write(t, NewPprof(&b))
	p, got := profileSamples(t, &b)
	assert.Equal(t, "instructions", p.SampleType[0].Type)
	// Thread 4242: 4 instructions before rt0_go (no stack yet), 32 in
	// rt0_go, 13 in settls (36..49), then rt0_go again until 80. Thread
	// 4243 runs 1 instruction before mstart and 9 in it.
	assert.Equal(t, map[string]int64{
		"[unknown]":                       4 + 1,
		"runtime.rt0_go":                  32 + 31,
		"runtime.settls < runtime.rt0_go": 13,
		"runtime.mstart":                  9,
	}, got)
	// Each function's location is its entry, with the file and line the
	// call saw, so pprof -lines and list can show source.
	found := 0
	for _, l := range p.Location {
		if f := l.Line[0].Function; f.Name == "runtime.rt0_go" {
			found++
			assert.Equal(t, "runtime/asm_amd64.s", f.Filename)
			assert.Equal(t, int64(177), f.StartLine)
			assert.Equal(t, int64(177), l.Line[0].Line)
		}
	}
	assert.Equal(t, 1, found, "one location for rt0_go")
}

func TestDisassemble(t *testing.T) {
	f, err := os.Open("testdata/decode.txt")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "|")
		require.Len(t, fields, 5, line)
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		code, err := hex.DecodeString(fields[0])
		require.NoError(t, err)
		syn, err := ParseSyntax(fields[2])
		require.NoError(t, err)
		pc, err := strconv.ParseUint(strings.TrimPrefix(fields[3], "0x"), 16, 64)
		require.NoError(t, err)
		got, size := Disassemble(fields[1], code, pc, syn, nil)
		assert.Equal(t, fields[4], got, line)
		assert.Equal(t, len(code), size, line)
		n++
	}
	require.NoError(t, sc.Err())
	assert.Greater(t, n, 10)
	got, size := Disassemble("amd64", []byte{0x06}, 0, SyntaxGo, nil) // PUSH ES: not in 64-bit mode
	assert.Equal(t, "?", got)
	assert.Equal(t, 1, size)
	_, err = ParseSyntax("att&t")
	assert.Error(t, err)
}

// goroutineSample is one thread that runs goroutine 1 into a call, moves
// to goroutine 2 for a call of its own, and comes back to finish.
func goroutineSample() []Event {
	at := func(fn string) Loc { return Loc{PC: 0x401000, Func: fn} }
	const g1, g2 = 0xc000002380, 0xc000002a80
	return []Event{
		{Kind: Switch, Insns: 0, ThreadInsns: 0, TID: 7, G: g1, GoID: 1, Name: "goroutine 1", At: at("runtime.main")},
		{Kind: Call, Insns: 0, ThreadInsns: 0, TID: 7, G: g1, GoID: 1, Depth: 0, At: at("runtime.main")},
		{Kind: Call, Insns: 10, ThreadInsns: 10, TID: 7, G: g1, GoID: 1, Depth: 1, At: at("runtime.gopark")},
		{Kind: Switch, Insns: 20, ThreadInsns: 20, TID: 7, G: g2, GoID: 2, Name: "goroutine 2", At: at("runtime.bgsweep")},
		{Kind: Call, Insns: 20, ThreadInsns: 20, TID: 7, G: g2, GoID: 2, Depth: 0, At: at("runtime.bgsweep")},
		{Kind: Switch, Insns: 50, ThreadInsns: 50, TID: 7, G: g1, GoID: 1, Name: "goroutine 1", At: at("runtime.gopark")},
		{Kind: Return, Insns: 50, ThreadInsns: 50, TID: 7, G: g1, GoID: 1, Depth: 1, Name: "runtime.gopark", At: at("runtime.main")},
		{Kind: Stop, Insns: 60, ThreadInsns: 60, TID: 7, Detail: "exited"},
	}
}

func emitAll(t *testing.T, s Sink, es []Event) {
	t.Helper()
	require.NoError(t, s.Begin(header()))
	for _, e := range es {
		require.NoError(t, s.Emit(&e))
	}
	require.NoError(t, s.Close())
}

// TestPerfettoGoroutines checks the thread track follows the goroutine it
// runs (slices end at a switch away and begin again at a switch back)
// and that every goroutine has its own track that keeps its calls open
// while it is parked.
func TestPerfettoGoroutines(t *testing.T) {
	var b bytes.Buffer
	emitAll(t, NewPerfetto(&b), goroutineSample())
	var evs []map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &evs))
	type slice struct {
		ph   string
		name string
		ts   float64
	}
	tracks := map[[2]float64][]slice{}
	names := map[[2]float64]string{}
	for _, e := range evs {
		k := [2]float64{e["pid"].(float64), e["tid"].(float64)}
		switch e["ph"] {
		case "B", "E":
			tracks[k] = append(tracks[k], slice{e["ph"].(string), e["name"].(string), e["ts"].(float64)})
		case "M":
			if e["name"] == "thread_name" {
				names[k] = e["args"].(map[string]any)["name"].(string)
			}
		}
	}
	thread := [2]float64{1, 7}
	assert.Equal(t, []slice{
		{"B", "runtime.main", 0}, {"B", "runtime.gopark", 10},
		{"E", "", 20}, {"E", "", 20}, // goroutine 1 leaves the thread
		{"B", "runtime.bgsweep", 20},
		{"E", "", 50},                                          // goroutine 2 leaves
		{"B", "runtime.main", 50}, {"B", "runtime.gopark", 50}, // goroutine 1 is back
		{"E", "runtime.gopark", 50},
		{"E", "", 60},
	}, tracks[thread])
	assert.Equal(t, "goroutine 1", names[[2]float64{goroutinesPid, 1}])
	assert.Equal(t, "goroutine 2", names[[2]float64{goroutinesPid, 2}])
	assert.Equal(t, []slice{
		{"B", "runtime.main", 0}, {"B", "runtime.gopark", 10}, {"E", "runtime.gopark", 50}, {"E", "", 60},
	}, tracks[[2]float64{goroutinesPid, 1}], "goroutine 1's gopark stays open while it is parked")
	assert.Equal(t, []slice{{"B", "runtime.bgsweep", 20}, {"E", "", 60}}, tracks[[2]float64{goroutinesPid, 2}])
}

// TestPprofGoroutines checks that instructions are charged to the stack
// of the goroutine that ran them, not to whatever the thread ran before.
func TestPprofGoroutines(t *testing.T) {
	var b bytes.Buffer
	emitAll(t, NewPprof(&b), goroutineSample())
	_, got := profileSamples(t, &b)
	assert.Equal(t, map[string]int64{
		"runtime.main":                  10 + 10,
		"runtime.gopark < runtime.main": 10,
		"runtime.bgsweep":               30,
	}, got)
}

// TestTextGoroutines checks the switch line and a return that went
// without returning.
func TestTextGoroutines(t *testing.T) {
	var b bytes.Buffer
	es := goroutineSample()
	es = append(es[:len(es)-1], Event{Kind: Return, Insns: 55, TID: 7, G: 0xc000002380, GoID: 1, Depth: 0, Name: "runtime.main", Detail: "tail call to runtime.exit"})
	emitAll(t, NewText(&b), es)
	out := b.String()
	assert.Contains(t, out, "          20     7 switch goroutine 2 g=0xc000002a80 at runtime.bgsweep\n")
	assert.Contains(t, out, "          55     7 return   0 runtime.main # tail call to runtime.exit\n")
}
