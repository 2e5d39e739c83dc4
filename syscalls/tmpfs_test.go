package syscalls

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// fileStat is what the tmpfs tests read back from newfstatat.
type fileStat struct {
	mode  uint32
	nlink uint64
	size  int64
	mtime int64 // seconds
}

func (f *fakeTask) statPath(t testing.TB, p string, flags uint64) fileStat {
	t.Helper()
	st := f.alloc(abiOf(f.p.arch).statSize)
	f.ok(t, "newfstatat", atFdcwd, f.cstr(p), st, flags)
	s := fileStat{size: int64(f.u64At(t, st+48)), mtime: int64(f.u64At(t, st+88))}
	if f.p.arch.Name == "arm64" {
		s.mode, s.nlink = f.u32At(t, st+16), uint64(f.u32At(t, st+20))
	} else {
		s.mode, s.nlink = f.u32At(t, st+24), f.u64At(t, st+16)
	}
	return s
}

func (f *fakeTask) create(t testing.TB, p string, flags uint64, mode uint64) uint64 {
	t.Helper()
	return f.ok(t, "openat", atFdcwd, f.cstr(p), O_CREAT|flags, mode)
}

// TestTmpfsFiles: a tmpfs keeps what the guest writes, as Linux's does.
func TestTmpfsFiles(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFakeWith(t, a, Config{Tmpfs: []string{"/tmp"}})
		x := abiOf(a)
		if st := f.statPath(t, "/tmp", 0); st.mode != S_IFDIR|0o1777 {
			t.Errorf("/tmp mode %o", st.mode)
		}
		f.ok(t, "mkdirat", atFdcwd, f.cstr("/tmp/d"), 0o777)
		if st := f.statPath(t, "/tmp/d", 0); st.mode != S_IFDIR|0o755 {
			t.Errorf("mkdir mode %o, want 755 after the umask", st.mode)
		}
		fd := f.create(t, "/tmp/d/f", O_WRONLY|O_EXCL, 0o666)
		f.ok(t, "write", fd, f.cstr("hello"), 5)
		f.ok(t, "pwrite64", fd, f.cstr("J"), 1, 0)
		if got := f.readFile(t, "/tmp/d/f"); got != "Jello" {
			t.Errorf("read %q after write and pwrite", got)
		}
		f.ok(t, "close", fd)
		if st := f.statPath(t, "/tmp/d/f", 0); st.mode != S_IFREG|0o644 || st.size != 5 || st.nlink != 1 {
			t.Errorf("stat %+v", st)
		}
		f.fails(t, EEXIST, "openat", atFdcwd, f.cstr("/tmp/d/f"), O_CREAT|O_EXCL|O_WRONLY, 0o644)

		fd = f.ok(t, "openat", atFdcwd, f.cstr("/tmp/d/f"), O_WRONLY|O_APPEND, 0)
		f.ok(t, "pwrite64", fd, f.cstr("!"), 1, 0) // O_APPEND wins over the offset
		f.ok(t, "ftruncate", fd, 7)
		f.ok(t, "close", fd)
		if got := f.readFile(t, "/tmp/d/f"); got != "Jello!\x00" {
			t.Errorf("read %q after append and extend", got)
		}
		f.ok(t, "truncate", f.cstr("/tmp/d/f"), 2)
		if got := f.readFile(t, "/tmp/d/f"); got != "Je" {
			t.Errorf("read %q after truncate", got)
		}
		ro := f.ok(t, "openat", atFdcwd, f.cstr("/tmp/d/f"), O_RDONLY, 0)
		f.fails(t, EINVAL, "ftruncate", ro, 0) // not open for writing
		f.fails(t, EBADF, "write", ro, f.cstr("x"), 1)

		// A mapping sees the contents.
		addr := f.ok(t, "mmap", 0, 4096, uint64(PROT_READ), MAP_PRIVATE, ro, 0)
		if got := string(f.mem(t, addr, 3)); got != "Je\x00" {
			t.Errorf("mapped %q", got)
		}

		// Renames, links and symlinks.
		f.ok(t, "renameat2", atFdcwd, f.cstr("/tmp/d/f"), atFdcwd, f.cstr("/tmp/d/g"), 0)
		f.fails(t, ENOENT, "newfstatat", atFdcwd, f.cstr("/tmp/d/f"), f.alloc(x.statSize), 0)
		f.ok(t, "linkat", atFdcwd, f.cstr("/tmp/d/g"), atFdcwd, f.cstr("/tmp/d/h"), 0)
		if st := f.statPath(t, "/tmp/d/h", 0); st.nlink != 2 {
			t.Errorf("nlink %d after link", st.nlink)
		}
		f.fails(t, EEXIST, "renameat2", atFdcwd, f.cstr("/tmp/d/g"), atFdcwd, f.cstr("/tmp/d/h"), RENAME_NOREPLACE)
		f.ok(t, "unlinkat", atFdcwd, f.cstr("/tmp/d/g"), 0)
		if got := f.readFile(t, "/tmp/d/h"); got != "Je" {
			t.Errorf("read %q through the other link", got)
		}
		f.ok(t, "symlinkat", f.cstr("h"), atFdcwd, f.cstr("/tmp/d/l"))
		if got := f.readFile(t, "/tmp/d/l"); got != "Je" {
			t.Errorf("read %q through the symlink", got)
		}
		if st := f.statPath(t, "/tmp/d/l", AT_SYMLINK_NOFOLLOW); st.mode != S_IFLNK|0o777 || st.size != 1 {
			t.Errorf("symlink stat %+v", st)
		}
		if got := f.dirNames(t, "/tmp/d"); !reflect.DeepEqual(got, []string{".", "..", "h", "l"}) {
			t.Errorf("listing %q", got)
		}
		f.fails(t, EINVAL, "renameat2", atFdcwd, f.cstr("/tmp/d"), atFdcwd, f.cstr("/tmp/d/sub"), 0)
		f.fails(t, EXDEV, "renameat2", atFdcwd, f.cstr("/tmp/d/h"), atFdcwd, f.cstr("/etc/h"), 0)
		f.fails(t, EXDEV, "linkat", atFdcwd, f.cstr("/etc/hostname"), atFdcwd, f.cstr("/tmp/h"), 0)
		f.fails(t, ENOTEMPTY, "unlinkat", atFdcwd, f.cstr("/tmp/d"), AT_REMOVEDIR)
		f.fails(t, EISDIR, "unlinkat", atFdcwd, f.cstr("/tmp/d"), 0)
		f.fails(t, EROFS, "unlinkat", atFdcwd, f.cstr("/tmp"), AT_REMOVEDIR) // the root above it is read-only

		// Modes and times change; other owners are refused to root only
		// as a gap.
		f.ok(t, "fchmodat", atFdcwd, f.cstr("/tmp/d/h"), 0o600)
		f.ok(t, "utimensat", atFdcwd, f.cstr("/tmp/d/h"), f.u64s(0, UTIME_OMIT, 1000, 0), 0)
		if st := f.statPath(t, "/tmp/d/h", 0); st.mode != S_IFREG|0o600 || st.mtime != 1000 {
			t.Errorf("after chmod and utimensat: %+v", st)
		}
		f.ok(t, "fchownat", atFdcwd, f.cstr("/tmp/d/h"), ^uint64(0), 0, 0)
		f.gap(t, "fchownat", atFdcwd, f.cstr("/tmp/d/h"), 1000, 1000, 0)

		f.ok(t, "unlinkat", atFdcwd, f.cstr("/tmp/d/h"), 0)
		f.ok(t, "unlinkat", atFdcwd, f.cstr("/tmp/d/l"), 0)
		f.ok(t, "unlinkat", atFdcwd, f.cstr("/tmp/d"), AT_REMOVEDIR)
		if got := f.dirNames(t, "/tmp"); !reflect.DeepEqual(got, []string{".", ".."}) {
			t.Errorf("/tmp after removing everything: %q", got)
		}
		// The open description still reads the removed file.
		buf := f.alloc(8)
		if n := f.ok(t, "pread64", ro, buf, 8, 0); string(f.mem(t, buf, int(n))) != "Je" {
			t.Errorf("removed file reads %q", f.mem(t, buf, int(n)))
		}
		f.ok(t, "close", ro)
		if used := f.p.k.tmpfsUsed; used != 0 {
			t.Errorf("%d bytes still counted with every file gone", used)
		}
		f.fails(t, EROFS, "openat", atFdcwd, f.cstr("/etc/new"), O_CREAT|O_WRONLY, 0o644)
	})
}

