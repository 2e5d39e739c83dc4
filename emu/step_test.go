package emu_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// TestStep: Step runs one instruction of one thread, counted exactly, on
// code already translated too; stopping and stepping does not change the
// run: main.main is reached after as many instructions, with the same
// registers, as without the stops.
func TestStep(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "hello", a.Name)
			ref, err := emu.Open(bin, emu.Config{})
			require.NoError(t, err)
			defer ref.Close()
			r, err := ref.Run(context.Background(), emu.UntilSymbol("main.main"))
			require.NoError(t, err)
			require.Equal(t, emu.StopUntil, r.Kind)

			p, err := emu.Open(bin, emu.Config{})
			require.NoError(t, err)
			defer p.Close()
			// runtime.rt0_go runs once: its code is translated by the
			// time the second stop at runtime.check comes, and stepping
			// through check's callers' blocks must still be exact.
			r, err = p.Run(context.Background(), emu.UntilSymbol("runtime.check"))
			require.NoError(t, err)
			require.Equal(t, emu.StopUntil, r.Kind)
			tid := r.TID
			for i := 0; i < 50; i++ {
				before, pc := p.Insns(), p.Thread(tid).PC()
				r, err = p.Step(tid)
				require.NoError(t, err)
				require.Equal(t, emu.StopStepped, r.Kind, "%s", r)
				assert.Equal(t, before+1, p.Insns(), "step %d at %#x ran one instruction", i, pc)
				assert.NotEqual(t, pc, r.PC)
			}
			r, err = p.Run(context.Background(), emu.UntilSymbol("main.main"))
			require.NoError(t, err)
			require.Equal(t, emu.StopUntil, r.Kind)
			assert.Equal(t, ref.Insns(), p.Insns(), "the stops changed nothing")
			for _, reg := range []arch.Reg{a.SP, a.G, a.TLS} {
				want, err := ref.MainThread().Reg(reg)
				require.NoError(t, err)
				got, err := p.MainThread().Reg(reg)
				require.NoError(t, err)
				assert.Equal(t, want, got)
			}
		})
	}
}

// TestRunTo: a fresh process run to any position stops exactly there,
// twice in the same state, and runs on to main.main after as many
// instructions as a run without stops: the replay that reverse execution
// stands on.
func TestRunTo(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "hello", a.Name)
			ref, err := emu.Open(bin, emu.Config{})
			require.NoError(t, err)
			defer ref.Close()
			_, err = ref.Run(context.Background(), emu.UntilSymbol("main.main"))
			require.NoError(t, err)
			end := ref.Position()
			for _, n := range []uint64{1, 77, end / 3, end / 2, end - 1} {
				var regs [2][]uint64
				for i := range regs {
					p, err := emu.Open(bin, emu.Config{})
					require.NoError(t, err)
					r, err := p.RunTo(context.Background(), emu.Until{}, n)
					require.NoError(t, err)
					require.Equal(t, emu.StopTarget, r.Kind, "%s", r)
					assert.Equal(t, n, p.Position())
					th := p.Thread(r.TID)
					vals := make([]uint64, 3)
					require.NoError(t, th.Regs([]arch.Reg{a.PC, a.SP, a.SyscallRet}, vals))
					regs[i] = append(vals, uint64(r.TID))
					r, err = p.Run(context.Background(), emu.UntilSymbol("main.main"))
					require.NoError(t, err)
					require.Equal(t, emu.StopUntil, r.Kind)
					assert.Equal(t, end, p.Position(), "position %d: the stop changed nothing", n)
					p.Close()
				}
				assert.Equal(t, regs[0], regs[1], "position %d: the same state twice", n)
			}
		})
	}
}
