package unicorn

import (
	"encoding/binary"
	"testing"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArchConstantsMatchHeaders(t *testing.T) {
	h := headerConstants()
	assert.Equal(t, h["UC_ARCH_X86"], arch.AMD64.UnicornArch)
	assert.Equal(t, h["UC_ARCH_ARM64"], arch.ARM64.UnicornArch)
	assert.Equal(t, h["UC_MODE_64"], arch.AMD64.UnicornMode)
	assert.Equal(t, h["UC_MODE_ARM"], arch.ARM64.UnicornMode)
	assert.Equal(t, h["UC_CPU_X86_SANDYBRIDGE"], arch.AMD64.CPUModel)
	assert.Equal(t, h["UC_CPU_ARM64_MAX"], arch.ARM64.CPUModel)
	for _, a := range arch.All() {
		for _, r := range a.GPRs {
			if want, ok := h[r.Name]; ok {
				assert.Equal(t, want, int(r.Reg), "%s %s", a.Name, r.Name)
			}
		}
	}
	assert.Equal(t, h["xmm0"], int(arch.AMD64_XMM0))
	for name, r := range map[string]arch.Reg{
		"ds": arch.AMD64_DS, "es": arch.AMD64_ES, "fs": arch.AMD64_FS, "gs": arch.AMD64_GS,
		"st0": arch.AMD64_ST0, "fpcw": arch.AMD64_FPCW, "fpsw": arch.AMD64_FPSW, "fptag": arch.AMD64_FPTAG,
		"fip": arch.AMD64_FIP, "fcs": arch.AMD64_FCS, "fdp": arch.AMD64_FDP, "fds": arch.AMD64_FDS, "fop": arch.AMD64_FOP,
		"mxcsr": arch.AMD64_MXCSR, "gs_base": arch.AMD64_GS_BASE,
		"pstate": arch.ARM64_PSTATE, "fpcr": arch.ARM64_FPCR, "fpsr": arch.ARM64_FPSR, "q0": arch.ARM64_Q0,
	} {
		assert.Equal(t, h[name], int(r), name)
	}
	assert.Equal(t, h["x8"], int(arch.ARM64.SyscallNr))
	assert.Equal(t, h["x28"], int(arch.ARM64.G))
}

func open(t *testing.T, a *arch.Arch) *Engine {
	t.Helper()
	e, err := Open(Arch(a.UnicornArch), Mode(a.UnicornMode), a.CPUModel)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.Close()) })
	return e
}

func arm64Code(words ...uint32) []byte {
	b := make([]byte, 4*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}

// loop is a program that makes a syscall, counts in a register and jumps
// back: on amd64 "mov eax,39; syscall; inc rbx; jmp 0x1000", on arm64
// "movz x8,#172; svc #0; add x1,x1,#1; b 0x1000".
var loop = map[string]struct {
	code          []byte
	afterSyscall  uint64
	counter       arch.Reg
	insnsPerRound uint64
}{
	"amd64": {
		code:          []byte{0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0x48, 0xff, 0xc3, 0xeb, 0xf4},
		afterSyscall:  0x1007,
		counter:       arch.AMD64_RBX,
		insnsPerRound: 4,
	},
	"arm64": {
		code:          arm64Code(0xd2801588, 0xd4000001, 0x91000421, 0x17fffffd),
		afterSyscall:  0x1008,
		counter:       arch.ARM64X(1),
		insnsPerRound: 4,
	},
}

func TestSyscallStopsAfterInstruction(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			p := loop[a.Name]
			e := open(t, a)
			require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
			require.NoError(t, e.WriteMem(0x1000, p.code))

			x, err := e.Start(0x1000, Unlimited)
			require.NoError(t, err)
			assert.True(t, x.Syscall)
			assert.Nil(t, x.Fault)
			pc, err := e.RegRead(int(a.PC))
			require.NoError(t, err)
			assert.Equal(t, p.afterSyscall, pc)
			assert.Equal(t, uint64(2), e.Insns())
			nr, err := e.RegRead(int(a.SyscallNr))
			require.NoError(t, err)
			assert.Equal(t, map[string]uint64{"amd64": 39, "arm64": 172}[a.Name], nr)

			for round := uint64(1); round <= 3; round++ {
				x, err = e.Start(pc, Unlimited)
				require.NoError(t, err)
				require.True(t, x.Syscall)
				pc, err = e.RegRead(int(a.PC))
				require.NoError(t, err)
				assert.Equal(t, p.afterSyscall, pc)
				n, err := e.RegRead(int(p.counter))
				require.NoError(t, err)
				assert.Equal(t, round, n)
				assert.Equal(t, 2+round*p.insnsPerRound, e.Insns())
			}
		})
	}
}

