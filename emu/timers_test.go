package emu_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader/loadertest"
	"github.com/gorunemu/gorunemu/syscalls"
)

// netpollRecorder records the netpoll syscalls of a run.
type netpollRecorder struct {
	emu.NopObserver
	count   map[string]int
	blocked map[string]int
}

func (r *netpollRecorder) Syscall(_ *emu.Thread, c *syscalls.Call) {
	switch c.Name {
	case "epoll_create1", "epoll_ctl", "epoll_pwait", "eventfd2", "pipe2":
		r.count[c.Name]++
		if c.Blocked {
			r.blocked[c.Name]++
		}
	}
}

// TestTimersSleepInVirtualTime runs testdata/sleep, which waits on timers
// for 1 h 55 min in all, built by the current release (netpollBreak on an
// eventfd, Go 1.23+) and by Go 1.21 and 1.17 (a non-blocking pipe). The
// runtime's poller blocks in epoll_pwait with a timeout, every thread
// waits, and the virtual clock jumps: the run takes well under a second
// of wall time while the guest's monotonic clock moves by the full time.
func TestTimersSleepInVirtualTime(t *testing.T) {
	want := "sleep 3600\nafter 1800\ncontext 900\ngoroutine 600\ntotal 6900\n"
	for _, version := range []string{"", "go1.21.13", "go1.17.13"} {
		for _, a := range arch.All() {
			name := version
			if name == "" {
				name = "current"
			}
			t.Run(name+"/"+a.Name, func(t *testing.T) {
				t.Parallel()
				var opts []loadertest.Option
				if version != "" {
					opts = append(opts, loadertest.Toolchain(version))
				}
				bin := loadertest.Build(t, "sleep", a.Name, opts...)
				var out, errOut bytes.Buffer
				rec := &netpollRecorder{count: map[string]int{}, blocked: map[string]int{}}
				p := start(t, bin, emu.Config{Stdout: &out, Stderr: &errOut, Observer: rec})

				begin := time.Now()
				r := runTo(t, p, emu.UntilExit())
				wall := time.Since(begin)

				require.Equal(t, emu.StopExited, r.Kind, "stop: %s\nstderr:\n%s", r, errOut.String())
				assert.Equal(t, 0, r.Code)
				assert.Equal(t, want, out.String(), "stderr:\n%s", errOut.String())
				// The guest's clock moved by the whole 1 h 55 min while
				// it executed well under a second's worth of instructions:
				// the rest was skipped while every thread waited.
				st := p.Stats()
				assert.GreaterOrEqual(t, time.Duration(st.Insns)+st.Slept, 6900*time.Second, "the guest's clock")
				assert.Less(t, st.Insns, uint64(time.Second), "instructions at 1 ns each")
				assert.Empty(t, p.Stats().Unimplemented)

				assert.Equal(t, 1, rec.count["epoll_create1"], "netpollinit creates one epoll instance")
				assert.GreaterOrEqual(t, rec.count["epoll_ctl"], 1)
				assert.GreaterOrEqual(t, rec.blocked["epoll_pwait"], 4, "each timer wait blocks the poller")
				if version == "" {
					assert.Equal(t, 1, rec.count["eventfd2"], "Go 1.23+ breaks netpoll with an eventfd")
					assert.Zero(t, rec.count["pipe2"])
				} else {
					assert.Equal(t, 1, rec.count["pipe2"], "Go 1.17-1.22 break netpoll with a pipe")
					assert.Zero(t, rec.count["eventfd2"])
				}
				t.Logf("%s %s: %d instructions, %d syscalls, %v wall, epoll_pwait %d (%d blocked)",
					name, a.Name, r.Insns, p.Stats().Syscalls, wall.Round(time.Millisecond),
					rec.count["epoll_pwait"], rec.blocked["epoll_pwait"])
			})
		}
	}
}
