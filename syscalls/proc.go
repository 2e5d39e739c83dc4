package syscalls

// Process identity, limits and miscellany.

// Getpid implements getpid(2).
func Getpid(t Task, a Args) (uint64, error) { return uint64(t.Kernel().cfg.PID), nil }

// Getppid implements getppid(2).
func Getppid(t Task, a Args) (uint64, error) { return uint64(t.Kernel().cfg.PPID), nil }

// Getuid implements getuid(2).
func Getuid(t Task, a Args) (uint64, error) { return uint64(t.Kernel().cfg.UID), nil }

// Geteuid implements geteuid(2): the effective uid is the real one.
func Geteuid(t Task, a Args) (uint64, error) { return uint64(t.Kernel().cfg.UID), nil }

// Getgid implements getgid(2).
func Getgid(t Task, a Args) (uint64, error) { return uint64(t.Kernel().cfg.GID), nil }

// Getegid implements getegid(2): the effective gid is the real one.
func Getegid(t Task, a Args) (uint64, error) { return uint64(t.Kernel().cfg.GID), nil }

// Uname implements uname(2): sysname "Linux", nodename Config.Hostname,
// release Release, version Version, machine the arch's uname -m
// ("x86_64", "aarch64") and domainname "(none)".
func Uname(t Task, a Args) (uint64, error) {
	var b [6 * utsFieldLen]byte
	fields := []string{"Linux", t.Kernel().cfg.Hostname, Release, Version, t.Arch().Machine, "(none)"}
	for i, f := range fields {
		copy(b[i*utsFieldLen:(i+1)*utsFieldLen-1], f)
	}
	return 0, t.WriteMem(a.Ptr(0), b[:])
}

// rlimit is struct rlimit64.
type rlimit struct{ cur, max uint64 }

// defaultRlimits are the limits of a process started by a kernel
// (include/asm-generic/resource.h INIT_RLIMITS): RLIMIT_NPROC and
// RLIMIT_SIGPENDING, which the kernel sizes from memory at boot
// (max_threads/2), are those of a 4 GiB machine.
var defaultRlimits = [RLIM_NLIMITS]rlimit{
	RLIMIT_CPU:        {RLIM_INFINITY, RLIM_INFINITY},
	RLIMIT_FSIZE:      {RLIM_INFINITY, RLIM_INFINITY},
	RLIMIT_DATA:       {RLIM_INFINITY, RLIM_INFINITY},
	RLIMIT_STACK:      {8 << 20, RLIM_INFINITY}, // _STK_LIM
	RLIMIT_CORE:       {0, RLIM_INFINITY},
	RLIMIT_RSS:        {RLIM_INFINITY, RLIM_INFINITY},
	RLIMIT_NPROC:      {16384, 16384},
	RLIMIT_NOFILE:     {1024, 4096}, // INR_OPEN_CUR, INR_OPEN_MAX
	RLIMIT_MEMLOCK:    {8 << 20, 8 << 20},
	RLIMIT_AS:         {RLIM_INFINITY, RLIM_INFINITY},
	RLIMIT_LOCKS:      {RLIM_INFINITY, RLIM_INFINITY},
	RLIMIT_SIGPENDING: {16384, 16384},
	RLIMIT_MSGQUEUE:   {819200, 819200}, // MQ_BYTES_MAX
	RLIMIT_NICE:       {0, 0},
	RLIMIT_RTPRIO:     {0, 0},
	RLIMIT_RTTIME:     {RLIM_INFINITY, RLIM_INFINITY},
}

