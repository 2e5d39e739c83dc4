package emu_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
	"github.com/gorunemu/gorunemu/trace"
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

// BenchmarkTrace measures tracing levels against the untraced run of the
// hello fixture to main.main, in one benchmark, and reports each level's
// time as a ratio ("x-untraced"). Instruction traces go to a file.
func BenchmarkTrace(b *testing.B) {
	levels := []struct {
		name string
		opts func(w io.Writer, img *loader.Image) *emu.TraceOptions
	}{
		{"untraced", func(io.Writer, *loader.Image) *emu.TraceOptions { return nil }},
		{"milestones", func(w io.Writer, img *loader.Image) *emu.TraceOptions {
			return &emu.TraceOptions{Sink: trace.NewText(w), Milestones: goruntime.StartupPath(img.Arch)}
		}},
		{"calls", func(w io.Writer, img *loader.Image) *emu.TraceOptions {
			gs, err := goruntime.Goroutines(img)
			if err != nil {
				panic(err)
			}
			return &emu.TraceOptions{Sink: trace.NewText(w), Milestones: goruntime.StartupPath(img.Arch), Calls: true, Goroutines: gs}
		}},
		{"syscalls", func(w io.Writer, img *loader.Image) *emu.TraceOptions {
			return &emu.TraceOptions{Sink: trace.NewText(w), Milestones: goruntime.StartupPath(img.Arch), Syscalls: true}
		}},
		{"insns", func(w io.Writer, _ *loader.Image) *emu.TraceOptions {
			return &emu.TraceOptions{Sink: trace.NewText(w), Insns: true}
		}},
	}
	for _, a := range arch.All() {
		b.Run(a.Name, func(b *testing.B) {
			img, err := loader.Open(loadertest.Build(b, "hello", a.Name))
			if err != nil {
				b.Fatal(err)
			}
			out, err := os.Create(filepath.Join(b.TempDir(), "trace"))
			if err != nil {
				b.Fatal(err)
			}
			defer out.Close()
			elapsed := make([]time.Duration, len(levels))
			for i := 0; i < b.N; i++ {
				for j, l := range levels {
					if _, err := out.Seek(0, io.SeekStart); err != nil {
						b.Fatal(err)
					}
					opts := l.opts(out, img)
					start := time.Now()
					p, err := emu.New(img, emu.Config{Trace: opts})
					if err != nil {
						b.Fatal(err)
					}
					r, err := p.Run(context.Background(), emu.UntilSymbol("main.main"))
					if err != nil || r.Kind != emu.StopUntil {
						b.Fatalf("%s: %v %v", l.name, r, err)
					}
					if opts != nil {
						if err := opts.Sink.Close(); err != nil {
							b.Fatal(err)
						}
					}
					elapsed[j] += time.Since(start)
					if err := p.Close(); err != nil {
						b.Fatal(err)
					}
				}
			}
			for j, l := range levels[1:] {
				b.ReportMetric(float64(elapsed[j+1])/float64(elapsed[0]), l.name+"-x-untraced")
			}
			b.ReportMetric(float64(elapsed[0].Microseconds())/float64(b.N)/1000, "untraced-ms")
		})
	}
}

// BenchmarkWorkloads runs whole programs to exit: the benchmark fixtures
// testdata/sha, mapgc and pingpong (compute, allocation and GC on four goroutines,
// channel round trips), at sizes that take a fraction of a second, and
// reports guest instructions per second. Where qemu-user is installed,
// each iteration also runs the same binary under it, alternating, and
// "x-qemu" is gorunemu's time over qemu-user's (scripts/compare-qemu.sh
// does the same for the full-size programs through the command line).
func BenchmarkWorkloads(b *testing.B) {
	workloads := []struct {
		name string
		args []string
	}{
		{"sha", []string{"16"}},
		{"mapgc", []string{"4"}},
		{"pingpong", []string{"100000"}},
		// mprotect page by page over 30,000 pages, then all at once.
		{"manymaps", []string{"30000"}},
	}
	for _, w := range workloads {
		for _, a := range arch.All() {
			b.Run(w.name+"/"+a.Name, func(b *testing.B) {
				bin := loadertest.Build(b, w.name, a.Name)
				img, err := loader.Open(bin)
				if err != nil {
					b.Fatal(err)
				}
				qemu, _ := exec.LookPath(map[string]string{"amd64": "qemu-x86_64", "arm64": "qemu-aarch64"}[a.Name])
				var own, theirs time.Duration
				var insns uint64
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					start := time.Now()
					p, err := emu.New(img, emu.Config{Argv: append([]string{"./" + filepath.Base(bin)}, w.args...), MaxInsns: 1 << 62})
					if err != nil {
						b.Fatal(err)
					}
					r, err := p.Run(context.Background(), emu.UntilExit())
					if err != nil || r.Kind != emu.StopExited || r.Code != 0 {
						b.Fatalf("%v %v", r, err)
					}
					insns = r.Insns
					if err := p.Close(); err != nil {
						b.Fatal(err)
					}
					own += time.Since(start)
					if qemu != "" {
						b.StopTimer()
						start := time.Now()
						if out, err := exec.Command(qemu, append([]string{bin}, w.args...)...).CombinedOutput(); err != nil {
							b.Fatalf("%s: %v\n%s", qemu, err, out)
						}
						theirs += time.Since(start)
						b.StartTimer()
					}
				}
				b.ReportMetric(float64(insns), "insns/op")
				b.ReportMetric(float64(insns)*float64(b.N)/own.Seconds()/1e6, "Minsns/s")
				if qemu != "" {
					b.ReportMetric(float64(own)/float64(theirs), "x-qemu")
				}
			})
		}
	}
}
