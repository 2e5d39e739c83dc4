package loader_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/loader"
)

// Fuzz targets for the two inputs gorunemu takes from its user: the ELF
// file and the strings of the initial stack. go test runs the seeds and
// the corpus in testdata/fuzz; go test -fuzz=FuzzX explores. Besides "no
// panic", each checks that errors are typed and that no call allocates
// more than a bound, whatever sizes the input claims.

// heapAllocs is the total of bytes allocated on the heap so far.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// parseAllocBound is how much Parse may allocate for a file of n bytes:
// a few copies of the file (segments, symbol and line tables) and a fixed
// amount besides. The image limit (1 GiB of memsz) must not turn into
// allocations: memory past filesz is not held. debug/elf allocates for a
// section header table before it finds the file too short (a 10 MiB chunk
// for a 120-byte file, testdata/fuzz/FuzzParse/bogus-section-headers-
// saferio-chunk), so the loader checks the table fits before calling it.
func parseAllocBound(n int) uint64 { return 16*uint64(n) + 4<<20 }

// FuzzParse feeds arbitrary bytes to Parse: it must return an image or a
// *FormatError, never panic, and the image's methods must not panic
// either.
func FuzzParse(f *testing.F) {
	for _, a := range arch.All() {
		e := minimal(a)
		f.Add(e.bytes())
		e.typ = 3 // ET_DYN
		f.Add(e.bytes())
	}
	f.Add([]byte("#!/bin/sh\n"))
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		before := heapAllocs()
		img, err := parseBytes(b, "fuzz")
		if grew := heapAllocs() - before; grew > parseAllocBound(len(b)) {
			t.Fatalf("Parse of %d bytes allocated %d bytes", len(b), grew)
		}
		if err != nil {
			var fe *loader.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FormatError: %v", err)
			}
			if fe.Err == nil || !errors.Is(err, fe.Err) {
				t.Fatalf("FormatError without a sentinel: %v", err)
			}
			return
		}
		exerciseImage(t, img)
	})
}

// maxFuzzStrings bounds how many strings of each kind FuzzNewStack
// passes: argv and envp together can pass the default argument budget
// with pointers alone (2 MiB, 262144 of them), and longer strings pass
// any budget.
const maxFuzzStrings = 1 << 18

// fuzzStrings splits b at '\n' and repeats the pieces until there are
// extra more of them (mod maxFuzzStrings); the pieces may hold NULs.
func fuzzStrings(b []byte, extra uint32) []string {
	var parts []string
	if len(b) > 0 {
		parts = strings.Split(string(b), "\n")
	}
	n := len(parts) + int(extra%maxFuzzStrings)
	if len(parts) == 0 && n > 0 {
		parts = []string{""}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = parts[i%len(parts)]
	}
	return out
}

