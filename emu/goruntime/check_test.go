package goruntime_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// hello returns the hello fixture, stripped or not.
func hello(t *testing.T, goarch string, stripped bool) string {
	if stripped {
		return loadertest.Build(t, "hello", goarch, loadertest.Stripped())
	}
	return loadertest.Build(t, "hello", goarch)
}

// TestCheckCatchesBadFSBase moves the main thread's FS base by 16 bytes
// through the API: Check reports exactly the tls invariant of that
// thread, and nothing once it is put back.
func TestCheckCatchesBadFSBase(t *testing.T) {
	for _, stripped := range []bool{false, true} {
		t.Run(fmt.Sprintf("stripped=%v", stripped), func(t *testing.T) {
			t.Parallel()
			p := runTo(t, hello(t, "amd64", stripped), "main.main", emu.Config{})
			main := p.MainThread()
			fs, err := main.Reg(arch.AMD64_FS_BASE)
			require.NoError(t, err)
			require.NoError(t, main.SetReg(arch.AMD64_FS_BASE, fs+16))

			s := read(t, p)
			v := goruntime.Check(s)
			require.Len(t, v, 1, "%v", v)
			assert.Equal(t, "tls", v[0].ID)
			assert.Equal(t, main.TID, v[0].TID)
			want := fmt.Sprintf("FS base %#x ≠ &m0.tls+8 %#x (off by +0x10)", fs+16, fs)
			assert.Contains(t, v[0].Message, want)
			assert.Contains(t, v[0].Message, "*(FS base − 8) 0x0 ≠ R14", "m0.tls[2] is empty")

			require.NoError(t, main.SetReg(arch.AMD64_FS_BASE, fs))
			assert.Empty(t, goruntime.Check(read(t, p)))
		})
	}
}

// TestCheckCatchesBadG0StackLo raises g0.stack.lo by 0x100 in guest
// memory: Check reports exactly the g0-stack invariant, naming lo.
func TestCheckCatchesBadG0StackLo(t *testing.T) {
	for _, a := range arch.All() {
		for _, stripped := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stripped=%v", a.Name, stripped), func(t *testing.T) {
				t.Parallel()
				p := runTo(t, hello(t, a.Name, stripped), "main.main", emu.Config{})
				before := read(t, p)
				require.Empty(t, goruntime.Check(before))
				g0 := uint64(val(t, "&g0", before.G0.Addr))
				loAddr := g0 + before.Offsets.GStackLo
				lo, err := p.ReadU64(loAddr)
				require.NoError(t, err)
				var b [8]byte
				binary.LittleEndian.PutUint64(b[:], lo+0x100)
				require.NoError(t, p.WriteMem(loAddr, b[:]))

				v := goruntime.Check(read(t, p))
				require.Len(t, v, 1, "%v", v)
				assert.Equal(t, "g0-stack", v[0].ID)
				assert.Zero(t, v[0].TID)
				assert.Contains(t, v[0].Message, fmt.Sprintf("lo %#x ≠ entry SP − 48 − 0x10000 = %#x", lo+0x100, lo))
				assert.NotContains(t, v[0].Message, "stackguard", "the guards are where lo should be")
			})
		}
	}
}

// TestCheckCatchesTPIDR sets TPIDR_EL0 on the arm64 main thread, which a
// Go binary without cgo never does.
func TestCheckCatchesTPIDR(t *testing.T) {
	p := runTo(t, hello(t, "arm64", false), "main.main", emu.Config{})
	main := p.MainThread()
	require.NoError(t, main.SetReg(arch.ARM64_TPIDR_EL0, 0x1000))
	v := goruntime.Check(read(t, p))
	require.Len(t, v, 1, "%v", v)
	assert.Equal(t, goruntime.Violation{ID: "tpidr", TID: main.TID, Message: "TPIDR_EL0 0x1000 ≠ 0 in a binary without cgo"}, v[0])
}

// TestCheckCatchesUnlinkedG0 breaks m0.g0: only m0-g0 fails, since the
// main thread runs the main goroutine, not g0.
func TestCheckCatchesUnlinkedG0(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			p := runTo(t, hello(t, a.Name, false), "main.main", emu.Config{})
			s := read(t, p)
			m0 := uint64(val(t, "&m0", s.M0.Addr))
			g0 := uint64(val(t, "&g0", s.G0.Addr))
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], g0+8)
			require.NoError(t, p.WriteMem(m0+s.Offsets.MG0, b[:]))
			v := goruntime.Check(read(t, p))
			require.Len(t, v, 1, "%v", v)
			assert.Equal(t, goruntime.Violation{ID: "m0-g0", Message: fmt.Sprintf("m0.g0 %#x ≠ &g0 %#x (off by +0x8)", g0+8, g0)}, v[0])
		})
	}
}

// TestEvaluateReportsEveryCheck lists the checks of a healthy hello: every
// process-wide one passes, and each thread has its own.
func TestEvaluateReportsEveryCheck(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			s := read(t, runTo(t, hello(t, a.Name, false), "main.main", emu.Config{}))
			got := map[string]goruntime.Status{}
			perThread := map[string]int{}
			for _, r := range goruntime.Evaluate(s) {
				if r.TID == 0 {
					got[r.ID] = r.Status
				} else {
					perThread[r.ID]++
				}
				assert.NotEqual(t, goruntime.Fail, r.Status, "%s", r)
				assert.NotEmpty(t, r.Message)
			}
			for _, id := range []string{"m0-g0", "g0-m", "g0-stack", "m0-procid", "argv", "page-size"} {
				assert.Equal(t, goruntime.Pass, got[id], id)
			}
			tlsID := "tls"
			if a == arch.ARM64 {
				tlsID = "tpidr"
			}
			n := len(s.Threads)
			assert.Equal(t, map[string]int{tlsID: n, "g-in-m": n, "sp-in-stack": n, "procid": n - 1}, perThread)
		})
	}
}

// TestStackGuard pins the runtime's stackGuard for plain and -race builds
// on both sides of its Go 1.21 redefinition.
func TestStackGuard(t *testing.T) {
	for _, c := range []struct {
		minor int
		race  bool
		want  uint64
	}{{17, false, 928}, {20, true, 1856}, {21, false, 928}, {26, true, 1728}} {
		assert.Equal(t, c.want, goruntime.StackGuard(c.minor, c.race), "go1.%d race=%v", c.minor, c.race)
	}
}
