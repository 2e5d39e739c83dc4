package syscalls

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// escaped is the content of every decoy file outside the root: reading it
// means a lookup left the root.
const escaped = "ESCAPED: outside the fs root\n"

// hostTree makes, in a temporary directory:
//
//	outside/secret.txt, outside/etc/passwd, etc/passwd   decoys (escaped)
//	root/hello.txt                 "hi\n"
//	root/sub/inner.txt             "inner\n"
//	root/sub/deeper/leaf.txt       "leaf\n"
//	root/etc/passwd                "in-root passwd\n"
//	root/etc/hostname              "host's hostname\n" (hidden by the virtual one)
//	root/proc/fake                 hidden by the virtual /proc
//	root/big.bin                   100 KiB
//	root/rel -> sub/inner.txt      relative symlink
//	root/abs -> /etc/passwd        absolute: root/etc/passwd
//	root/up -> ../../..            escapes: root
//	root/upfile -> ../../../hello.txt
//	root/sneaky -> ../outside/secret.txt
//	root/absout -> <tmp>/outside/secret.txt
//	root/sub/dotdot -> ../../outside
//	root/dirlink -> sub
//	root/loop1 -> loop2, root/loop2 -> loop1
//	root/fifo                      a FIFO
//
// It returns the root and the outside directory.
func hostTree(t *testing.T) (root, outside string) {
	t.Helper()
	tmp := t.TempDir()
	root, outside = filepath.Join(tmp, "root"), filepath.Join(tmp, "outside")
	files := map[string]string{
		"outside/secret.txt":       escaped,
		"outside/etc/passwd":       escaped,
		"outside/hello.txt":        escaped,
		"etc/passwd":               escaped,
		"hello.txt":                escaped,
		"root/hello.txt":           "hi\n",
		"root/sub/inner.txt":       "inner\n",
		"root/sub/deeper/leaf.txt": "leaf\n",
		"root/etc/passwd":          "in-root passwd\n",
		"root/etc/hostname":        "host's hostname\n",
		"root/proc/fake":           escaped,
		"root/big.bin":             strings.Repeat("0123456789abcdef", 100<<10/16),
	}
	for p, s := range files {
		full := filepath.Join(tmp, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"rel": "sub/inner.txt", "abs": "/etc/passwd", "up": "../../..", "upfile": "../../../hello.txt",
		"sneaky": "../outside/secret.txt", "absout": filepath.Join(outside, "secret.txt"),
		"sub/dotdot": "../../outside", "dirlink": "sub", "loop1": "loop2", "loop2": "loop1",
	}
	for p, target := range links {
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

// snapshot lists every path under dir with its size and mode, to show
// that nothing changed.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		lines = append(lines, p+" "+fi.Mode().String()+" "+string(rune('0'+fi.Size()%10)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// openErr opens p and returns the errno (0 on success, closing the fd).
func (f *fakeTask) openErr(t testing.TB, p string, flags uint64) Errno {
	t.Helper()
	c := f.sys(t, "openat", atFdcwd, f.cstr(p), flags, 0o644)
	if c.Errno == 0 {
		f.ok(t, "close", c.Ret)
	}
	return c.Errno
}

// auditFS makes every host descriptor f's kernel opens checked: it must
// name root or something under it (/proc/self/fd/N). It returns how many
// were checked.
func auditFS(t *testing.T, f *fakeTask, root string) *int {
	t.Helper()
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	n := new(int)
	f.p.k.fs.host.audit = func(fd int) {
		*n++
		p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		if err != nil {
			t.Errorf("fd %d: %v", fd, err)
			return
		}
		if p != real && !strings.HasPrefix(p, real+"/") {
			t.Errorf("the fs root view opened %s, outside %s", p, real)
		}
	}
	return n
}

func skipUnlessLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the fs root view needs a Linux host")
	}
}

func TestFSRootLookups(t *testing.T) {
	skipUnlessLinux(t)
	root, outside := hostTree(t)
	before := snapshot(t, filepath.Dir(root))
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFakeWith(t, a, Config{FSRoot: root})
		audited := auditFS(t, f, root)
		defer func() {
			if *audited < 50 {
				t.Errorf("only %d host descriptors audited", *audited)
			}
		}()
		reads := []struct{ path, want string }{
			{"/hello.txt", "hi\n"},
			{"hello.txt", "hi\n"},
			{"/sub/inner.txt", "inner\n"},
			{"/sub/deeper/leaf.txt", "leaf\n"},
			{"/sub/deeper/../../hello.txt", "hi\n"},
			{"/../../../hello.txt", "hi\n"},
			{"/rel", "inner\n"},
			{"/abs", "in-root passwd\n"},
			{"/etc/passwd", "in-root passwd\n"},
			{"/up/hello.txt", "hi\n"},
			{"/up/up/up/sub/inner.txt", "inner\n"},
			{"/upfile", "hi\n"},
			{"/dirlink/inner.txt", "inner\n"},
			{"/dirlink/../hello.txt", "hi\n"}, // ".." is taken after the symlink: root
			{"/etc/hostname", "gorunemu\n"},   // the virtual file wins
			{"/proc/self/cgroup", "0::/\n"},
		}
		for _, r := range reads {
			if got := f.readFile(t, r.path); got != r.want {
				t.Errorf("%s = %q, want %q", r.path, got, r.want)
			}
		}
		// Escapes resolve inside the root, where there is nothing.
		for _, p := range []string{"/sneaky", "/absout", "/sub/dotdot/secret.txt", "/proc/fake",
			"/up/outside/secret.txt", filepath.Join(outside, "secret.txt")} {
			if e := f.openErr(t, p, O_RDONLY); e != ENOENT {
				t.Errorf("%s: %v, want ENOENT", p, e)
			}
		}
		for _, p := range []string{"/loop1", "/loop2/x"} {
			if e := f.openErr(t, p, O_RDONLY); e != ELOOP {
				t.Errorf("%s: %v, want ELOOP", p, e)
			}
		}
		if e := f.openErr(t, "/hello.txt/x", O_RDONLY); e != ENOTDIR {
			t.Errorf("file as a directory: %v", e)
		}
		if e := f.openErr(t, "/rel", O_RDONLY|abiOf(a).oNofollow); e != ELOOP {
			t.Errorf("O_NOFOLLOW on a symlink: %v", e)
		}
		// A FIFO can be stat'ed, not opened.
		if e := f.openErr(t, "/fifo", O_RDONLY|O_NONBLOCK); e != EACCES {
			t.Errorf("fifo: %v, want EACCES", e)
		}

		// readlink shows targets as they are.
		buf := f.alloc(256)
		for p, want := range map[string]string{"/abs": "/etc/passwd", "/up": "../../..", "/sub/dotdot": "../../outside"} {
			n := f.ok(t, "readlinkat", atFdcwd, f.cstr(p), buf, 256)
			if got := string(f.mem(t, buf, int(n))); got != want {
				t.Errorf("readlink %s = %q", p, got)
			}
		}

		// Relative lookups from a host directory descriptor.
		dfd := f.ok(t, "openat", atFdcwd, f.cstr("/sub/deeper"), O_RDONLY|abiOf(a).oDirectory, 0)
		for p, want := range map[string]string{"leaf.txt": "leaf\n", "../inner.txt": "inner\n", "../../../../../hello.txt": "hi\n"} {
			fd := f.ok(t, "openat", dfd, f.cstr(p), O_RDONLY, 0)
			n := f.ok(t, "read", fd, buf, 256)
			if got := string(f.mem(t, buf, int(n))); got != want {
				t.Errorf("openat(deeper, %s) = %q", p, got)
			}
			f.ok(t, "close", fd)
		}
		f.ok(t, "close", dfd)
	})
	if after := snapshot(t, filepath.Dir(root)); after != before {
		t.Errorf("the host tree changed:\n%s\nwant\n%s", after, before)
	}
}

