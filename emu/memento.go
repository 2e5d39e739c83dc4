package emu

import (
	"reflect"
	"unsafe"
)

// A memento holds the values of every object reachable from its roots
// and puts them back into the same objects, so that a process can return
// to an earlier point (snapshot.go). It works by identity, not by copy:
// a pointer restored still points at the object it pointed at, slices at
// their own arrays, maps are the same maps emptied and refilled. So
// closures that captured an object (the /proc files capture their
// process's kernel) see it as it was, without knowing.
//
// Saved are the objects of the packages that make up a process (emu and
// syscalls), and other packages' objects that hold no pointers (math/
// rand's generators). Other packages' objects are part of a process only
// if they say so (Rewinder: the gdb session's output counter); the rest
// are shared as they are (host files, writers, the binary's image), and
// so is what another package's value in a state object refers to. So
// are the types listed in sharedTypes (the engine's memory, which
// snapshot.go saves itself), those that stand for the outside (Outside),
// and sync's types, whose state belongs to whoever holds them now.
//
// The packages are named by import path, never by being "ours": a main
// package's types have the path "main" in a program and the package's
// import path in its tests.
type memento struct {
	objs   []savedObj
	rewind []rewound
	seen   map[objKey]bool
	todo   []reflect.Value // pointers found, not yet saved
}

// Rewinder is implemented by objects of other packages that a process
// refers to and that hold part of its state all the same (a writer that
// counts what its process wrote, a trace sink that lists what it saw):
// a snapshot keeps what SaveState returns, and a restore hands it back
// to RewindState.
type Rewinder interface {
	SaveState() any
	RewindState(any)
}

var rewinderType = reflect.TypeFor[Rewinder]()

type rewound struct {
	obj   Rewinder
	state any
}

type objKey struct {
	p unsafe.Pointer
	t reflect.Type
}

type savedObj struct {
	ptr reflect.Value // a *T
	val shadow        // what *ptr held
}

// A shadow is a value as it was: a flat value's copy, or, for a value
// holding slices or maps, the parts needed to put it back in place.
type shadow struct {
	v     reflect.Value // a copy (flat, pointer, interface, func, chan), or a slice or map header
	elems []shadow      // struct fields, array and slice elements, map values
	keys  []reflect.Value
}

const modulePath = "github.com/gorunemu/gorunemu/"

// statePackages hold the types whose objects make up a process.
var statePackages = map[string]bool{modulePath + "emu": true, modulePath + "syscalls": true}

// sharedTypes are state packages' types a memento does not save.
var sharedTypes = map[string]bool{
	modulePath + "emu.addressSpace": true, // snapshot.go: memory and page table
	modulePath + "emu.engineMem":    true,
	modulePath + "emu.objectSyms":   true, // symbols read from a library file
}

func saveGraph(roots ...any) *memento {
	m := &memento{seen: map[objKey]bool{}}
	for _, r := range roots {
		m.found(reflect.ValueOf(r))
	}
	for len(m.todo) > 0 {
		p := m.todo[len(m.todo)-1]
		m.todo = m.todo[:len(m.todo)-1]
		m.objs = append(m.objs, savedObj{ptr: p, val: m.save(p.Elem())})
	}
	return m
}

// restore puts every saved object back as it was when saved. The memento
// stays valid: it can be restored again.
func (m *memento) restore() {
	for _, o := range m.objs {
		put(o.ptr.Elem(), o.val)
	}
	for _, r := range m.rewind {
		r.obj.RewindState(r.state)
	}
}

// found notes pointer p, to be saved if its object is.
func (m *memento) found(p reflect.Value) {
	if p.Kind() != reflect.Pointer || p.IsNil() {
		return
	}
	rewinder := p.Type().Implements(rewinderType)
	if !rewinder && !savedType(p.Type().Elem()) {
		return
	}
	k := objKey{p.UnsafePointer(), p.Type().Elem()}
	if m.seen[k] {
		return
	}
	m.seen[k] = true
	if rewinder {
		// (p may come from an unexported field: the same pointer, usable.)
		r := reflect.NewAt(p.Type().Elem(), p.UnsafePointer()).Interface().(Rewinder)
		m.rewind = append(m.rewind, rewound{r, r.SaveState()})
		return
	}
	m.todo = append(m.todo, p)
}