// prlimit is the body of prlimit64, getrlimit and setrlimit
// (kernel/sys.c do_prlimit). Limits are stored; only RLIMIT_NOFILE is
// enforced (by the descriptor table).
func prlimit(t Task, pid int, resource uint32, newAddr, oldAddr uint64) (uint64, error) {
	k := t.Kernel()
	if pid != 0 && pid != k.cfg.PID {
		if _, ok := k.thread(pid); !ok {
			return 0, ESRCH
		}
	}
	if resource >= RLIM_NLIMITS {
		return 0, EINVAL
	}
	var nw rlimit
	if newAddr != 0 {
		var b [16]byte
		if err := t.ReadMem(newAddr, b[:]); err != nil {
			return 0, err
		}
		nw = rlimit{le.Uint64(b[:]), le.Uint64(b[8:])}
		if nw.cur > nw.max {
			return 0, EINVAL
		}
		if resource == RLIMIT_NOFILE && nw.max > nrOpen {
			return 0, EPERM
		}
		if nw.max > k.rlimits[resource].max && k.cfg.UID != 0 {
			return 0, EPERM // raising a hard limit needs CAP_SYS_RESOURCE
		}
	}
	old := k.rlimits[resource]
	if newAddr != 0 {
		k.rlimits[resource] = nw
	}
	if oldAddr != 0 {
		var b [16]byte
		le.PutUint64(b[:], old.cur)
		le.PutUint64(b[8:], old.max)
		if err := t.WriteMem(oldAddr, b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// Prlimit64 implements prlimit64(2) for this process (pid 0, its pid or one
// of its tids; other pids are ESRCH).
func Prlimit64(t Task, a Args) (uint64, error) {
	return prlimit(t, int(a.Int32(0)), a.U32(1), a.Ptr(2), a.Ptr(3))
}

// Getrlimit implements getrlimit(2).
func Getrlimit(t Task, a Args) (uint64, error) {
	if a.Ptr(1) == 0 {
		return 0, EFAULT
	}
	return prlimit(t, 0, a.U32(0), 0, a.Ptr(1))
}

// Setrlimit implements setrlimit(2).
func Setrlimit(t Task, a Args) (uint64, error) {
	if a.Ptr(1) == 0 {
		return 0, EFAULT
	}
	return prlimit(t, 0, a.U32(0), a.Ptr(1), 0)
}

// randomRead fills b from the kernel's random stream: a ChaCha8 keyed by
// Config.Seed, shared by getrandom, /dev/random and /dev/urandom, so the
// bytes a guest sees depend only on the seed and the order of its reads.
func (k *Kernel) randomRead(b []byte) {
	for len(b) >= 8 {
		le.PutUint64(b, k.random.Uint64())
		b = b[8:]
	}
	if len(b) > 0 {
		var tail [8]byte
		le.PutUint64(tail[:], k.random.Uint64())
		copy(b, tail[:])
	}
}

// Getrandom implements getrandom(2) from the seeded stream. The pool is
// always initialized, so GRND_NONBLOCK never matters and GRND_RANDOM
// reads the same stream.
func Getrandom(t Task, a Args) (uint64, error) {
	buf, count, flags := a.Ptr(0), a.Uint(1), a.U32(2)
	if flags&^(GRND_NONBLOCK|GRND_RANDOM|GRND_INSECURE) != 0 ||
		flags&(GRND_INSECURE|GRND_RANDOM) == GRND_INSECURE|GRND_RANDOM {
		return 0, EINVAL
	}
	count = min(count, maxRWCount)
	k := t.Kernel()
	const chunk = 64 << 10
	b := make([]byte, min(count, chunk))
	done := uint64(0)
	for done < count {
		n := min(count-done, chunk)
		k.randomRead(b[:n])
		w, err := copyOut(t, buf+done, b[:n])
		if err != nil {
			if done == 0 {
				return 0, err
			}
			break
		}
		done += uint64(w)
		if uint64(w) < n {
			break
		}
	}
	return done, nil
}

// strncpyFromUser reads at most n bytes at addr, stopping at a NUL
// (strncpy_from_user): EFAULT if a byte before the end is unreadable.
func strncpyFromUser(t Task, addr uint64, n int) (string, error) {
	b := make([]byte, n)
	if err := t.ReadMem(addr, b); err != nil {
		for i := range b {
			if err := t.ReadMem(addr+uint64(i), b[i:i+1]); err != nil {
				return "", err
			}
			if b[i] == 0 {
				return string(b[:i]), nil
			}
		}
	}
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), nil
		}
	}
	return string(b), nil
}

