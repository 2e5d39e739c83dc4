//go:build linux && amd64

// This test compares the emulator's instruction count with a real x86-64
// CPU's, so it needs an x86-64 Linux host that allows ptrace.

package emu_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
	"github.com/gorunemu/gorunemu/trace"
	"github.com/gorunemu/gorunemu/trace/tracetest"
)

// TestInstructionCountMatchesNative counts the instructions the main
// thread executes from the entry point to runtime.main, natively with a
// ptrace single-stepper and in the emulator, with the same argv, env and
// AT_RANDOM bytes (00..0f). The difference has known causes, logged:
// the native run calls clock_gettime through the vDSO (dozens of
// instructions where the emulator executes one SYSCALL), and the host CPU
// advertises features (AVX2, ERMS, POPCNT) that send the runtime down other
// paths in memmove, memclr and the like.
func TestInstructionCountMatchesNative(t *testing.T) {
	if testing.Short() {
		t.Skip("single-steps a process")
	}
	bin := loadertest.Build(t, "hello", "amd64")
	img, err := loader.Open(bin)
	require.NoError(t, err)
	target, ok := img.Lookup("runtime.main")
	require.True(t, ok)
	random := [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	env := []string{"PATH=/usr/bin:/bin", "HOME=/root"}

	nativeByFunc := map[string]int64{}
	native, err := singleStep(bin, env, random, target, func(pc uint64) {
		nativeByFunc[funcName(img, pc)]++
	})
	if err != nil {
		t.Skipf("cannot single-step natively here: %v", err)
	}

	rec := &tracetest.Recorder{}
	p, err := emu.New(img, emu.Config{Argv: []string{"./hello"}, Env: env, Random: &random,
		Trace: &emu.TraceOptions{Sink: rec, Insns: true}})
	require.NoError(t, err)
	defer p.Close()
	r, err := p.Run(context.Background(), emu.UntilSymbol("runtime.main"))
	require.NoError(t, err)
	require.Equal(t, emu.StopUntil, r.Kind)
	emulated := p.MainThread().Insns()
	emuByFunc := map[string]int64{}
	for _, e := range rec.Of(trace.Insn) {
		emuByFunc[funcName(img, e.At.PC)]++
	}
	require.Equal(t, int64(emulated), sum(emuByFunc))

	diff := int64(emulated) - int64(native)
	t.Logf("entry -> runtime.main on the main thread: native %d, emulated %d, difference %+d (%.2f%%)",
		native, emulated, diff, 100*float64(diff)/float64(native))
	// Where they differ, biggest first.
	type delta struct {
		fn        string
		nat, emul int64
	}
	var ds []delta
	for fn := range union(nativeByFunc, emuByFunc) {
		if nativeByFunc[fn] != emuByFunc[fn] {
			ds = append(ds, delta{fn, nativeByFunc[fn], emuByFunc[fn]})
		}
	}
	sort.Slice(ds, func(i, j int) bool {
		a, b := abs(ds[i].emul-ds[i].nat), abs(ds[j].emul-ds[j].nat)
		return a > b || a == b && ds[i].fn < ds[j].fn
	})
	for _, d := range ds[:min(len(ds), 15)] {
		t.Logf("  %-50s native %7d emulated %7d (%+d)", d.fn, d.nat, d.emul, d.emul-d.nat)
	}
	t.Logf("functions executed the same number of times: %d of %d", len(union(nativeByFunc, emuByFunc))-len(ds), len(union(nativeByFunc, emuByFunc)))
	// The paths differ by CPU features and the vDSO, not by more than a
	// few percent.
	require.InDelta(t, float64(native), float64(emulated), 0.08*float64(native))
}

func funcName(img *loader.Image, pc uint64) string {
	if f, ok := img.FuncAt(pc); ok {
		return f.Name
	}
	return "[vdso or unknown]"
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func union(a, b map[string]int64) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// singleStep runs bin natively under ptrace with ASLR off, writes random
// over its AT_RANDOM bytes at the first instruction, and counts the
// instructions until the PC reaches target, passing each PC to seen.
func singleStep(bin string, env []string, random [16]byte, target uint64, seen func(pc uint64)) (count uint64, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// The personality (ASLR off) is inherited by the child forked from
	// this thread.
	old, err := personality(0xffffffff)
	if err != nil {
		return 0, err
	}
	if _, err := personality(old | addrNoRandomize); err != nil {
		return 0, err
	}
	defer func() {
		if _, perr := personality(old); perr != nil && err == nil {
			err = perr
		}
	}()

	cmd := exec.Command(bin)
	cmd.Args = []string{"./hello"}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	defer func() {
		// The child is killed before it finishes; its status says only that.
		if kerr := unix.Kill(pid, unix.SIGKILL); kerr == nil {
			if werr := cmd.Wait(); werr == nil && err == nil {
				err = fmt.Errorf("child exited normally after SIGKILL")
			}
		}
	}()
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		return 0, err
	}
	if !ws.Stopped() {
		return 0, fmt.Errorf("child did not stop at exec: %v", ws)
	}
	var regs unix.PtraceRegs
	if err := unix.PtraceGetRegs(pid, &regs); err != nil {
		return 0, err
	}
	if err := pokeRandom(pid, regs.Rsp, random); err != nil {
		return 0, err
	}
	for regs.Rip != target {
		seen(regs.Rip)
		if err := unix.PtraceSingleStep(pid); err != nil {
			return 0, err
		}
		if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
			return 0, err
		}
		if !ws.Stopped() {
			return 0, fmt.Errorf("child ended before reaching %#x: %v", target, ws)
		}
		if err := unix.PtraceGetRegs(pid, &regs); err != nil {
			return 0, err
		}
		count++
	}
	return count, nil
}

// addrNoRandomize is ADDR_NO_RANDOMIZE (include/uapi/linux/personality.h).
const addrNoRandomize = 0x0040000

func personality(p uint64) (uint64, error) {
	r, _, errno := unix.Syscall(unix.SYS_PERSONALITY, uintptr(p), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return uint64(r), nil
}

// pokeRandom finds AT_RANDOM in the initial stack at sp and overwrites
// the 16 bytes it points to.
func pokeRandom(pid int, sp uint64, random [16]byte) error {
	word := func(addr uint64) (uint64, error) {
		var b [8]byte
		if _, err := unix.PtracePeekData(pid, uintptr(addr), b[:]); err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint64(b[:]), nil
	}
	argc, err := word(sp)
	if err != nil {
		return err
	}
	p := sp + 8 + 8*(argc+1)
	for { // skip envp
		v, err := word(p)
		if err != nil {
			return err
		}
		p += 8
		if v == 0 {
			break
		}
	}
	for {
		typ, err := word(p)
		if err != nil {
			return err
		}
		val, err := word(p + 8)
		if err != nil {
			return err
		}
		switch typ {
		case uint64(loader.AT_NULL):
			return fmt.Errorf("no AT_RANDOM")
		case uint64(loader.AT_RANDOM):
			_, err := unix.PtracePokeData(pid, uintptr(val), random[:])
			return err
		}
		p += 16
	}
}
