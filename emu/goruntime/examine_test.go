package goruntime_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// TestExamine reads variables and fields by name at main.main and
// compares them with what the snapshot found on its own (from symbols
// and the offset table), on both arches.
func TestExamine(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			p := runTo(t, loadertest.Build(t, "hello", a.Name), "main.main", emu.Config{})
			s := read(t, p)
			vars, err := goruntime.NewVariables(p)
			require.NoError(t, err)
			ex := func(expr string) *goruntime.Value {
				t.Helper()
				v, err := vars.Examine(expr)
				require.NoError(t, err, expr)
				return v
			}

			g0 := ex("runtime.g0")
			assert.Equal(t, "runtime.g", g0.Type)
			assert.Equal(t, val(t, "&g0", s.G0.Addr), g0.Addr)
			names := map[string]string{}
			for _, f := range g0.Fields {
				names[f.Name] = f.Text
			}
			assert.Contains(t, names, "stack")
			assert.Contains(t, names, "m")

			lo := ex("runtime.g0.stack.lo")
			assert.Equal(t, "0x"+strconv.FormatUint(uint64(val(t, "g0.stack.lo", s.G0.StackLo)), 16), lo.Text)
			assert.Equal(t, g0.Addr, lo.Addr, "stack.lo is g0's first word")

			// Through a pointer, as in Go: g0.m is &m0.
			procid := ex("runtime.g0.m.procid")
			assert.Equal(t, "4242", procid.Text)
			tls := ex("runtime.m0.tls")
			assert.Equal(t, val(t, "&m0.tls", s.M0.TLSAddr), tls.Addr)
			require.Len(t, tls.Fields, len(s.M0.TLS))
			assert.Equal(t, "[1]", tls.Fields[1].Name)
			if a == arch.AMD64 {
				assert.Equal(t, "0x"+strconv.FormatUint(uint64(val(t, "tls[0]", s.M0.TLS[0])), 16), ex("runtime.m0.tls[0]").Text, "g in TLS")
			}

			// Strings and slices are indexed through their data.
			assert.Equal(t, `"./hello"`, ex("runtime.argslice[0]").Text)
			assert.Contains(t, ex("runtime.argslice").Text, "len 1")
			assert.Equal(t, "1", ex("runtime.argc").Text)

			for expr, want := range map[string]string{
				"runtime.nosuch":        "no such variable",
				"runtime.g0.nosuch":     "has no field nosuch",
				"runtime.m0.tls[99]":    "out of range",
				"runtime.argslice[5]":   "out of range",
				"runtime.g0.stack.lo.x": "has no fields",
			} {
				_, err := vars.Examine(expr)
				assert.ErrorContains(t, err, want, expr)
			}
		})
	}
}
