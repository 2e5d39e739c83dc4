package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/gdbstub"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/trace"
)

// --gdb HOST:PORT: before the guest runs, wait for gdb to connect and
// let it drive (emu/gdbstub). When gdb detaches (or goes away) the run
// goes on to --until as without it; when gdb kills the guest, or sees it
// end, that is the run's stop.

// serveGDB waits for one gdb on o.gdb and serves p to it. It returns the
// stop the session ended with, or nil when the run should go on.
func (o *runOptions) serveGDB(p *emu.Process, stderr io.Writer) (*emu.StopReason, error) {
	ln, err := net.Listen("tcp", o.gdb)
	if err != nil {
		return nil, fmt.Errorf("--gdb: %w", err)
	}
	defer ln.Close()
	debugger := "gdb"
	if p.Arch().Name != runtime.GOARCH {
		debugger = "gdb-multiarch"
	}
	fmt.Fprintf(stderr, "gorunemu: waiting for gdb on %s: %s %s -ex 'target remote %s'\n",
		ln.Addr(), debugger, p.Image().Path, ln.Addr())
	conn, err := ln.Accept()
	if err != nil {
		return nil, fmt.Errorf("--gdb: %w", err)
	}
	defer conn.Close()
	opts := gdbstub.Options{Monitor: o.monitorCommands(), Replay: o.replay}
	if os.Getenv("GORUNEMU_GDB_LOG") != "" {
		opts.Log = stderr
	}
	res, last, q, err := gdbstub.Serve(conn, p, opts)
	if q != p {
		o.current = q
		p = q
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("gdb session: %w", err)
	case res == gdbstub.Killed:
		return &emu.StopReason{Kind: emu.StopKilled, Signal: 9, Insns: p.Insns()}, nil
	case last != nil && (last.Kind == emu.StopExited || last.Kind == emu.StopKilled):
		return last, nil
	}
	fmt.Fprintf(stderr, "gorunemu: gdb detached; running on\n")
	return nil, nil
}

// monitorCommands are what "monitor CMD" does in gdb.
func (o *runOptions) monitorCommands() map[string]func(*emu.Process, string) string {
	return map[string]func(*emu.Process, string) string{
		"insns": func(p *emu.Process, _ string) string {
			var b strings.Builder
			fmt.Fprintf(&b, "%d instructions", p.Insns())
			for _, t := range p.Threads() {
				if t.State() != emu.Exited {
					fmt.Fprintf(&b, "; thread %d: %d", t.TID, t.Insns())
				}
			}
			return b.String()
		},
		"milestones": func(p *emu.Process, _ string) string {
			if len(o.reached) == 0 {
				return "no milestone reached yet"
			}
			return strings.Join(o.reached, "\n")
		},
		"inspect": func(p *emu.Process, _ string) string {
			s, err := goruntime.Read(p)
			if err != nil {
				return "inspect: " + err.Error()
			}
			var b strings.Builder
			for _, r := range goruntime.Evaluate(s) {
				b.WriteString(r.String() + "\n")
			}
			return b.String()
		},
	}
}

// milestoneLog keeps the milestones a run reaches, for "monitor
// milestones".
type milestoneLog struct{ o *runOptions }

func (m *milestoneLog) Begin(trace.Header) error { return nil }
func (m *milestoneLog) Close() error             { return nil }

// SaveState and RewindState take the list back with the process when
// the session goes back to a snapshot (emu.Rewinder).
func (m *milestoneLog) SaveState() any        { return slices.Clone(m.o.reached) }
func (m *milestoneLog) RewindState(state any) { m.o.reached = slices.Clone(state.([]string)) }

func (m *milestoneLog) Emit(e *trace.Event) error {
	if e.Kind == trace.Milestone {
		line := fmt.Sprintf("%12d %5d %s", e.Insns, e.TID, e.At.Sym())
		if e.Detail != "" {
			line += ": " + e.Detail
		}
		m.o.reached = append(m.o.reached, line)
	}
	return nil
}

// replayer returns how to start img afresh as cfg starts it, for reverse
// execution, or nil when a replay would not be the same run: the guest
// reads the caller's stdin or may change host files. The first process's
// output is counted; a replay writes only what goes past it.
func replayer(img *loader.Image, cfg emu.Config, o *runOptions) func() (*emu.Process, error) {
	if cfg.Stdin != nil || len(cfg.RW) > 0 {
		return nil
	}
	out, errOut := &outputLog{w: cfg.Stdout}, &outputLog{w: cfg.Stderr}
	first := true
	return func() (*emu.Process, error) {
		c := cfg
		c.Stdout, c.Stderr = out.writer(), errOut.writer()
		if first {
			first = false // the session's own process, made right after
		} else {
			o.reached = nil // the milestones come again
		}
		return emu.New(img, c)
	}
}

// outputLog is a guest output stream shared by a process and its
// replays: each writes only the bytes past what any wrote before, which
// a deterministic replay writes again, the same.
type outputLog struct {
	w       io.Writer
	written int64
}

// writer returns a writer for one process.
func (l *outputLog) writer() io.Writer { return &replayOutput{log: l} }

type replayOutput struct {
	log *outputLog
	pos int64 // bytes this process has written
}

// SaveState and RewindState take the count of bytes written back with
// the process when the session goes back to a snapshot, so that what it
// writes again is not written twice (emu.Rewinder).
func (r *replayOutput) SaveState() any        { return r.pos }
func (r *replayOutput) RewindState(state any) { r.pos = state.(int64) }

func (r *replayOutput) Write(b []byte) (int, error) {
	n := len(b)
	end := r.pos + int64(n)
	if end > r.log.written {
		fresh := b[max(0, len(b)-int(end-r.log.written)):]
		if _, err := r.log.w.Write(fresh); err != nil {
			return 0, err
		}
		r.log.written = end
	}
	r.pos = end
	return n, nil
}

// active is the process the run goes on with: p, or the replay a gdb
// session ended with.
func (o *runOptions) active(p *emu.Process) *emu.Process {
	if o.current != nil {
		return o.current
	}
	return p
}
