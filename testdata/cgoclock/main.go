// Command cgoclock reads the clocks through the C library, which takes
// them from the vDSO where the kernel provides one, and checks what any
// Linux guarantees of them: the monotonic clock read through the vDSO and
// through the syscall agrees in order, the coarse clocks trail the fine
// ones, gettimeofday and time agree with CLOCK_REALTIME (time may trail it
// by a tick: glibc takes it from the coarse clock), and getcpu names
// a CPU. Its output is the same natively, under qemu-user and under
// gorunemu.
package main

/*
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static void check(char *out, size_t n) {
	struct timespec a, sys, b, real, realc, mono, monoc, res;
	clock_gettime(CLOCK_MONOTONIC, &a);
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &sys);
	clock_gettime(CLOCK_MONOTONIC, &b);
	clock_gettime(CLOCK_REALTIME_COARSE, &realc);
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &monoc);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	int getres = clock_getres(CLOCK_MONOTONIC, &res);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	time_t t = time(NULL);
	long long tod = tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
	snprintf(out, n,
		"monotonic ordered with the syscall: %d\n"
		"coarse clocks trail: %d %d\n"
		"gettimeofday after CLOCK_REALTIME, within 1s: %d\n"
		"time within 1s: %d\n"
		"clock_getres: %d, resolution at most 1ms: %d\n"
		"getcpu: %d\n",
		ns(a) <= ns(sys) && ns(sys) <= ns(b),
		ns(realc) <= ns(real), ns(monoc) <= ns(mono),
		tod >= ns(real) / 1000 * 1000 && tod - ns(real) < 1000000000LL,
		t - real.tv_sec <= 1 && real.tv_sec - t <= 1,
		getres, res.tv_sec == 0 && res.tv_nsec <= 1000000,
		sched_getcpu() >= 0);
}
*/
import "C"

import (
	"fmt"
	"time"
	"unsafe"
)

func main() {
	var buf [512]C.char
	C.check(&buf[0], C.size_t(len(buf)))
	fmt.Print(C.GoString((*C.char)(unsafe.Pointer(&buf[0]))))
	start := time.Now()
	time.Sleep(10 * time.Millisecond)
	fmt.Println("Go's clock advances across a sleep:", time.Since(start) >= 10*time.Millisecond)
}
