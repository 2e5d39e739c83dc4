package syscalls

import (
	"bytes"
	"errors"
	"sort"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// fakeProc is the process-wide side of the fake: memory, futex queues and
// what the handlers asked of the emulator.
type fakeProc struct {
	k     *Kernel
	arch  *arch.Arch
	pages map[uint64]*fakePage
	next  uint64 // hint-less mmap placement cursor
	brk   uint64
	now   int64
	// interrupted lists the tids Task.Interrupt was called for.
	interrupted []int
	// maxPages bounds the fake's memory, as emu's MaxMem does: Mmap past
	// it fails with ENOMEM.
	maxPages int

	waiters  []fakeWaiter
	wakes    []fakeWake
	notified []uint64 // keys passed to Notify
	clones   []CloneRequest
	nextTID  int
	exitCode *int
	killSig  int
	killed   map[int]int // signals that ended other processes, by pid
	execs    []ExecRequest
	execErr  error
	stdout   bytes.Buffer
	stderr   bytes.Buffer
}

type fakePage struct {
	prot Prot
	name string
	data []byte
}

type fakeWaiter struct {
	tid      int
	addr     uint64
	val      uint32
	mask     uint32
	deadline int64
}

type fakeWake struct {
	addr uint64
	mask uint32
	n    int
}

// fakeTask is one thread of a fakeProc.
type fakeTask struct {
	p        *fakeProc
	k        *Kernel // the process, if not p.k: a child sharing p's memory
	th       *Thread
	tid      int
	tls      uint64
	regs     map[arch.Reg]uint64    // registers by Unicorn number, 0 unless set
	vecs     map[arch.Reg][2]uint64 // 128-bit registers
	yields   int
	sleeps   []int64
	exited   *int
	scratchP uint64
	// Block and restart state.
	blocks              []fakeBlock
	restarted, timedOut bool
}

type fakeBlock struct {
	key      uint64
	deadline int64
}

const (
	scratchBase  = 0x100000
	scratchPages = 64
)

func newFakeProc(t testing.TB, a *arch.Arch, c Config) *fakeProc {
	p := &fakeProc{arch: a, pages: map[uint64]*fakePage{}, next: 0x7f0000000000, brk: 0x600000, nextTID: 0, maxPages: 1 << 16}
	if c.Stdout == nil {
		c.Stdout = &p.stdout
	}
	if c.Stderr == nil {
		c.Stderr = &p.stderr
	}
	p.k = NewKernel(c)
	p.nextTID = p.k.PID() + 1
	p.mapPages(scratchBase, scratchPages*a.PageSize, PROT_READ|PROT_WRITE, "")
	return p
}

// newFake returns the main thread of a new fake process with default
// config.
func newFake(t testing.TB, a *arch.Arch) *fakeTask {
	return newFakeWith(t, a, Config{ExePath: "/usr/local/bin/hello", Auxv: []byte{6, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0}})
}

func newFakeWith(t testing.TB, a *arch.Arch, c Config) *fakeTask {
	p := newFakeProc(t, a, c)
	return &fakeTask{p: p, th: NewThread(), tid: p.k.PID(), scratchP: scratchBase}
}

// thread returns another thread of the same process.
func (f *fakeTask) thread(tid int, th *Thread) *fakeTask {
	return &fakeTask{p: f.p, th: th, tid: tid, scratchP: scratchBase + scratchPages/2*f.p.arch.PageSize}
}

func (p *fakeProc) mapPages(addr, length uint64, prot Prot, name string) {
	ps := p.arch.PageSize
	for a := addr; a < addr+length; a += ps {
		p.pages[a] = &fakePage{prot: prot, name: name, data: make([]byte, ps)}
	}
}

// fits reports whether length more bytes stay within maxPages.
func (p *fakeProc) fits(length uint64) bool {
	return length/p.arch.PageSize <= uint64(p.maxPages-len(p.pages))
}

// inRange returns the mapped pages of [addr, addr+length) in order,
// without walking an empty range page by page.
func (p *fakeProc) inRange(addr, length uint64) []uint64 {
	var out []uint64
	for a := range p.pages {
		if a >= addr && a-addr < length {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (p *fakeProc) free(addr, length uint64) bool {
	return len(p.inRange(addr, length)) == 0
}

// access walks [addr, addr+len(b)) page by page.
func (p *fakeProc) access(addr uint64, n int, need Prot, fn func(pg *fakePage, off uint64, lo, hi int)) error {
	ps := p.arch.PageSize
	for done := 0; done < n; {
		a := addr + uint64(done)
		pg := p.pages[a&^(ps-1)]
		if pg == nil || pg.prot&need != need {
			return EFAULT
		}
		c := int(min(ps-a%ps, uint64(n-done)))
		if fn != nil {
			fn(pg, a%ps, done, done+c)
		}
		done += c
	}
	return nil
}

func (f *fakeTask) Arch() *arch.Arch { return f.p.arch }
func (f *fakeTask) Kernel() *Kernel {
	if f.k != nil {
		return f.k
	}
	return f.p.k
}
func (f *fakeTask) Thread() *Thread      { return f.th }
func (f *fakeTask) TID() int             { return f.tid }
func (f *fakeTask) TLS() (uint64, error) { return f.tls, nil }
func (f *fakeTask) SetTLS(tls uint64) error {
	f.tls = tls
	return nil
}

// Interrupt records which threads a signal interrupted.
func (f *fakeTask) Interrupt(tid int) error {
	f.p.interrupted = append(f.p.interrupted, tid)
	return nil
}

func (f *fakeTask) ReadRegs(regs []arch.Reg, vals []uint64) error {
	for i, r := range regs {
		vals[i] = f.regs[r]
	}
	return nil
}

func (f *fakeTask) WriteRegs(regs []arch.Reg, vals []uint64) error {
	if f.regs == nil {
		f.regs = map[arch.Reg]uint64{}
	}
	for i, r := range regs {
		f.regs[r] = vals[i]
	}
	return nil
}

func (f *fakeTask) ReadVec(r arch.Reg) (lo, hi uint64, err error) {
	v := f.vecs[r]
	return v[0], v[1], nil
}

func (f *fakeTask) WriteVec(r arch.Reg, lo, hi uint64) error {
	if f.vecs == nil {
		f.vecs = map[arch.Reg][2]uint64{}
	}
	f.vecs[r] = [2]uint64{lo, hi}
	return nil
}

func (f *fakeTask) ReadMem(addr uint64, b []byte) error {
	if err := f.p.access(addr, len(b), PROT_READ, nil); err != nil {
		return err
	}
	return f.p.access(addr, len(b), PROT_READ, func(pg *fakePage, off uint64, lo, hi int) { copy(b[lo:hi], pg.data[off:]) })
}

func (f *fakeTask) WriteMem(addr uint64, b []byte) error {
	if err := f.p.access(addr, len(b), PROT_WRITE, nil); err != nil {
		return err
	}
	return f.p.access(addr, len(b), PROT_WRITE, func(pg *fakePage, off uint64, lo, hi int) { copy(pg.data[off:], b[lo:hi]) })
}

func (f *fakeTask) FillMem(addr uint64, b []byte) error {
	if err := f.p.access(addr, len(b), 0, nil); err != nil {
		return err
	}
	return f.p.access(addr, len(b), 0, func(pg *fakePage, off uint64, lo, hi int) { copy(pg.data[off:], b[lo:hi]) })
}

func (f *fakeTask) Mmap(r MapRequest) (uint64, error) {
	p := f.p
	if !p.fits(r.Length) {
		return 0, ENOMEM
	}
	switch r.Mode {
	case MapFixed:
		p.mapPages(r.Addr, r.Length, r.Prot, r.Name)
		return r.Addr, nil
	case MapNoReplace:
		if !p.free(r.Addr, r.Length) {
			return 0, EEXIST
		}
		p.mapPages(r.Addr, r.Length, r.Prot, r.Name)
		return r.Addr, nil
	}
	if r.Addr != 0 && p.free(r.Addr, r.Length) {
		p.mapPages(r.Addr, r.Length, r.Prot, r.Name)
		return r.Addr, nil
	}
	if r.Length > p.next {
		return 0, ENOMEM
	}
	p.next -= r.Length
	p.mapPages(p.next, r.Length, r.Prot, r.Name)
	return p.next, nil
}

func (f *fakeTask) Munmap(addr, length uint64) error {
	for _, a := range f.p.inRange(addr, length) {
		delete(f.p.pages, a)
	}
	return nil
}

// allMapped returns the pages of [addr, addr+length), or ENOMEM if one is
// missing.
func (p *fakeProc) allMapped(addr, length uint64) ([]uint64, error) {
	pages := p.inRange(addr, length)
	if uint64(len(pages)) != (length+p.arch.PageSize-1)/p.arch.PageSize {
		return nil, ENOMEM
	}
	return pages, nil
}

func (f *fakeTask) Mprotect(addr, length uint64, prot Prot) error {
	pages, err := f.p.allMapped(addr, length)
	if err != nil {
		return err
	}
	for _, a := range pages {
		f.p.pages[a].prot = prot
	}
	return nil
}

func (f *fakeTask) DiscardMem(addr, length uint64) error {
	pages, err := f.p.allMapped(addr, length)
	if err != nil {
		return err
	}
	for _, a := range pages {
		clear(f.p.pages[a].data)
	}
	return nil
}

func (f *fakeTask) Brk(addr uint64) uint64 {
	if addr >= 0x600000 && addr < 0x800000 {
		f.p.brk = addr
	}
	return f.p.brk
}

func (f *fakeTask) Mappings() []Mapping {
	var addrs []uint64
	for a := range f.p.pages {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i] < addrs[j] })
	var out []Mapping
	ps := f.p.arch.PageSize
	for _, a := range addrs {
		pg := f.p.pages[a]
		if n := len(out); n > 0 && out[n-1].End == a && out[n-1].Prot == pg.prot && out[n-1].Name == pg.name {
			out[n-1].End += ps
			continue
		}
		out = append(out, Mapping{Start: a, End: a + ps, Prot: pg.prot, Name: pg.name})
	}
	return out
}

func (f *fakeTask) Clone(r CloneRequest) (int, error) {
	f.p.clones = append(f.p.clones, r)
	tid := f.p.nextTID
	f.p.nextTID++
	return tid, nil
}

func (f *fakeTask) ExitThread(code int) { f.exited = &code }
func (f *fakeTask) ExitGroup(code int)  { f.p.exitCode = &code }

// KillProcess records the signal that ends this process (killSig) or
// another one (killed).
func (f *fakeTask) KillProcess(pid, sig int) {
	if pid == f.Kernel().PID() {
		f.p.killSig = sig
		return
	}
	if f.p.killed == nil {
		f.p.killed = map[int]int{}
	}
	f.p.killed[pid] = sig
}

// Exec records the request and answers with execErr, or a one-entry
// auxv.
func (f *fakeTask) Exec(r ExecRequest) ([]byte, error) {
	if f.p.execErr != nil {
		return nil, f.p.execErr
	}
	f.p.execs = append(f.p.execs, r)
	return []byte{6, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0}, nil
}

func (f *fakeTask) FutexWait(addr uint64, val, mask uint32, deadline int64) (uint64, error) {
	var b [4]byte
	if err := f.ReadMem(addr, b[:]); err != nil {
		return 0, err
	}
	if le.Uint32(b[:]) != val {
		return 0, EAGAIN
	}
	f.p.waiters = append(f.p.waiters, fakeWaiter{f.tid, addr, val, mask, deadline})
	return 0, ErrBlocked
}

func (f *fakeTask) FutexWake(addr uint64, mask uint32, n int) int {
	f.p.wakes = append(f.p.wakes, fakeWake{addr, mask, n})
	woken := 0
	var rest []fakeWaiter
	for _, w := range f.p.waiters {
		if woken < n && w.addr == addr && w.mask&mask != 0 {
			woken++
			continue
		}
		rest = append(rest, w)
	}
	f.p.waiters = rest
	return woken
}

func (f *fakeTask) Sleep(deadline int64) (uint64, error) {
	f.sleeps = append(f.sleeps, deadline)
	return 0, ErrBlocked
}

// Block records the wait; tests drive restarts by setting restarted and
// timedOut and dispatching again.
func (f *fakeTask) Block(key uint64, deadline int64) (uint64, error) {
	f.blocks = append(f.blocks, fakeBlock{key, deadline})
	return 0, ErrBlocked
}

func (f *fakeTask) Notify(key uint64) int {
	f.p.notified = append(f.p.notified, key)
	return 0
}

func (f *fakeTask) Restarted() (restarted, timedOut bool) { return f.restarted, f.timedOut }

func (f *fakeTask) Yield()     { f.yields++ }
func (f *fakeTask) Now() int64 { return f.p.now }

// Test helpers.

// alloc returns n bytes of fresh scratch memory (8-aligned, zeroed).
func (f *fakeTask) alloc(n int) uint64 {
	a := f.scratchP
	f.scratchP += uint64(n+7) &^ 7
	if f.scratchP > scratchBase+scratchPages*f.p.arch.PageSize {
		panic("fake: scratch memory exhausted")
	}
	return a
}

// bytesAt copies b into scratch memory and returns its address.
func (f *fakeTask) bytesAt(b []byte) uint64 {
	a := f.alloc(len(b))
	if err := f.WriteMem(a, b); err != nil {
		panic(err)
	}
	return a
}

// cstr puts a NUL-terminated string in scratch memory.
func (f *fakeTask) cstr(s string) uint64 { return f.bytesAt(append([]byte(s), 0)) }

func (f *fakeTask) u64s(vs ...uint64) uint64 {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		le.PutUint64(b[8*i:], v)
	}
	return f.bytesAt(b)
}

func (f *fakeTask) mem(t testing.TB, addr uint64, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if err := f.ReadMem(addr, b); err != nil {
		t.Fatalf("read %#x: %v", addr, err)
	}
	return b
}

func (f *fakeTask) u64At(t testing.TB, addr uint64) uint64 { return le.Uint64(f.mem(t, addr, 8)) }
func (f *fakeTask) u32At(t testing.TB, addr uint64) uint32 { return le.Uint32(f.mem(t, addr, 4)) }

// unmapped is an address no test maps.
const unmapped = 0xdead0000

// sys dispatches the syscall called name and fails the test on an
// emulator error.
func (f *fakeTask) sys(t testing.TB, name string, args ...uint64) Call {
	t.Helper()
	c, err := f.sysErr(t, name, args...)
	if err != nil {
		t.Fatalf("%s: unexpected emulator error: %v", name, err)
	}
	return c
}

func (f *fakeTask) sysErr(t testing.TB, name string, args ...uint64) (Call, error) {
	t.Helper()
	nr, ok := Number(f.p.arch, name)
	if !ok {
		t.Fatalf("%s: no such syscall on %s", name, f.p.arch.Name)
	}
	var a Args
	copy(a[:], args)
	return f.Kernel().Dispatch(f, nr, a)
}

// ok dispatches and requires success, returning the result.
func (f *fakeTask) ok(t testing.TB, name string, args ...uint64) uint64 {
	t.Helper()
	c := f.sys(t, name, args...)
	if c.Errno != 0 || c.Blocked {
		t.Fatalf("%s%v = %v (blocked %v), want success", name, args, c.Errno, c.Blocked)
	}
	return c.Ret
}

// fails dispatches and requires the errno want, with Ret == -want.
func (f *fakeTask) fails(t testing.TB, want Errno, name string, args ...uint64) {
	t.Helper()
	c := f.sys(t, name, args...)
	if c.Errno != want {
		t.Fatalf("%s%#x: errno %v (ret %#x), want %v", name, args, c.Errno, c.Ret, want)
	}
	if c.Ret != uint64(-int64(want)) {
		t.Fatalf("%s: ret %#x, want -%d", name, c.Ret, want)
	}
}

// gap dispatches and requires an emulator gap error.
func (f *fakeTask) gap(t testing.TB, name string, args ...uint64) {
	t.Helper()
	_, err := f.sysErr(t, name, args...)
	var g *GapError
	if !errors.As(err, &g) {
		t.Fatalf("%s: err %v, want a *GapError", name, err)
	}
}

// forArches runs fn once per guest arch.
func forArches(t *testing.T, fn func(t *testing.T, a *arch.Arch)) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) { fn(t, a) })
	}
}

// neg returns -v as a register holds it.
func neg(v int64) uint64 { return uint64(-v) }
