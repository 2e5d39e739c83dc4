package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
	"github.com/gorunemu/gorunemu/trace"
	"github.com/gorunemu/gorunemu/trace/tracetest"
)

// gdbSession runs gorunemu with args plus --gdb on a free port, and gdb
// (gdb-multiarch for the other arch) in batch mode with cmds against it.
// It returns gdb's output and gorunemu's exit code and stderr.
func gdbSession(t *testing.T, a *arch.Arch, bin string, args []string, cmds ...string) (gdbOut string, code int, stderr string) {
	gdbOut, code, stderr, _ = gdbSessionOut(t, a, bin, args, cmds...)
	return gdbOut, code, stderr
}

// gdbSessionOut is gdbSession, and also returns gorunemu's stdout.
func gdbSessionOut(t *testing.T, a *arch.Arch, bin string, args []string, cmds ...string) (gdbOut string, code int, stderr, stdout string) {
	t.Helper()
	debugger := "gdb"
	if a.Name != runtime.GOARCH {
		debugger = "gdb-multiarch"
	}
	gdb, err := exec.LookPath(debugger)
	require.NoError(t, err, "%s is needed: run make test-deps", debugger)

	pr, pw := io.Pipe()
	var errOut bytes.Buffer
	done := make(chan int, 1)
	var stdoutBuf bytes.Buffer
	go func() {
		c := run(append(append([]string{args[0], "--gdb", "127.0.0.1:0"}, args[1:]...), bin), &stdoutBuf, pw)
		pw.Close()
		done <- c
	}()
	// The first line says where gorunemu waits.
	lines := bufio.NewReader(pr)
	first, err := lines.ReadString('\n')
	require.NoError(t, err)
	errOut.WriteString(first)
	m := regexp.MustCompile(`waiting for gdb on (\S+):`).FindStringSubmatch(first)
	require.NotNil(t, m, "gorunemu said %q", first)
	drained := make(chan struct{})
	go func() { io.Copy(&errOut, lines); close(drained) }()

	gargs := []string{"-q", "-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off", bin, "-ex", "target remote " + m[1]}
	for _, c := range cmds {
		gargs = append(gargs, "-ex", c)
	}
	out, err := exec.Command(gdb, gargs...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	code = <-done
	<-drained
	return string(out), code, errOut.String(), stdoutBuf.String()
}

// TestGDBSession: gdb (amd64) and gdb-multiarch (arm64) debug a guest
// from its first instruction, as the seeds' session does: at the entry
// point with argc on the stack, a breakpoint in rt0_go and single steps,
// a breakpoint at main.main with every thread named, the TLS register
// (FS base = &m0.tls+8; TPIDR_EL0 untouched and g in X28), the auxiliary
// vector, monitor commands, and kill.
func TestGDBSession(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "hello", a.Name)
			img, err := loader.Open(bin)
			require.NoError(t, err)
			rt0go, ok := img.Lookup("runtime.rt0_go")
			require.True(t, ok)
			pc, tls := "$rip", "$fs_base"
			if a == arch.ARM64 {
				pc, tls = "$pc", "$tpidr"
			}
			out, code, stderr := gdbSession(t, a, bin, []string{"run"},
				"p/x "+pc, "x/2xg $sp",
				"break runtime.rt0_go", "continue", "stepi", "stepi", "p/x "+pc,
				"break main.main", "continue", "info threads", "p/x "+tls, "p/x $x28",
				"info auxv", "info proc mappings", "monitor insns", "monitor milestones", "monitor inspect",
				"source "+goroot(t)+"/src/runtime/runtime-gdb.py", "info goroutines", "goroutine 1 bt", "kill")
			t.Log(out)
			assert.Contains(t, out, fmt.Sprintf("$1 = %#x\n", img.Entry), "stopped at the entry point")
			assert.Regexp(t, `(?m)^0x[0-9a-f]+:\s+0x0000000000000001\s+0x[0-9a-f]+$`, out, "argc 1 at SP")
			assert.Contains(t, out, "Breakpoint 1, runtime.rt0_go ()")
			m := regexp.MustCompile(`\$2 = (0x[0-9a-f]+)`).FindStringSubmatch(out)
			require.NotNil(t, m)
			stepped, err := strconv.ParseUint(m[1], 0, 64)
			require.NoError(t, err)
			assert.Greater(t, stepped, rt0go, "two steps into rt0_go")
			assert.Less(t, stepped, rt0go+16)
			assert.Regexp(t, `hit Breakpoint 2, main\.main \(\)`, out)
			for tid := 4242; tid <= 4245; tid++ {
				assert.Contains(t, out, fmt.Sprintf("Thread 4242.%d \"hello\"", tid), "process 4242's threads")
			}
			if a == arch.AMD64 {
				f, err := img.LookupField("runtime.m0.tls")
				require.NoError(t, err)
				assert.Contains(t, out, fmt.Sprintf("$3 = %#x\n", f.Addr+8), "FS base = &m0.tls+8")
			} else {
				assert.Contains(t, out, "$3 = 0x0\n", "TPIDR_EL0 stays 0 without cgo")
				assert.Regexp(t, `\$4 = 0x[0-9a-f]{6,}\n`, out, "g in X28")
			}
			assert.Regexp(t, fmt.Sprintf(`AT_ENTRY\s+Entry point of program\s+%#x`, img.Entry), out)
			// info proc mappings reads the guest's /proc/4242/maps (vFile).
			assert.Regexp(t, `(?m)^\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x0\s+r-xp\s+/hello$`, out)
			assert.Regexp(t, `(?m)\s+rw-p\s+\[stack\]$`, out)
			assert.Regexp(t, `\d+ instructions; thread 4242: \d+`, out)
			assert.Regexp(t, `(?m)^\s+\d+\s+4242 main\.main: g=0x[0-9a-f]+ goid=1$`, out)
			assert.Contains(t, out, "pass m0-g0")
			assert.NotContains(t, out, "FAIL")
			// Go's own gdb support works through the stub.
			assert.Regexp(t, `(?m)^\* 1 running\s+\S+`, out, "info goroutines")
			assert.Regexp(t, `(?m)^#0\s+main\.main \(\) at \S+main\.go:7$`, out, "goroutine 1 bt")
			assert.Contains(t, out, "[Inferior 1 (process 4242) killed]")
			assert.Equal(t, 128+9, code, "stderr: %s", stderr)
			assert.Contains(t, stderr, "killed by signal 9")
		})
	}
}

