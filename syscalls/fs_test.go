package syscalls

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

const atFdcwd = uint64(1<<64 - 100)

// readFile opens, reads and closes a path, as the Go runtime does.
func (f *fakeTask) readFile(t testing.TB, path string) string {
	t.Helper()
	fd := f.ok(t, "openat", atFdcwd, f.cstr(path), O_RDONLY|O_CLOEXEC, 0)
	buf := f.alloc(8192)
	var out []byte
	for i := 0; ; i++ {
		if i == 64 {
			t.Fatalf("%s: no end of file after 64 reads", path)
		}
		n := f.ok(t, "read", fd, buf, 8192)
		if n == 0 {
			break
		}
		out = append(out, f.mem(t, buf, int(n))...)
	}
	f.ok(t, "close", fd)
	return string(out)
}

func TestVFSContents(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		f.p.mapPages(0x400000, 0x2000, PROT_READ|PROT_EXEC, "/usr/local/bin/hello")
		cases := []struct{ path, want string }{
			{"/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "2097152\n"},
			{"/proc/self/cgroup", "0::/\n"},
			{"/sys/fs/cgroup/cpu.max", "max 100000\n"},
			{"/proc/sys/kernel/osrelease", "6.1.0-gorunemu\n"},
			{"/proc/sys/kernel/hostname", "gorunemu\n"},
			{"/etc/hostname", "gorunemu\n"},
			{"/sys/devices/system/cpu/online", "0-1\n"},
			{"/proc/self/comm", "hello\n"},
			{"/proc/4242/cgroup", "0::/\n"},
			{"/proc/self/../self/./cgroup", "0::/\n"},
			{"/../../proc//self/cgroup", "0::/\n"},
			{"/proc/self/auxv", "\x06\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00"},
			{"/dev/null", ""},
		}
		for _, c := range cases {
			if got := f.readFile(t, c.path); got != c.want {
				t.Errorf("%s = %q, want %q", c.path, got, c.want)
			}
		}
		// cmdline and environ read the process's memory where its
		// strings are; until they are known, they are empty.
		if got := f.readFile(t, "/proc/self/cmdline"); got != "" {
			t.Errorf("cmdline before SetArgArea = %q", got)
		}
		args, env := f.bytesAt([]byte("hello\x00-v\x00")), f.bytesAt([]byte("HOME=/\x00"))
		f.p.k.SetArgArea(args, args+9, env, env+7)
		if got := f.readFile(t, "/proc/self/cmdline"); got != "hello\x00-v\x00" {
			t.Errorf("cmdline = %q", got)
		}
		if got := f.readFile(t, "/proc/4242/environ"); got != "HOME=/\x00" {
			t.Errorf("environ = %q", got)
		}
		mi := f.readFile(t, "/proc/self/mountinfo")
		if !strings.Contains(mi, "25 24 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n") ||
			!strings.HasPrefix(mi, "22 1 0:32 / / ro,relatime shared:1 - tmpfs rootfs ro,mode=755\n") {
			t.Errorf("mountinfo:\n%s", mi)
		}
		maps := f.readFile(t, "/proc/self/maps")
		wantLine := "00400000-00402000 r-xp 00000000 00:00 0                                  /usr/local/bin/hello\n"
		if !strings.Contains(maps, wantLine) {
			t.Errorf("maps:\n%q\nwant line %q", maps, wantLine)
		}
		if !strings.Contains(maps, "00100000-00140000 rw-p 00000000 00:00 0 \n") {
			t.Errorf("maps: anonymous scratch mapping missing:\n%s", maps)
		}
		f.ok(t, "rt_sigaction", SIGURG, f.sigact(0x1234, 0, 0, 0), 0, 8)
		f.ok(t, "rt_sigaction", SIGPIPE, f.sigact(SIG_IGN, 0, 0, 0), 0, 8)
		f.ok(t, "rt_sigprocmask", SIG_BLOCK, f.u64s(sigBit(SIGUSR1)), 0, 8)
		st := f.readFile(t, "/proc/self/status")
		for _, w := range []string{"Name:\thello\n", "Pid:\t4242\n", "PPid:\t4241\n", "Threads:\t1\n",
			"SigBlk:\t0000000000000200\n", "SigIgn:\t0000000000001000\n", "SigCgt:\t0000000000400000\n",
			"Cpus_allowed:\t3\n", "Cpus_allowed_list:\t0-1\n"} {
			if !strings.Contains(st, w) {
				t.Errorf("status lacks %q:\n%s", w, st)
			}
		}
	})
}

