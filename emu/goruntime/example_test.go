package goruntime_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// TestExampleStartup is what a test suite of a Go program looks like when
// it asserts that the runtime started right: emulate the binary to
// main.main, read the runtime, check the invariants and assert facts.
func TestExampleStartup(t *testing.T) {
	for _, goarch := range []string{"amd64", "arm64"} {
		t.Run(goarch, func(t *testing.T) {
			p, err := emu.Open(loadertest.Build(t, "hello", goarch), emu.Config{})
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, p.Close()) })
			stop, err := p.Run(context.Background(), emu.UntilSymbol("main.main"))
			require.NoError(t, err)
			require.Equal(t, emu.StopUntil, stop.Kind, "stop: %s", stop)

			s, err := goruntime.Read(p)
			require.NoError(t, err)
			require.Empty(t, goruntime.Check(s)) // TLS, g0/m0 links, stacks, every thread

			g0 := s.G0
			assert.EqualValues(t, 64<<10, g0.StackHi.Value-g0.StackLo.Value) // g0 has 64 KiB
			assert.Equal(t, s.EntrySP-48, g0.StackHi.Value)                  // just below argc
			assert.Equal(t, g0.StackLo.Value+928, g0.StackGuard0.Value)      // the stack guard
			main := s.Threads[0]
			if goarch == "amd64" {
				assert.Equal(t, s.M0.TLSAddr.Value+8, main.TLSBase) // FS base = &m0.tls+8
			} else {
				assert.Zero(t, main.TLSBase) // TPIDR_EL0 unused without cgo
			}
		})
	}
}