// FuzzNewStack builds initial stacks from arbitrary argv and envp strings
// and counts, execfn, stack top, stack limit and page size, for a minimal
// image of either arch. An error must be ErrArgListTooLong or
// ErrInvalidArg, or (for a top that is not 16-byte aligned or too low for
// the stack) name the stack top; a stack must be laid out as execve lays
// it out; and NewStack must allocate no more than a few times the stack it
// returns, at most 64 MiB.
func FuzzNewStack(f *testing.F) {
	images := map[string]*loader.Image{}
	for _, a := range arch.All() {
		img, err := parseBytes(minimal(a).bytes(), "/bin/prog")
		if err != nil {
			f.Fatal(err)
		}
		images[a.Name] = img
	}
	f.Add(uint8(0), []byte("./prog\none\ntwo words"), []byte("HOME=/root\nGOGC=off"), uint32(0), uint32(0), "", uint64(0), uint64(0), uint64(0))
	f.Add(uint8(1), []byte(""), []byte(""), uint32(0), uint32(0), "/bin/prog", uint64(0), uint64(0), uint64(0))
	f.Add(uint8(0), []byte("nul\x00inside"), []byte(""), uint32(0), uint32(0), "", uint64(0), uint64(0), uint64(0))
	f.Add(uint8(1), []byte("x"), []byte("y"), uint32(140000), uint32(140000), "", uint64(0), uint64(0), uint64(0))
	f.Add(uint8(0), []byte(strings.Repeat("a", 4096)), []byte(""), uint32(600), uint32(0), "", uint64(0), uint64(0), uint64(0))
	f.Add(uint8(1), []byte("a"), []byte(""), uint32(0), uint32(0), strings.Repeat("e", 40), uint64(0), uint64(0), uint64(1))
	f.Add(uint8(0), []byte("a"), []byte(""), uint32(0), uint32(0), "", uint64(0x1001), uint64(0), uint64(0))
	f.Add(uint8(1), []byte("a"), []byte(""), uint32(0), uint32(0), "", uint64(64), uint64(0), uint64(0))
	f.Add(uint8(0), []byte("a"), []byte(""), uint32(0), uint32(0), "", uint64(1<<64-16), uint64(1<<64-1), uint64(1<<63))
	f.Fuzz(func(t *testing.T, archSel uint8, argv, envp []byte, nArgv, nEnvp uint32, execfn string, top, limit, page uint64) {
		a := arch.All()[int(archSel)%len(arch.All())]
		c := loader.StackConfig{
			Argv: fuzzStrings(argv, nArgv), Envp: fuzzStrings(envp, nEnvp), ExecFn: execfn,
			Top: top, StackLimit: limit, PageSize: page, Random: [16]byte{1, 2, 3},
		}
		before := heapAllocs()
		st, err := loader.NewStack(images[a.Name], c)
		grew := heapAllocs() - before
		if grew > 64<<20 {
			t.Fatalf("NewStack allocated %d bytes", grew)
		}
		if err != nil {
			badTop := top != 0 && (top%a.StackAlign != 0 || top < 1<<24)
			if !errors.Is(err, loader.ErrArgListTooLong) && !errors.Is(err, loader.ErrInvalidArg) &&
				!(badTop && errors.Is(err, loader.ErrBadStackTop)) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if bound := 4*uint64(len(st.Data)) + 32*uint64(len(c.Argv)+len(c.Envp)) + 1<<20; grew > bound {
			t.Fatalf("NewStack allocated %d bytes for a %d-byte stack", grew, len(st.Data))
		}
		checkStack(t, a, c, st)
	})
}

// checkStack checks a stack against its configuration: alignment, argc,
// every argv and envp pointer and string, execfn and the end of auxv.
func checkStack(t *testing.T, a *arch.Arch, c loader.StackConfig, st *loader.Stack) {
	t.Helper()
	wantTop := c.Top
	if wantTop == 0 {
		wantTop = a.StackTop
	}
	if st.Top != wantTop || st.SP%16 != 0 || st.Low != st.SP || uint64(len(st.Data)) != st.Top-st.SP {
		t.Fatalf("stack [%#x, %#x) sp %#x with %d bytes", st.Low, st.Top, st.SP, len(st.Data))
	}
	le := binary.LittleEndian
	word := func(addr uint64) uint64 { return le.Uint64(st.Data[addr-st.Low:]) }
	str := func(addr uint64) string {
		b := st.Data[addr-st.Low:]
		return string(b[:bytes.IndexByte(b, 0)])
	}
	if word(st.SP) != uint64(len(c.Argv)) {
		t.Fatalf("argc %d, want %d", word(st.SP), len(c.Argv))
	}
	for _, v := range []struct {
		base uint64
		strs []string
	}{{st.ArgvAddr, c.Argv}, {st.EnvpAddr, c.Envp}} {
		for i, s := range v.strs {
			if got := str(word(v.base + 8*uint64(i))); got != s {
				t.Fatalf("string %d at %#x = %q, want %q", i, v.base, got, s)
			}
		}
		if word(v.base+8*uint64(len(v.strs))) != 0 {
			t.Fatal("pointer array without its NULL")
		}
	}
	execfn := c.ExecFn
	if execfn == "" && len(c.Argv) > 0 {
		execfn = c.Argv[0]
	} else if execfn == "" {
		execfn = "/bin/prog"
	}
	if got, ok := st.Aux(loader.AT_EXECFN); !ok || got != st.ExecFnAddr || str(got) != execfn {
		t.Fatalf("AT_EXECFN %#x %q, want %q", got, str(got), execfn)
	}
	if last := st.Auxv[len(st.Auxv)-1]; last.Type != loader.AT_NULL {
		t.Fatalf("auxv ends with %v", last.Type)
	}
}
