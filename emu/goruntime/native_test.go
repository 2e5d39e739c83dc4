package goruntime_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// relations are the facts about the runtime at main.main that do not
// depend on where the stack or the heap happen to be, so that a native
// run, a qemu-user run and the emulator can be compared.
type relations struct {
	Argv []string
	// TLSFromM0TLS is the thread pointer minus &m0.tls on the main thread
	// (amd64: 8); on arm64 the thread pointer itself (0).
	TLSFromM0TLS int64
	// GIsCurG: the g register (and on amd64 *(FS base − 8)) is m0.curg.
	GIsCurG bool
	// G0Size is g0.stack.hi − lo; Guard0 and Guard1 are the stack guards
	// less lo; HiFromEntrySP is g0.stack.hi − the entry SP.
	G0Size, Guard0, Guard1, HiFromEntrySP int64
	NCPU, PhysPageSize                    int64
	// ProcIDIsTID: m0.procid is the main thread's id.
	ProcIDIsTID bool
	// Threads is how many threads exist at main.main. It is not a
	// relation: how many Ms wakep starts before main.main depends on the
	// host's timing (natively 4 on most runs here, 5 on some), so
	// sameRelations compares it as a bound.
	Threads int
}

// minThreads is the fewest threads that can reach main.main: m0, locked
// to the init goroutine, sysmon, and an M to run the goroutines gcenable
// waits for.
const minThreads = 3

// sameRelations asserts that the emulator's run matches the reference
// run (native or qemu): every relation equal, and a thread count that is
// possible and no larger than one more than the reference started.
func sameRelations(t *testing.T, ref, emulated relations) {
	t.Helper()
	refThreads, emuThreads := ref.Threads, emulated.Threads
	ref.Threads, emulated.Threads = 0, 0
	assert.Equal(t, ref, emulated)
	assert.GreaterOrEqual(t, refThreads, minThreads, "reference threads")
	assert.GreaterOrEqual(t, emuThreads, minThreads, "emulated threads")
	assert.LessOrEqual(t, emuThreads, refThreads+1, "emulated threads against the reference's")
}

// TestAgainstNativeAMD64 runs hello natively under gdb with ASLR off,
// stops at main.main and compares the runtime's state with the
// emulator's, run with the same argv and environment.
func TestAgainstNativeAMD64(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures and runs gdb")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("the native comparison runs an amd64 binary, and this host is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	gdb := lookPath(t, "gdb")
	bin := absBuild(t, "amd64")
	img, err := loader.Open(bin)
	require.NoError(t, err)

	script := gdbPrologue(img, "$rsp") + `break *'main.main'
continue
set language c
printf "stop_pc=%#lx\n", $pc
printf "tls=%#lx\n", $fs_base - (unsigned long)&'runtime.m0'.tls
printf "g_reg=%#lx\n", $r14
printf "tls_g=%#lx\n", *(unsigned long*)($fs_base - 8)
` + gdbRuntime(img) + `info inferiors
info threads
kill
`
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out := runGDB(t, ctx, gdb, bin, script)
	if strings.Contains(out, "Error disabling address space randomization") {
		t.Logf("gdb could not turn ASLR off (only relations are compared, so this does not matter): %s", firstLine(out, "randomization"))
	}
	native := parseRelations(t, out, img)
	native.GIsCurG = native.GIsCurG && kv(t, out, "tls_g") == kv(t, out, "g_reg")

	emulated := emulate(t, bin, native.Argv, gdbEnv(out), runtime.NumCPU())
	t.Logf("native entry SP %#x, environment %q", kv(t, out, "entry_sp"), gdbEnv(out))
	t.Logf("native:   %+v", native)
	t.Logf("emulated: %+v", emulated)
	sameRelations(t, native, emulated)
	assert.Equal(t, int64(8), native.TLSFromM0TLS, "FS base = &m0.tls+8")
	assert.Equal(t, int64(-48), native.HiFromEntrySP)
}

