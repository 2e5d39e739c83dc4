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

// TestDynamicChecks: binaries started through the dynamic loader, and
// PIEs, pass every check on both arches: cgo ones linked dynamically
// (stripped too: g's TLS slot is the first word of the executable's own
// TLS segment), as PIEs and as static-pies, whose thread pointer is the C
// library's; and a PIE without cgo, where Go sets FS base itself (amd64)
// or leaves TPIDR_EL0 as the dynamic loader set it (arm64).
func TestDynamicChecks(t *testing.T) {
	pie := loadertest.BuildFlags("-buildmode=pie")
	cases := []struct {
		name, fixture string
		opts          []loadertest.Option
		cgo, interp   bool
	}{
		{"cgo", "cgohello", []loadertest.Option{loadertest.Cgo()}, true, true},
		{"cgo-stripped", "cgohello", []loadertest.Option{loadertest.Cgo(), loadertest.Stripped()}, true, true},
		{"cgo-pie", "cgohello", []loadertest.Option{loadertest.Cgo(), pie}, true, true},
		{"cgo-static-pie", "cgohello", []loadertest.Option{loadertest.Cgo(), loadertest.BuildFlags("-buildmode=pie", "-ldflags=-linkmode=external -extldflags=-static-pie")}, true, false},
		{"pie", "hello", []loadertest.Option{pie}, false, true},
	}
	for _, a := range arch.All() {
		for _, c := range cases {
			t.Run(a.Name+"/"+c.name, func(t *testing.T) {
				bin := loadertest.Build(t, c.fixture, a.Name, c.opts...)
				var out bytes.Buffer
				p, err := emu.Open(bin, emu.Config{Stdout: &out})
				require.NoError(t, err)
				defer p.Close()
				assert.Equal(t, c.interp, p.Interpreter() != nil, "started through the dynamic loader")
				r, err := p.Run(context.Background(), emu.UntilSymbol("main.main"))
				require.NoError(t, err)
				require.Equal(t, emu.StopUntil, r.Kind, "stop: %s", r)
				s := read(t, p)
				assert.Equal(t, c.cgo, s.CTLS, "the C library's thread pointer")
				assert.Equal(t, c.cgo, s.GTLSOffset.Known, "g's TLS offset: %s", s.GTLSOffset.Why)
				passed := 0
				for _, res := range goruntime.Evaluate(s) {
					assert.NotEqual(t, goruntime.Fail, res.Status, "%s", res)
					if res.Status == goruntime.Pass {
						passed++
					}
				}
				assert.Greater(t, passed, 15)
				r, err = p.Run(context.Background(), emu.UntilExit())
				require.NoError(t, err)
				assert.Equal(t, emu.StopExited, r.Kind, "%s", r)
				assert.NotEmpty(t, out.String())
			})
		}
	}
}