func TestStopAddress(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			p := loop[a.Name]
			e := open(t, a)
			require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
			require.NoError(t, e.WriteMem(0x1000, p.code))
			require.NoError(t, e.SetStops([]uint64{0x1000}))

			// Starting on a stop address stops before it runs.
			x, err := e.Start(0x1000, Unlimited)
			require.NoError(t, err)
			assert.True(t, x.StopAddr)
			assert.Equal(t, uint64(0x1000), x.StopPC)
			assert.Equal(t, uint64(0), e.Insns())

			// Skipping once runs to the syscall, then back to the stop.
			e.SkipStopOnce(0x1000)
			x, err = e.Start(0x1000, Unlimited)
			require.NoError(t, err)
			require.True(t, x.Syscall)
			x, err = e.Start(p.afterSyscall, Unlimited)
			require.NoError(t, err)
			assert.True(t, x.StopAddr)
			pc, err := e.RegRead(int(a.PC))
			require.NoError(t, err)
			assert.Equal(t, uint64(0x1000), pc)
			n, err := e.RegRead(int(p.counter))
			require.NoError(t, err)
			assert.Equal(t, uint64(1), n, "the instructions before the stop ran")
			assert.Equal(t, uint64(4), e.Insns())

			// A stop added after the code was translated still fires.
			require.NoError(t, e.SetStops([]uint64{p.afterSyscall}))
			x, err = e.Start(0x1000, Unlimited)
			require.NoError(t, err)
			require.True(t, x.Syscall)
			x, err = e.Start(p.afterSyscall, Unlimited)
			require.NoError(t, err)
			assert.True(t, x.StopAddr)
			assert.Equal(t, p.afterSyscall, x.StopPC)
		})
	}
}

func TestBudget(t *testing.T) {
	// A tight loop: amd64 "inc rbx; jmp -5", arm64 "add x1,x1,#1; b -4".
	code := map[string][]byte{
		"amd64": {0x48, 0xff, 0xc3, 0xeb, 0xfb},
		"arm64": arm64Code(0x91000421, 0x17ffffff),
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			e := open(t, a)
			require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
			require.NoError(t, e.WriteMem(0x1000, code[a.Name]))
			x, err := e.Start(0x1000, 1000)
			require.NoError(t, err)
			assert.True(t, x.Budget)
			assert.Equal(t, uint64(1000), e.Insns())
			n, err := e.RegRead(int(loop[a.Name].counter))
			require.NoError(t, err)
			assert.Equal(t, uint64(500), n)
		})
	}
}

func TestFaults(t *testing.T) {
	// amd64 "mov rax,[0x10]" (48 8b 04 25 10 00 00 00); arm64 "ldr x0,[x1]" with x1 = 0x10.
	code := map[string][]byte{
		"amd64": {0x48, 0x8b, 0x04, 0x25, 0x10, 0, 0, 0},
		"arm64": arm64Code(0xf9400020),
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			e := open(t, a)
			require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
			require.NoError(t, e.WriteMem(0x1000, code[a.Name]))
			if a.Name == "arm64" {
				require.NoError(t, e.RegWrite(int(arch.ARM64X(1)), 0x10))
			}
			x, err := e.Start(0x1000, Unlimited)
			require.NoError(t, err)
			require.NotNil(t, x.Fault)
			assert.Equal(t, FaultRead, x.Fault.Kind)
			assert.True(t, x.Fault.Unmapped)
			assert.Equal(t, uint64(0x10), x.Fault.Addr)
			assert.Equal(t, 8, x.Fault.Size)
			pc, err := e.RegRead(int(a.PC))
			require.NoError(t, err)
			assert.Equal(t, uint64(0x1000), pc, "the faulting instruction, which starts its block (TestFaultMidBlock shows otherwise)")

			// A write to read-only memory.
			require.NoError(t, e.Map(0x2000, 0x1000, ProtRead))
			store := map[string][]byte{
				"amd64": {0x48, 0x89, 0x04, 0x25, 0x00, 0x20, 0, 0}, // mov [0x2000],rax
				"arm64": arm64Code(0xf9000020),                      // str x0,[x1]
			}[a.Name]
			require.NoError(t, e.WriteMem(0x1100, store))
			if a.Name == "arm64" {
				require.NoError(t, e.RegWrite(int(arch.ARM64X(1)), 0x2000))
			}
			x, err = e.Start(0x1100, Unlimited)
			require.NoError(t, err)
			require.NotNil(t, x.Fault)
			assert.Equal(t, FaultWrite, x.Fault.Kind)
			assert.False(t, x.Fault.Unmapped)
			assert.Equal(t, uint64(0x2000), x.Fault.Addr)
		})
	}
}