// goroot is the GOROOT of the go command that builds the fixtures.
func goroot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// TestGDBStripped: a stripped binary is debugged by address: gdb steps
// and reads registers without symbols; detaching lets the run go on to
// main.main.
func TestGDBStripped(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "hello", a.Name, loadertest.Stripped())
			img, err := loader.Open(bin)
			require.NoError(t, err)
			pc := "$rip"
			if a == arch.ARM64 {
				pc = "$pc"
			}
			out, code, stderr := gdbSession(t, a, bin, []string{"run"}, "stepi", "stepi", "p/x "+pc, "x/i "+pc, "detach")
			t.Log(out)
			m := regexp.MustCompile(`\$1 = (0x[0-9a-f]+)`).FindStringSubmatch(out)
			require.NotNil(t, m, out)
			at, err := strconv.ParseUint(m[1], 0, 64)
			require.NoError(t, err)
			assert.NotEqual(t, img.Entry, at, "two steps from the entry point")
			assert.Equal(t, 2, strings.Count(out, " in ?? ()\n")-1, "a stop at the entry and one per step")
			assert.Regexp(t, fmt.Sprintf(`=> %#x:\s+\S+`, at), out, "the instruction there")
			assert.Contains(t, out, "[Inferior 1 (process 4242) detached]")
			assert.Equal(t, exitOK, code, "stderr: %s", stderr)
			assert.Contains(t, stderr, "gdb detached; running on")
			assert.True(t, strings.Contains(stderr, "waiting for gdb on 127.0.0.1:"))
		})
	}
}

