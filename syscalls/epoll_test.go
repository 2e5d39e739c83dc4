package syscalls

import (
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// epev puts a struct epoll_event in the arch's layout in scratch memory.
func (f *fakeTask) epev(events uint32, data uint64) uint64 {
	x := abiOf(f.p.arch)
	b := make([]byte, x.epollEventSize)
	le.PutUint32(b, events)
	le.PutUint64(b[x.epollEventSize-8:], data)
	return f.bytesAt(b)
}

type epEvent struct {
	events uint32
	data   uint64
}

// epWait calls epoll_pwait with timeout ms and returns the events.
func (f *fakeTask) epWait(t testing.TB, ep uint64, max int, ms int32) []epEvent {
	t.Helper()
	x := abiOf(f.p.arch)
	buf := f.alloc(max * x.epollEventSize)
	c := f.sys(t, "epoll_pwait", ep, buf, uint64(max), uint64(int64(ms)), 0, 8)
	if c.Errno != 0 || c.Blocked {
		t.Fatalf("epoll_pwait: %+v", c)
	}
	return f.events(t, buf, int(c.Ret))
}

func (f *fakeTask) events(t testing.TB, buf uint64, n int) []epEvent {
	t.Helper()
	x := abiOf(f.p.arch)
	out := []epEvent{}
	for i := 0; i < n; i++ {
		b := f.mem(t, buf+uint64(i*x.epollEventSize), x.epollEventSize)
		out = append(out, epEvent{le.Uint32(b), le.Uint64(b[x.epollEventSize-8:])})
	}
	return out
}

func (f *fakeTask) ctl(t testing.TB, want Errno, ep uint64, op int, fd uint64, events uint32, data uint64) {
	t.Helper()
	c := f.sys(t, "epoll_ctl", ep, uint64(op), fd, f.epev(events, data))
	if c.Errno != want {
		t.Errorf("epoll_ctl(%d, %d, %d, %#x) = %v, want %v", ep, op, fd, events, c.Errno, want)
	}
}

func sameEvents(got []epEvent, want ...epEvent) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestEpollEventLayout(t *testing.T) {
	// include/uapi/linux/eventpoll.h: packed on x86-64 (12 bytes), natural
	// alignment elsewhere (16 bytes, data at 8).
	if amd64ABI.epollEventSize != 12 || arm64ABI.epollEventSize != 16 {
		t.Fatal("struct epoll_event sizes")
	}
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		ep := f.ok(t, "epoll_create1", 0)
		e1, e2 := f.ok(t, "eventfd2", 1, 0), f.ok(t, "eventfd2", 1, 0)
		f.ctl(t, 0, ep, EPOLL_CTL_ADD, e1, EPOLLIN, 0x1122334455667788)
		f.ctl(t, 0, ep, EPOLL_CTL_ADD, e2, EPOLLIN|EPOLLOUT, 0xa1a2a3a4a5a6a7a8)
		buf := f.alloc(64)
		if got := f.ok(t, "epoll_pwait", ep, buf, 2, 0, 0, 8); got != 2 {
			t.Fatalf("%d events", got)
		}
		var want []byte
		if a.Name == "amd64" {
			want = []byte{1, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
				5, 0, 0, 0, 0xa8, 0xa7, 0xa6, 0xa5, 0xa4, 0xa3, 0xa2, 0xa1}
		} else {
			want = []byte{1, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
				5, 0, 0, 0, 0, 0, 0, 0, 0xa8, 0xa7, 0xa6, 0xa5, 0xa4, 0xa3, 0xa2, 0xa1}
		}
		if got := f.mem(t, buf, len(want)); string(got) != string(want) {
			t.Errorf("events\n% x\nwant\n% x", got, want)
		}
	})
}

