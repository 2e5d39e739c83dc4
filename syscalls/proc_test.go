package syscalls

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

func TestUname(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFakeWith(t, a, Config{Hostname: "box"})
		buf := f.alloc(6 * 65)
		f.ok(t, "uname", buf)
		b := f.mem(t, buf, 6*65)
		field := func(i int) string { return strings.TrimRight(string(b[i*65:(i+1)*65]), "\x00") }
		want := []string{"Linux", "box", "6.1.0-gorunemu", "#1 SMP PREEMPT_DYNAMIC gorunemu", a.Machine, "(none)"}
		for i, w := range want {
			if field(i) != w {
				t.Errorf("field %d = %q, want %q", i, field(i), w)
			}
		}
		if a.Name == "arm64" && field(4) != "aarch64" || a.Name == "amd64" && field(4) != "x86_64" {
			t.Errorf("machine %q", field(4))
		}
		f.fails(t, EFAULT, "uname", unmapped)
	})
}

func TestPrctl(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		name := f.alloc(16)
		f.ok(t, "prctl", PR_GET_NAME, name)
		if got := string(f.mem(t, name, 16)); got != "hello"+strings.Repeat("\x00", 11) {
			t.Errorf("initial name %q", got)
		}
		f.ok(t, "prctl", PR_SET_NAME, f.cstr("a-very-long-thread-name"))
		f.ok(t, "prctl", PR_GET_NAME, name)
		if got := string(f.mem(t, name, 16)); got != "a-very-long-thr\x00" {
			t.Errorf("name %q, want 15 bytes and a NUL", got)
		}
		// Names are per thread.
		other := f.thread(4300, NewThread())
		other.ok(t, "prctl", PR_GET_NAME, name)
		if !strings.HasPrefix(string(f.mem(t, name, 6)), "hello\x00") {
			t.Error("another thread's name changed")
		}
		f.fails(t, EFAULT, "prctl", PR_SET_NAME, unmapped)
		f.fails(t, EFAULT, "prctl", PR_GET_NAME, unmapped)

		// PR_SET_VMA fails as on a kernel without anonymous VMA names.
		c := f.sys(t, "prctl", PR_SET_VMA, PR_SET_VMA_ANON_NAME, scratchBase, 4096, f.cstr(" Go: heap"))
		if c.Errno != EINVAL || !strings.Contains(c.Note, "PR_SET_VMA") {
			t.Errorf("PR_SET_VMA: %+v", c)
		}
		if f.ok(t, "prctl", PR_GET_DUMPABLE) != 1 {
			t.Error("dumpable by default")
		}
		f.ok(t, "prctl", PR_SET_DUMPABLE, 0)
		if f.ok(t, "prctl", PR_GET_DUMPABLE) != 0 {
			t.Error("PR_SET_DUMPABLE")
		}
		f.fails(t, EINVAL, "prctl", PR_SET_DUMPABLE, 2)
		f.ok(t, "prctl", PR_SET_PDEATHSIG, SIGTERM)
		p := f.alloc(4)
		f.ok(t, "prctl", PR_GET_PDEATHSIG, p)
		if f.u32At(t, p) != SIGTERM {
			t.Error("pdeathsig")
		}
		f.fails(t, EINVAL, "prctl", PR_SET_PDEATHSIG, 65)
		f.fails(t, EINVAL, "prctl", PR_SET_NO_NEW_PRIVS, 0)
		f.fails(t, EINVAL, "prctl", PR_SET_NO_NEW_PRIVS, 1, 1)
		f.ok(t, "prctl", PR_SET_NO_NEW_PRIVS, 1)
		if f.ok(t, "prctl", PR_GET_NO_NEW_PRIVS) != 1 {
			t.Error("no_new_privs")
		}
		f.ok(t, "prctl", PR_SET_THP_DISABLE, 1)
		if f.ok(t, "prctl", PR_GET_THP_DISABLE) != 1 {
			t.Error("thp_disable")
		}
		if f.ok(t, "prctl", PR_GET_TIMERSLACK) != 50000 {
			t.Error("timerslack")
		}
		if f.ok(t, "prctl", PR_CAPBSET_READ, 21) != 1 {
			t.Error("capbset")
		}
		f.fails(t, EINVAL, "prctl", PR_CAPBSET_READ, 99)
		f.fails(t, EINVAL, "prctl", 9999)
		f.gap(t, "prctl", PR_SET_SECCOMP, 2, 0)
	})
}

