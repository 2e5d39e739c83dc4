package loader_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// reference is what debug/elf, independently of the loader, says about a
// fixture.
type reference struct {
	data   []byte
	entry  uint64
	loads  []elf.ProgHeader
	phdr   uint64 // PT_PHDR vaddr
	phnum  int
	syms   map[string]elf.Symbol // .symtab, nil when stripped
	shoff  uint64
	shnum  int
	pclnOf uint64 // file offset of .gopclntab
}

func readReference(t *testing.T, path string) *reference {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	f, err := elf.NewFile(bytes.NewReader(data))
	require.NoError(t, err)
	r := &reference{data: data, entry: f.Entry, phnum: len(f.Progs)}
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			r.loads = append(r.loads, p.ProgHeader)
		case elf.PT_PHDR:
			r.phdr = p.Vaddr
		}
	}
	if syms, err := f.Symbols(); err == nil {
		r.syms = make(map[string]elf.Symbol)
		for _, s := range syms {
			r.syms[s.Name] = s
		}
	}
	r.shoff = binary.LittleEndian.Uint64(data[40:])
	r.shnum = int(binary.LittleEndian.Uint16(data[60:]))
	if s := f.Section(".gopclntab"); s != nil {
		r.pclnOf = s.Offset
	}
	return r
}

var goVersion = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	return strings.TrimSpace(string(out)), err
})

func openImage(t *testing.T, path string) *loader.Image {
	t.Helper()
	img, err := loader.Open(path)
	require.NoError(t, err)
	require.NoError(t, img.SymbolErr)
	return img
}

// rt0File matches the file of the ELF entry function in a -trimpath build.
func rt0File(a *arch.Arch) *regexp.Regexp {
	return regexp.MustCompile(`^runtime/(rt0_linux_` + a.Name + `|asm_` + a.Name + `)\.s$`)
}

// mainLine returns the line of "func main()" in a fixture's main.go.
func mainLine(t *testing.T, name string) int {
	t.Helper()
	root, err := loadertest.ModuleRoot()
	require.NoError(t, err)
	f, err := os.Open(filepath.Join(root, "testdata", name, "main.go"))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.HasPrefix(sc.Text(), "func main()") {
			return n
		}
	}
	t.Fatalf("no func main() in %s", name)
	return 0
}

