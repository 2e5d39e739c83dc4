package main

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// crossRoot is where Debian's cross C libraries for a live (the sysroot
// qemu-user is given for a dynamically linked program of the other arch).
func crossRoot(t *testing.T, a *arch.Arch) {
	t.Helper()
	if a.Name == runtime.GOARCH {
		return
	}
	root := "/usr/" + a.Machine + "-linux-gnu"
	_, err := os.Stat(root + "/lib")
	require.NoError(t, err, "Debian's %s cross libraries are needed: run make test-deps", a.Name)
	t.Setenv("QEMU_LD_PREFIX", root)
}

// TestDynamicPrograms: cgo programs linked as go build links them by
// default, dynamically, run to exit through their dynamic loader with the
// output and exit code of a real run (native, or qemu-user with the cross
// libraries): C calls, threads from pthread_create, os/user through
// getpwuid_r and the net package's cgo resolver, and the files mapped.
func TestDynamicPrograms(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			crossRoot(t, a)
			t.Setenv("GODEBUG", "netdns=cgo")
			for _, fixture := range []string{"cgohello", "cgothreads", "cgolibc", "cgoclock"} {
				bin := loadertest.Build(t, fixture, a.Name, loadertest.Cgo())
				wantCode, want := realRun(t, a.Name, t.TempDir(), "", bin)
				require.NotEmpty(t, want)
				code, out, errOut := gorunemu("run", "-q", "--until", "exit", "--fs-root", "/", "--env", "GODEBUG=netdns=cgo", bin)
				assert.Equal(t, wantCode, code, "%s: stderr %s", fixture, errOut)
				assert.Equal(t, want, out, fixture)
			}
		})
	}
}

// TestDynamicIsolation: without --fs-root a dynamically linked program
// sees its libraries and nothing else of the host: getpwuid_r finds no
// /etc/passwd.
func TestDynamicIsolation(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			crossRoot(t, a)
			bin := loadertest.Build(t, "cgolibc", a.Name, loadertest.Cgo())
			code, out, errOut := gorunemu("run", "-q", "--until", "exit", "--env", "GODEBUG=netdns=cgo", bin)
			assert.Equal(t, 3, code, "stderr: %s", errOut)
			assert.Contains(t, out, "hello, libc\n")
			assert.Contains(t, out, "user 0: user: unknown userid 0\n")
			assert.Regexp(t, `mapped: cgolibc ld-linux-\S+ libc\.so\.6\n`, out)
		})
	}
}

// TestDynamicTrace: the trace of a dynamically linked cgo program starts
// in the dynamic loader, names the code of the shared objects, and
// follows the cgo path of rt0_go to main.main.
func TestDynamicTrace(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			crossRoot(t, a)
			bin := loadertest.Build(t, "cgohello", a.Name, loadertest.Cgo())
			code, out, errOut := gorunemu("trace", "--syscalls", bin)
			require.Equal(t, exitOK, code, "stderr: %s", errOut)
			loader := map[string]string{"amd64": "ld-linux-x86-64.so.2", "arm64": "ld-linux-aarch64.so.1"}[a.Name]
			var order []string
			for _, line := range strings.Split(out, "\n") {
				if f := strings.Fields(line); len(f) > 3 && f[2] == "milestone" {
					order = append(order, strings.TrimSuffix(f[3], ":"))
				}
			}
			require.NotEmpty(t, order)
			assert.Regexp(t, `^`+loader+`\+0x[0-9a-f]+$`, order[0], "the first milestone is the loader's entry")
			assert.Regexp(t, `(?m)^ +0 +4242 milestone `+loader+`\+0x[0-9a-f]+: the dynamic loader /\S+/`+loader+` \(AT_BASE 0x[0-9a-f]+\) maps the libraries, then jumps to AT_ENTRY _start$`, out)
			assert.Subset(t, order, []string{"_start", "main", "runtime.rt0_go", "x_cgo_init", "runtime.newm", "x_cgo_thread_start", "main.main"})
			// The loader opens libc through the guest's file system, and
			// the C library's own calls are named.
			assert.Regexp(t, `syscall openat\(AT_FDCWD, "/lib/\S*libc\.so\.6", O_RDONLY\|O_CLOEXEC\) = 3 in `+loader+`\+0x`, out)
			assert.Regexp(t, `syscall \w+\(.*\) = .* in \w+ \(libc\.so\.6\)`, out)
			assert.Contains(t, out, "x_cgo_init: g=runtime.g0: the C library sets g0's stack bounds from its thread's stack")
			// One x_cgo_thread_start per new M, each followed by its thread.
			starts, threads := strings.Count(out, " milestone x_cgo_thread_start: a new M: m=0x"), strings.Count(out, " thread from 4242 at __clone")
			assert.Equal(t, threads, starts, "an x_cgo_thread_start milestone for each thread pthread_create made")
			assert.GreaterOrEqual(t, starts, 2)
		})
	}
}

// TestDynamicNeedsLibraries: a dynamically linked program whose loader is
// not in the sysroot is refused with exit 65 and says what to do.
func TestDynamicNeedsLibraries(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "cgohello", a.Name, loadertest.Cgo())
			code, out, errOut := gorunemu("run", "--sysroot", t.TempDir(), bin)
			assert.Equal(t, exitBadInput, code, "stdout: %s", out)
			assert.Contains(t, errOut, "needs the dynamic loader /lib")
			assert.Contains(t, errOut, "hint: pass --sysroot DIR")
			assert.Contains(t, errOut, "rebuild it static with CGO_ENABLED=0")
		})
	}
}

// TestVDSOClocks: the C library and the Go runtime read the clocks
// through the vDSO, as on Linux, without a syscall: of cgoclock's clock
// reads only the one it makes with syscall(2) reaches the kernel, and
// clock_getres falls back from the vDSO's own function; static Go
// programs make no clock_gettime either.
func TestVDSOClocks(t *testing.T) {
	getres := map[string]string{"amd64": "__vdso_clock_getres", "arm64": "__kernel_clock_getres"}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			crossRoot(t, a)
			bin := loadertest.Build(t, "cgoclock", a.Name, loadertest.Cgo())
			code, out, errOut := gorunemu("trace", "--syscalls", "--until", "exit", bin)
			require.Equal(t, exitOK, code, "stderr: %s", errOut)
			var clocks []string
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, " syscall clock_") {
					clocks = append(clocks, line)
				}
			}
			require.Len(t, clocks, 2, "%q", clocks)
			assert.Regexp(t, `syscall clock_gettime\(CLOCK_MONOTONIC, 0x[0-9a-f]+\) = 0 in syscall \(libc\.so\.6\) from \w*check\+0x`, clocks[0])
			assert.Regexp(t, `syscall clock_getres\(CLOCK_MONOTONIC, 0x[0-9a-f]+\) = 0 in `+getres[a.Name]+` \(linux-vdso\.so\.1\)$`, clocks[1])

			hello := loadertest.Build(t, "hello", a.Name)
			code, out, errOut = gorunemu("trace", "--syscalls", "--until", "exit", hello)
			require.Equal(t, exitOK, code, "stderr: %s", errOut)
			assert.NotContains(t, out, "clock_gettime(")
		})
	}
}
