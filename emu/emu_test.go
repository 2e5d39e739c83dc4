package emu_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/arch/x86/x86asm"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
	"github.com/gorunemu/gorunemu/syscalls"
)

// start loads a fixture and returns the process, closed at the end.
func start(t testing.TB, bin string, cfg emu.Config) *emu.Process {
	t.Helper()
	p, err := emu.Open(bin, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

func runTo(t testing.TB, p *emu.Process, u emu.Until) *emu.StopReason {
	t.Helper()
	r, err := p.Run(context.Background(), u)
	require.NoError(t, err)
	return r
}

func TestHelloReachesMainMain(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "hello", a.Name)
			p := start(t, bin, emu.Config{})
			r := runTo(t, p, emu.UntilSymbol("main.main"))
			require.Equal(t, emu.StopUntil, r.Kind, "stop: %s", r)
			mainAddr, ok := p.Image().Lookup("main.main")
			require.True(t, ok)
			assert.Equal(t, mainAddr, r.PC)
			assert.Equal(t, "main.main", r.Symbol)
			assert.Equal(t, p.MainThread().TID, r.TID, "main.main runs on the main thread (locked by runtime.main)")
			st := p.Stats()
			assert.Empty(t, st.Unimplemented)
			assert.GreaterOrEqual(t, st.Threads, 3, "sysmon and the Ms gcenable waits for")
			t.Logf("%s: %d instructions, %d syscalls, %d threads", a.Name, st.Insns, st.Syscalls, st.Threads)
		})
	}
}

func TestHelloRunsToExit(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			p := start(t, loadertest.Build(t, "hello", a.Name), emu.Config{Stdout: &out, Stderr: &errOut})
			r := runTo(t, p, emu.UntilExit())
			require.Equal(t, emu.StopExited, r.Kind, "stop: %s", r)
			assert.Equal(t, 0, r.Code)
			assert.Equal(t, "hello world\n", out.String())
			assert.Empty(t, errOut.String())
		})
	}
}

func TestExitCode(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			p := start(t, loadertest.Build(t, "exit", a.Name), emu.Config{})
			r := runTo(t, p, emu.UntilExit())
			require.Equal(t, emu.StopExited, r.Kind, "stop: %s", r)
			assert.Equal(t, 3, r.Code)
		})
	}
}

func TestArgsAndEnv(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			p := start(t, loadertest.Build(t, "args", a.Name), emu.Config{
				Argv:   []string{"./args", "one", "two words"},
				Env:    []string{"GORUNEMU_TEST=forty two", "HOME=/root"},
				Stdout: &out,
			})
			r := runTo(t, p, emu.UntilExit())
			require.Equal(t, emu.StopExited, r.Kind, "stop: %s", r)
			assert.Equal(t, "arg[0]=./args\narg[1]=one\narg[2]=two words\nGORUNEMU_TEST=forty two\n", out.String())
		})
	}
}

// TestRuntimeStateAtMainMain reads the runtime's globals through the
// library API, with field offsets from the reference table (Go 1.25+).
func TestRuntimeStateAtMainMain(t *testing.T) {
	const (
		gStackLo, gStackHi, gStackguard0, gStackguard1, gM = 0x0, 0x8, 0x10, 0x18, 0x30
		mG0, mTLS                                          = 0x0, 0x80
	)
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			p := start(t, loadertest.Build(t, "hello", a.Name), emu.Config{})
			r := runTo(t, p, emu.UntilSymbol("main.main"))
			require.Equal(t, emu.StopUntil, r.Kind, "stop: %s", r)
			img := p.Image()
			g0, ok := img.Lookup("runtime.g0")
			require.True(t, ok)
			m0, ok := img.Lookup("runtime.m0")
			require.True(t, ok)
			word := func(addr uint64) uint64 {
				v, err := p.ReadU64(addr)
				require.NoError(t, err)
				return v
			}
			lo, hi := word(g0+gStackLo), word(g0+gStackHi)
			assert.Equal(t, uint64(0x10000), hi-lo, "g0 stack size")
			assert.Equal(t, lo+0x3a0, word(g0+gStackguard0), "stackguard0")
			assert.Equal(t, lo+0x3a0, word(g0+gStackguard1), "stackguard1")
			assert.Equal(t, p.Stack().SP-0x30, hi, "g0.stack.hi is 48 bytes below the entry SP")
			assert.Equal(t, m0, word(g0+gM), "g0.m == &m0")
			assert.Equal(t, g0, word(m0+mG0), "m0.g0 == &g0")

			main := p.MainThread()
			tls, err := main.Reg(a.TLS)
			require.NoError(t, err)
			g, err := main.Reg(a.G)
			require.NoError(t, err)
			if a == arch.AMD64 {
				assert.Equal(t, m0+mTLS+8, tls, "FS base == &m0.tls+8")
				assert.Equal(t, g, word(tls-8), "*(FS-8) == R14 == running g")
			} else {
				assert.Zero(t, tls, "TPIDR_EL0 is never set by a static non-cgo binary")
			}
			assert.NotEqual(t, g0, g, "main.main runs on the main goroutine, not g0")
		})
	}
}