func TestFixtureImages(t *testing.T) {
	want, err := goVersion()
	if err != nil {
		t.Skipf("go env GOVERSION: %v", err)
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			full := loadertest.Build(t, "hello", a.Name)
			stripped := loadertest.Build(t, "hello", a.Name, loadertest.Stripped())
			ref := readReference(t, full)
			img := openImage(t, full)
			simg := openImage(t, stripped)

			for _, im := range []*loader.Image{img, simg} {
				assert.Same(t, a, im.Arch)
				assert.Equal(t, elf.ET_EXEC, im.Type)
				assert.Zero(t, im.Bias)
				assert.Equal(t, ref.entry, im.Entry)
				assert.Equal(t, want, im.GoVersion)
				assert.Equal(t, ref.phdr, im.PhdrAddr, "AT_PHDR is the PT_PHDR address")
				assert.Equal(t, ref.phnum, im.Phnum)
				assert.Equal(t, 56, im.Phent)
				require.Len(t, im.Segments, len(ref.loads))
				var end uint64
				for i, p := range ref.loads {
					s := im.Segments[i]
					assert.Equal(t, p.Vaddr, s.Addr)
					assert.Equal(t, p.Memsz, s.MemSize)
					assert.Equal(t, p.Filesz, s.FileSize)
					assert.Equal(t, p.Off, s.Off)
					assert.Equal(t, uint64(len(s.Data)), s.FileSize)
					end = max(end, p.Vaddr+p.Memsz)
				}
				assert.Equal(t, (end+4095)&^4095, im.BrkStart)
				text := im.SegmentAt(im.Entry)
				assert.Equal(t, loader.PROT_READ|loader.PROT_EXEC, text.Prot)
				code := make([]byte, 16)
				require.NoError(t, im.ReadMem(im.Entry, code))
				off := text.Off + (im.Entry - text.Addr)
				assert.Equal(t, ref.data[off:off+16], code, "the entry's instructions")
			}
			assert.False(t, img.Stripped)
			assert.True(t, simg.Stripped)
			require.NotNil(t, ref.syms)

			// main.main from the symbol table, and from .gopclntab alone.
			mainSym, ok := ref.syms["main.main"]
			require.True(t, ok)
			for _, im := range []*loader.Image{img, simg} {
				addr, ok := im.Lookup("main.main")
				require.True(t, ok)
				assert.Equal(t, mainSym.Value, addr)
				s, ok := im.Symbolize(addr + 4)
				require.True(t, ok)
				assert.Equal(t, loader.Symbol{Name: "main.main", Addr: mainSym.Value, Offset: 4, File: s.File, Line: s.Line}, s)
				assert.Equal(t, "github.com/gorunemu/gorunemu/testdata/hello/main.go", s.File)
				f, ok := im.FuncAt(addr)
				require.True(t, ok)
				assert.Equal(t, "main.main", f.Name)
				assert.GreaterOrEqual(t, f.End, mainSym.Value+mainSym.Size)

				s, ok = im.Symbolize(addr)
				require.True(t, ok)
				assert.Equal(t, mainLine(t, "hello"), s.Line)
				assert.Equal(t, "main.main", s.String())

				// The entry point.
				s, ok = im.Symbolize(im.Entry)
				require.True(t, ok)
				assert.Equal(t, "_rt0_"+a.Name+"_linux", s.Name)
				assert.Zero(t, s.Offset)
				assert.Regexp(t, rt0File(a), s.File)
				assert.Positive(t, s.Line)
				rt0, ok := im.Lookup("_rt0_" + a.Name + "_linux")
				assert.True(t, ok)
				assert.Equal(t, im.Entry, rt0)
			}

			// Functions resolve the same with and without .symtab; for
			// a Go function called from assembly, the name is the Go
			// function and "<name>.abi0" its ABI0 wrapper, as in .symtab.
			for _, name := range []string{"runtime.rt0_go", "runtime.main", "runtime.schedinit", "runtime.schedinit.abi0", "runtime.mstart", "runtime.check"} {
				u, uok := img.Lookup(name)
				s, sok := simg.Lookup(name)
				assert.True(t, uok, name)
				assert.True(t, sok, name)
				assert.Equal(t, u, s, name)
				if sym, ok := ref.syms[name]; ok {
					assert.Equal(t, sym.Value, u, name)
				}
			}
			if sym, ok := ref.syms["runtime.rt0_go.abi0"]; ok {
				addr, _ := simg.Lookup("runtime.rt0_go")
				assert.Equal(t, sym.Value, addr, "runtime.rt0_go is ABI0-only: .symtab calls it runtime.rt0_go.abi0")
			}
			// No stripped lookup disagrees with .symtab.
			found := 0
			for name, sym := range ref.syms {
				if elf.ST_TYPE(sym.Info) != elf.STT_FUNC || sym.Size == 0 {
					continue
				}
				if addr, ok := simg.Lookup(name); ok {
					found++
					assert.Equal(t, sym.Value, addr, name)
				}
			}
			assert.Greater(t, found, 1000)

			// Data symbols need .symtab.
			for _, name := range []string{"runtime.m0", "runtime.g0"} {
				addr, ok := img.Lookup(name)
				assert.True(t, ok, name)
				assert.Equal(t, ref.syms[name].Value, addr, name)
				_, ok = simg.Lookup(name)
				assert.False(t, ok, name)
			}

			// Funcs: sorted, disjoint, the same in both files.
			funcs := img.Funcs()
			assert.Greater(t, len(funcs), 1000)
			for i, f := range funcs {
				assert.Less(t, f.Entry, f.End, f.Name)
				if i > 0 {
					assert.LessOrEqual(t, funcs[i-1].End, f.Entry, f.Name)
				}
			}
			assert.Equal(t, funcs, simg.Funcs())
			assert.True(t, slices.ContainsFunc(funcs, func(f loader.Func) bool { return f.Name == "main.main" && f.Entry == mainSym.Value }))

			compareGosym(t, img, full, 3)
			compareGosym(t, simg, stripped, 3)
		})
	}
}

