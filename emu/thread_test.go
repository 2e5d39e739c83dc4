package emu

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/loader/loadertest"
	"github.com/gorunemu/gorunemu/syscalls"
)

func TestMain(m *testing.M) {
	code := m.Run()
	loadertest.Cleanup()
	os.Exit(code)
}

// world is a loaded, not yet started process with a word of scratch
// memory, and the task of its main thread.
type world struct {
	p    *Process
	main *task
	word uint64
}

func newWorld(t *testing.T, a *arch.Arch, cfg Config) *world {
	t.Helper()
	p, err := Open(loadertest.Build(t, "hello", a.Name), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	require.NoError(t, p.switchTo(p.MainThread()))
	addr, err := p.mem.mmap(syscalls.MapRequest{Length: page, Prot: rw})
	require.NoError(t, err)
	return &world{p: p, main: &task{p: p, t: p.MainThread()}, word: addr}
}

func (w *world) setWord(t *testing.T, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	require.NoError(t, w.p.mem.write(w.word, b[:], false))
}

// spawn clones n threads from the main one.
func (w *world) spawn(t *testing.T, n int) []*task {
	var out []*task
	for i := 0; i < n; i++ {
		tid, err := w.main.Clone(syscalls.CloneRequest{Stack: 0x1000 * uint64(i+1)})
		require.NoError(t, err)
		out = append(out, &task{p: w.p, t: w.p.Thread(tid)})
	}
	return out
}

func TestFutexWaitAndWake(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			w := newWorld(t, a, Config{})
			w.setWord(t, 7)
			ts := w.spawn(t, 4)

			_, err := ts[0].FutexWait(w.word, 8, ^uint32(0), syscalls.NoDeadline)
			assert.ErrorIs(t, err, syscalls.EAGAIN, "the word changed")
			assert.Equal(t, Runnable, ts[0].t.State())
			hole, ok := w.p.mem.place(0, page) // free, not mapped
			require.True(t, ok)
			_, err = ts[0].FutexWait(hole, 0, ^uint32(0), syscalls.NoDeadline)
			assert.ErrorIs(t, err, syscalls.EFAULT)

			masks := []uint32{1, 2, 1, 3}
			for i, k := range ts {
				_, err := k.FutexWait(w.word, 7, masks[i], syscalls.NoDeadline)
				require.ErrorIs(t, err, syscalls.ErrBlocked)
				assert.Equal(t, Blocked, k.t.State())
			}
			// Mask 2 wakes the first waiter whose mask has bit 1.
			assert.Equal(t, 1, w.main.FutexWake(w.word, 2, 1))
			assert.Equal(t, []ThreadState{Blocked, Runnable, Blocked, Blocked}, states(ts))
			assert.True(t, ts[1].t.hasResult)
			assert.Zero(t, ts[1].t.result)
			// Waking two with mask 1 takes them in the order they waited.
			assert.Equal(t, 2, w.main.FutexWake(w.word, 1, 2))
			assert.Equal(t, []ThreadState{Runnable, Runnable, Runnable, Blocked}, states(ts))
			assert.Equal(t, 0, w.main.FutexWake(w.word+4, ^uint32(0), 10), "another word")
			assert.Equal(t, 1, w.main.FutexWake(w.word, ^uint32(0), 10))
			assert.Empty(t, w.p.futexes)
		})
	}
}

func states(ts []*task) []ThreadState {
	var s []ThreadState
	for _, k := range ts {
		s = append(s, k.t.State())
	}
	return s
}

func TestTimeoutsAndDeadlock(t *testing.T) {
	w := newWorld(t, arch.AMD64, Config{})
	w.setWord(t, 1)
	ts := w.spawn(t, 2)
	now := w.p.fam.now()

	_, err := ts[0].FutexWait(w.word, 1, ^uint32(0), now-1)
	assert.ErrorIs(t, err, syscalls.ETIMEDOUT, "a deadline in the past fails at once")
	_, err = ts[0].FutexWait(w.word, 1, ^uint32(0), now+5000)
	require.ErrorIs(t, err, syscalls.ErrBlocked)
	_, err = ts[1].Sleep(now + 2000)
	require.ErrorIs(t, err, syscalls.ErrBlocked)
	_, err = w.main.FutexWait(w.word, 1, ^uint32(0), syscalls.NoDeadline)
	require.ErrorIs(t, err, syscalls.ErrBlocked)

	// Everyone waits: the clock jumps to the sleeper's deadline first.
	next := w.p.fam.next(false)
	assert.Same(t, ts[1].t, next)
	assert.Equal(t, now+2000, w.p.fam.now())
	assert.Zero(t, ts[1].t.result, "a sleep returns 0")
	ts[1].t.state = Exited
	next = w.p.fam.next(false)
	assert.Same(t, ts[0].t, next)
	assert.Equal(t, now+5000, w.p.fam.now())
	assert.Equal(t, errnoResult(syscalls.ETIMEDOUT), ts[0].t.result)
	assert.Equal(t, int64(-110), int64(ts[0].t.result), "-ETIMEDOUT")
	ts[0].t.state = Exited
	assert.Nil(t, w.p.fam.next(false), "the main thread waits forever: deadlock")
}