func TestOpenErrors(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		x := abiOf(a)
		cases := []struct {
			path  string
			flags uint64
			want  Errno
		}{
			{"/nonexistent", O_RDONLY, ENOENT},
			{"/proc/self/nonexistent", O_RDONLY, ENOENT},
			{"", O_RDONLY, ENOENT},
			{"/etc/hostname/", O_RDONLY, ENOTDIR},
			{"/etc/hostname/x", O_RDONLY, ENOTDIR},
			{"/etc/hostname", O_RDONLY | x.oDirectory, ENOTDIR},
			{"/etc/hostname", O_WRONLY, EROFS},
			{"/etc/hostname", O_RDONLY | O_TRUNC, EROFS},
			{"/etc/newfile", O_WRONLY | O_CREAT, EROFS},
			{"/proc/self/cgroup", O_RDWR, EACCES},
			{"/proc/newfile", O_WRONLY | O_CREAT, EACCES},
			{"/sys/fs/cgroup/cpu.max", O_WRONLY, EROFS},
			{"/etc/hostname", O_RDONLY | O_CREAT | O_EXCL, EEXIST},
			{"/nodir/newfile", O_WRONLY | O_CREAT, ENOENT},
			{"/proc", O_WRONLY, EISDIR},
			{"/proc", O_RDONLY | O_CREAT, EISDIR},
			{"/proc/self/exe", O_RDONLY, ENOENT}, // the executable is not in the virtual tree
			{"/proc/self", O_RDONLY | x.oNofollow, ELOOP},
			{"/tmp", O_RDWR | x.oTmpfile(), ENOENT},
			{"/proc", O_RDONLY | x.oTmpfile(), EINVAL},
			{"/proc", O_RDWR | __O_TMPFILE, EINVAL},
			{"/etc", O_RDWR | x.oTmpfile(), EROFS},
			{"/" + strings.Repeat("a", 256), O_RDONLY, ENAMETOOLONG},
		}
		for _, c := range cases {
			f.fails(t, c.want, "openat", atFdcwd, f.cstr(c.path), c.flags, 0o644)
		}
		f.fails(t, ENAMETOOLONG, "openat", atFdcwd, f.cstr(strings.Repeat("/a", 2048)), O_RDONLY, 0)
		f.fails(t, EFAULT, "openat", atFdcwd, unmapped, O_RDONLY, 0)
		f.fails(t, EFAULT, "openat", atFdcwd, 0, O_RDONLY, 0)
		// Symlink loops would need a loop; chains resolve.
		if got := f.readFile(t, "/proc/self/cwd/proc/self/root/etc/hostname"); got != "gorunemu\n" {
			t.Errorf("through cwd and root links: %q", got)
		}
		// dirfd-relative lookups.
		dfd := f.ok(t, "openat", atFdcwd, f.cstr("/proc/self"), O_RDONLY|x.oDirectory, 0)
		fd := f.ok(t, "openat", dfd, f.cstr("cgroup"), O_RDONLY, 0)
		if fd != dfd+1 {
			t.Errorf("fd %d, want %d", fd, dfd+1)
		}
		ffd := f.ok(t, "openat", atFdcwd, f.cstr("/etc/hostname"), O_RDONLY, 0)
		f.fails(t, ENOTDIR, "openat", ffd, f.cstr("x"), O_RDONLY, 0)
		f.fails(t, EBADF, "openat", 99, f.cstr("x"), O_RDONLY, 0)
		f.ok(t, "openat", 99, f.cstr("/etc/hostname"), O_RDONLY, 0) // absolute ignores dirfd
		rel := f.ok(t, "openat", atFdcwd, f.cstr("etc/hostname"), O_RDONLY, 0)
		if rel == 0 {
			t.Error("relative path from cwd /")
		}
		// Character devices open for writing; O_PATH opens the link itself.
		f.ok(t, "openat", atFdcwd, f.cstr("/dev/null"), O_WRONLY, 0)
		f.ok(t, "openat", atFdcwd, f.cstr("/proc/self"), O_PATH|x.oNofollow, 0)
	})
	f := newFake(t, arch.AMD64)
	fd := f.ok(t, "open", f.cstr("/proc/self/cgroup"), O_RDONLY, 0)
	if fd != 3 {
		t.Errorf("open = %d, want 3", fd)
	}
	f.fails(t, ENOENT, "open", f.cstr("/missing"), O_RDONLY, 0)
}

