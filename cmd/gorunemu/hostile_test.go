package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// The fixtures that misbehave on purpose each get their documented
// outcome: a stop reason, a one-line message naming the limit or fault
// and the guest's position, and an exit code.
func TestHostileFixtures(t *testing.T) {
	derefLine := fixtureLine(t, "fault", "main.go", "func deref(")
	storeLine := fixtureLine(t, "fault", "main.go", "*code = 0xcc")
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			for _, c := range []struct {
				name    string
				fixture string
				flags   []string
				args    []string
				code    int
				message string // regexp for the "gorunemu:" line on stderr
			}{
				{"loop/insns", "loop", []string{"--max-insns", "20000000"}, nil, exitInsns,
					`^gorunemu: --max-insns=20000000: instruction limit of 20000000 instructions reached at main\.main\+0x[0-9a-f]+ \(0x[0-9a-f]+\) \S+/testdata/loop/main\.go:\d+ on thread 4242$`},
				{"loop/timeout", "loop", []string{"--timeout", "300ms"}, nil, exitTimeout,
					// Where the clock runs out depends on the host's speed:
					// in main.main's loop here, maybe still in the runtime's
					// startup on a loaded machine.
					`^gorunemu: --timeout=300ms: timeout at \S+ \(0x[0-9a-f]+\)( \S+:\d+)? on thread \d+$`},
				{"alloc", "alloc", []string{"--max-mem", "64000000"}, nil, exitMem,
					`^gorunemu: --max-mem=64000000: memory limit of 64000000 bytes reached at runtime\.\S+ \(0x[0-9a-f]+\) \S+ on thread 4242$`},
				{"spawn", "spawn", []string{"--max-threads", "16"}, nil, exitThreads,
					`^gorunemu: --max-threads=16: thread limit of 16 threads reached at runtime\.clone\+0x[0-9a-f]+ \(0x[0-9a-f]+\) \S+ on thread \d+$`},
				{"fault/nil", "fault", []string{"--stop-on-fault"}, []string{"nil"}, 128 + 11,
					`^gorunemu: fault: read of 8 bytes at 0x8 \(unmapped\) at main\.deref \(0x[0-9a-f]+\) \S+/testdata/fault/main\.go:` + derefLine + ` on thread 4242$`},
				{"fault/ud", "fault", []string{"--stop-on-fault"}, []string{"ud"}, 128 + 4,
					`^gorunemu: fault: undefined instruction.* at main\.ud \(0x[0-9a-f]+\) \S+/testdata/fault/ud_` + a.Name + `\.s:5 on thread 4242$`},
				{"fault/jump", "fault", []string{"--stop-on-fault"}, []string{"jump"}, 128 + 11,
					`^gorunemu: fault: fetch of \d bytes at 0xdead0000 \(unmapped\) at 0xdead0000 on thread 4242$`},
				{"fault/text", "fault", []string{"--stop-on-fault"}, []string{"text"}, 128 + 11,
					`^gorunemu: fault: write of 1 bytes at 0x[0-9a-f]+ \(no permission\) at main\.main\+0x[0-9a-f]+ \(0x[0-9a-f]+\) \S+/testdata/fault/main\.go:` + storeLine + ` on thread 4242$`},
				// Delivered, the fault becomes Go's panic, exit 2, and the
				// run ends normally (emu's TestFaultsMatchLinux compares
				// the output with Linux's).
				{"fault/nil/delivered", "fault", nil, []string{"nil"}, 2, `^$`},
				// A stop the guest never reaches says so.
				{"hello/not-reached", "hello", []string{"--until", "runtime.throw"}, nil, exitNotReach,
					`^gorunemu: exited with code 0, before reaching --until runtime\.throw$`},
				// Stopped by its own SIGSTOP, nothing can continue it.
				{"selfstop", "selfstop", nil, nil, exitDeadlock,
					`^gorunemu: deadlock: every process is stopped by a stop signal \(SIGSTOP, SIGTSTP, \.\.\.\) and none is left to continue it$`},
				{"nosys/strict", "nosys", []string{"--strict"}, nil, exitInternal,
					`^gorunemu: --strict: unimplemented syscall syscall_1000 at \S+ \(0x[0-9a-f]+\) .* on thread 4242$`},
			} {
				t.Run(c.name, func(t *testing.T) {
					bin := loadertest.Build(t, c.fixture, a.Name)
					args := append(append(append([]string{"run", "-q", "--until", "exit"}, c.flags...), bin), c.args...)
					code, _, errOut := gorunemu(args...)
					assert.Equal(t, c.code, code, "stderr: %s", errOut)
					var line string
					for _, l := range strings.Split(errOut, "\n") {
						if strings.HasPrefix(l, "gorunemu: ") {
							line = l
						}
					}
					assert.Regexp(t, regexp.MustCompile(c.message), line)
				})
			}
		})
	}
}

