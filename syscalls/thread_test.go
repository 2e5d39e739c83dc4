package syscalls

import (
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// cloneArgs puts tls and child_tid where the arch wants them.
func cloneArgs(a *arch.Arch, flags, stack, ptid, ctid, tls uint64) []uint64 {
	if a.Name == "arm64" {
		return []uint64{flags, stack, ptid, tls, ctid}
	}
	return []uint64{flags, stack, ptid, ctid, tls}
}

func TestCloneThread(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		f.th.sigmask = sigBit(SIGURG)
		f.th.altstack = stackT{sp: 0x1000, size: 1 << 16}
		f.ok(t, "prctl", PR_SET_NAME, f.cstr("worker"))
		ptid, ctid := f.alloc(4), f.alloc(4)
		flags := uint64(threadFlags | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)
		tid := f.ok(t, "clone", cloneArgs(a, flags, 0xc000080000, ptid, ctid, 0xabc000)...)
		if tid != DefaultPID+1 {
			t.Errorf("tid %d", tid)
		}
		if len(f.p.clones) != 1 {
			t.Fatalf("%d clones", len(f.p.clones))
		}
		r := f.p.clones[0]
		if r.Stack != 0xc000080000 || !r.SetTLS || r.TLS != 0xabc000 {
			t.Errorf("request %+v", r)
		}
		th := r.Thread
		if th.SigMask() != sigBit(SIGURG) || th.ClearChildTID() != ctid {
			t.Errorf("child mask %#x cleartid %#x, want %#x %#x", th.SigMask(), th.ClearChildTID(), sigBit(SIGURG), ctid)
		}
		if _, size := th.AltStack(); size != 0 {
			t.Error("child must start without an alternate stack")
		}
		if f.u32At(t, ptid) != uint32(tid) || f.u32At(t, ctid) != uint32(tid) {
			t.Errorf("tids written %d %d", f.u32At(t, ptid), f.u32At(t, ctid))
		}
		child := f.thread(int(tid), th)
		name := child.alloc(16)
		child.ok(t, "prctl", PR_GET_NAME, name)
		if got := strings.TrimRight(string(child.mem(t, name, 16)), "\x00"); got != "worker" {
			t.Errorf("child name %q", got)
		}
		// The child is a live thread: tgkill reaches it.
		f.ok(t, "tgkill", DefaultPID, tid, 0)

		// Go's flags: amd64 0xd0f00, arm64 0x50f00 (no SETTLS).
		goFlags := map[string]uint64{"amd64": 0xd0f00, "arm64": 0x50f00}[a.Name]
		g := newFake(t, a)
		g.ok(t, "clone", cloneArgs(a, goFlags, 0xc000090000, 0, 0, 0x5000)...)
		if r := g.p.clones[0]; r.SetTLS != (a.Name == "amd64") || (r.SetTLS && r.TLS != 0x5000) || r.Stack != 0xc000090000 {
			t.Errorf("Go clone request %+v", r)
		}
		if g.p.clones[0].Thread.ClearChildTID() != 0 {
			t.Error("no CLONE_CHILD_CLEARTID: nothing to clear")
		}
	})
}

func TestCloneArgOrder(t *testing.T) {
	// The raw registers: amd64 is (flags, stack, ptid, ctid, tls), arm64
	// (flags, stack, ptid, tls, ctid).
	flags := uint64(threadFlags | CLONE_SETTLS | CLONE_CHILD_SETTID)
	for _, c := range []struct {
		a          *arch.Arch
		arg3, arg4 string
	}{{arch.AMD64, "ctid", "tls"}, {arch.ARM64, "tls", "ctid"}} {
		f := newFake(t, c.a)
		p3, p4 := f.alloc(8), f.alloc(8)
		f.ok(t, "clone", flags, 0, 0, p3, p4)
		tlsWant, ctid := p4, p3
		if c.arg3 == "tls" {
			tlsWant, ctid = p3, p4
		}
		if f.p.clones[0].TLS != tlsWant || f.u32At(t, ctid) != DefaultPID+1 {
			t.Errorf("%s: tls %#x want %#x; tid at ctid %d", c.a.Name, f.p.clones[0].TLS, tlsWant, f.u32At(t, ctid))
		}
	}
}