func TestFdSemantics(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		x := abiOf(a)
		// Standard fds: F_GETFD succeeds, F_GETFL shows the access mode,
		// and O_LARGEFILE only for stdin, which open(2) made: 1 and 2 are
		// pipes (a host pipe's F_GETFL is 01).
		for fd, want := range []uint64{O_RDONLY | x.oLargefile, O_WRONLY, O_WRONLY} {
			if got := f.ok(t, "fcntl", uint64(fd), F_GETFD); got != 0 {
				t.Errorf("F_GETFD(%d) = %d", fd, got)
			}
			if got := f.ok(t, "fcntl", uint64(fd), F_GETFL); got != want {
				t.Errorf("F_GETFL(%d) = %#x, want %#x", fd, got, want)
			}
		}
		buf := f.alloc(64)
		if got := f.ok(t, "read", 0, buf, 64); got != 0 {
			t.Errorf("stdin read %d, want EOF", got)
		}
		f.fails(t, EBADF, "read", 1, buf, 64)
		f.fails(t, EBADF, "write", 0, buf, 1)

		// Lowest free fd, O_CLOEXEC tracked, dup shares the offset.
		p := f.cstr("/proc/self/cgroup")
		a3 := f.ok(t, "openat", atFdcwd, p, O_RDONLY|O_CLOEXEC, 0)
		a4 := f.ok(t, "openat", atFdcwd, p, O_RDONLY, 0)
		if a3 != 3 || a4 != 4 {
			t.Fatalf("fds %d %d", a3, a4)
		}
		if f.ok(t, "fcntl", 3, F_GETFD) != FD_CLOEXEC || f.ok(t, "fcntl", 4, F_GETFD) != 0 {
			t.Error("FD_CLOEXEC")
		}
		f.ok(t, "close", 3)
		if got := f.ok(t, "openat", atFdcwd, p, O_RDONLY, 0); got != 3 {
			t.Errorf("reuse: fd %d, want 3", got)
		}
		d := f.ok(t, "dup", 4)
		if d != 5 || f.ok(t, "fcntl", 5, F_GETFD) != 0 {
			t.Errorf("dup = %d", d)
		}
		if got := f.ok(t, "read", 4, buf, 2); got != 2 {
			t.Fatal(got)
		}
		if got := f.ok(t, "read", 5, buf, 64); got != 3 || string(f.mem(t, buf, 3)) != ":/\n" {
			t.Errorf("dup'd fd did not share the offset: %d %q", got, f.mem(t, buf, 3))
		}
		f.ok(t, "fcntl", 5, F_SETFD, FD_CLOEXEC)
		if f.ok(t, "fcntl", 5, F_GETFD) != FD_CLOEXEC {
			t.Error("F_SETFD")
		}
		if got := f.ok(t, "fcntl", 4, F_DUPFD_CLOEXEC, 10); got != 10 || f.ok(t, "fcntl", 10, F_GETFD) != FD_CLOEXEC {
			t.Errorf("F_DUPFD_CLOEXEC = %d", got)
		}
		if got := f.ok(t, "fcntl", 4, F_DUPFD, 0); got != 6 {
			t.Errorf("F_DUPFD = %d", got)
		}
		f.fails(t, EINVAL, "fcntl", 4, F_DUPFD, 1024)
		f.ok(t, "fcntl", 4, F_SETFL, O_NONBLOCK|O_APPEND|O_WRONLY)
		if got := f.ok(t, "fcntl", 4, F_GETFL); got != O_RDONLY|O_NONBLOCK|O_APPEND|x.oLargefile {
			t.Errorf("F_SETFL: flags %#x (access mode must not change)", got)
		}
		f.fails(t, EINVAL, "fcntl", 4, F_SETFL, x.oDirect)
		f.fails(t, EBADF, "fcntl", 99, F_GETFD)
		f.fails(t, EBADF, "fcntl", neg(1), F_GETFD)
		f.fails(t, EINVAL, "fcntl", 4, 12345)
		f.fails(t, EBADF, "fcntl", 4, F_GETPIPE_SZ)
		if f.ok(t, "fcntl", 1, F_GETPIPE_SZ) != 65536 {
			t.Error("pipe size")
		}

		// dup3 and close.
		f.fails(t, EINVAL, "dup3", 4, 4, 0)
		f.fails(t, EINVAL, "dup3", 4, 20, 1)
		f.fails(t, EBADF, "dup3", 99, 20, 0)
		f.fails(t, EBADF, "dup3", 4, 5000, 0)
		if got := f.ok(t, "dup3", 4, 20, O_CLOEXEC); got != 20 || f.ok(t, "fcntl", 20, F_GETFD) != FD_CLOEXEC {
			t.Error("dup3")
		}
		f.ok(t, "close", 20)
		f.fails(t, EBADF, "close", 20)
		f.fails(t, EBADF, "close", neg(1))

		// EMFILE at RLIMIT_NOFILE.
		f.ok(t, "prlimit64", 0, RLIMIT_NOFILE, f.u64s(12, 4096), 0)
		for i := f.p.k.FileCount(); i < 12; i++ {
			f.ok(t, "dup", 0)
		}
		f.fails(t, EMFILE, "dup", 0)
		f.fails(t, EMFILE, "openat", atFdcwd, p, O_RDONLY, 0)
	})
	f := newFake(t, arch.AMD64)
	if got := f.ok(t, "dup2", 1, 9); got != 9 {
		t.Errorf("dup2 = %d", got)
	}
	if got := f.ok(t, "dup2", 9, 9); got != 9 {
		t.Errorf("dup2 same = %d", got)
	}
	f.fails(t, EBADF, "dup2", 50, 50)
	f.fails(t, EBADF, "dup2", 1, 5000)
}

