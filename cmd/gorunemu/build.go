package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
)

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	_, err = io.ReadFull(f, b)
	return b, err
}

// isPackageDir reports whether path is a directory (to be built) rather
// than a file (to be run).
func isPackageDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// cpuLevel returns the GOAMD64 or GOARM64 setting for a build that the
// emulated CPU runs, whatever the caller's environment says: the highest
// x86-64 level whose features the engine executes, and the arm64 base
// level (the runtime finds LSE atomics through AT_HWCAP at run time).
func cpuLevel(goarch string) (string, error) {
	a, err := arch.ByName(goarch)
	if err != nil {
		return "", err
	}
	if a != arch.AMD64 {
		return "GOARM64=v8.0", nil
	}
	cpu, err := emu.GuestCPU(a)
	if err != nil {
		return "", err
	}
	level, _ := cpu.GOAMD64(a)
	return "GOAMD64=" + level, nil
}

// buildPackage builds the Go main package in dir for linux/goarch with the
// local toolchain and returns the binary's path in gorunemu's cache. The
// go command's own build cache makes a rebuild of an unchanged package
// cheap.
func buildPackage(dir, goarch string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256([]byte(abs + "\x00" + goarch))
	out := filepath.Join(cache, "gorunemu", "build", hex.EncodeToString(sum[:8]), filepath.Base(abs))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	level, err := cpuLevel(goarch)
	if err != nil {
		return "", err
	}
	// -buildvcs=false: the same source gives the same binary, and trace,
	// whether or not it sits in a version-controlled checkout.
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", out, ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0", level)
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s for linux/%s: %w\n%s", dir, goarch, err, bytes.TrimSpace(msg.Bytes()))
	}
	// go build -o writes a package archive for a package that is not main.
	if head, err := readHead(out, 4); err != nil || string(head) != "\x7fELF" {
		return "", fmt.Errorf("%s is not a main package: nothing to run", dir)
	}
	return out, nil
}
