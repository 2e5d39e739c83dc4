package syscalls

import (
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// mmapRecorder wraps the fake to record the decoded requests.
type mmapRecorder struct {
	*fakeTask
	reqs []MapRequest
}

func (m *mmapRecorder) Mmap(r MapRequest) (uint64, error) {
	m.reqs = append(m.reqs, r)
	return m.fakeTask.Mmap(r)
}

func TestMmapDecode(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		const anon = MAP_PRIVATE | MAP_ANONYMOUS
		rw := uint64(PROT_READ | PROT_WRITE)
		cases := []struct {
			name            string
			addr, len, prot uint64
			flags           uint64
			want            MapRequest
		}{
			{"hint", 0xc000000000, 64 << 20, rw, anon, MapRequest{Addr: 0xc000000000, Length: 64 << 20, Prot: PROT_READ | PROT_WRITE, Mode: MapHint}},
			{"no hint, length rounded up", 0, 100, 0, anon, MapRequest{Addr: 0, Length: 4096, Prot: PROT_NONE, Mode: MapHint}},
			{"unaligned hint rounded down", 0x7000001234, 4096, rw, anon, MapRequest{Addr: 0x7000001000, Length: 4096, Prot: PROT_READ | PROT_WRITE, Mode: MapHint}},
			{"low hint raised to mmap_min_addr", 0x1000, 4096, rw, anon, MapRequest{Addr: 0x10000, Length: 4096, Prot: PROT_READ | PROT_WRITE, Mode: MapHint}},
			{"fixed", 0x7000000000, 8192, uint64(PROT_READ | PROT_EXEC), anon | MAP_FIXED, MapRequest{Addr: 0x7000000000, Length: 8192, Prot: PROT_READ | PROT_EXEC, Mode: MapFixed}},
			{"noreplace", 0x7100000000, 4096, rw, anon | MAP_FIXED_NOREPLACE, MapRequest{Addr: 0x7100000000, Length: 4096, Prot: PROT_READ | PROT_WRITE, Mode: MapNoReplace}},
			{"shared anonymous", 0, 4096, rw, MAP_SHARED | MAP_ANONYMOUS, MapRequest{Length: 4096, Prot: PROT_READ | PROT_WRITE, Mode: MapHint}},
			{"accepted no-op flags", 0, 4096, rw, anon | MAP_NORESERVE | MAP_STACK | MAP_POPULATE, MapRequest{Length: 4096, Prot: PROT_READ | PROT_WRITE, Mode: MapHint}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				m := &mmapRecorder{fakeTask: newFake(t, a)}
				nr := mustNumber(t, a, "mmap")
				call, err := m.p.k.Dispatch(m, nr, Args{c.addr, c.len, c.prot, c.flags, ^uint64(0), 0})
				if err != nil || call.Errno != 0 {
					t.Fatalf("mmap: %v %v", err, call.Errno)
				}
				if len(m.reqs) != 1 || m.reqs[0] != c.want {
					t.Fatalf("requests %+v, want %+v", m.reqs, c.want)
				}
				if c.want.Mode != MapHint && call.Ret != c.want.Addr {
					t.Errorf("ret %#x, want %#x", call.Ret, c.want.Addr)
				}
			})
		}
	})
}