func TestCloneErrors(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		for _, fl := range []uint64{
			CLONE_THREAD | CLONE_VM,      // THREAD without SIGHAND
			CLONE_SIGHAND | CLONE_THREAD, // SIGHAND without VM
			threadFlags | CLONE_NEWNS,    // NEWNS with FS
			threadFlags | CLONE_PIDFD,    // PIDFD with THREAD
		} {
			f.fails(t, EINVAL, "clone", cloneArgs(a, fl, 0, 0, 0, 0)...)
		}
		// A process sharing the descriptor table is not emulated.
		c := f.sys(t, "clone", cloneArgs(a, CLONE_VM|CLONE_FILES|SIGCHLD, 0, 0, 0, 0)...)
		if c.Errno != ENOSYS || !strings.Contains(c.Note, "CLONE_FILES") {
			t.Errorf("clone sharing files: %+v", c)
		}
		c = f.sys(t, "clone", cloneArgs(a, threadFlags|CLONE_NEWUTS, 0, 0, 0, 0)...)
		if c.Errno != ENOSYS || !strings.Contains(c.Note, "CLONE_NEWUTS") {
			t.Errorf("namespaced thread: %+v", c)
		}
		if len(f.p.clones) != 0 {
			t.Error("a failed clone reached the emulator")
		}
		f.fails(t, ENOSYS, "clone3", 0, 88)
		// A bad parent_tid is ignored, as Linux ignores it.
		c = f.sys(t, "clone", cloneArgs(a, threadFlags|CLONE_PARENT_SETTID, 0, unmapped, 0, 0)...)
		if c.Errno != 0 || !strings.Contains(c.Note, "CLONE_PARENT_SETTID") {
			t.Errorf("bad parent_tid: %+v", c)
		}
	})
}

func TestExit(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		word := f.u64s(4243)
		child := f.thread(4243, &Thread{clearChildTID: word})
		// The main thread waits for the child's exit on its tid word.
		f.ok(t, "gettid")
		c := f.sys(t, "futex", word, FUTEX_WAIT, 4243, 0)
		if !c.Blocked {
			t.Fatalf("wait: %+v", c)
		}
		child.ok(t, "gettid")
		child.ok(t, "exit", 0x107)
		if child.exited == nil || *child.exited != 7 {
			t.Errorf("exit code %v, want 7", child.exited)
		}
		if f.u32At(t, word) != 0 {
			t.Error("clear_child_tid not cleared")
		}
		if len(f.p.wakes) != 1 || f.p.wakes[0] != (fakeWake{word, FUTEX_BITSET_MATCH_ANY, 1}) || len(f.p.waiters) != 0 {
			t.Errorf("wakes %+v waiters %+v", f.p.wakes, f.p.waiters)
		}
		if _, ok := f.p.k.thread(4243); ok {
			t.Error("exited thread still live")
		}
		f.fails(t, ESRCH, "tgkill", DefaultPID, 4243, 0)

		g := newFake(t, a)
		g.ok(t, "exit_group", neg(1))
		if g.p.exitCode == nil || *g.p.exitCode != 255 {
			t.Errorf("exit_group(-1) status %v, want 255", g.p.exitCode)
		}
		h := newFake(t, a)
		h.th.clearChildTID = unmapped
		c = h.sys(t, "exit", 0)
		if !strings.Contains(c.Note, "not writable") || len(h.p.wakes) != 0 {
			t.Errorf("unwritable clear_child_tid: %+v %+v", c, h.p.wakes)
		}
	})
}

func TestTidAddressAndRobustList(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		if got := f.ok(t, "set_tid_address", 0x1234); got != DefaultPID || f.th.ClearChildTID() != 0x1234 {
			t.Errorf("set_tid_address = %d, %#x", got, f.th.ClearChildTID())
		}
		f.fails(t, EINVAL, "set_robust_list", 0x5000, 16)
		f.ok(t, "set_robust_list", 0x5000, 24)
		head, ln := f.alloc(8), f.alloc(8)
		f.ok(t, "get_robust_list", 0, head, ln)
		if f.u64At(t, head) != 0x5000 || f.u64At(t, ln) != 24 {
			t.Errorf("robust list %#x %d", f.u64At(t, head), f.u64At(t, ln))
		}
		f.fails(t, ESRCH, "get_robust_list", 777, head, ln)
		f.fails(t, EFAULT, "get_robust_list", 0, unmapped, ln)
	})
}

