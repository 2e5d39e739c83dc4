package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	loadertest.Cleanup()
	removeBuilt()
	os.Exit(code)
}

// gorunemu runs the command in-process and returns its exit code and output.
func gorunemu(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func moduleRoot(t *testing.T) string {
	root, err := loadertest.ModuleRoot()
	require.NoError(t, err)
	return root
}

func TestRunPackageDirToMain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures")
	}
	dir := filepath.Join(moduleRoot(t), "testdata", "hello")
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			code, out, errOut := gorunemu("run", "--arch", a.Name, dir)
			require.Equal(t, exitOK, code, "stderr: %s", errOut)
			assert.Regexp(t, `(?m)^binary: +\S+/hello \(`+a.Name+`, go1\.\d+(\.\d+)?; built in \S+ to /\S+/hello\)$`, out)
			assert.Regexp(t, `(?m)^stop: +reached main\.main \(0x[0-9a-f]+\) on thread 4242$`, out)
			assert.Regexp(t, `(?m)^insns: +\d{6,}$`, out)
			assert.Regexp(t, `(?m)^syscalls: +\d+ \(none unimplemented\)$`, out)
			assert.Regexp(t, `(?m)^threads: +[3-9] created, [3-9] live$`, out)
		})
	}
}

// TestPackageDirIgnoresHostLevel builds a package directory with the
// caller's environment asking for CPU levels the emulated CPU lacks: the
// build pins them to what it runs, so the program still runs to exit.
func TestPackageDirIgnoresHostLevel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures")
	}
	t.Setenv("GOAMD64", "v4")
	t.Setenv("GOARM64", "v9.5")
	dir := filepath.Join(moduleRoot(t), "testdata", "hello")
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			code, out, errOut := gorunemu("run", "--arch", a.Name, "--until", "exit", dir)
			require.Equal(t, 0, code, "stderr: %s", errOut)
			assert.Equal(t, "hello world\n", out)
		})
	}
	level, err := cpuLevel("amd64")
	require.NoError(t, err)
	assert.Equal(t, "GOAMD64=v2", level, "Unicorn 2.1 runs x86-64-v2")
}

func TestRunUntilExitPassesOutputAndCode(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			hello := loadertest.Build(t, "hello", a.Name)
			code, out, errOut := gorunemu("run", "--until", "exit", hello)
			assert.Equal(t, 0, code)
			assert.Equal(t, "hello world\n", out, "guest stdout only")
			assert.Contains(t, errOut, "stop:      exited with code 0", "summary on stderr")

			code, out, _ = gorunemu("run", "-q", "--until", "exit", loadertest.Build(t, "exit", a.Name))
			assert.Equal(t, 3, code)
			assert.Empty(t, out)

			code, out, _ = gorunemu("run", "-q", "--until", "exit", "--env", "GORUNEMU_TEST=x y", "--env", "A=b",
				loadertest.Build(t, "args", a.Name), "first", "--second")
			assert.Equal(t, 0, code)
			assert.Equal(t, "arg[0]=./args\narg[1]=first\narg[2]=--second\nGORUNEMU_TEST=x y\n", out)
		})
	}
}

func TestRunStops(t *testing.T) {
	hello := loadertest.Build(t, "hello", "amd64")
	// An address, a symbol, and a symbol never reached before exit.
	code, out, _ := gorunemu("run", "--until", "runtime.rt0_go", hello)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "reached runtime.rt0_go")
	code, out, _ = gorunemu("run", "--until", "runtime.main", hello)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "reached runtime.main ")
	code, out, _ = gorunemu("run", "--until", "runtime.exit", loadertest.Build(t, "exit", "amd64"))
	assert.Equal(t, exitOK, code, out)
	code, out, _ = gorunemu("run", "--until", "runtime.throw", hello)
	assert.Equal(t, exitNotReach, code)
	assert.Contains(t, out, "exited with code 0")
	code, out, _ = gorunemu("run", "--max-insns", "1000", hello)
	assert.Equal(t, exitInsns, code)
	assert.Regexp(t, regexp.MustCompile(`stop: +instruction limit of 1000 instructions reached at \S+`), out)
}

