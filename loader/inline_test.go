package loader_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// inlineToolchains are the releases the inline tests build the fixture
// with: the installed one ("") and one per layout of the tables (the Go
// 1.20 _func and inline tree in 1.21, the Go 1.18 _func with the older
// tree, the Go 1.16 _func with absolute funcdata pointers in 1.17).
var inlineToolchains = []string{"", "go1.21.13", "go1.18.10", "go1.17.13"}

// toolchainOpts returns the loadertest options for a toolchain.
func toolchainOpts(v string, more ...loadertest.Option) []loadertest.Option {
	if v != "" {
		more = append(more, loadertest.Toolchain(v))
	}
	return more
}

// inlineFile is the fixture's main.go as a build with toolchain v names it.
func inlineFile(v string) string {
	if v == "" {
		return "github.com/gorunemu/gorunemu/testdata/inline/main.go"
	}
	return "fixture/main.go"
}

// markerLine returns the line of testdata/<name>/main.go that carries
// the comment "// at:<marker>".
func markerLine(t *testing.T, name, marker string) int {
	t.Helper()
	root, err := loadertest.ModuleRoot()
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(root, "testdata", name, "main.go"))
	require.NoError(t, err)
	for i, l := range strings.Split(string(b), "\n") {
		if strings.HasSuffix(l, "// at:"+marker) {
			return i + 1
		}
	}
	t.Fatalf("no // at:%s in %s", marker, name)
	return 0
}

// TestInlinedFixture finds the call of record that double makes, inlined
// into twice and twice into main.main at two places, in every build of
// the fixture, and checks Inlined at every PC against Symbolize, and the
// stripped build against the unstripped one.
func TestInlinedFixture(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			for _, v := range inlineToolchains {
				t.Run(cmpName(v), func(t *testing.T) {
					t.Parallel()
					full := openImage(t, loadertest.Build(t, "inline", a.Name, toolchainOpts(v)...))
					stripped := openImage(t, loadertest.Build(t, "inline", a.Name, toolchainOpts(v, loadertest.Stripped())...))
					require.True(t, stripped.Stripped)
					file := inlineFile(v)
					frame := func(fn, marker string) loader.InlinedFrame {
						return loader.InlinedFrame{Func: fn, File: file, Line: markerLine(t, "inline", marker)}
					}
					want := [][]loader.InlinedFrame{
						{frame("main.double", "record"), frame("main.twice", "double"), frame("main.main", "twice1")},
						{frame("main.double", "record"), frame("main.twice", "double"), frame("main.main", "twice2")},
					}
					for _, img := range []*loader.Image{full, stripped} {
						f, ok := img.FuncAt(mustLookup(t, img, "main.main"))
						require.True(t, ok)
						var got [][]loader.InlinedFrame
						for pc := f.Entry; pc < f.End; pc++ {
							fs := img.Inlined(pc)
							if len(fs) == 0 || fs[0] != want[0][0] {
								continue
							}
							s, _ := img.Symbolize(pc)
							assert.Equal(t, "main.main", s.Name)
							assert.Equal(t, file, s.File)
							assert.Equal(t, want[0][0].Line, s.Line)
							if !slices.ContainsFunc(got, func(g []loader.InlinedFrame) bool { return slices.Equal(g, fs) }) {
								got = append(got, fs)
							}
						}
						assert.Equal(t, want, got, "stacks at the call of record in main.main")
					}
					checkInlinedAll(t, full, stripped)
				})
			}
		})
	}
}

// cmpName names a subtest after a toolchain.
func cmpName(v string) string {
	if v == "" {
		return "installed"
	}
	return v
}

// mustLookup returns the address of a symbol.
func mustLookup(t *testing.T, img *loader.Image, name string) uint64 {
	t.Helper()
	addr, ok := img.Lookup(name)
	require.True(t, ok, name)
	return addr
}

