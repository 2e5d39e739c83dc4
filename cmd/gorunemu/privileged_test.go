package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu/unicorn"
)

// TestPrivilegedInstructions runs every instruction of
// testdata/privileged, a static C program, and compares how each ends
// with the real thing: a native run on amd64, qemu-aarch64 on arm64.
// Privileged and debug-register instructions fault as in user mode
// (SIGSEGV SI_KERNEL on x86, SIGILL on arm64), what Linux lets user code
// do runs, and none of it reaches the host.
func TestPrivilegedInstructions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures")
	}
	src := filepath.Join(moduleRoot(t), "testdata", "privileged", "privileged.c")
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			cc := map[string]string{"amd64": "x86_64-linux-gnu-gcc", "arm64": "aarch64-linux-gnu-gcc"}[a.Name]
			_, err := exec.LookPath(cc)
			require.NoError(t, err, "%s is needed to build the C fixture: run make test-deps", cc)
			bin := filepath.Join(t.TempDir(), "privileged")
			out, err := exec.Command(cc, "-static", "-O1", "-o", bin, src).CombinedOutput()
			require.NoError(t, err, "%s", out)
			dir := t.TempDir()
			code, list, errOut := execIn(t, dir, "", bin)
			require.Equal(t, 0, code, "stderr: %s", errOut)
			names := strings.Fields(list)
			require.NotEmpty(t, names)
			faults := 0
			for _, n := range names {
				want := realOutcome(t, a.Name, dir, bin, n)
				code, got, errOut := execIn(t, dir, "", bin, n)
				require.Equal(t, 0, code, "%s: stderr: %s", n, errOut)
				assert.Equal(t, want, got, "%s ends as it does on Linux", n)
				if strings.HasPrefix(got, "signal") {
					faults++
				}
			}
			assert.Greater(t, faults, len(names)/2, "most of the table is privileged")
			if a == arch.ARM64 {
				// An EL0 read of MIDR_EL1 traps and is emulated with the
				// CPU's own value, as Linux does.
				e, err := unicorn.Open(unicorn.Arch(a.UnicornArch), unicorn.Mode(a.UnicornMode), a.CPUModel)
				require.NoError(t, err)
				midr, err := e.ReadSysReg(3, 0, 0, 0, 0)
				require.NoError(t, err)
				require.NoError(t, e.Close())
				code, got, errOut := execIn(t, dir, "", bin, "midr-value")
				require.Equal(t, 0, code, "stderr: %s", errOut)
				assert.Equal(t, fmt.Sprintf("%#x\n", midr), got)
			}
		})
	}
}

// realOutcome is how the fixture's instruction n ends on Linux: a native
// run for the host's arch, else qemu-user's, corrected where qemu-user
// differs from Linux.
func realOutcome(t *testing.T, goarch, dir, bin, n string) string {
	code, out := realRun(t, goarch, dir, "", bin, n)
	require.Equal(t, 0, code, "%s %s natively", bin, n)
	if goarch == "arm64" && goarch != runtime.GOARCH && out == "signal 4 code 2\n" {
		// qemu-aarch64 reports an undefined instruction as ILL_ILLOPN;
		// Linux's do_undefinstr sends ILL_ILLOPC.
		out = "signal 4 code 1\n"
	}
	return out
}

// TestDynamicHostPrograms: the host's own dynamically linked C programs
// run under exec as they run natively, through their dynamic loader:
// their output, their exit codes, and a shell that forks and execs
// others.
func TestDynamicHostPrograms(t *testing.T) {
	for _, args := range [][]string{
		{"/bin/echo", "hello", "from", "libc"},
		{"/bin/false"},
		{"/bin/sh", "-c", "echo $((6*7)); /bin/ls -d / /bin; exit 5"},
		{"/usr/bin/pwd"},
	} {
		if _, err := os.Stat(args[0]); err != nil {
			t.Logf("no %s here: %v", args[0], err)
			continue
		}
		dir := t.TempDir()
		wantCode, want := realRun(t, runtime.GOARCH, dir, "", args...)
		code, out, errOut := execIn(t, dir, "", args...)
		assert.Equal(t, wantCode, code, "%q: stderr %s", args, errOut)
		assert.Equal(t, want, out, "%q", args)
	}
}