func TestReadWrite(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		msg := f.bytesAt([]byte("hello world\n"))
		if got := f.ok(t, "write", 1, msg, 12); got != 12 {
			t.Errorf("write = %d", got)
		}
		f.ok(t, "write", 2, msg, 5)
		iov := f.u64s(msg, 6, msg+6, 6)
		if got := f.ok(t, "writev", 1, iov, 2); got != 12 {
			t.Errorf("writev = %d", got)
		}
		if f.p.stdout.String() != "hello world\nhello world\n" || f.p.stderr.String() != "hello" {
			t.Errorf("stdout %q stderr %q", f.p.stdout.String(), f.p.stderr.String())
		}
		f.fails(t, EFAULT, "write", 1, unmapped, 4)
		f.fails(t, EBADF, "write", 7, msg, 4)
		f.fails(t, ESPIPE, "pwrite64", 1, msg, 4, 0)
		f.fails(t, EINVAL, "writev", 1, iov, 1025)
		f.fails(t, EINVAL, "writev", 1, f.u64s(msg, 1<<63), 1)
		f.fails(t, EFAULT, "writev", 1, unmapped, 1)
		if got := f.ok(t, "write", 1, msg, 0); got != 0 {
			t.Errorf("empty write = %d", got)
		}
		// A partial buffer: bytes up to the unmapped page are written.
		end := uint64(scratchBase + scratchPages*a.PageSize)
		if err := f.WriteMem(end-3, []byte("abc")); err != nil {
			t.Fatal(err)
		}
		f.p.stdout.Reset()
		if got := f.ok(t, "write", 1, end-3, 10); got != 3 || f.p.stdout.String() != "abc" {
			t.Errorf("partial write = %d %q", got, f.p.stdout.String())
		}

		// Regular files are read-only; reads, preads and seeks.
		fd := f.ok(t, "openat", atFdcwd, f.cstr("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"), O_RDONLY, 0)
		f.fails(t, EBADF, "write", fd, msg, 1)
		buf := f.alloc(64)
		if got := f.ok(t, "pread64", fd, buf, 64, 2); got != 6 || string(f.mem(t, buf, 6)) != "97152\n" {
			t.Errorf("pread = %d %q", got, f.mem(t, buf, 6))
		}
		f.fails(t, EINVAL, "pread64", fd, buf, 64, neg(1))
		f.fails(t, ESPIPE, "pread64", 1, buf, 64, 0)
		if got := f.ok(t, "read", fd, buf, 3); got != 3 {
			t.Errorf("read = %d", got)
		}
		if got := f.ok(t, "lseek", fd, 0, SEEK_CUR); got != 3 {
			t.Errorf("offset after pread+read = %d, want 3 (pread must not move it)", got)
		}
		if got := f.ok(t, "lseek", fd, neg(2), SEEK_END); got != 6 {
			t.Errorf("SEEK_END = %d", got)
		}
		f.fails(t, EINVAL, "lseek", fd, neg(100), SEEK_SET)
		f.fails(t, EINVAL, "lseek", fd, 0, 9)
		f.fails(t, ENXIO, "lseek", fd, 100, SEEK_DATA)
		if got := f.ok(t, "lseek", fd, 1, SEEK_HOLE); got != 8 {
			t.Errorf("SEEK_HOLE = %d", got)
		}
		f.fails(t, ESPIPE, "lseek", 1, 0, SEEK_SET)
		if got := f.ok(t, "read", fd, unmapped, 4); got != 0 {
			t.Errorf("read at EOF = %d, want 0 (the buffer is not touched)", got)
		}
		f.ok(t, "lseek", fd, 0, SEEK_SET)
		f.fails(t, EFAULT, "read", fd, unmapped, 4)
		if got := f.ok(t, "lseek", fd, 0, SEEK_CUR); got != 0 {
			t.Errorf("a faulting read moved the offset to %d", got)
		}
		// procfs files seek like seq_files.
		pfd := f.ok(t, "openat", atFdcwd, f.cstr("/proc/self/cgroup"), O_RDONLY, 0)
		f.fails(t, EINVAL, "lseek", pfd, 0, SEEK_END)
		f.ok(t, "lseek", pfd, 2, SEEK_SET)
		if got := f.ok(t, "read", pfd, buf, 64); got != 3 {
			t.Errorf("read after seek = %d", got)
		}
		// readv scatters.
		f.ok(t, "lseek", pfd, 0, SEEK_SET)
		b1, b2 := f.alloc(2), f.alloc(8)
		if got := f.ok(t, "readv", pfd, f.u64s(b1, 2, b2, 8), 2); got != 5 || string(f.mem(t, b1, 2)) != "0:" || string(f.mem(t, b2, 3)) != ":/\n" {
			t.Errorf("readv = %d %q %q", got, f.mem(t, b1, 2), f.mem(t, b2, 3))
		}
		// Directories.
		dfd := f.ok(t, "openat", atFdcwd, f.cstr("/proc"), O_RDONLY, 0)
		f.fails(t, EISDIR, "read", dfd, buf, 64)
		// /dev/zero and /dev/urandom.
		zfd := f.ok(t, "openat", atFdcwd, f.cstr("/dev/zero"), O_RDWR, 0)
		if err := f.WriteMem(buf, bytes.Repeat([]byte{0xff}, 16)); err != nil {
			t.Fatal(err)
		}
		if got := f.ok(t, "read", zfd, buf, 16); got != 16 || !bytes.Equal(f.mem(t, buf, 16), make([]byte, 16)) {
			t.Error("/dev/zero")
		}
		if got := f.ok(t, "write", zfd, msg, 12); got != 12 {
			t.Error("write to /dev/zero")
		}
		nfd := f.ok(t, "openat", atFdcwd, f.cstr("/dev/null"), O_WRONLY, 0)
		if got := f.ok(t, "write", nfd, msg, 12); got != 12 || f.ok(t, "lseek", nfd, 5, SEEK_SET) != 0 {
			t.Error("/dev/null")
		}
	})
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("pipe closed") }

