package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// execIn runs gorunemu exec in-process in directory dir with input in.
func execIn(t *testing.T, dir, in string, args ...string) (int, string, string) {
	t.Helper()
	t.Chdir(dir)
	old := stdin
	stdin = strings.NewReader(in)
	defer func() { stdin = old }()
	return gorunemu(append([]string{"exec"}, args...)...)
}

// realRun runs bin natively (amd64 on an amd64 host) or under qemu-user,
// the oracle exec is compared with.
func realRun(t *testing.T, goarch, dir, in string, args ...string) (int, string) {
	t.Helper()
	var cmd *exec.Cmd
	if goarch == runtime.GOARCH {
		cmd = exec.Command(args[0], args[1:]...)
	} else {
		qemu, err := exec.LookPath(map[string]string{"amd64": "qemu-x86_64", "arm64": "qemu-aarch64"}[goarch])
		require.NoError(t, err, "qemu-user is needed to compare with the real thing: run make test-deps")
		cmd = exec.Command(qemu, args...)
	}
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(in)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s: %v", args[0], err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestExecLikeLinux: exec gives the guest the host's working directory,
// environment, executable path and stdin, a private /tmp, and passes its
// exit code through, the same as a real run (native amd64, qemu-user
// for the other arch).
func TestExecLikeLinux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures")
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "hostio", a.Name)
			dir := t.TempDir()
			t.Setenv("HOSTIO", "from the host")
			code, out, errOut := execIn(t, dir, "line 1\nline 2\n", bin, "exit", "7")
			assert.Equal(t, 7, code, "stderr: %s", errOut)
			assert.Empty(t, errOut)
			for _, want := range []string{
				"cwd: " + dir + " <nil>\n",
				"HOSTIO: from the host\n",
				"exe: " + bin + " <nil>\n",
				"read back: \"written\\n\" <nil>\n",
				"remove: <nil>\n",
				"stdin: line 1\nstdin: line 2\n",
			} {
				assert.Contains(t, out, want)
			}
			assert.NotContains(t, out, "exe missing")
			realCode, realOut := realRun(t, a.Name, dir, "line 1\nline 2\n", bin, "exit", "7")
			assert.Equal(t, realCode, code)
			assert.Equal(t, realOut, out, "same output as the real run")

			// --env replaces what the host set.
			_, out, _ = execIn(t, dir, "", "--env", "HOSTIO=flag", bin)
			assert.Contains(t, out, "HOSTIO: flag\n")
		})
	}
}

// TestExecChildren: processes started from the guest (os/exec of
// itself, a missing or non-executable program, a killed child, SIGCHLD,
// a raw fork) behave as on Linux. The fixture's output does not depend on
// the arch, so both arches are compared with a native run on the host's
// (qemu-aarch64 7.2 hangs in programs that start processes).
func TestExecChildren(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures")
	}
	native := loadertest.Build(t, "children", runtime.GOARCH)
	dir := t.TempDir()
	realCode, realOut := realRun(t, runtime.GOARCH, dir, "", native)
	require.Equal(t, 0, realCode)
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "children", a.Name)
			code, out, errOut := execIn(t, dir, "", bin)
			assert.Equal(t, 0, code, "stderr: %s", errOut)
			assert.Equal(t, realOut, out, "same output as a native run")
			assert.Contains(t, out, "fork: child wrote \"2\", exit 7, waited true <nil>, parent's word still 1\n")

			// The first process replaces itself, and keeps its pid.
			code, out, errOut = execIn(t, dir, "", bin, "reexec")
			assert.Equal(t, 0, code, "stderr: %s", errOut)
			assert.Equal(t, "exec'd: [x] same pid: true\n", out)

			// The process tree runs on one schedule: two traced runs are
			// byte for byte the same.
			var traces [2][]byte
			for i := range traces {
				file := filepath.Join(t.TempDir(), "trace.txt")
				code, _, errOut := execIn(t, dir, "", "-o", file, "--syscalls", bin)
				require.Equal(t, 0, code, "stderr: %s", errOut)
				var err error
				traces[i], err = os.ReadFile(file)
				require.NoError(t, err)
			}
			assert.Contains(t, string(traces[0]), "execve(")
			assert.True(t, bytes.Equal(traces[0], traces[1]), "two runs traced differently")
		})
	}
}