func TestFutex(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		f.p.now = 5e9
		word := f.u64s(7)
		priv := uint64(FUTEX_PRIVATE_FLAG)
		base := DefaultRealtimeBase

		// Value mismatch, alignment, bad memory, bad timespec, bitset 0.
		f.fails(t, EAGAIN, "futex", word, FUTEX_WAIT|priv, 8, 0)
		f.fails(t, EINVAL, "futex", word+1, FUTEX_WAIT|priv, 7, 0)
		f.fails(t, EFAULT, "futex", unmapped, FUTEX_WAIT|priv, 7, 0)
		f.fails(t, EINVAL, "futex", word, FUTEX_WAIT|priv, 7, f.u64s(0, 1e9))
		f.fails(t, EINVAL, "futex", word, FUTEX_WAIT|priv, 7, f.u64s(neg(1), 0))
		f.fails(t, EFAULT, "futex", word, FUTEX_WAIT|priv, 7, unmapped)
		f.fails(t, EINVAL, "futex", word, FUTEX_WAIT_BITSET|priv, 7, 0, 0, 0)
		f.fails(t, EINVAL, "futex", word, FUTEX_WAKE_BITSET|priv, 1, 0, 0, 0)
		f.fails(t, EINVAL, "futex", word+2, FUTEX_WAKE|priv, 1)
		f.fails(t, ENOSYS, "futex", word, FUTEX_WAKE|FUTEX_CLOCK_REALTIME, 1)
		c := f.sys(t, "futex", word, FUTEX_CMP_REQUEUE|priv, 1, 1, word+4, 7)
		if c.Errno != ENOSYS || c.Note != "FUTEX_CMP_REQUEUE is not emulated" {
			t.Errorf("requeue: %+v", c)
		}
		f.fails(t, ENOSYS, "futex", word, 99, 0)
		if len(f.p.waiters) != 0 {
			t.Fatal("a failed wait queued a waiter")
		}

		// Deadlines: relative, absolute monotonic, absolute realtime.
		cases := []struct {
			op       uint64
			ts       []uint64
			bitset   uint64
			deadline int64
			mask     uint32
		}{
			{FUTEX_WAIT | priv, nil, 0, NoDeadline, FUTEX_BITSET_MATCH_ANY},
			{FUTEX_WAIT | priv, []uint64{1, 500}, 0, 6e9 + 500, FUTEX_BITSET_MATCH_ANY},
			{FUTEX_WAIT | priv | FUTEX_CLOCK_REALTIME, []uint64{2, 0}, 0, 7e9, FUTEX_BITSET_MATCH_ANY},
			{FUTEX_WAIT_BITSET | priv, []uint64{9, 0}, 0x3, 9e9, 0x3},
			{FUTEX_WAIT_BITSET | priv | FUTEX_CLOCK_REALTIME, []uint64{uint64(base/1e9) + 10, 5}, FUTEX_BITSET_MATCH_ANY, 10e9 + 5, FUTEX_BITSET_MATCH_ANY},
		}
		for i, c := range cases {
			var ts uint64
			if c.ts != nil {
				ts = f.u64s(c.ts...)
			}
			call := f.sys(t, "futex", word, c.op, 7, ts, 0, c.bitset)
			if !call.Blocked {
				t.Fatalf("case %d: %+v", i, call)
			}
			w := f.p.waiters[len(f.p.waiters)-1]
			if w.deadline != c.deadline || w.mask != c.mask || w.addr != word || w.val != 7 {
				t.Errorf("case %d: waiter %+v, want deadline %d mask %#x", i, w, c.deadline, c.mask)
			}
		}
		// A deadline already past times out without blocking.
		f.fails(t, ETIMEDOUT, "futex", word, FUTEX_WAIT_BITSET|priv, 7, f.u64s(4, 0), 0, FUTEX_BITSET_MATCH_ANY)
		f.fails(t, ETIMEDOUT, "futex", word, FUTEX_WAIT|priv, 7, f.u64s(0, 0))

		// Wakes: counts and bitsets. Five waiters now: masks ANY, ANY, ANY, 0x3, ANY.
		if got := f.ok(t, "futex", word, FUTEX_WAKE_BITSET|priv, 10, 0, 0, 0x4); got != 4 {
			t.Errorf("wake bitset 0x4 woke %d, want 4 (not the 0x3 waiter)", got)
		}
		if got := f.ok(t, "futex", word, FUTEX_WAKE|priv, 0); got != 1 {
			t.Errorf("wake 0 woke %d, want 1 (Linux wakes one)", got)
		}
		if got := f.ok(t, "futex", word, FUTEX_WAKE|priv, 5); got != 0 {
			t.Errorf("wake on empty queue woke %d", got)
		}
		if w := f.p.wakes[0]; w.mask != 0x4 || w.n != 10 {
			t.Errorf("wake request %+v", w)
		}
		// Shared (non-private) wakes need the word mapped; private ones don't.
		f.fails(t, EFAULT, "futex", unmapped, FUTEX_WAKE, 1)
		f.ok(t, "futex", unmapped, FUTEX_WAKE|priv, 1)
	})
}

