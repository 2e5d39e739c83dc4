package loader

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"strings"
)

// Field is a variable or a field inside one, located in memory.
type Field struct {
	Name string // "runtime.g0.stack.lo"
	Addr uint64
	Size uint64
}

// ErrNoVariable is returned by LookupField for a name that is no variable
// of the symbol table.
var ErrNoVariable = errors.New("no such variable")

// LookupField resolves "VARIABLE[.FIELD...]": a variable from the symbol
// table, then struct fields through its DWARF type ("runtime.g0.stack.lo"
// is g0's stack field's lo). Package paths contain dots too, so the longest
// prefix naming a variable wins. A plain variable needs no DWARF; fields
// do, so stripped binaries and -ldflags=-w builds cannot resolve them.
func (img *Image) LookupField(expr string) (Field, error) {
	v, rest, err := img.SplitVariable(expr)
	if err != nil {
		return Field{}, err
	}
	name, path := v.Name, strings.TrimPrefix(rest, ".")
	f := Field{Name: expr, Addr: v.Addr, Size: v.Size}
	if path == "" {
		return f, nil
	}
	d, err := img.DWARF()
	if err != nil {
		return Field{}, fmt.Errorf("loader: %s: field %q of %s: %w", img.Path, path, name, err)
	}
	typ, err := VariableType(d, name)
	if err != nil {
		return Field{}, fmt.Errorf("loader: %s: %s: %w", img.Path, name, err)
	}
	for _, part := range strings.Split(path, ".") {
		st, ok := Underlying(typ).(*dwarf.StructType)
		if !ok {
			return Field{}, fmt.Errorf("loader: %s: %s: %s is not a struct (%s)", img.Path, expr, part, typ)
		}
		var found *dwarf.StructField
		for _, sf := range st.Field {
			if sf.Name == part {
				found = sf
				break
			}
		}
		if found == nil {
			return Field{}, fmt.Errorf("loader: %s: %s: %s has no field %q", img.Path, expr, st.StructName, part)
		}
		f.Addr += uint64(found.ByteOffset)
		typ = found.Type
	}
	if sz := typ.Size(); sz > 0 {
		f.Size = uint64(sz)
	}
	return f, nil
}

// SplitVariable finds the longest prefix of expr, cut before a '.' or a
// '[', that names a variable of the symbol table (package paths contain
// dots too), and returns it and the rest of expr: "runtime.g0.stack.lo"
// is runtime.g0 and ".stack.lo".
func (img *Image) SplitVariable(expr string) (DataSymbol, string, error) {
	for end := len(expr); end > 0; end-- {
		if end < len(expr) && expr[end] != '.' && expr[end] != '[' {
			continue
		}
		if v, ok := img.Data(expr[:end]); ok {
			return v, expr[end:], nil
		}
	}
	return DataSymbol{}, "", fmt.Errorf("loader: %s: %w %q", img.Path, ErrNoVariable, expr)
}

// VariableType finds the DWARF type of the global variable name.
func VariableType(d *dwarf.Data, name string) (t dwarf.Type, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("debug/dwarf panicked: %v", r)
		}
	}()
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			return nil, fmt.Errorf("no DWARF entry for variable %s", name)
		}
		if e.Tag != dwarf.TagVariable {
			continue
		}
		if n, _ := e.Val(dwarf.AttrName).(string); n != name {
			continue
		}
		off, ok := e.Val(dwarf.AttrType).(dwarf.Offset)
		if !ok {
			return nil, fmt.Errorf("variable %s has no type", name)
		}
		return d.Type(off)
	}
}

// Underlying strips typedefs (Go's named scalar types, runtime.guintptr).
func Underlying(t dwarf.Type) dwarf.Type {
	for {
		td, ok := t.(*dwarf.TypedefType)
		if !ok {
			return t
		}
		t = td.Type
	}
}