// TestDeterministic runs the same binary twice with the same seed and
// once with another: the first two agree exactly.
func TestDeterministic(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "hello", a.Name)
			run := func(seed uint64) (uint64, []string) {
				rec := &syscallRecorder{}
				p := start(t, bin, emu.Config{Seed: seed, Observer: rec})
				r := runTo(t, p, emu.UntilExit())
				require.Equal(t, emu.StopExited, r.Kind)
				return r.Insns, rec.calls
			}
			n1, c1 := run(7)
			n2, c2 := run(7)
			assert.Equal(t, n1, n2, "instruction count")
			assert.Equal(t, c1, c2, "syscall sequence")
			n3, _ := run(8)
			t.Logf("%s: seed 7 → %d instructions, seed 8 → %d", a.Name, n1, n3)
		})
	}
}

type syscallRecorder struct {
	emu.NopObserver
	calls []string
}

func (r *syscallRecorder) Syscall(t *emu.Thread, c *syscalls.Call) {
	r.calls = append(r.calls, fmt.Sprintf("%d %s %x = %#x", t.TID, c.Name, c.Args, c.Ret))
}

// TestOlderGoReleases runs the fixtures built by older Go releases, which
// the module proxy serves as toolchains.
func TestOlderGoReleases(t *testing.T) {
	for _, version := range []string{"go1.21.13", "go1.17.13"} {
		for _, a := range arch.All() {
			t.Run(version+"/"+a.Name, func(t *testing.T) {
				t.Parallel()
				opt := loadertest.Toolchain(version)
				hello := loadertest.Build(t, "hello", a.Name, opt)

				p := start(t, hello, emu.Config{})
				assert.Equal(t, version, p.Image().GoVersion)
				r := runTo(t, p, emu.UntilSymbol("main.main"))
				require.Equal(t, emu.StopUntil, r.Kind, "stop: %s", r)

				var out bytes.Buffer
				p = start(t, hello, emu.Config{Stdout: &out})
				r = runTo(t, p, emu.UntilExit())
				require.Equal(t, emu.StopExited, r.Kind, "stop: %s", r)
				assert.Equal(t, 0, r.Code)
				assert.Equal(t, "hello world\n", out.String())

				p = start(t, loadertest.Build(t, "exit", a.Name, opt), emu.Config{})
				r = runTo(t, p, emu.UntilExit())
				require.Equal(t, emu.StopExited, r.Kind, "stop: %s", r)
				assert.Equal(t, 3, r.Code)

				out.Reset()
				p = start(t, loadertest.Build(t, "args", a.Name, opt), emu.Config{
					Argv: []string{"./args", "x"}, Env: []string{"GORUNEMU_TEST=old"}, Stdout: &out,
				})
				r = runTo(t, p, emu.UntilExit())
				require.Equal(t, emu.StopExited, r.Kind, "stop: %s", r)
				assert.Equal(t, "arg[0]=./args\narg[1]=x\nGORUNEMU_TEST=old\n", out.String())
			})
		}
	}
}

// TestFSRoot: with a root directory the guest reads host files there, and
// only there; a root that does not exist fails at once.
func TestFSRoot(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644))
	target := filepath.Join(t.TempDir(), "escaped")
	var out bytes.Buffer
	p := start(t, loadertest.Build(t, "escape", "amd64"), emu.Config{Argv: []string{"./escape", target}, FSRoot: root, Stdout: &out})
	r := runTo(t, p, emu.UntilExit())
	require.Equal(t, emu.StopExited, r.Kind, "stop: %s", r)
	assert.Contains(t, out.String(), "read /etc/passwd: ok\n")
	assert.NotContains(t, out.String(), "write: ok")
	_, err := os.Stat(target)
	assert.ErrorIs(t, err, os.ErrNotExist)

	_, err = emu.Open(loadertest.Build(t, "hello", "amd64"), emu.Config{FSRoot: filepath.Join(root, "nosuch")})
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestMicroarchitectureLevels runs hello built for x86-64-v1, v2 and v3. A
// level runs to exit exactly when the emulated CPU reports every feature
// it needs; otherwise the runtime itself refuses it with its own message,
// as on a real CPU without them. With Unicorn 2.1, v2 runs (POPCNT
// executes) and v3 does not (no AVX).
func TestMicroarchitectureLevels(t *testing.T) {
	cpu, err := emu.GuestCPU(arch.AMD64)
	require.NoError(t, err)
	highest, missing := cpu.GOAMD64(arch.AMD64)
	assert.Equal(t, "v2", highest, "Unicorn 2.1 executes POPCNT and the rest of v2")
	for _, level := range []string{"v1", "v2", "v3"} {
		t.Run(level, func(t *testing.T) {
			var out, errOut bytes.Buffer
			p := start(t, loadertest.Build(t, "hello", "amd64", loadertest.Env("GOAMD64="+level)), emu.Config{Stdout: &out, Stderr: &errOut})
			r := runTo(t, p, emu.UntilExit())
			require.Equal(t, emu.StopExited, r.Kind, "stop: %s", r)
			if len(missing[level]) == 0 {
				assert.Equal(t, 0, r.Code, "stderr: %s", errOut.String())
				assert.Equal(t, "hello world\n", out.String())
			} else {
				assert.Equal(t, 1, r.Code)
				assert.Contains(t, errOut.String(), "This program can only be run on AMD64 processors with "+level+" microarchitecture support.")
			}
		})
	}
}

