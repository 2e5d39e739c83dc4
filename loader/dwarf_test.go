package loader_test

import (
	"debug/dwarf"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/emu/arch"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// TestDWARF finds runtime.g in the DWARF of an ordinary build, and
// reports ErrNoDWARF for -s -w and -w builds (the latter keeping its
// symbol table).
func TestDWARF(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			img, err := loader.Open(loadertest.Build(t, "hello", a.Name))
			require.NoError(t, err)
			d, err := img.DWARF()
			require.NoError(t, err)
			r := d.Reader()
			found := false
			for e, err := r.Next(); e != nil && err == nil; e, err = r.Next() {
				if e.Tag == dwarf.TagStructType && e.Val(dwarf.AttrName) == "runtime.g" {
					found = true
					break
				}
			}
			assert.True(t, found, "struct runtime.g in the DWARF")

			for name, opt := range map[string]loadertest.Option{
				"-s -w": loadertest.Stripped(),
				"-w":    loadertest.BuildFlags("-ldflags=-w"),
			} {
				img, err := loader.Open(loadertest.Build(t, "hello", a.Name, opt))
				require.NoError(t, err)
				_, err = img.DWARF()
				assert.True(t, errors.Is(err, loader.ErrNoDWARF), "%s: %v", name, err)
				assert.Equal(t, name == "-s -w", img.Stripped, name)
			}
		})
	}
}