// TestAgainstQEMUARM64 runs the arm64 hello under qemu-aarch64 with its
// gdb stub, stops it at main.main with gdb-multiarch and compares it with
// the emulator's run.
func TestAgainstQEMUARM64(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures and runs qemu")
	}
	qemu := lookPath(t, "qemu-aarch64")
	gdb := lookPath(t, "gdb-multiarch")
	bin := absBuild(t, "arm64")
	img, err := loader.Open(bin)
	require.NoError(t, err)

	// qemu 7.2's gdb stub in user mode now and then stalls right after
	// the guest's first clone, and gdb waits for a stop that never comes
	// (here 1 of 40 runs with three test suites beside it on 2 CPUs, 0 of
	// 100 with only two busy loops), or qemu crashes with SIGSEGV while
	// gdb lists the threads (once in a clean-clone CI run here). A failed
	// session is retried; the comparison itself is not relaxed.
	var out string
	for attempt := 1; ; attempt++ {
		var err error
		out, err = qemuAtMainMain(t, qemu, gdb, bin, img)
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		t.Logf("attempt %d: %v; retrying", attempt, err)
	}
	native := parseRelations(t, out, img)
	// qemu-user runs the guest with the host's pid and tids.
	emulated := emulate(t, bin, native.Argv, gdbEnv(out), runtime.NumCPU())
	t.Logf("qemu entry SP %#x, environment %q", kv(t, out, "entry_sp"), gdbEnv(out))
	t.Logf("qemu:     %+v", native)
	t.Logf("emulated: %+v", emulated)
	sameRelations(t, native, emulated)
	assert.Equal(t, int64(0), native.TLSFromM0TLS, "TPIDR_EL0 is 0")
	assert.Equal(t, int64(-48), native.HiFromEntrySP)
}