// TestSignalFromOutside: Signal, called from another goroutine while Run
// runs, reaches the guest as a kill from its parent would: a spinning Go
// program without a handler for SIGTERM is killed by it.
func TestSignalFromOutside(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			p := start(t, loadertest.Build(t, "loop", a.Name), emu.Config{})
			go func() {
				time.Sleep(50 * time.Millisecond)
				p.Signal(15)
			}()
			r := runTo(t, p, emu.UntilExit())
			require.Equal(t, emu.StopKilled, r.Kind, "stop: %s", r)
			assert.Equal(t, 15, r.Signal)
		})
	}
}

// TestExecutableNamedAsTheGuestSeesIt checks that /proc/self/maps names
// the executable's mappings by the path /proc/self/exe gives, not by
// where the binary lies on the host.
func TestExecutableNamedAsTheGuestSeesIt(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "procself", a.Name)
			var out bytes.Buffer
			p := start(t, bin, emu.Config{Stdout: &out})
			runTo(t, p, emu.UntilExit())
			want := "exe: /procself <nil>\nmapped: /procself\n"
			assert.Equal(t, want, out.String())
			assert.NotContains(t, out.String(), filepath.Dir(bin), "the host directory stays hidden")
		})
	}
}

// TestCloseDuringRun: Close from another goroutine while Run runs ends
// the run with ErrClosed and frees the process, instead of freeing the
// engine under the running CPU (which crashed the host).
func TestCloseDuringRun(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			p, err := emu.Open(loadertest.Build(t, "loop", a.Name), emu.Config{})
			require.NoError(t, err)
			type result struct {
				r   *emu.StopReason
				err error
			}
			done := make(chan result, 1)
			go func() {
				r, err := p.Run(context.Background(), emu.UntilExit())
				done <- result{r, err}
			}()
			time.Sleep(100 * time.Millisecond)
			require.NoError(t, p.Close())
			res := <-done
			assert.ErrorIs(t, res.err, emu.ErrClosed, "stop: %v", res.r)
			_, err = p.Run(context.Background(), emu.UntilExit())
			assert.ErrorIs(t, err, emu.ErrClosed)
			require.NoError(t, p.Close(), "a second Close is fine")
		})
	}
}

// TestUntilOffsetsAndLines: --until takes a symbol with an offset, as
// traces print them, and FILE:LINE; a stop inside an instruction or past
// a function is refused at once, not silently never reached.
func TestUntilOffsetsAndLines(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "hello", a.Name)
			img, err := loader.Open(bin)
			require.NoError(t, err)
			entry, ok := img.Lookup("runtime.rt0_go")
			require.True(t, ok)
			// The second instruction of rt0_go, and one byte into the first.
			second, inside := uint64(4), uint64(1)
			if a == arch.AMD64 {
				code := make([]byte, 16)
				require.NoError(t, img.ReadMem(entry, code))
				in, err := x86asm.Decode(code, 64)
				require.NoError(t, err)
				require.Greater(t, in.Len, 1)
				second = uint64(in.Len)
			}
			u, err := emu.ParseUntil(fmt.Sprintf("runtime.rt0_go+%#x", second))
			require.NoError(t, err)
			p := start(t, bin, emu.Config{})
			r := runTo(t, p, u)
			require.Equal(t, emu.StopUntil, r.Kind, "stop: %s", r)
			assert.Equal(t, entry+second, r.PC)

			u, err = emu.ParseUntil(fmt.Sprintf("runtime.rt0_go+%d", inside))
			require.NoError(t, err)
			_, err = start(t, bin, emu.Config{}).Run(context.Background(), u)
			assert.ErrorContains(t, err, "no thread would reach it")
			_, err = start(t, bin, emu.Config{}).Run(context.Background(), emu.UntilSymbol("main.main+0x100000"))
			assert.ErrorContains(t, err, "past the end of main.main")

			u, err = emu.ParseUntil("main.go:8")
			require.NoError(t, err)
			assert.Equal(t, emu.Until{Lines: []emu.SourceLine{{File: "main.go", Line: 8}}}, u)
			r = runTo(t, start(t, bin, emu.Config{}), u)
			require.Equal(t, emu.StopUntil, r.Kind, "stop: %s", r)
			assert.Equal(t, 8, r.Line)
			assert.Contains(t, r.Symbol, "main.main")
			_, err = start(t, bin, emu.Config{}).Run(context.Background(), emu.Until{Lines: []emu.SourceLine{{File: "main.go", Line: 4}}})
			assert.ErrorIs(t, err, emu.ErrNoSymbol)
		})
	}
}
