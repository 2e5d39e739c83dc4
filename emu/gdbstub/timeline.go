package gdbstub

import (
	"context"
	"sort"
	"time"

	"github.com/gorunemu/gorunemu/emu"
)

// timeline keeps snapshots of the session's process along its run, so
// that going back (reverse execution, a watchpoint's exact position)
// restores the latest one at or before the target and runs on from
// there, instead of replaying from the start. Snapshots are taken while
// the process runs forward, one every spacing instructions; when there
// are more than maxSnapshots, or they hold more than maxSnapshotBytes,
// every other one goes and the spacing doubles, so that the cost of going
// back stays bounded by the spacing, and the memory by the limits.
type timeline struct {
	snaps   []*emu.Snapshot // by position
	bytes   uint64
	spacing uint64
	off     bool // the process cannot be snapshotted (emu.ErrNoSnapshot)
}

const (
	// firstSpacing: hello reaches main.main in about 290,000
	// instructions; a snapshot every 65,536 costs a few milliseconds
	// each (emu's BenchmarkSnapshot) and bounds a step back by what a
	// run of that many takes.
	firstSpacing     = 1 << 16
	maxSnapshots     = 64
	maxSnapshotBytes = 512 << 20
)

func newTimeline() *timeline { return &timeline{spacing: firstSpacing} }

// take snapshots p where it is, unless a snapshot is there already. ran
// is how long the run since the last one took (0: unknown): where a
// snapshot costs more than an eighth of that, the spacing doubles, so
// that snapshots cost a long run at most about an eighth of its time.
// (Where they fall then depends on the host's speed; what the guest
// does never does.)
func (tl *timeline) take(p *emu.Process, ran time.Duration) {
	if tl.off {
		return
	}
	pos := p.Position()
	i := sort.Search(len(tl.snaps), func(i int) bool { return tl.snaps[i].Position() >= pos })
	if i < len(tl.snaps) && tl.snaps[i].Position() == pos {
		return
	}
	start := time.Now()
	s, err := p.Snapshot()
	if took := time.Since(start); ran > 0 && took*8 > ran {
		tl.spacing *= 2
	}
	if err != nil {
		// A process that has forked cannot go back to a snapshot: a
		// replay from the start serves it.
		tl.off = true
		tl.snaps, tl.bytes = nil, 0
		return
	}
	tl.snaps = append(tl.snaps[:i], append([]*emu.Snapshot{s}, tl.snaps[i:]...)...)
	tl.bytes += s.Bytes()
	for len(tl.snaps) > 2 && (len(tl.snaps) > maxSnapshots || tl.bytes > maxSnapshotBytes) {
		tl.thin()
	}
}

// thin drops every other snapshot but the first and doubles the spacing.
// What the kept ones hold is counted again: they may share pages the
// dropped ones held (Snapshot.Bytes counts a snapshot's own).
func (tl *timeline) thin() {
	kept := tl.snaps[:1]
	for i := 2; i < len(tl.snaps); i += 2 {
		kept = append(kept, tl.snaps[i])
	}
	tl.snaps = kept
	tl.bytes = emu.MemoryOf(kept)
	tl.spacing *= 2
}

// pause is where a run from pos should pause for the next snapshot (0:
// nowhere).
func (tl *timeline) pause(pos uint64) uint64 {
	if tl.off {
		return 0
	}
	if n := len(tl.snaps); n > 0 && tl.snaps[n-1].Position() > pos {
		return 0 // going over known ground again
	}
	return pos + tl.spacing
}

// before returns the latest snapshot at or before pos, or nil.
func (tl *timeline) before(pos uint64) *emu.Snapshot {
	i := sort.Search(len(tl.snaps), func(i int) bool { return tl.snaps[i].Position() > pos })
	if i == 0 {
		return nil
	}
	return tl.snaps[i-1]
}

// forgetAfter drops the snapshots past pos: gdb changed the process
// there, so what comes after differs from what they hold.
func (tl *timeline) forgetAfter(pos uint64) {
	i := sort.Search(len(tl.snaps), func(i int) bool { return tl.snaps[i].Position() > pos })
	tl.snaps = tl.snaps[:i]
	tl.bytes = emu.MemoryOf(tl.snaps)
}

// reset starts the timeline of a new process (a replay), at its start.
func (tl *timeline) reset(p *emu.Process) {
	*tl = timeline{spacing: tl.spacing, off: tl.off}
	tl.take(p, 0)
}

// runRecording runs s.p like Run, pausing on the way to take snapshots.
func (s *Server) runRecording(ctx context.Context, until emu.Until) (*emu.StopReason, error) {
	for {
		until.Pause = s.tl.pause(s.p.Position())
		start := time.Now()
		r, err := s.p.Run(ctx, until)
		if err != nil || r.Kind != emu.StopPause {
			return r, err
		}
		s.tl.take(s.p, time.Since(start))
	}
}

// seek brings the session to position target, stopping earlier at
// until's addresses: forwards by running on; backwards from the latest
// snapshot at or before target, or, without one, from a replay of the
// process from its start.
func (s *Server) seek(target uint64, until emu.Until) (*emu.StopReason, error) {
	ctx := context.Background()
	if target >= s.p.Position() && !s.ended() {
		return s.p.RunTo(ctx, until, target)
	}
	if snap := s.tl.before(target); snap != nil {
		if err := s.p.Restore(snap); err == nil {
			return s.p.RunTo(ctx, until, target)
		}
		s.tl.off = true
	}
	q, err := s.opts.Replay()
	if err != nil {
		return nil, err
	}
	s.p.Close()
	s.p = q
	s.tl.reset(q)
	return q.RunTo(ctx, until, target)
}

// ended says whether the session's process has ended: a run from there
// goes nowhere, so even a target ahead is reached by going back.
func (s *Server) ended() bool { return s.last != nil && ended(s.last) }