func TestEpollCreateAndCtlErrors(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		ep := f.ok(t, "epoll_create1", EPOLL_CLOEXEC)
		if ep != 3 || f.ok(t, "fcntl", ep, F_GETFD) != FD_CLOEXEC || f.ok(t, "fcntl", ep, F_GETFL) != O_RDWR {
			t.Fatal("epoll_create1")
		}
		f.fails(t, EINVAL, "epoll_create1", 1)
		f.fails(t, EINVAL, "read", ep, f.alloc(8), 8)
		f.fails(t, EINVAL, "write", ep, f.alloc(8), 8)
		if f.ok(t, "lseek", ep, 5, SEEK_SET) != 0 {
			t.Error("lseek on epoll is noop_llseek")
		}

		open := func(p string) uint64 { return f.ok(t, "openat", atFdcwd, f.cstr(p), O_RDONLY, 0) }
		// Files without a poll method, as on a host: EPERM.
		for _, p := range []string{"/etc/hostname", "/", "/dev/null", "/dev/zero", "/dev/urandom", "/proc/self/status"} {
			f.ctl(t, EPERM, ep, EPOLL_CTL_ADD, open(p), EPOLLIN, 0)
		}
		// sysfs and /proc/sys have one, and are always ready.
		sys, psys := open("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"), open("/proc/sys/kernel/osrelease")
		f.ctl(t, 0, ep, EPOLL_CTL_ADD, sys, EPOLLIN, 1)
		f.ctl(t, 0, ep, EPOLL_CTL_ADD, psys, EPOLLIN|EPOLLET, 2)
		if got := f.epWait(t, ep, 8, 0); !sameEvents(got, epEvent{EPOLLIN, 1}, epEvent{EPOLLIN, 2}) {
			t.Errorf("events %+v", got)
		}
		if got := f.epWait(t, ep, 8, 0); !sameEvents(got, epEvent{EPOLLIN, 1}) {
			t.Errorf("level-triggered stays, edge-triggered goes: %+v", got)
		}

		efd := f.ok(t, "eventfd2", 0, EFD_NONBLOCK)
		f.ctl(t, EINVAL, ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0)   // itself
		f.ctl(t, EINVAL, efd, EPOLL_CTL_ADD, sys, EPOLLIN, 0) // not an epoll fd
		f.ctl(t, EBADF, 99, EPOLL_CTL_ADD, efd, EPOLLIN, 0)
		f.ctl(t, EBADF, ep, EPOLL_CTL_ADD, 99, EPOLLIN, 0)
		f.fails(t, EFAULT, "epoll_ctl", ep, EPOLL_CTL_ADD, efd, unmapped)
		f.ctl(t, ENOENT, ep, EPOLL_CTL_MOD, efd, EPOLLIN, 0)
		f.fails(t, ENOENT, "epoll_ctl", ep, EPOLL_CTL_DEL, efd, unmapped) // DEL reads no event
		f.ctl(t, 0, ep, EPOLL_CTL_ADD, efd, EPOLLIN, 0)
		f.ctl(t, EEXIST, ep, EPOLL_CTL_ADD, efd, EPOLLIN, 0)
		f.ctl(t, EINVAL, ep, 7, efd, EPOLLIN, 0)
		f.ctl(t, EINVAL, ep, EPOLL_CTL_MOD, efd, EPOLLEXCLUSIVE|EPOLLIN, 0)
		ep2 := f.ok(t, "epoll_create1", 0)
		f.ctl(t, EINVAL, ep, EPOLL_CTL_ADD, ep2, EPOLLEXCLUSIVE|EPOLLIN, 0)
		r, w := f.pipe2(t, O_NONBLOCK)
		f.ctl(t, EINVAL, ep, EPOLL_CTL_ADD, r, EPOLLEXCLUSIVE|EPOLLRDHUP, 0)
		f.ctl(t, 0, ep, EPOLL_CTL_ADD, w, EPOLLEXCLUSIVE|EPOLLOUT, 0)
		f.ctl(t, EINVAL, ep, EPOLL_CTL_MOD, w, EPOLLOUT, 0) // an exclusive item cannot change
		f.ctl(t, 0, ep, EPOLL_CTL_DEL, w, 0, 0)
		if f.p.k.watches != 3 {
			t.Errorf("%d items, want 3", f.p.k.watches)
		}

		// Nesting, as a host kernel answers the same sequence: a chain of
		// five instances is as deep as it gets, and loops are refused.
		var eps []uint64
		for i := 0; i < 7; i++ {
			eps = append(eps, f.ok(t, "epoll_create1", 0))
		}
		for i := 0; i+1 < len(eps); i++ {
			want := Errno(0)
			if i == 4 {
				want = ELOOP
			}
			f.ctl(t, want, eps[i], EPOLL_CTL_ADD, eps[i+1], EPOLLIN, 0)
		}
		f.ctl(t, ELOOP, eps[6], EPOLL_CTL_ADD, eps[0], EPOLLIN, 0)
		f.ctl(t, ELOOP, eps[3], EPOLL_CTL_ADD, eps[0], EPOLLIN, 0)
	})
	f := newFake(t, arch.AMD64)
	f.fails(t, EINVAL, "epoll_create", 0)
	if f.ok(t, "epoll_create", 1) != 3 || f.ok(t, "fcntl", 3, F_GETFD) != 0 {
		t.Error("epoll_create(1)")
	}
}