func TestFSRootStatAndRead(t *testing.T) {
	skipUnlessLinux(t)
	root, _ := hostTree(t)
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFakeWith(t, a, Config{FSRoot: root})
		auditFS(t, f, root)
		x := abiOf(a)
		var hst syscall.Stat_t
		if err := syscall.Stat(filepath.Join(root, "big.bin"), &hst); err != nil {
			t.Fatal(err)
		}
		st := f.alloc(x.statSize)
		f.ok(t, "newfstatat", atFdcwd, f.cstr("/big.bin"), st, 0)
		size, ino := f.u64At(t, st+48), f.u64At(t, st+8)
		mode := f.u32At(t, st+24)
		if a.Name == "arm64" {
			mode = f.u32At(t, st+16)
		}
		if size != 100<<10 || ino != hst.Ino || mode != S_IFREG|0o644 {
			t.Errorf("stat: size %d ino %d mode %o", size, ino, mode)
		}
		f.ok(t, "newfstatat", atFdcwd, f.cstr("/rel"), st, AT_SYMLINK_NOFOLLOW)
		if m := f.u32At(t, st+24); a.Name == "amd64" && m&S_IFMT != S_IFLNK {
			t.Errorf("lstat of a symlink: mode %o", m)
		}
		f.ok(t, "newfstatat", atFdcwd, f.cstr("/fifo"), st, 0)
		sx := f.alloc(statxSize)
		f.ok(t, "statx", atFdcwd, f.cstr("/sub/inner.txt"), 0, STATX_BASIC_STATS, sx)
		if f.u64At(t, sx+40) != 6 || f.u32At(t, sx+28)&0xffff != S_IFREG|0o644 {
			t.Errorf("statx size %d mode %o", f.u64At(t, sx+40), f.u32At(t, sx+28)&0xffff)
		}
		f.ok(t, "faccessat", atFdcwd, f.cstr("/hello.txt"), R_OK)
		f.fails(t, EROFS, "faccessat", atFdcwd, f.cstr("/hello.txt"), W_OK)
		f.fails(t, EACCES, "faccessat", atFdcwd, f.cstr("/hello.txt"), X_OK)
		f.fails(t, ENOENT, "faccessat", atFdcwd, f.cstr("/nope"), F_OK)

		// One read returns the whole file, in chunks inside; lseek and
		// pread see the host size.
		fd := f.ok(t, "openat", atFdcwd, f.cstr("/big.bin"), O_RDONLY, 0)
		buf := f.alloc(100<<10 + 16)
		if got := f.ok(t, "read", fd, buf, 100<<10+16); got != 100<<10 {
			t.Errorf("read = %d", got)
		}
		if b := f.mem(t, buf+100<<10-16, 16); string(b) != "0123456789abcdef" {
			t.Errorf("tail %q", b)
		}
		if got := f.ok(t, "read", fd, buf, 16); got != 0 {
			t.Error("EOF")
		}
		if got := f.ok(t, "lseek", fd, 0, SEEK_END); got != 100<<10 {
			t.Errorf("SEEK_END = %d", got)
		}
		if got := f.ok(t, "pread64", fd, buf, 4, 16+3); got != 4 || string(f.mem(t, buf, 4)) != "3456" {
			t.Errorf("pread = %q", f.mem(t, buf, 4))
		}
		f.ok(t, "fstat", fd, st)
		if f.u64At(t, st+48) != 100<<10 {
			t.Error("fstat size")
		}
		// mmap copies the file into a private mapping.
		addr := f.ok(t, "mmap", 0, 8192, uint64(PROT_READ), MAP_PRIVATE, fd, 4096)
		if got := f.mem(t, addr, 16); string(got) != "0123456789abcdef" {
			t.Errorf("mmap at offset 4096: %q", got)
		}
		f.ok(t, "close", fd)
		f.fails(t, EPERM, "epoll_ctl", f.ok(t, "epoll_create1", 0), EPOLL_CTL_ADD, f.ok(t, "openat", atFdcwd, f.cstr("/hello.txt"), O_RDONLY, 0), f.epev(EPOLLIN, 0))
	})
}

