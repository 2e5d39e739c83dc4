package trace

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// maxIndent caps the indentation of deep call stacks in text output.
const maxIndent = 40

// TextSink writes the text format (see the package documentation).
type TextSink struct {
	w   *bufio.Writer
	buf []byte
	// insnText caches the part of an insn line that depends only on the
	// instruction's address: a trace repeats the same loops millions of
	// times.
	insnText map[uint64]string
}

// NewText returns a sink writing the text format to w.
func NewText(w io.Writer) *TextSink {
	return &TextSink{w: bufio.NewWriterSize(w, 64<<10), insnText: map[uint64]string{}}
}

// Begin writes the header comment lines.
func (s *TextSink) Begin(h Header) error {
	goVersion := h.GoVersion
	if goVersion == "" {
		goVersion = "-"
	}
	s.buf = append(s.buf[:0], "# gorunemu trace "...)
	s.buf = append(s.buf, h.Binary...)
	s.buf = append(s.buf, ' ')
	s.buf = append(s.buf, h.Arch...)
	s.buf = append(s.buf, ' ')
	s.buf = append(s.buf, goVersion...)
	s.buf = append(s.buf, '\n')
	if len(h.Args) > 0 {
		s.buf = append(s.buf, "# argv"...)
		for _, a := range h.Args {
			s.buf = append(s.buf, ' ')
			s.buf = strconv.AppendQuote(s.buf, a)
		}
		s.buf = append(s.buf, '\n')
	}
	s.buf = append(s.buf, "#      insns   tid event\n"...)
	_, err := s.w.Write(s.buf)
	return err
}

// Emit writes one line.
func (s *TextSink) Emit(e *Event) error {
	b := s.buf[:0]
	b = appendPadded(b, e.Insns, 12)
	b = append(b, ' ')
	b = appendPadded(b, uint64(e.TID), 5)
	b = append(b, ' ')
	b = append(b, e.Kind.String()...)
	switch e.Kind {
	case Milestone:
		b = append(b, ' ')
		b = append(b, e.At.Sym()...)
		b = appendPos(b, e.At)
		if e.Detail != "" {
			b = append(b, ": "...)
			b = append(b, e.Detail...)
		}
	case Call, Return:
		b = append(b, ' ')
		b = appendPadded(b, uint64(e.Depth), 3)
		b = append(b, ' ')
		b = append(b, strings.Repeat("  ", min(e.Depth, maxIndent))...)
		switch {
		case e.Kind == Call:
			b = append(b, e.At.FuncName()...)
			b = appendPos(b, e.At)
		case e.Detail != "": // the frame went without returning
			b = append(b, e.Name...)
			b = append(b, " # "...)
			b = append(b, e.Detail...)
		default:
			b = append(b, e.Name...)
			b = append(b, " -> "...)
			b = append(b, e.At.Sym()...)
		}
	case Syscall:
		b = append(b, ' ')
		b = append(b, e.Name...)
		b = append(b, '(')
		b = append(b, strings.Join(e.Args, ", ")...)
		b = append(b, ") "...)
		b = append(b, e.Result...)
		b = append(b, " in "...)
		if e.At.Func != "" {
			b = append(b, e.At.FuncName()...)
		} else {
			b = append(b, e.At.Sym()...) // outside the binary: the address
		}
		if e.Caller.Func != "" {
			b = append(b, " from "...)
			b = append(b, e.Caller.Sym()...)
		}
		if e.Detail != "" {
			b = append(b, " # "...)
			b = append(b, e.Detail...)
		}
	case Insn:
		b = append(b, ' ')
		b = append(b, s.insn(e)...)
		if len(e.Regs) > 0 {
			b = append(b, " ;"...)
			for _, r := range e.Regs {
				b = append(b, ' ')
				b = append(b, r.Name...)
				b = append(b, "=0x"...)
				b = strconv.AppendUint(b, r.Value, 16)
			}
		}
	case Write:
		b = append(b, ' ')
		b = append(b, e.Target...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(e.Size), 10)
		b = append(b, " 0x"...)
		b = strconv.AppendUint(b, e.Old, 16)
		b = append(b, " -> 0x"...)
		b = strconv.AppendUint(b, e.New, 16)
		b = append(b, " by "...)
		b = append(b, e.At.Sym()...)
		b = appendPos(b, e.At)
	case ThreadStart:
		b = append(b, " from "...)
		b = strconv.AppendInt(b, int64(e.Parent), 10)
		b = append(b, " at "...)
		b = append(b, e.At.Sym()...)
		if e.Detail != "" {
			b = append(b, ": "...)
			b = append(b, e.Detail...)
		}
	case Switch:
		b = append(b, ' ')
		b = append(b, e.Name...)
		b = append(b, " g=0x"...)
		b = strconv.AppendUint(b, e.G, 16)
		b = append(b, " at "...)
		b = append(b, e.At.Sym()...)
		b = appendPos(b, e.At)
	case ThreadExit:
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(e.Code), 10)
	case Stop:
		b = append(b, ' ')
		b = append(b, e.Detail...)
	case Signal:
		b = append(b, ' ')
		b = append(b, e.Name...)
		b = append(b, " at "...)
		b = append(b, e.At.Sym()...)
		b = appendPos(b, e.At)
		b = append(b, ": "...)
		b = append(b, e.Detail...)
	}
	b = append(b, '\n')
	s.buf = b
	_, err := s.w.Write(b)
	return err
}

// insn returns "PC SYM FILE:LINE BYTES ASM" for an instruction.
func (s *TextSink) insn(e *Event) string {
	if t, ok := s.insnText[e.At.PC]; ok {
		return t
	}
	var b []byte
	b = append(b, "0x"...)
	b = strconv.AppendUint(b, e.At.PC, 16)
	b = append(b, ' ')
	b = append(b, e.At.Sym()...)
	b = appendPos(b, e.At)
	b = append(b, " "...)
	for i, x := range e.Bytes {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, "0123456789abcdef"[x>>4], "0123456789abcdef"[x&15])
	}
	b = append(b, " | "...)
	b = append(b, e.Asm...)
	t := string(b)
	s.insnText[e.At.PC] = t
	return t
}

// Close flushes the output.
func (s *TextSink) Close() error { return s.w.Flush() }

func appendPadded(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	d := strconv.AppendUint(tmp[:0], v, 10)
	for i := len(d); i < width; i++ {
		b = append(b, ' ')
	}
	return append(b, d...)
}

// appendPos appends " file:line", and for code inlined at l, the
// inlined functions: " [inlined strings.Index <- fmt.Fprintln]".
func appendPos(b []byte, l Loc) []byte {
	if l.File == "" {
		return b
	}
	b = append(b, ' ')
	b = append(b, l.File...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(l.Line), 10)
	if len(l.Inlined) > 0 {
		b = append(b, " [inlined "...)
		for i, f := range l.Inlined {
			if i > 0 {
				b = append(b, " <- "...)
			}
			b = append(b, f.Func...)
		}
		b = append(b, ']')
	}
	return b
}
