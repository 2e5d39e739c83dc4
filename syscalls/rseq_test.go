package syscalls

import (
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// TestRseq: registration as rseq(2) checks it (size, alignment, flags,
// a second registration, unregistering with the wrong signature), the
// CPU number written at once, and the abort of a critical section the
// thread is preempted in.
func TestRseq(t *testing.T) {
	const sig = 0x53053053
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		area := (f.alloc(64) + 31) &^ 31
		f.fails(t, EINVAL, "rseq", area, 16, 0, sig)
		f.fails(t, EINVAL, "rseq", area+8, 32, 0, sig)
		f.fails(t, EINVAL, "rseq", area, 32, 2, sig)
		f.fails(t, EINVAL, "rseq", area, 32, rseqFlagUnregister, sig) // not registered
		if err := f.WriteMem(area, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); err != nil {
			t.Fatal(err)
		}
		f.ok(t, "rseq", area, 32, 0, sig)
		if f.u32At(t, area) != 0 || f.u32At(t, area+4) != 0 {
			t.Errorf("cpu_id_start %d, cpu_id %d: want CPU 0", int32(f.u32At(t, area)), int32(f.u32At(t, area+4)))
		}
		f.fails(t, EBUSY, "rseq", area, 32, 0, sig)
		f.fails(t, EPERM, "rseq", area, 32, 0, sig+1)
		f.fails(t, EINVAL, "rseq", area+32, 32, 0, sig)

		// A critical section [0x1000, 0x1040) whose abort handler at
		// 0x2004 follows the signature.
		code := f.alloc(0x3000)
		start, abort := code+0x1000, code+0x2004
		if err := f.WriteMem(abort-4, []byte{0x53, 0x30, 0x05, 0x53}); err != nil {
			t.Fatal(err)
		}
		cs := f.u64s(0, start, 0x40, abort) // version 0, flags 0 in the first word
		setCS := func() {
			if err := writeU64(f, area+8, cs); err != nil {
				t.Fatal(err)
			}
		}
		setCS()
		if pc, ok := f.th.RseqResume(f, start+0x10); !ok || pc != abort {
			t.Errorf("preempted inside: resume at %#x (ok %v), want the abort handler %#x", pc, ok, abort)
		}
		if f.u64At(t, area+8) != 0 {
			t.Error("rseq_cs not cleared after the abort")
		}
		setCS()
		if pc, ok := f.th.RseqResume(f, start+0x40); !ok || pc != start+0x40 {
			t.Errorf("preempted after the commit: resume at %#x (ok %v)", pc, ok)
		}
		setCS()
		if err := f.WriteMem(abort-4, []byte{0, 0, 0, 0}); err != nil {
			t.Fatal(err)
		}
		if _, ok := f.th.RseqResume(f, start); ok {
			t.Error("an abort handler without the signature must fault")
		}

		f.fails(t, EPERM, "rseq", area, 32, rseqFlagUnregister, sig+1)
		f.ok(t, "rseq", area, 32, rseqFlagUnregister, sig)
		if int32(f.u32At(t, area+4)) != -1 {
			t.Errorf("cpu_id after unregistering %d, want -1", int32(f.u32At(t, area+4)))
		}
		if pc, ok := f.th.RseqResume(f, start); !ok || pc != start {
			t.Errorf("unregistered: resume at %#x (ok %v)", pc, ok)
		}
	})
}
