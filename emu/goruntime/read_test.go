package goruntime_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// TestReadAtMainMain reads hello at main.main, with and without symbols,
// and compares every value with what the image and the emulator's
// configuration say it must be.
func TestReadAtMainMain(t *testing.T) {
	for _, a := range arch.All() {
		for _, stripped := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stripped=%v", a.Name, stripped), func(t *testing.T) {
				t.Parallel()
				full := loadertest.Build(t, "hello", a.Name)
				bin := full
				if stripped {
					bin = loadertest.Build(t, "hello", a.Name, loadertest.Stripped())
				}
				symbols, err := loader.Open(full)
				require.NoError(t, err)
				p := runTo(t, bin, "main.main", emu.Config{NCPU: 3})
				s := read(t, p)
				img := p.Image()

				assert.Equal(t, a.Name, s.Arch)
				assert.Equal(t, img.GoVersion, s.GoVersion)
				assert.Equal(t, stripped, s.Stripped)
				table, err := goruntime.TableOffsets(s.GoVersion)
				require.NoError(t, err)
				assert.Equal(t, table, s.Offsets, "DWARF and the table agree for the local toolchain")
				assert.Equal(t, goruntime.Addr(p.Stack().SP), s.EntrySP)
				assert.Equal(t, p.Insns(), s.Insns)

				// g0 and m0 are where the unstripped binary's symbols say,
				// found from them or, stripped, from rt0_go's code.
				g0Sym, ok := symbols.Lookup("runtime.g0")
				require.True(t, ok)
				m0Sym, ok := symbols.Lookup("runtime.m0")
				require.True(t, ok)
				g0, m0 := val(t, "&g0", s.G0.Addr), val(t, "&m0", s.M0.Addr)
				assert.Equal(t, goruntime.Addr(g0Sym), g0)
				assert.Equal(t, goruntime.Addr(m0Sym), m0)
				if stripped {
					assert.Equal(t, "runtime.rt0_go code", s.G0.Addr.From)
					assert.Equal(t, "runtime.rt0_go code", s.M0.Addr.From)
					assert.Contains(t, s.OffsetsFrom, "table")
				} else {
					assert.Equal(t, "runtime.g0", s.G0.Addr.From)
					assert.Equal(t, "runtime.m0", s.M0.Addr.From)
					assert.Equal(t, "DWARF", s.OffsetsFrom)
				}

				lo, hi := val(t, "g0.stack.lo", s.G0.StackLo), val(t, "g0.stack.hi", s.G0.StackHi)
				assert.Equal(t, s.EntrySP-48, hi)
				assert.Equal(t, goruntime.Addr(0x10000), hi-lo)
				assert.Equal(t, lo+928, val(t, "stackguard0", s.G0.StackGuard0))
				assert.Equal(t, lo+928, val(t, "stackguard1", s.G0.StackGuard1))
				assert.Equal(t, m0, val(t, "g0.m", s.G0.M))
				assert.Equal(t, g0, val(t, "m0.g0", s.M0.G0))
				assert.Equal(t, uint64(4242), val(t, "m0.procid", s.M0.ProcID))
				assert.Equal(t, m0+goruntime.Addr(s.Offsets.MTLS), val(t, "&m0.tls", s.M0.TLSAddr))

				// The main thread runs the main goroutine, m0.curg.
				mt := mainThread(t, s)
				curg := val(t, "m0.curg", s.M0.CurG)
				assert.NotZero(t, curg)
				assert.Equal(t, 4242, mt.TID)
				assert.Equal(t, "main.main", mt.Func)
				assert.True(t, mt.GoCode)
				assert.Equal(t, curg, val(t, "main g", mt.G))
				assert.Equal(t, curg, val(t, "g register", mt.GReg))
				assert.Equal(t, m0, val(t, "main g.m", mt.M))
				gLo, gHi := val(t, "g.stack.lo", mt.GStackLo), val(t, "g.stack.hi", mt.GStackHi)
				assert.True(t, gLo < mt.SP && mt.SP <= gHi, "SP %s in [%s, %s]", mt.SP, gLo, gHi)
				if a == arch.AMD64 {
					assert.Equal(t, m0+goruntime.Addr(s.Offsets.MTLS)+8, mt.TLSBase, "FS base = &m0.tls+8")
					assert.Equal(t, curg, val(t, "*(FS-8)", mt.TLSG))
					assert.Equal(t, curg, val(t, "m0.tls[0]", s.M0.TLS[0]))
				} else {
					assert.Zero(t, mt.TLSBase, "TPIDR_EL0")
					assert.False(t, mt.TLSG.Known)
					assert.Zero(t, val(t, "m0.tls[0]", s.M0.TLS[0]))
				}

				// Every other thread runs the g0 of its own m.
				live := 0
				for _, th := range p.Threads() {
					if th.State() != emu.Exited {
						live++
					}
				}
				assert.Len(t, s.Threads, live)
				assert.GreaterOrEqual(t, len(s.Threads), 3)
				for _, th := range s.Threads[1:] {
					assert.Equal(t, uint64(th.TID), val(t, "m.procid", th.MProcID), "thread %d", th.TID)
					assert.Equal(t, val(t, "m.g0", th.MG0), val(t, "g", th.G), "thread %d runs its m's g0", th.TID)
					assert.NotEqual(t, m0, val(t, "m", th.M))
				}

				assert.Equal(t, int64(1), val(t, "argc", s.Argc))
				assert.Equal(t, []string{"./hello"}, val(t, "argv", s.Argv))
				assert.Equal(t, s.EntrySP+8, val(t, "argv address", s.ArgvAddr))
				assert.Equal(t, int64(4096), val(t, "AT_PAGESZ", s.AuxPageSize))
				assert.False(t, val(t, "iscgo", s.IsCgo))
				if stripped {
					for name, v := range map[string]goruntime.Val[int64]{"physPageSize": s.PhysPageSize, "ncpu": s.NCPU, "gomaxprocs": s.GOMAXPROCS} {
						assert.False(t, v.Known, name)
						assert.Contains(t, v.Why, "stripped", name)
					}
					assert.Equal(t, "no runtime/cgo functions linked", s.IsCgo.From)
				} else {
					assert.Equal(t, int64(4096), val(t, "physPageSize", s.PhysPageSize))
					assert.Equal(t, int64(3), val(t, "ncpu", s.NCPU), "Config.NCPU")
					assert.Equal(t, int64(3), val(t, "gomaxprocs", s.GOMAXPROCS))
					assert.Equal(t, "runtime.iscgo", s.IsCgo.From)
				}

				assert.Empty(t, goruntime.Check(s))
			})
		}
	}
}

