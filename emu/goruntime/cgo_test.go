package goruntime_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// TestStaticCgoChecks: in a static cgo binary the C library owns the
// thread pointer and keeps g in its TLS block, and starts the runtime's
// threads itself. The checks follow: FS base is the C library's thread
// pointer and runtime.tlsg's slot holds R14's g (amd64), runtime.tls_g's
// slot holds R28's g (arm64), and the C library's threads have their g
// and m found; no check fails, stripped or not (stripped, the TLS slot
// cannot be found and its check is skipped, saying why).
func TestStaticCgoChecks(t *testing.T) {
	for _, a := range arch.All() {
		for _, stripped := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stripped=%v", a.Name, stripped), func(t *testing.T) {
				opts := []loadertest.Option{loadertest.StaticCgo()}
				if stripped {
					opts = append(opts, loadertest.Stripped())
				}
				bin := loadertest.Build(t, "cgohello", a.Name, opts...)
				var out bytes.Buffer
				p, err := emu.Open(bin, emu.Config{Stdout: &out})
				require.NoError(t, err)
				defer p.Close()
				r, err := p.Run(context.Background(), emu.UntilSymbol("main.main"))
				require.NoError(t, err)
				require.Equal(t, emu.StopUntil, r.Kind, "stop: %s", r)
				s := read(t, p)
				assert.True(t, s.CTLS, "linked with a C library")
				assert.Equal(t, !stripped, s.GTLSOffset.Known, "g's TLS offset: %s", s.GTLSOffset.Why)
				tlsID := map[string]string{"amd64": "tls", "arm64": "tpidr"}[a.Name]
				passed := 0
				for _, res := range goruntime.Evaluate(s) {
					assert.NotEqual(t, goruntime.Fail, res.Status, "%s", res)
					if res.ID == tlsID && res.Status == goruntime.Pass {
						passed++
					}
				}
				if !stripped {
					// A thread the C library has just started may not have
					// reached Go code yet: it has no g, and its checks
					// are skipped. Every other one passes.
					withG := 0
					for _, th := range s.Threads {
						if th.G.Known && th.G.Value != 0 {
							withG++
						} else {
							assert.Empty(t, th.File, "thread %d without g is in the C library's code (%s)", th.TID, th.Func)
						}
					}
					assert.GreaterOrEqual(t, withG, 2, "main and sysmon have their g")
					assert.Equal(t, withG, passed, "the TLS check passes on every thread with a g")
				}
				r, err = p.Run(context.Background(), emu.UntilExit())
				require.NoError(t, err)
				assert.Equal(t, emu.StopExited, r.Kind, "%s", r)
				assert.Equal(t, "hello from C: 3\n", out.String())
			})
		}
	}
}
