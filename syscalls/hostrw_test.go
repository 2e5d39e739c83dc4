package syscalls

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// TestWritableHostDirectory: under Config.RW the guest's changes reach
// the host, and nowhere else.
func TestWritableHostDirectory(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		root := t.TempDir()
		work := filepath.Join(root, "work")
		for _, d := range []string{work, filepath.Join(root, "ro")} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink("/ro", filepath.Join(work, "out")); err != nil {
			t.Fatal(err)
		}
		host := func(p string) string {
			t.Helper()
			b, err := os.ReadFile(filepath.Join(root, p))
			if err != nil {
				return "error: " + err.Error()
			}
			return string(b)
		}
		f := newFakeWith(t, a, Config{FSRoot: root, RW: []string{"/work"}, Cwd: "/work"})
		fd := f.create(t, "a", O_WRONLY|O_EXCL, 0o666)
		f.ok(t, "write", fd, f.cstr("hello"), 5)
		f.ok(t, "pwrite64", fd, f.cstr("J"), 1, 0)
		if got := host("work/a"); got != "Jello" {
			t.Errorf("host file holds %q", got)
		}
		if st := f.statPath(t, "/work/a", 0); st.size != 5 || st.mode != S_IFREG|0o644 {
			t.Errorf("stat %+v", st)
		}
		f.ok(t, "ftruncate", fd, 2)
		f.ok(t, "close", fd)
		fd = f.ok(t, "openat", atFdcwd, f.cstr("a"), O_WRONLY|O_APPEND, 0)
		f.ok(t, "write", fd, f.cstr("!"), 1)
		if st := f.statPath(t, "a", 0); st.size != 3 {
			t.Errorf("size %d after append", st.size)
		}
		f.ok(t, "close", fd)
		if got := host("work/a"); got != "Je!" {
			t.Errorf("host file holds %q after truncate and append", got)
		}
		f.ok(t, "mkdirat", atFdcwd, f.cstr("d"), 0o777)
		f.ok(t, "renameat2", atFdcwd, f.cstr("a"), atFdcwd, f.cstr("d/b"), 0)
		f.ok(t, "linkat", atFdcwd, f.cstr("d/b"), atFdcwd, f.cstr("d/c"), 0)
		f.ok(t, "symlinkat", f.cstr("b"), atFdcwd, f.cstr("d/l"))
		f.ok(t, "fchmodat", atFdcwd, f.cstr("d/b"), 0o600)
		f.ok(t, "utimensat", atFdcwd, f.cstr("d/b"), f.u64s(0, UTIME_OMIT, 1000, 0), 0)
		st, err := os.Stat(filepath.Join(work, "d", "c"))
		if err != nil || st.Mode().Perm() != 0o600 || st.ModTime().Unix() != 1000 {
			t.Errorf("host file after link, chmod, utimensat: %v %v", st, err)
		}
		if got := f.readFile(t, "d/l"); got != "Je!" {
			t.Errorf("read %q through the new symlink", got)
		}
		f.ok(t, "truncate", f.cstr("d/c"), 0)
		if got := host("work/d/b"); got != "" {
			t.Errorf("host file holds %q after truncate", got)
		}
		if got := f.dirNames(t, "d"); !reflect.DeepEqual(got, []string{".", "..", "b", "c", "l"}) {
			t.Errorf("listing %q", got)
		}
		f.fails(t, ENOTEMPTY, "unlinkat", atFdcwd, f.cstr("d"), AT_REMOVEDIR)
		for _, n := range []string{"d/b", "d/c", "d/l"} {
			f.ok(t, "unlinkat", atFdcwd, f.cstr(n), 0)
		}
		f.ok(t, "unlinkat", atFdcwd, f.cstr("d"), AT_REMOVEDIR)
		if ents, _ := os.ReadDir(work); len(ents) != 1 {
			t.Errorf("host directory holds %v", ents)
		}

		// Outside it nothing changes, even through a symlink that
		// leads out.
		f.fails(t, EROFS, "openat", atFdcwd, f.cstr("/ro/x"), O_CREAT|O_WRONLY, 0o644)
		f.fails(t, EROFS, "openat", atFdcwd, f.cstr("out/x"), O_CREAT|O_WRONLY, 0o644)
		f.fails(t, EROFS, "mkdirat", atFdcwd, f.cstr("/newdir"), 0o755)
		f.ok(t, "close", f.create(t, "x", O_WRONLY, 0o644))
		f.fails(t, EXDEV, "renameat2", atFdcwd, f.cstr("x"), atFdcwd, f.cstr("/ro/x"), 0)
		f.fails(t, EROFS, "unlinkat", atFdcwd, f.cstr("/work"), AT_REMOVEDIR)
		if ents, _ := os.ReadDir(filepath.Join(root, "ro")); len(ents) != 0 {
			t.Errorf("read-only host directory holds %v", ents)
		}
	})
	_, err := OpenKernel(Config{FSRoot: t.TempDir(), RW: []string{"/missing"}})
	if err == nil || !strings.Contains(err.Error(), "writable directory /missing") {
		t.Errorf("OpenKernel with a missing RW directory: %v", err)
	}
}

// TestHostFilesBounded: however high the guest sets RLIMIT_NOFILE, it
// holds at most maxHostFiles host descriptors; past them opens fail with
// ENFILE, and closing one makes room.
func TestHostFilesBounded(t *testing.T) {
	skipUnlessLinux(t)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFakeWith(t, arch.AMD64, Config{FSRoot: root})
	f.ok(t, "prlimit64", 0, RLIMIT_NOFILE, f.u64s(1<<20, 1<<20), 0)
	p := f.cstr("/f")
	var last uint64
	for range maxHostFiles {
		last = f.ok(t, "openat", atFdcwd, p, O_RDONLY, 0)
	}
	f.fails(t, ENFILE, "openat", atFdcwd, p, O_RDONLY, 0)
	// Virtual files do not count against host descriptors.
	f.ok(t, "close", f.ok(t, "openat", atFdcwd, f.cstr("/proc/self/status"), O_RDONLY, 0))
	f.ok(t, "close", last)
	f.ok(t, "openat", atFdcwd, p, O_RDONLY, 0)
}
