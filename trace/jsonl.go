package trace

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// JSONLSink writes one JSON object per line (see the package
// documentation for the schema).
type JSONLSink struct {
	w   *bufio.Writer
	enc *json.Encoder
}

// NewJSONL returns a sink writing JSON Lines to w.
func NewJSONL(w io.Writer) *JSONLSink {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &JSONLSink{w: bw, enc: enc}
}

type jsonHeader struct {
	Event     string   `json:"event"`
	Binary    string   `json:"binary"`
	Arch      string   `json:"arch"`
	GoVersion string   `json:"go_version,omitempty"`
	Args      []string `json:"argv,omitempty"`
}

type jsonLoc struct {
	PC      string      `json:"pc"`
	Func    string      `json:"func,omitempty"`
	Offset  uint64      `json:"offset,omitempty"`
	File    string      `json:"file,omitempty"`
	Line    int         `json:"line,omitempty"`
	Object  string      `json:"object,omitempty"`
	Inlined []jsonFrame `json:"inlined,omitempty"`
}

type jsonFrame struct {
	Func string `json:"func"`
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

type jsonReg struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type jsonEvent struct {
	Event       string    `json:"event"`
	Insns       uint64    `json:"insns"`
	ThreadInsns uint64    `json:"thread_insns"`
	TID         int       `json:"tid"`
	At          *jsonLoc  `json:"at,omitempty"`
	Depth       *int      `json:"depth,omitempty"`
	G           string    `json:"g,omitempty"`
	GoID        *int64    `json:"goid,omitempty"`
	Name        string    `json:"name,omitempty"`
	Args        []string  `json:"args,omitempty"`
	Result      string    `json:"result,omitempty"`
	Caller      *jsonLoc  `json:"caller,omitempty"`
	Detail      string    `json:"detail,omitempty"`
	Bytes       string    `json:"bytes,omitempty"`
	Asm         string    `json:"asm,omitempty"`
	Regs        []jsonReg `json:"regs,omitempty"`
	Addr        string    `json:"addr,omitempty"`
	Size        int       `json:"size,omitempty"`
	Old         string    `json:"old,omitempty"`
	New         string    `json:"new,omitempty"`
	Target      string    `json:"target,omitempty"`
	Parent      int       `json:"parent,omitempty"`
	Code        *int      `json:"code,omitempty"`
}

func hexs(v uint64) string { return fmt.Sprintf("%#x", v) }

func toJSONLoc(l Loc) *jsonLoc {
	if l.PC == 0 && l.Func == "" {
		return nil
	}
	j := &jsonLoc{PC: hexs(l.PC), Func: l.Func, Offset: l.Offset, File: l.File, Line: l.Line, Object: l.Object}
	for _, f := range l.Inlined {
		j.Inlined = append(j.Inlined, jsonFrame(f))
	}
	return j
}

// Begin writes the header object.
func (s *JSONLSink) Begin(h Header) error {
	return s.enc.Encode(jsonHeader{Event: "header", Binary: h.Binary, Arch: h.Arch, GoVersion: h.GoVersion, Args: h.Args})
}

// Emit writes one event object.
func (s *JSONLSink) Emit(e *Event) error {
	j := jsonEvent{
		Event:       e.Kind.String(),
		Insns:       e.Insns,
		ThreadInsns: e.ThreadInsns,
		TID:         e.TID,
		At:          toJSONLoc(e.At),
		Name:        e.Name,
		Args:        e.Args,
		Result:      e.Result,
		Caller:      toJSONLoc(e.Caller),
		Detail:      e.Detail,
		Asm:         e.Asm,
		Target:      e.Target,
		Parent:      e.Parent,
	}
	switch e.Kind {
	case Call, Return, Switch:
		d := e.Depth
		j.Depth = &d
		if e.G != 0 {
			id := e.GoID
			j.G, j.GoID = hexs(e.G), &id
		}
	case Insn:
		j.Bytes = fmt.Sprintf("%x", e.Bytes)
		for _, r := range e.Regs {
			j.Regs = append(j.Regs, jsonReg{r.Name, hexs(r.Value)})
		}
	case Write:
		j.Addr, j.Size, j.Old, j.New = hexs(e.Addr), e.Size, hexs(e.Old), hexs(e.New)
	case ThreadExit, Stop:
		c := e.Code
		j.Code = &c
	}
	return s.enc.Encode(j)
}

// Close flushes the output.
func (s *JSONLSink) Close() error { return s.w.Flush() }
