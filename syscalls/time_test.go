package syscalls

import (
	"testing"

	"github.com/gorunemu/gorunemu/arch"
)

// cpuClock is MAKE_PROCESS_CPUCLOCK / MAKE_THREAD_CPUCLOCK.
func cpuClock(pid int, perthread bool, which int32) uint64 {
	id := ^int32(pid)<<3 | which
	if perthread {
		id |= cpuclockPerthreadMask
	}
	return uint64(int64(id))
}

func TestClockGettime(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		f.p.now = 12_345_678_901 // 12.345678901 s since boot
		base := DefaultRealtimeBase
		ts := f.alloc(16)
		cases := []struct {
			clock uint64
			want  int64
		}{
			{CLOCK_REALTIME, base + 12_345_678_901},
			{CLOCK_MONOTONIC, 12_345_678_901},
			{CLOCK_MONOTONIC_RAW, 12_345_678_901},
			{CLOCK_BOOTTIME, 12_345_678_901},
			{CLOCK_MONOTONIC_COARSE, 12_344_000_000},
			{CLOCK_REALTIME_COARSE, base + 12_344_000_000},
			{CLOCK_TAI, base + 12_345_678_901},
			{CLOCK_PROCESS_CPUTIME_ID, 12_345_678_901},
			{CLOCK_THREAD_CPUTIME_ID, 12_345_678_901},
			{uint64(^(uint64(0)<<3)&^7 | cpuclockSched), 12_345_678_901}, // pid 0's CPU clock
		}
		for _, c := range cases {
			f.ok(t, "clock_gettime", c.clock, ts)
			got := int64(f.u64At(t, ts))*1e9 + int64(f.u64At(t, ts+8))
			if got != c.want {
				t.Errorf("clock %d: %d, want %d", int32(c.clock), got, c.want)
			}
		}
		f.fails(t, EINVAL, "clock_gettime", 10, ts)
		f.fails(t, EINVAL, "clock_gettime", 99, ts)
		f.fails(t, EINVAL, "clock_gettime", cpuClock(DefaultPID, false, clockfd), ts)
		f.fails(t, EINVAL, "clock_gettime", cpuClock(1, false, 0), ts)
		f.fails(t, EINVAL, "clock_gettime", cpuClock(9999, true, 0), ts)
		f.fails(t, EFAULT, "clock_gettime", CLOCK_MONOTONIC, unmapped)

		f.ok(t, "clock_getres", CLOCK_MONOTONIC, ts)
		if f.u64At(t, ts) != 0 || f.u64At(t, ts+8) != 1 {
			t.Error("monotonic resolution should be 1ns")
		}
		f.ok(t, "clock_getres", CLOCK_MONOTONIC_COARSE, ts)
		if f.u64At(t, ts+8) != 4_000_000 {
			t.Error("coarse resolution should be a 4ms tick")
		}
		f.ok(t, "clock_getres", CLOCK_REALTIME, 0)
		f.fails(t, EINVAL, "clock_getres", 42, ts)

		tv, tz := f.alloc(16), f.u64s(^uint64(0))
		f.ok(t, "gettimeofday", tv, tz)
		if f.u64At(t, tv) != uint64(base/1e9)+12 || f.u64At(t, tv+8) != 345678 || f.u64At(t, tz) != 0 {
			t.Errorf("gettimeofday %d.%06d tz %#x", f.u64At(t, tv), f.u64At(t, tv+8), f.u64At(t, tz))
		}
		f.fails(t, EFAULT, "gettimeofday", unmapped, 0)
	})
	f := newFakeWith(t, arch.AMD64, Config{RealtimeBase: 1e9 * 1000})
	f.p.now = 2_500_000_000
	p := f.alloc(8)
	if got := f.ok(t, "time", p); got != 1002 || f.u64At(t, p) != 1002 {
		t.Errorf("time = %d", got)
	}
	if got := f.ok(t, "time", 0); got != 1002 {
		t.Errorf("time(NULL) = %d", got)
	}
	f.fails(t, EFAULT, "time", unmapped)
}

func TestSleep(t *testing.T) {
	forArches(t, func(t *testing.T, a *arch.Arch) {
		f := newFake(t, a)
		f.p.now = 1_000
		rem := f.alloc(16)
		c := f.sys(t, "nanosleep", f.u64s(2, 5), rem)
		if !c.Blocked || f.sleeps[0] != 2_000_001_005 {
			t.Errorf("nanosleep: %+v sleeps %v", c, f.sleeps)
		}
		if f.u64At(t, rem) != 0 {
			t.Error("rem written")
		}
		// Zero duration: yield and return at once.
		if got := f.ok(t, "nanosleep", f.u64s(0, 0), 0); got != 0 || f.yields != 1 || len(f.sleeps) != 1 {
			t.Errorf("zero sleep: yields %d sleeps %v", f.yields, f.sleeps)
		}
		f.fails(t, EINVAL, "nanosleep", f.u64s(neg(1), 0), 0)
		f.fails(t, EINVAL, "nanosleep", f.u64s(0, 1e9), 0)
		f.fails(t, EFAULT, "nanosleep", unmapped, 0)

		base := uint64(DefaultRealtimeBase / 1e9)
		cases := []struct {
			clock, flags uint64
			ts           []uint64
			deadline     int64 // 0: returns at once
		}{
			{CLOCK_MONOTONIC, 0, []uint64{1, 0}, 1_000_001_000},
			{CLOCK_MONOTONIC, TIMER_ABSTIME, []uint64{3, 7}, 3_000_000_007},
			{CLOCK_BOOTTIME, TIMER_ABSTIME, []uint64{4, 0}, 4e9},
			{CLOCK_REALTIME, TIMER_ABSTIME, []uint64{base + 5, 0}, 5e9},
			{CLOCK_REALTIME, 0, []uint64{0, 10}, 1_010},
			{CLOCK_MONOTONIC, TIMER_ABSTIME, []uint64{0, 999}, 0}, // in the past
			{CLOCK_REALTIME, TIMER_ABSTIME, []uint64{base - 10, 0}, 0},
		}
		for i, c := range cases {
			g := newFake(t, a)
			g.p.now = 1_000
			call := g.sys(t, "clock_nanosleep", c.clock, c.flags, g.u64s(c.ts...), 0)
			if call.Errno != 0 {
				t.Fatalf("case %d: %v", i, call.Errno)
			}
			if c.deadline == 0 {
				if call.Blocked || g.yields != 1 {
					t.Errorf("case %d: past deadline should yield and return", i)
				}
				continue
			}
			if !call.Blocked || len(g.sleeps) != 1 || g.sleeps[0] != c.deadline {
				t.Errorf("case %d: sleeps %v, want %d", i, g.sleeps, c.deadline)
			}
		}
		f.fails(t, EINVAL, "clock_nanosleep", CLOCK_THREAD_CPUTIME_ID, 0, f.u64s(1, 0), 0)
		f.fails(t, EINVAL, "clock_nanosleep", 77, 0, f.u64s(1, 0), 0)
		f.fails(t, EINVAL, "clock_nanosleep", CLOCK_MONOTONIC, 0, f.u64s(0, neg(1)), 0)
		f.gap(t, "clock_nanosleep", CLOCK_PROCESS_CPUTIME_ID, 0, f.u64s(1, 0), 0)
	})
}