// capLastCap is CAP_LAST_CAP of Linux 6.1 (CAP_CHECKPOINT_RESTORE).
const capLastCap = 40

// Prctl implements prctl(2) for thread names, the dumpable flag, the
// parent-death signal, no_new_privs, the child subreaper flag, the THP
// disable flag, timer slack (read only) and PR_CAPBSET_READ. PR_SET_VMA
// fails with EINVAL as on a kernel built without CONFIG_ANON_VMA_NAME
// (the Go runtime then stops naming its mappings). Seccomp filters are an
// emulator gap; other options are EINVAL, as for an option the kernel does
// not know.
func Prctl(t Task, a Args) (uint64, error) {
	opt := a.Int32(0)
	k, th := t.Kernel(), t.Thread()
	zero := func(from int) bool {
		for i := from; i <= 4; i++ {
			if a.Uint(i) != 0 {
				return false
			}
		}
		return true
	}
	boolRet := func(b bool) uint64 {
		if b {
			return 1
		}
		return 0
	}
	switch opt {
	case PR_SET_NAME:
		name, err := strncpyFromUser(t, a.Ptr(1), taskCommLen-1)
		if err != nil {
			return 0, err
		}
		th.name, th.named = name, true
		return 0, nil
	case PR_GET_NAME:
		var b [taskCommLen]byte
		copy(b[:taskCommLen-1], k.threadName(th))
		return 0, t.WriteMem(a.Ptr(1), b[:])
	case PR_GET_DUMPABLE:
		return boolRet(k.dumpable), nil
	case PR_SET_DUMPABLE:
		if a.Uint(1) > 1 {
			return 0, EINVAL
		}
		k.dumpable = a.Uint(1) == 1
		return 0, nil
	case PR_SET_PDEATHSIG:
		if a.Uint(1) > NSIG {
			return 0, EINVAL
		}
		th.pdeathsig = int(a.Uint(1))
		return 0, nil
	case PR_GET_PDEATHSIG:
		return 0, writeU32(t, a.Ptr(1), uint32(th.pdeathsig))
	case PR_SET_NO_NEW_PRIVS:
		if a.Uint(1) != 1 || !zero(2) {
			return 0, EINVAL
		}
		k.noNewPrivs = true
		return 0, nil
	case PR_GET_NO_NEW_PRIVS:
		if !zero(1) {
			return 0, EINVAL
		}
		return boolRet(k.noNewPrivs), nil
	case PR_SET_CHILD_SUBREAPER:
		k.childSubreaper = a.Uint(1) != 0
		return 0, nil
	case PR_GET_CHILD_SUBREAPER:
		return 0, writeU32(t, a.Ptr(1), uint32(boolRet(k.childSubreaper)))
	case PR_SET_THP_DISABLE:
		if !zero(2) {
			return 0, EINVAL
		}
		k.thpDisable = a.Uint(1) != 0
		return 0, nil
	case PR_GET_THP_DISABLE:
		if !zero(1) {
			return 0, EINVAL
		}
		return boolRet(k.thpDisable), nil
	case PR_GET_TIMERSLACK:
		return 50_000, nil // the default 50 µs
	case PR_CAPBSET_READ:
		if a.Uint(1) > capLastCap {
			return 0, EINVAL
		}
		return 1, nil
	case PR_GET_SECCOMP:
		return 0, nil
	case PR_SET_SECCOMP:
		return 0, gapf("prctl(PR_SET_SECCOMP): seccomp")
	case PR_SET_VMA:
		note(t, "PR_SET_VMA: anonymous mapping names are not supported")
		return 0, EINVAL
	}
	return 0, EINVAL
}

