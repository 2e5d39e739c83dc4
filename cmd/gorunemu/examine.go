package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader"
)

// examineOptions are inspect's flags for looking at more than the
// runtime's startup state, as one would in gdb at the stop.
type examineOptions struct {
	stack, regs, bt bool
	vars            []string
}

func (o *examineOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.stack, "stack", false, "also show the initial stack: argc, argv, envp and auxv as the kernel laid them out")
	fs.BoolVar(&o.regs, "regs", false, "also show every register of every thread: general and vector")
	fs.BoolVar(&o.bt, "bt", false, "also show a symbolized backtrace of every thread")
	fs.Func("var", "also show `EXPR`, a package-level variable with .field and [index] (runtime.m0.tls, runtime.g0.stack.lo, main.config); repeatable", func(s string) error {
		o.vars = append(o.vars, s)
		return nil
	})
	fs.BoolFunc("all", "--stack, --regs and --bt", func(string) error {
		o.stack, o.regs, o.bt = true, true, true
		return nil
	})
}

// examined is what the examine flags asked for, read at the stop.
type examined struct {
	Stack   *initialStack      `json:"initial_stack,omitempty"`
	Threads []threadDetail     `json:"thread_details,omitempty"`
	Vars    []*goruntime.Value `json:"vars,omitempty"`
}

type initialStack struct {
	SP   goruntime.Addr `json:"sp"`
	Argc int            `json:"argc"`
	Argv []string       `json:"argv"`
	Envp []string       `json:"envp"`
	Auxv []auxEntry     `json:"auxv"`
}

type auxEntry struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
	Note  string `json:"note,omitempty"`
}

type threadDetail struct {
	TID      int               `json:"tid"`
	Regs     map[string]uint64 `json:"regs,omitempty"`
	regOrder []string
	// Vectors are the 128-bit registers as 32 hex digits, high first.
	Vectors   map[string]string `json:"vectors,omitempty"`
	vecOrder  []string
	Backtrace []frame `json:"backtrace,omitempty"`
}

type frame struct {
	PC       goruntime.Addr `json:"pc"`
	Function string         `json:"function,omitempty"`
	File     string         `json:"file,omitempty"`
	Line     int            `json:"line,omitempty"`
}

// maxFrames bounds a backtrace.
const maxFrames = 64

// examine reads what o asks for from the stopped process p.
func (o *examineOptions) examine(p *emu.Process) (*examined, error) {
	var x examined
	if o.stack {
		x.Stack = readInitialStack(p)
	}
	if o.regs || o.bt {
		a := p.Arch()
		for _, t := range p.Threads() {
			if t.State() == emu.Exited {
				continue
			}
			d := threadDetail{TID: t.TID}
			if o.regs {
				d.Regs = map[string]uint64{}
				for _, r := range a.GPRs {
					v, err := t.Reg(r.Reg)
					if err != nil {
						return nil, err
					}
					d.Regs[r.Name] = v
					d.regOrder = append(d.regOrder, r.Name)
				}
				d.Vectors = map[string]string{}
				for _, r := range a.Vectors {
					lo, hi, err := t.Reg128(r.Reg)
					if err != nil {
						return nil, err
					}
					d.Vectors[r.Name] = fmt.Sprintf("%016x%016x", hi, lo)
					d.vecOrder = append(d.vecOrder, r.Name)
				}
			}
			if o.bt {
				d.Backtrace = append(d.Backtrace, frameAt(p, t.PC()))
				for _, ret := range t.Backtrace(maxFrames) {
					// The call is the instruction before the return address.
					f := frameAt(p, ret-1)
					f.PC = goruntime.Addr(ret)
					d.Backtrace = append(d.Backtrace, f)
				}
			}
			x.Threads = append(x.Threads, d)
		}
	}
	if len(o.vars) > 0 {
		vars, err := goruntime.NewVariables(p)
		if err != nil {
			return nil, fmt.Errorf("--var needs the binary's DWARF: %w", err)
		}
		for _, e := range o.vars {
			v, err := vars.Examine(e)
			if err != nil {
				return nil, &badVar{err}
			}
			x.Vars = append(x.Vars, v)
		}
	}
	return &x, nil
}

// badVar is a --var expression that names nothing in the binary: a usage
// error.
type badVar struct{ err error }

func (e *badVar) Error() string { return "--var " + e.err.Error() }
func (e *badVar) Unwrap() error { return e.err }

