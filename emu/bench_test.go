package emu_test

import (
	"context"
	"testing"

	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/arch"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// BenchmarkRunToMain measures a whole emulation of the hello fixture from
// a loaded image to main.main: engine, mapping, stack, and the run.
func BenchmarkRunToMain(b *testing.B) {
	for _, a := range arch.All() {
		b.Run(a.Name, func(b *testing.B) {
			img, err := loader.Open(loadertest.Build(b, "hello", a.Name))
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			var insns uint64
			for i := 0; i < b.N; i++ {
				p, err := emu.New(img, emu.Config{})
				if err != nil {
					b.Fatal(err)
				}
				r, err := p.Run(context.Background(), emu.UntilSymbol("main.main"))
				if err != nil || r.Kind != emu.StopUntil {
					b.Fatalf("%v %v", r, err)
				}
				insns = r.Insns
				if err := p.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(insns), "insns/op")
			b.ReportMetric(float64(insns)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Minsns/s")
		})
	}
}