// TestForkBomb: a guest that forks without end gets EAGAIN at gorunemu's
// process limit, or stops at the memory limit, which all its processes
// share, and the host is fine.
func TestForkBomb(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "forkbomb", a.Name)
			code, out, errOut := gorunemu("run", "-q", "--until", "exit", bin)
			assert.Equal(t, 0, code, "stderr: %s", errOut)
			assert.Equal(t, "fork 63: resource temporarily unavailable\n", out)
			code, _, errOut = gorunemu("run", "-q", "--until", "exit", "--max-mem", "64000000", bin)
			assert.Equal(t, exitMem, code, "stderr: %s", errOut)
			assert.Regexp(t, `gorunemu: --max-mem=64000000: memory limit of 64000000 bytes reached at \S+ \(0x[0-9a-f]+\) .* on thread 4242\n$`, errOut)
		})
	}
}

// TestUnknownSyscall: without --strict the guest gets ENOSYS, the run goes
// on, and the summary counts the call.
func TestUnknownSyscall(t *testing.T) {
	for _, a := range arch.All() {
		code, out, errOut := gorunemu("run", "--until", "exit", loadertest.Build(t, "nosys", a.Name))
		assert.Equal(t, 0, code)
		assert.Equal(t, "syscall 1000: function not implemented\n", out)
		assert.Contains(t, errOut, "(unimplemented: syscall_1000×1)")
	}
}

// TestEscape runs a guest that tries to reach the host: nothing works, the
// host file it tries to write is not created, and the host's loopback
// listener it dials sees nobody: the guest's loopback is its own.
func TestEscape(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan bool, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err == nil
	}()
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "escaped")
			code, out, errOut := gorunemu("run", "-q", "--until", "exit", loadertest.Build(t, "escape", a.Name), target, port)
			require.Equal(t, 0, code, "stderr: %s", errOut)
			assert.Contains(t, out, "read /etc/passwd: open /etc/passwd: no such file or directory\n")
			assert.Regexp(t, `write: open \S+: (no such file or directory|read-only file system)\n`, out)
			assert.Contains(t, out, "dial internet: dial tcp 192.0.2.1:80: connect: network is unreachable\n")
			assert.Contains(t, out, "dial host loopback: dial tcp 127.0.0.1:"+port+": connect: connection refused\n")
			assert.Contains(t, out, "kill parent: no such process\n")
			assert.Regexp(t, `exec: fork/exec /bin/true: \S.*\n`, out)
			assert.NotContains(t, out, ": ok")
			_, err := os.Stat(target)
			assert.ErrorIs(t, err, os.ErrNotExist, "the host file was not written")
		})
	}
	ln.Close()
	assert.False(t, <-accepted, "the host's listener accepted a connection")
}

// TestFaultTrace: a delivered fault shows in the trace as a signal line
// at the faulting instruction, followed by the handler's rt_sigreturn.
func TestFaultTrace(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "fault", a.Name)
			code, out, errOut := gorunemu("trace", "--syscalls", "--until", "exit", bin, "mid")
			require.Equal(t, 2, code, "stderr: %s", errOut)
			asm := map[string]string{"amd64": "0xe", "arm64": "0x8"}[a.Name] // the third instruction
			assert.Regexp(t, `(?m)^ +\d+  4242 signal SIGSEGV at main\.mid\+`+asm+` \S+/testdata/fault/ud_`+a.Name+`\.s:12: read of 8 bytes at 0x10 \(unmapped\); handler runtime\.sigtramp$`, out)
			assert.Regexp(t, `(?m)^ +\d+  4242 syscall rt_sigreturn\(\) = \d+ in \S+$`, out)
			assert.Contains(t, errOut, "[signal SIGSEGV: segmentation violation code=0x1 addr=0x10 pc=")
		})
	}
}

// fixtureLine returns the number of the line of testdata/FIXTURE/FILE
// that contains text, so that expected messages follow the source.
func fixtureLine(t *testing.T, fixture, file, text string) string {
	t.Helper()
	root, err := loadertest.ModuleRoot()
	require.NoError(t, err)
	src, err := os.ReadFile(filepath.Join(root, "testdata", fixture, file))
	require.NoError(t, err)
	for i, l := range strings.Split(string(src), "\n") {
		if strings.Contains(l, text) {
			return strconv.Itoa(i + 1)
		}
	}
	t.Fatalf("no %q in testdata/%s/%s", text, fixture, file)
	return ""
}

// TestManyMappings: a guest may hold as many mappings as Linux allows
// (vm.max_map_count), made page by page with mprotect, and past that
// mprotect fails with ENOMEM, as on Linux and under qemu-user: the
// engine holds a page table, not a region per mapping (30,000 alternating
// pages took minutes and aborted Unicorn on arm64 when each was one).
func TestManyMappings(t *testing.T) {
	for _, a := range arch.All() {
		bin := loadertest.Build(t, "manymaps", a.Name)
		for _, pages := range []string{"30000", "140000"} {
			wantCode, want := realRun(t, a.Name, t.TempDir(), "", bin, pages)
			code, out, errOut := gorunemu("run", "-q", "--until", "exit", bin, pages)
			assert.Equal(t, wantCode, code, "%s %s pages: stderr %s", a.Name, pages, errOut)
			assert.Equal(t, want, out, "%s %s pages", a.Name, pages)
		}
	}
}

