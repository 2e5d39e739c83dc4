package syscalls

import (
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// TestChangesRefused: every call that would change a file fails the way
// Linux fails it on these mounts, path errors first.
func TestChangesRefused(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		p := f.cstr
		const ifdir = S_IFDIR
		cases := []struct {
			name string
			args []uint64
			want Errno
		}{
			{"mkdirat", []uint64{atFdcwd, p("/etc"), 0o755}, EEXIST},
			{"mkdirat", []uint64{atFdcwd, p("/newdir"), 0o755}, EROFS},
			{"mkdirat", []uint64{atFdcwd, p("/"), 0o755}, EEXIST},
			{"mkdirat", []uint64{atFdcwd, p("/etc/.."), 0o755}, EEXIST},
			{"mkdirat", []uint64{atFdcwd, p("/nodir/x"), 0o755}, ENOENT},
			{"mkdirat", []uint64{atFdcwd, p("/etc/hostname/x"), 0o755}, ENOTDIR},
			{"mkdirat", []uint64{atFdcwd, p("/proc/x"), 0o755}, ENOENT}, // procfs fails the lookup
			{"mkdirat", []uint64{atFdcwd, p("/sys/x"), 0o755}, EROFS},
			{"mkdirat", []uint64{atFdcwd, p(""), 0o755}, ENOENT},
			{"mkdirat", []uint64{atFdcwd, unmapped, 0o755}, EFAULT},
			{"mknodat", []uint64{atFdcwd, p("/x"), ifdir, 0}, EPERM},
			{"mknodat", []uint64{atFdcwd, p("/x"), 0o170000, 0}, EINVAL},
			{"mknodat", []uint64{atFdcwd, p("/x"), S_IFIFO | 0o600, 0}, EROFS},
			{"unlinkat", []uint64{atFdcwd, p("/etc/hostname"), 0}, EROFS},
			{"unlinkat", []uint64{atFdcwd, p("/missing"), 0}, EROFS}, // read-only before lookup
			{"unlinkat", []uint64{atFdcwd, p("/proc/self/status"), 0}, EPERM},
			{"unlinkat", []uint64{atFdcwd, p("/proc/self/nonexist"), 0}, ENOENT},
			{"unlinkat", []uint64{atFdcwd, p("/sys/nonexist"), 0}, EROFS},
			{"unlinkat", []uint64{atFdcwd, p("/etc/."), 0}, EISDIR},
			{"unlinkat", []uint64{atFdcwd, p("/etc"), 0x1}, EINVAL},
			{"unlinkat", []uint64{atFdcwd, p("/"), AT_REMOVEDIR}, EBUSY},
			{"unlinkat", []uint64{atFdcwd, p("/etc/."), AT_REMOVEDIR}, EINVAL},
			{"unlinkat", []uint64{atFdcwd, p("/etc/.."), AT_REMOVEDIR}, ENOTEMPTY},
			{"unlinkat", []uint64{atFdcwd, p("/etc"), AT_REMOVEDIR}, EROFS},
			{"unlinkat", []uint64{atFdcwd, p("/proc/self/status"), AT_REMOVEDIR}, ENOTDIR},
			{"renameat2", []uint64{atFdcwd, p("/etc/hostname"), atFdcwd, p("/etc/h2"), 0}, EROFS},
			{"renameat2", []uint64{atFdcwd, p("/etc/hostname"), atFdcwd, p("/proc/h2"), 0}, EXDEV},
			{"renameat2", []uint64{atFdcwd, p("/etc/hostname"), atFdcwd, p("/etc/h2"), 8}, EINVAL},
			{"renameat2", []uint64{atFdcwd, p("/etc/hostname"), atFdcwd, p("/etc/h2"), RENAME_EXCHANGE | RENAME_NOREPLACE}, EINVAL},
			{"renameat2", []uint64{atFdcwd, p("/etc/."), atFdcwd, p("/etc/h2"), 0}, EBUSY},
			{"renameat2", []uint64{atFdcwd, p("/etc/hostname"), atFdcwd, p("/etc/.."), RENAME_NOREPLACE}, EEXIST},
			{"renameat2", []uint64{atFdcwd, p("/nodir/a"), atFdcwd, p("/etc/h2"), 0}, ENOENT},
			{"renameat", []uint64{atFdcwd, p("/etc/hostname"), atFdcwd, p("/etc/h2")}, EROFS},
			{"linkat", []uint64{atFdcwd, p("/etc/hostname"), atFdcwd, p("/etc/h2"), 0}, EROFS},
			{"linkat", []uint64{atFdcwd, p("/etc/hostname"), atFdcwd, p("/etc/hostname"), 0}, EEXIST},
			{"linkat", []uint64{atFdcwd, p("/missing"), atFdcwd, p("/etc/h2"), 0}, ENOENT},
			{"linkat", []uint64{atFdcwd, p("/etc/hostname"), atFdcwd, p("/etc/h2"), 0x1}, EINVAL},
			{"symlinkat", []uint64{p("target"), atFdcwd, p("/etc/l")}, EROFS},
			{"symlinkat", []uint64{p(""), atFdcwd, p("/etc/l")}, ENOENT},
			{"symlinkat", []uint64{p("target"), atFdcwd, p("/proc/self")}, EEXIST},
			{"fchmodat", []uint64{atFdcwd, p("/etc/hostname"), 0o600}, EROFS},
			{"fchmodat", []uint64{atFdcwd, p("/proc/self/status"), 0o600}, EPERM},
			{"fchmodat", []uint64{atFdcwd, p("/missing"), 0o600}, ENOENT},
			{"fchownat", []uint64{atFdcwd, p("/etc/hostname"), 1, 1, 0}, EROFS},
			{"fchownat", []uint64{atFdcwd, p("/etc/hostname"), 1, 1, 0x1}, EINVAL},
			{"truncate", []uint64{p("/etc/hostname"), 0}, EROFS},
			{"truncate", []uint64{p("/etc"), 0}, EISDIR},
			{"truncate", []uint64{p("/dev/null"), 0}, EINVAL},
			{"truncate", []uint64{p("/etc/hostname"), neg(1)}, EINVAL},
			{"ftruncate", []uint64{1, 0}, EINVAL},
			{"ftruncate", []uint64{99, 0}, EBADF},
			{"ftruncate", []uint64{1, neg(1)}, EINVAL},
			{"utimensat", []uint64{atFdcwd, p("/etc/hostname"), 0, 0}, EROFS},
			{"utimensat", []uint64{atFdcwd, p("/missing"), 0, 0}, ENOENT},
			{"utimensat", []uint64{atFdcwd, p("/etc/hostname"), f.u64s(0, 1e9, 0, 0), 0}, EINVAL},
			{"utimensat", []uint64{atFdcwd, p("/missing"), f.u64s(0, UTIME_OMIT, 0, UTIME_OMIT), 0}, 0},
			{"utimensat", []uint64{1, 0, 0, 0}, 0}, // a pipe: times are not kept
			{"utimensat", []uint64{1, 0, 0, 1}, EINVAL},
			{"utimensat", []uint64{atFdcwd, 0, 0, 0}, EFAULT},
			{"fchmod", []uint64{0, 0o600}, EACCES}, // /dev/null: devtmpfs refuses here
			{"fchmod", []uint64{99, 0o600}, EBADF},
			{"fchown", []uint64{1, ^uint64(0), ^uint64(0)}, 0},
		}
		for _, c := range cases {
			got := f.sys(t, c.name, c.args...)
			if got.Errno != c.want {
				t.Errorf("%s%x = %v, want %v", c.name, c.args, got.Errno, c.want)
			}
		}
		// fchmod on a pipe changes what fstat shows.
		r, _ := f.pipe2(t, 0)
		f.ok(t, "fchmod", r, 0o640)
		st := f.alloc(abiOf(a).statSize)
		f.ok(t, "fstat", r, st)
		mode := f.u32At(t, st+24)
		if a.Name == "arm64" {
			mode = f.u32At(t, st+16)
		}
		if mode != S_IFIFO|0o640 {
			t.Errorf("pipe mode after fchmod %o", mode)
		}
		f.gap(t, "fchown", r, 1000, 1000)
		o := f.ok(t, "openat", atFdcwd, f.cstr("/proc/self"), O_PATH|abiOf(a).oNofollow, 0)
		f.fails(t, EBADF, "fchmod", o, 0o600)
	})
	f := newFake(t, arch.AMD64)
	for _, c := range []struct {
		name string
		args []uint64
		want Errno
	}{
		{"mkdir", []uint64{f.cstr("/x"), 0o755}, EROFS},
		{"mknod", []uint64{f.cstr("/x"), S_IFIFO, 0}, EROFS},
		{"rmdir", []uint64{f.cstr("/etc")}, EROFS},
		{"unlink", []uint64{f.cstr("/etc/hostname")}, EROFS},
		{"rename", []uint64{f.cstr("/etc/hostname"), f.cstr("/x")}, EROFS},
		{"link", []uint64{f.cstr("/etc/hostname"), f.cstr("/x")}, EROFS},
		{"symlink", []uint64{f.cstr("/a"), f.cstr("/x")}, EROFS},
		{"chmod", []uint64{f.cstr("/etc/hostname"), 0}, EROFS},
		{"chown", []uint64{f.cstr("/etc/hostname"), 0, 0}, EROFS},
		{"lchown", []uint64{f.cstr("/proc/self"), 0, 0}, EPERM},
		{"creat", []uint64{f.cstr("/x"), 0o644}, EROFS},
		{"creat", []uint64{f.cstr("/etc/hostname"), 0o644}, EROFS},
	} {
		if got := f.sys(t, c.name, c.args...); got.Errno != c.want {
			t.Errorf("%s = %v, want %v", c.name, got.Errno, c.want)
		}
	}
}