func TestRlimits(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		old := f.alloc(16)
		f.ok(t, "prlimit64", 0, RLIMIT_NOFILE, 0, old)
		if f.u64At(t, old) != 1024 || f.u64At(t, old+8) != 4096 {
			t.Errorf("NOFILE %d/%d", f.u64At(t, old), f.u64At(t, old+8))
		}
		// Go raises the soft limit to the hard one.
		f.ok(t, "prlimit64", 0, RLIMIT_NOFILE, f.u64s(4096, 4096), old)
		if f.u64At(t, old) != 1024 {
			t.Error("old value not returned")
		}
		f.ok(t, "getrlimit", RLIMIT_NOFILE, old)
		if f.u64At(t, old) != 4096 {
			t.Error("new value not stored")
		}
		f.ok(t, "getrlimit", RLIMIT_STACK, old)
		if f.u64At(t, old) != 8<<20 || f.u64At(t, old+8) != RLIM_INFINITY {
			t.Errorf("STACK %#x/%#x", f.u64At(t, old), f.u64At(t, old+8))
		}
		f.ok(t, "prlimit64", DefaultPID, RLIMIT_AS, 0, old)
		if f.u64At(t, old) != RLIM_INFINITY {
			t.Error("AS")
		}
		f.fails(t, EINVAL, "prlimit64", 0, RLIM_NLIMITS, 0, old)
		f.fails(t, ESRCH, "prlimit64", 1, RLIMIT_NOFILE, 0, old)
		f.fails(t, EINVAL, "prlimit64", 0, RLIMIT_NOFILE, f.u64s(10, 5), 0)
		f.fails(t, EPERM, "prlimit64", 0, RLIMIT_NOFILE, f.u64s(10, 1<<21), 0)
		f.fails(t, EFAULT, "prlimit64", 0, RLIMIT_NOFILE, unmapped, 0)
		f.fails(t, EFAULT, "getrlimit", RLIMIT_NOFILE, 0)
		f.ok(t, "setrlimit", RLIMIT_CORE, f.u64s(0, 0))
		f.ok(t, "getrlimit", RLIMIT_CORE, old)
		if f.u64At(t, old+8) != 0 {
			t.Error("setrlimit")
		}
		// Raising a hard limit needs privilege.
		g := newFakeWith(t, a, Config{UID: 1000})
		g.fails(t, EPERM, "setrlimit", RLIMIT_NOFILE, g.u64s(4096, 8192))
		g.ok(t, "setrlimit", RLIMIT_NOFILE, g.u64s(100, 4096))
	})
}

func TestGetrandom(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		read := func(seed uint64) ([]byte, []byte) {
			f := newFakeWith(t, a, Config{Seed: seed})
			buf := f.alloc(100)
			if got := f.ok(t, "getrandom", buf, 37, GRND_NONBLOCK); got != 37 {
				t.Fatalf("getrandom = %d", got)
			}
			first := f.mem(t, buf, 37)
			fd := f.ok(t, "openat", atFdcwd, f.cstr("/dev/urandom"), O_RDONLY, 0)
			f.ok(t, "read", fd, buf, 16)
			return first, f.mem(t, buf, 16)
		}
		a1, b1 := read(1)
		a2, b2 := read(1)
		a3, _ := read(2)
		if !bytes.Equal(a1, a2) || !bytes.Equal(b1, b2) {
			t.Error("the same seed must give the same bytes")
		}
		if bytes.Equal(a1, a3) {
			t.Error("different seeds gave the same bytes")
		}
		if bytes.Equal(a1[:16], b1) || bytes.Equal(a1, make([]byte, 37)) {
			t.Error("the stream must advance")
		}
		// A read that is not a multiple of 8 is a prefix of a longer one.
		g, h := newFakeWith(t, a, Config{Seed: 9}), newFakeWith(t, a, Config{Seed: 9})
		gb, hb := g.alloc(40), h.alloc(40)
		g.ok(t, "getrandom", gb, 37, 0)
		h.ok(t, "getrandom", hb, 40, 0)
		if !bytes.Equal(g.mem(t, gb, 37), h.mem(t, hb, 37)) {
			t.Errorf("getrandom(37) % x is not a prefix of getrandom(40) % x", g.mem(t, gb, 37), h.mem(t, hb, 40))
		}
		f := newFake(t, a)
		f.fails(t, EINVAL, "getrandom", f.alloc(8), 8, 8)
		f.fails(t, EINVAL, "getrandom", f.alloc(8), 8, GRND_RANDOM|GRND_INSECURE)
		f.fails(t, EFAULT, "getrandom", unmapped, 8, 0)
		if got := f.ok(t, "getrandom", 0, 0, 0); got != 0 {
			t.Error("zero-length getrandom")
		}
		end := uint64(scratchBase + scratchPages*a.PageSize)
		if got := f.ok(t, "getrandom", end-5, 100, GRND_RANDOM); got != 5 {
			t.Errorf("partial getrandom = %d, want 5", got)
		}
	})
}

func TestArchPrctl(t *testing.T) {
	f := newFake(t, arch.AMD64)
	f.ok(t, "arch_prctl", ARCH_SET_FS, 0x5a3f48)
	if f.tls != 0x5a3f48 {
		t.Errorf("FS base %#x", f.tls)
	}
	p := f.alloc(8)
	f.ok(t, "arch_prctl", ARCH_GET_FS, p)
	if f.u64At(t, p) != 0x5a3f48 {
		t.Error("ARCH_GET_FS")
	}
	f.fails(t, EFAULT, "arch_prctl", ARCH_GET_FS, unmapped)
	f.fails(t, EPERM, "arch_prctl", ARCH_SET_FS, 0x800000000000)
	f.fails(t, EINVAL, "arch_prctl", 0x9999, 0)
	f.fails(t, ENODEV, "arch_prctl", ARCH_SET_CPUID, 0)
	if f.ok(t, "arch_prctl", ARCH_GET_CPUID, 0) != 1 {
		t.Error("ARCH_GET_CPUID")
	}
	f.gap(t, "arch_prctl", ARCH_SET_GS, 0x1000)
	if _, ok := Number(arch.ARM64, "arch_prctl"); ok {
		t.Error("arm64 has no arch_prctl")
	}
}
