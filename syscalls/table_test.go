package syscalls

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/syscalls/amd64"
	"github.com/gorunemu/gorunemu/syscalls/arm64"
)

// archOnly are the calls only one arch's table has: arm64 (asm-generic)
// never had these legacy x86 calls.
var archOnly = map[string][]string{
	"amd64": {"access", "arch_prctl", "chmod", "chown", "creat", "dup2", "epoll_create", "epoll_wait", "eventfd",
		"fork", "getpgrp", "lchown", "link", "lstat", "mkdir", "mknod", "open", "pipe", "readlink", "rename", "rmdir",
		"stat", "symlink", "time", "unlink", "vfork"},
	"arm64": {},
}

// Calls the Go runtime makes from entry to exit of a hello world, on
// every version from 1.17 to 1.26 (shared/reference/linux-startup.md and
// runtime/sys_linux_*.s); each must have a handler that is not a Fail.
var runtimeCalls = []string{
	"sched_getaffinity", "openat", "read", "pread64", "close", "mmap", "munmap", "madvise",
	"prctl", "rt_sigprocmask", "rt_sigaction", "sigaltstack", "gettid", "fcntl", "clone",
	"futex", "prlimit64", "getrlimit", "write", "exit_group", "exit", "clock_gettime",
	"nanosleep", "sched_yield", "tgkill", "getpid", "uname", "brk", "mincore", "faccessat",
	"kill", "set_tid_address", "getrandom", "getcwd", "fstat", "newfstatat",
}

func TestTableInvariants(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		table := TableFor(a)
		if len(table) < 60 {
			t.Fatalf("%d entries, want at least 60", len(table))
		}
		seen := map[string]int{}
		for nr, e := range table {
			if e.Fn == nil {
				t.Errorf("%d %s: nil Fn", nr, e.Name)
			}
			if gen := Name(a, nr); e.Name != gen {
				t.Errorf("entry %d is named %q, but number %d is %q", nr, e.Name, nr, gen)
			}
			if prev, dup := seen[e.Name]; dup {
				t.Errorf("%s is both %d and %d", e.Name, prev, nr)
			}
			seen[e.Name] = nr
			if len(e.Args) > 6 {
				t.Errorf("%s: %d argument formats", e.Name, len(e.Args))
			}
			if (e.Support == Stubbed || e.Support == Unsupported || e.Support == PartiallySupported) && e.Note == "" {
				t.Errorf("%s: %v entry without a note", e.Name, e.Support)
			}
		}
		for _, name := range runtimeCalls {
			nr, ok := Number(a, name)
			if !ok {
				continue // the arch has no such call (open, ...)
			}
			e, ok := table[nr]
			if !ok || e.Support == Unsupported {
				t.Errorf("%s (%d): the Go runtime calls it, but the table has no handler", name, nr)
			}
		}
	})
}

func TestTablesAgree(t *testing.T) {
	names := func(a *arch.Arch) map[string]Entry {
		m := map[string]Entry{}
		for _, e := range TableFor(a) {
			m[e.Name] = e
		}
		return m
	}
	x, y := names(arch.AMD64), names(arch.ARM64)
	only := func(m, other map[string]Entry) []string {
		var out []string
		for n := range m {
			if _, ok := other[n]; !ok {
				out = append(out, n)
			}
		}
		sort.Strings(out)
		return out
	}
	if got := only(x, y); !reflect.DeepEqual(got, archOnly["amd64"]) {
		t.Errorf("amd64-only calls %v, want %v", got, archOnly["amd64"])
	}
	if got := only(y, x); len(got) != len(archOnly["arm64"]) {
		t.Errorf("arm64-only calls %v, want %v", got, archOnly["arm64"])
	}
	for n, ex := range x {
		ey, ok := y[n]
		if !ok {
			continue
		}
		if reflect.ValueOf(ex.Fn).Pointer() != reflect.ValueOf(ey.Fn).Pointer() && ex.Support != Stubbed && ex.Support != Unsupported {
			t.Errorf("%s: the arches use different handlers", n)
		}
		if ex.Support != ey.Support || ex.Note != ey.Note || ex.Ret != ey.Ret {
			t.Errorf("%s: support/note/ret differ: %v %q %v vs %v %q %v", n, ex.Support, ex.Note, ex.Ret, ey.Support, ey.Note, ey.Ret)
		}
		if n != "clone" && !reflect.DeepEqual(ex.Args, ey.Args) {
			t.Errorf("%s: argument formats differ: %v vs %v", n, ex.Args, ey.Args)
		}
	}
	// clone's tls and child_tid are swapped on arm64 (CONFIG_CLONE_BACKWARDS).
	if got, want := x["clone"].Args, []ArgFmt{CloneFlags, Ptr, Ptr, Ptr, Hex}; !reflect.DeepEqual(got, want) {
		t.Errorf("amd64 clone args %v, want %v", got, want)
	}
	if got, want := y["clone"].Args, []ArgFmt{CloneFlags, Ptr, Ptr, Hex, Ptr}; !reflect.DeepEqual(got, want) {
		t.Errorf("arm64 clone args %v, want %v", got, want)
	}
}