// compareGosym checks Symbolize against debug/gosym at every step-th PC of
// every function.
func compareGosym(t *testing.T, img *loader.Image, path string, step uint64) {
	t.Helper()
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	pcln, err := f.Section(".gopclntab").Data()
	require.NoError(t, err)
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(pcln, f.Section(".text").Addr))
	require.NoError(t, err)
	require.NotEmpty(t, tab.Funcs)
	n, bad := 0, 0
	for _, fn := range tab.Funcs {
		if strings.HasPrefix(fn.Name, "go:") {
			// Linker markers (go:textfipsstart) have no pc tables: their
			// offsets are 0, which the runtime reads as "none" and gosym
			// decodes from the first bytes of the pc table.
			continue
		}
		for pc := fn.Entry; pc < fn.End; pc += step {
			n++
			file, line, gf := tab.PCToLine(pc)
			if line < 0 {
				line = 0
			}
			s, ok := img.Symbolize(pc)
			want := loader.Symbol{Name: gf.Name, Addr: gf.Entry, Offset: pc - gf.Entry, File: file, Line: line}
			if !ok || s != want {
				if bad < 10 {
					t.Errorf("%s: Symbolize(%#x) = %#v, %v; gosym says %#v", filepath.Base(path), pc, s, ok, want)
				}
				bad++
			}
		}
	}
	assert.Zero(t, bad, "of %d PCs", n)
	assert.Greater(t, n, 10000)
}

// TestOldToolchains checks tables written by older linkers: Go 1.21 (the
// 1.20 pclntab header) and Go 1.17 (the 1.16 header, without a text start).
func TestOldToolchains(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			for _, v := range []string{"go1.21.13", "go1.17.13"} {
				t.Run(v, func(t *testing.T) {
					t.Parallel()
					full := loadertest.Build(t, "hello", a.Name, loadertest.Toolchain(v))
					stripped := loadertest.Build(t, "hello", a.Name, loadertest.Toolchain(v), loadertest.Stripped())
					ref := readReference(t, full)
					img := openImage(t, full)
					simg := openImage(t, stripped)
					mainSym := ref.syms["main.main"]
					require.NotZero(t, mainSym.Value)
					for _, im := range []*loader.Image{img, simg} {
						assert.Equal(t, v, im.GoVersion)
						addr, ok := im.Lookup("main.main")
						assert.True(t, ok)
						assert.Equal(t, mainSym.Value, addr)
						s, ok := im.Symbolize(im.Entry)
						require.True(t, ok)
						assert.Equal(t, "_rt0_"+a.Name+"_linux", s.Name)
						assert.Regexp(t, rt0File(a), s.File)
						s, _ = im.Symbolize(addr)
						assert.Equal(t, "fixture/main.go", s.File)
						assert.Equal(t, mainLine(t, "hello"), s.Line)
					}
					for _, name := range []string{"runtime.rt0_go", "runtime.main", "runtime.schedinit"} {
						u, uok := img.Lookup(name)
						s, sok := simg.Lookup(name)
						assert.True(t, uok && sok, name)
						assert.Equal(t, u, s, name)
					}
					compareGosym(t, simg, stripped, 5)
				})
			}
		})
	}
}

func TestOtherFixtures(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			for _, name := range []string{"exit", "args"} {
				img := openImage(t, loadertest.Build(t, name, a.Name))
				addr, ok := img.Lookup("main.main")
				require.True(t, ok, name)
				s, _ := img.Symbolize(addr)
				assert.Equal(t, "github.com/gorunemu/gorunemu/testdata/"+name+"/main.go", s.File)
				assert.Equal(t, mainLine(t, name), s.Line)
			}
		})
	}
}