func TestMmapErrors(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		const anon = MAP_PRIVATE | MAP_ANONYMOUS
		top := a.StackTop
		cases := []struct {
			name                            string
			addr, len, prot, flags, fd, off uint64
			want                            Errno
		}{
			{"zero length", 0, 0, 3, anon, ^uint64(0), 0, EINVAL},
			{"length overflows when aligned", 0, ^uint64(0) - 10, 3, anon, ^uint64(0), 0, ENOMEM},
			{"length beyond TASK_SIZE", 0, top + 4096, 3, anon, ^uint64(0), 0, ENOMEM},
			{"unaligned offset", 0, 4096, 3, anon, ^uint64(0), 100, EINVAL},
			{"neither private nor shared", 0, 4096, 3, MAP_ANONYMOUS, ^uint64(0), 0, EINVAL},
			{"type 3 anonymous", 0, 4096, 3, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, ^uint64(0), 0, EINVAL},
			{"type 5", 0, 4096, 3, 5 | MAP_ANONYMOUS, ^uint64(0), 0, EINVAL},
			{"fixed unaligned", 0x7000000010, 4096, 3, anon | MAP_FIXED, ^uint64(0), 0, EINVAL},
			{"noreplace unaligned", 0x7000000010, 4096, 3, anon | MAP_FIXED_NOREPLACE, ^uint64(0), 0, EINVAL},
			{"fixed past TASK_SIZE", top - 4096, 8192, 3, anon | MAP_FIXED, ^uint64(0), 0, ENOMEM},
			{"fixed below mmap_min_addr", 0x1000, 4096, 3, anon | MAP_FIXED, ^uint64(0), 0, EPERM},
			{"noreplace at 0", 0, 4096, 3, anon | MAP_FIXED_NOREPLACE, ^uint64(0), 0, EPERM},
			{"file: bad fd", 0, 4096, 1, MAP_PRIVATE, 99, 0, EBADF},
			{"file: bad fd before length", 0, 0, 1, MAP_PRIVATE, 99, 0, EBADF},
			{"hugetlb", 0, 2 << 20, 3, anon | MAP_HUGETLB, ^uint64(0), 0, ENOMEM},
			{"noreplace over a mapping", scratchBase, 4096, 3, anon | MAP_FIXED_NOREPLACE, ^uint64(0), 0, EEXIST},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := newFake(t, a)
				f.fails(t, c.want, "mmap", c.addr, c.len, c.prot, c.flags, c.fd, c.off)
			})
		}
		f := newFake(t, a)
		f.gap(t, "mmap", 0, 4096, 3, anon|MAP_GROWSDOWN, ^uint64(0), 0)
	})
	f := newFake(t, arch.AMD64)
	f.gap(t, "mmap", 0, 4096, 3, MAP_PRIVATE|MAP_ANONYMOUS|MAP_32BIT, ^uint64(0), 0)
	// MAP_32BIT is not a flag on arm64: the bit is ignored there.
	g := newFake(t, arch.ARM64)
	g.ok(t, "mmap", 0, 4096, 3, MAP_PRIVATE|MAP_ANONYMOUS|MAP_32BIT, ^uint64(0), 0)
}

func TestMmapFile(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		fd := f.ok(t, "openat", neg(100), f.cstr("/etc/hostname"), O_RDONLY, 0)
		addr := f.ok(t, "mmap", 0, 100, uint64(PROT_READ), MAP_PRIVATE, fd, 0)
		if got := string(f.p.pages[addr].data[:9]); got != "gorunemu\n" {
			t.Errorf("mapped contents %q", got)
		}
		if f.p.pages[addr].prot != PROT_READ || f.p.pages[addr].name != "/etc/hostname" {
			t.Errorf("mapping %+v", f.p.pages[addr])
		}
		// Offset past the end: zero page.
		addr = f.ok(t, "mmap", 0, 4096, uint64(PROT_READ), MAP_PRIVATE, fd, 4096)
		if f.p.pages[addr].data[0] != 0 {
			t.Error("page past EOF should be zero")
		}
		f.fails(t, EACCES, "mmap", 0, 4096, uint64(PROT_READ|PROT_WRITE), MAP_SHARED, fd, 0)
		f.fails(t, EOPNOTSUPP, "mmap", 0, 4096, uint64(PROT_READ), MAP_SHARED_VALIDATE|1<<30, fd, 0)
		// procfs and devices without mmap: ENODEV.
		pfd := f.ok(t, "openat", neg(100), f.cstr("/proc/self/cgroup"), O_RDONLY, 0)
		f.fails(t, ENODEV, "mmap", 0, 4096, uint64(PROT_READ), MAP_PRIVATE, pfd, 0)
		nfd := f.ok(t, "openat", neg(100), f.cstr("/dev/null"), O_RDONLY, 0)
		f.fails(t, ENODEV, "mmap", 0, 4096, uint64(PROT_READ), MAP_PRIVATE, nfd, 0)
		// /dev/zero maps as anonymous memory.
		zfd := f.ok(t, "openat", neg(100), f.cstr("/dev/zero"), O_RDWR, 0)
		f.ok(t, "mmap", 0, 4096, uint64(PROT_READ|PROT_WRITE), MAP_PRIVATE, zfd, 0)
		// A write-only fd cannot be mapped.
		wfd := f.ok(t, "openat", neg(100), f.cstr("/dev/zero"), O_WRONLY, 0)
		f.fails(t, EACCES, "mmap", 0, 4096, uint64(PROT_READ), MAP_PRIVATE, wfd, 0)
		// stdout is a pipe.
		f.fails(t, ENODEV, "mmap", 0, 4096, uint64(PROT_READ), MAP_PRIVATE, 0, 0)
	})
}