func TestRunBadInput(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "script.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755))
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no command", nil, exitUsage, "Usage:"},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"no binary", []string{"run"}, exitUsage, "missing BINARY"},
		{"bad flag", []string{"run", "--bogus", "x"}, exitUsage, "flag provided but not defined"},
		{"bad env", []string{"run", "--env", "novalue", "x"}, exitUsage, "want KEY=VALUE"},
		{"missing file", []string{"run", filepath.Join(dir, "nope")}, exitNoInput, "no such file"},
		{"shell script", []string{"run", script}, exitBadInput, "not an ELF file"},
		{"bad arch", []string{"run", "--arch", "riscv64", dir}, exitUsage, `"riscv64"`},
		{"no package", []string{"run", dir}, exitNoInput, "go build"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := gorunemu(c.args...)
			assert.Equal(t, c.code, code)
			assert.Contains(t, errOut, c.msg)
		})
	}
}

func TestUnknownSymbol(t *testing.T) {
	code, _, errOut := gorunemu("run", "--until", "main.nosuch", loadertest.Build(t, "hello", "arm64"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `no symbol "main.nosuch"`)
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := gorunemu("help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "Exit codes:")
	for _, c := range []struct {
		args []string
		cmd  string
	}{
		{[]string{"run", "-h"}, "run"},
		{[]string{"run", "--help"}, "run"},
		{[]string{"help", "run"}, "run"},
		{[]string{"trace", "-h"}, "trace"},
		{[]string{"help", "inspect"}, "inspect"},
	} {
		code, out, errOut := gorunemu(c.args...)
		assert.Equal(t, exitOK, code, "%v", c.args)
		assert.Contains(t, out, "Usage: gorunemu "+c.cmd+" [flags]", "%v: help goes to stdout", c.args)
		assert.Contains(t, out, "--until", "%v", c.args)
		assert.Empty(t, errOut, "%v", c.args)
	}
	code, _, errOut := gorunemu("help", "nosuch")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `unknown command "nosuch"`)
	for _, v := range []string{"version", "--version", "-version"} {
		code, out, _ = gorunemu(v)
		assert.Equal(t, exitOK, code)
		assert.True(t, strings.HasPrefix(out, "gorunemu "), out)
		assert.Contains(t, out, "libunicorn 2.")
	}
}

// TestMisuseGuides checks that command lines that cannot mean what they
// say are refused with a usage error that says what to do.
func TestMisuseGuides(t *testing.T) {
	hello := loadertest.Build(t, "hello", "amd64")
	args := loadertest.Build(t, "args", "amd64")
	root := moduleRoot(t)
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"flag after binary", []string{"run", hello, "--until", "exit"}, exitUsage, "--until comes after " + hello + ": gorunemu's flags go before BINARY; to pass it to the guest, put -- before"},
		{"flag=value after binary", []string{"trace", hello, "x", "-calls=runtime"}, exitUsage, "-calls=runtime comes after"},
		{"regs without insns", []string{"trace", "--regs", hello}, exitUsage, "--regs shows the registers each instruction changed: it needs --insns"},
		{"arch of a binary", []string{"run", "--arch", "arm64", hello}, exitUsage, "--arch arm64: " + hello + " is a linux/amd64 binary; --arch only chooses how to build a package directory"},
		{"bad arch", []string{"run", "--arch", "386", hello}, exitUsage, `invalid value "386" for flag -arch: want amd64 or arm64`},
		{"a .go file", []string{"run", filepath.Join(root, "testdata", "hello", "main.go")}, exitBadInput, "pass its package directory: gorunemu run " + filepath.Join(root, "testdata", "hello")},
		{"not a main package", []string{"run", filepath.Join(root, "loader")}, exitNoInput, "is not a main package: nothing to run"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := gorunemu(c.args...)
			assert.Equal(t, c.code, code, "stderr: %s", errOut)
			assert.Contains(t, errOut, c.msg)
		})
	}
	// After --, words that look like gorunemu's flags are the guest's.
	code, out, errOut := gorunemu("run", "-q", "--until", "exit", args, "--", "--until", "x", "--")
	require.Equal(t, 0, code, "stderr: %s", errOut)
	assert.Contains(t, out, "arg[1]=--until\narg[2]=x\narg[3]=--\n")
	// Words that are not gorunemu's flags pass without --.
	code, out, errOut = gorunemu("run", "-q", "--until", "exit", args, "-v", "--nosuch")
	require.Equal(t, 0, code, "stderr: %s", errOut)
	assert.Contains(t, out, "arg[1]=-v\narg[2]=--nosuch\n")
}