func TestWriteHostError(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFakeWith(t, a, Config{Stdout: failingWriter{}})
		_, err := f.sysErr(t, "write", 1, f.cstr("x"), 1)
		if err == nil || !strings.Contains(err.Error(), "syscalls: write: fd 1: host writer: pipe closed") {
			t.Errorf("err %v", err)
		}
		var e Errno
		if errors.As(err, &e) {
			t.Error("a host writer error must not look like a guest errno")
		}
	})
}

func TestStat(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		x := abiOf(a)
		st := f.alloc(x.statSize + 16)
		// Field offsets of struct stat per arch.
		modeOff, sizeOff, blksizeOff := 24, 48, 56
		if a.Name == "arm64" {
			modeOff = 16
		}
		stat := func(path string, flags uint64) (mode uint32, size, ino, dev uint64) {
			t.Helper()
			f.ok(t, "newfstatat", atFdcwd, f.cstr(path), st, flags)
			return f.u32At(t, st+uint64(modeOff)), f.u64At(t, st+uint64(sizeOff)), f.u64At(t, st+8), f.u64At(t, st)
		}
		mode, size, ino, dev := stat("/etc/hostname", 0)
		if mode != S_IFREG|0o644 || size != 9 || ino == 0 || dev != encodeDev(0, 32) {
			t.Errorf("/etc/hostname: mode %o size %d ino %d dev %#x", mode, size, ino, dev)
		}
		if a.Name == "amd64" {
			if got := f.u64At(t, st+uint64(blksizeOff)); got != 4096 {
				t.Errorf("blksize %d", got)
			}
		} else if got := f.u32At(t, st+uint64(blksizeOff)); got != 4096 {
			t.Errorf("blksize %d", got)
		}
		if mode, size, _, dev := stat("/proc/self/cgroup", 0); mode != S_IFREG|0o444 || size != 0 || dev != encodeDev(0, 22) {
			t.Errorf("procfs file: mode %o size %d dev %#x", mode, size, dev)
		}
		if _, size, _, _ := stat("/sys/fs/cgroup/cpu.max", 0); size != 0 {
			t.Errorf("cgroupfs size %d", size)
		}
		if _, size, _, _ := stat("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", 0); size != 4096 {
			t.Errorf("sysfs size %d", size)
		}
		if mode, _, _, _ := stat("/proc/self", AT_SYMLINK_NOFOLLOW); mode != S_IFLNK|0o777 {
			t.Errorf("lstat /proc/self mode %o", mode)
		}
		if mode, _, _, _ := stat("/proc/self", 0); mode&S_IFMT != S_IFDIR {
			t.Errorf("stat /proc/self mode %o", mode)
		}
		if mode, _, _, _ := stat("/dev/null", 0); mode != S_IFCHR|0o666 {
			t.Errorf("/dev/null mode %o", mode)
		}
		_, _, ino1, _ := stat("/etc/hostname", 0)
		g := newFake(t, a)
		gst := g.alloc(256)
		g.ok(t, "newfstatat", atFdcwd, g.cstr("/etc/hostname"), gst, 0)
		if g.u64At(t, gst+8) != ino1 {
			t.Error("inode numbers must be deterministic")
		}
		// fstat of a pipe and of an opened file.
		f.ok(t, "fstat", 1, st)
		if got := f.u32At(t, st+uint64(modeOff)); got != S_IFIFO|0o600 {
			t.Errorf("stdout mode %o", got)
		}
		fd := f.ok(t, "openat", atFdcwd, f.cstr("/etc/hostname"), O_RDONLY, 0)
		f.ok(t, "fstat", fd, st)
		if f.u64At(t, st+uint64(sizeOff)) != 9 {
			t.Error("fstat size")
		}
		// AT_EMPTY_PATH stats the fd itself.
		f.ok(t, "newfstatat", fd, f.cstr(""), st, AT_EMPTY_PATH)
		if f.u64At(t, st+uint64(sizeOff)) != 9 {
			t.Error("AT_EMPTY_PATH")
		}
		f.fails(t, ENOENT, "newfstatat", fd, f.cstr(""), st, 0)
		f.fails(t, EINVAL, "newfstatat", atFdcwd, f.cstr("/etc"), st, 0x8000)
		f.fails(t, ENOENT, "newfstatat", atFdcwd, f.cstr("/nope"), st, 0)
		f.fails(t, EFAULT, "newfstatat", atFdcwd, f.cstr("/etc"), unmapped, 0)
		f.fails(t, EBADF, "fstat", 99, st)

		// statx.
		sx := f.alloc(256)
		f.ok(t, "statx", atFdcwd, f.cstr("/dev/urandom"), 0, STATX_BASIC_STATS, sx)
		if le.Uint32(f.mem(t, sx, 4)) != STATX_BASIC_STATS || le.Uint16(f.mem(t, sx+28, 2)) != S_IFCHR|0o666 ||
			f.u32At(t, sx+128) != 1 || f.u32At(t, sx+132) != 9 || f.u32At(t, sx+136) != 0 || f.u32At(t, sx+140) != 5 {
			t.Errorf("statx /dev/urandom: % x", f.mem(t, sx, 144))
		}
		f.fails(t, EINVAL, "statx", atFdcwd, f.cstr("/"), AT_STATX_FORCE_SYNC|AT_STATX_DONT_SYNC, 0, sx)
		f.fails(t, EINVAL, "statx", atFdcwd, f.cstr("/"), 0, STATX__RESERVED, sx)
		f.fails(t, EINVAL, "statx", atFdcwd, f.cstr("/"), 1, 0, sx)
		f.fails(t, ENOENT, "statx", atFdcwd, f.cstr("/x"), 0, 0, sx)
	})
	if abiOf(arch.AMD64).statSize != 144 || abiOf(arch.ARM64).statSize != 128 {
		t.Error("struct stat sizes")
	}
	f := newFake(t, arch.AMD64)
	st := f.alloc(144)
	f.ok(t, "stat", f.cstr("/proc/self"), st)
	if f.u32At(t, st+24)&S_IFMT != S_IFDIR {
		t.Error("stat follows links")
	}
	f.ok(t, "lstat", f.cstr("/proc/self"), st)
	if f.u32At(t, st+24)&S_IFMT != S_IFLNK {
		t.Error("lstat does not follow links")
	}
}

