package goruntime_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	loadertest.Cleanup()
	os.Exit(code)
}

// runTo opens bin, runs it to the symbol and returns the process, closed
// when the test ends.
func runTo(t testing.TB, bin, symbol string, cfg emu.Config) *emu.Process {
	t.Helper()
	p, err := emu.Open(bin, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	r, err := p.Run(context.Background(), emu.UntilSymbol(symbol))
	require.NoError(t, err)
	require.Equal(t, emu.StopUntil, r.Kind, "stop: %s", r)
	return p
}

// read runs goruntime.Read and fails the test on an error.
func read(t testing.TB, p *emu.Process) *goruntime.Snapshot {
	t.Helper()
	s, err := goruntime.Read(p)
	require.NoError(t, err)
	return s
}

// mainThread returns the snapshot's main thread.
func mainThread(t testing.TB, s *goruntime.Snapshot) goruntime.Thread {
	t.Helper()
	for _, th := range s.Threads {
		if th.Main {
			return th
		}
	}
	require.FailNow(t, "no main thread in the snapshot")
	return goruntime.Thread{}
}

// val returns a known value, failing the test if it is not.
func val[T any](t testing.TB, what string, v goruntime.Val[T]) T {
	t.Helper()
	require.True(t, v.Known, "%s unavailable: %s", what, v.Why)
	return v.Value
}
