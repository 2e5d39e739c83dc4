package syscalls

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// pipe2 makes a pipe and returns its read and write fds.
func (f *fakeTask) pipe2(t testing.TB, flags uint64) (r, w uint64) {
	t.Helper()
	fds := f.alloc(8)
	f.ok(t, "pipe2", fds, flags)
	return uint64(f.u32At(t, fds)), uint64(f.u32At(t, fds+4))
}

// restart dispatches name again as the emulator does after Block: with
// Restarted reporting true and whether the deadline passed.
func (f *fakeTask) restart(t testing.TB, timedOut bool, name string, args ...uint64) Call {
	t.Helper()
	f.restarted, f.timedOut = true, timedOut
	defer func() { f.restarted, f.timedOut = false, false }()
	return f.sys(t, name, args...)
}

// lastBlock returns the key and deadline of the last Block.
func (f *fakeTask) lastBlock(t testing.TB) fakeBlock {
	t.Helper()
	if len(f.blocks) == 0 {
		t.Fatal("no Block")
	}
	return f.blocks[len(f.blocks)-1]
}

// notifiedKey reports whether key was notified since the last call to it.
func (f *fakeTask) notifiedKey(key uint64) bool {
	found := false
	for _, k := range f.p.notified {
		if k == key {
			found = true
		}
	}
	f.p.notified = nil
	return found
}

// writeBytes writes b to fd in one write(2).
func (f *fakeTask) writeFd(t testing.TB, fd uint64, b []byte) Call {
	t.Helper()
	return f.sys(t, "write", fd, f.bytesAt(b), uint64(len(b)))
}

func TestPipeBasics(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		x := abiOf(a)
		r, w := f.pipe2(t, O_CLOEXEC)
		if r != 3 || w != 4 {
			t.Fatalf("pipe2 fds %d %d, want 3 4", r, w)
		}
		if f.ok(t, "fcntl", r, F_GETFD) != FD_CLOEXEC || f.ok(t, "fcntl", w, F_GETFD) != FD_CLOEXEC {
			t.Error("O_CLOEXEC goes to both descriptors")
		}
		// F_GETFL as a host pipe shows it: the access mode, no O_LARGEFILE.
		if got := f.ok(t, "fcntl", r, F_GETFL); got != O_RDONLY {
			t.Errorf("read end F_GETFL %#x", got)
		}
		if got := f.ok(t, "fcntl", w, F_GETFL); got != O_WRONLY {
			t.Errorf("write end F_GETFL %#x", got)
		}
		st := f.alloc(x.statSize)
		f.ok(t, "fstat", r, st)
		mode := f.u32At(t, st+24)
		if a.Name == "arm64" {
			mode = f.u32At(t, st+16)
		}
		if mode != S_IFIFO|0o600 {
			t.Errorf("st_mode %o, want 010600", mode)
		}
		if f.ok(t, "fcntl", r, F_GETPIPE_SZ) != 65536 {
			t.Error("F_GETPIPE_SZ")
		}

		if c := f.writeFd(t, w, []byte("hello")); c.Ret != 5 {
			t.Fatalf("write = %+v", c)
		}
		n := f.alloc(4)
		f.ok(t, "ioctl", r, FIONREAD, n)
		if f.u32At(t, n) != 5 {
			t.Errorf("FIONREAD %d", f.u32At(t, n))
		}
		buf := f.alloc(16)
		if got := f.ok(t, "read", r, buf, 3); got != 3 || string(f.mem(t, buf, 3)) != "hel" {
			t.Errorf("read 3 = %d %q", got, f.mem(t, buf, 3))
		}
		if got := f.ok(t, "read", r, buf, 16); got != 2 || string(f.mem(t, buf, 2)) != "lo" {
			t.Errorf("read rest = %d", got)
		}
		f.fails(t, EBADF, "read", w, buf, 1)
		f.fails(t, EBADF, "write", r, buf, 1)
		f.fails(t, ESPIPE, "lseek", r, 0, SEEK_SET)
		f.fails(t, ESPIPE, "pread64", r, buf, 1, 0)
		f.fails(t, ESPIPE, "pwrite64", w, buf, 1, 0)
		if got := f.ok(t, "read", r, buf, 0); got != 0 {
			t.Error("a null read succeeds at once")
		}

		// Empty and blocking: the reader waits on the pipe's read queue.
		c := f.sys(t, "read", r, buf, 16)
		if !c.Blocked {
			t.Fatalf("read of an empty pipe: %+v, want blocked", c)
		}
		rdKey := f.lastBlock(t).key
		if rdKey&objectKeyBit == 0 || f.lastBlock(t).deadline != NoDeadline {
			t.Errorf("block key %#x deadline %d", rdKey, f.lastBlock(t).deadline)
		}
		f.notifiedKey(0)
		f.writeFd(t, w, []byte("x"))
		if !f.notifiedKey(rdKey) {
			t.Error("a write must notify the readers' key")
		}
		if c := f.restart(t, false, "read", r, buf, 16); c.Ret != 1 || f.mem(t, buf, 1)[0] != 'x' {
			t.Errorf("restarted read = %+v", c)
		}
		// Non-blocking: EAGAIN.
		f.ok(t, "fcntl", r, F_SETFL, O_NONBLOCK)
		f.fails(t, EAGAIN, "read", r, buf, 16)

		// A dup'd write end keeps the pipe open; the last close is EOF.
		w2 := f.ok(t, "dup", w)
		f.ok(t, "close", w)
		f.fails(t, EAGAIN, "read", r, buf, 16)
		f.ok(t, "close", w2)
		if !f.notifiedKey(rdKey) {
			t.Error("closing the last writer must wake the readers")
		}
		if got := f.ok(t, "read", r, buf, 16); got != 0 {
			t.Errorf("read after the writers closed = %d, want 0 (EOF)", got)
		}

		// Flags, faults, and no descriptor leaks when pipe2 fails.
		open := f.p.k.FileCount()
		f.fails(t, EINVAL, "pipe2", f.alloc(8), O_SYNC)
		f.fails(t, EFAULT, "pipe2", unmapped, 0)
		if f.p.k.FileCount() != open || f.p.k.pipePages != pipeDefBuffers {
			t.Errorf("failed pipe2 left %d fds (want %d) and %d pages", f.p.k.FileCount(), open, f.p.k.pipePages)
		}
		f.gap(t, "pipe2", f.alloc(8), x.oDirect)
		f.ok(t, "close", r)
		if f.p.k.pipePages != 0 {
			t.Errorf("%d pipe pages accounted after both ends closed", f.p.k.pipePages)
		}
	})
	f := newFake(t, arch.AMD64)
	fds := f.alloc(8)
	f.ok(t, "pipe", fds)
	if f.u32At(t, fds) != 3 || f.u32At(t, fds+4) != 4 || f.ok(t, "fcntl", 3, F_GETFD) != 0 {
		t.Error("pipe(2)")
	}
}