// dirNames lists a directory through getdents64.
func (f *fakeTask) dirNames(t *testing.T, p string) []string {
	t.Helper()
	fd := f.ok(t, "openat", atFdcwd, f.cstr(p), O_RDONLY|abiOf(f.p.arch).oDirectory, 0)
	buf := f.alloc(4096)
	var names []string
	for {
		n := f.ok(t, "getdents64", fd, buf, 4096)
		if n == 0 {
			break
		}
		b := f.mem(t, buf, int(n))
		for len(b) > 0 {
			reclen := int(le.Uint16(b[16:]))
			name := string(b[19:reclen])
			names = append(names, name[:strings.IndexByte(name, 0)])
			b = b[reclen:]
		}
	}
	f.ok(t, "close", fd)
	sort.Strings(names)
	return names
}

func TestFSRootDirectories(t *testing.T) {
	skipUnlessLinux(t)
	root, _ := hostTree(t)
	f := newFakeWith(t, arch.AMD64, Config{FSRoot: root})
	auditFS(t, f, root)
	want := []string{".", "..", "abs", "absout", "big.bin", "dev", "dirlink", "etc", "fifo", "hello.txt",
		"loop1", "loop2", "proc", "rel", "sneaky", "sub", "sys", "up", "upfile"}
	if got := f.dirNames(t, "/"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("/ lists %v\nwant %v", got, want)
	}
	if got := f.dirNames(t, "/etc"); strings.Join(got, " ") != ". .. hostname passwd" {
		t.Errorf("/etc lists %v: the virtual hostname and the host passwd, once each", got)
	}
	if got := f.dirNames(t, "/sub"); strings.Join(got, " ") != ". .. deeper dotdot inner.txt" {
		t.Errorf("/sub lists %v", got)
	}
	if got := f.dirNames(t, "/proc"); strings.Contains(strings.Join(got, " "), "fake") {
		t.Errorf("/proc shows the host's: %v", got)
	}
}

