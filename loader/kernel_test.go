package loader_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// gdbScript stops a program at its first instruction with ASLR off and
// writes its stack, from SP to the end of the stack mapping, to %[1]s,
// and "SP TOP" in hex to %[1]s.meta.
const gdbScript = `set pagination off
set confirm off
set disable-randomization on
set startup-with-shell off
starti
python
import gdb
inf = gdb.selected_inferior()
sp = int(gdb.parse_and_eval("$sp")) & 0xffffffffffffffff
top = None
with open("/proc/%%d/maps" %% inf.pid) as maps:
    for line in maps:
        lo, hi = [int(x, 16) for x in line.split()[0].split("-")]
        if lo <= sp < hi:
            top = hi
data = inf.read_memory(sp, top - sp).tobytes()
with open(%[1]q, "wb") as f:
    f.write(data)
with open(%[1]q + ".meta", "w") as f:
    f.write("%%x %%x\n" %% (sp, top))
end
kill
quit
`

// realStack is a process's initial stack as Linux made it.
type realStack struct {
	sp, top uint64
	data    []byte
	argv    []string
	envp    []string
	auxv    []loader.AuxEntry
}

func (r *realStack) word(addr uint64) uint64 {
	return binary.LittleEndian.Uint64(r.data[addr-r.sp:])
}

func (r *realStack) cstring(addr uint64) string {
	b := r.data[addr-r.sp:]
	return string(b[:bytes.IndexByte(b, 0)])
}

func (r *realStack) aux(t loader.AuxType) (uint64, bool) {
	for _, e := range r.auxv {
		if e.Type == t {
			return e.Val, true
		}
	}
	return 0, false
}

// captureStack runs bin under gdb on this host and returns its initial
// stack, or skips the test if gdb cannot do that here.
func captureStack(t *testing.T, bin string, args []string, env []string) *realStack {
	t.Helper()
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Skip("no gdb on this host")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "stack.bin")
	script := filepath.Join(dir, "dump.gdb")
	require.NoError(t, os.WriteFile(script, []byte(fmt.Sprintf(gdbScript, out)), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gdb, append([]string{"-nx", "-q", "-batch", "-x", script, "--args", bin}, args...)...)
	cmd.Env = env
	output, err := cmd.CombinedOutput()
	data, rerr := os.ReadFile(out)
	meta, merr := os.ReadFile(out + ".meta")
	if err != nil || rerr != nil || merr != nil {
		t.Skipf("gdb could not capture a stack on this host (no ptrace or no python?): %v\n%s", err, output)
	}
	r := &realStack{data: data}
	_, err = fmt.Sscanf(string(meta), "%x %x", &r.sp, &r.top)
	require.NoError(t, err)
	require.Equal(t, r.top-r.sp, uint64(len(data)))

	argc := r.word(r.sp)
	p := r.sp + 8
	for i := uint64(0); i < argc; i++ {
		r.argv = append(r.argv, r.cstring(r.word(p)))
		p += 8
	}
	require.Zero(t, r.word(p))
	for p += 8; r.word(p) != 0; p += 8 {
		r.envp = append(r.envp, r.cstring(r.word(p)))
	}
	for p += 8; ; p += 16 {
		e := loader.AuxEntry{Type: loader.AuxType(r.word(p)), Val: r.word(p + 8)}
		r.auxv = append(r.auxv, e)
		if e.Type == loader.AT_NULL {
			break
		}
	}
	return r
}

// TestStackMatchesLinux compares NewStack with the stack the host kernel
// gives the amd64 hello fixture (gdb, ASLR off): same SP, same bytes from
// SP to the top, same auxv. Only the values the loader cannot know (the
// environment gdb passes, the random bytes, HWCAP, the vDSO address, the
// ids) are taken from the real stack.
func TestStackMatchesLinux(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("needs an amd64 Linux host")
	}
	bin := loadertest.Build(t, "hello", "amd64")
	img := openImage(t, bin)
	for _, tc := range []struct {
		name string
		args []string
		env  []string
	}{
		// gdb splits arguments at blanks even without a shell: use none.
		{"short", nil, []string{"GORUNEMU_TEST=1"}},
		{"args", []string{"a", "two-words", "-x=1"}, []string{"GORUNEMU_TEST=oracle", "PATH=/usr/bin:/bin", "EMPTY="}},
		{"padding", []string{"abcdefghijklm"}, []string{"X=" + string(bytes.Repeat([]byte("y"), 100))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := captureStack(t, bin, tc.args, tc.env)
			require.Equal(t, append([]string{bin}, tc.args...), r.argv)

			c := loader.StackConfig{Argv: r.argv, Envp: r.envp, Top: r.top}
			v, ok := r.aux(loader.AT_EXECFN)
			require.True(t, ok)
			c.ExecFn = r.cstring(v)
			v, ok = r.aux(loader.AT_RANDOM)
			require.True(t, ok)
			copy(c.Random[:], r.data[v-r.sp:])
			v, ok = r.aux(loader.AT_PLATFORM)
			require.True(t, ok)
			c.Platform = r.cstring(v)
			c.HWCAP, _ = r.aux(loader.AT_HWCAP)
			c.HWCAP2, _ = r.aux(loader.AT_HWCAP2)
			c.PageSize, _ = r.aux(loader.AT_PAGESZ)
			c.ClkTck, _ = r.aux(loader.AT_CLKTCK)
			c.MinSigStackSize, _ = r.aux(loader.AT_MINSIGSTKSZ)
			c.SysinfoEHDR, _ = r.aux(loader.AT_SYSINFO_EHDR)
			c.RseqFeatureSize, _ = r.aux(loader.AT_RSEQ_FEATURE_SIZE)
			c.RseqAlign, _ = r.aux(loader.AT_RSEQ_ALIGN)
			c.UID, _ = r.aux(loader.AT_UID)
			c.EUID, _ = r.aux(loader.AT_EUID)
			c.GID, _ = r.aux(loader.AT_GID)
			c.EGID, _ = r.aux(loader.AT_EGID)
			secure, _ := r.aux(loader.AT_SECURE)
			c.Secure = secure != 0

			st, err := loader.NewStack(img, c)
			require.NoError(t, err)
			assert.Equal(t, r.auxv, st.Auxv, "auxv entries and order")
			assert.Equal(t, r.sp, st.SP, "SP: real %#x, NewStack %#x", r.sp, st.SP)
			if assert.Equal(t, len(r.data), len(st.Data)) {
				for i := range r.data {
					if r.data[i] != st.Data[i] {
						t.Errorf("first difference at %#x: real %#02x, NewStack %#02x", r.sp+uint64(i), r.data[i], st.Data[i])
						break
					}
				}
			}
			// The reference facts, on this kernel.
			assert.Equal(t, uint64(0x7ffffffff000), r.top)
			phdr, _ := r.aux(loader.AT_PHDR)
			assert.Equal(t, img.PhdrAddr, phdr)
			entry, _ := r.aux(loader.AT_ENTRY)
			assert.Equal(t, img.Entry, entry)
		})
	}
}