// TestFaultMidBlock pins what Unicorn 2.0.1 leaves after a data fault in
// the middle of a block: the instructions before it ran and those after
// it did not, but the PC is the block's start on both arches
// (unicorn#1699; emu's faultPC finds the instruction), and the whole
// block was counted, which Uncount corrects.
func TestFaultMidBlock(t *testing.T) {
	code := map[string][]byte{
		// mov ecx,1; mov rax,[0x10]; mov edx,2; ud2
		"amd64": {0xb9, 1, 0, 0, 0, 0x48, 0x8b, 0x04, 0x25, 0x10, 0, 0, 0, 0xba, 2, 0, 0, 0, 0x0f, 0x0b},
		// movz x1,#0x10; movz x2,#5; str x2,[x1]; movz x3,#7; udf #0
		"arm64": arm64Code(0xd2800201, 0xd28000a2, 0xf9000022, 0xd28000e3, 0),
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			e := open(t, a)
			require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
			require.NoError(t, e.WriteMem(0x1000, code[a.Name]))
			x, err := e.Start(0x1000, Unlimited)
			require.NoError(t, err)
			require.NotNil(t, x.Fault)
			assert.Equal(t, uint64(0x10), x.Fault.Addr)
			pc, err := e.RegRead(int(a.PC))
			require.NoError(t, err)
			assert.Equal(t, uint64(0x1000), pc, "the block's start, not the faulting instruction")
			before, after, faultAt, ran, block := arch.AMD64_RCX, arch.AMD64_RDX, uint64(0x1005), uint64(1), uint64(4)
			if a == arch.ARM64 {
				before, after, faultAt, ran, block = arch.ARM64X(2), arch.ARM64X(3), 0x1008, 2, 5
			}
			vb, _ := e.RegRead(int(before))
			va, _ := e.RegRead(int(after))
			assert.NotZero(t, vb, "the instruction before the fault ran")
			assert.Zero(t, va, "the instruction after the fault did not")
			assert.Equal(t, block, e.Insns(), "the whole block counted")
			e.Uncount(faultAt)
			assert.Equal(t, ran, e.Insns(), "only the instructions before the fault ran")
		})
	}
}

// TestBudgetStopBetweenChainedBlocks pins a Unicorn 2.0.1 behaviour: when
// the block hook stops the CPU at a block reached by a chained jump, the PC
// register still holds an older block's address. Exit.StopPC is the block
// that did not run, and resuming there keeps the program exact.
func TestBudgetStopBetweenChainedBlocks(t *testing.T) {
	// amd64: 0x1000 "inc rax; jmp 0x1010" and 0x1010 "inc rbx; jmp 0x1000".
	// arm64: 0x1000 "add x0,x0,#1; b 0x1010" and 0x1010 "add x1,x1,#1; b 0x1000".
	type prog struct {
		a, b   []byte
		rA, rB arch.Reg
	}
	progs := map[string]prog{
		"amd64": {[]byte{0x48, 0xff, 0xc0, 0xeb, 0x0b}, []byte{0x48, 0xff, 0xc3, 0xeb, 0xeb}, arch.AMD64_RAX, arch.AMD64_RBX},
		"arm64": {arm64Code(0x91000400, 0x14000003), arm64Code(0x91000421, 0x17fffffb), arch.ARM64X(0), arch.ARM64X(1)},
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			p := progs[a.Name]
			e := open(t, a)
			require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
			require.NoError(t, e.WriteMem(0x1000, p.a))
			require.NoError(t, e.WriteMem(0x1010, p.b))
			pc := uint64(0x1000)
			for i := 0; i < 50; i++ {
				x, err := e.Start(pc, 2*uint64(i%7+1)+1)
				require.NoError(t, err)
				require.True(t, x.Budget)
				require.Contains(t, []uint64{0x1000, 0x1010}, x.StopPC)
				pc = x.StopPC
				v := make([]uint64, 2)
				require.NoError(t, e.RegReadBatch([]int{int(p.rA), int(p.rB)}, v))
				assert.Equal(t, e.Insns()/2, v[0]+v[1], "each block ran once per two instructions")
				want := uint64(0x1000)
				if v[0] > v[1] {
					want = 0x1010
				}
				assert.Equal(t, want, pc, "the next block to run")
			}
		})
	}
}