// TestDamagedFixtures mutates real executables.
func TestDamagedFixtures(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			full := loadertest.Build(t, "hello", a.Name)
			ref := readReference(t, full)
			mainAddr := ref.syms["main.main"].Value

			t.Run("truncated", func(t *testing.T) {
				b := ref.data[:len(ref.data)/2]
				_, err := parseBytes(b, "half")
				assert.ErrorIs(t, err, loader.ErrBadSegment)
				assert.Regexp(t, `^loader: half: PT_LOAD \d: file range \[0x[0-9a-f]+, 0x[0-9a-f]+\) past end of file \(size `+strconv.Itoa(len(b))+`\)$`, err.Error())
			})
			t.Run("machine", func(t *testing.T) {
				b := bytes.Clone(ref.data)
				binary.LittleEndian.PutUint16(b[18:], uint16(elf.EM_RISCV))
				_, err := parseBytes(b, "hello")
				assert.ErrorIs(t, err, loader.ErrUnsupportedMachine)
				assert.EqualError(t, err, `loader: hello: unsupported machine "riscv64" (want amd64 or arm64)`)
			})
			t.Run("no-section-headers", func(t *testing.T) {
				// As sstrip leaves it: .gopclntab is found by its header.
				for _, path := range []string{full, loadertest.Build(t, "hello", a.Name, loadertest.Stripped())} {
					b, err := os.ReadFile(path)
					require.NoError(t, err)
					binary.LittleEndian.PutUint64(b[40:], 0) // e_shoff
					binary.LittleEndian.PutUint16(b[60:], 0) // e_shnum
					binary.LittleEndian.PutUint16(b[62:], 0) // e_shstrndx
					img, err := parseBytes(b, "sstripped")
					require.NoError(t, err)
					assert.NoError(t, img.SymbolErr)
					assert.True(t, img.Stripped)
					addr, ok := img.Lookup("main.main")
					assert.True(t, ok)
					assert.Equal(t, mainAddr, addr)
					s, _ := img.Symbolize(img.Entry)
					assert.Equal(t, "_rt0_"+a.Name+"_linux", s.Name)
					assert.Positive(t, s.Line)
				}
			})
			t.Run("bad-pclntab", func(t *testing.T) {
				b := bytes.Clone(ref.data)
				require.NotZero(t, ref.pclnOf)
				copy(b[ref.pclnOf:], []byte{0, 0, 0, 0})
				img, err := parseBytes(b, "hello")
				require.NoError(t, err, "the image loads; only names from .gopclntab are lost")
				require.Error(t, img.SymbolErr)
				assert.Contains(t, img.SymbolErr.Error(), "loader: hello: symbols: .gopclntab: malformed .gopclntab")
				addr, ok := img.Lookup("main.main")
				assert.True(t, ok, "from .symtab")
				assert.Equal(t, mainAddr, addr)
				s, ok := img.Symbolize(addr + 1)
				assert.True(t, ok)
				assert.Equal(t, loader.Symbol{Name: "main.main", Addr: mainAddr, Offset: 1}, s, "ELF symbol, no line")
			})
			t.Run("random-section-headers", func(t *testing.T) {
				rng := rand.New(rand.NewSource(1))
				shEnd := ref.shoff + 64*uint64(ref.shnum)
				require.LessOrEqual(t, shEnd, uint64(len(ref.data)))
				for range 60 {
					b := bytes.Clone(ref.data)
					for range 6 {
						b[ref.shoff+uint64(rng.Intn(64*ref.shnum))] = byte(rng.Intn(256))
					}
					img, err := parseBytes(b, "m")
					require.NoError(t, err, "section headers do not matter to loading")
					exerciseImage(t, img)
				}
			})
			t.Run("random-pclntab", func(t *testing.T) {
				rng := rand.New(rand.NewSource(2))
				for range 60 {
					b := bytes.Clone(ref.data)
					for range 4 {
						// The header and the start of the function table.
						b[ref.pclnOf+uint64(rng.Intn(256))] = byte(rng.Intn(256))
					}
					img, err := parseBytes(b, "m")
					require.NoError(t, err)
					exerciseImage(t, img)
					text := img.SegmentAt(img.Entry)
					for pc := text.Addr; pc < text.End(); pc += 997 {
						img.Symbolize(pc)
					}
				}
			})
		})
	}
}