func TestReadlink(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		buf := f.alloc(256)
		n := f.ok(t, "readlinkat", atFdcwd, f.cstr("/proc/self/exe"), buf, 256)
		if got := string(f.mem(t, buf, int(n))); got != "/usr/local/bin/hello" {
			t.Errorf("readlink /proc/self/exe = %q", got)
		}
		if n := f.ok(t, "readlinkat", atFdcwd, f.cstr("/proc/self/exe"), buf, 4); n != 4 || string(f.mem(t, buf, 4)) != "/usr" {
			t.Errorf("truncated readlink = %d", n)
		}
		if n := f.ok(t, "readlinkat", atFdcwd, f.cstr("/proc/self"), buf, 256); string(f.mem(t, buf, int(n))) != "4242" {
			t.Errorf("/proc/self -> %q", f.mem(t, buf, int(n)))
		}
		f.fails(t, EINVAL, "readlinkat", atFdcwd, f.cstr("/etc/hostname"), buf, 256)
		f.fails(t, EINVAL, "readlinkat", atFdcwd, f.cstr("/proc/self/exe"), buf, 0)
		f.fails(t, ENOENT, "readlinkat", atFdcwd, f.cstr("/proc/self/none"), buf, 256)
		f.fails(t, EFAULT, "readlinkat", atFdcwd, f.cstr("/proc/self/exe"), unmapped, 256)
		g := newFakeWith(t, a, Config{})
		g.fails(t, ENOENT, "readlinkat", atFdcwd, g.cstr("/proc/self/exe"), g.alloc(8), 8)
	})
	f := newFake(t, arch.AMD64)
	buf := f.alloc(64)
	if n := f.ok(t, "readlink", f.cstr("/proc/self/exe"), buf, 64); string(f.mem(t, buf, int(n))) != "/usr/local/bin/hello" {
		t.Error("readlink")
	}
}