// TestOpenRefusesOtherArches: the hooks know x86-64 and AArch64 only, so
// any other Unicorn arch is refused at Open rather than run with the
// wrong hooks.
func TestOpenRefusesOtherArches(t *testing.T) {
	const ucArchARM = 1 // 32-bit ARM
	_, err := Open(Arch(ucArchARM), 0, -1)
	assert.ErrorContains(t, err, "only x86 and arm64")
}

// TestWatchStops: a store or load to a stop watch ends the run at the end
// of its block, and the hit names the accessing instruction, the watched
// bytes and where the block began.
func TestWatchStops(t *testing.T) {
	// Both programs: point a register at 0x2000, store to 0x2000, load
	// from 0x2008, count in a register, jump to the next instruction (a
	// new block), count again, then make a syscall.
	progs := map[string]struct {
		code        []byte
		store, load uint64
		next        uint64 // the second block
		counter     arch.Reg
	}{
		"amd64": {
			code: []byte{
				0x48, 0xc7, 0xc0, 0x00, 0x20, 0x00, 0x00, // mov rax, 0x2000
				0x48, 0x89, 0x18, // mov [rax], rbx
				0x48, 0x8b, 0x48, 0x08, // mov rcx, [rax+8]
				0x48, 0xff, 0xc2, // inc rdx
				0xeb, 0x00, // jmp 0x1013
				0x48, 0xff, 0xc2, // inc rdx
				0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, // mov eax, 39; syscall
			},
			store: 0x1007, load: 0x100a, next: 0x1013, counter: arch.AMD64_RDX,
		},
		"arm64": {
			code:  arm64Code(0xd2840000, 0xf9000001, 0xf9400402, 0x91000463, 0x14000001, 0x91000463, 0xd2801588, 0xd4000001),
			store: 0x1004, load: 0x1008, next: 0x1014, counter: arch.ARM64X(3),
		},
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			p := progs[a.Name]
			e := open(t, a)
			require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
			require.NoError(t, e.Map(0x2000, 0x1000, ProtRead|ProtWrite))
			require.NoError(t, e.WriteMem(0x1000, p.code))
			run := func(ws ...WatchStop) Exit {
				t.Helper()
				require.NoError(t, e.SetWatchStops(ws))
				require.NoError(t, e.RegWrite(int(p.counter), 0))
				x, err := e.Start(0x1000, Unlimited)
				require.NoError(t, err)
				require.Nil(t, x.Fault)
				n, err := e.RegRead(int(p.counter))
				require.NoError(t, err)
				if len(x.Watches) > 0 {
					// The block ran on to its end, and no further.
					assert.True(t, x.Budget)
					assert.Equal(t, p.next, x.StopPC)
					assert.Equal(t, uint64(1), n)
				} else {
					assert.True(t, x.Syscall)
					assert.Equal(t, uint64(2), n)
				}
				return x
			}

			before := e.Insns()
			x := run(WatchStop{Begin: 0x2000, End: 0x2008, Write: true})
			assert.Equal(t, []WatchHit{{PC: p.store, Addr: 0x2000, Size: 8, Write: true, Block: 0x1000, BlockInsns: before}}, x.Watches)

			// A load is no write; part of a store is reported as such.
			before = e.Insns()
			x = run(WatchStop{Begin: 0x2008, End: 0x2010, Write: true}, WatchStop{Begin: 0x2004, End: 0x2006, Write: true})
			assert.Equal(t, []WatchHit{{PC: p.store, Addr: 0x2004, Size: 2, Write: true, Block: 0x1000, BlockInsns: before}}, x.Watches)

			before = e.Insns()
			x = run(WatchStop{Begin: 0x2008, End: 0x2009, Read: true})
			assert.Equal(t, []WatchHit{{PC: p.load, Addr: 0x2008, Size: 1, Block: 0x1000, BlockInsns: before}}, x.Watches)

			// Every access of the block is reported, in order.
			before = e.Insns()
			x = run(WatchStop{Begin: 0x2000, End: 0x2010, Read: true, Write: true})
			assert.Equal(t, []WatchHit{
				{PC: p.store, Addr: 0x2000, Size: 8, Write: true, Block: 0x1000, BlockInsns: before},
				{PC: p.load, Addr: 0x2008, Size: 8, Block: 0x1000, BlockInsns: before},
			}, x.Watches)

			// Accesses elsewhere, and no watches, do not stop.
			x = run(WatchStop{Begin: 0x2800, End: 0x2900, Read: true, Write: true})
			assert.Empty(t, x.Watches)
			x = run()
			assert.Empty(t, x.Watches)
			assert.Error(t, e.SetWatchStops([]WatchStop{{Begin: 0x2000, End: 0x2000, Write: true}}))
		})
	}
}