func TestSchedAndIDs(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFakeWith(t, a, Config{NCPU: 3})
		mask := f.alloc(8192)
		if got := f.ok(t, "sched_getaffinity", 0, 8192, mask); got != 8 {
			t.Errorf("sched_getaffinity returned %d, want 8", got)
		}
		if got := f.mem(t, mask, 2); got[0] != 0x7 || got[1] != 0 {
			t.Errorf("mask %v", got)
		}
		f.fails(t, EINVAL, "sched_getaffinity", 0, 12, mask)
		f.fails(t, ESRCH, "sched_getaffinity", 1, 8, mask)
		f.fails(t, EFAULT, "sched_getaffinity", 0, 8, unmapped)
		f.ok(t, "gettid")
		f.ok(t, "sched_getaffinity", DefaultPID, 8, mask)

		g := newFakeWith(t, a, Config{NCPU: 130})
		m := g.alloc(64)
		if got := g.ok(t, "sched_getaffinity", 0, 64, m); got != 24 {
			t.Errorf("130 cpus: returned %d, want 24", got)
		}
		if got := g.mem(t, m, 17); got[16] != 0x3 || got[15] != 0xff {
			t.Errorf("130 cpus: mask %v", got)
		}
		g.fails(t, EINVAL, "sched_getaffinity", 0, 8, m) // 64 bits < 130 cpus

		f.ok(t, "sched_yield")
		if f.yields != 1 {
			t.Errorf("yields %d", f.yields)
		}
		if f.ok(t, "gettid") != DefaultPID || f.ok(t, "getpid") != DefaultPID || f.ok(t, "getppid") != DefaultPPID {
			t.Error("ids")
		}
		for _, n := range []string{"getuid", "geteuid", "getgid", "getegid"} {
			if f.ok(t, n) != 0 {
				t.Errorf("%s not 0", n)
			}
		}
		h := newFakeWith(t, a, Config{PID: 100, PPID: 1, UID: 1000, GID: 1001})
		if h.ok(t, "getpid") != 100 || h.ok(t, "getppid") != 1 || h.ok(t, "geteuid") != 1000 || h.ok(t, "getgid") != 1001 {
			t.Error("configured ids")
		}
	})
}

func TestMembarrier(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		if got := f.ok(t, "membarrier", MEMBARRIER_CMD_QUERY, 0); got != 0x7f {
			t.Errorf("query %#x", got)
		}
		f.fails(t, EPERM, "membarrier", MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0)
		f.ok(t, "membarrier", MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0)
		f.ok(t, "membarrier", MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0)
		f.ok(t, "membarrier", MEMBARRIER_CMD_GLOBAL, 0)
		f.fails(t, EINVAL, "membarrier", MEMBARRIER_CMD_GLOBAL, 1)
		f.fails(t, EINVAL, "membarrier", 1<<12, 0)
	})
}
