package syscalls

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime/metrics"
	"sort"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// The syscall fuzzer runs small programs against a fake process: up to
// maxFuzzCalls syscalls, each a number and six arguments decoded from the
// input so that they often mean something (a descriptor, a path, a pointer
// into mapped memory, a boundary value) and sometimes anything at all.
//
// Input layout:
//
//	byte 0          bit 0: arch (amd64, arm64); bit 1: Config.FSRoot set
//	byte 1          n: 8*n bytes of initial scratch memory follow
//	8*n bytes       copied to the start of scratch memory
//	then calls:     2 bytes number, 1 byte thread, 6 arguments
//
// A number with bit 15 set is taken as is (bits 0-14), so unknown numbers
// come up; otherwise it indexes the arch's table. An argument is a tag
// byte whose top 3 bits say how to read it (see fuzzArg).
//
// Each call must come back as a value or as -errno with Call.Errno set to
// match, or with a *GapError; a handler panic (*PanicError) or any other
// error fails. No call may allocate more than fuzzAllocBound bytes, however
// large the lengths it is given.

const (
	fuzzPathBase   = 0x200000
	maxFuzzCalls   = 24
	fuzzAllocBound = 64 << 20
	fuzzPages      = 4096 // the fake's memory budget: 16 MiB
)

// fuzzPaths are the strings a path argument can point at.
var fuzzPaths = []string{
	"/", "/etc/hostname", "/proc/self/maps", "/proc/self/status", "/proc/self", "/proc/self/exe",
	"/dev/zero", "/dev/urandom", "/dev/null", "/sys/fs/cgroup/cpu.max", "/sys/kernel/mm/transparent_hugepage/enabled",
	"hello.txt", "sub", "sub/inner.txt", "rel", "abs", "up/up/hello.txt", "loop", "../..", ".", "",
	"/proc/self/mountinfo", "/etc", "/sub/../../etc/passwd", "fifo", "/proc/sys/kernel/osrelease",
}

// fuzzConsts are boundary values an argument can take.
var fuzzConsts = []uint64{
	0, 1, 2, 7, 8, 12, 16, 4095, 4096, 65536, 1 << 20, maxRWCount, maxRWCount + 1, 1 << 31, 1<<31 - 1,
	1 << 32, 1 << 40, 1 << 47, 1 << 48, 1 << 62, 1 << 63, 1<<63 - 1, ^uint64(0), ^uint64(0) - 4095,
	uint64(1<<64 - 100), // AT_FDCWD
	unmapped, scratchBase, EPOLLIN | EPOLLET, EPOLLIN | EPOLLONESHOT, EPOLLEXCLUSIVE | EPOLLIN, O_NONBLOCK,
	O_CLOEXEC | O_NONBLOCK, O_CREAT | O_WRONLY, O_PATH, AT_EMPTY_PATH, AT_REMOVEDIR, F_SETPIPE_SZ, F_GETPIPE_SZ,
	F_SETFL, F_DUPFD, FIONREAD, FIONBIO, EFD_SEMAPHORE, RLIMIT_NOFILE, SIGPIPE, SIGURG, SIGKILL,
}

// fuzzReader decodes a fuzz input; past its end it reads zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) left() int { return len(r.b) }

func (r *fuzzReader) bytes(n int) []byte {
	out := make([]byte, n)
	k := copy(out, r.b)
	r.b = r.b[k:]
	return out
}

func (r *fuzzReader) u8() uint8   { return r.bytes(1)[0] }
func (r *fuzzReader) u16() uint16 { return binary.LittleEndian.Uint16(r.bytes(2)) }
func (r *fuzzReader) u32() uint32 { return binary.LittleEndian.Uint32(r.bytes(4)) }
func (r *fuzzReader) u64() uint64 { return binary.LittleEndian.Uint64(r.bytes(8)) }

// fuzzArg decodes one argument. Tags (top 3 bits of the tag byte):
//
//	0  a small signed number from the low 5 bits (-16..15)
//	1  a descriptor 0..15 from the low 4 bits
//	2  a pointer into scratch memory (2 more bytes, 8-aligned)
//	3  a pointer to one of fuzzPaths (low 5 bits)
//	4  a 32-bit value (4 more bytes)
//	5  a 64-bit value (8 more bytes)
//	6  one of fuzzConsts (1 more byte)
//	7  a pointer just before the end of mapped scratch memory (1 more byte)
func fuzzArg(r *fuzzReader, paths []uint64, scratchEnd uint64) uint64 {
	tag := r.u8()
	low := tag & 0x1f
	switch tag >> 5 {
	case 0:
		return uint64(int64(int8(low<<3) >> 3))
	case 1:
		return uint64(low & 0xf)
	case 2:
		return scratchBase + uint64(r.u16())*8%(scratchEnd-scratchBase)
	case 3:
		return paths[int(low)%len(paths)]
	case 4:
		return uint64(r.u32())
	case 5:
		return r.u64()
	case 6:
		return fuzzConsts[int(r.u8())%len(fuzzConsts)]
	}
	return scratchEnd - uint64(r.u8())
}