// qemuAtMainMain runs bin under qemu-aarch64's gdb stub, stops it at
// main.main with gdb-multiarch and returns gdb's output. It fails if the
// session does not stop there within 30 s.
func qemuAtMainMain(t *testing.T, qemu, gdb, bin string, img *loader.Image) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sock := filepath.Join(t.TempDir(), "gdb.sock")
	var qemuOut bytes.Buffer
	q := exec.CommandContext(ctx, qemu, "-g", sock, bin)
	q.Env = []string{} // the guest's environment is qemu's: empty
	q.Stdout, q.Stderr = &qemuOut, &qemuOut
	if err := q.Start(); err != nil {
		return "", err
	}
	// stop ends qemu if it is still running, so that its output can be read.
	stop := func() {
		if q.ProcessState != nil {
			return
		}
		if err := q.Process.Kill(); err != nil {
			t.Logf("killing qemu: %v", err)
		}
		if err := q.Wait(); err != nil {
			t.Logf("qemu: %v", err)
		}
	}
	defer stop()
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i == 500 {
			stop()
			return "", fmt.Errorf("qemu-aarch64 did not open its gdb socket %s in 5 s: %s", sock, qemuOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	script := "set pagination off\nset confirm off\nset architecture aarch64\ntarget remote " + sock + "\n" +
		gdbPrologue(img, "$sp") + `break *'main.main'
continue
set language c
printf "stop_pc=%#lx\n", $pc
printf "tls=%#lx\n", $TPIDR_EL0
printf "g_reg=%#lx\n", $x28
` + gdbRuntime(img) + `info threads
kill
`
	out, err := gdbSession(t, ctx, gdb, bin, script)
	if err != nil {
		return out, err
	}
	// qemu's stub can also crash after the stop, while gdb lists the
	// threads; then the output is cut short.
	if !mainThreadRE.MatchString(out) || strings.Contains(out, "Remote communication error") {
		stop()
		return out, fmt.Errorf("the gdb session ended early (qemu: %v, %s):\n%s", q.ProcessState, strings.TrimSpace(qemuOut.String()), out)
	}
	return out, nil
}

// gdbPrologue starts the program (or, attached to qemu, is at its entry)
// and prints the entry SP, argv and the environment.
func gdbPrologue(img *loader.Image, sp string) string {
	start := "set pagination off\nset confirm off\nset startup-with-shell off\nset disable-randomization on\nunset environment\nstarti\n"
	if img.Arch.Name == "arm64" {
		start = "" // qemu stops at the entry point before gdb attaches
	}
	return start + `set language c
printf "entry_sp=%#lx\n", ` + sp + `
set $argc = *(long*)` + sp + `
set $i = 0
while $i < $argc
  printf "argv=%s\n", *(char**)(` + sp + ` + 8 + 8*$i)
  set $i = $i + 1
end
set $i = 0
while *(long*)(` + sp + ` + 8*($argc + 2 + $i)) != 0
  printf "env=%s\n", *(char**)(` + sp + ` + 8*($argc + 2 + $i))
  set $i = $i + 1
end
`
}

// gdbRuntime prints the runtime's state at main.main.
func gdbRuntime(img *loader.Image) string {
	ncpu := "runtime.ncpu"
	if _, ok := img.Data("runtime.numCPUStartup"); ok {
		ncpu = "runtime.numCPUStartup"
	}
	return `printf "m0_curg=%#lx\n", (unsigned long)'runtime.m0'.curg
printf "procid=%ld\n", (long)'runtime.m0'.procid
printf "g0_lo=%#lx\n", (unsigned long)'runtime.g0'.stack.lo
printf "g0_hi=%#lx\n", (unsigned long)'runtime.g0'.stack.hi
printf "g0_sg0=%#lx\n", (unsigned long)'runtime.g0'.stackguard0
printf "g0_sg1=%#lx\n", (unsigned long)'runtime.g0'.stackguard1
printf "ncpu=%ld\n", (long)'` + ncpu + `'
printf "page=%ld\n", (long)'runtime.physPageSize'
`
}

// runGDB runs a gdb script in batch mode and returns its output. It skips
// the test if the kernel does not let gdb trace the program.
func runGDB(t *testing.T, ctx context.Context, gdb, bin, script string) string {
	t.Helper()
	out, err := gdbSession(t, ctx, gdb, bin, script)
	require.NoError(t, err)
	return out
}

// gdbSession is runGDB with an error, not a failed test, when gdb does
// not stop at main.main.
func gdbSession(t *testing.T, ctx context.Context, gdb, bin, script string) (string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "script.gdb")
	require.NoError(t, os.WriteFile(path, []byte(script), 0o644))
	cmd := exec.CommandContext(ctx, gdb, "-nx", "-batch", "-x", path, bin)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	b, err := cmd.CombinedOutput()
	out := string(b)
	if !strings.Contains(out, "entry_sp=") {
		for _, sign := range []string{"ptrace: Operation not permitted", "Could not trace the inferior", "PTRACE", "ptrace:"} {
			if strings.Contains(out, sign) {
				t.Skipf("ptrace is not permitted here, so gdb cannot run the program: %s", firstLine(out, sign))
			}
		}
	}
	if !strings.Contains(out, "stop_pc=") {
		return out, fmt.Errorf("gdb did not stop at main.main (%v):\n%s", err, out)
	}
	return out, nil
}

// mainThreadRE matches the main thread's line of gdb's "info threads":
// "* 1    LWP <tid> ..." natively, "* 1    Thread 1.<tid> ..." under qemu.
var mainThreadRE = regexp.MustCompile(`(?m)^\*\s+1\s+(?:LWP (\d+)|Thread \d+\.(\d+))`)

// threadRE matches a line of gdb's "info threads".
var threadRE = regexp.MustCompile(`(?m)^\*?\s+\d+\s+(?:LWP \d+|Thread \d+\.\d+)`)

