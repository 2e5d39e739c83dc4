package syscalls

import (
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// readU64Fd reads 8 bytes from fd and returns the value.
func (f *fakeTask) readU64Fd(t testing.TB, fd uint64) uint64 {
	t.Helper()
	buf := f.alloc(8)
	if got := f.ok(t, "read", fd, buf, 8); got != 8 {
		t.Fatalf("read = %d, want 8", got)
	}
	return f.u64At(t, buf)
}

func TestEventfd(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		x := abiOf(a)
		fd := f.ok(t, "eventfd2", 3, EFD_NONBLOCK|EFD_CLOEXEC)
		if fd != 3 || f.ok(t, "fcntl", fd, F_GETFD) != FD_CLOEXEC {
			t.Fatalf("eventfd2 = %d", fd)
		}
		if got := f.ok(t, "fcntl", fd, F_GETFL); got != O_RDWR|O_NONBLOCK {
			t.Errorf("F_GETFL %#x, want O_RDWR|O_NONBLOCK (a host eventfd shows 04002)", got)
		}
		st := f.alloc(x.statSize)
		f.ok(t, "fstat", fd, st)
		mode, ino := f.u32At(t, st+24), f.u64At(t, st+8)
		if a.Name == "arm64" {
			mode = f.u32At(t, st+16)
		}
		if mode != 0o600 || ino != anonIno {
			t.Errorf("st_mode %o ino %d: an anonymous inode has mode 0600 and no type", mode, ino)
		}
		if got := f.readU64Fd(t, fd); got != 3 {
			t.Errorf("read = %d, want the initial 3", got)
		}
		f.fails(t, EAGAIN, "read", fd, f.alloc(8), 8)
		f.ok(t, "write", fd, f.u64s(5), 8)
		f.ok(t, "write", fd, f.u64s(7), 16) // only 8 bytes count
		if got := f.readU64Fd(t, fd); got != 12 {
			t.Errorf("read = %d, want 5+7", got)
		}
		// The counter stops below 2^64-1.
		if got := f.ok(t, "write", fd, f.u64s(1<<64-2), 8); got != 8 {
			t.Fatal(got)
		}
		f.fails(t, EAGAIN, "write", fd, f.u64s(1), 8)
		if got := f.ok(t, "write", fd, f.u64s(0), 8); got != 8 {
			t.Error("adding 0 to a full counter succeeds")
		}
		f.fails(t, EINVAL, "write", fd, f.u64s(1<<64-1), 8)
		f.fails(t, EINVAL, "read", fd, f.alloc(8), 7)
		f.fails(t, EINVAL, "write", fd, f.u64s(1), 7)
		f.fails(t, EFAULT, "write", fd, unmapped, 8)
		// A read into bad memory loses the value, as in Linux.
		f.fails(t, EFAULT, "read", fd, unmapped, 8)
		f.fails(t, EAGAIN, "read", fd, f.alloc(8), 8)
		if got := f.ok(t, "lseek", fd, 10, SEEK_SET); got != 0 {
			t.Errorf("lseek = %d (noop_llseek)", got)
		}
		f.fails(t, ESPIPE, "pread64", fd, f.alloc(8), 8, 0)
		f.fails(t, EINVAL, "eventfd2", 0, 0x10)

		// Semaphore mode: one at a time.
		sem := f.ok(t, "eventfd2", 2, EFD_SEMAPHORE|EFD_NONBLOCK)
		for i := 0; i < 2; i++ {
			if got := f.readU64Fd(t, sem); got != 1 {
				t.Errorf("semaphore read %d = %d, want 1", i, got)
			}
		}
		f.fails(t, EAGAIN, "read", sem, f.alloc(8), 8)

		// Blocking: a read of zero waits on the counter's key, a write
		// from another thread wakes it.
		blk := f.ok(t, "eventfd2", 0, 0)
		c := f.sys(t, "read", blk, f.alloc(8), 8)
		if !c.Blocked {
			t.Fatalf("read of a zero counter: %+v, want blocked", c)
		}
		key := f.lastBlock(t).key
		other := f.thread(4300, NewThread())
		f.notifiedKey(0)
		other.ok(t, "write", blk, other.u64s(9), 8)
		if !f.notifiedKey(key) {
			t.Error("write did not notify the readers")
		}
		buf := f.alloc(8)
		if c := f.restart(t, false, "read", blk, buf, 8); c.Ret != 8 || f.u64At(t, buf) != 9 {
			t.Errorf("restarted read = %+v value %d", c, f.u64At(t, buf))
		}
		// A write that would overflow waits for a read.
		other.ok(t, "write", blk, other.u64s(1<<64-2), 8)
		if c := f.sys(t, "write", blk, f.u64s(5), 8); !c.Blocked {
			t.Fatalf("overflowing write: %+v, want blocked", c)
		}
		other.readU64Fd(t, blk)
		if !f.notifiedKey(key) {
			t.Error("read did not notify the writers")
		}
		if got := f.restart(t, false, "write", blk, f.u64s(5), 8).Ret; got != 8 {
			t.Errorf("restarted write = %d", got)
		}
		if other.readU64Fd(t, blk) != 5 {
			t.Error("counter after restarted write")
		}
	})
	f := newFake(t, arch.AMD64)
	fd := f.ok(t, "eventfd", 5)
	if f.readU64Fd(t, fd) != 5 || f.ok(t, "fcntl", fd, F_GETFL) != O_RDWR {
		t.Error("eventfd(2)")
	}
}
