package loader_test

import (
	"errors"
	"testing"

	"github.com/gorunemu/gorunemu/emu/arch"
	"github.com/gorunemu/gorunemu/loader"
)

// FuzzParse feeds arbitrary bytes to Parse: it must return an image or a
// *FormatError, never panic, and the image's methods must not panic
// either. go test runs the seeds; go test -fuzz=FuzzParse explores.
func FuzzParse(f *testing.F) {
	for _, a := range arch.All() {
		e := minimal(a)
		f.Add(e.bytes())
		e.typ = 3 // ET_DYN
		f.Add(e.bytes())
	}
	f.Add([]byte("#!/bin/sh\n"))
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := parseBytes(b, "fuzz")
		if err != nil {
			var fe *loader.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FormatError: %v", err)
			}
			return
		}
		exerciseImage(t, img)
	})
}