// TestTmpfsFull: the tmpfs holds at most TmpfsSize bytes; a file removed
// while open counts until it is closed.
func TestTmpfsFull(t *testing.T) {
	f := newFakeWith(t, arch.AMD64, Config{Tmpfs: []string{"/tmp"}, TmpfsSize: 10000})
	big := f.alloc(8000)
	a := f.create(t, "/tmp/a", O_RDWR, 0o600)
	if n := f.ok(t, "write", a, big, 8000); n != 8000 {
		t.Fatalf("wrote %d", n)
	}
	b := f.create(t, "/tmp/b", O_RDWR, 0o600)
	if n := f.ok(t, "write", b, big, 8000); n != 2000 {
		t.Errorf("a write that fills the tmpfs wrote %d bytes, want what fits (2000)", n)
	}
	f.fails(t, ENOSPC, "write", b, big, 1)
	f.fails(t, ENOSPC, "ftruncate", b, 1<<20)
	f.ok(t, "unlinkat", atFdcwd, f.cstr("/tmp/a"), 0)
	f.fails(t, ENOSPC, "write", b, big, 1)
	f.ok(t, "close", a)
	f.ok(t, "write", b, big, 1)
}

// TestWorkingDirectory: chdir, fchdir, getcwd and relative paths.
func TestWorkingDirectory(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFakeWith(t, a, Config{Tmpfs: []string{"/tmp"}, Cwd: "/tmp"})
		getcwd := func() string {
			buf := f.alloc(64)
			n := f.ok(t, "getcwd", buf, 64)
			return string(f.mem(t, buf, int(n)-1))
		}
		if got := getcwd(); got != "/tmp" {
			t.Errorf("getcwd %q, want Config.Cwd", got)
		}
		f.ok(t, "close", f.create(t, "rel", O_WRONLY, 0o644))
		f.statPath(t, "/tmp/rel", 0)
		f.ok(t, "chdir", f.cstr("/proc/self"))
		if got := getcwd(); got != "/proc/4242" {
			t.Errorf("getcwd %q after chdir through a symlink", got)
		}
		if got := f.readFile(t, "cgroup"); got != "0::/\n" {
			t.Errorf("relative read %q", got)
		}
		f.fails(t, ENOTDIR, "chdir", f.cstr("/etc/hostname"))
		f.fails(t, ENOENT, "chdir", f.cstr("/nowhere"))
		dir := f.ok(t, "openat", atFdcwd, f.cstr("/tmp"), O_PATH, 0)
		f.ok(t, "fchdir", dir)
		buf := f.alloc(64)
		n := f.ok(t, "readlinkat", atFdcwd, f.cstr("/proc/self/cwd"), buf, 64)
		if got := string(f.mem(t, buf, int(n))); got != "/tmp" {
			t.Errorf("/proc/self/cwd -> %q", got)
		}
		f.fails(t, ERANGE, "getcwd", buf, 4)
		f.ok(t, "mkdirat", atFdcwd, f.cstr("gone"), 0o755)
		f.ok(t, "chdir", f.cstr("gone"))
		f.ok(t, "unlinkat", atFdcwd, f.cstr("/tmp/gone"), AT_REMOVEDIR)
		f.fails(t, ENOENT, "getcwd", buf, 64)
		f.fails(t, ENOENT, "openat", atFdcwd, f.cstr("x"), O_CREAT|O_WRONLY, 0o644)

		if old := f.ok(t, "umask", 0); old != 0o022 {
			t.Errorf("umask %o", old)
		}
		f.ok(t, "close", f.create(t, "/tmp/open", O_WRONLY, 0o666))
		if st := f.statPath(t, "/tmp/open", 0); st.mode != S_IFREG|0o666 {
			t.Errorf("mode %o with umask 0", st.mode)
		}
		if old := f.ok(t, "umask", 0o077); old != 0 {
			t.Errorf("umask %o", old)
		}
	})
	_, err := OpenKernel(Config{Cwd: "/nowhere"})
	if err == nil || !strings.Contains(err.Error(), "working directory /nowhere") {
		t.Errorf("OpenKernel with a missing Cwd: %v", err)
	}
}