func TestFSRootRefusesWrites(t *testing.T) {
	skipUnlessLinux(t)
	root, _ := hostTree(t)
	before := snapshot(t, filepath.Dir(root))
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFakeWith(t, a, Config{FSRoot: root})
		auditFS(t, f, root)
		x := abiOf(a)
		opens := []struct {
			path  string
			flags uint64
			want  Errno
		}{
			{"/hello.txt", O_WRONLY, EROFS},
			{"/hello.txt", O_RDWR, EROFS},
			{"/hello.txt", O_RDONLY | O_TRUNC, EROFS},
			{"/new.txt", O_WRONLY | O_CREAT, EROFS},
			{"/sub/new.txt", O_RDONLY | O_CREAT, EROFS},
			{"/hello.txt", O_WRONLY | O_CREAT | O_EXCL, EEXIST},
			{"/nodir/new.txt", O_WRONLY | O_CREAT, ENOENT},
			{"/sub", O_WRONLY, EISDIR},
			{"/sub", O_RDWR | __O_TMPFILE | x.oDirectory, EROFS},
			{"/hello.txt", O_RDONLY | O_CREAT, 0}, // exists: just opens
		}
		for _, o := range opens {
			if got := f.openErr(t, o.path, o.flags); got != o.want {
				t.Errorf("open(%s, %#o) = %v, want %v", o.path, o.flags, got, o.want)
			}
		}
		p := f.cstr
		f.fails(t, EROFS, "mkdirat", atFdcwd, p("/newdir"), 0o755)
		f.fails(t, EEXIST, "mkdirat", atFdcwd, p("/sub"), 0o755)
		f.fails(t, EROFS, "unlinkat", atFdcwd, p("/hello.txt"), 0)
		f.fails(t, EROFS, "unlinkat", atFdcwd, p("/missing"), 0) // read-only before lookup
		f.fails(t, EROFS, "unlinkat", atFdcwd, p("/sub"), AT_REMOVEDIR)
		f.fails(t, EROFS, "renameat", atFdcwd, p("/hello.txt"), atFdcwd, p("/moved.txt"))
		f.fails(t, EROFS, "fchmodat", atFdcwd, p("/hello.txt"), 0o777)
		f.fails(t, EROFS, "fchownat", atFdcwd, p("/hello.txt"), 0, 0, 0)
		f.fails(t, EROFS, "truncate", p("/hello.txt"), 0)
		f.fails(t, EROFS, "symlinkat", p("/x"), atFdcwd, p("/newlink"))
		f.fails(t, EROFS, "linkat", atFdcwd, p("/hello.txt"), atFdcwd, p("/hard"), 0)
		f.fails(t, EROFS, "utimensat", atFdcwd, p("/hello.txt"), 0, 0)
		fd := f.ok(t, "openat", atFdcwd, p("/hello.txt"), O_RDONLY, 0)
		f.fails(t, EBADF, "write", fd, p("x"), 1)
		f.fails(t, EINVAL, "ftruncate", fd, 0)
		f.fails(t, EROFS, "fchmod", fd, 0o777)
		// Sockets stay inside the emulation.
		sock := f.ok(t, "socket", AF_INET, SOCK_STREAM, 0)
		f.fails(t, ENETUNREACH, "connect", sock, f.bytesAt(inet4(8, 8, 8, 8, 53)), 16)
	})
	if after := snapshot(t, filepath.Dir(root)); after != before {
		t.Errorf("the host tree changed:\n%s\nwant\n%s", after, before)
	}
}