// TestEpollTriggers replays, on pipes and eventfds, sequences whose
// results were taken from a Linux host.
func TestEpollTriggers(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		ep := f.ok(t, "epoll_create1", 0)
		big := f.alloc(70000)
		buf := f.alloc(8192)

		// Edge-triggered EPOLLOUT on a full pipe: an event only when a
		// read makes room in a full pipe.
		r, w := f.pipe2(t, O_NONBLOCK)
		f.ok(t, "write", w, big, 70000)
		f.ctl(t, 0, ep, EPOLL_CTL_ADD, w, EPOLLOUT|EPOLLET, w)
		if got := f.epWait(t, ep, 8, 0); len(got) != 0 {
			t.Errorf("full write end: %+v", got)
		}
		f.ok(t, "read", r, buf, 4096)
		if got := f.epWait(t, ep, 8, 0); !sameEvents(got, epEvent{EPOLLOUT, w}) {
			t.Errorf("after a page is freed: %+v, want EPOLLOUT", got)
		}
		if got := f.epWait(t, ep, 8, 0); len(got) != 0 {
			t.Errorf("edge-triggered again: %+v", got)
		}
		f.ok(t, "read", r, buf, 50)
		if got := f.epWait(t, ep, 8, 0); len(got) != 0 {
			t.Errorf("a read from a pipe that was not full: %+v", got)
		}
		f.ctl(t, 0, ep, EPOLL_CTL_DEL, w, 0, 0)

		// Level-triggered EPOLLIN until drained; EPOLLHUP once the writer
		// is gone; a closed fd's item goes with its file.
		r2, w2 := f.pipe2(t, O_NONBLOCK)
		f.ctl(t, 0, ep, EPOLL_CTL_ADD, r2, EPOLLIN|EPOLLRDHUP, 1)
		f.ctl(t, 0, ep, EPOLL_CTL_ADD, w2, EPOLLOUT, 99)
		if got := f.epWait(t, ep, 8, 0); !sameEvents(got, epEvent{EPOLLOUT, 99}) {
			t.Errorf("fresh pipe: %+v", got)
		}
		f.writeFd(t, w2, []byte("ab"))
		for i := 0; i < 2; i++ {
			if got := f.epWait(t, ep, 8, 0); !sameEvents(got, epEvent{EPOLLOUT, 99}, epEvent{EPOLLIN, 1}) {
				t.Errorf("round %d: %+v", i, got)
			}
		}
		f.ok(t, "read", r2, buf, 2)
		f.ok(t, "close", w2)
		if got := f.epWait(t, ep, 8, 0); !sameEvents(got, epEvent{EPOLLHUP, 1}) {
			t.Errorf("writer closed: %+v, want EPOLLHUP only", got)
		}
		f.ctl(t, 0, ep, EPOLL_CTL_DEL, r2, 0, 0)

		// EPOLLONESHOT fires once, until EPOLL_CTL_MOD re-arms it.
		efd := f.ok(t, "eventfd2", 1, EFD_NONBLOCK)
		f.ctl(t, 0, ep, EPOLL_CTL_ADD, efd, EPOLLIN|EPOLLONESHOT, 7)
		if got := f.epWait(t, ep, 8, 0); !sameEvents(got, epEvent{EPOLLIN, 7}) {
			t.Errorf("oneshot: %+v", got)
		}
		f.ok(t, "write", efd, f.u64s(1), 8)
		if got := f.epWait(t, ep, 8, 0); len(got) != 0 {
			t.Errorf("fired oneshot: %+v", got)
		}
		f.ctl(t, 0, ep, EPOLL_CTL_MOD, efd, EPOLLIN|EPOLLOUT, 8)
		if got := f.epWait(t, ep, 8, 0); !sameEvents(got, epEvent{EPOLLIN | EPOLLOUT, 8}) {
			t.Errorf("re-armed: %+v", got)
		}
		// A full counter reports EPOLLIN without EPOLLOUT.
		f.ok(t, "write", efd, f.u64s(1<<64-4), 8)
		if got := f.epWait(t, ep, 8, 0); !sameEvents(got, epEvent{EPOLLIN, 8}) {
			t.Errorf("full counter: %+v", got)
		}
		f.ctl(t, 0, ep, EPOLL_CTL_DEL, efd, 0, 0)

		// maxevents: those not reached come first next time, then the
		// level-triggered ones that were reported.
		var e []uint64
		for i := 0; i < 3; i++ {
			e = append(e, f.ok(t, "eventfd2", 1, 0))
			f.ctl(t, 0, ep, EPOLL_CTL_ADD, e[i], EPOLLIN, uint64(10+i))
		}
		if got := f.epWait(t, ep, 2, 0); !sameEvents(got, epEvent{EPOLLIN, 10}, epEvent{EPOLLIN, 11}) {
			t.Errorf("first two: %+v", got)
		}
		if got := f.epWait(t, ep, 2, 0); !sameEvents(got, epEvent{EPOLLIN, 12}, epEvent{EPOLLIN, 10}) {
			t.Errorf("then: %+v", got)
		}
		// A dup keeps the file, and so the item; the last close drops it.
		d := f.ok(t, "dup", e[0])
		f.ok(t, "close", e[0])
		if got := f.epWait(t, ep, 8, 0); len(got) != 3 {
			t.Errorf("item of a dup'd file: %+v", got)
		}
		f.ok(t, "close", d)
		if got := f.epWait(t, ep, 8, 0); len(got) != 2 || f.p.k.watches != 2 {
			t.Errorf("after the last close: %+v (%d items)", got, f.p.k.watches)
		}
		// Closing the instance frees its items.
		f.ok(t, "close", ep)
		if f.p.k.watches != 0 {
			t.Errorf("%d items left", f.p.k.watches)
		}
	})
}

