package syscalls

// Clocks and sleeping, on the Task's virtual monotonic clock (ns since
// boot). CLOCK_REALTIME is Config.RealtimeBase later; there is no
// suspend, so CLOCK_BOOTTIME equals CLOCK_MONOTONIC, and no NTP, so
// CLOCK_TAI equals CLOCK_REALTIME and CLOCK_MONOTONIC_RAW equals
// CLOCK_MONOTONIC.

// tickNS is the jiffy of a HZ=250 kernel (Debian's): the coarse clocks
// advance in these steps and report it as their resolution.
const tickNS = 4_000_000

// cpuTime is the CPU time of the process and of each thread. The
// emulator does not account CPU time per thread; the virtual clock only
// advances while guest code runs, so it stands for both.
func cpuTime(t Task) int64 { return t.Now() }

// clockNow reads clock id, or fails with EINVAL for an unknown clock.
func clockNow(t Task, id int32) (int64, error) {
	now := t.Now()
	base := t.Kernel().cfg.RealtimeBase
	if id < 0 {
		// A CPU-time clock of another process or thread
		// (include/linux/posix-timers.h): ~pid<<3 | perthread<<2 | which.
		if id&cpuclockClockMask == clockfd {
			return 0, EINVAL
		}
		pid := int(^(id >> 3))
		k := t.Kernel()
		if pid != 0 {
			if id&cpuclockPerthreadMask != 0 {
				if _, ok := k.thread(pid); !ok {
					return 0, EINVAL
				}
			} else if pid != k.cfg.PID {
				return 0, EINVAL
			}
		}
		if id&cpuclockClockMask > cpuclockSched {
			return 0, EINVAL
		}
		return cpuTime(t), nil
	}
	switch id {
	case CLOCK_REALTIME, CLOCK_TAI, CLOCK_REALTIME_ALARM:
		return base + now, nil
	case CLOCK_REALTIME_COARSE:
		return base + now - now%tickNS, nil
	case CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME, CLOCK_BOOTTIME_ALARM:
		return now, nil
	case CLOCK_MONOTONIC_COARSE:
		return now - now%tickNS, nil
	case CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID:
		return cpuTime(t), nil
	}
	return 0, EINVAL
}

// ClockGettime implements clock_gettime(2).
func ClockGettime(t Task, a Args) (uint64, error) {
	ns, err := clockNow(t, a.Int32(0))
	if err != nil {
		return 0, err
	}
	return 0, writeTimespec(t, a.Ptr(1), ns)
}

// ClockGetres implements clock_getres(2): 1 ns for the high-resolution
// clocks, one tick for the coarse ones.
func ClockGetres(t Task, a Args) (uint64, error) {
	id := a.Int32(0)
	if _, err := clockNow(t, id); err != nil {
		return 0, err
	}
	res := int64(1)
	if id == CLOCK_REALTIME_COARSE || id == CLOCK_MONOTONIC_COARSE {
		res = tickNS
	}
	if a.Ptr(1) == 0 {
		return 0, nil
	}
	return 0, writeTimespec(t, a.Ptr(1), res)
}

// Gettimeofday implements gettimeofday(2); the timezone, if asked for, is
// UTC with no DST.
func Gettimeofday(t Task, a Args) (uint64, error) {
	ns, err := clockNow(t, CLOCK_REALTIME)
	if err != nil {
		return 0, err
	}
	if tv := a.Ptr(0); tv != 0 {
		var b [16]byte
		le.PutUint64(b[:], uint64(ns/1e9))
		le.PutUint64(b[8:], uint64(ns%1e9/1e3))
		if err := t.WriteMem(tv, b[:]); err != nil {
			return 0, err
		}
	}
	if tz := a.Ptr(1); tz != 0 {
		if err := t.WriteMem(tz, make([]byte, 8)); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// Time implements time(2) (amd64 only).
func Time(t Task, a Args) (uint64, error) {
	ns, err := clockNow(t, CLOCK_REALTIME)
	if err != nil {
		return 0, err
	}
	sec := uint64(ns / 1e9)
	if p := a.Ptr(0); p != 0 {
		if err := writeU64(t, p, sec); err != nil {
			return 0, err
		}
	}
	return sec, nil
}

// sleepUntil blocks until the monotonic deadline; a deadline that has
// passed yields and returns at once.
func sleepUntil(t Task, deadline int64) (uint64, error) {
	if deadline <= t.Now() {
		t.Yield()
		return 0, nil
	}
	return t.Sleep(deadline)
}

// Nanosleep implements nanosleep(2). No signal interrupts a sleep, so rem
// is never written.
func Nanosleep(t Task, a Args) (uint64, error) {
	ts, err := readTimespec(t, a.Ptr(0))
	if err != nil {
		return 0, err
	}
	if !ts.valid() {
		return 0, EINVAL
	}
	return sleepUntil(t, addSat(t.Now(), ts.ns()))
}

// ClockNanosleep implements clock_nanosleep(2) on the realtime, monotonic
// and boot-time clocks, relative or TIMER_ABSTIME. Sleeping on the
// thread's CPU clock is EINVAL as in Linux; on the process's CPU clock it
// is an emulator gap.
func ClockNanosleep(t Task, a Args) (uint64, error) {
	id, flags := a.Int32(0), a.Int32(1)
	var realtime bool
	switch id {
	case CLOCK_REALTIME, CLOCK_TAI, CLOCK_REALTIME_ALARM:
		realtime = true
	case CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_BOOTTIME_ALARM:
	case CLOCK_PROCESS_CPUTIME_ID:
		return 0, gapf("clock_nanosleep on CLOCK_PROCESS_CPUTIME_ID")
	default:
		if id < 0 && id&cpuclockClockMask != clockfd && id&cpuclockPerthreadMask == 0 {
			return 0, gapf("clock_nanosleep on a process CPU clock")
		}
		return 0, EINVAL
	}
	ts, err := readTimespec(t, a.Ptr(2))
	if err != nil {
		return 0, err
	}
	if !ts.valid() {
		return 0, EINVAL
	}
	if flags&TIMER_ABSTIME == 0 {
		return sleepUntil(t, addSat(t.Now(), ts.ns()))
	}
	deadline := ts.ns()
	if realtime {
		deadline -= t.Kernel().cfg.RealtimeBase
	}
	return sleepUntil(t, deadline)
}
