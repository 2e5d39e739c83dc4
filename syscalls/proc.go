package syscalls

// Process identity, limits and miscellany.

// Getpid implements getpid(2).
func Getpid(t Task, a Args) (uint64, error) { return uint64(t.Kernel().cfg.PID), nil }

// Getppid implements getppid(2).
func Getppid(t Task, a Args) (uint64, error) { return uint64(t.Kernel().cfg.PPID), nil }

// A process's user and group ids are real, effective and saved (ids
// below); the effective ones are Config.UID and Config.GID, which
// permission checks use. Root (effective uid 0) may set any; others only
// move between the ids they have, as kernel/sys.c allows.
const (
	idReal = iota
	idEffective
	idSaved
)

// ids returns the process's real, effective and saved uids (or gids).
func (k *Kernel) ids(group bool) *[3]uint32 {
	if group {
		return &k.gids
	}
	return &k.uids
}

// setIDs sets the ids of which want holds new values (-1: unchanged),
// for setresuid and the calls built on it.
func setIDs(t Task, group bool, want [3]int64) error {
	k := t.Kernel()
	ids := k.ids(group)
	if k.uids[idEffective] != 0 {
		for _, w := range want {
			if w != -1 && uint32(w) != ids[idReal] && uint32(w) != ids[idEffective] && uint32(w) != ids[idSaved] {
				return EPERM
			}
		}
	}
	for i, w := range want {
		if w != -1 {
			ids[i] = uint32(w)
		}
	}
	k.cfg.UID, k.cfg.GID = k.uids[idEffective], k.gids[idEffective]
	return nil
}

// idArg reads a uid_t or gid_t argument, where (uid_t)-1 means "unchanged".
func idArg(a Args, i int) int64 {
	if a.U32(i) == ^uint32(0) {
		return -1
	}
	return int64(a.U32(i))
}

// Getuid implements getuid(2).
func Getuid(t Task, a Args) (uint64, error) { return uint64(t.Kernel().uids[idReal]), nil }

// Geteuid implements geteuid(2).
func Geteuid(t Task, a Args) (uint64, error) { return uint64(t.Kernel().uids[idEffective]), nil }

// Getgid implements getgid(2).
func Getgid(t Task, a Args) (uint64, error) { return uint64(t.Kernel().gids[idReal]), nil }

// Getegid implements getegid(2).
func Getegid(t Task, a Args) (uint64, error) { return uint64(t.Kernel().gids[idEffective]), nil }

// Setuid implements setuid(2) and, with group, setgid(2): root sets all
// three ids, others only the effective one, to their real or saved id.
func Setuid(t Task, a Args) (uint64, error) { return 0, setID(t, false, idArg(a, 0)) }

// Setgid implements setgid(2).
func Setgid(t Task, a Args) (uint64, error) { return 0, setID(t, true, idArg(a, 0)) }

func setID(t Task, group bool, id int64) error {
	if id == -1 {
		return EINVAL
	}
	k := t.Kernel()
	if k.uids[idEffective] == 0 {
		return setIDs(t, group, [3]int64{id, id, id})
	}
	ids := k.ids(group)
	if uint32(id) != ids[idReal] && uint32(id) != ids[idSaved] {
		return EPERM
	}
	return setIDs(t, group, [3]int64{-1, id, -1})
}

// Setreuid implements setreuid(2) and Setregid setregid(2): setting the
// real id, or the effective one to other than the real, sets the saved id
// to the new effective one.
func Setreuid(t Task, a Args) (uint64, error) { return 0, setReID(t, false, idArg(a, 0), idArg(a, 1)) }

// Setregid implements setregid(2).
func Setregid(t Task, a Args) (uint64, error) { return 0, setReID(t, true, idArg(a, 0), idArg(a, 1)) }

func setReID(t Task, group bool, r, e int64) error {
	ids := t.Kernel().ids(group)
	want := [3]int64{r, e, -1}
	newE := int64(ids[idEffective])
	if e != -1 {
		newE = e
	}
	if r != -1 || e != -1 && uint32(e) != ids[idReal] {
		want[idSaved] = newE
	}
	return setIDs(t, group, want)
}

// Setresuid implements setresuid(2) and Setresgid setresgid(2).
func Setresuid(t Task, a Args) (uint64, error) {
	return 0, setIDs(t, false, [3]int64{idArg(a, 0), idArg(a, 1), idArg(a, 2)})
}

// Setresgid implements setresgid(2).
func Setresgid(t Task, a Args) (uint64, error) {
	return 0, setIDs(t, true, [3]int64{idArg(a, 0), idArg(a, 1), idArg(a, 2)})
}

// Getresuid implements getresuid(2) and Getresgid getresgid(2).
func Getresuid(t Task, a Args) (uint64, error) { return 0, putIDs(t, t.Kernel().uids, a) }

// Getresgid implements getresgid(2).
func Getresgid(t Task, a Args) (uint64, error) { return 0, putIDs(t, t.Kernel().gids, a) }

func putIDs(t Task, ids [3]uint32, a Args) error {
	for i, id := range ids {
		if err := writeU32(t, a.Ptr(i), id); err != nil {
			return err
		}
	}
	return nil
}

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
