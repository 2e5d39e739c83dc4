package syscalls

import (
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

func TestFormat(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		x := abiOf(a)
		long := f.cstr("/" + strings.Repeat("x", 80))
		act := f.sigact(0x46b640, SA_ONSTACK|SA_RESTART|SA_SIGINFO|SA_RESTORER, 0x46b780, ^uint64(0))
		mask := f.u64s(sigBit(SIGURG) | sigBit(SIGWINCH))
		ts := f.u64s(0, 20000)
		msg := f.bytesAt([]byte("hello world\n\t\"\x01"))
		cloneWant := map[string]string{
			"amd64": "clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS, 0xc000060000, NULL, NULL, 0xc000048090)",
			"arm64": "clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS, 0xc000060000, NULL, 0xc000048090, NULL)",
		}[a.Name]
		cloneArgs := map[string]Args{
			"amd64": {0xd0f00, 0xc000060000, 0, 0, 0xc000048090},
			"arm64": {0xd0f00, 0xc000060000, 0, 0xc000048090, 0},
		}[a.Name]
		cases := []struct {
			name string
			args Args
			want string
		}{
			{"openat", Args{atFdcwd, f.cstr("/proc/self/cgroup"), O_RDONLY | O_CLOEXEC}, `openat(AT_FDCWD, "/proc/self/cgroup", O_RDONLY|O_CLOEXEC)`},
			{"openat", Args{3, f.cstr("cpu.max"), O_WRONLY | O_CREAT | O_TRUNC | x.oDirectory, 0o644}, `openat(3, "cpu.max", O_WRONLY|O_CREAT|O_TRUNC|O_DIRECTORY, 0644)`},
			{"openat", Args{atFdcwd, long, O_RDONLY}, `openat(AT_FDCWD, "/` + strings.Repeat("x", 63) + `"..., O_RDONLY)`},
			{"openat", Args{atFdcwd, unmapped, O_RDWR | x.oLargefile}, `openat(AT_FDCWD, 0xdead0000, O_RDWR|O_LARGEFILE)`},
			{"mmap", Args{0, 0x40000, 3, MAP_PRIVATE | MAP_ANONYMOUS, ^uint64(0), 0}, "mmap(NULL, 262144, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0x0)"},
			{"mmap", Args{0xc000000000, 0x4000000, 0, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, ^uint64(0), 0}, "mmap(0xc000000000, 67108864, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0x0)"},
			{"clone", cloneArgs, cloneWant},
			{"clone", Args{SIGCHLD}, map[string]string{"amd64": "clone(SIGCHLD, NULL, NULL, NULL, 0x0)", "arm64": "clone(SIGCHLD, NULL, NULL, 0x0, NULL)"}[a.Name]},
			{"futex", Args{0x5a3f48, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, ts}, "futex(0x5a3f48, FUTEX_WAIT_PRIVATE, 0, {tv_sec=0, tv_nsec=20000}, NULL, 0x0)"},
			{"futex", Args{0x5a3f48, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME, 1, 0, 0, FUTEX_BITSET_MATCH_ANY}, "futex(0x5a3f48, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0xffffffff)"},
			{"rt_sigaction", Args{SIGURG, act, 0, 8}, "rt_sigaction(SIGURG, {sa_handler=0x46b640, sa_mask=~[], sa_flags=SA_SIGINFO|SA_RESTORER|SA_ONSTACK|SA_RESTART, sa_restorer=0x46b780}, NULL, 8)"},
			{"rt_sigaction", Args{34, 0, act, 8}, "rt_sigaction(SIGRT_2, NULL, 0x" + strings.TrimPrefix(hex(act), "0x") + ", 8)"},
			{"rt_sigprocmask", Args{SIG_SETMASK, mask, 0, 8}, "rt_sigprocmask(SIG_SETMASK, [URG WINCH], NULL, 8)"},
			{"rt_sigprocmask", Args{SIG_BLOCK, f.u64s(^uint64(0) &^ unblockable), 0, 8}, "rt_sigprocmask(SIG_BLOCK, ~[KILL STOP], NULL, 8)"},
			{"write", Args{1, msg, 15}, `write(1, "hello world\n\t\"\1", 15)`},
			{"sched_getaffinity", Args{0, 8192, 0xc000012000}, "sched_getaffinity(0, 8192, 0xc000012000)"},
			{"prlimit64", Args{0, RLIMIT_NOFILE, 0, 0xc000012000}, "prlimit64(0, RLIMIT_NOFILE, NULL, 0xc000012000)"},
			{"clock_gettime", Args{CLOCK_MONOTONIC, 0xc000012000}, "clock_gettime(CLOCK_MONOTONIC, 0xc000012000)"},
			{"fcntl", Args{0, F_GETFD}, "fcntl(0, F_GETFD, 0x0)"},
			{"madvise", Args{0xc000000000, 0x400000, MADV_NOHUGEPAGE}, "madvise(0xc000000000, 4194304, MADV_NOHUGEPAGE)"},
			{"prctl", Args{PR_SET_VMA, 0, 0xc000000000, 0x1000, 0x4d0000}, "prctl(PR_SET_VMA, 0x0, 0xc000000000, 0x1000, 0x4d0000)"},
			{"tgkill", Args{4242, 4243, SIGURG}, "tgkill(4242, 4243, SIGURG)"},
			{"newfstatat", Args{atFdcwd, f.cstr("/etc"), 0xc000012000, AT_SYMLINK_NOFOLLOW}, `newfstatat(AT_FDCWD, "/etc", 0xc000012000, AT_SYMLINK_NOFOLLOW)`},
			{"faccessat", Args{atFdcwd, f.cstr("/etc"), R_OK | X_OK}, `faccessat(AT_FDCWD, "/etc", R_OK|X_OK)`},
			{"lseek", Args{3, neg(2), SEEK_END}, "lseek(3, -2, SEEK_END)"},
			{"pipe2", Args{0xc000012000, O_NONBLOCK | O_CLOEXEC}, "pipe2(0xc000012000, O_NONBLOCK|O_CLOEXEC)"},
			{"pipe2", Args{0xc000012000, 0}, "pipe2(0xc000012000, 0)"},
			{"eventfd2", Args{0, EFD_CLOEXEC | EFD_NONBLOCK}, "eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK)"},
			{"epoll_create1", Args{EPOLL_CLOEXEC}, "epoll_create1(EPOLL_CLOEXEC)"},
			{"epoll_ctl", Args{3, EPOLL_CTL_ADD, 4, f.epev(EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, 0x7f0000001230)},
				"epoll_ctl(3, EPOLL_CTL_ADD, 4, {EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, 0x7f0000001230})"},
			{"epoll_ctl", Args{3, EPOLL_CTL_DEL, 4, 0}, "epoll_ctl(3, EPOLL_CTL_DEL, 4, NULL)"},
			{"epoll_pwait", Args{3, 0xc000012000, 128, neg(1), 0, 8}, "epoll_pwait(3, 0xc000012000, 128, -1, NULL, 8)"},
			{"socket", Args{2, 1 | SOCK_CLOEXEC, 0}, "socket(2, 0x80001, 0)"},
			{"unlinkat", Args{atFdcwd, f.cstr("/tmp/x"), AT_REMOVEDIR}, `unlinkat(AT_FDCWD, "/tmp/x", AT_REMOVEDIR)`},
		}
		for _, c := range cases {
			nr := mustNumber(t, a, c.name)
			e, _ := Lookup(a, nr)
			got := c.name + "(" + strings.Join(FormatArgs(f, &e, c.args), ", ") + ")"
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		}
		// Unknown: six hex arguments.
		if got := strings.Join(FormatArgs(f, nil, Args{1, 2, 3, 4, 5, 0xff}), ", "); got != "0x1, 0x2, 0x3, 0x4, 0x5, 0xff" {
			t.Errorf("no entry: %s", got)
		}
	})
	f := newFake(t, arch.AMD64)
	nr := mustNumber(t, arch.AMD64, "arch_prctl")
	e, _ := Lookup(arch.AMD64, nr)
	if got := strings.Join(FormatArgs(f, &e, Args{ARCH_SET_FS, 0x5a3f48}), ", "); got != "ARCH_SET_FS, 0x5a3f48" {
		t.Errorf("arch_prctl: %s", got)
	}
}