func TestEpollWaitArgs(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		x := abiOf(a)
		ep := f.ok(t, "epoll_create1", 0)
		buf := f.alloc(64)
		efd := f.ok(t, "eventfd2", 0, 0)
		f.fails(t, EINVAL, "epoll_pwait", ep, buf, 0, 0, 0, 8)
		f.fails(t, EINVAL, "epoll_pwait", ep, buf, uint64(maxInt32/x.epollEventSize+1), 0, 0, 8)
		f.fails(t, EFAULT, "epoll_pwait", ep, 1<<62, 1, 0, 0, 8)
		f.fails(t, EBADF, "epoll_pwait", 99, buf, 1, 0, 0, 8)
		f.fails(t, EINVAL, "epoll_pwait", efd, buf, 1, 0, 0, 8)
		f.fails(t, EINVAL, "epoll_pwait", ep, buf, 1, 0, f.u64s(0), 7)
		f.fails(t, EFAULT, "epoll_pwait", ep, buf, 1, 0, unmapped, 8)
		if got := f.ok(t, "epoll_pwait", ep, buf, 1, 0, 0, 7); got != 0 {
			t.Error("no mask: its size is not checked")
		}
		// Nothing to write: a bad buffer in the address space is not
		// touched; with an event, it is EFAULT and the event stays.
		if got := f.ok(t, "epoll_pwait", ep, unmapped, 1, 0, 0, 0); got != 0 {
			t.Error("empty wait with an unmapped buffer")
		}
		f.ok(t, "write", efd, f.u64s(1), 8)
		f.ctl(t, 0, ep, EPOLL_CTL_ADD, efd, EPOLLIN|EPOLLET, 3)
		f.fails(t, EFAULT, "epoll_pwait", ep, unmapped, 1, 0, 0, 0)
		if got := f.epWait(t, ep, 1, 0); !sameEvents(got, epEvent{EPOLLIN, 3}) {
			t.Errorf("the event survives the fault: %+v", got)
		}
		f.fails(t, EINVAL, "epoll_pwait2", ep, buf, 1, f.u64s(0, 1e9), 0, 8)
		f.fails(t, EFAULT, "epoll_pwait2", ep, buf, 1, unmapped, 0, 8)
		if got := f.ok(t, "epoll_pwait2", ep, buf, 1, f.u64s(0, 0), 0, 8); got != 0 {
			t.Error("epoll_pwait2 with a zero timeout polls")
		}
	})
	f := newFake(t, arch.AMD64)
	ep := f.ok(t, "epoll_create1", 0)
	if got := f.ok(t, "epoll_wait", ep, f.alloc(12), 1, 0); got != 0 {
		t.Error("epoll_wait")
	}
}

