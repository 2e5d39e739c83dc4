package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// xsysVersion must match the go:generate line in syscalls/generate.go.
const xsysVersion = "v0.49.0"

// TestGeneratedFilesUpToDate regenerates the tables from the module cache
// and compares them with the committed files. It skips when the module is
// not in the cache (no network is needed or used).
func TestGeneratedFilesUpToDate(t *testing.T) {
	gen, err := os.ReadFile("../../generate.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gen), "-xsys "+xsysVersion+" ") {
		t.Fatalf("generate.go does not pin x/sys %s", xsysVersion)
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "golang.org/x/sys@"+xsysVersion)
	if _, err := os.Stat(filepath.Join(dir, "unix", "zsysnum_linux_amd64.go")); err != nil {
		t.Skipf("golang.org/x/sys@%s is not in the module cache", xsysVersion)
	}
	files, err := generate(dir, "golang.org/x/sys@"+xsysVersion)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("%d files", len(files))
	}
	for name, code := range files {
		have, err := os.ReadFile(filepath.Join("../..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(have, code) {
			t.Errorf("%s is stale: run go generate ./syscalls", name)
		}
	}
}

func TestParseSysnumsRejects(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "z.go")
	src := "package unix\nconst (\n\tSYS_A = 1\n\tSYS_B = 1\n)\n"
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := parseSysnums(p); err == nil || !strings.Contains(err.Error(), "both 1") {
		t.Errorf("duplicate numbers: err %v", err)
	}
	src = "package unix\nconst (\n\tSYS_A = 1\n)\n"
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := parseSysnums(p); err == nil {
		t.Error("a short table should be rejected")
	}
}