// parseRelations reads the relations out of the gdb output.
func parseRelations(t *testing.T, out string, img *loader.Image) relations {
	t.Helper()
	mainMain, ok := img.Lookup("main.main")
	require.True(t, ok)
	require.Equal(t, mainMain, kv(t, out, "stop_pc"), "gdb stopped at main.main")
	lo, hi := kv(t, out, "g0_lo"), kv(t, out, "g0_hi")
	r := relations{
		Argv:          lines(out, "argv="),
		TLSFromM0TLS:  int64(kv(t, out, "tls")),
		GIsCurG:       kv(t, out, "g_reg") == kv(t, out, "m0_curg"),
		G0Size:        int64(hi - lo),
		Guard0:        int64(kv(t, out, "g0_sg0") - lo),
		Guard1:        int64(kv(t, out, "g0_sg1") - lo),
		HiFromEntrySP: int64(hi - kv(t, out, "entry_sp")),
		NCPU:          int64(kv(t, out, "ncpu")),
		PhysPageSize:  int64(kv(t, out, "page")),
	}
	procid := kv(t, out, "procid")
	// "info threads" lists "* 1    LWP <tid> ..." natively and
	// "* 1    Thread 1.<tid> ..." under qemu; the main thread is 1.
	r.Threads = len(threadRE.FindAllString(out, -1))
	m := mainThreadRE.FindStringSubmatch(out)
	require.NotNil(t, m, "no main thread in:\n%s", out)
	tid, err := strconv.ParseUint(m[1]+m[2], 10, 64)
	require.NoError(t, err)
	r.ProcIDIsTID = procid == tid
	return r
}

// emulate runs bin to main.main in the emulator with argv, env and ncpu
// and derives the relations from the snapshot.
func emulate(t *testing.T, bin string, argv, env []string, ncpu int) relations {
	t.Helper()
	p := runTo(t, bin, "main.main", emu.Config{Argv: argv, Env: env, NCPU: ncpu})
	s := read(t, p)
	require.Empty(t, goruntime.Check(s))
	t.Logf("emulated entry SP %s", s.EntrySP)
	mt := mainThread(t, s)
	lo, hi := val(t, "g0.stack.lo", s.G0.StackLo), val(t, "g0.stack.hi", s.G0.StackHi)
	tls := int64(mt.TLSBase)
	if s.Arch == "amd64" {
		tls -= int64(val(t, "&m0.tls", s.M0.TLSAddr))
	}
	curg := val(t, "m0.curg", s.M0.CurG)
	gIsCurG := val(t, "g register", mt.GReg) == curg
	if mt.TLSG.Known {
		gIsCurG = gIsCurG && mt.TLSG.Value == curg
	}
	return relations{
		Argv:          val(t, "argv", s.Argv),
		TLSFromM0TLS:  tls,
		GIsCurG:       gIsCurG,
		G0Size:        int64(hi - lo),
		Guard0:        int64(val(t, "stackguard0", s.G0.StackGuard0) - lo),
		Guard1:        int64(val(t, "stackguard1", s.G0.StackGuard1) - lo),
		HiFromEntrySP: int64(hi - s.EntrySP),
		NCPU:          val(t, "ncpu", s.NCPU),
		PhysPageSize:  val(t, "physPageSize", s.PhysPageSize),
		ProcIDIsTID:   val(t, "m0.procid", s.M0.ProcID) == uint64(mt.TID),
		Threads:       len(s.Threads),
	}
}

// absBuild builds hello for goarch and returns its absolute path, which
// is argv[0] both natively and in the emulator.
func absBuild(t *testing.T, goarch string) string {
	t.Helper()
	bin, err := filepath.Abs(loadertest.Build(t, "hello", goarch))
	require.NoError(t, err)
	return bin
}

// lookPath finds a tool the comparison needs; make test-deps installs it.
func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	require.NoError(t, err, "%s is needed to compare with the real thing: run make test-deps (Debian: apt-get install gdb gdb-multiarch qemu-user)", name)
	return p
}

// kv returns the hex or decimal number printed as "key=value".
func kv(t *testing.T, out, key string) uint64 {
	t.Helper()
	vals := lines(out, key+"=")
	require.Len(t, vals, 1, "%s= in gdb output:\n%s", key, out)
	v, err := strconv.ParseUint(vals[0], 0, 64)
	require.NoError(t, err, "%s=%s", key, vals[0])
	return v
}

// lines returns what follows prefix on each line that starts with it.
func lines(out, prefix string) []string {
	var vals []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			vals = append(vals, v)
		}
	}
	return vals
}

// gdbEnv returns the environment the program was started with.
func gdbEnv(out string) []string { return lines(out, "env=") }

// firstLine returns the first line of out containing s.
func firstLine(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return fmt.Sprintf("(%q not found)", s)
}
