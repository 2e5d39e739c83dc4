package goruntime

import (
	"debug/dwarf"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader"
)

// Value is a package-level variable, or a part of one, read from a
// stopped process through its DWARF type: what gdb's print shows.
type Value struct {
	// Expr is what was asked for ("runtime.m0.tls[1]").
	Expr string `json:"expr"`
	// Type is the DWARF type's name ("runtime.m", "[6]uintptr").
	Type string `json:"type"`
	Addr Addr   `json:"addr"`
	Size int64  `json:"size"`
	// Text is the value of a scalar, pointer or string, or a short form
	// of a struct or array, whose parts are in Fields.
	Text   string  `json:"value"`
	Fields []Field `json:"fields,omitempty"`
}

// Field is one member of a struct or element of an array.
type Field struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Addr Addr   `json:"addr"`
	Text string `json:"value"`
}

// ErrNoVariable means the expression names no package-level variable.
var ErrNoVariable = loader.ErrNoVariable

// Variables reads package-level variables of one stopped process through
// its binary's DWARF types. It is not safe for concurrent use.
type Variables struct {
	p *emu.Process
	d *dwarf.Data
}

// NewVariables prepares to read p's variables; the binary needs DWARF.
func NewVariables(p *emu.Process) (*Variables, error) {
	d, err := p.Image().DWARF()
	if err != nil {
		return nil, err
	}
	return &Variables{p: p, d: d}, nil
}

// Examine evaluates expr, a package-level variable followed by field
// selectors and indexes ("runtime.m0.tls[0]", "runtime.allm.procid",
// "runtime.argslice[0]"), in the stopped process p. As in Go, selecting
// through a pointer follows it, and a slice or string is indexed through
// its data pointer.
func (v *Variables) Examine(expr string) (*Value, error) {
	p := v.p
	sym, rest, err := p.Image().SplitVariable(expr)
	if err != nil {
		return nil, fmt.Errorf("%w (a package-level variable, as runtime.m0 or main.config, with .field and [index] after it)", err)
	}
	t, err := loader.VariableType(v.d, sym.Name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", sym.Name, ErrBadDWARF, err)
	}
	addr := sym.Addr
	for rest != "" {
		var sel string
		if rest[0] == '[' {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("%s: unclosed [", expr)
			}
			sel, rest = rest[:end+1], rest[end+1:]
		} else if rest[0] == '.' {
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			sel, rest = rest[:end+1], rest[end+1:]
		} else {
			return nil, fmt.Errorf("%s: expected .field or [index] at %q", expr, rest)
		}
		if addr, t, err = v.selectIn(addr, t, sel); err != nil {
			return nil, fmt.Errorf("%s: %w", expr, err)
		}
	}
	val := &Value{Expr: expr, Type: typeName(t), Addr: Addr(addr), Size: t.Size()}
	val.Text = format(p, addr, t, 1)
	switch u := loader.Underlying(t).(type) {
	case *dwarf.StructType:
		if !isString(u) && !isSlice(u) {
			for _, f := range u.Field {
				a := addr + uint64(f.ByteOffset)
				val.Fields = append(val.Fields, Field{Name: f.Name, Type: typeName(f.Type), Addr: Addr(a), Text: format(p, a, f.Type, 0)})
			}
		}
	case *dwarf.ArrayType:
		n, elem := u.Count, u.Type
		for i := int64(0); i < min(n, maxElems); i++ {
			a := addr + uint64(i*elem.Size())
			val.Fields = append(val.Fields, Field{Name: "[" + strconv.FormatInt(i, 10) + "]", Type: typeName(elem), Addr: Addr(a), Text: format(p, a, elem, 0)})
		}
	}
	return val, nil
}

// maxElems bounds the elements shown of an array or slice.
const maxElems = 64

// selectIn applies one selector (".name" or "[n]") to the value of type
// t at addr.
func (v *Variables) selectIn(addr uint64, t dwarf.Type, sel string) (uint64, dwarf.Type, error) {
	p := v.p
	t = loader.Underlying(t)
	if ptr, ok := t.(*dwarf.PtrType); ok && sel[0] == '.' {
		target, err := p.ReadU64(addr)
		if err != nil {
			return 0, nil, err
		}
		if target == 0 {
			return 0, nil, fmt.Errorf("%s of a nil %s", sel, typeName(t))
		}
		addr, t = target, loader.Underlying(ptr.Type)
	}
	if sel[0] == '.' {
		st, ok := t.(*dwarf.StructType)
		if !ok {
			return 0, nil, fmt.Errorf("%s of %s, which has no fields", sel, typeName(t))
		}
		for _, f := range st.Field {
			if f.Name == sel[1:] {
				return addr + uint64(f.ByteOffset), f.Type, nil
			}
		}
		return 0, nil, fmt.Errorf("%s has no field %s", typeName(t), sel[1:])
	}
	i, err := strconv.ParseInt(sel[1:len(sel)-1], 0, 64)
	if err != nil || i < 0 {
		return 0, nil, fmt.Errorf("bad index %s", sel)
	}
	switch u := t.(type) {
	case *dwarf.ArrayType:
		if i >= u.Count {
			return 0, nil, fmt.Errorf("index %d out of range [0:%d]", i, u.Count)
		}
		return addr + uint64(i*u.Type.Size()), u.Type, nil
	case *dwarf.StructType:
		if isSlice(u) || isString(u) {
			data, n, elem, err := sliceParts(p, addr, u)
			if err != nil {
				return 0, nil, err
			}
			if uint64(i) >= n {
				return 0, nil, fmt.Errorf("index %d out of range [0:%d]", i, n)
			}
			return data + uint64(i*elem.Size()), elem, nil
		}
	}
	return 0, nil, fmt.Errorf("cannot index %s", typeName(t))
}