// TestReadBeforeStartup reads the process at its first instruction: g0
// and m0 are still zero, and Evaluate says there is nothing to check.
func TestReadBeforeStartup(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			p := runTo(t, loadertest.Build(t, "hello", a.Name), "_rt0_"+a.Name+"_linux", emu.Config{})
			s := read(t, p)
			assert.Zero(t, val(t, "g0.stack.hi", s.G0.StackHi))
			assert.Zero(t, val(t, "m0.g0", s.M0.G0))
			assert.Zero(t, val(t, "argc", s.Argc), "runtime.args has not run")
			mt := mainThread(t, s)
			assert.Zero(t, mt.TLSBase)
			if a == arch.AMD64 {
				assert.False(t, mt.G.Known, "no TLS yet, so no g")
			} else {
				assert.Zero(t, val(t, "x28", mt.G))
			}
			res := goruntime.Evaluate(s)
			require.Len(t, res, 1)
			assert.Equal(t, "startup", res[0].ID)
			assert.Equal(t, goruntime.Skip, res[0].Status)
			assert.Empty(t, goruntime.Check(s))
		})
	}
}

// TestReadAfterRT0 stops in runtime.check, called by rt0_go right after
// it linked g0 and m0 but before runtime.args and mstart0.
func TestReadAfterRT0(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			p := runTo(t, loadertest.Build(t, "hello", a.Name), "runtime.check", emu.Config{})
			s := read(t, p)
			byID := map[string]goruntime.Result{}
			for _, r := range goruntime.Evaluate(s) {
				byID[r.ID] = r
			}
			assert.Empty(t, goruntime.Check(s))
			assert.Equal(t, goruntime.Skip, byID["argv"].Status, byID["argv"].Message)
			assert.Equal(t, goruntime.Skip, byID["page-size"].Status, byID["page-size"].Message)
			assert.Equal(t, goruntime.Pass, byID["m0-procid"].Status)
			assert.Contains(t, byID["m0-procid"].Message, "minit has not run yet")
			g := byID["g0-stack"]
			assert.Equal(t, goruntime.Pass, g.Status)
			if a == arch.AMD64 {
				assert.Contains(t, g.Message, "mstart0 has not raised them", "amd64 rt0_go leaves the guards at lo")
			} else {
				assert.Contains(t, g.Message, "lo + 928", "arm64 rt0_go sets the guards itself")
			}
			mt := mainThread(t, s)
			assert.Equal(t, val(t, "&g0", s.G0.Addr), val(t, "main g", mt.G), "rt0_go runs on g0")
		})
	}
}