// checkInlinedAll checks Inlined at every PC of every function of full
// against Symbolize, and stripped, the same program built with -s -w,
// against full.
func checkInlinedAll(t *testing.T, full, stripped *loader.Image) {
	t.Helper()
	funcs := full.Funcs()
	require.Equal(t, funcs, stripped.Funcs())
	inlined, wrappers, bad := 0, 0, 0
	report := func(format string, args ...any) {
		if bad < 10 {
			t.Errorf(format, args...)
		}
		bad++
	}
	for _, f := range funcs {
		for pc := f.Entry; pc < f.End; pc++ {
			fs := full.Inlined(pc)
			if sfs := stripped.Inlined(pc); !slices.Equal(fs, sfs) {
				report("Inlined(%#x) = %v unstripped, %v stripped", pc, fs, sfs)
			}
			if fs == nil {
				continue
			}
			inlined++
			s, _ := full.Symbolize(pc)
			switch {
			case len(fs) < 2:
				report("Inlined(%#x) = %v: no physical frame", pc, fs)
			case fs[0].File != s.File || fs[0].Line != s.Line:
				report("Inlined(%#x) = %v, Symbolize says %s:%d", pc, fs, s.File, s.Line)
			case fs[len(fs)-1].Func != s.Name:
				report("Inlined(%#x) = %v in %s", pc, fs, s.Name)
			}
			for _, fr := range fs {
				if fr.Func == "" || fr.File == "" || fr.Line <= 0 {
					report("Inlined(%#x) = %v: incomplete frame", pc, fs)
				}
				// Method wrappers and equality functions are
				// generated at <autogenerated>:1.
				if fr.File == "<autogenerated>" && !fr.Wrapper {
					report("Inlined(%#x) = %v: %s is a wrapper", pc, fs, fr.Func)
				}
				if fr.Wrapper {
					wrappers++
				}
			}
		}
	}
	assert.Zero(t, bad)
	assert.Greater(t, inlined, 10000, "PCs in inlined code")
	assert.Greater(t, wrappers, 100, "wrapper frames")
}

// TestInlinedRuntime compares Inlined with what the Go runtime of the
// fixture itself reports, running it on the host (or under qemu-user for
// the other arch, when installed): the stacks runtime.Callers saw at the
// two inlined calls of record, and the frames runtime.CallersFrames gives
// for every PC where Symbolize or Inlined changes.
func TestInlinedRuntime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs linux fixtures")
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			run := nativeRunner(t, a.Name)
			for _, v := range inlineToolchains {
				t.Run(cmpName(v), func(t *testing.T) {
					t.Parallel()
					path := loadertest.Build(t, "inline", a.Name, toolchainOpts(v)...)
					img := openImage(t, path)

					// The stacks record saw.
					out := run(t, path, nil)
					blocks := parseFrames(t, out)
					require.Len(t, blocks, 2, "%s", out)
					for i, b := range blocks {
						fs := img.Inlined(b.pc - 1)
						require.Len(t, fs, len(b.frames))
						for k, fr := range fs {
							assert.Equal(t, b.frames[k], runtimeFrame{fr.Func, fr.File, fr.Line}, "pc %#x frame %d", b.pc, k)
						}
						assert.Equal(t, markerLine(t, "inline", "twice"+strconv.Itoa(i+1)), fs[2].Line)
					}

					// Every change point.
					pcs := changePoints(img)
					var in bytes.Buffer
					for _, pc := range pcs {
						fmt.Fprintf(&in, "%x\n", pc)
					}
					blocks = parseFrames(t, run(t, path, &in, "frames"))
					require.Len(t, blocks, len(pcs))
					// Go 1.23 made CallersFrames expand inlined calls at any PC.
					innerOnly := v != "" && v < "go1.23"
					unnamed := map[string]bool{} // functions the runtime calls ""
					bad := 0
					for i, b := range blocks {
						require.Equal(t, pcs[i], b.pc)
						want := expectedFrames(img, b.pc)
						if innerOnly {
							want = want[:1]
						}
						if len(want) == len(b.frames) {
							for k := range want {
								// The runtime reads name offset 0 as no name.
								if b.frames[k].fn == "" && want[k].fn != "" {
									unnamed[want[k].fn] = true
									want[k].fn = ""
								}
							}
						}
						if !slices.Equal(want, b.frames) {
							if bad < 10 {
								t.Errorf("pc %#x: runtime says\n\t%v\nloader says\n\t%v", b.pc, b.frames, want)
							}
							bad++
						}
					}
					assert.Zero(t, bad, "of %d PCs", len(blocks))
					assert.LessOrEqual(t, len(unnamed), 1, "functions the runtime does not name: %v", unnamed)
					assert.Greater(t, len(blocks), 10000)
				})
			}
		})
	}
}

// nativeRunner returns a function that runs a linux/goarch executable with
// args and stdin and returns its standard output: directly on a host of
// that arch, else under qemu-user's qemu-<arch>, else it skips the test.
func nativeRunner(t *testing.T, goarch string) func(t *testing.T, path string, stdin *bytes.Buffer, args ...string) string {
	t.Helper()
	var prefix []string
	if runtime.GOARCH != goarch {
		q := map[string]string{"amd64": "qemu-x86_64", "arm64": "qemu-aarch64"}[goarch]
		p, err := exec.LookPath(q)
		if err != nil {
			t.Skipf("cannot run %s executables on %s: no %s", goarch, runtime.GOARCH, q)
		}
		prefix = []string{p}
	}
	return func(t *testing.T, path string, stdin *bytes.Buffer, args ...string) string {
		t.Helper()
		argv := append(append(prefix, path), args...)
		cmd := exec.Command(argv[0], argv[1:]...)
		if stdin != nil {
			cmd.Stdin = stdin
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "%s: %s", strings.Join(argv, " "), stderr.String())
		return string(out)
	}
}