// TestTmpfsOverHost: under FSRoot, the host's files at a tmpfs mount
// show through read-only, and what the guest writes stays in memory.
func TestTmpfsOverHost(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "tmp", "build", "b1"), 0o755))
	must(os.WriteFile(filepath.Join(root, "tmp", "build", "b1", "prog"), []byte("ELF"), 0o755))
	must(os.WriteFile(filepath.Join(root, "tmp", "data"), []byte("host"), 0o644))
	f := newFakeWith(t, arch.ARM64, Config{FSRoot: root, Tmpfs: []string{"/tmp", "/tmp/other/t"}, Cwd: "/tmp/build/b1"})
	if got := f.readFile(t, "prog"); got != "ELF" {
		t.Errorf("host file in the working directory reads %q", got)
	}
	if got := f.readFile(t, "/tmp/data"); got != "host" {
		t.Errorf("host file at the tmpfs root reads %q", got)
	}
	f.fails(t, EROFS, "openat", atFdcwd, f.cstr("prog"), O_WRONLY, 0)
	f.fails(t, EROFS, "openat", atFdcwd, f.cstr("prog"), O_RDONLY|O_TRUNC, 0)
	f.fails(t, EROFS, "unlinkat", atFdcwd, f.cstr("/tmp/data"), 0)
	f.fails(t, EROFS, "renameat2", atFdcwd, f.cstr("/tmp/data"), atFdcwd, f.cstr("/tmp/moved"), 0)
	f.fails(t, EEXIST, "openat", atFdcwd, f.cstr("/tmp/data"), O_CREAT|O_EXCL|O_WRONLY, 0o644)
	f.fails(t, EEXIST, "mkdirat", atFdcwd, f.cstr("/tmp/build"), 0o755)
	f.fails(t, EROFS, "openat", atFdcwd, f.cstr("new"), O_CREAT|O_WRONLY, 0o644) // b1 is the host's

	// New names live in memory, beside the host's.
	fd := f.create(t, "/tmp/mine", O_WRONLY, 0o644)
	f.ok(t, "write", fd, f.cstr("guest"), 5)
	f.ok(t, "close", fd)
	f.fails(t, EROFS, "renameat2", atFdcwd, f.cstr("/tmp/mine"), atFdcwd, f.cstr("/tmp/data"), 0)
	if got := f.dirNames(t, "/tmp"); !reflect.DeepEqual(got, []string{".", "..", "build", "data", "mine", "other"}) {
		t.Errorf("/tmp lists %q", got)
	}
	if _, err := os.Stat(filepath.Join(root, "tmp", "mine")); !os.IsNotExist(err) {
		t.Errorf("a tmpfs file reached the host: %v", err)
	}
	// A nested tmpfs (a $TMPDIR under /tmp) is writable too.
	f.ok(t, "close", f.create(t, "/tmp/other/t/x", O_WRONLY, 0o644))
	if _, err := os.Stat(filepath.Join(root, "tmp", "other")); !os.IsNotExist(err) {
		t.Errorf("a tmpfs directory reached the host: %v", err)
	}
}

