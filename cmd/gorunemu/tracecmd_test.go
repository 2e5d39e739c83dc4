package main

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// TestTraceWatchStripped watches g0's and m0's fields in stripped
// binaries, found as inspect finds them, and gets the same writes as
// from the unstripped build.
func TestTraceWatchStripped(t *testing.T) {
	writes := func(bin string, watch string) []string {
		t.Helper()
		code, out, errOut := gorunemu("trace", "--milestones=false", "--until", "main.main", "--watch", watch, bin)
		require.Equal(t, exitOK, code, errOut)
		var ws []string
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, " write ") {
				ws = append(ws, l)
			}
		}
		return ws
	}
	for _, a := range []string{"amd64", "arm64"} {
		t.Run(a, func(t *testing.T) {
			full := loadertest.Build(t, "hello", a)
			stripped := loadertest.Build(t, "hello", a, loadertest.Stripped())
			for _, watch := range []string{"runtime.g0.stack.lo", "runtime.g0.stackguard0", "runtime.m0.procid"} {
				want, got := writes(full, watch), writes(stripped, watch)
				require.NotEmpty(t, want, watch)
				assert.Equal(t, want, got, watch)
			}
			code, _, errOut := gorunemu("trace", "--watch", "runtime.m0.nosuch", stripped)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, errOut, `the binary is stripped, and goruntime: runtime.m0.nosuch: no field "nosuch" known without DWARF: watch an address instead`)
		})
	}
}

// TestTraceWatchField asks who sets runtime.g0.stack.lo, by field name.
func TestTraceWatchField(t *testing.T) {
	bin := loadertest.Build(t, "hello", "amd64")
	code, out, errOut := gorunemu("trace", "--milestones=false", "--watch", "runtime.g0.stack.lo", bin)
	require.Equal(t, exitOK, code, errOut)
	var writes []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " write ") {
			writes = append(writes, l)
		}
	}
	require.NotEmpty(t, writes)
	assert.Regexp(t, `^ +\d+  4242 write runtime\.g0\.stack\.lo 8 0x0 -> 0x[0-9a-f]+ by runtime\.rt0_go\+0x[0-9a-f]+ runtime/asm_amd64\.s:\d+$`, writes[0])
	for _, w := range writes {
		assert.Contains(t, w, "write runtime.g0.stack.lo 8 ", "only the watched field")
	}

	code, _, errOut = gorunemu("trace", "--watch", "runtime.g0.nosuch", bin)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `has no field "nosuch"`)
	code, _, errOut = gorunemu("trace", "--watch", "0x1000", bin)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "an address needs a size")
}

// TestTraceFormats writes each format to a file and reads it back.
func TestTraceFormats(t *testing.T) {
	bin := loadertest.Build(t, "hello", "arm64")
	dir := t.TempDir()

	jsonl := filepath.Join(dir, "t.jsonl")
	code, _, errOut := gorunemu("trace", "--syscalls", "--format", "jsonl", "-o", jsonl, bin)
	require.Equal(t, exitOK, code, errOut)
	b, err := os.ReadFile(jsonl)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	kinds := map[string]int{}
	for _, l := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		kinds[m["event"].(string)]++
	}
	assert.Equal(t, 1, kinds["header"])
	assert.Greater(t, kinds["syscall"], 100)
	assert.Greater(t, kinds["milestone"], 15)
	assert.Equal(t, 1, kinds["stop"])

	perfetto := filepath.Join(dir, "t.json")
	code, _, errOut = gorunemu("trace", "--calls", "--format", "perfetto", "-o", perfetto, bin)
	require.Equal(t, exitOK, code, errOut)
	b, err = os.ReadFile(perfetto)
	require.NoError(t, err)
	var evs []map[string]any
	require.NoError(t, json.Unmarshal(b, &evs), "Trace Event JSON")
	begins, ends := 0, 0
	for _, e := range evs {
		switch e["ph"] {
		case "B":
			begins++
		case "E":
			ends++
		}
	}
	assert.Greater(t, begins, 1000)
	assert.Equal(t, begins, ends, "every slice ends")

	prof := filepath.Join(dir, "t.pprof")
	code, _, errOut = gorunemu("trace", "--format", "pprof", "-o", prof, bin)
	require.Equal(t, exitOK, code, errOut)
	f, err := os.Open(prof)
	require.NoError(t, err)
	defer f.Close()
	p, err := profile.Parse(f)
	require.NoError(t, err)
	var total int64
	for _, s := range p.Sample {
		total += s.Value[0]
	}
	assert.Greater(t, total, int64(200000), "every instruction to main.main is charged somewhere")

	// go tool pprof reads it and names runtime functions.
	if _, err := exec.LookPath("go"); err == nil {
		top, err := exec.Command("go", "tool", "pprof", "-top", prof).CombinedOutput()
		require.NoError(t, err, "%s", top)
		assert.Contains(t, string(top), "Type: instructions")
		assert.Contains(t, string(top), "runtime.mallocinit")
	}
}

// TestTraceBoundedAndCompressed writes the same trace plain, gzipped and
// zstd-compressed, and stops a trace of a spinning program at its size
// bound with its own exit code and a message that says what to do.
func TestTraceBoundedAndCompressed(t *testing.T) {
	hello := loadertest.Build(t, "hello", "arm64")
	dir := t.TempDir()
	read := func(name string) string {
		t.Helper()
		f, err := os.Open(name)
		require.NoError(t, err)
		defer f.Close()
		var r io.Reader = f
		switch filepath.Ext(name) {
		case ".gz":
			zr, err := gzip.NewReader(f)
			require.NoError(t, err)
			r = zr
		case ".zst":
			zr, err := zstd.NewReader(f)
			require.NoError(t, err)
			defer zr.Close()
			r = zr
		}
		b, err := io.ReadAll(r)
		require.NoError(t, err)
		return string(b)
	}
	var plain string
	for _, name := range []string{"t.txt", "t.txt.gz", "t.txt.zst"} {
		out := filepath.Join(dir, name)
		code, _, errOut := gorunemu("trace", "--syscalls", "-o", out, hello)
		require.Equal(t, exitOK, code, "stderr: %s", errOut)
		got := read(out)
		if plain == "" {
			plain = got
			require.True(t, strings.Contains(plain, " syscall clone("), "the trace has the syscalls")
			continue
		}
		assert.True(t, plain == got, "%s decompresses to the plain trace", name)
		fi, err := os.Stat(out)
		require.NoError(t, err)
		assert.Less(t, fi.Size(), int64(len(plain))/3, "%s is compressed", name)
	}

	for _, name := range []string{"loop.txt", "loop.txt.zst"} {
		out := filepath.Join(dir, name)
		code, _, errOut := gorunemu("trace", "--insns", "--max-trace-bytes", "200000", "--until", "exit", "-o", out, loadertest.Build(t, "loop", "amd64"))
		assert.Equal(t, exitTraceMax, code, "stderr: %s", errOut)
		assert.Regexp(t, `^gorunemu trace: --max-trace-bytes=200000: the trace reached \d+ bytes after \d+ instructions and stops there; narrow it`, errOut)
		fi, err := os.Stat(out)
		require.NoError(t, err)
		assert.LessOrEqual(t, fi.Size(), int64(200000))
		text := read(out)
		assert.LessOrEqual(t, len(text), 200000, "the bound is on the trace itself")
		assert.Greater(t, len(text), 150000)
		assert.True(t, strings.Contains(text, " insn 0x"), "what was written can be read")
	}
}
