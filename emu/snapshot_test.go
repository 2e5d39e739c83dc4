package emu_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader/loadertest"
	"github.com/gorunemu/gorunemu/syscalls"
)

// fingerprint sums up everything a debugger could see of p: the
// position, every thread's state, PC, count and registers, and every
// mapping with its contents.
func fingerprint(t testing.TB, p *emu.Process) string {
	t.Helper()
	h := sha256.New()
	fmt.Fprintf(h, "position %d\n", p.Position())
	for _, th := range p.Threads() {
		fmt.Fprintf(h, "thread %d %v pc %#x insns %d\n", th.TID, th.State(), th.PC(), th.Insns())
		if th.State() == emu.Exited {
			continue
		}
		for _, r := range p.Arch().GPRs {
			v, err := th.Reg(r.Reg)
			require.NoError(t, err)
			fmt.Fprintf(h, "%s=%#x\n", r.Name, v)
		}
	}
	for _, m := range p.Mappings() {
		fmt.Fprintf(h, "map %#x-%#x %v %s\n", m.Start, m.End, m.Prot, m.Name)
		if m.Prot&syscalls.PROT_READ == 0 {
			continue
		}
		b := make([]byte, m.End-m.Start)
		require.NoError(t, p.ReadMem(m.Start, b))
		h.Write(b)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func runToPosition(t testing.TB, p *emu.Process, n uint64) {
	t.Helper()
	r, err := p.RunTo(context.Background(), emu.Until{}, n)
	require.NoError(t, err)
	require.Equal(t, n, p.Position(), "%s", r)
}

// TestSnapshotRestore: a process taken back to a snapshot is the same,
// to the last register and byte, as a fresh process run to that
// position, and runs on exactly as the first run did: to main.main at
// the same count, and to exit with the same output; and the snapshot
// serves again after that.
func TestSnapshotRestore(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "hello", a.Name)
			var out bytes.Buffer
			p := start(t, bin, emu.Config{Stdout: &out})
			main := runTo(t, p, emu.Until{Symbols: []string{"main.main"}})
			require.Equal(t, emu.StopUntil, main.Kind)
			atMain, mainPos := fingerprint(t, p), p.Position()

			// Snapshots at the start, in rt0_go, and past the first
			// threads, each checked against a fresh run to its position.
			q := start(t, bin, emu.Config{Stdout: &out})
			var snaps []*emu.Snapshot
			var prints []string
			for _, pos := range []uint64{0, 3000, mainPos / 2, mainPos - 7} {
				runToPosition(t, q, pos)
				s, err := q.Snapshot()
				require.NoError(t, err)
				assert.Equal(t, pos, s.Position())
				snaps, prints = append(snaps, s), append(prints, fingerprint(t, q))
				fresh := start(t, bin, emu.Config{})
				runToPosition(t, fresh, pos)
				assert.Equal(t, fingerprint(t, fresh), prints[len(prints)-1], "at %d", pos)
			}
			assert.Greater(t, len(q.Threads()), 1, "threads started before the last snapshot")
			// Pages that did not change are shared with the snapshot before.
			last := snaps[len(snaps)-1]
			assert.Less(t, last.Bytes(), emu.MemoryOf([]*emu.Snapshot{last})/2, "main.main-7 shares most pages with mid-startup")
			var apart uint64
			for _, s := range snaps {
				apart += emu.MemoryOf([]*emu.Snapshot{s})
			}
			assert.Less(t, emu.MemoryOf(snaps), apart)

			r := runTo(t, q, emu.UntilExit())
			require.Equal(t, emu.StopExited, r.Kind)
			exitPos := q.Position()
			require.Equal(t, "hello world\n", out.String())

			// Back from the end to each snapshot, latest first, then on to
			// main.main and to exit again.
			for i := len(snaps) - 1; i >= 0; i-- {
				require.NoError(t, q.Restore(snaps[i]))
				assert.Equal(t, snaps[i].Position(), q.Position())
				assert.Equal(t, prints[i], fingerprint(t, q), "restored to %d", snaps[i].Position())
				if i == 1 {
					r := runTo(t, q, emu.Until{Symbols: []string{"main.main"}})
					require.Equal(t, emu.StopUntil, r.Kind)
					assert.Equal(t, mainPos, q.Position())
					assert.Equal(t, atMain, fingerprint(t, q))
				}
			}
			out.Reset()
			r = runTo(t, q, emu.UntilExit())
			require.Equal(t, emu.StopExited, r.Kind)
			assert.Equal(t, exitPos, q.Position())
			assert.Equal(t, "hello world\n", out.String())

			// Again, from a snapshot restored before.
			require.NoError(t, q.Restore(snaps[2]))
			assert.Equal(t, prints[2], fingerprint(t, q))
			b := make([]byte, 8)
			require.NoError(t, q.ReadMem(q.Stack().SP, b))
			assert.Equal(t, uint64(1), binary.LittleEndian.Uint64(b), "argc")
		})
	}
}

