package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

func TestInspectHello(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "hello", a.Name)
			img, err := loader.Open(bin)
			require.NoError(t, err)
			sym := func(name string) string {
				addr, ok := img.Lookup(name)
				require.True(t, ok, name)
				return fmt.Sprintf("%#x", addr)
			}
			code, out, errOut := gorunemu("inspect", bin)
			require.Equal(t, exitOK, code, "stderr: %s\n%s", errOut, out)
			assert.Regexp(t, `(?m)^binary: +\S+/hello \(`+a.Name+`, go1\.\d+`, out)
			assert.Regexp(t, `(?m)^stop: +reached main\.main \(`+sym("main.main")+`\) on thread 4242 after \d+ instructions`, out)
			assert.Regexp(t, `(?m)^layout: +symbols; g/m offsets from DWARF$`, out)
			assert.Regexp(t, `(?m)^g0 +`+sym("runtime.g0")+` +runtime\.g0$`, out)
			assert.Regexp(t, `(?m)^m0 +`+sym("runtime.m0")+` +runtime\.m0$`, out)
			assert.Regexp(t, `(?m)^  stack\.hi +0x[0-9a-f]+ +\[stack\] +entry SP − 0x30; hi − lo = 0x10000$`, out)
			assert.Regexp(t, `(?m)^  stackguard0 +0x[0-9a-f]+ +\[stack\] +lo \+ 0x3a0$`, out)
			assert.Regexp(t, `(?m)^  argv +\["\./hello"\] +runtime\.argv = 0x[0-9a-f]+ \(entry SP \+ 0x8\)$`, out)
			assert.Regexp(t, `(?m)^  physPageSize +4096 +runtime\.physPageSize$`, out)
			assert.Regexp(t, `(?m)^  ncpu +2 +runtime\.(ncpu|numCPUStartup)$`, out)
			assert.Regexp(t, `(?m)^thread 4242 +main, runnable$`, out)
			assert.Regexp(t, `(?m)^  pc +`+sym("main.main")+` +main\.main$`, out)
			if a == arch.AMD64 {
				assert.Regexp(t, `(?m)^  fs_base +0x[0-9a-f]+ +runtime\.m0\+0x88$`, out, "FS base = &m0.tls+8 (m.tls at 0x80)")
				assert.Regexp(t, `(?m)^  pass +tls +4242 +FS base 0x[0-9a-f]+ == &m0\.tls\+8; \*\(FS base − 8\) == R14 == 0x[0-9a-f]+$`, out)
			} else {
				assert.Regexp(t, `(?m)^  tpidr_el0 +0x0$`, out)
				assert.Regexp(t, `(?m)^  pass +tpidr +4242 +TPIDR_EL0 is 0`, out)
			}
			assert.Regexp(t, `(?m)^  pass +g0-stack +g0\.stack \[0x[0-9a-f]+, 0x[0-9a-f]+\): hi == entry SP − 48, hi − lo == 0x10000, stackguard0 == stackguard1 == lo \+ 928$`, out)
			assert.Regexp(t, `(?m)^  pass +m0-g0 +m0\.g0 `+sym("runtime.g0")+` == &g0$`, out)
			assert.Regexp(t, `(?m)^  pass +g-in-m +4242 +g 0x[0-9a-f]+ is curg of m0 `+sym("runtime.m0")+`$`, out)
			assert.Regexp(t, `(?m)^\d{2} passed, 0 failed, \d+ skipped$`, out)
			assert.NotContains(t, out, "FAIL")
		})
	}
}

func TestInspectStripped(t *testing.T) {
	full := loadertest.Build(t, "hello", "arm64")
	img, err := loader.Open(full)
	require.NoError(t, err)
	g0, ok := img.Lookup("runtime.g0")
	require.True(t, ok)
	code, out, errOut := gorunemu("inspect", loadertest.Build(t, "hello", "arm64", loadertest.Stripped()))
	require.Equal(t, exitOK, code, "stderr: %s\n%s", errOut, out)
	assert.Regexp(t, `(?m)^layout: +stripped; g/m offsets from table \(go1\.25–go1\.26, no DWARF\)$`, out)
	assert.Regexp(t, fmt.Sprintf(`(?m)^g0 +%#x +g0 +from runtime\.rt0_go code$`, g0), out)
	assert.Regexp(t, `(?m)^  physPageSize +unavailable +stripped: no symbol table to find runtime\.physPageSize$`, out)
	assert.Regexp(t, `(?m)^  iscgo +false +no runtime/cgo functions linked$`, out)
	assert.Regexp(t, `(?m)^  skip +page-size +runtime\.physPageSize unavailable`, out)
	assert.Regexp(t, `(?m)^  pass +m0-g0 +m0\.g0 `+fmt.Sprintf("%#x", g0)+` == &g0$`, out)
}

