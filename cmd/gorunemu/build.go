package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// isPackageDir reports whether path is a directory (to be built) rather
// than a file (to be run).
func isPackageDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
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
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s for linux/%s: %w\n%s", dir, goarch, err, bytes.TrimSpace(msg.Bytes()))
	}
	return out, nil
}