func TestFormatResult(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		c := f.sys(t, "openat", atFdcwd, f.cstr("/proc/self/cgroup"), O_RDONLY|O_CLOEXEC)
		if got := Format(f, &c); got != `openat(AT_FDCWD, "/proc/self/cgroup", O_RDONLY|O_CLOEXEC) = 3` {
			t.Errorf("%s", got)
		}
		c = f.sys(t, "openat", atFdcwd, f.cstr("/nope"), O_RDONLY)
		if got := Format(f, &c); got != `openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (no such file or directory)` {
			t.Errorf("%s", got)
		}
		c = f.sys(t, "umask", 0o077)
		if got := Format(f, &c); got != `umask(077) = 022` {
			t.Errorf("%s", got)
		}
		c = f.sys(t, "mmap", 0, 4096, 3, MAP_PRIVATE|MAP_ANONYMOUS, ^uint64(0), 0)
		if got := Format(f, &c); !strings.HasSuffix(got, "= 0x7efffffff000") {
			t.Errorf("%s", got)
		}
		c = f.sys(t, "futex", f.u64s(0), FUTEX_WAIT|FUTEX_PRIVATE_FLAG, 0, 0)
		if got := FormatResult(nil, &c); got != "= ? (blocked)" {
			t.Errorf("%s", got)
		}
		c = f.sys(t, "lseek", 1, 0, SEEK_SET)
		if got := FormatResult(nil, &c); got != "= -1 ESPIPE (illegal seek)" {
			t.Errorf("%s", got)
		}
		nr := mustNumber(t, a, "io_uring_setup")
		c, err := f.p.k.Dispatch(f, nr, Args{})
		if err != nil {
			t.Fatal(err)
		}
		if got := Format(f, &c); got != "io_uring_setup(0x0, 0x0, 0x0, 0x0, 0x0, 0x0) = -1 ENOSYS (function not implemented)" {
			t.Errorf("%s", got)
		}
	})
}