// TestUnknownVersionNeedsDWARF relabels hello as built by a Go release
// the table does not cover: with DWARF Read still works, without it Read
// refuses rather than guess.
func TestUnknownVersionNeedsDWARF(t *testing.T) {
	for _, stripped := range []bool{false, true} {
		t.Run(fmt.Sprintf("stripped=%v", stripped), func(t *testing.T) {
			var opts []loadertest.Option
			if stripped {
				opts = append(opts, loadertest.Stripped())
			}
			bin := loadertest.Build(t, "hello", "amd64", opts...)
			data, err := os.ReadFile(bin)
			require.NoError(t, err)
			img, err := loader.Parse(bytes.NewReader(data), int64(len(data)), bin)
			require.NoError(t, err)
			data = relabel(t, data, img.GoVersion, "go1.99.9")
			img, err = loader.Parse(bytes.NewReader(data), int64(len(data)), bin)
			require.NoError(t, err)
			require.Equal(t, "go1.99.9", img.GoVersion)

			p, err := emu.New(img, emu.Config{})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, p.Close()) })
			r, err := p.Run(t.Context(), emu.UntilSymbol("main.main"))
			require.NoError(t, err)
			require.Equal(t, emu.StopUntil, r.Kind)

			s, err := goruntime.Read(p)
			if stripped {
				require.Error(t, err)
				assert.True(t, errors.Is(err, goruntime.ErrUnknownVersion), "%v", err)
				assert.Contains(t, err.Error(), "go1.99.9")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "DWARF", s.OffsetsFrom)
			assert.Empty(t, goruntime.Check(s))
		})
	}
}

// relabel replaces the Go version in the build information header
// (debug/buildinfo: "\xff Go buildinf:", then length-prefixed strings)
// by another of the same length.
func relabel(t *testing.T, data []byte, from, to string) []byte {
	t.Helper()
	require.Len(t, to, len(from))
	magic := []byte("\xff Go buildinf:")
	i := bytes.Index(data, magic)
	require.GreaterOrEqual(t, i, 0, "no build info header")
	j := bytes.Index(data[i:], []byte(from))
	require.GreaterOrEqual(t, j, 0, "no %s after the header", from)
	require.Less(t, j, 64, "the version string follows the 32-byte header")
	out := bytes.Clone(data)
	copy(out[i+j:], to)
	return out
}

// TestSnapshotJSON encodes a snapshot and decodes it back unchanged, with
// unavailable values spelled out.
func TestSnapshotJSON(t *testing.T) {
	p := runTo(t, loadertest.Build(t, "hello", "amd64", loadertest.Stripped()), "main.main", emu.Config{})
	s := read(t, p)
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var back goruntime.Snapshot
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, s, &back)
	assert.Equal(t, goruntime.Evaluate(s), goruntime.Evaluate(&back))

	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	assert.Equal(t, map[string]any{"unavailable": "stripped: no symbol table to find runtime.ncpu or runtime.numCPUStartup"}, raw["ncpu"])
	g0 := raw["g0"].(map[string]any)["addr"].(map[string]any)
	assert.Equal(t, s.G0.Addr.Value.String(), g0["value"])
	assert.Equal(t, "g0", g0["symbol"])
	assert.Equal(t, "runtime.rt0_go code", g0["from"])
}