// TestPipeCapacity checks the buffer arithmetic against what a Linux 6.x
// host reports for the same sequence of non-blocking calls.
func TestPipeCapacity(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		r, w := f.pipe2(t, O_NONBLOCK)
		big := f.alloc(70000)
		buf := f.alloc(8192)
		steps := []struct {
			name  string
			call  []uint64
			ret   uint64
			errno Errno
		}{
			{"write 70000", []uint64{w, big, 70000}, 65536, 0},
			{"write 1 when full", []uint64{w, big, 1}, 0, EAGAIN},
			{"read 1", []uint64{r, buf, 1}, 1, 0},
			{"write 1 after read 1", []uint64{w, big, 1}, 0, EAGAIN}, // no page freed
			{"read 4095", []uint64{r, buf, 4095}, 4095, 0},
			{"write 5000 with one page free", []uint64{w, big, 5000}, 4096, 0},
			{"write 100", []uint64{w, big, 100}, 0, EAGAIN},
		}
		for _, s := range steps {
			name := "write"
			if s.call[0] == r {
				name = "read"
			}
			c := f.sys(t, name, s.call...)
			if c.Errno != s.errno || (s.errno == 0 && c.Ret != s.ret) {
				t.Errorf("%s: ret %d errno %v, want %d %v", s.name, int64(c.Ret), c.Errno, s.ret, s.errno)
			}
		}
		f.fails(t, EBUSY, "fcntl", r, F_SETPIPE_SZ, 4096)
		f.fails(t, EBUSY, "fcntl", r, F_SETPIPE_SZ, 0)
		if got := f.ok(t, "fcntl", r, F_SETPIPE_SZ, 100000); got != 131072 || f.ok(t, "fcntl", w, F_GETPIPE_SZ) != 131072 {
			t.Errorf("F_SETPIPE_SZ 100000 = %d", got)
		}
		f.fails(t, EPERM, "fcntl", r, F_SETPIPE_SZ, 2<<20) // past pipe-max-size, unprivileged as accounted
		f.fails(t, EBADF, "fcntl", 0, F_SETPIPE_SZ, 4096)

		// Small writes merge into the last page while they fit.
		for _, c := range []struct{ size, fill uint64 }{{100, 64000}, {3000, 48000}, {4096, 65536}, {1, 65536}} {
			r, w := f.pipe2(t, O_NONBLOCK)
			total := uint64(0)
			for i := 0; i < 70000; i++ {
				cl := f.sys(t, "write", w, big, c.size)
				if cl.Errno == EAGAIN {
					break
				}
				total += cl.Ret
			}
			if total != c.fill {
				t.Errorf("%d-byte writes fill %d bytes, want %d", c.size, total, c.fill)
			}
			f.ok(t, "close", r)
			f.ok(t, "close", w)
		}
	})
}