// BenchmarkSnapshot measures a snapshot of hello at main.main, and going
// back to it from main.main's end of the line: the cost of one step of
// reverse execution beside a replay from the start (BenchmarkRunToMain).
func BenchmarkSnapshot(b *testing.B) {
	for _, a := range arch.All() {
		b.Run(a.Name, func(b *testing.B) {
			p := start(b, loadertest.Build(b, "hello", a.Name), emu.Config{})
			runTo(b, p, emu.Until{Symbols: []string{"main.main"}})
			s, err := p.Snapshot()
			if err != nil {
				b.Fatal(err)
			}
			b.Run("take", func(b *testing.B) {
				for range b.N {
					if s, err = p.Snapshot(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(emu.MemoryOf([]*emu.Snapshot{s}))/(1<<20), "MiB")
			})
			b.Run("restore", func(b *testing.B) {
				for range b.N {
					if err := p.Restore(s); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("restore+run1000", func(b *testing.B) {
				for range b.N {
					if err := p.Restore(s); err != nil {
						b.Fatal(err)
					}
					if _, err := p.RunTo(context.Background(), emu.Until{}, s.Position()+1000); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// TestSnapshotHostFiles: a snapshot taken while a host file is open (a
// guest's os.ReadFile under FSRoot, at its first read) serves after the
// guest has closed it: the restored descriptor reads the file again, and
// the run comes to the same state as the first time, and on to exit.
func TestSnapshotHostFiles(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644))
			var out bytes.Buffer
			p := start(t, loadertest.Build(t, "escape", a.Name), emu.Config{
				Argv: []string{"./escape", filepath.Join(t.TempDir(), "x")}, FSRoot: root, Stdout: &out})
			runTo(t, p, emu.UntilSymbol("main.main"))
			require.Equal(t, emu.StopUntil, runTo(t, p, emu.UntilSymbol("internal/poll.(*FD).Read")).Kind)
			open, err := p.Snapshot()
			require.NoError(t, err)
			require.Equal(t, emu.StopUntil, runTo(t, p, emu.UntilSymbol("os.WriteFile")).Kind)
			closed, want := p.Position(), fingerprint(t, p)
			require.Equal(t, "read /etc/passwd: ok\n", out.String())

			require.NoError(t, p.Restore(open))
			runToPosition(t, p, closed)
			assert.Equal(t, want, fingerprint(t, p), "the file read the same")
			assert.Equal(t, "read /etc/passwd: ok\nread /etc/passwd: ok\n", out.String())
			r := runTo(t, p, emu.UntilExit())
			require.Equal(t, emu.StopExited, r.Kind, "%s", r)
		})
	}
}

// TestSnapshotsAcrossWorkloads: programs that switch threads, take
// signals, sleep through clock jumps, collect garbage and change their
// own code, snapshotted at several points and taken back to each (the
// latest first): each restore is the state the snapshot saw, a run on
// from it stands where a fresh run stands at the same position, and the
// program ends as it ended the first time.
func TestSnapshotsAcrossWorkloads(t *testing.T) {
	progs := []struct{ name, arg string }{
		{"signals", "preempt"}, {"signals", "gc"}, {"signals", "interrupt"},
		{"sleep", ""}, {"selfmod", ""}, {"pingpong", "3000"}, {"mapgc", "1"},
	}
	for _, a := range arch.All() {
		for _, pr := range progs {
			t.Run(a.Name+"/"+pr.name+"/"+pr.arg, func(t *testing.T) {
				t.Parallel()
				if pr.name == "selfmod" && a != arch.AMD64 && a != arch.ARM64 {
					t.Skip()
				}
				bin := loadertest.Build(t, pr.name, a.Name)
				argv := []string{"./" + pr.name}
				if pr.arg != "" {
					argv = append(argv, pr.arg)
				}
				cfg := emu.Config{Argv: argv}
				ref := start(t, bin, cfg)
				end := runTo(t, ref, emu.UntilExit())
				require.Equal(t, emu.StopExited, end.Kind, "%s", end)
				total := ref.Position()

				p := start(t, bin, cfg)
				const n = 4
				var snaps []*emu.Snapshot
				var prints []string
				for i := 1; i <= n; i++ {
					runToPosition(t, p, total*uint64(i)/(n+1))
					s, err := p.Snapshot()
					require.NoError(t, err)
					snaps, prints = append(snaps, s), append(prints, fingerprint(t, p))
				}
				r := runTo(t, p, emu.UntilExit())
				require.Equal(t, end.Code, r.Code)
				require.Equal(t, total, p.Position())

				for i := n - 1; i >= 0; i-- {
					require.NoError(t, p.Restore(snaps[i]))
					require.Equal(t, prints[i], fingerprint(t, p), "restored to %d", snaps[i].Position())
					// Halfway to the next snapshot (or the end), against a
					// fresh run there.
					next := total
					if i+1 < n {
						next = snaps[i+1].Position()
					}
					mid := (snaps[i].Position() + next) / 2
					runToPosition(t, p, mid)
					fresh := start(t, bin, cfg)
					runToPosition(t, fresh, mid)
					require.Equal(t, fingerprint(t, fresh), fingerprint(t, p), "at %d, from the snapshot at %d", mid, snaps[i].Position())
					r := runTo(t, p, emu.UntilExit())
					require.Equal(t, emu.StopExited, r.Kind, "%s", r)
					assert.Equal(t, end.Code, r.Code)
					assert.Equal(t, total, p.Position(), "the end from the snapshot at %d", snaps[i].Position())
				}
			})
		}
	}
}