// TestStartExact: a budget that ends inside a block stops before that
// block, naming its length, and never passes the budget; one that ends
// at a block's end runs it.
func TestStartExact(t *testing.T) {
	// A block of three: amd64 "inc rbx; inc rbx; jmp 0x1000", arm64
	// "add x1,x1,#1; add x1,x1,#1; b 0x1000".
	code := map[string][]byte{
		"amd64": {0x48, 0xff, 0xc3, 0x48, 0xff, 0xc3, 0xeb, 0xf8},
		"arm64": arm64Code(0x91000421, 0x91000421, 0x17fffffe),
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			e := open(t, a)
			require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
			require.NoError(t, e.WriteMem(0x1000, code[a.Name]))
			x, err := e.StartExact(0x1000, 7, 7)
			require.NoError(t, err)
			assert.True(t, x.Budget)
			assert.Equal(t, uint64(3), x.Over, "the block that would pass the budget")
			assert.Equal(t, uint64(0x1000), x.StopPC)
			assert.Equal(t, uint64(6), e.Insns(), "two blocks, not the third")
			x, err = e.StartExact(0x1000, 3, 3)
			require.NoError(t, err)
			assert.True(t, x.Budget)
			assert.Zero(t, x.Over, "the budget ended with a block")
			assert.Equal(t, uint64(9), e.Insns())
			x, err = e.Start(0x1000, 2)
			require.NoError(t, err)
			assert.Zero(t, x.Over)
			assert.Equal(t, uint64(12), e.Insns(), "Start ends at a block's end")
			// A budget of 4 lets a begun block end (at 6); exact 5 stops
			// before the second block.
			x, err = e.StartExact(0x1000, 4, 5)
			require.NoError(t, err)
			assert.Equal(t, uint64(3), x.Over)
			assert.Equal(t, uint64(15), e.Insns())
		})
	}
}

// TestSkipStopOnceOnlyFirst: stepping over a stop address is for the
// first instruction of the next start; armed where no stop was, it does
// not skip a stop set at that address later (it used to, and RunTo then
// ran one instruction past its target).
func TestSkipStopOnceOnlyFirst(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			l := loop[a.Name]
			e := open(t, a)
			require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
			require.NoError(t, e.WriteMem(0x1000, l.code))
			// The loop's third instruction, after its syscall.
			third := l.afterSyscall
			e.SkipStopOnce(0x1000)
			x, err := e.Start(0x1000, 1) // no stop at 0x1000: nothing to skip
			require.NoError(t, err)
			require.True(t, x.Syscall)
			require.NoError(t, e.SetStops([]uint64{0x1000}))
			x, err = e.Start(third, 100)
			require.NoError(t, err)
			assert.True(t, x.StopAddr, "stopped at the stop set after the skip was armed")
			assert.Equal(t, uint64(0x1000), x.StopPC)
		})
	}
}
