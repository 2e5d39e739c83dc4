package emu_test

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
	"github.com/gorunemu/gorunemu/trace"
)

// TestWatchpoints: a write watchpoint over runtime.g0 stops at every store
// the write trace (trace --watch) sees, in order, without changing the
// run; a replay to a hit's position stands right before the store, and
// one instruction on right after it.
func TestWatchpoints(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "hello", a.Name)
			g0 := g0Watch(t, bin)
			rec, ref, _ := traced(t, bin, emu.UntilSymbol("main.main"), emu.TraceOptions{Watches: []emu.Watch{g0}})
			stores := rec.Of(trace.Write)
			require.NotEmpty(t, stores)

			p := start(t, bin, emu.Config{})
			u := emu.Until{Symbols: []string{"main.main"}, Watches: []emu.Watchpoint{{Addr: g0.Addr, Len: g0.Size, Kind: emu.WatchWrite}}}
			var hits []emu.WatchHit
			for {
				r := runTo(t, p, u)
				hits = append(hits, r.Watches...)
				if r.Kind != emu.StopWatch {
					require.Equal(t, emu.StopUntil, r.Kind, "%s", r)
					break
				}
				assert.Contains(t, r.String(), "watchpoint: write of ")
			}
			assert.Equal(t, ref.Insns(), p.Insns(), "the stops changed nothing")
			require.Len(t, hits, len(stores))
			for i, h := range hits {
				assert.True(t, h.Write)
				assert.Equal(t, stores[i].At.PC, h.PC, "store %d", i)
				assert.Equal(t, stores[i].Addr, h.Addr, "store %d", i)
				assert.Equal(t, stores[i].Size, h.Size, "store %d", i)
				assert.Equal(t, p.MainThread().TID, h.TID)
				if i > 0 { // arm64's STP makes two stores at one position
					assert.GreaterOrEqual(t, h.Position, hits[i-1].Position)
				}
			}

			// The first store to g0.stack.lo is rt0_go's: a replay stops
			// right before it and right after it.
			i := 0
			for hits[i].Addr != g0.Addr {
				i++
			}
			first := hits[i]
			assert.Contains(t, first.Symbol, "runtime.rt0_go+")
			word := func(q *emu.Process) uint64 {
				b := make([]byte, 8)
				require.NoError(t, q.ReadMem(first.Addr, b))
				return binary.LittleEndian.Uint64(b)
			}
			q := start(t, bin, emu.Config{})
			r, err := q.RunTo(context.Background(), emu.Until{}, first.Position)
			require.NoError(t, err)
			assert.Equal(t, first.PC, r.PC)
			assert.Zero(t, word(q))
			_, err = q.RunTo(context.Background(), emu.Until{}, first.Position+1)
			require.NoError(t, err)
			assert.Equal(t, stores[i].New, word(q))
			assert.NotZero(t, word(q))
		})
	}
}

// TestLateWatchpoints: watchpoints set after code ran, and was translated
// without the memory hook, see every store of it too. runtime.m0 is
// written by lock and unlock (m.locks) before runtime.main and after.
func TestLateWatchpoints(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "hello", a.Name)
			img, err := loader.Open(bin)
			require.NoError(t, err)
			m0, ok := img.Data("runtime.m0")
			require.True(t, ok)
			u := emu.Until{Symbols: []string{"main.main"}, Watches: []emu.Watchpoint{{Addr: m0.Addr, Len: m0.Size, Kind: emu.WatchWrite}}}
			all := func(p *emu.Process) (hits []emu.WatchHit) {
				for {
					r := runTo(t, p, u)
					hits = append(hits, r.Watches...)
					if r.Kind != emu.StopWatch {
						require.Equal(t, emu.StopUntil, r.Kind)
						return hits
					}
				}
			}
			early := all(start(t, bin, emu.Config{}))
			late := start(t, bin, emu.Config{})
			require.Equal(t, emu.StopUntil, runTo(t, late, emu.UntilSymbol("runtime.main")).Kind)
			from := late.Position()
			lateHits := all(late)
			var want []emu.WatchHit
			for _, h := range early {
				if h.Position >= from {
					want = append(want, h)
				}
			}
			require.NotEmpty(t, want)
			assert.Less(t, len(want), len(early))
			assert.Equal(t, want, lateHits)
			// The same functions stored before: their code was translated
			// before the watch.
			before := map[uint64]bool{}
			for _, h := range early[:len(early)-len(want)] {
				before[h.PC] = true
			}
			again := 0
			for _, h := range want {
				if before[h.PC] {
					again++
				}
			}
			assert.NotZero(t, again, "no store came from code translated before the watch")
		})
	}
}

// TestReadWatchpoints: read and access watchpoints stop at loads (and, for
// access, stores too), and a single step reports the access it made.
func TestReadWatchpoints(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "hello", a.Name)
			g0 := g0Watch(t, bin)
			kinds := map[emu.WatchKind]map[bool]int{}
			for _, kind := range []emu.WatchKind{emu.WatchRead, emu.WatchAccess} {
				kinds[kind] = map[bool]int{}
				p := start(t, bin, emu.Config{})
				u := emu.Until{Symbols: []string{"runtime.schedinit"}, Watches: []emu.Watchpoint{{Addr: g0.Addr, Len: g0.Size, Kind: kind}}}
				for {
					r := runTo(t, p, u)
					for _, h := range r.Watches {
						kinds[kind][h.Write]++
					}
					if r.Kind != emu.StopWatch {
						break
					}
				}
			}
			assert.NotZero(t, kinds[emu.WatchRead][false], "loads from g0 before schedinit")
			assert.Zero(t, kinds[emu.WatchRead][true])
			assert.Equal(t, kinds[emu.WatchRead][false], kinds[emu.WatchAccess][false])
			assert.NotZero(t, kinds[emu.WatchAccess][true])

			// A step onto a store reports it: the step is exact.
			p := start(t, bin, emu.Config{})
			u := emu.Until{Symbols: []string{"main.main"}, Watches: []emu.Watchpoint{{Addr: g0.Addr, Len: 8, Kind: emu.WatchWrite}}}
			r := runTo(t, p, u)
			require.Equal(t, emu.StopWatch, r.Kind)
			first := r.Watches[0]
			q := start(t, bin, emu.Config{})
			_, err := q.RunTo(context.Background(), emu.Until{}, first.Position)
			require.NoError(t, err)
			r, err = q.StepWatching(first.TID, u.Watches)
			require.NoError(t, err)
			require.Len(t, r.Watches, 1)
			assert.Equal(t, first, r.Watches[0])
			assert.Equal(t, first.Position+1, q.Position())
		})
	}
}