func TestPipeAtomicAndBlockingWrites(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		r, w := f.pipe2(t, 0)
		src := make([]byte, 65536)
		for i := range src {
			src[i] = byte(i / 7)
		}
		big := f.bytesAt(src)
		var stream, got []byte // what was written, what was read
		// The reader is another thread: the writer is parked while it
		// waits.
		reader := f.thread(4300, NewThread())
		out := reader.alloc(8192)
		read := func(n uint64) {
			t.Helper()
			c := reader.sys(t, "read", r, out, n)
			if c.Errno != 0 || c.Blocked {
				t.Fatalf("read: %+v", c)
			}
			got = append(got, f.mem(t, out, int(c.Ret))...)
		}

		// 15 pages and 4000 bytes: one slot left, partly used.
		f.ok(t, "write", w, big, 15*4096)
		f.ok(t, "write", w, big, 4000)
		stream = append(append(stream, src[:15*4096]...), src[:4000]...)
		// A small write that cannot merge needs a free slot: none, and
		// nothing is written (atomic).
		f.ok(t, "fcntl", w, F_SETFL, O_NONBLOCK)
		f.fails(t, EAGAIN, "write", w, big, 200)
		if got := f.ok(t, "write", w, big, 96); got != 96 {
			t.Errorf("96 bytes merge into the last page: %d", got)
		}
		stream = append(stream, src[:96]...)
		f.ok(t, "fcntl", w, F_SETFL, 0)
		read(8192) // frees two pages

		// A blocking 12288-byte write: two pages fit, the rest waits.
		c := f.sys(t, "write", w, big+100, 12288)
		if !c.Blocked {
			t.Fatalf("write = %+v, want blocked", c)
		}
		wrKey := f.lastBlock(t).key
		if f.th.wait.done != 8192 {
			t.Errorf("kept %d bytes written, want 8192", f.th.wait.done)
		}
		f.notifiedKey(0)
		read(4096)
		if f.th.wait.done != 8192 {
			t.Errorf("another thread's call changed the writer's wait state: %+v", f.th.wait)
		}
		if !f.notifiedKey(wrKey) {
			t.Error("freeing a page of a full pipe must wake the writers")
		}
		if c := f.restart(t, false, "write", w, big+100, 12288); c.Ret != 12288 || c.Blocked {
			t.Fatalf("restarted write = %+v, want all 12288 bytes", c)
		}
		stream = append(stream, src[100:100+12288]...)
		f.ok(t, "close", w)
		for len(got) < len(stream) {
			read(8192)
		}
		if !bytes.Equal(got, stream) {
			t.Errorf("read back %d bytes that differ from the %d written", len(got), len(stream))
		}
		if reader.ok(t, "read", r, out, 1) != 0 {
			t.Error("no EOF after the data")
		}
	})
}