// TestEpollBlocks: a wait with nothing ready blocks on the instance's key
// with a deadline on the virtual clock, keeps it across restarts, and
// collects what a wake made ready.
func TestEpollBlocks(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		f.p.now = 10_000_000_000
		ep := f.ok(t, "epoll_create1", 0)
		efd := f.ok(t, "eventfd2", 0, EFD_NONBLOCK)
		f.ctl(t, 0, ep, EPOLL_CTL_ADD, efd, EPOLLIN, 0x5772a0)
		buf := f.alloc(128 * 16)
		args := []uint64{ep, buf, 128, 1500, 0, 8}
		c := f.sys(t, "epoll_pwait", args...)
		if !c.Blocked {
			t.Fatalf("epoll_pwait = %+v, want blocked", c)
		}
		b := f.lastBlock(t)
		if b.deadline != 11_500_000_000 {
			t.Errorf("deadline %d, want now + 1500 ms", b.deadline)
		}
		epKey := b.key
		// The deadline passes: 0 events.
		f.p.now = 11_500_000_000
		if c := f.restart(t, true, "epoll_pwait", args...); c.Ret != 0 || c.Blocked || c.Errno != 0 {
			t.Errorf("timed out: %+v", c)
		}
		// A spurious wake blocks again with the first deadline, not one
		// computed from the new time.
		f.p.now = 20_000_000_000
		f.sys(t, "epoll_pwait", args...)
		f.p.now = 20_500_000_000
		if c := f.restart(t, false, "epoll_pwait", args...); !c.Blocked || f.lastBlock(t).deadline != 21_500_000_000 {
			t.Errorf("spurious wake: %+v deadline %d", c, f.lastBlock(t).deadline)
		}
		// Another thread's netpollBreak: the write wakes the instance.
		other := f.thread(4300, NewThread())
		f.notifiedKey(0)
		other.ok(t, "write", efd, other.u64s(1), 8)
		if !f.notifiedKey(epKey) {
			t.Fatal("a write to a watched eventfd must notify the epoll instance")
		}
		c = f.restart(t, false, "epoll_pwait", args...)
		if c.Ret != 1 || !sameEvents(f.events(t, buf, 1), epEvent{EPOLLIN, 0x5772a0}) {
			t.Errorf("woken: %+v %+v", c, f.events(t, buf, 1))
		}
		// Timeouts: negative waits forever; pwait2 takes a timespec.
		f.readU64Fd(t, efd)
		f.sys(t, "epoll_pwait", ep, buf, 1, neg(1), 0, 8)
		if f.lastBlock(t).deadline != NoDeadline {
			t.Error("timeout -1 must wait forever")
		}
		f.sys(t, "epoll_pwait2", ep, buf, 1, f.u64s(2, 5), 0, 8)
		if f.lastBlock(t).deadline != 20_500_000_000+2_000_000_005 {
			t.Errorf("pwait2 deadline %d", f.lastBlock(t).deadline)
		}
		f.sys(t, "epoll_pwait2", ep, buf, 1, 0, 0, 8)
		if f.lastBlock(t).deadline != NoDeadline {
			t.Error("pwait2 without a timeout waits forever")
		}

		// Nested: an instance watching this one becomes readable too.
		outer := f.ok(t, "epoll_create1", 0)
		f.ctl(t, 0, outer, EPOLL_CTL_ADD, ep, EPOLLIN, 42)
		if got := f.epWait(t, outer, 4, 0); len(got) != 0 {
			t.Errorf("outer before: %+v", got)
		}
		c = f.sys(t, "epoll_pwait", outer, buf, 4, neg(1), 0, 8)
		outerKey := f.lastBlock(t).key
		f.notifiedKey(0)
		other.ok(t, "write", efd, other.u64s(1), 8)
		if !f.notifiedKey(outerKey) {
			t.Error("the outer instance was not woken")
		}
		c = f.restart(t, false, "epoll_pwait", outer, buf, 4, neg(1), 0, 8)
		if c.Ret != 1 || !sameEvents(f.events(t, buf, 1), epEvent{EPOLLIN, 42}) {
			t.Errorf("outer: %+v", f.events(t, buf, int(c.Ret)))
		}
	})
}