// ArchPrctl implements arch_prctl(2) (amd64 only): ARCH_SET_FS and
// ARCH_GET_FS through the Task's thread pointer, ARCH_GET_CPUID (CPUID is
// enabled) and ARCH_SET_CPUID (ENODEV: no CPUID faulting). GS base, AMX
// permissions and vDSO mapping are emulator gaps; unknown codes are
// EINVAL.
func ArchPrctl(t Task, a Args) (uint64, error) {
	code, addr := a.Int32(0), a.Ptr(1)
	switch code {
	case ARCH_SET_FS:
		if addr >= taskSize(t) {
			return 0, EPERM
		}
		return 0, t.SetTLS(addr)
	case ARCH_GET_FS:
		tls, err := t.TLS()
		if err != nil {
			return 0, err
		}
		return 0, writeU64(t, addr, tls)
	case ARCH_GET_CPUID:
		return 1, nil
	case ARCH_SET_CPUID:
		return 0, ENODEV
	case ARCH_SET_GS, ARCH_GET_GS, ARCH_GET_XCOMP_SUPP, ARCH_GET_XCOMP_PERM, ARCH_REQ_XCOMP_PERM,
		ARCH_MAP_VDSO_X32, ARCH_MAP_VDSO_32, ARCH_MAP_VDSO_64:
		return 0, gapf("arch_prctl(%#x)", code)
	}
	return 0, EINVAL
}

// Getgroups implements getgroups(2): the process has no supplementary
// groups.
func Getgroups(t Task, a Args) (uint64, error) {
	if a.Int32(0) < 0 {
		return 0, EINVAL
	}
	return 0, nil
}

// Setgroups implements setgroups(2): only root may, and the list must be
// empty, the only one kept.
func Setgroups(t Task, a Args) (uint64, error) {
	n := a.Int32(0)
	switch {
	case n < 0 || n > ngroupsMax:
		return 0, EINVAL
	case t.Kernel().cfg.UID != 0:
		return 0, EPERM
	case n > 0:
		return 0, gapf("setgroups with supplementary groups")
	}
	return 0, nil
}

// ngroupsMax is NGROUPS_MAX.
const ngroupsMax = 65536

// Options of wait4 and waitid (include/uapi/linux/wait.h).
const (
	WNOHANG     = 0x1
	WUNTRACED   = 0x2 // WSTOPPED for waitid
	WEXITED     = 0x4
	WCONTINUED  = 0x8
	WNOWAIT     = 0x01000000
	__WNOTHREAD = 0x20000000
	__WALL      = 0x40000000
	__WCLONE    = 0x80000000

	P_ALL   = 0
	P_PID   = 1
	P_PGID  = 2
	P_PIDFD = 3
)

// Wait4 implements wait4(2). The process never has children (process
// creation is not emulated), so a valid call fails with ECHILD, as on
// Linux for a childless process.
func Wait4(t Task, a Args) (uint64, error) {
	if a.U32(2)&^(WNOHANG|WUNTRACED|WCONTINUED|__WNOTHREAD|__WALL|__WCLONE) != 0 {
		return 0, EINVAL
	}
	if a.Int32(0) == -1<<31 {
		return 0, ESRCH // INT_MIN cannot be negated into a group id
	}
	return 0, ECHILD
}

// Waitid implements waitid(2): like Wait4, ECHILD once the arguments are
// valid, and EBADF for a P_PIDFD that is not a descriptor.
func Waitid(t Task, a Args) (uint64, error) {
	opts := a.U32(3)
	if opts&^(WNOHANG|WNOWAIT|WEXITED|WUNTRACED|WCONTINUED|__WNOTHREAD|__WALL|__WCLONE) != 0 ||
		opts&(WEXITED|WUNTRACED|WCONTINUED) == 0 {
		return 0, EINVAL
	}
	switch a.U32(0) {
	case P_ALL, P_PID, P_PGID:
	case P_PIDFD:
		if _, err := t.Kernel().files.get(a.Int32(1)); err != nil {
			return 0, err
		}
		return 0, EINVAL // no descriptor is a pidfd
	default:
		return 0, EINVAL
	}
	return 0, ECHILD
}