// frameAt names pc: a function of the executable with its source line,
// or one of a shared object (the C library's, in a cgo program).
func frameAt(p *emu.Process, pc uint64) frame {
	f := frame{PC: goruntime.Addr(pc)}
	if s, ok := p.Image().Symbolize(pc); ok {
		f.Function, f.File, f.Line = s.Name, s.File, s.Line
	} else {
		f.Function = p.Symbolize(pc)
	}
	return f
}

// readInitialStack decodes the stack the loader built, as it is in guest
// memory now (the runtime may have written over argv's strings by then,
// which is then what shows).
func readInitialStack(p *emu.Process) *initialStack {
	st := p.Stack()
	s := &initialStack{SP: goruntime.Addr(st.SP)}
	if argc, err := p.ReadU64(st.SP); err == nil {
		s.Argc = int(argc)
	}
	s.Argv = readStrings(p, st.ArgvAddr)
	s.Envp = readStrings(p, st.EnvpAddr)
	img := p.Image()
	for _, e := range st.Auxv {
		a := auxEntry{Name: e.Type.String(), Value: e.Val}
		switch e.Type {
		case loader.AT_ENTRY:
			if sym, ok := img.Symbolize(e.Val); ok {
				a.Note = sym.Name
			}
		case loader.AT_RANDOM:
			b := make([]byte, 16)
			if p.ReadMem(e.Val, b) == nil {
				a.Note = fmt.Sprintf("%x", b)
			}
		case loader.AT_PLATFORM, loader.AT_EXECFN:
			a.Note = strconv.Quote(readCString(p, e.Val))
		}
		s.Auxv = append(s.Auxv, a)
	}
	return s
}

// readStrings reads a NULL-terminated array of C string pointers.
func readStrings(p *emu.Process, at uint64) []string {
	out := []string{}
	for i := uint64(0); i < 4096; i++ {
		ptr, err := p.ReadU64(at + 8*i)
		if err != nil || ptr == 0 {
			break
		}
		out = append(out, readCString(p, ptr))
	}
	return out
}

func readCString(p *emu.Process, at uint64) string {
	var b []byte
	var c [1]byte
	for len(b) < 4096 && p.ReadMem(at+uint64(len(b)), c[:]) == nil && c[0] != 0 {
		b = append(b, c[0])
	}
	return string(b)
}

// write prints x after inspect's table.
func (x *examined) write(w io.Writer) {
	if s := x.Stack; s != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "initial stack at %#x\n", uint64(s.SP))
		t := newTable(w)
		t.row("  argc", strconv.Itoa(s.Argc))
		for i, a := range s.Argv {
			t.row(fmt.Sprintf("  argv[%d]", i), strconv.Quote(a))
		}
		for i, e := range s.Envp {
			t.row(fmt.Sprintf("  envp[%d]", i), strconv.Quote(e))
		}
		for _, a := range s.Auxv {
			t.row("  "+a.Name, fmt.Sprintf("%#x", a.Value), a.Note)
		}
		t.flush()
	}
	for _, d := range x.Threads {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "thread %d\n", d.TID)
		if len(d.regOrder) > 0 {
			t := newTable(w)
			for _, name := range d.regOrder {
				t.row("  "+name, fmt.Sprintf("%#x", d.Regs[name]))
			}
			for _, name := range d.vecOrder {
				t.row("  "+name, "0x"+d.Vectors[name])
			}
			t.flush()
		}
		for i, f := range d.Backtrace {
			where := f.Function
			if where == "" {
				where = "?"
			}
			if f.File != "" {
				where += fmt.Sprintf(" %s:%d", f.File, f.Line)
			}
			fmt.Fprintf(w, "  #%-2d %#x %s\n", i, uint64(f.PC), where)
		}
	}
	for _, v := range x.Vars {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "%s (%s, %d bytes at %#x) = %s\n", v.Expr, v.Type, v.Size, uint64(v.Addr), v.Text)
		if len(v.Fields) > 0 {
			t := newTable(w)
			for _, f := range v.Fields {
				t.row("  "+f.Name, f.Text, f.Type, fmt.Sprintf("%#x", uint64(f.Addr)))
			}
			t.flush()
		}
	}
}

// empty reports whether nothing was asked for.
func (o *examineOptions) empty() bool {
	return !o.stack && !o.regs && !o.bt && len(o.vars) == 0
}