func TestPipeBrokenAndSIGPIPE(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		r, w := f.pipe2(t, 0)
		f.ok(t, "close", r)
		if c := f.sys(t, "write", w, f.bytesAt([]byte("x")), 0); c.Errno != 0 || c.Ret != 0 || f.p.killSig != 0 {
			t.Errorf("a null write succeeds without a reader: %+v", c)
		}
		// SIGPIPE's default action ends the process.
		f.fails(t, EPIPE, "write", w, f.bytesAt([]byte("x")), 1)
		if f.p.killSig != SIGPIPE {
			t.Errorf("killed by %d, want SIGPIPE", f.p.killSig)
		}
		// Ignored (or handled, as Go does): just EPIPE.
		f.p.killSig = 0
		f.ok(t, "rt_sigaction", SIGPIPE, f.sigact(SIG_IGN, 0, 0, 0), 0, 8)
		c := f.sys(t, "write", w, f.bytesAt([]byte("x")), 1)
		if c.Errno != EPIPE || f.p.killSig != 0 || !strings.Contains(c.Note, "SIGPIPE") {
			t.Errorf("ignored SIGPIPE: %+v kill %d", c, f.p.killSig)
		}
		// The write end of a pipe without readers polls EPOLLERR.
		fd, _ := f.p.k.files.get(int32(w))
		if ev, ok := pollFile(fd); !ok || ev != EPOLLOUT|EPOLLWRNORM|EPOLLERR {
			t.Errorf("poll %#x", ev)
		}
	})
}

func TestPipeVectors(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		r, w := f.pipe2(t, O_NONBLOCK)
		p1, p2 := f.bytesAt([]byte("abc")), f.bytesAt([]byte("defgh"))
		if got := f.ok(t, "writev", w, f.u64s(p1, 3, p2, 5), 2); got != 8 {
			t.Fatalf("writev = %d", got)
		}
		b1, b2 := f.alloc(2), f.alloc(16)
		if got := f.ok(t, "readv", r, f.u64s(b1, 2, b2, 16), 2); got != 8 {
			t.Fatalf("readv = %d", got)
		}
		if string(f.mem(t, b1, 2)) != "ab" || string(f.mem(t, b2, 6)) != "cdefgh" {
			t.Errorf("readv scattered %q %q", f.mem(t, b1, 2), f.mem(t, b2, 6))
		}
		// A fault after some bytes: those before it count.
		f.writeFd(t, w, []byte("0123456789"))
		page := a.PageSize
		edge := uint64(scratchBase + scratchPages*page - 4) // 4 bytes before unmapped memory
		if got := f.ok(t, "read", r, edge, 10); got != 4 || string(f.mem(t, edge, 4)) != "0123" {
			t.Errorf("read into a buffer that runs off the mapping = %d", got)
		}
		if got := f.ok(t, "read", r, f.alloc(16), 16); got != 6 {
			t.Errorf("the bytes not copied stay in the pipe: %d", got)
		}
		// access_ok only checks the range: an empty pipe is EAGAIN first.
		f.fails(t, EAGAIN, "read", r, unmapped, 16)
		f.writeFd(t, w, []byte("z"))
		f.fails(t, EFAULT, "read", r, unmapped, 16)
		f.fails(t, EFAULT, "read", r, 1<<62, 16)
		if got := f.ok(t, "read", r, f.alloc(4), 4); got != 1 {
			t.Errorf("a faulting read took the data: %d left", got)
		}
		f.fails(t, EFAULT, "write", w, 1<<62, 16)
		f.fails(t, EFAULT, "write", w, unmapped, 16)
	})
}

// TestPipeAccounting creates pipes past pipe-user-pages-soft: the later
// ones get two buffers, and past the hard limit pipe2 fails.
func TestPipeAccounting(t *testing.T) {
	f := newFake(t, arch.ARM64)
	f.ok(t, "prlimit64", 0, RLIMIT_NOFILE, f.u64s(1<<20, 1<<20), 0)
	fds := f.alloc(8)
	n := 0
	for f.p.k.pipePages+pipeDefBuffers <= pipeUserPagesSoft {
		f.ok(t, "pipe2", fds, 0)
		n++
	}
	if n != 1024 {
		t.Errorf("%d full-size pipes, want 1024", n)
	}
	f.ok(t, "pipe2", fds, 0)
	if got := f.ok(t, "fcntl", uint64(f.u32At(t, fds)), F_GETPIPE_SZ); got != 2*4096 {
		t.Errorf("pipe past the soft limit has %d bytes, want 8192", got)
	}
	f.fails(t, EPERM, "fcntl", uint64(f.u32At(t, fds)), F_SETPIPE_SZ, 65536)
	for f.p.k.pipePages+pipeMinDefBuffers <= pipeUserPagesHard {
		f.ok(t, "pipe2", fds, 0)
	}
	f.fails(t, ENFILE, "pipe2", fds, 0)
	if f.p.k.pipePages > pipeUserPagesHard {
		t.Errorf("%d pages accounted", f.p.k.pipePages)
	}
}
