package syscalls

import (
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// TestCopies: copy_file_range, sendfile and splice move bytes between
// files, pipes and sockets without losing any when the destination is
// full.
func TestCopies(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFakeWith(t, a, Config{Tmpfs: []string{"/tmp"}})
		src := f.create(t, "/tmp/src", O_RDWR, 0o644)
		f.send(t, src, "0123456789")
		dst := f.create(t, "/tmp/dst", O_RDWR, 0o644)
		off := f.u64s(2)
		if n := f.ok(t, "copy_file_range", src, off, dst, 0, 5, 0); n != 5 {
			t.Errorf("copy_file_range copied %d", n)
		}
		if got := f.readFile(t, "/tmp/dst"); got != "23456" {
			t.Errorf("copied %q", got)
		}
		if f.u64At(t, off) != 7 {
			t.Errorf("offset after copy %d", f.u64At(t, off))
		}
		f.fails(t, EINVAL, "copy_file_range", src, 0, dst, 0, 5, 1)
		f.fails(t, EBADF, "copy_file_range", src, 0, f.ok(t, "openat", atFdcwd, f.cstr("/tmp/dst"), O_RDONLY, 0), 0, 5, 0)

		// sendfile from a file into a pipe, at an offset.
		r, w := f.pipe2(t, 0)
		off = f.u64s(4)
		if n := f.ok(t, "sendfile", w, src, off, 3); n != 3 || f.u64At(t, off) != 7 {
			t.Errorf("sendfile %d, offset %d", n, f.u64At(t, off))
		}
		if got := f.recv(t, r); got != "456" {
			t.Errorf("sendfile delivered %q", got)
		}

		// splice: socket -> pipe -> file.
		sv := f.u64s(0)
		f.ok(t, "socketpair", AF_UNIX, SOCK_STREAM, 0, sv)
		x, y := uint64(f.u32At(t, sv)), uint64(f.u32At(t, sv+4))
		f.send(t, x, "spliced")
		if n := f.ok(t, "splice", y, 0, w, 0, 100, 0); n != 7 {
			t.Errorf("splice socket to pipe moved %d", n)
		}
		out := f.create(t, "/tmp/out", O_WRONLY, 0o644)
		if n := f.ok(t, "splice", r, 0, out, 0, 100, 0); n != 7 {
			t.Errorf("splice pipe to file moved %d", n)
		}
		if got := f.readFile(t, "/tmp/out"); got != "spliced" {
			t.Errorf("file holds %q", got)
		}
		f.fails(t, EINVAL, "splice", src, 0, dst, 0, 1, 0) // no pipe
		f.fails(t, ESPIPE, "splice", r, f.u64s(0), out, 0, 1, 0)
		// An empty pipe with SPLICE_F_NONBLOCK does not wait.
		f.fails(t, EAGAIN, "splice", r, 0, out, 0, 1, SPLICE_F_NONBLOCK)

		// A write that fails leaves the source where it was.
		r2, w2 := f.pipe2(t, 0)
		f.ok(t, "close", r2)
		in := f.ok(t, "openat", atFdcwd, f.cstr("/tmp/src"), O_RDONLY, 0)
		f.fails(t, EPIPE, "splice", in, 0, w2, 0, 4, 0)
		if pos := f.ok(t, "lseek", in, 0, SEEK_CUR); pos != 0 {
			t.Errorf("source offset %d after a failed splice, want 0", pos)
		}
	})
}

// TestFifo: a named pipe in a tmpfs connects a reader and a writer; a
// nonblocking writer with no reader gets ENXIO.
func TestFifo(t *testing.T) {
	f := newFakeWith(t, arch.AMD64, Config{Tmpfs: []string{"/tmp"}})
	f.ok(t, "mknodat", atFdcwd, f.cstr("/tmp/fifo"), S_IFIFO|0o600, 0)
	if st := f.statPath(t, "/tmp/fifo", 0); st.mode != S_IFIFO|0o600 {
		t.Errorf("fifo mode %o", st.mode)
	}
	f.fails(t, ENXIO, "openat", atFdcwd, f.cstr("/tmp/fifo"), O_WRONLY|O_NONBLOCK, 0)
	r := f.ok(t, "openat", atFdcwd, f.cstr("/tmp/fifo"), O_RDONLY|O_NONBLOCK, 0)
	w := f.ok(t, "openat", atFdcwd, f.cstr("/tmp/fifo"), O_WRONLY, 0)
	f.send(t, w, "through")
	if got := f.recv(t, r); got != "through" {
		t.Errorf("read %q", got)
	}
	f.fails(t, ESPIPE, "lseek", r, 0, 0)
	// A blocking reader waits for a writer.
	f.ok(t, "close", w)
	f.ok(t, "close", r)
	if c := f.sys(t, "openat", atFdcwd, f.cstr("/tmp/fifo"), O_RDONLY, 0); !c.Blocked {
		t.Errorf("a reader with no writer did not wait: %+v", c)
	}
}