func typeName(t dwarf.Type) string {
	if n := t.Common().Name; n != "" {
		return n
	}
	if st, ok := t.(*dwarf.StructType); ok && st.StructName != "" {
		return st.StructName
	}
	return t.String()
}

func isString(t *dwarf.StructType) bool { return t.StructName == "string" }

func isSlice(t *dwarf.StructType) bool {
	return strings.HasPrefix(t.StructName, "[]") && len(t.Field) == 3 && t.Field[0].Name == "array"
}

// sliceParts reads a slice's or string's data pointer and length.
func sliceParts(p *emu.Process, addr uint64, t *dwarf.StructType) (data, n uint64, elem dwarf.Type, err error) {
	if len(t.Field) < 2 {
		return 0, 0, nil, fmt.Errorf("%s: unexpected layout", t.StructName)
	}
	ptr, ok := loader.Underlying(t.Field[0].Type).(*dwarf.PtrType)
	if !ok {
		return 0, 0, nil, fmt.Errorf("%s: unexpected layout", t.StructName)
	}
	if data, err = p.ReadU64(addr + uint64(t.Field[0].ByteOffset)); err != nil {
		return 0, 0, nil, err
	}
	if n, err = p.ReadU64(addr + uint64(t.Field[1].ByteOffset)); err != nil {
		return 0, 0, nil, err
	}
	return data, n, ptr.Type, nil
}

// format renders the value of type t at addr; depth says how many levels
// of a struct or array to show inline.
func format(p *emu.Process, addr uint64, t dwarf.Type, depth int) string {
	t = loader.Underlying(t)
	size := t.Size()
	switch u := t.(type) {
	case *dwarf.StructType:
		if isString(u) {
			data, n, _, err := sliceParts(p, addr, u)
			if err != nil {
				return "<" + err.Error() + ">"
			}
			b := make([]byte, min(n, 256))
			if err := p.ReadMem(data, b); err != nil {
				return fmt.Sprintf("<string at %#x: unreadable>", data)
			}
			s := strconv.Quote(string(b))
			if uint64(len(b)) < n {
				s += fmt.Sprintf("... (%d bytes)", n)
			}
			return s
		}
		if isSlice(u) {
			data, n, _, err := sliceParts(p, addr, u)
			if err != nil {
				return "<" + err.Error() + ">"
			}
			return fmt.Sprintf("%s len %d at %#x", u.StructName, n, data)
		}
		if depth <= 0 {
			return fmt.Sprintf("{...} (%s, %d bytes)", typeName(t), size)
		}
		var parts []string
		for _, f := range u.Field {
			parts = append(parts, f.Name+": "+format(p, addr+uint64(f.ByteOffset), f.Type, depth-1))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *dwarf.ArrayType:
		if depth <= 0 || u.Count > 16 {
			return fmt.Sprintf("[%d]... (%d bytes)", u.Count, size)
		}
		var parts []string
		for i := int64(0); i < u.Count; i++ {
			parts = append(parts, format(p, addr+uint64(i*u.Type.Size()), u.Type, depth-1))
		}
		return "[" + strings.Join(parts, " ") + "]"
	case *dwarf.PtrType, *dwarf.FuncType:
		v, err := p.ReadU64(addr)
		if err != nil {
			return "<unreadable>"
		}
		return fmt.Sprintf("%#x", v)
	}
	if size <= 0 || size > 8 {
		return fmt.Sprintf("<%d bytes of %s>", size, typeName(t))
	}
	b := make([]byte, 8)
	if err := p.ReadMem(addr, b[:size]); err != nil {
		return "<unreadable>"
	}
	raw := binary.LittleEndian.Uint64(b)
	switch t.(type) {
	case *dwarf.BoolType:
		return strconv.FormatBool(raw != 0)
	case *dwarf.IntType:
		shift := 64 - 8*uint(size)
		return strconv.FormatInt(int64(raw<<shift)>>shift, 10)
	case *dwarf.FloatType:
		if size == 4 {
			return strconv.FormatFloat(float64(math.Float32frombits(uint32(raw))), 'g', -1, 32)
		}
		return strconv.FormatFloat(math.Float64frombits(raw), 'g', -1, 64)
	case *dwarf.UintType, *dwarf.UcharType, *dwarf.CharType:
		if typeName(t) == "uintptr" {
			return fmt.Sprintf("%#x", raw)
		}
		return strconv.FormatUint(raw, 10)
	}
	return fmt.Sprintf("%#x", raw)
}