func TestGeneratedNumbers(t *testing.T) {
	// Spot checks against arch/x86/entry/syscalls/syscall_64.tbl and
	// include/uapi/asm-generic/unistd.h.
	cases := []struct {
		a    *arch.Arch
		name string
		nr   int
	}{
		{arch.AMD64, "read", 0}, {arch.AMD64, "mmap", 9}, {arch.AMD64, "rt_sigaction", 13},
		{arch.AMD64, "clone", 56}, {arch.AMD64, "arch_prctl", 158}, {arch.AMD64, "gettid", 186},
		{arch.AMD64, "futex", 202}, {arch.AMD64, "sched_getaffinity", 204}, {arch.AMD64, "exit_group", 231},
		{arch.AMD64, "openat", 257}, {arch.AMD64, "newfstatat", 262}, {arch.AMD64, "prlimit64", 302},
		{arch.AMD64, "getrandom", 318}, {arch.AMD64, "rseq", 334}, {arch.AMD64, "clone3", 435},
		{arch.ARM64, "getcwd", 17}, {arch.ARM64, "openat", 56}, {arch.ARM64, "close", 57},
		{arch.ARM64, "read", 63}, {arch.ARM64, "newfstatat", 79}, {arch.ARM64, "exit", 93},
		{arch.ARM64, "exit_group", 94}, {arch.ARM64, "futex", 98}, {arch.ARM64, "sched_getaffinity", 123},
		{arch.ARM64, "rt_sigaction", 134}, {arch.ARM64, "gettid", 178}, {arch.ARM64, "clone", 220},
		{arch.ARM64, "mmap", 222}, {arch.ARM64, "prlimit64", 261}, {arch.ARM64, "getrandom", 278},
	}
	for _, c := range cases {
		if got := Name(c.a, c.nr); got != c.name {
			t.Errorf("%s: Name(%d) = %q, want %q", c.a.Name, c.nr, got, c.name)
		}
		if nr, ok := Number(c.a, c.name); !ok || nr != c.nr {
			t.Errorf("%s: Number(%q) = %d, %v, want %d", c.a.Name, c.name, nr, ok, c.nr)
		}
	}
	if amd64.SYS_OPENAT != 257 || arm64.SYS_OPENAT != 56 || amd64.Names[amd64.SYS_FUTEX] != "futex" {
		t.Error("generated constants disagree with the Linux tables")
	}
	if _, ok := Number(arch.ARM64, "open"); ok {
		t.Error("arm64 has no open syscall")
	}
	if _, ok := Number(arch.ARM64, "arch_specific_syscall"); ok {
		t.Error("arch_specific_syscall is a range base, not a syscall")
	}
	if got := Name(arch.AMD64, 100000); got != "syscall_100000" {
		t.Errorf("Name(100000) = %q", got)
	}
	if got := Name(arch.ARM64, -1); got != "syscall_-1" {
		t.Errorf("Name(-1) = %q", got)
	}
	// A number with a name but no entry still has a name.
	nr, _ := Number(arch.AMD64, "io_uring_setup")
	if _, ok := Lookup(arch.AMD64, nr); ok || Name(arch.AMD64, nr) != "io_uring_setup" {
		t.Errorf("io_uring_setup: want a name and no entry")
	}
	if TableFor(nil) != nil || TableFor(&arch.Arch{Name: "riscv64"}) != nil {
		t.Error("TableFor of an unknown arch should be nil")
	}
}

func TestErrno(t *testing.T) {
	cases := []struct {
		e          Errno
		name, text string
	}{
		{ENOENT, "ENOENT", "ENOENT (no such file or directory)"},
		{EINVAL, "EINVAL", "EINVAL (invalid argument)"},
		{EAGAIN, "EAGAIN", "EAGAIN (resource temporarily unavailable)"},
		{ENOSYS, "ENOSYS", "ENOSYS (function not implemented)"},
		{EOPNOTSUPP, "EOPNOTSUPP", "EOPNOTSUPP (operation not supported)"},
		{ETIMEDOUT, "ETIMEDOUT", "ETIMEDOUT (connection timed out)"},
		{Errno(4000), "E4000", "errno 4000"},
	}
	for _, c := range cases {
		if c.e.Name() != c.name || c.e.Error() != c.text {
			t.Errorf("errno %d: %q %q, want %q %q", int(c.e), c.e.Name(), c.e.Error(), c.name, c.text)
		}
	}
	// asm-generic values.
	if ENOENT != 2 || EAGAIN != 11 || EWOULDBLOCK != EAGAIN || ENOSYS != 38 || ETIMEDOUT != 110 || EOPNOTSUPP != 95 {
		t.Error("errno values are not the asm-generic ones")
	}
	for sig, want := range map[int]string{SIGURG: "SIGURG", SIGKILL: "SIGKILL", 32: "SIGRTMIN", 33: "SIGRT_1", 64: "SIGRT_32", 65: "65"} {
		if got := SignalName(sig); got != want {
			t.Errorf("SignalName(%d) = %q, want %q", sig, got, want)
		}
	}
	if SIGURG != 23 || SIGCHLD != 17 || SIGSTOP != 19 {
		t.Error("signal numbers are not Linux's")
	}
	if !strings.HasPrefix(Supported.String(), "supported") || Support(9).String() != "support(9)" {
		t.Error("Support.String")
	}
}