func TestClone(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			w := newWorld(t, a, Config{MaxThreads: 3})
			w.main.t.pc = 0x1234
			require.NoError(t, w.p.eng.RegWrite(int(a.SyscallRet), 99))
			ks := syscalls.NewThread()
			tid, err := w.main.Clone(syscalls.CloneRequest{Stack: 0xc000100000, SetTLS: true, TLS: 0xc000200008, Thread: ks})
			require.NoError(t, err)
			assert.Equal(t, pid+1, tid)
			child := w.p.Thread(tid)
			require.NotNil(t, child)
			assert.Same(t, ks, child.kstate)
			assert.Equal(t, uint64(0x1234), child.PC(), "the child resumes after the syscall")
			v := make([]uint64, 3)
			require.NoError(t, child.Regs([]arch.Reg{a.SyscallRet, a.SP, a.TLS}, v))
			assert.Equal(t, []uint64{0, 0xc000100000, 0xc000200008}, v)
			ret, err := w.p.MainThread().Reg(a.SyscallRet)
			require.NoError(t, err)
			assert.Equal(t, uint64(99), ret, "the parent's registers are its own")

			// Without SETTLS the child keeps the parent's thread pointer.
			require.NoError(t, w.main.SetTLS(0x5000))
			tid, err = w.main.Clone(syscalls.CloneRequest{})
			require.NoError(t, err)
			tls, err := w.p.Thread(tid).Reg(a.TLS)
			require.NoError(t, err)
			assert.Equal(t, uint64(0x5000), tls)

			// A fourth thread passes MaxThreads.
			_, err = w.main.Clone(syscalls.CloneRequest{})
			assert.ErrorIs(t, err, syscalls.EAGAIN)
			require.NotNil(t, w.p.limitHit)
			assert.Equal(t, StopThreadLimit, w.p.limitHit.Kind)
		})
	}
}

func TestExits(t *testing.T) {
	w := newWorld(t, arch.ARM64, Config{})
	ts := w.spawn(t, 1)
	assert.Equal(t, 2, w.p.live())
	ts[0].ExitThread(5)
	assert.Equal(t, Exited, ts[0].t.State())
	assert.Nil(t, ts[0].t.ctx, "an exited thread's CPU context is freed at once")
	assert.Equal(t, 1, w.p.live())
	assert.Same(t, ts[0].t, w.p.Thread(ts[0].t.TID), "exited threads are still listed")
	assert.Same(t, w.main.t, w.p.Thread(w.main.t.TID))
	assert.Nil(t, w.p.Thread(w.main.t.TID-1))
	assert.Nil(t, w.p.Thread(ts[0].t.TID+1))
	_, err := ts[0].t.Reg(arch.ARM64.PC)
	assert.Error(t, err)
	assert.Nil(t, w.p.exited, "the process lives while a thread does")
	w.main.ExitThread(6)
	require.NotNil(t, w.p.exited)
	assert.Equal(t, StopExited, w.p.exited.Kind)
	assert.Equal(t, 6, w.p.exited.Code, "the last thread's code")
}

func TestBlockOnObjectRestarts(t *testing.T) {
	w := newWorld(t, arch.AMD64, Config{})
	ts := w.spawn(t, 2)
	now := w.p.fam.now()
	_, err := ts[0].Block(0, syscalls.NoDeadline)
	assert.Error(t, err, "key 0 is not an object")
	_, err = ts[0].Block(42, syscalls.NoDeadline)
	require.ErrorIs(t, err, syscalls.ErrBlocked)
	_, err = ts[1].Block(43, now+100)
	require.ErrorIs(t, err, syscalls.ErrBlocked)

	assert.Equal(t, 0, w.main.Notify(44))
	assert.Equal(t, 1, w.main.Notify(42))
	assert.Equal(t, Runnable, ts[0].t.State())
	assert.True(t, ts[0].t.restart, "woken: redo the syscall")
	assert.False(t, ts[0].t.timedOut)
	assert.False(t, ts[0].t.hasResult, "no result: the restarted call makes it")

	_, err = w.main.FutexWait(w.word, 0, ^uint32(0), syscalls.NoDeadline)
	require.ErrorIs(t, err, syscalls.ErrBlocked)
	ts[0].t.state = Exited
	assert.Same(t, ts[1].t, w.p.fam.next(false))
	assert.True(t, ts[1].t.restart)
	assert.True(t, ts[1].t.timedOut, "the deadline passed")
	assert.Empty(t, w.p.fam.objects)
}

// TestThreadChurn runs a program that starts and ends hundreds of OS
// threads: each exited thread gives its CPU context back at once and
// leaves the scheduler's list, so memory and scheduling cost follow the
// live threads, not every thread the process ever had.
func TestThreadChurn(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			p, err := Open(loadertest.Build(t, "churn", a.Name), Config{Argv: []string{"./churn", "500"}, Stdout: &out})
			require.NoError(t, err)
			defer p.Close()
			r, err := p.Run(context.Background(), UntilExit())
			require.NoError(t, err)
			require.Equal(t, StopExited, r.Kind, "stop: %s", r)
			assert.Equal(t, "threads ended: 500\n", out.String())
			assert.GreaterOrEqual(t, p.Stats().Threads, 500)
			assert.LessOrEqual(t, p.live(), 8)
			exited := 0
			for _, th := range p.Threads() {
				if th.State() == Exited {
					exited++
					assert.Nil(t, th.ctx, "thread %d", th.TID)
				}
			}
			assert.GreaterOrEqual(t, exited, 490, "nearly all ended before main returned")
			assert.Len(t, p.active, p.live())
		})
	}
}
