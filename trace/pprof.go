package trace

import (
	"io"
	"sort"
	"strings"

	"github.com/google/pprof/profile"
)

// PprofSink aggregates instructions per call stack and writes them as a
// pprof profile (gzipped protobuf) that `go tool pprof` reads. It needs
// Call and Return events: every instruction a thread executes between two
// of its events is charged to its stack at the first.
type PprofSink struct {
	w       io.Writer
	h       Header
	threads map[int]*pprofThread
	stacks  map[pprofStack][]string // open calls, outermost first
	counts  map[string]int64        // "\x00"-joined stack, leaf last -> instructions
	entries map[string]Loc          // function -> its entry's file and line
}

// pprofStack names a call stack: a goroutine's when goroutines are
// followed, else a thread's.
type pprofStack struct {
	tid int
	g   gKey
}

type pprofThread struct {
	on   pprofStack // the stack the thread runs on
	last uint64     // ThreadInsns at the previous event
}

// NewPprof returns a sink writing a profile to w on Close.
func NewPprof(w io.Writer) *PprofSink {
	return &PprofSink{w: w, threads: map[int]*pprofThread{}, stacks: map[pprofStack][]string{}, counts: map[string]int64{}, entries: map[string]Loc{}}
}

// Begin records the header for the profile's comments.
func (s *PprofSink) Begin(h Header) error {
	s.h = h
	return nil
}

// Emit charges the thread's instructions since its previous event to the
// stack it runs on, then applies calls, returns and goroutine switches.
func (s *PprofSink) Emit(e *Event) error {
	if e.TID == 0 {
		return nil
	}
	t := s.threads[e.TID]
	if t == nil {
		t = &pprofThread{on: pprofStack{tid: e.TID}}
		s.threads[e.TID] = t
	}
	if e.ThreadInsns > t.last {
		key := strings.Join(s.stacks[t.on], "\x00")
		if key == "" {
			key = "[unknown]"
		}
		s.counts[key] += int64(e.ThreadInsns - t.last)
	}
	t.last = e.ThreadInsns
	on := pprofStack{tid: e.TID}
	if e.G != 0 {
		on = pprofStack{g: gKey{e.G, e.GoID}}
	}
	switch e.Kind {
	case Switch:
		t.on = on
	case Call:
		st := s.stacks[on]
		s.stacks[on] = append(st[:min(e.Depth, len(st))], e.At.Func)
		if _, ok := s.entries[e.At.Func]; !ok {
			s.entries[e.At.Func] = e.At
		}
	case Return:
		st := s.stacks[on]
		s.stacks[on] = st[:min(e.Depth, len(st))]
	}
	return nil
}

// Close builds and writes the profile.
func (s *PprofSink) Close() error {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "instructions", Unit: "count"}},
		PeriodType: &profile.ValueType{Type: "instructions", Unit: "count"},
		Period:     1,
		Comments:   []string{"gorunemu " + s.h.Binary + " " + s.h.Arch + " " + s.h.GoVersion},
	}
	// One mapping for the whole binary; functions are already named.
	m := &profile.Mapping{ID: 1, File: s.h.Binary, HasFunctions: true}
	p.Mapping = []*profile.Mapping{m}
	funcs := map[string]*profile.Function{}
	locs := map[string]*profile.Location{}
	loc := func(name string) *profile.Location {
		if l, ok := locs[name]; ok {
			return l
		}
		// Instructions are charged per function, so each function has one
		// location: its entry, with the file and line the calls saw.
		at := s.entries[name]
		f := &profile.Function{ID: uint64(len(funcs) + 1), Name: name, SystemName: name, Filename: at.File, StartLine: int64(at.Line)}
		funcs[name] = f
		p.Function = append(p.Function, f)
		l := &profile.Location{ID: uint64(len(locs) + 1), Mapping: m, Address: at.PC, Line: []profile.Line{{Function: f, Line: int64(at.Line)}}}
		locs[name] = l
		p.Location = append(p.Location, l)
		return l
	}
	keys := make([]string, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic output
	for _, k := range keys {
		frames := strings.Split(k, "\x00")
		sample := &profile.Sample{Value: []int64{s.counts[k]}}
		for i := len(frames) - 1; i >= 0; i-- { // leaf first
			sample.Location = append(sample.Location, loc(frames[i]))
		}
		p.Sample = append(p.Sample, sample)
	}
	if err := p.CheckValid(); err != nil {
		return err
	}
	return p.Write(s.w)
}