// TestTrailingSlash: a trailing slash names a directory, in every call
// that takes a last name.
func TestTrailingSlash(t *testing.T) {
	f := newFakeWith(t, arch.ARM64, Config{Tmpfs: []string{"/tmp"}})
	f.ok(t, "close", f.create(t, "/tmp/file", O_WRONLY, 0o644))
	f.ok(t, "symlinkat", f.cstr("file/"), atFdcwd, f.cstr("/tmp/link"))
	f.fails(t, ENOTDIR, "openat", atFdcwd, f.cstr("/tmp/link"), O_RDONLY, 0)
	f.fails(t, ENOTDIR, "unlinkat", atFdcwd, f.cstr("/tmp/file/"), 0)
	f.fails(t, ENOTDIR, "renameat2", atFdcwd, f.cstr("/tmp/file/"), atFdcwd, f.cstr("/tmp/x"), 0)
	f.fails(t, ENOTDIR, "renameat2", atFdcwd, f.cstr("/tmp/file"), atFdcwd, f.cstr("/tmp/x/"), 0)
	f.fails(t, ENOENT, "linkat", atFdcwd, f.cstr("/tmp/file"), atFdcwd, f.cstr("/tmp/new/"), 0)
	f.ok(t, "mkdirat", atFdcwd, f.cstr("/tmp/dir/"), 0o755)
	f.ok(t, "unlinkat", atFdcwd, f.cstr("/tmp/dir/"), AT_REMOVEDIR)
	// O_CREAT through a dangling symlink makes the file it names.
	f.ok(t, "symlinkat", f.cstr("made"), atFdcwd, f.cstr("/tmp/dangling"))
	f.ok(t, "close", f.create(t, "/tmp/dangling", O_WRONLY, 0o644))
	f.statPath(t, "/tmp/made", 0)
	f.fails(t, EEXIST, "openat", atFdcwd, f.cstr("/tmp/dangling"), O_CREAT|O_EXCL|O_WRONLY, 0o644)
}

// TestLocks: flock locks conflict between open descriptions of one file,
// even in one process; record locks of the one process never do.
func TestLocks(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFakeWith(t, a, Config{Tmpfs: []string{"/tmp"}})
		x := f.create(t, "/tmp/lock", O_RDWR, 0o644)
		y := f.ok(t, "openat", atFdcwd, f.cstr("/tmp/lock"), O_RDONLY, 0)
		f.ok(t, "flock", x, LOCK_EX)
		f.fails(t, EWOULDBLOCK, "flock", y, LOCK_SH|LOCK_NB)
		if c := f.sys(t, "flock", y, LOCK_SH); !c.Blocked {
			t.Errorf("a conflicting flock did not wait: %+v", c)
		}
		f.ok(t, "flock", x, LOCK_SH) // converting its own lock
		f.ok(t, "flock", y, LOCK_SH|LOCK_NB)
		f.fails(t, EWOULDBLOCK, "flock", x, LOCK_EX|LOCK_NB)
		f.ok(t, "close", y) // closing drops its lock
		f.ok(t, "flock", x, LOCK_EX|LOCK_NB)
		f.fails(t, EINVAL, "flock", x, 0)

		fl := f.alloc(flockSize)
		f.ok(t, "fcntl", x, F_SETLKW, fl) // F_RDLCK over the whole file
		b := f.mem(t, fl, flockSize)
		le.PutUint16(b, F_WRLCK)
		if err := f.WriteMem(fl, b); err != nil {
			t.Fatal(err)
		}
		f.ok(t, "fcntl", x, F_GETLK, fl)
		if typ := le.Uint16(f.mem(t, fl, 2)); typ != F_UNLCK {
			t.Errorf("F_GETLK type %d, want F_UNLCK", typ)
		}
		ro := f.ok(t, "openat", atFdcwd, f.cstr("/tmp/lock"), O_RDONLY, 0)
		if err := f.WriteMem(fl, b); err != nil {
			t.Fatal(err)
		}
		f.fails(t, EBADF, "fcntl", ro, F_SETLK, fl) // a write lock needs writing
	})
}