// TestSymbolizeAllocs checks that symbolizing a PC whose function has
// been seen allocates nothing.
func TestSymbolizeAllocs(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			img := openImage(t, loadertest.Build(t, "hello", a.Name))
			pcs := symbolizePCs(img)
			for _, pc := range pcs {
				img.Symbolize(pc)
			}
			allocs := testing.AllocsPerRun(10, func() {
				for _, pc := range pcs {
					if _, ok := img.Symbolize(pc); !ok {
						t.Fatalf("Symbolize(%#x) failed", pc)
					}
				}
			})
			assert.Zero(t, allocs)
		})
	}
}

// symbolizePCs returns a spread of PCs inside functions.
func symbolizePCs(img *loader.Image) []uint64 {
	var pcs []uint64
	for i, f := range img.Funcs() {
		if i%7 == 0 {
			pcs = append(pcs, f.Entry, f.Entry+(f.End-f.Entry)/2)
		}
	}
	return pcs
}

func TestSymbolizeConcurrent(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			path := loadertest.Build(t, "hello", a.Name)
			// Answers from one image, then the same questions asked of a
			// fresh one from 8 goroutines at once, so that line tables are
			// decoded concurrently.
			ref := openImage(t, path)
			pcs := symbolizePCs(ref)
			want := make([]loader.Symbol, len(pcs))
			for i, pc := range pcs {
				want[i], _ = ref.Symbolize(pc)
			}
			img := openImage(t, path)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range pcs {
						i := (k + g*len(pcs)/8) % len(pcs)
						if s, _ := img.Symbolize(pcs[i]); s != want[i] {
							t.Errorf("Symbolize(%#x) = %v, want %v", pcs[i], s, want[i])
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

func BenchmarkSymbolize(b *testing.B) {
	img, err := loader.Open(loadertest.Build(b, "hello", "amd64"))
	require.NoError(b, err)
	pcs := symbolizePCs(img)
	for _, pc := range pcs {
		img.Symbolize(pc)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		img.Symbolize(pcs[i%len(pcs)])
	}
}

func BenchmarkOpen(b *testing.B) {
	path := loadertest.Build(b, "hello", "amd64")
	for i := 0; i < b.N; i++ {
		if _, err := loader.Open(path); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStaticPIE loads a real static-pie (ET_DYN without PT_INTERP), which
// only an external link with a C toolchain produces: amd64 hosts with gcc
// and a static libc only.
func TestStaticPIE(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("needs an amd64 Linux host to link a static-pie")
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to link a static-pie")
	}
	if out, err := exec.Command(gcc, "-print-file-name=libc.a").Output(); err != nil || !filepath.IsAbs(strings.TrimSpace(string(out))) {
		t.Skip("no static libc to link a static-pie")
	}
	const ldflags = "-linkmode=external -extldflags=-static-pie"
	pie := loadertest.Build(t, "hello", "amd64", loadertest.Env("CGO_ENABLED=1"), loadertest.BuildFlags("-buildmode=pie", "-ldflags="+ldflags))
	spie := loadertest.Build(t, "hello", "amd64", loadertest.Env("CGO_ENABLED=1"), loadertest.BuildFlags("-buildmode=pie", "-ldflags=-s -w "+ldflags))
	ref := readReference(t, pie)
	mainSym := ref.syms["main.main"]
	require.NotZero(t, mainSym.Value)
	for _, path := range []string{pie, spie} {
		img := openImage(t, path)
		assert.Equal(t, elf.ET_DYN, img.Type)
		assert.Equal(t, arch.AMD64.PIEBase, img.Bias)
		assert.Equal(t, arch.AMD64.PIEBase+ref.entry, img.Entry)
		assert.Equal(t, arch.AMD64.PIEBase+ref.loads[0].Vaddr, img.Segments[0].Addr)
		assert.Equal(t, arch.AMD64.PIEBase+0x40, img.PhdrAddr)
		addr, ok := img.Lookup("main.main")
		require.True(t, ok)
		assert.Equal(t, arch.AMD64.PIEBase+mainSym.Value, addr)
		s, ok := img.Symbolize(addr)
		require.True(t, ok)
		assert.Equal(t, "main.main", s.Name)
		assert.Equal(t, mainLine(t, "hello"), s.Line)
		assert.Equal(t, "github.com/gorunemu/gorunemu/testdata/hello/main.go", s.File)
		rt0go, ok := img.Lookup("runtime.rt0_go")
		assert.True(t, ok)
		s, _ = img.Symbolize(rt0go)
		assert.Equal(t, "runtime/asm_amd64.s", s.File)
	}
	// The C entry point has an ELF symbol only in the unstripped file.
	s, ok := openImage(t, pie).Symbolize(arch.AMD64.PIEBase + ref.entry)
	assert.True(t, ok)
	assert.Equal(t, loader.Symbol{Name: "_start", Addr: arch.AMD64.PIEBase + ref.entry}, s)
}

func TestDataSymbolsAndSPDelta(t *testing.T) {
	for _, a := range []string{"amd64", "arm64"} {
		t.Run(a, func(t *testing.T) {
			img, err := loader.Open(loadertest.Build(t, "hello", a))
			require.NoError(t, err)
			g0, ok := img.Data("runtime.g0")
			require.True(t, ok)
			assert.Greater(t, g0.Size, uint64(0x100), "a g is a few hundred bytes")
			addr, ok := img.Lookup("runtime.g0")
			require.True(t, ok)
			assert.Equal(t, addr, g0.Addr)
			d, off, ok := img.DataAt(g0.Addr + 0x10)
			require.True(t, ok)
			assert.Equal(t, "runtime.g0", d.Name)
			assert.Equal(t, uint64(0x10), off)
			_, _, ok = img.DataAt(img.Entry)
			assert.False(t, ok, "code is not data")

			// A Go function has no frame at its entry and one after its
			// prologue; pcsp says how big.
			mainMain, ok := img.Lookup("main.main")
			require.True(t, ok)
			d0, ok := img.SPDelta(mainMain)
			require.True(t, ok)
			assert.Zero(t, d0)
			f, ok := img.FuncAt(mainMain)
			require.True(t, ok)
			var most int64
			for pc := f.Entry; pc < f.End; pc++ {
				if v, ok := img.SPDelta(pc); ok {
					most = max(most, v)
				}
			}
			assert.Greater(t, most, int64(0), "main.main sets up a frame")
			assert.Zero(t, most%8)

			stripped, err := loader.Open(loadertest.Build(t, "hello", a, loadertest.Stripped()))
			require.NoError(t, err)
			_, ok = stripped.Data("runtime.g0")
			assert.False(t, ok, "stripped binaries have no data symbols")
			sm, ok := stripped.Lookup("main.main")
			require.True(t, ok)
			v, ok := stripped.SPDelta(sm + (mainMain - f.Entry))
			require.True(t, ok, "pcsp survives stripping")
			assert.Zero(t, v)
		})
	}
}

// TestLineAddrs finds where a source line's code begins, by the file's
// base name or a longer suffix of its path, and nothing for a line
// without code.
func TestLineAddrs(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			img, err := loader.Open(loadertest.Build(t, "hello", a.Name))
			require.NoError(t, err)
			got := img.LineAddrs("main.go", 8) // fmt.Println("hello world")
			require.NotEmpty(t, got)
			for _, pc := range got {
				s, ok := img.Symbolize(pc)
				require.True(t, ok)
				assert.Equal(t, "main.main", s.Name)
				assert.Equal(t, 8, s.Line)
				assert.True(t, strings.HasSuffix(s.File, "testdata/hello/main.go"), s.File)
			}
			assert.Equal(t, got, img.LineAddrs("hello/main.go", 8))
			assert.Empty(t, img.LineAddrs("main.go", 4), "a blank line has no code")
			assert.Empty(t, img.LineAddrs("ain.go", 8), "a file matches by whole path elements")
		})
	}
}