// fuzzRoot makes a small tree for Config.FSRoot, once per fuzz process.
func fuzzRoot(f *testing.F) string {
	root := f.TempDir()
	for p, s := range map[string]string{"hello.txt": "hi\n", "sub/inner.txt": "inner\n", "etc/passwd": "x\n"} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	for p, target := range map[string]string{"rel": "sub/inner.txt", "abs": "/etc/passwd", "up": "../..", "loop": "loop"} {
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			f.Fatal(err)
		}
	}
	return root
}

// heapAllocs is the total of bytes allocated on the heap so far.
func heapAllocs(s []metrics.Sample) uint64 {
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func FuzzDispatch(f *testing.F) {
	root := fuzzRoot(f)
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	tables := map[string][]int{}
	for _, a := range arch.All() {
		tables[a.Name] = sortedNumbers(a)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := &fuzzReader{b: in}
		head := r.u8()
		a := arch.All()[int(head&1)%len(arch.All())]
		cfg := Config{ExePath: "/hello", Auxv: []byte{6, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0}}
		if head&2 != 0 {
			cfg.FSRoot = root
		}
		main := newFakeWith(t, a, cfg)
		defer func() {
			if err := main.p.k.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
		p := main.p
		p.maxPages = len(p.pages) + fuzzPages
		threads := []*fakeTask{main, main.thread(p.k.PID()+1, NewThread())}
		scratchEnd := scratchBase + scratchPages*a.PageSize
		if err := main.WriteMem(scratchBase, r.bytes(8*int(r.u8()))); err != nil {
			t.Fatal(err)
		}
		// Paths live in read-only pages of their own, which no call can
		// overwrite.
		var paths []uint64
		p.mapPages(fuzzPathBase, a.PageSize, PROT_READ, "")
		at := uint64(fuzzPathBase)
		for _, s := range fuzzPaths {
			paths = append(paths, at)
			if err := main.FillMem(at, append([]byte(s), 0)); err != nil {
				t.Fatal(err)
			}
			at += uint64(len(s)) + 1
		}
		nrs := tables[a.Name]
		stats := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
		for i := 0; i < maxFuzzCalls && r.left() > 0; i++ {
			v := r.u16()
			nr := nrs[int(v)%len(nrs)]
			if v&0x8000 != 0 {
				nr = int(v & 0x7fff)
			}
			th := threads[int(r.u8())%len(threads)]
			var args Args
			for j := range args {
				args[j] = fuzzArg(r, paths, scratchEnd)
			}
			before := heapAllocs(stats)
			c := fuzzCall(t, th, nr, args, false)
			if c.Blocked {
				// The emulator redoes a blocked call when it wakes; here
				// its deadline has passed.
				c = fuzzCall(t, th, nr, args, true)
			}
			if grew := heapAllocs(stats) - before; grew > fuzzAllocBound {
				t.Fatalf("%s%x allocated %d bytes", c.Name, args, grew)
			}
		}
	})
}

// fuzzCall dispatches one call on th and checks its outcome.
func fuzzCall(t *testing.T, th *fakeTask, nr int, args Args, restart bool) Call {
	th.restarted, th.timedOut = restart, restart
	defer func() { th.restarted, th.timedOut = false, false }()
	c, err := th.p.k.Dispatch(th, nr, args)
	var perr *PanicError
	var gap *GapError
	switch {
	case errors.As(err, &perr):
		t.Fatalf("%s%x (restart %v): handler panic: %v\n%s", c.Name, args, restart, perr.Value, perr.Stack)
	case errors.As(err, &gap):
		return c
	case err != nil:
		t.Fatalf("%s%x: emulator error: %v", c.Name, args, err)
	}
	switch {
	case c.Unimplemented && c.Errno != ENOSYS:
		t.Fatalf("%s: unimplemented with errno %v", c.Name, c.Errno)
	case c.Errno != 0 && (c.Errno > maxErrno || c.Ret != uint64(-int64(c.Errno))):
		t.Fatalf("%s%x: errno %d but ret %#x", c.Name, args, int(c.Errno), c.Ret)
	case c.Errno == 0 && !c.Blocked && c.Ret > ^uint64(maxErrno):
		t.Fatalf("%s%x: success with ret %#x, which reads as an errno", c.Name, args, c.Ret)
	}
	return c
}

// fuzzSeeds are programs that reach the interesting handlers: a pipe
// filled and drained, an epoll instance over an eventfd and the pipe, a
// read of a device with a huge length, the fs root view.
func fuzzSeeds() [][]byte {
	type call struct {
		name string
		th   uint8
		args [][]byte // encoded arguments
	}
	small := func(v int8) []byte { return []byte{uint8(v) & 0x1f} }
	fd := func(n uint8) []byte { return []byte{1<<5 | n&0xf} }
	ptr := func(off uint16) []byte { return []byte{2 << 5, byte(off / 8), byte(off / 8 >> 8)} }
	path := func(i int) []byte { return []byte{3<<5 | uint8(i)} }
	u32 := func(v uint32) []byte { return []byte{4 << 5, byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	cst := func(v uint64) []byte {
		for i, c := range fuzzConsts {
			if c == v {
				return []byte{6 << 5, byte(i)}
			}
		}
		panic("no such constant")
	}
	prog := func(head byte, mem []byte, calls ...call) []byte {
		out := []byte{head, byte(len(mem) / 8)}
		out = append(out, mem...)
		for _, c := range calls {
			a := arch.AMD64
			if head&1 != 0 {
				a = arch.ARM64
			}
			nr, ok := Number(a, c.name)
			if !ok {
				panic(c.name)
			}
			idx := 0
			for i, n := range sortedNumbers(a) {
				if n == nr {
					idx = i
				}
			}
			out = append(out, byte(idx), byte(idx>>8), c.th)
			for _, arg := range c.args {
				out = append(out, arg...)
			}
			for i := len(c.args); i < 6; i++ {
				out = append(out, 0)
			}
		}
		return out
	}
	// Seed memory: two iovecs at 0, an epoll_event (EPOLLIN|EPOLLET,
	// either layout) at 128.
	iov := make([]byte, 144)
	binary.LittleEndian.PutUint64(iov[0:], scratchBase+256)
	binary.LittleEndian.PutUint64(iov[8:], 100)
	binary.LittleEndian.PutUint64(iov[16:], 1<<40)
	binary.LittleEndian.PutUint64(iov[24:], 1<<20)
	binary.LittleEndian.PutUint32(iov[128:], EPOLLIN|EPOLLET)
	binary.LittleEndian.PutUint32(iov[136:], 0x5eed)
	var seeds [][]byte
	for head := byte(0); head < 4; head++ {
		seeds = append(seeds,
			prog(head, iov,
				call{"pipe2", 0, [][]byte{ptr(64), cst(O_CLOEXEC | O_NONBLOCK)}},
				call{"write", 0, [][]byte{fd(4), ptr(0), cst(1 << 40)}},
				call{"writev", 1, [][]byte{fd(4), ptr(0), small(2)}},
				call{"read", 0, [][]byte{fd(3), ptr(512), cst(maxRWCount)}},
				call{"fcntl", 0, [][]byte{fd(3), cst(F_SETPIPE_SZ), cst(1 << 20)}},
				call{"eventfd2", 0, [][]byte{small(3), cst(O_NONBLOCK)}},
				call{"epoll_create1", 0, [][]byte{small(0)}},
				call{"epoll_ctl", 0, [][]byte{fd(6), small(1), fd(5), ptr(128)}},
				call{"epoll_ctl", 0, [][]byte{fd(6), small(1), fd(3), ptr(128)}},
				call{"epoll_pwait", 1, [][]byte{fd(6), ptr(1024), small(8), small(-1), small(0), small(8)}},
				call{"close", 0, [][]byte{fd(4)}},
				call{"epoll_pwait", 0, [][]byte{fd(6), ptr(1024), cst(1 << 31), small(0)}},
				call{"read", 1, [][]byte{fd(5), ptr(2048), small(8)}},
			),
			prog(head, nil,
				call{"openat", 0, [][]byte{cst(uint64(1<<64 - 100)), path(7), small(0)}},
				call{"read", 0, [][]byte{fd(3), ptr(0), cst(1 << 40)}},
				call{"openat", 0, [][]byte{cst(uint64(1<<64 - 100)), path(11), small(0)}},
				call{"pread64", 0, [][]byte{fd(4), ptr(0), cst(1 << 20), small(1)}},
				call{"openat", 0, [][]byte{cst(uint64(1<<64 - 100)), path(12), cst(O_PATH)}},
				call{"openat", 0, [][]byte{fd(5), path(19), small(0)}},
				call{"getdents64", 0, [][]byte{fd(6), ptr(0), u32(4096)}},
				call{"newfstatat", 0, [][]byte{cst(uint64(1<<64 - 100)), path(15), ptr(0), small(0)}},
				call{"mkdirat", 0, [][]byte{cst(uint64(1<<64 - 100)), path(12), small(7)}},
				call{"mmap", 0, [][]byte{small(0), cst(1 << 40), small(1), small(2), fd(4), small(0)}},
				call{"socket", 0, [][]byte{small(2), small(1), small(0)}},
			),
		)
	}
	return seeds
}

// sortedNumbers lists an arch's table numbers in order, as FuzzDispatch
// indexes them.
func sortedNumbers(a *arch.Arch) []int {
	var nrs []int
	for nr := range TableFor(a) {
		nrs = append(nrs, nr)
	}
	sort.Ints(nrs)
	return nrs
}
