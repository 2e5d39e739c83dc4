package emu_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader/loadertest"
	"github.com/gorunemu/gorunemu/trace"
)

// TestStepAtSwitch: where the schedule passes from one thread to another
// (a futex wait blocks), a replay stopped there and stepping the thread
// that runs next goes on exactly as the run did: stepping it is the
// scheduler's own choice, so no extra rotation follows.
func TestStepAtSwitch(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "hello", a.Name)
			rec, ref, _ := traced(t, bin, emu.UntilSymbol("main.main"), emu.TraceOptions{Syscalls: true})
			end := ref.Position()
			ctx := context.Background()
			found := false
			for _, e := range rec.Of(trace.Syscall) {
				if e.Name != "futex" || e.Insns+2 >= end {
					continue
				}
				// Right after the syscall: a stop names the thread whose
				// instruction comes next.
				q := start(t, bin, emu.Config{})
				r, err := q.RunTo(ctx, emu.Until{}, e.Insns)
				require.NoError(t, err)
				if r.TID == e.TID {
					q.Close()
					continue // it did not block
				}
				found = true
				r, err = q.Step(r.TID)
				require.NoError(t, err)
				require.Equal(t, emu.StopStepped, r.Kind, "%s", r)
				r, err = q.Run(ctx, emu.UntilSymbol("main.main"))
				require.NoError(t, err)
				require.Equal(t, emu.StopUntil, r.Kind)
				assert.Equal(t, end, q.Position(), "the step at the switch changed the schedule")
				break
			}
			require.True(t, found, "no futex wait that switches threads before main.main")
		})
	}
}
