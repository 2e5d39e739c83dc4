package emu

import (
	"testing"

	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// FuzzResolveUntil: any --until string either fails to parse or to
// resolve with an error, or gives addresses; none panics, and a symbol
// with an offset never resolves outside its function.
func FuzzResolveUntil(f *testing.F) {
	for _, s := range []string{"main.main", "runtime.rt0_go+0xbe", "runtime.rt0_go+1", "main.go:8", "hello/main.go:8",
		"0x401000", "x+", "+1", ":", "main.go:0", "main.go:-1", "runtime.rt0_go+0x", "main.main+0xffffffffffffffff", "exit"} {
		f.Add(s)
	}
	img, err := loader.Open(loadertest.Build(f, "hello", "amd64"))
	if err != nil {
		f.Fatal(err)
	}
	p, err := New(img, Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Close() })
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUntil(s)
		if err != nil {
			return
		}
		addrs, err := p.resolve(u)
		if err != nil || len(u.Symbols) != 1 {
			return
		}
		sym := u.Symbols[0]
		for i := len(sym) - 1; i > 0; i-- {
			if sym[i] != '+' {
				continue
			}
			entry, ok := img.Lookup(sym[:i])
			if !ok {
				return
			}
			fn, _ := img.FuncAt(entry)
			if addrs[0] < fn.Entry || addrs[0] >= fn.End {
				t.Errorf("%q resolved to %#x, outside %s [%#x, %#x)", s, addrs[0], fn.Name, fn.Entry, fn.End)
			}
			return
		}
	})
}