func TestGetdents64(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		fd := f.ok(t, "openat", atFdcwd, f.cstr("/dev"), O_RDONLY|abiOf(a).oDirectory, 0)
		buf := f.alloc(4096)
		n := f.ok(t, "getdents64", fd, buf, 4096)
		b := f.mem(t, buf, int(n))
		var names []string
		var types []byte
		for len(b) > 0 {
			reclen := int(le.Uint16(b[16:]))
			if reclen%8 != 0 || reclen < 20 {
				t.Fatalf("reclen %d", reclen)
			}
			names = append(names, strings.TrimRight(string(b[19:reclen]), "\x00"))
			types = append(types, b[18])
			b = b[reclen:]
		}
		if strings.Join(names, " ") != ". .. null random urandom zero" || types[0] != DT_DIR || types[2] != DT_CHR {
			t.Errorf("entries %v types %v", names, types)
		}
		if got := f.ok(t, "getdents64", fd, buf, 4096); got != 0 {
			t.Errorf("second call = %d, want 0 at the end", got)
		}
		f.ok(t, "lseek", fd, 0, SEEK_SET)
		f.fails(t, EINVAL, "getdents64", fd, buf, 10)
		if got := f.ok(t, "getdents64", fd, buf, 24); got != 24 {
			t.Errorf("one entry = %d", got)
		}
		ffd := f.ok(t, "openat", atFdcwd, f.cstr("/etc/hostname"), O_RDONLY, 0)
		f.fails(t, ENOTDIR, "getdents64", ffd, buf, 4096)
		f.fails(t, EBADF, "getdents64", 99, buf, 4096)
		f.fails(t, EFAULT, "getdents64", fd, unmapped, 4096)
	})
}