// TestFSRootSwap replaces a directory by a symlink to the outside between
// the lookup of a file and its open: the open must fail, not follow.
func TestFSRootSwap(t *testing.T) {
	skipUnlessLinux(t)
	root, outside := hostTree(t)
	if err := os.WriteFile(filepath.Join(outside, "inner.txt"), []byte(escaped), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFakeWith(t, arch.AMD64, Config{FSRoot: root})
	auditFS(t, f, root)
	fs := f.p.k.fs
	n, err := fs.resolve(fs.root, "/sub/inner.txt", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "sub"), filepath.Join(root, "sub.old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "sub")); err != nil {
		t.Fatal(err)
	}
	if h, err := fs.hostOpen(n); err != ENOENT {
		if h != nil {
			b := make([]byte, 64)
			nr, _ := h.ReadAt(b, 0)
			t.Errorf("opened %q", b[:nr])
		}
		t.Fatalf("open after the swap: %v, want ENOENT", err)
	}
	// Same-name file replaced by another inode: refused too.
	n, err = fs.resolve(fs.root, "/hello.txt", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(outside, "hello.txt"), filepath.Join(root, "hello.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.hostOpen(n); err != ENOENT {
		t.Fatalf("open of a replaced file: %v, want ENOENT", err)
	}
	// A fresh lookup follows the new symlink inside the root: nothing.
	if e := f.openErr(t, "/sub/inner.txt", O_RDONLY); e != ENOENT {
		t.Fatalf("lookup through the swapped-in symlink: %v, want ENOENT", e)
	}
	if got := f.readFile(t, "/sub.old/inner.txt"); got != "inner\n" {
		t.Errorf("moved file reads %q", got)
	}
}

func TestFSRootConfig(t *testing.T) {
	skipUnlessLinux(t)
	// Without FSRoot, only the virtual tree.
	root, _ := hostTree(t)
	f := newFake(t, arch.AMD64)
	if e := f.openErr(t, "/hello.txt", O_RDONLY); e != ENOENT {
		t.Errorf("no fs root: %v", e)
	}
	if got := f.dirNames(t, "/"); strings.Join(got, " ") != ". .. dev etc proc sys" {
		t.Errorf("/ lists %v", got)
	}
	// A missing root: an emulator error naming it, at first use, or from
	// OpenKernel at once.
	missing := filepath.Join(root, "nope")
	f = newFakeWith(t, arch.AMD64, Config{FSRoot: missing})
	if got := f.readFile(t, "/proc/self/cgroup"); got != "0::/\n" {
		t.Error("the virtual tree works without the root")
	}
	_, err := f.sysErr(t, "openat", atFdcwd, f.cstr("/hello.txt"), O_RDONLY, 0)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing root: %v", err)
	}
	if _, err := OpenKernel(Config{FSRoot: missing}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenKernel: %v", err)
	}
	if _, err := OpenKernel(Config{FSRoot: filepath.Join(root, "hello.txt")}); err == nil {
		t.Error("OpenKernel accepts a file as the root")
	}
}

// TestFSRootClose checks that Close gives back every host descriptor.
func TestFSRootClose(t *testing.T) {
	skipUnlessLinux(t)
	root, _ := hostTree(t)
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	// count counts only the descriptors that name the tree: the test
	// binary's other goroutines open and close files of their own.
	count := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip(err)
		}
		n := 0
		for _, e := range ents {
			p, err := os.Readlink("/proc/self/fd/" + e.Name())
			if err == nil && (p == real || strings.HasPrefix(p, real+"/")) {
				n++
			}
		}
		return n
	}
	before := count()
	k, err := OpenKernel(Config{FSRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTask{p: newFakeProc(t, arch.AMD64, Config{}), th: NewThread(), tid: DefaultPID, scratchP: scratchBase}
	f.p.k = k
	for i := 0; i < 5; i++ {
		f.ok(t, "openat", atFdcwd, f.cstr("/sub/inner.txt"), O_RDONLY, 0)
	}
	f.ok(t, "openat", atFdcwd, f.cstr("/sub"), O_RDONLY, 0)
	if count() < before+6 {
		t.Fatalf("%d host fds, want at least %d", count(), before+6)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != before {
		t.Errorf("%d host fds after Close, want %d", got, before)
	}
}
