package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
)

// Standard library packages whose tests (-test.short) run under
// gorunemu exec. CI runs the fast ones; GORUNEMU_MATRIX=1 runs all.
// runtime is not among them: its tests build testprog and its siblings
// with the go command, which then runs inside the emulation (the first
// build took 72 s of guest time; 38 tests passed before it) and, for
// testprogcgo, runs gcc.
var (
	stdlibFast = []string{"strings", "sort", "bufio", "path/filepath", "text/template", "io", "os/exec"}
	stdlibAll  = append(append([]string(nil), stdlibFast...),
		"bytes", "strconv", "fmt", "os", "regexp", "encoding/json", "compress/gzip",
		"context", "sync", "time", "math/big", "net/http", "unicode/utf8",
		"container/list", "encoding/base64", "encoding/binary", "hash/crc32", "crypto/sha256",
		"sync/atomic", "errors", "math", "html/template", "archive/tar", "flag", "unicode")
)

// stdlibKnown are the packages that pass under qemu-user and not yet
// under gorunemu exec, with the reason, by package or "package@arch". A
// listed package that passes fails the test, so the list stays true.
var stdlibKnown = map[string]string{
	"os@arm64": "TestStartProcess runs the host's /usr/bin/pwd, an amd64 program the arm64 guest cannot exec (ENOEXEC, as without binfmt_misc)",
}

// stdlibNoOracle are the packages qemu-user cannot be compared with:
// qemu-aarch64 7.2 hangs in their tests that start processes until the
// test binary's timeout. They run under gorunemu only, and must pass
// (unless known above).
var stdlibNoOracle = map[string]bool{"os": true, "os/exec": true, "flag": true}

// TestStdlibUnderExec runs standard library test binaries under
// qemu-user and gorunemu exec, in the package directory as go test does:
// each must pass under gorunemu wherever it passes under qemu-user,
// except the known differences above.
func TestStdlibUnderExec(t *testing.T) {
	if testing.Short() {
		t.Skip("builds standard library tests")
	}
	pkgs := stdlibFast
	if os.Getenv("GORUNEMU_MATRIX") != "" {
		pkgs = stdlibAll
	}
	self := gorunemuBinary(t)
	goroot := strings.TrimSpace(goOutput(t, "env", "GOROOT"))
	work := t.TempDir()
	for _, a := range arch.All() {
		qemu, err := exec.LookPath(map[string]string{"amd64": "qemu-x86_64", "arm64": "qemu-aarch64"}[a.Name])
		require.NoError(t, err, "qemu-user is needed to compare with the real thing: run make test-deps")
		// The two arches run side by side (each package's runs one after
		// another, so their times compare).
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			stdlibArch(t, a.Name, qemu, self, goroot, work, pkgs)
		})
	}
}

// stdlibArch runs the packages' tests for one arch: under gorunemu exec,
// then under qemu-user unless the package is listed above.
func stdlibArch(t *testing.T, goarch, qemu, self, goroot, work string, pkgs []string) {
	for _, pkg := range pkgs {
		t.Run(pkg, func(t *testing.T) {
			bin := filepath.Join(work, strings.ReplaceAll(pkg, "/", "_")+"."+goarch+".test")
			cmd := exec.Command("go", "test", "-c", "-o", bin, pkg)
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			dir := filepath.Join(goroot, "src", pkg)
			gOK, gOut, gTime := runTest(dir, self, "exec", bin)
			reason, known := stdlibKnown[pkg+"@"+goarch]
			if !known {
				reason, known = stdlibKnown[pkg]
			}
			switch {
			case known:
				t.Logf("%s %s: gorunemu %v (%.2fs); known difference: %s", pkg, goarch, gOK, gTime.Seconds(), reason)
				if gOK {
					t.Errorf("passes now: remove it from stdlibKnown (%s)", reason)
				}
				return
			case stdlibNoOracle[pkg]:
				t.Logf("%s %s: gorunemu %v (%.2fs); qemu-user not compared (it hangs here)", pkg, goarch, gOK, gTime.Seconds())
				if !gOK {
					t.Errorf("fails under gorunemu exec:\n%s", tail(gOut))
				}
				return
			}
			qOK, qOut, qTime := runTest(dir, qemu, bin)
			t.Logf("%s %s: gorunemu %v (%.2fs), qemu-user %v (%.2fs)", pkg, goarch, gOK, gTime.Seconds(), qOK, qTime.Seconds())
			switch {
			case !qOK:
				t.Logf("fails under qemu-user too:\n%s", tail(qOut))
			case !gOK:
				t.Errorf("passes under qemu-user, fails under gorunemu exec:\n%s", tail(gOut))
			}
		})
	}
}

// runTest runs a test binary with -test.short in dir and reports whether
// it passed, its output and its wall time. The binary's own timeout (go
// test's default) makes a hung test fail with its goroutines; a run that
// outlives it by far (qemu-user once hung in os/exec) is killed.
func runTest(dir string, argv ...string) (bool, string, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:], "-test.short", "-test.timeout=10m")...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return false, err.Error(), time.Since(start)
	}
	return err == nil, out.String(), time.Since(start)
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

func goOutput(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("go", args...).Output()
	require.NoError(t, err)
	return string(out)
}
