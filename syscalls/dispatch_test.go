package syscalls

import (
	"errors"
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

func TestDispatchUnknown(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		nr := mustNumber(t, a, "io_uring_setup")
		for _, n := range []int{nr, 9999} {
			c, err := f.p.k.Dispatch(f, n, Args{1, 2})
			if err != nil {
				t.Fatal(err)
			}
			if !c.Unimplemented || c.Errno != ENOSYS || c.Ret != neg(38) || c.Nr != n || c.Args[1] != 2 {
				t.Errorf("nr %d: %+v, want unimplemented -ENOSYS", n, c)
			}
		}
		c, err := f.p.k.Dispatch(f, nr, Args{})
		if err != nil || c.Name != "io_uring_setup" || !strings.Contains(c.Note, "not implemented") {
			t.Errorf("name %q note %q", c.Name, c.Note)
		}
	})
}

func TestDispatchErrnoAndResult(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		c := f.sys(t, "close", 77)
		if c.Errno != EBADF || c.Ret != neg(9) || c.Blocked || c.Unimplemented {
			t.Errorf("close(77): %+v", c)
		}
		c = f.sys(t, "getpid")
		if c.Errno != 0 || c.Ret != DefaultPID || c.Name != "getpid" {
			t.Errorf("getpid: %+v", c)
		}
		// A Stub entry returns its value and carries its note.
		c = f.sys(t, "sync")
		if c.Errno != 0 || c.Ret != 0 || !strings.Contains(c.Note, "nothing to flush") {
			t.Errorf("sync: %+v", c)
		}
		if e, _ := Lookup(a, c.Nr); e.Support != Stubbed || e.Support.String() != "stub" {
			t.Errorf("sync entry %+v", e)
		}
		// A Fail entry carries its note.
		c = f.sys(t, "clone3", 0, 88)
		if c.Errno != ENOSYS || c.Unimplemented || !strings.Contains(c.Note, "callers fall back to clone") {
			t.Errorf("clone3: %+v", c)
		}
	})
}

func TestDispatchGapAndPanic(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		// An emulator gap comes back as an error naming the syscall.
		_, err := f.sysErr(t, "mmap", 0, 4096, uint64(PROT_READ), uint64(MAP_PRIVATE|MAP_ANONYMOUS|MAP_GROWSDOWN), ^uint64(0), 0)
		var g *GapError
		if !errors.As(err, &g) || !strings.HasPrefix(err.Error(), "syscalls: mmap: ") {
			t.Errorf("mmap(MAP_GROWSDOWN): %v", err)
		}
		// rt_sigreturn with no frame to read kills the process with
		// SIGSEGV, as Linux does.
		f.ok(t, "rt_sigreturn")
		if f.p.killSig != SIGSEGV {
			t.Errorf("rt_sigreturn without a frame: killed by %d, want SIGSEGV", f.p.killSig)
		}
		// A panic is recovered.
		k := f.p.k
		c, err := k.Dispatch(panicTask{f}, mustNumber(t, a, "gettid"), Args{})
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Syscall != "gettid" || !strings.Contains(err.Error(), "boom") || len(pe.Stack) == 0 {
			t.Errorf("panic: %v %+v", err, c)
		}
		if k.cur != nil {
			t.Error("current call left set after a panic")
		}
		// The next call works.
		if got := f.ok(t, "gettid"); got != uint64(f.tid) {
			t.Errorf("gettid = %d", got)
		}
		// A task of another kernel is refused.
		other := newFake(t, a)
		if _, err := k.Dispatch(other, mustNumber(t, a, "gettid"), Args{}); err == nil {
			t.Error("dispatching another kernel's task should fail")
		}
		// A negative number is unimplemented, not an emulator error.
		if _, err := k.Dispatch(f, -5, Args{}); err != nil {
			t.Errorf("unknown negative number: %v", err)
		}
	})
	f := newFake(t, arch.AMD64)
	if _, err := f.p.k.Dispatch(&fakeArchTask{f, &arch.Arch{Name: "mips"}}, 0, Args{}); err == nil {
		t.Error("an arch without a table should be an error")
	}
}

func mustNumber(t testing.TB, a *arch.Arch, name string) int {
	t.Helper()
	nr, ok := Number(a, name)
	if !ok {
		t.Fatalf("no %s on %s", name, a.Name)
	}
	return nr
}

// panicTask panics in TID, which gettid calls.
type panicTask struct{ *fakeTask }

func (p panicTask) TID() int {
	if p.fakeTask.p.k.cur != nil {
		panic("boom")
	}
	return p.fakeTask.TID()
}

type fakeArchTask struct {
	*fakeTask
	a *arch.Arch
}

func (f *fakeArchTask) Arch() *arch.Arch { return f.a }

func TestDispatchBlockedAndNotes(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		f.p.now = 1000
		ts := f.u64s(0, 500)
		c := f.sys(t, "nanosleep", ts, 0)
		if !c.Blocked || c.Errno != 0 || c.Ret != 0 {
			t.Errorf("nanosleep: %+v", c)
		}
		// Notes from a handler reach the Call; several are joined.
		k := f.p.k
		k.cur = &Call{}
		k.notef("one")
		k.notef("two %d", 2)
		if k.cur.Note != "one; two 2" {
			t.Errorf("note %q", k.cur.Note)
		}
		k.cur = nil
		k.notef("dropped") // outside a call: no effect, no panic
	})
}

// TestKernelsAreIndependent runs many emulations at once: under -race it
// catches any package-level mutable state, and the results show that
// kernels share nothing.
func TestKernelsAreIndependent(t *testing.T) {
	const n = 8
	type result struct {
		random  []byte
		fd      uint64
		handler uint64
	}
	results := make([]result, n)
	done := make(chan int, n)
	for i := range n {
		go func() {
			defer func() { done <- i }()
			a := arch.All()[i%2]
			f := newFakeWith(t, a, Config{Seed: uint64(i % 2)})
			// t.Fatal must not be called off the test goroutine: report
			// with t.Errorf and go on.
			call := func(name string, args ...uint64) Call {
				c, err := f.sysErr(t, name, args...)
				if err != nil || c.Errno != 0 {
					t.Errorf("%s: %v %v", name, err, c.Errno)
				}
				return c
			}
			buf := f.alloc(32)
			for range 50 {
				fd := call("openat", atFdcwd, f.cstr("/proc/self/status"), O_RDONLY)
				call("read", fd.Ret, buf, 32)
				call("close", fd.Ret)
			}
			call("rt_sigaction", SIGUSR1, f.sigact(uint64(0x1000+i), 0, 0, 0), 0, 8)
			call("getrandom", buf, 16, 0)
			fd := call("openat", atFdcwd, f.cstr("/dev/null"), O_RDONLY)
			h, _ := f.p.k.SigAction(SIGUSR1)
			random := make([]byte, 16)
			if err := f.ReadMem(buf, random); err != nil {
				t.Errorf("read back: %v", err)
			}
			results[i] = result{random, fd.Ret, h}
		}()
	}
	for range n {
		<-done
	}
	for i, r := range results {
		if r.fd != 3 || r.handler != uint64(0x1000+i) {
			t.Errorf("kernel %d: fd %d handler %#x: state leaked between kernels", i, r.fd, r.handler)
		}
		if j := i % 2; string(r.random) != string(results[j].random) {
			t.Errorf("kernel %d: random bytes differ from kernel %d with the same seed", i, j)
		}
	}
	if string(results[0].random) == string(results[1].random) {
		t.Error("different seeds gave the same bytes")
	}
}