// TestSelfModifyingCode: code the guest changes runs as changed, whether
// the CPU stored it, read(2) wrote it into the page, or the page was
// mapped afresh at the same address; before, a read() into code that had
// run left the old translation running.
func TestSelfModifyingCode(t *testing.T) {
	for _, a := range arch.All() {
		bin := loadertest.Build(t, "selfmod", a.Name)
		wantCode, want := realRun(t, a.Name, t.TempDir(), "", bin)
		require.Equal(t, "1 2 3 4\n", want, "natively or under qemu-user")
		code, out, errOut := gorunemu("run", "-q", "--until", "exit", bin)
		assert.Equal(t, wantCode, code, "%s: stderr %s", a.Name, errOut)
		assert.Equal(t, want, out, a.Name)
	}
}

// stallingWriter is a reader that stopped reading: every write blocks
// until the test ends.
type stallingWriter struct{ release chan struct{} }

func (w stallingWriter) Write(p []byte) (int, error) {
	<-w.release
	return len(p), nil
}

// TestTimeoutWithStalledStdout: a guest whose stdout nobody reads still
// stops at --timeout, with its exit code, instead of waiting in a write.
func TestTimeoutWithStalledStdout(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			bin := loadertest.Build(t, "chatty", a.Name)
			w := stallingWriter{make(chan struct{})}
			defer close(w.release)
			var errOut strings.Builder
			done := make(chan int, 1)
			go func() { done <- run([]string{"run", "-q", "--until", "exit", "--timeout", "1s", bin}, w, &errOut) }()
			select {
			case code := <-done:
				assert.Equal(t, exitTimeout, code, "stderr: %s", errOut.String())
			case <-time.After(60 * time.Second):
				t.Fatal("the run waits on its stalled stdout past --timeout")
			}
		})
	}
}

// TestHostMemoryBounded: whatever a guest does to make gorunemu use host
// memory (anonymous maps, file maps, memory kept through PROT_NONE,
// threads, descriptors on virtual files, one huge write), the peak RSS of
// the gorunemu process stays within --max-mem plus a stated constant: what
// gorunemu, Unicorn's translation cache and the bounded kernel state (at
// most 4096 host files, 256 MiB of virtual file contents, of which these
// ways use a few MiB) take besides guest memory. The peak is the run
// summary's, from VmHWM: getrusage would count the test binary's own
// memory, which the child shares until it execs.
func TestHostMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures")
	}
	const limit = 256 << 20
	const overhead = 96 << 20 // measured: 30 to 60 MiB
	bin := gorunemuBinary(t)
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "data"), make([]byte, 16<<20), 0o644))
	peakRe := regexp.MustCompile(`(?m)^memory: +(\d+) MiB of host memory at the peak`)
	for _, a := range arch.All() {
		hog := loadertest.Build(t, "hog", a.Name)
		for _, way := range []string{"maps", "filemaps", "protnone", "threads", "fds", "buffers"} {
			cmd := exec.Command(bin, "run", "--until", "exit", "--max-mem", strconv.Itoa(limit), "--fs-root", root, hog, way, "/data")
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatalf("%s: %v", bin, err)
			}
			code := cmd.ProcessState.ExitCode()
			// The guest either finished or met the memory limit.
			assert.Contains(t, []int{0, exitMem}, code, "%s %s: stdout %s stderr %s", a.Name, way, out.String(), errOut.String())
			// The summary goes to stderr when the run stops at a limit.
			m := peakRe.FindStringSubmatch(out.String() + errOut.String())
			require.NotNil(t, m, "%s %s: no peak in the summary: %s (stderr %s)", a.Name, way, out.String(), errOut.String())
			peak, err := strconv.ParseInt(m[1], 10, 64)
			require.NoError(t, err)
			assert.LessOrEqual(t, peak<<20, int64(limit+overhead), "%s %s: peak RSS %d MiB", a.Name, way, peak)
			first, _, _ := strings.Cut(out.String(), "\n")
			t.Logf("%s %-8s exit %d, peak RSS %3d MiB: %s", a.Name, way, code, peak, first)
		}
	}
}

// TestStaticCgoPrograms: static cgo binaries run to exit as they do
// natively and under qemu-aarch64: one calling C, one whose C code starts
// threads with pthread_create (clone with CLONE_SETTLS and the rest) that
// call back into Go.
func TestStaticCgoPrograms(t *testing.T) {
	for _, a := range arch.All() {
		for _, fixture := range []string{"cgohello", "cgothreads"} {
			bin := loadertest.Build(t, fixture, a.Name, loadertest.StaticCgo())
			wantCode, want := realRun(t, a.Name, t.TempDir(), "", bin)
			code, out, errOut := gorunemu("run", "-q", "--until", "exit", bin)
			assert.Equal(t, wantCode, code, "%s %s: stderr %s", a.Name, fixture, errOut)
			assert.Equal(t, want, out, "%s %s", a.Name, fixture)
			assert.NotEmpty(t, want)
		}
	}
}