// Outside is implemented by objects a process refers to that stand for
// the world outside it, which does not go back with the process: an
// output log that must not write again what it wrote. Snapshots leave
// them as they are.
type Outside interface{ OutsideProcess() }

var outsideType = reflect.TypeFor[Outside]()

// savedType says whether objects of type t are saved.
func savedType(t reflect.Type) bool {
	if live(t) || t.Implements(outsideType) || reflect.PointerTo(t).Implements(outsideType) {
		return false
	}
	if statePackages[t.PkgPath()] {
		return !sharedTypes[t.PkgPath()+"."+t.Name()]
	}
	return !hasPointers(t)
}

// live types hold state that belongs to the present, not the object's
// past: locks and atomics.
func live(t reflect.Type) bool {
	p := t.PkgPath()
	return p == "sync" || p == "sync/atomic"
}

// hasPointers says whether a value of type t refers to other memory.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.Func,
		reflect.Chan, reflect.String, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// deep says whether a value of type t holds slices or maps, whose
// contents a shadow must save apart from the value. Another package's
// value held in a state object (the arch.CPU a process shows its guest)
// is not: its bits go back, and what it refers to is that package's,
// shared as it is (every process of an arch shares one CPUID table).
func deep(t reflect.Type) bool {
	if t.Name() != "" && t.PkgPath() != "" && !statePackages[t.PkgPath()] {
		return false
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Map:
		return true
	case reflect.Array:
		return t.Len() > 0 && deep(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !live(t.Field(i).Type) && deep(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// writable returns v without the read-only mark of unexported fields;
// v must be addressable.
func writable(v reflect.Value) reflect.Value {
	if v.CanSet() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// save returns v's shadow (v addressable), noting the pointers in it.
func (m *memento) save(v reflect.Value) shadow {
	v = writable(v)
	t := v.Type()
	if !deep(t) {
		m.pointersIn(v)
		c := reflect.New(t).Elem()
		c.Set(v)
		return shadow{v: c}
	}
	switch t.Kind() {
	case reflect.Struct:
		s := shadow{elems: make([]shadow, t.NumField())}
		for i := range t.NumField() {
			if !live(t.Field(i).Type) {
				s.elems[i] = m.save(v.Field(i))
			}
		}
		return s
	case reflect.Array:
		s := shadow{elems: make([]shadow, v.Len())}
		for i := range v.Len() {
			s.elems[i] = m.save(v.Index(i))
		}
		return s
	case reflect.Slice:
		s := shadow{v: reflect.New(t).Elem()}
		s.v.Set(v)
		if !v.IsNil() {
			s.elems = make([]shadow, v.Len())
			for i := range v.Len() {
				s.elems[i] = m.save(v.Index(i))
			}
		}
		return s
	default: // map
		s := shadow{v: reflect.New(t).Elem()}
		s.v.Set(v)
		for it := v.MapRange(); it.Next(); {
			k := it.Key()
			m.pointersIn(k)
			val := reflect.New(t.Elem()).Elem()
			val.Set(it.Value())
			s.keys = append(s.keys, k)
			s.elems = append(s.elems, m.save(val))
		}
		return s
	}
}

// pointersIn notes the pointers a flat value or map key holds.
func (m *memento) pointersIn(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		m.found(v)
	case reflect.Interface:
		if !v.IsNil() {
			m.pointersIn(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if !live(v.Type().Field(i).Type) {
				m.pointersIn(v.Field(i))
			}
		}
	case reflect.Array, reflect.Slice:
		if hasPointers(v.Type().Elem()) {
			for i := range v.Len() {
				m.pointersIn(v.Index(i))
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			m.pointersIn(it.Key())
			m.pointersIn(it.Value())
		}
	}
}

// put writes shadow s back into v (addressable), in place.
func put(v reflect.Value, s shadow) {
	v = writable(v)
	t := v.Type()
	if !deep(t) {
		v.Set(s.v)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			if !live(t.Field(i).Type) {
				put(v.Field(i), s.elems[i])
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			put(v.Index(i), s.elems[i])
		}
	case reflect.Slice:
		v.Set(s.v)
		for i := range s.elems {
			put(v.Index(i), s.elems[i])
		}
	default: // map: the same map, emptied and refilled
		v.Set(s.v)
		if v.IsNil() {
			return
		}
		v.Clear()
		for i, k := range s.keys {
			val := reflect.New(t.Elem()).Elem()
			put(val, s.elems[i])
			v.SetMapIndex(k, val)
		}
	}
}
