package loader_test

import (
	"debug/dwarf"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
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

func TestLookupField(t *testing.T) {
	for _, a := range []string{"amd64", "arm64"} {
		t.Run(a, func(t *testing.T) {
			img, err := loader.Open(loadertest.Build(t, "hello", a))
			require.NoError(t, err)
			g0, ok := img.Data("runtime.g0")
			require.True(t, ok)
			f, err := img.LookupField("runtime.g0")
			require.NoError(t, err)
			assert.Equal(t, loader.Field{Name: "runtime.g0", Addr: g0.Addr, Size: g0.Size}, f)
			lo, err := img.LookupField("runtime.g0.stack.lo")
			require.NoError(t, err)
			assert.Equal(t, loader.Field{Name: "runtime.g0.stack.lo", Addr: g0.Addr, Size: 8}, lo, "g.stack.lo is g's first word")
			hi, err := img.LookupField("runtime.g0.stack.hi")
			require.NoError(t, err)
			assert.Equal(t, g0.Addr+8, hi.Addr)
			st, err := img.LookupField("runtime.g0.stack")
			require.NoError(t, err)
			assert.Equal(t, uint64(16), st.Size)
			m0, ok := img.Data("runtime.m0")
			require.True(t, ok)
			tls, err := img.LookupField("runtime.m0.tls")
			require.NoError(t, err)
			assert.Equal(t, m0.Addr+0x80, tls.Addr, "m.tls (Go 1.25+ layout)")
			assert.Equal(t, uint64(6*8), tls.Size)

			_, err = img.LookupField("runtime.nosuch")
			assert.ErrorIs(t, err, loader.ErrNoVariable)
			_, err = img.LookupField("runtime.g0.nosuch")
			assert.ErrorContains(t, err, `has no field "nosuch"`)
			_, err = img.LookupField("runtime.g0.stack.lo.x")
			assert.ErrorContains(t, err, "is not a struct")

			stripped, err := loader.Open(loadertest.Build(t, "hello", a, loadertest.Stripped()))
			require.NoError(t, err)
			_, err = stripped.LookupField("runtime.g0.stack.lo")
			assert.ErrorIs(t, err, loader.ErrNoVariable, "stripped binaries have no variables")
		})
	}
}
