package trace

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// PerfettoSink writes the Chrome Trace Event format (JSON array form),
// which ui.perfetto.dev and chrome://tracing open: each guest thread is a
// track, calls are slices, syscalls, milestones and writes are instant
// events, and one instruction is one microsecond of "time".
type PerfettoSink struct {
	w     *bufio.Writer
	first bool
	pid   int
	open  map[int]int // open call slices per tid
	last  uint64      // latest timestamp, to close slices at the end
	names map[int]bool

	// With goroutines followed: each goroutine's open calls, its track
	// in the goroutines process, and the goroutine each thread runs.
	gcalls  map[gKey][]string
	gtracks map[gKey]int
	running map[int]gKey
}

// gKey names a goroutine: its runtime.g and, as gs are reused, its id.
type gKey struct {
	g    uint64
	goid int64
}

// goroutinesPid is the Trace Event process that holds goroutine tracks.
const goroutinesPid = 2

// NewPerfetto returns a sink writing Trace Event JSON to w.
func NewPerfetto(w io.Writer) *PerfettoSink {
	return &PerfettoSink{w: bufio.NewWriterSize(w, 64<<10), first: true, open: map[int]int{}, names: map[int]bool{},
		gcalls: map[gKey][]string{}, gtracks: map[gKey]int{}, running: map[int]gKey{}}
}

// traceEvent is one Trace Event Format record.
type traceEvent struct {
	Name  string         `json:"name"`
	Cat   string         `json:"cat,omitempty"`
	Ph    string         `json:"ph"`
	Ts    uint64         `json:"ts"`
	Pid   int            `json:"pid"`
	Tid   int            `json:"tid"`
	Scope string         `json:"s,omitempty"`
	Args  map[string]any `json:"args,omitempty"`
}