func TestAccessIoctlGetcwd(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		f.ok(t, "faccessat", atFdcwd, f.cstr("/proc/self/cgroup"), R_OK)
		f.ok(t, "faccessat", atFdcwd, f.cstr("/dev/null"), R_OK|W_OK)
		f.fails(t, EROFS, "faccessat", atFdcwd, f.cstr("/etc/hostname"), W_OK)
		f.fails(t, EACCES, "faccessat", atFdcwd, f.cstr("/etc/hostname"), X_OK)
		f.ok(t, "faccessat", atFdcwd, f.cstr("/proc"), X_OK)
		f.fails(t, ENOENT, "faccessat", atFdcwd, f.cstr("/x"), F_OK)
		f.fails(t, EINVAL, "faccessat", atFdcwd, f.cstr("/"), 8)
		f.fails(t, EINVAL, "faccessat2", atFdcwd, f.cstr("/"), F_OK, 1)
		f.ok(t, "faccessat2", atFdcwd, f.cstr("/proc/self"), F_OK, AT_SYMLINK_NOFOLLOW|AT_EACCESS)
		g := newFakeWith(t, a, Config{UID: 1000})
		g.fails(t, EACCES, "faccessat", atFdcwd, g.cstr("/proc/self/cgroup"), W_OK)
		g.ok(t, "faccessat", atFdcwd, g.cstr("/proc/self/cgroup"), R_OK)

		ws := f.alloc(8)
		f.fails(t, ENOTTY, "ioctl", 1, TCGETS, ws)
		f.fails(t, ENOTTY, "ioctl", 0, TIOCGWINSZ, ws)
		f.fails(t, EBADF, "ioctl", 42, TCGETS, ws)
		f.ok(t, "ioctl", 1, FIOCLEX)
		if f.ok(t, "fcntl", 1, F_GETFD) != FD_CLOEXEC {
			t.Error("FIOCLEX")
		}
		f.ok(t, "ioctl", 1, FIONCLEX)
		f.ok(t, "ioctl", 1, FIONBIO, f.u64s(1))
		if f.ok(t, "fcntl", 1, F_GETFL)&O_NONBLOCK == 0 {
			t.Error("FIONBIO")
		}
		fd := f.ok(t, "openat", atFdcwd, f.cstr("/etc/hostname"), O_RDONLY, 0)
		f.ok(t, "read", fd, ws, 4)
		f.ok(t, "ioctl", fd, FIONREAD, ws)
		if f.u32At(t, ws) != 5 {
			t.Errorf("FIONREAD %d", f.u32At(t, ws))
		}

		buf := f.alloc(8)
		if got := f.ok(t, "getcwd", buf, 8); got != 2 || string(f.mem(t, buf, 2)) != "/\x00" {
			t.Errorf("getcwd = %d", got)
		}
		f.fails(t, ERANGE, "getcwd", buf, 1)
		f.fails(t, EFAULT, "getcwd", unmapped, 8)
	})
	f := newFake(t, arch.AMD64)
	f.ok(t, "access", f.cstr("/dev/urandom"), R_OK)
	f.fails(t, ENOENT, "access", f.cstr("/dev/sda"), R_OK)
}

func TestOpenFlagsKept(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		x := abiOf(a)
		// O_CLOEXEC goes to the descriptor (F_GETFD), not to F_GETFL;
		// unknown bits are dropped; O_LARGEFILE is always there.
		fd := f.ok(t, "openat", atFdcwd, f.cstr("/proc/self/cgroup"), O_RDONLY|O_CLOEXEC|O_NONBLOCK|1<<30, 0)
		if got := f.ok(t, "fcntl", fd, F_GETFL); got != O_RDONLY|O_NONBLOCK|x.oLargefile {
			t.Errorf("F_GETFL %#x, want %#x", got, O_RDONLY|O_NONBLOCK|x.oLargefile)
		}
		if f.ok(t, "fcntl", fd, F_GETFD) != FD_CLOEXEC {
			t.Error("FD_CLOEXEC")
		}
		dfd := f.ok(t, "openat", atFdcwd, f.cstr("/proc"), O_RDONLY|x.oDirectory, 0)
		if got := f.ok(t, "fcntl", dfd, F_GETFL); got != x.oDirectory|x.oLargefile {
			t.Errorf("directory F_GETFL %#x", got)
		}
	})
}