// TestExecStaticC: a static C program (glibc) that forks and vforks and
// execs itself runs as natively, on both arches (built with the host gcc
// and aarch64-linux-gnu-gcc, which make test-deps installs).
func TestExecStaticC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures")
	}
	src := filepath.Join(moduleRoot(t), "testdata", "cforker", "forker.c")
	want := "child forked: parent known 1\nfork+exec: exit 5\nchild vforked: parent known 1\nvfork+exec: exit 5\n"
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			cc := map[string]string{"amd64": "x86_64-linux-gnu-gcc", "arm64": "aarch64-linux-gnu-gcc"}[a.Name]
			_, err := exec.LookPath(cc)
			require.NoError(t, err, "%s is needed to build the C fixture: run make test-deps", cc)
			bin := filepath.Join(t.TempDir(), "forker")
			out, err := exec.Command(cc, "-static", "-O1", "-o", bin, src).CombinedOutput()
			require.NoError(t, err, "%s", out)
			if a.Name == runtime.GOARCH {
				_, native := realRun(t, a.Name, t.TempDir(), "", bin)
				require.Equal(t, want, native)
			}
			code, got, errOut := execIn(t, t.TempDir(), "", bin)
			assert.Equal(t, 0, code, "stderr: %s", errOut)
			assert.Equal(t, want, got)
		})
	}
}

// TestExecWritesNothingOnTheHost: a file the guest may not change stays
// as it was, and the temporary files it made are not on the host.
func TestExecWritesNothingOnTheHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures")
	}
	bin := loadertest.Build(t, "hostio", "arm64")
	dir := t.TempDir()
	target := filepath.Join(dir, "keep.txt")
	require.NoError(t, os.WriteFile(target, []byte("original"), 0o644))
	tmpBefore, err := os.ReadDir(os.TempDir())
	require.NoError(t, err)
	code, out, errOut := execIn(t, dir, "", bin, "write", "0", target)
	require.Equal(t, 0, code, "stderr: %s", errOut)
	assert.Contains(t, out, "write host: open "+target+": read-only file system\n")
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "original", string(b))
	tmpAfter, err := os.ReadDir(os.TempDir())
	require.NoError(t, err)
	for _, e := range tmpAfter {
		assert.False(t, strings.HasPrefix(e.Name(), "hostio") && !containsEntry(tmpBefore, e.Name()),
			"the guest's temporary directory %s reached the host", e.Name())
	}

	// With --rw the directory is the guest's to change.
	code, out, errOut = execIn(t, dir, "", "--rw", dir, bin, "write", "0", target)
	require.Equal(t, 0, code, "stderr: %s", errOut)
	assert.Contains(t, out, "write host: <nil>\n")
	b, err = os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "changed", string(b))

	code, _, errOut = execIn(t, dir, "", "--rw", filepath.Join(dir, "missing"), bin)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "not a directory")
}

func containsEntry(ents []os.DirEntry, name string) bool {
	for _, e := range ents {
		if e.Name() == name {
			return true
		}
	}
	return false
}

// TestExecKilled: a guest killed by a signal makes gorunemu die by the
// same signal, so a shell or go test sees what it would natively; in
// process, the status is 128+signal.
func TestExecKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures")
	}
	bin := loadertest.Build(t, "hostio", "amd64")
	self := gorunemuBinary(t)
	code, _, errOut := execIn(t, t.TempDir(), "", bin, "kill", "15")
	assert.Equal(t, 128+15, code)
	assert.Empty(t, errOut, "a kill needs no word from gorunemu")

	for _, c := range []struct {
		sig   syscall.Signal
		trace string
	}{
		{syscall.SIGTERM, ""},
		// With GOTRACEBACK=crash the guest's runtime catches SIGABRT,
		// prints its goroutines and dies by SIGABRT, which dumps core.
		{syscall.SIGABRT, "GOTRACEBACK=crash"},
	} {
		cmd := exec.Command(self, "exec", bin, "kill", fmt.Sprint(int(c.sig)))
		cmd.Env = os.Environ()
		if c.trace != "" {
			cmd.Env = append(cmd.Env, c.trace)
		}
		err := cmd.Run()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		ws := exit.Sys().(syscall.WaitStatus)
		assert.True(t, ws.Signaled(), "status %v", ws)
		assert.Equal(t, c.sig, ws.Signal())
		assert.False(t, ws.CoreDump(), "gorunemu must not dump its own core for the guest")
	}
}

// TestGoTestExec: go test -exec and go run -exec run through gorunemu on
// both arches: testdata is found, t.TempDir works, flags and the
// environment reach the test, and failures and exit codes come back.
func TestGoTestExec(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures and runs go test")
	}
	self := gorunemuBinary(t)
	root := moduleRoot(t)
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			goCmd := func(env []string, args ...string) (string, error) {
				cmd := exec.Command("go", args...)
				cmd.Dir = root
				cmd.Env = append(os.Environ(), append([]string{"GOARCH=" + a.Name, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false"}, env...)...)
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			out, err := goCmd([]string{"GOTEST_WANT=x"}, "test", "-count=1", "-v", "-exec", self+" exec", "./testdata/gotest", "-args", "-want=x")
			require.NoError(t, err, out)
			assert.Contains(t, out, "--- PASS: TestHost")
			assert.Regexp(t, `(?m)^ok\s+\S+/testdata/gotest`, out)

			// go test's output flags name files the test binary writes
			// under go's work directory; exec lets it.
			profile := filepath.Join(t.TempDir(), "cover.out")
			out, err = goCmd(nil, "test", "-count=1", "-coverprofile="+profile, "-exec", self+" exec", "./testdata/gotest")
			require.NoError(t, err, out)
			b, err := os.ReadFile(profile)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(string(b), "mode: set\n"), "profile %q", b)

			out, err = goCmd([]string{"GOTEST_FAIL=1"}, "test", "-count=1", "-exec", self+" exec", "./testdata/gotest")
			require.Error(t, err, out)
			assert.Contains(t, out, "failing as asked")

			out, err = goCmd(nil, "run", "-exec", self+" exec", "./testdata/hostio", "exit", "3")
			require.Error(t, err, out)
			assert.Contains(t, out, "exit status 3")
		})
	}
}