// TestGDBReverse: reverse execution by replay: reverse-stepi goes back
// one instruction, reverse-continue to the previous breakpoint hit and
// then to the start of the run; running forward again hits the same
// breakpoints, and the guest's output is written once.
func TestGDBReverse(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "hello", a.Name)
			img, err := loader.Open(bin)
			require.NoError(t, err)
			pc := "$rip"
			if a == arch.ARM64 {
				pc = "$pc"
			}
			out, code, stderr, stdout := gdbSessionOut(t, a, bin, []string{"run", "--until", "exit"},
				"break runtime.rt0_go", "break main.main", "continue",
				"stepi", "stepi", "p/x "+pc, "stepi", "reverse-stepi", "p/x "+pc,
				"continue", "reverse-continue", "p/x "+pc, "reverse-continue", "p/x "+pc,
				"continue", "monitor insns", "continue", "continue")
			t.Log(out)
			vals := regexp.MustCompile(`\$\d+ = (0x[0-9a-f]+)`).FindAllStringSubmatch(out, -1)
			require.Len(t, vals, 4, out)
			assert.Equal(t, vals[0][1], vals[1][1], "reverse-stepi undoes the last stepi")
			rt0go, _ := img.Lookup("runtime.rt0_go")
			assert.Equal(t, fmt.Sprintf("%#x", rt0go), vals[2][1], "reverse-continue from main.main: the rt0_go breakpoint")
			assert.Equal(t, fmt.Sprintf("%#x", img.Entry), vals[3][1], "then the start")
			assert.Contains(t, out, "No more reverse-execution history.")
			assert.Regexp(t, `(?m)^4 instructions; thread 4242: 4$`, out, "forward again from the start: rt0_go after 4 instructions")
			assert.Equal(t, 2, strings.Count(out, "hit Breakpoint 2, main.main"), "main.main reached once, and once more after going back")
			assert.Equal(t, 3, strings.Count(out, "Breakpoint 1, runtime.rt0_go ()"), "rt0_go reached, found going back, and reached again")
			assert.Contains(t, out, "exited normally")
			assert.Equal(t, exitOK, code, "stderr: %s", stderr)
			assert.Equal(t, "hello world\n", stdout, "the output once, though the run was replayed")
		})
	}
}

// TestGDBWatch: hardware watchpoints through the stub. From main.main a
// write watchpoint on g0.stack.lo with reverse-continue finds rt0_go's
// store, stopped right before it (the value still 0); continue then stops
// right after it with the value the write trace saw; read watchpoints
// report loads. Both arches (gdb steps over AArch64's itself).
func TestGDBWatch(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "hello", a.Name)
			store := firstG0StackLoStore(t, bin)
			out, code, stderr := gdbSession(t, a, bin, []string{"run", "--until", "exit"},
				"break main.main", "continue", "set language c",
				"watch -l 'runtime.g0'.stack.lo", "reverse-continue", "p/x $pc", "p/x 'runtime.g0'.stack.lo",
				"continue", "p/x $pc", "p/x 'runtime.g0'.stack.lo",
				"delete", "rwatch -l 'runtime.g0'.stack.lo", "continue", "info watchpoints", "kill")
			t.Log(out)
			vals := regexp.MustCompile(`\$\d+ = (0x[0-9a-f]+)`).FindAllStringSubmatch(out, -1)
			require.Len(t, vals, 4, out)
			assert.Equal(t, fmt.Sprintf("%#x", store.At.PC), vals[0][1], "reverse-continue stops at rt0_go's store")
			assert.Equal(t, "0x0", vals[1][1], "before it")
			assert.NotEqual(t, vals[0][1], vals[2][1], "continue stops after it")
			assert.Equal(t, fmt.Sprintf("%#x", store.New), vals[3][1], "with the value written")
			assert.Equal(t, 2, strings.Count(out, "hit Hardware watchpoint 2: -location 'runtime.g0'.stack.lo"), out)
			assert.Regexp(t, `Old value = \d+\s+New value = 0\s+runtime\.rt0_go \(\)`, out, "going back undoes the store")
			assert.Regexp(t, `Old value = 0\s+New value = `+strconv.FormatUint(store.New, 10), out)
			assert.Regexp(t, `hit Hardware read watchpoint 3: -location 'runtime.g0'.stack.lo\s+Value = \d+`, out)
			assert.Equal(t, 128+9, code, "stderr: %s", stderr)
		})
	}
}