func TestInspectJSON(t *testing.T) {
	code, out, errOut := gorunemu("inspect", "--json", loadertest.Build(t, "hello", "amd64"))
	require.Equal(t, exitOK, code, "stderr: %s", errOut)
	var got struct {
		Binary   string
		Stop     string
		Snapshot goruntime.Snapshot
		Checks   []goruntime.Result
		Failed   int
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Zero(t, got.Failed)
	assert.Regexp(t, `^reached main\.main \(0x[0-9a-f]+\) on thread 4242$`, got.Stop)
	s := got.Snapshot
	assert.Equal(t, "amd64", s.Arch)
	assert.Equal(t, s.EntrySP-48, s.G0.StackHi.Value)
	assert.Equal(t, "runtime.g0", s.G0.Addr.Sym)
	assert.Equal(t, []string{"./hello"}, s.Argv.Value)
	assert.Empty(t, goruntime.Check(&s), "the decoded snapshot checks the same")
	assert.Greater(t, len(got.Checks), 10)
	for _, c := range got.Checks {
		assert.NotEqual(t, goruntime.Fail, c.Status, "%s", c)
	}
}

// TestInspectFailingCheck inspects a program whose init breaks an
// invariant: the check fails and inspect exits 1.
func TestInspectFailingCheck(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "badpagesize", a.Name, loadertest.BuildFlags("-ldflags=-checklinkname=0"))
			code, out, errOut := gorunemu("inspect", bin)
			require.Equal(t, exitCheckFailed, code, "stderr: %s\n%s", errOut, out)
			assert.Regexp(t, `(?m)^  FAIL +page-size +runtime\.physPageSize 8192 ≠ AT_PAGESZ 4096$`, out)
			assert.Regexp(t, `(?m)^\d+ passed, 1 failed, \d+ skipped$`, out)

			// -q prints the failure and the count, nothing else.
			code, out, _ = gorunemu("inspect", "-q", bin)
			require.Equal(t, exitCheckFailed, code)
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			require.Len(t, lines, 2, out)
			assert.Regexp(t, `^  FAIL +page-size +runtime\.physPageSize 8192 ≠ AT_PAGESZ 4096$`, lines[0])
			assert.Regexp(t, `^\d+ passed, 1 failed, \d+ skipped$`, lines[1])

			code, out, _ = gorunemu("inspect", "--json", bin)
			require.Equal(t, exitCheckFailed, code)
			var got struct{ Failed int }
			require.NoError(t, json.Unmarshal([]byte(out), &got))
			assert.Equal(t, 1, got.Failed)
		})
	}
}

func TestInspectStops(t *testing.T) {
	hello := loadertest.Build(t, "hello", "amd64")
	code, _, errOut := gorunemu("inspect", "--until", "exit", hello)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "--until must name a symbol or an address")

	code, _, _ = gorunemu("inspect")
	assert.Equal(t, exitUsage, code)

	code, _, errOut = gorunemu("inspect", "--until", "main.nosuchfunction", hello)
	assert.Equal(t, exitUsage, code, errOut)

	code, out, errOut := gorunemu("inspect", "--until", "runtime.throw", loadertest.Build(t, "exit", "amd64"))
	assert.Equal(t, exitNotReach, code, "stdout: %s", out)
	assert.Contains(t, errOut, "did not reach --until runtime.throw: exited with code 3")

	// Early in startup there is nothing to check yet, which is no failure.
	code, out, errOut = gorunemu("inspect", "--until", "runtime.rt0_go", hello)
	require.Equal(t, exitOK, code, errOut)
	assert.Regexp(t, `(?m)^  skip +startup +rt0_go has not linked g0 and m0 yet`, out)
	assert.Regexp(t, `(?m)^0 passed, 0 failed, 1 skipped$`, out)
}