func (s *PerfettoSink) write(ev traceEvent) error {
	if s.first {
		s.first = false
		if _, err := s.w.WriteString("[\n"); err != nil {
			return err
		}
	} else if _, err := s.w.WriteString(",\n"); err != nil {
		return err
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = s.w.Write(b)
	return err
}

// Begin names the process track.
func (s *PerfettoSink) Begin(h Header) error {
	s.pid = 1
	name := h.Binary + " (" + h.Arch + ")"
	return s.write(traceEvent{Name: "process_name", Ph: "M", Pid: s.pid, Args: map[string]any{"name": name}})
}

// Emit writes the event as a slice boundary or an instant.
func (s *PerfettoSink) Emit(e *Event) error {
	s.last = max(s.last, e.Insns)
	if e.TID != 0 && !s.names[e.TID] {
		s.names[e.TID] = true
		if err := s.write(traceEvent{Name: "thread_name", Ph: "M", Pid: s.pid, Tid: e.TID, Args: map[string]any{"name": "thread " + strconv.Itoa(e.TID)}}); err != nil {
			return err
		}
	}
	ev := traceEvent{Ts: e.Insns, Pid: s.pid, Tid: e.TID, Cat: e.Kind.String()}
	switch e.Kind {
	case Call:
		s.open[e.TID]++
		ev.Name, ev.Ph = e.At.Func, "B"
		if pos := e.At.Pos(); pos != "" {
			ev.Args = map[string]any{"pos": pos}
		}
		if e.G != 0 {
			k := gKey{e.G, e.GoID}
			s.gcalls[k] = append(s.gcalls[k], e.At.Func)
			gev := ev
			gev.Pid, gev.Tid = goroutinesPid, s.gtracks[k]
			if gev.Tid == 0 {
				var err error
				if gev.Tid, err = s.gtrack(k, fmt.Sprintf("goroutine %d", e.GoID), e.TID); err != nil {
					return err
				}
			}
			if err := s.write(gev); err != nil {
				return err
			}
		}
	case Return:
		if e.G != 0 {
			k := gKey{e.G, e.GoID}
			if calls := s.gcalls[k]; len(calls) > 0 {
				s.gcalls[k] = calls[:len(calls)-1]
				if err := s.write(traceEvent{Name: e.Name, Ph: "E", Ts: e.Insns, Pid: goroutinesPid, Tid: s.gtracks[k], Cat: ev.Cat}); err != nil {
					return err
				}
			}
		}
		if s.open[e.TID] == 0 {
			return nil
		}
		s.open[e.TID]--
		ev.Name, ev.Ph = e.Name, "E"
	case Switch:
		return s.switchTo(e)
	case Milestone:
		ev.Name, ev.Ph, ev.Scope = e.At.Func, "i", "t"
		ev.Args = map[string]any{"detail": e.Detail, "pos": e.At.Pos()}
	case Syscall:
		ev.Name, ev.Ph, ev.Scope = e.Name, "i", "t"
		ev.Args = map[string]any{"call": e.Name + "(" + strings.Join(e.Args, ", ") + ")", "result": e.Result, "in": e.At.Func}
		if e.Detail != "" {
			ev.Args["note"] = e.Detail
		}
	case Insn:
		ev.Name, ev.Ph, ev.Scope = e.Asm, "i", "t"
		ev.Args = map[string]any{"pc": e.At.Sym()}
	case Write:
		ev.Name, ev.Ph, ev.Scope = "write "+e.Target, "i", "t"
		ev.Args = map[string]any{"old": hexs(e.Old), "new": hexs(e.New), "by": e.At.Sym()}
	case ThreadStart:
		ev.Name, ev.Ph, ev.Scope = "thread start", "i", "t"
		ev.Args = map[string]any{"parent": e.Parent, "at": e.At.Sym()}
	case ThreadExit:
		ev.Name, ev.Ph, ev.Scope = "thread exit", "i", "t"
		ev.Args = map[string]any{"code": e.Code}
	case Stop:
		ev.Name, ev.Ph, ev.Scope = "stop", "i", "p"
		ev.Args = map[string]any{"reason": e.Detail}
	case Signal:
		ev.Name, ev.Ph, ev.Scope = "signal "+e.Name, "i", "t"
		ev.Args = map[string]any{"at": e.At.Sym(), "fault": e.Detail}
	default:
		return nil
	}
	return s.write(ev)
}

// switchTo moves thread e.TID's track to goroutine e.G: the slices of
// the calls it leaves end and those of the goroutine's open calls begin.
func (s *PerfettoSink) switchTo(e *Event) error {
	for ; s.open[e.TID] > 0; s.open[e.TID]-- {
		if err := s.write(traceEvent{Ph: "E", Ts: e.Insns, Pid: s.pid, Tid: e.TID}); err != nil {
			return err
		}
	}
	k := gKey{e.G, e.GoID}
	s.running[e.TID] = k
	if s.gtracks[k] == 0 {
		if _, err := s.gtrack(k, e.Name, e.TID); err != nil {
			return err
		}
	}
	for _, name := range s.gcalls[k] {
		if err := s.write(traceEvent{Name: name, Cat: "call", Ph: "B", Ts: e.Insns, Pid: s.pid, Tid: e.TID}); err != nil {
			return err
		}
		s.open[e.TID]++
	}
	return s.write(traceEvent{Name: "switch to " + e.Name, Cat: "switch", Ph: "i", Scope: "t", Ts: e.Insns, Pid: s.pid, Tid: e.TID,
		Args: map[string]any{"g": hexs(e.G), "goid": e.GoID, "at": e.At.Sym()}})
}

// gtrack gives goroutine k a track, named after it (a thread's g0 and
// gsignal by their thread as well).
func (s *PerfettoSink) gtrack(k gKey, name string, tid int) (int, error) {
	if len(s.gtracks) == 0 {
		if err := s.write(traceEvent{Name: "process_name", Ph: "M", Pid: goroutinesPid, Args: map[string]any{"name": "goroutines"}}); err != nil {
			return 0, err
		}
	}
	id := len(s.gtracks) + 1
	s.gtracks[k] = id
	if k.goid <= 0 {
		name += " of thread " + strconv.Itoa(tid)
	}
	return id, s.write(traceEvent{Name: "thread_name", Ph: "M", Pid: goroutinesPid, Tid: id, Args: map[string]any{"name": name}})
}

// Close ends the slices still open and the JSON array.
func (s *PerfettoSink) Close() error {
	tids := make([]int, 0, len(s.open))
	for tid := range s.open {
		tids = append(tids, tid)
	}
	sort.Ints(tids)
	for _, tid := range tids {
		for n := s.open[tid]; n > 0; n-- {
			if err := s.write(traceEvent{Name: "", Ph: "E", Ts: s.last, Pid: s.pid, Tid: tid}); err != nil {
				return err
			}
		}
	}
	s.open = map[int]int{}
	keys := make([]gKey, 0, len(s.gcalls))
	for k := range s.gcalls {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return s.gtracks[keys[i]] < s.gtracks[keys[j]] })
	for _, k := range keys {
		for range s.gcalls[k] {
			if err := s.write(traceEvent{Ph: "E", Ts: s.last, Pid: goroutinesPid, Tid: s.gtracks[k]}); err != nil {
				return err
			}
		}
	}
	s.gcalls = map[gKey][]string{}
	if s.first {
		if _, err := s.w.WriteString("["); err != nil {
			return err
		}
	}
	if _, err := s.w.WriteString("\n]\n"); err != nil {
		return err
	}
	return s.w.Flush()
}
