// Package tracetest holds a trace.Sink for tests: it keeps a copy of
// every event, so tests can look at a run's trace as data.
package tracetest

import "github.com/gorunemu/gorunemu/trace"

// Recorder is a trace.Sink that keeps copies of the header and of every
// event, in order.
type Recorder struct {
	Header trace.Header
	Events []trace.Event
}

func (r *Recorder) Begin(h trace.Header) error { r.Header = h; return nil }
func (r *Recorder) Close() error               { return nil }

// Emit copies e, slices included: the producer reuses them.
func (r *Recorder) Emit(e *trace.Event) error {
	c := *e
	c.Args = append([]string(nil), e.Args...)
	c.Bytes = append([]byte(nil), e.Bytes...)
	c.Regs = append([]trace.Reg(nil), e.Regs...)
	c.At.Inlined = append([]trace.Frame(nil), e.At.Inlined...)
	r.Events = append(r.Events, c)
	return nil
}

// Of returns the events of kind k, in order.
func (r *Recorder) Of(k trace.Kind) []trace.Event {
	var out []trace.Event
	for _, e := range r.Events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}