// TestStdin: with Config.Stdin, fd 0 reads what the host gives, then end
// of file.
func TestStdin(t *testing.T) {
	f := newFakeWith(t, arch.AMD64, Config{Stdin: strings.NewReader("abc")})
	buf := f.alloc(16)
	if n := f.ok(t, "read", 0, buf, 16); string(f.mem(t, buf, int(n))) != "abc" {
		t.Errorf("read %q", f.mem(t, buf, int(n)))
	}
	if n := f.ok(t, "read", 0, buf, 16); n != 0 {
		t.Errorf("read %d bytes at end of input", n)
	}
	f.fails(t, EBADF, "write", 0, buf, 1)
}

// TestNoChildren: wait4 and waitid see no children, as for a childless
// Linux process; bad options are EINVAL first.
func TestNoChildren(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		f.fails(t, ECHILD, "wait4", neg(1), 0, 0, 0)
		f.fails(t, ECHILD, "wait4", neg(1), 0, WNOHANG, 0)
		f.fails(t, EINVAL, "wait4", neg(1), 0, 0x100, 0)
		f.fails(t, ECHILD, "waitid", P_ALL, 0, 0, WEXITED, 0)
		f.fails(t, EINVAL, "waitid", P_ALL, 0, 0, 0, 0)
		f.fails(t, EBADF, "waitid", P_PIDFD, 99, 0, WEXITED, 0)
		f.fails(t, EINVAL, "waitid", 7, 0, 0, WEXITED, 0)
		if n := f.ok(t, "getgroups", 0, 0); n != 0 {
			t.Errorf("getgroups %d", n)
		}
		f.fails(t, EINVAL, "getgroups", neg(1), 0)
		f.ok(t, "setgroups", 0, 0)
		f.ok(t, "fsync", 0) // /dev/null
		r, _ := f.pipe2(t, 0)
		f.fails(t, EINVAL, "fsync", r)
		f.fails(t, EBADF, "fdatasync", 99)
	})
}