// TestInspectExamine: at the stop, inspect shows what one would look at
// in gdb: the initial stack decoded, every thread's registers and
// backtrace, and variables and fields by name, in text and JSON, on both
// arches; checked against the snapshot and the binary's own symbols.
func TestInspectExamine(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "hello", a.Name)
			code, out, errOut := gorunemu("inspect", "--json", "--all", "--env", "K=v", "--var", "runtime.g0.stack", "--var", "runtime.m0.procid", bin, "arg1")
			require.Equal(t, exitOK, code, "stderr: %s", errOut)
			var got struct {
				Snapshot     goruntime.Snapshot
				InitialStack struct {
					SP   goruntime.Addr
					Argc int
					Argv []string
					Envp []string
					Auxv []struct {
						Name  string
						Value uint64
						Note  string
					}
				} `json:"initial_stack"`
				Threads []struct {
					TID       int
					Regs      map[string]uint64
					Vectors   map[string]string
					Backtrace []struct {
						PC       goruntime.Addr
						Function string
						Line     int
					}
				} `json:"thread_details"`
				Vars []goruntime.Value
			}
			require.NoError(t, json.Unmarshal([]byte(out), &got))
			s := got.Snapshot
			st := got.InitialStack
			assert.Equal(t, s.EntrySP, st.SP)
			assert.Equal(t, 2, st.Argc)
			assert.Equal(t, []string{"./hello", "arg1"}, st.Argv)
			assert.Equal(t, []string{"K=v"}, st.Envp)
			aux := map[string]string{}
			for _, e := range st.Auxv {
				aux[e.Name] = e.Note
			}
			assert.Equal(t, "_rt0_"+a.Name+"_linux", aux["AT_ENTRY"])
			assert.Equal(t, `"./hello"`, aux["AT_EXECFN"])
			assert.Contains(t, aux, "AT_NULL")

			require.Len(t, got.Threads, len(s.Threads))
			main := got.Threads[0]
			assert.Equal(t, 4242, main.TID)
			pc := map[string]string{"amd64": "rip", "arm64": "pc"}[a.Name]
			assert.Equal(t, uint64(s.Threads[0].PC), main.Regs[pc])
			assert.Len(t, main.Vectors, len(a.Vectors))
			if a == arch.AMD64 {
				// Go's internal ABI keeps X15 zero in Go code.
				assert.Equal(t, strings.Repeat("0", 32), main.Vectors["xmm15"], "X15 at main.main")
			}
			if a == arch.ARM64 {
				require.True(t, s.Threads[0].G.Known)
				assert.Equal(t, uint64(s.Threads[0].G.Value), main.Regs["x28"], "g in X28")
			}
			require.GreaterOrEqual(t, len(main.Backtrace), 2)
			assert.Equal(t, "main.main", main.Backtrace[0].Function)
			assert.Equal(t, "runtime.main", main.Backtrace[1].Function)
			for _, th := range got.Threads {
				require.NotEmpty(t, th.Backtrace, "thread %d", th.TID)
			}

			require.Len(t, got.Vars, 2)
			assert.Equal(t, "runtime.stack", got.Vars[0].Type)
			assert.Equal(t, s.G0.Addr.Value, got.Vars[0].Addr)
			assert.Equal(t, "4242", got.Vars[1].Text)

			// The text form says the same.
			code, out, errOut = gorunemu("inspect", "--stack", "--bt", "--var", "runtime.g0.stack.lo", bin)
			require.Equal(t, exitOK, code, "stderr: %s", errOut)
			assert.Regexp(t, `(?m)^  AT_ENTRY +0x[0-9a-f]+ +_rt0_`+a.Name+`_linux$`, out)
			assert.Regexp(t, `(?m)^  #1  0x[0-9a-f]+ runtime\.main runtime/proc\.go:\d+$`, out)
			assert.Regexp(t, `(?m)^runtime\.g0\.stack\.lo \(uintptr, 8 bytes at 0x[0-9a-f]+\) = 0x[0-9a-f]+$`, out)
		})
	}
	// A name that is no variable is a usage error; a binary without
	// DWARF cannot answer --var at all.
	bin := loadertest.Build(t, "hello", "amd64")
	code, _, errOut := gorunemu("inspect", "--var", "runtime.nosuch", bin)
	assert.Equal(t, exitUsage, code, errOut)
	assert.Contains(t, errOut, "no such variable")
	code, _, errOut = gorunemu("inspect", "--var", "runtime.g0", loadertest.Build(t, "hello", "amd64", loadertest.Stripped()))
	assert.Equal(t, exitBadInput, code, errOut)
	code, _, errOut = gorunemu("inspect", "--all", loadertest.Build(t, "hello", "amd64", loadertest.Stripped()))
	assert.Equal(t, exitOK, code, "stack, registers and backtraces need no symbols: %s", errOut)
}
