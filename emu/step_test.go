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

// TestStepBlockedThread: a thread that waits in a futex cannot Step, but
// Until.Step runs the others until it is woken and then stops right
// after its first instruction, as Linux's single step of a thread in a
// syscall does; the run goes on to main.main as without the stop.
func TestStepBlockedThread(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "hello", a.Name)
			ref := start(t, bin, emu.Config{})
			runTo(t, ref, emu.UntilSymbol("main.main"))

			p := start(t, bin, emu.Config{})
			var blocked *emu.Thread
			for pos := uint64(100_000); blocked == nil && pos < ref.Position(); pos += 5_000 {
				_, err := p.RunTo(context.Background(), emu.Until{}, pos)
				require.NoError(t, err)
				for _, th := range p.Threads() {
					if th.State() == emu.Blocked {
						blocked = th
						break
					}
				}
			}
			require.NotNil(t, blocked, "a thread waits before main.main")
			_, err := p.Step(blocked.TID)
			require.ErrorIs(t, err, emu.ErrBlocked)
			insns, pc := blocked.Insns(), blocked.PC()
			r := runTo(t, p, emu.Until{Step: blocked.TID, Symbols: []string{"main.main"}})
			require.Equal(t, emu.StopStepped, r.Kind, "woken before main.main: %s", r)
			assert.Equal(t, blocked.TID, r.TID)
			assert.Equal(t, insns+1, blocked.Insns(), "one instruction after its syscall")
			assert.Equal(t, emu.Runnable, blocked.State())
			assert.NotEqual(t, pc, blocked.PC())
			runTo(t, p, emu.UntilSymbol("main.main"))
			assert.Equal(t, ref.Position(), p.Position(), "the stop changed nothing")
		})
	}
}
