package gotest

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var want = flag.String("want", "", "a value the test must be given")

func TestHost(t *testing.T) {
	b, err := os.ReadFile("testdata/greeting.txt")
	if err != nil || string(b) != Greeting {
		t.Fatalf("testdata: %q, %v", b, err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(p); err != nil || string(got) != Greeting {
		t.Fatalf("temp file: %q, %v", got, err)
	}
	if *want != "" && os.Getenv("GOTEST_WANT") != *want {
		t.Fatalf("GOTEST_WANT=%q, flag %q", os.Getenv("GOTEST_WANT"), *want)
	}
}

func TestFails(t *testing.T) {
	if os.Getenv("GOTEST_FAIL") != "" {
		t.Fatal("failing as asked")
	}
}