var (
	builtOnce sync.Once
	builtPath string
	builtErr  error
)

// removeBuilt removes what gorunemuBinary built (TestMain calls it).
func removeBuilt() {
	if builtPath != "" {
		os.RemoveAll(filepath.Dir(builtPath))
	}
}

// gorunemuBinary builds this command once per test binary.
func gorunemuBinary(t *testing.T) string {
	t.Helper()
	root := moduleRoot(t)
	builtOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gorunemu-bin")
		if err != nil {
			builtErr = err
			return
		}
		builtPath = filepath.Join(dir, "gorunemu")
		cmd := exec.Command("go", "build", "-o", builtPath, "./cmd/gorunemu")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			builtErr = errors.New(string(out))
		}
	})
	require.NoError(t, builtErr, "building gorunemu")
	return builtPath
}

// TestExecTrace: exec writes a trace with -o, while the program keeps
// stdout; without -o a level is a usage error.
func TestExecTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures")
	}
	bin := loadertest.Build(t, "hostio", "arm64")
	out := filepath.Join(t.TempDir(), "trace.txt")
	code, stdout, errOut := execIn(t, t.TempDir(), "", "-o", out, "--syscalls", bin, "exit", "4")
	require.Equal(t, 4, code, "stderr: %s", errOut)
	assert.Contains(t, stdout, "read back: \"written\\n\" <nil>\n")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Regexp(t, `syscall mkdirat\(AT_FDCWD, "/tmp/hostio\d+", 0700\) = 0`, string(b))
	assert.Regexp(t, `milestone main\.main`, string(b))
	assert.Regexp(t, `stop exited with code 4`, string(b))

	code, _, errOut = execIn(t, t.TempDir(), "", "--calls", bin)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "a trace needs -o FILE")
}

// TestTestOutputDirs: go test's output flags make their directories
// writable, in both flag forms; other flags and missing paths do not.
func TestTestOutputDirs(t *testing.T) {
	out, cover := t.TempDir(), t.TempDir()
	got := testOutputDirs([]string{"-test.v=true", "-test.outputdir", out, "-test.coverprofile=" + filepath.Join(cover, "c.out"),
		"-test.cpuprofile=cpu.out", "-test.gocoverdir=" + filepath.Join(out, "missing"), "-x", "-test.trace"})
	assert.Equal(t, []string{out, cover}, got)
}

// TestExecForwardsSignals: a signal sent to gorunemu exec reaches the
// guest, even while it waits for input on stdin: SIGTERM kills both, SIGQUIT
// makes the Go runtime in the guest print its goroutines and exit 2.
func TestExecForwardsSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures")
	}
	bin := loadertest.Build(t, "hostio", "arm64")
	self := gorunemuBinary(t)
	for _, c := range []struct {
		sig      syscall.Signal
		signaled bool
		code     int
		out      string
	}{
		{syscall.SIGTERM, true, 0, ""},
		{syscall.SIGQUIT, false, 2, "SIGQUIT: quit"},
	} {
		cmd := exec.Command(self, "exec", bin)
		stdinR, stdinW, err := os.Pipe()
		require.NoError(t, err)
		defer stdinW.Close()
		var out bytes.Buffer
		cmd.Stdin, cmd.Stderr = stdinR, &out
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		stdinR.Close()
		// The guest reads stdin after its "remove:" line; then signal
		// gorunemu.
		lines := bufio.NewReader(stdout)
		for {
			line, err := lines.ReadString('\n')
			require.NoError(t, err)
			if strings.HasPrefix(line, "remove:") {
				break
			}
		}
		require.NoError(t, cmd.Process.Signal(c.sig))
		rest, _ := io.ReadAll(lines)
		err = cmd.Wait()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "output: %s", out.String())
		ws := exit.Sys().(syscall.WaitStatus)
		if c.signaled {
			assert.True(t, ws.Signaled(), "%v: status %v", c.sig, ws)
			assert.Equal(t, c.sig, ws.Signal())
		} else {
			assert.Equal(t, c.code, ws.ExitStatus(), "%v: status %v", c.sig, ws)
			assert.Contains(t, out.String()+string(rest), c.out)
		}
	}
}