// firstG0StackLoStore is the first store to runtime.g0.stack.lo in bin's
// run to main.main, as the write trace records it.
func firstG0StackLoStore(t *testing.T, bin string) trace.Event {
	t.Helper()
	img, err := loader.Open(bin)
	require.NoError(t, err)
	g0, ok := img.Data("runtime.g0")
	require.True(t, ok)
	rec := &tracetest.Recorder{}
	p, err := emu.Open(bin, emu.Config{Trace: &emu.TraceOptions{Sink: rec, Watches: []emu.Watch{{Addr: g0.Addr, Size: 8, Label: "g0.stack.lo"}}}})
	require.NoError(t, err)
	defer p.Close()
	_, err = p.Run(context.Background(), emu.UntilSymbol("main.main"))
	require.NoError(t, err)
	stores := rec.Of(trace.Write)
	require.NotEmpty(t, stores)
	return stores[0]
}

// TestGDBReverseLines: gdb's line-level reverse commands, built from the
// stub's reverse steps: reverse-next goes back over fmt.Println (whose
// output is not written again), step enters it, reverse-finish returns
// to its call in main.main.
func TestGDBReverseLines(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "hello", a.Name)
			out, code, stderr, stdout := gdbSessionOut(t, a, bin, []string{"run", "--until", "exit"},
				"break main.main", "continue", "next", "next", "reverse-next", "step", "bt 2", "reverse-finish", "continue")
			t.Log(out)
			// (gdb prints source lines from whatever main.go it finds: the
			// line numbers are what counts.)
			lines := regexp.MustCompile(`(?m)^(\d+)\t`).FindAllStringSubmatch(out, -1)
			var nums []string
			for _, l := range lines {
				nums = append(nums, l[1])
			}
			assert.Equal(t, []string{"8", "7", "8", "9", "8", "315", "8"}, nums, "rt0 line, main.main:7, next 8, next 9, reverse-next 8, step Println:315, reverse-finish 8")
			bt := strings.Index(out, "#1  main.main () at ")
			require.GreaterOrEqual(t, bt, 0, "step entered Println: %s", out)
			assert.Regexp(t, `#0\s+fmt\.Println \(`, out[:bt])
			assert.Regexp(t, `^[^\n]*\n0x[0-9a-f]+ in main\.main \(\) at \S+main\.go:8\n`, out[bt:], "reverse-finish: back at the call")
			assert.Contains(t, out, "exited normally")
			assert.Equal(t, exitOK, code, "stderr: %s", stderr)
			assert.Equal(t, "hello world\n", stdout, "the output once, though the run went back over it")
		})
	}
}

// TestGDBOutputOnce: going back over the guest's write and forward again,
// by snapshots, writes its output once (the output counter goes back with
// the process), and "monitor milestones" after going back lists only the
// milestones reached before that point.
func TestGDBOutputOnce(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "hello", a.Name)
			out, code, stderr, stdout := gdbSessionOut(t, a, bin, []string{"run", "--until", "exit"},
				"break main.main", "continue", "next", "next", "reverse-next", "reverse-next", "next", "next",
				"delete 1", "break runtime.schedinit", "reverse-continue", "monitor milestones", "delete", "continue")
			t.Log(out)
			assert.Equal(t, "hello world\n", stdout, "the output once")
			assert.Regexp(t, `(?m)^\s+\d+\s+4242 runtime\.schedinit`, out)
			assert.NotRegexp(t, `(?m)^\s+\d+\s+4242 runtime\.mallocinit`, out, "no milestone past schedinit")
			assert.Contains(t, out, "exited normally")
			assert.Equal(t, exitOK, code, "stderr: %s", stderr)
		})
	}
}