func TestMunmapMprotect(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		addr := f.ok(t, "mmap", 0, 3*4096, 3, MAP_PRIVATE|MAP_ANONYMOUS, ^uint64(0), 0)
		f.fails(t, EINVAL, "munmap", addr+1, 4096)
		f.fails(t, EINVAL, "munmap", addr, 0)
		f.fails(t, EINVAL, "munmap", a.StackTop-4096, 8192)
		f.ok(t, "munmap", addr+4096, 1) // length rounds up to a page
		if f.p.pages[addr+4096] != nil || f.p.pages[addr] == nil {
			t.Error("munmap removed the wrong pages")
		}
		f.fails(t, EINVAL, "mprotect", addr+1, 4096, 1)
		if got := f.ok(t, "mprotect", addr, 0, 7); got != 0 {
			t.Error("mprotect of length 0")
		}
		f.ok(t, "mprotect", addr, 1, uint64(PROT_READ))
		if f.p.pages[addr].prot != PROT_READ {
			t.Errorf("prot %v", f.p.pages[addr].prot)
		}
		f.fails(t, ENOMEM, "mprotect", addr, 3*4096, 1) // middle page unmapped
		f.fails(t, EINVAL, "mprotect", addr, 4096, 0x100)
		f.fails(t, EINVAL, "mprotect", addr, 4096, PROT_GROWSDOWN|PROT_GROWSUP|1)
		f.fails(t, ENOMEM, "mprotect", ^uint64(0)&^4095, 8192, 1)
		f.gap(t, "mprotect", addr, 4096, PROT_GROWSDOWN|1)
		f.ok(t, "mprotect", addr, 4096, uint64(PROT_READ)|PROT_SEM)
	})
}

func TestMadvise(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		addr := f.ok(t, "mmap", 0, 2*4096, 3, MAP_PRIVATE|MAP_ANONYMOUS, ^uint64(0), 0)
		if err := f.WriteMem(addr, []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		for _, adv := range []uint64{MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_FREE, MADV_COLLAPSE, MADV_WILLNEED, MADV_DODUMP} {
			f.ok(t, "madvise", addr, 8192, adv)
		}
		if f.mem(t, addr, 1)[0] != 1 {
			t.Error("a no-op advice changed memory")
		}
		f.ok(t, "madvise", addr, 100, MADV_DONTNEED)
		if f.mem(t, addr, 1)[0] != 0 {
			t.Error("MADV_DONTNEED did not zero the page")
		}
		f.fails(t, EINVAL, "madvise", addr, 4096, 77)
		f.fails(t, EINVAL, "madvise", addr+8, 4096, MADV_DONTNEED)
		f.fails(t, EINVAL, "madvise", addr, ^uint64(0), MADV_DONTNEED)
		f.fails(t, EPERM, "madvise", addr, 4096, MADV_HWPOISON)
		f.ok(t, "madvise", unmapped, 0, MADV_DONTNEED) // empty range
		f.fails(t, ENOMEM, "madvise", unmapped, 4096, MADV_NOHUGEPAGE)
		f.fails(t, ENOMEM, "madvise", unmapped, 4096, MADV_DONTNEED)
		f.fails(t, ENOMEM, "madvise", addr, 3*4096, MADV_FREE) // runs past the mapping
		f.fails(t, EINVAL, "madvise", addr, 4096, MADV_REMOVE)
	})
}

func TestBrkMincore(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		if got := f.ok(t, "brk", 0); got != 0x600000 {
			t.Errorf("brk(0) = %#x", got)
		}
		if got := f.ok(t, "brk", 0x601000); got != 0x601000 {
			t.Errorf("brk grow = %#x", got)
		}
		if got := f.ok(t, "brk", 0x900000); got != 0x601000 {
			t.Errorf("failed brk should return the old break, got %#x", got)
		}
		vec := f.alloc(8)
		f.ok(t, "mincore", scratchBase, 3*4096-1, vec)
		if got := f.mem(t, vec, 4); got[0] != 1 || got[2] != 1 || got[3] != 0 {
			t.Errorf("mincore vec %v", got)
		}
		f.fails(t, EINVAL, "mincore", scratchBase+1, 4096, vec)
		f.fails(t, ENOMEM, "mincore", unmapped, 4096, vec)
		f.fails(t, EFAULT, "mincore", scratchBase, 4096, unmapped)
	})
}