// runtimeFrame is a frame as the fixture prints it.
type runtimeFrame struct {
	fn, file string
	line     int
}

func (f runtimeFrame) String() string { return fmt.Sprintf("%s %s:%d", f.fn, f.file, f.line) }

// frameBlock is the fixture's answer for one PC.
type frameBlock struct {
	pc     uint64
	frames []runtimeFrame
}

// parseFrames reads the fixture's "pc function file:line" blocks. Names
// are shortened as the runtime prints them (printName); a position the
// runtime does not know, "?:0", is read as ":0".
func parseFrames(t *testing.T, out string) []frameBlock {
	t.Helper()
	var blocks []frameBlock
	var cur *frameBlock
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		if l == "" {
			cur = nil
			continue
		}
		pcs, rest, ok1 := strings.Cut(l, " ")
		i := strings.LastIndexByte(rest, ' ')
		j := strings.LastIndexByte(rest, ':')
		pc, err := strconv.ParseUint(pcs, 16, 64)
		if !ok1 || i < 0 || j < i || err != nil {
			continue // the results line
		}
		line, err := strconv.Atoi(rest[j+1:])
		require.NoError(t, err, l)
		file := rest[i+1 : j]
		if file == "?" {
			file = ""
		}
		if cur == nil || cur.pc != pc {
			blocks = append(blocks, frameBlock{pc: pc})
			cur = &blocks[len(blocks)-1]
		}
		cur.frames = append(cur.frames, runtimeFrame{printName(rest[:i]), file, line})
	}
	return blocks
}

// printName shortens the type arguments of a generic function to "[...]",
// as the runtime prints names since Go 1.21 (funcNameForPrint).
func printName(name string) string {
	i := strings.IndexByte(name, '[')
	j := strings.LastIndexByte(name, ']')
	if i < 0 || j <= i {
		return name
	}
	return name[:i] + "[...]" + name[j+1:]
}

// expectedFrames returns what the runtime should report at pc: Inlined,
// less the wrappers it skips in all but the innermost frame, or the
// Symbolize answer outside inlined code.
func expectedFrames(img *loader.Image, pc uint64) []runtimeFrame {
	fs := img.Inlined(pc)
	if fs == nil {
		s, _ := img.Symbolize(pc)
		return []runtimeFrame{{printName(s.Name), s.File, s.Line}}
	}
	var out []runtimeFrame
	for i, f := range fs {
		if i > 0 && f.Wrapper {
			continue
		}
		out = append(out, runtimeFrame{printName(f.Func), f.File, f.Line})
	}
	return out
}

// changePoints returns the PCs of Go functions where Symbolize's position
// or Inlined's frames differ from the PC before or after, but not a
// function's last byte: the fixture asks the runtime about pc+1.
func changePoints(img *loader.Image) []uint64 {
	type answer struct {
		file  string
		line  int
		first *loader.InlinedFrame
	}
	at := func(pc uint64) answer {
		s, _ := img.Symbolize(pc)
		a := answer{file: s.File, line: s.Line}
		if fs := img.Inlined(pc); fs != nil {
			a.first = &fs[0]
		}
		return a
	}
	var pcs []uint64
	for _, f := range img.Funcs() {
		if s, _ := img.Symbolize(f.Entry); s.Line == 0 {
			continue // not a Go function
		}
		prev := answer{}
		cur := at(f.Entry)
		for pc := f.Entry; pc+1 < f.End; pc++ {
			next := at(pc + 1)
			if pc == f.Entry || cur != prev || cur != next {
				pcs = append(pcs, pc)
			}
			prev, cur = cur, next
		}
	}
	return pcs
}

