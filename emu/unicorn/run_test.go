package unicorn

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
)

// TestStep: Step runs exactly one instruction of a block, counts only
// it, stops at a syscall as Start does, and Start afterwards runs and
// counts as before.
func TestStep(t *testing.T) {
	code := map[string][]byte{
		// inc rbx; inc rbx; inc rbx; syscall; inc rbx; syscall
		"amd64": {0x48, 0xff, 0xc3, 0x48, 0xff, 0xc3, 0x48, 0xff, 0xc3, 0x0f, 0x05, 0x48, 0xff, 0xc3, 0x0f, 0x05},
		// add x1,x1,#1 (x3); svc #0; add x1,x1,#1; svc #0
		"arm64": arm64Code(0x91000421, 0x91000421, 0x91000421, 0xd4000001, 0x91000421, 0xd4000001),
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			e := open(t, a)
			require.NoError(t, e.Map(0x1000, 0x1000, ProtRead|ProtExec))
			require.NoError(t, e.WriteMem(0x1000, code[a.Name]))
			counter, size := arch.AMD64_RBX, uint64(3)
			if a == arch.ARM64 {
				counter, size = arch.ARM64X(1), 4
			}
			pc := uint64(0x1000)
			for i := uint64(1); i <= 3; i++ {
				x, err := e.Step(pc)
				require.NoError(t, err)
				assert.False(t, x.Syscall || x.Fault != nil || x.StopAddr, "%+v", x)
				pc, err = e.RegRead(int(a.PC))
				require.NoError(t, err)
				assert.Equal(t, 0x1000+i*size, pc, "one instruction")
				v, err := e.RegRead(int(counter))
				require.NoError(t, err)
				assert.Equal(t, i, v)
				assert.Equal(t, i, e.Insns(), "only what ran is counted")
			}
			x, err := e.Step(pc)
			require.NoError(t, err)
			assert.True(t, x.Syscall, "the step stops at the syscall as Start does")
			assert.Equal(t, uint64(4), e.Insns())
			after := pc + size
			if a == arch.ARM64 {
				after = pc + 4 // the SVC's PC is past it already
			} else {
				after = pc + 2
			}
			x, err = e.Start(after, Unlimited)
			require.NoError(t, err)
			assert.True(t, x.Syscall)
			assert.Equal(t, uint64(6), e.Insns(), "Start counts as before")
			v, err := e.RegRead(int(counter))
			require.NoError(t, err)
			assert.Equal(t, uint64(4), v)
		})
	}
}
