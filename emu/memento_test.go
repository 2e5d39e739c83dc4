package emu

import (
	"bytes"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	assert.False(t, a.mu.TryLock(), "the lock is left as it is")
	assert.Equal(t, "ab", a.peek(), "the closure sees the objects as they were")

	a.name = "again"
	m.restore()
	assert.Equal(t, "a", a.name, "a memento restores more than once")
}