// TestInlinedDamaged corrupts the tables Inlined reads — the _func
// records and pc-value tables in .gopclntab, the inline trees after
// go:func.* — and checks that it neither panics nor returns frames that
// break its contract.
func TestInlinedDamaged(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			for _, v := range []string{"", "go1.17.13"} {
				t.Run(cmpName(v), func(t *testing.T) {
					t.Parallel()
					path := loadertest.Build(t, "inline", a.Name, toolchainOpts(v)...)
					data, err := os.ReadFile(path)
					require.NoError(t, err)
					f, err := elf.NewFile(bytes.NewReader(data))
					require.NoError(t, err)
					pcln := f.Section(".gopclntab")
					require.NotNil(t, pcln)
					syms, err := f.Symbols()
					require.NoError(t, err)
					var gofunc uint64
					for _, s := range syms {
						if s.Name == "go:func.*" || s.Name == "go.func.*" {
							gofunc = s.Value
						}
					}
					require.NotZero(t, gofunc)
					var gofuncOff uint64
					for _, p := range f.Progs {
						if p.Type == elf.PT_LOAD && p.Vaddr <= gofunc && gofunc < p.Vaddr+p.Filesz {
							gofuncOff = p.Off + gofunc - p.Vaddr
						}
					}
					require.NotZero(t, gofuncOff)
					// File ranges to damage: .gopclntab after its header,
					// and the start of go:func.*.
					regions := [][2]uint64{
						{pcln.Offset + 64, pcln.Offset + pcln.Size},
						{gofuncOff, min(gofuncOff+16<<10, uint64(len(data)))},
					}
					rng := rand.New(rand.NewSource(3))
					inlined := 0
					for round := range 20 {
						b := bytes.Clone(data)
						r := regions[round%len(regions)]
						for range 40 {
							b[r[0]+uint64(rng.Int63n(int64(r[1]-r[0])))] = byte(rng.Intn(256))
						}
						img, err := parseBytes(b, "damaged")
						require.NoError(t, err)
						for _, fn := range img.Funcs() {
							for pc := fn.Entry; pc < fn.End; pc += 5 {
								fs := img.Inlined(pc)
								if fs == nil {
									continue
								}
								inlined++
								s, _ := img.Symbolize(pc)
								if len(fs) < 2 || fs[len(fs)-1].Func != s.Name || fs[0].Line != s.Line {
									t.Fatalf("round %d: Inlined(%#x) = %v in %v", round, pc, fs, s)
								}
							}
						}
					}
					assert.Greater(t, inlined, 1000, "inlined PCs found in damaged files")
				})
			}
		})
	}
}

// TestInlinedAllocs checks that Inlined allocates nothing once a
// function's table is decoded.
func TestInlinedAllocs(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			img := openImage(t, loadertest.Build(t, "inline", a.Name))
			pcs := inlinedPCs(img)
			allocs := testing.AllocsPerRun(10, func() {
				for _, pc := range pcs {
					img.Inlined(pc)
				}
			})
			assert.Zero(t, allocs)
		})
	}
}

// inlinedPCs returns a spread of PCs, half of them in inlined code, and
// decodes their functions' tables.
func inlinedPCs(img *loader.Image) []uint64 {
	var in, out []uint64
	for i, f := range img.Funcs() {
		if i%3 != 0 {
			continue
		}
		for pc := f.Entry; pc < f.End; pc += 5 {
			if img.Inlined(pc) != nil {
				in = append(in, pc)
			} else {
				out = append(out, pc)
			}
		}
	}
	n := min(len(in), len(out), 5000)
	rng := rand.New(rand.NewSource(1))
	rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	pcs := append(in[:n:n], out[:n]...)
	rng.Shuffle(len(pcs), func(i, j int) { pcs[i], pcs[j] = pcs[j], pcs[i] })
	return pcs
}

// TestInlinedConcurrent decodes tables from 8 goroutines at once and
// compares with the answers of another image.
func TestInlinedConcurrent(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			path := loadertest.Build(t, "inline", a.Name)
			ref := openImage(t, path)
			pcs := inlinedPCs(ref)
			img := openImage(t, path)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range pcs {
						pc := pcs[(k+g*len(pcs)/8)%len(pcs)]
						if got, want := img.Inlined(pc), ref.Inlined(pc); !slices.Equal(got, want) {
							t.Errorf("Inlined(%#x) = %v, want %v", pc, got, want)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

// BenchmarkInlined measures Inlined on decoded tables, at PCs half in and
// half outside inlined code.
func BenchmarkInlined(b *testing.B) {
	img, err := loader.Open(loadertest.Build(b, "inline", "amd64"))
	require.NoError(b, err)
	pcs := inlinedPCs(img)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		img.Inlined(pcs[i%len(pcs)])
	}
}

// BenchmarkInlinedDecode measures decoding every function's inline table
// (and line table) of a fresh image, one Inlined call per function.
func BenchmarkInlinedDecode(b *testing.B) {
	path := loadertest.Build(b, "inline", "amd64")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		img, err := loader.Open(path)
		require.NoError(b, err)
		funcs := img.Funcs()
		b.StartTimer()
		for _, f := range funcs {
			img.Inlined(f.Entry)
		}
	}
}
