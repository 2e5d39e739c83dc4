package emu

import (
	"bytes"
	"context"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// Types of the emu package, so that a memento saves them.
type mNode struct {
	name   string
	next   *mNode            // a cycle
	kids   []*mNode          // pointers in a slice
	vals   []mVal            // values with slices in a slice
	byName map[string]*mNode // pointers in a map
	arr    [2]int
	mu     sync.Mutex    // live: left as it is
	ext    *bytes.Buffer // another package's, with pointers: shared
	rw     *mCounter     // another package's state all the same
	peek   func() string // a closure over the node
	table  sort.IntSlice // another package's value: its array is shared
}

type mVal struct{ xs []int }

type mCounter struct{ n int }

func (c *mCounter) SaveState() any        { return c.n }
func (c *mCounter) RewindState(state any) { c.n = state.(int) }

// TestMemento: a restore puts every reachable object back in place, by
// identity: pointers, slices' arrays and maps stay the ones they were,
// with the contents they had; a closure over an object sees it as it
// was; locks, other packages' objects and Rewinders are treated as
// memento.go says.
func TestMemento(t *testing.T) {
	a := &mNode{name: "a", arr: [2]int{1, 2}, ext: bytes.NewBufferString("x"), rw: &mCounter{n: 1}}
	b := &mNode{name: "b", next: a}
	a.next = b
	a.kids = []*mNode{b}
	a.vals = []mVal{{xs: []int{1, 2, 3}}}
	a.byName = map[string]*mNode{"b": b}
	a.peek = func() string { return a.name + b.name }
	a.table = sort.IntSlice{7, 8}
	kids, vals := a.kids, a.vals[0].xs

	m := saveGraph(a)

	a.name, b.name = "A", "B"
	b.next = nil
	a.kids[0] = a
	a.kids = append(a.kids, b)
	a.vals[0].xs[1] = 20
	a.vals = nil
	a.byName["a"] = a
	delete(a.byName, "b")
	a.arr[1] = 9
	a.ext.WriteString("y")
	a.rw.n = 5
	a.table[0] = 70
	a.table = a.table[:1]
	a.mu.Lock()
	require.Equal(t, "AB", a.peek())

	m.restore()
	assert.Equal(t, "a", a.name)
	assert.Equal(t, "b", b.name)
	assert.Same(t, a, b.next, "the cycle")
	require.Len(t, a.kids, 1)
	assert.Same(t, b, a.kids[0])
	assert.Same(t, &kids[0], &a.kids[0], "the slice's own array")
	require.Len(t, a.vals, 1)
	assert.Equal(t, []int{1, 2, 3}, a.vals[0].xs)
	assert.Same(t, &vals[0], &a.vals[0].xs[0])
	assert.Equal(t, map[string]*mNode{"b": b}, a.byName)
	assert.Equal(t, [2]int{1, 2}, a.arr)
	assert.Equal(t, "xy", a.ext.String(), "another package's object is shared")
	assert.Equal(t, 1, a.rw.n, "a Rewinder rewound")
	assert.Equal(t, sort.IntSlice{70, 8}, a.table, "another package's value: its bits go back, its array is shared")
	assert.False(t, a.mu.TryLock(), "the lock is left as it is")
	assert.Equal(t, "ab", a.peek(), "the closure sees the objects as they were")

	a.name = "again"
	m.restore()
	assert.Equal(t, "a", a.name, "a memento restores more than once")
}

// TestProcessesShareNoState: what a memento saves of one process (its
// objects, and the arrays of their slices) is no part of another's, of
// another program or of the same, so that restoring one never writes
// into another running beside it (the race detector once caught two
// processes sharing the probed CPUID table this way).
func TestProcessesShareNoState(t *testing.T) {
	for _, a := range []string{"amd64", "arm64"} {
		t.Run(a, func(t *testing.T) {
			var saved [][]region
			for _, name := range []string{"hello", "hello", "sleep"} {
				p, err := Open(loadertest.Build(t, name, a), Config{Argv: []string{name}})
				require.NoError(t, err)
				t.Cleanup(func() { p.Close() })
				_, err = p.Run(context.Background(), UntilSymbol("main.main"))
				require.NoError(t, err)
				saved = append(saved, saveGraph(p).regions())
				require.NotEmpty(t, saved[len(saved)-1])
			}
			for i := range saved {
				for j := range i {
					for _, x := range saved[i] {
						for _, y := range saved[j] {
							assert.False(t, x.lo < y.hi && y.lo < x.hi, "%s of process %d overlaps %s of process %d", x.what, i, y.what, j)
						}
					}
				}
			}
		})
	}
}

// A region is memory a memento writes on restore.
type region struct {
	lo, hi uintptr
	what   string
}

// regions lists the memory m's restore writes: its objects and the
// arrays of the slices they hold.
func (m *memento) regions() []region {
	var out []region
	var walk func(t reflect.Type, s shadow, what string)
	walk = func(t reflect.Type, s shadow, what string) {
		if !deep(t) {
			return
		}
		switch t.Kind() {
		case reflect.Struct:
			for i := range t.NumField() {
				if !live(t.Field(i).Type) {
					walk(t.Field(i).Type, s.elems[i], what+"."+t.Field(i).Name)
				}
			}
		case reflect.Array, reflect.Map:
			for i := range s.elems {
				walk(t.Elem(), s.elems[i], what+"[]")
			}
		case reflect.Slice:
			if n := s.v.Len(); n > 0 && t.Elem().Size() > 0 {
				lo := s.v.Pointer()
				out = append(out, region{lo, lo + uintptr(n)*t.Elem().Size(), what})
			}
			for i := range s.elems {
				walk(t.Elem(), s.elems[i], what+"[]")
			}
		}
	}
	for _, o := range m.objs {
		t := o.ptr.Type().Elem()
		if lo := o.ptr.Pointer(); t.Size() > 0 {
			out = append(out, region{lo, lo + t.Size(), t.String()})
		}
		walk(t, o.val, t.String())
	}
	return out
}
