package emu_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/emu"
)

// TestRunsTheGoCompiler runs the installed Go compiler (a static Go
// program of some 15 million instructions here, far past startup) on a
// small package, reading the host through FSRoot, and expects the
// assembly listing it prints to be byte-identical to a native run's. The
// compiler is the host's, so this runs for the host's arch only.
func TestRunsTheGoCompiler(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Go compiler")
	}
	out, err := exec.Command("go", "env", "GOTOOLDIR", "GOROOT").Output()
	require.NoError(t, err)
	dirs := strings.Fields(string(out))
	require.Len(t, dirs, 2)
	compile := filepath.Join(dirs[0], "compile")
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skipf("the host's compiler is a %s/%s program", runtime.GOOS, runtime.GOARCH)
	}
	src := filepath.Join(t.TempDir(), "p.go")
	require.NoError(t, os.WriteFile(src, []byte("package p\n\nfunc F(x int) int { return x * 2 }\n\ntype T struct{ a, b int }\n\nfunc (t T) Sum() int { return t.a + t.b }\n"), 0o644))
	args := []string{"-p", "p", "-std", "-o", os.DevNull, "-S", src}

	native := exec.Command(compile, args...)
	native.Env = []string{"GOROOT=" + dirs[1]}
	want, err := native.CombinedOutput()
	require.NoError(t, err, "native: %s", want)

	var stdout, stderr bytes.Buffer
	p := start(t, compile, emu.Config{Argv: append([]string{compile}, args...), Env: []string{"GOROOT=" + dirs[1]},
		FSRoot: "/", Stdout: &stdout, Stderr: &stderr})
	r := runTo(t, p, emu.UntilExit())
	require.Equal(t, emu.StopExited, r.Kind, "%s\nstderr:\n%s", r, stderr.String())
	assert.Equal(t, 0, r.Code, "stderr:\n%s", stderr.String())
	assert.Equal(t, string(want), stdout.String()+stderr.String())
	assert.Contains(t, stdout.String(), "p.F STEXT")
	assert.Empty(t, p.Stats().Unimplemented)
	t.Logf("%d instructions, %d syscalls, %d threads", r.Insns, p.Stats().Syscalls, p.Stats().Threads)
}
