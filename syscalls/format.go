package syscalls

import (
	"fmt"
	"strconv"
	"strings"
)

// ArgFmt says how a trace shows one syscall argument (or result), in the
// style of strace.
type ArgFmt uint8

// Argument formats.
const (
	Int            ArgFmt = iota // signed decimal (a C int or long)
	Uint                         // unsigned decimal (size_t, unsigned)
	Hex                          // 0x1f
	Ptr                          // NULL or 0x7f00...
	Fd                           // a descriptor number
	DirFd                        // a descriptor or AT_FDCWD
	Path                         // a NUL-terminated string read from guest memory
	Octal                        // 0644
	OpenFlags                    // O_RDONLY|O_CLOEXEC
	OpenMode                     // a mode, shown only when the previous argument has O_CREAT or O_TMPFILE
	AtFlags                      // AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH
	AccessMode                   // F_OK or R_OK|W_OK|X_OK
	MmapProt                     // PROT_READ|PROT_WRITE
	MmapFlags                    // MAP_PRIVATE|MAP_ANONYMOUS
	MadviseAdvice                // MADV_DONTNEED
	CloneFlags                   // CLONE_VM|...|CLONE_THREAD
	FutexOp                      // FUTEX_WAIT_PRIVATE
	Signal                       // SIGURG
	SigHow                       // SIG_BLOCK
	Sigset                       // a pointer to a sigset: [URG], ~[KILL STOP]
	Sigaction                    // a pointer to a struct sigaction
	Timespec                     // a pointer to a struct timespec
	ClockID                      // CLOCK_MONOTONIC
	Whence                       // SEEK_SET
	FcntlCmd                     // F_GETFD
	IoctlReq                     // TCGETS
	ArchPrctlCode                // ARCH_SET_FS
	PrctlOption                  // PR_SET_NAME
	RlimitResource               // RLIMIT_NOFILE
	Buf                          // a buffer whose length is the next argument, shown as a string
	EpollOp                      // EPOLL_CTL_ADD
	EpollEvent                   // a pointer to a struct epoll_event: {EPOLLIN|EPOLLET, 0x1234}
	PipeFlags                    // O_NONBLOCK|O_CLOEXEC, or 0
	EventfdFlags                 // EFD_CLOEXEC|EFD_NONBLOCK|EFD_SEMAPHORE, or 0
	EpollFlags                   // EPOLL_CLOEXEC, or 0
	UnlinkFlags                  // AT_REMOVEDIR, or 0
	Argv                         // a pointer to a NULL-terminated array of strings: ["ls", "-l"]
	Envp                         // the same, shown as its count: 0x7ffd... /* 12 vars */
)

// maxShown is how many bytes of a string argument a trace shows before
// "...".
const maxShown = 64

// FormatArgs renders the arguments of a call in strace style, reading
// strings and structures from guest memory (an unreadable one shows as its
// address). With a nil entry it shows six hex values.
func FormatArgs(t Task, e *Entry, a Args) []string {
	if e == nil {
		out := make([]string, len(a))
		for i, v := range a {
			out[i] = hex(v)
		}
		return out
	}
	out := make([]string, 0, len(e.Args))
	for i, f := range e.Args {
		if i >= len(a) {
			break
		}
		if f == OpenMode {
			x := abiOf(t.Arch())
			if i == 0 || a[i-1]&(O_CREAT|__O_TMPFILE) == 0 || x == nil {
				continue
			}
		}
		out = append(out, formatArg(t, f, a, i))
	}
	return out
}

// FormatResult renders a call's outcome: "= 3", "= 0x7f0000000000",
// "= -1 ENOENT (no such file or directory)", or "= ? (blocked)".
func FormatResult(e *Entry, c *Call) string {
	switch {
	case c.Blocked:
		return "= ? (blocked)"
	case c.Errno != 0:
		return "= -1 " + c.Errno.Error()
	case e != nil && e.Ret == Hex:
		return "= " + hex(c.Ret)
	case e != nil && e.Ret == Octal:
		return "= 0" + strconv.FormatUint(c.Ret, 8)
	}
	return "= " + strconv.FormatInt(int64(c.Ret), 10)
}

// Format renders a whole call: `openat(AT_FDCWD, "/x", O_RDONLY) = 3`.
func Format(t Task, c *Call) string {
	return c.Name + "(" + strings.Join(FormatArgs(t, c.Entry, c.Args), ", ") + ") " + FormatResult(c.Entry, c)
}

func hex(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

func formatArg(t Task, f ArgFmt, a Args, i int) string {
	v := a[i]
	x := abiOf(t.Arch())
	switch f {
	case Int:
		return strconv.FormatInt(int64(v), 10)
	case Uint:
		return strconv.FormatUint(v, 10)
	case Ptr:
		if v == 0 {
			return "NULL"
		}
		return hex(v)
	case Fd:
		return strconv.Itoa(int(int32(v)))
	case DirFd:
		if int32(v) == AT_FDCWD {
			return "AT_FDCWD"
		}
		return strconv.Itoa(int(int32(v)))
	case Path:
		return showString(t, v, maxShown, true)
	case Argv, Envp:
		return showStrings(t, v, f == Envp)
	case Buf:
		n := uint64(maxShown)
		if i+1 < len(a) {
			n = min(a[i+1], maxShown)
		}
		return showBuf(t, v, n, i+1 < len(a) && a[i+1] > maxShown)
	case Octal, OpenMode:
		return "0" + strconv.FormatUint(v&0o7777, 8)
	case OpenFlags:
		if x == nil {
			return hex(v)
		}
		return openFlagString(x, v)
	case AtFlags:
		return flagString(uint64(uint32(v)), atFlagNames, "0")
	case AccessMode:
		if uint32(v) == F_OK {
			return "F_OK"
		}
		return flagString(uint64(uint32(v)), accessNames, "F_OK")
	case MmapProt:
		return flagString(uint64(uint32(v)), protNames, "PROT_NONE")
	case MmapFlags:
		return mmapFlagString(x, v)
	case MadviseAdvice:
		return enumString(int64(int32(v)), madviseNames)
	case CloneFlags:
		var parts []string
		if fl := v &^ CSIGNAL; fl != 0 {
			parts = append(parts, cloneFlagString(fl))
		}
		if sig := int(v & CSIGNAL); sig != 0 || len(parts) == 0 {
			parts = append(parts, SignalName(sig))
		}
		return strings.Join(parts, "|")
	case FutexOp:
		return futexOpString(int32(v))
	case Signal:
		return SignalName(int(int32(v)))
	case SigHow:
		return enumString(int64(int32(v)), sigHowNames)
	case Sigset:
		if v == 0 {
			return "NULL"
		}
		m, err := readU64(t, v)
		if err != nil {
			return hex(v)
		}
		return sigsetString(m)
	case Sigaction:
		return sigactionString(t, v)
	case Timespec:
		if v == 0 {
			return "NULL"
		}
		ts, err := readTimespec(t, v)
		if err != nil {
			return hex(v)
		}
		return "{tv_sec=" + strconv.FormatInt(ts.sec, 10) + ", tv_nsec=" + strconv.FormatInt(ts.nsec, 10) + "}"
	case ClockID:
		return enumString(int64(int32(v)), clockNames)
	case Whence:
		return enumString(int64(int32(v)), whenceNames)
	case FcntlCmd:
		return enumString(int64(int32(v)), fcntlNames)
	case IoctlReq:
		return enumString(int64(uint32(v)), ioctlNames)
	case ArchPrctlCode:
		return enumString(int64(int32(v)), archPrctlNames)
	case PrctlOption:
		return enumString(int64(int32(v)), prctlNames)
	case RlimitResource:
		return enumString(int64(int32(v)), rlimitNames)
	case EpollOp:
		return enumString(int64(int32(v)), epollOpNames)
	case PipeFlags:
		names := []bitName{{O_NONBLOCK, "O_NONBLOCK"}, {O_CLOEXEC, "O_CLOEXEC"}, {O_NOTIFICATION_PIPE, "O_NOTIFICATION_PIPE"}}
		if x != nil {
			names = append(names, bitName{x.oDirect, "O_DIRECT"})
		}
		return flagString(uint64(uint32(v)), names, "0")
	case EventfdFlags:
		return flagString(uint64(uint32(v)), eventfdFlagNames, "0")
	case UnlinkFlags:
		return flagString(uint64(uint32(v)), []bitName{{AT_REMOVEDIR, "AT_REMOVEDIR"}}, "0")
	case EpollFlags:
		return flagString(uint64(uint32(v)), []bitName{{EPOLL_CLOEXEC, "EPOLL_CLOEXEC"}}, "0")
	case EpollEvent:
		if v == 0 {
			return "NULL"
		}
		ev, data, err := readEpollEvent(t, v)
		if err != nil {
			return hex(v)
		}
		return "{" + flagString(uint64(ev), epollEventNames, "0") + ", " + hex(data) + "}"
	}
	return hex(v)
}

var eventfdFlagNames = []bitName{{EFD_CLOEXEC, "EFD_CLOEXEC"}, {EFD_NONBLOCK, "EFD_NONBLOCK"}, {EFD_SEMAPHORE, "EFD_SEMAPHORE"}}

var epollEventNames = []bitName{
	{EPOLLIN, "EPOLLIN"}, {EPOLLPRI, "EPOLLPRI"}, {EPOLLOUT, "EPOLLOUT"}, {EPOLLERR, "EPOLLERR"},
	{EPOLLHUP, "EPOLLHUP"}, {EPOLLNVAL, "EPOLLNVAL"}, {EPOLLRDNORM, "EPOLLRDNORM"},
	{EPOLLRDBAND, "EPOLLRDBAND"}, {EPOLLWRNORM, "EPOLLWRNORM"}, {EPOLLWRBAND, "EPOLLWRBAND"},
	{EPOLLMSG, "EPOLLMSG"}, {EPOLLRDHUP, "EPOLLRDHUP"}, {EPOLLEXCLUSIVE, "EPOLLEXCLUSIVE"},
	{EPOLLWAKEUP, "EPOLLWAKEUP"}, {EPOLLONESHOT, "EPOLLONESHOT"}, {EPOLLET, "EPOLLET"},
}

// showString reads a NUL-terminated string of up to max bytes and quotes
// it; a longer one ends with "...".
// maxShownStrings is how many strings of an argv a trace shows.
const maxShownStrings = 16

// showStrings shows an argv as strace does, or an envp as its count.
func showStrings(t Task, addr uint64, count bool) string {
	if addr == 0 {
		return "NULL"
	}
	var shown []string
	for i := uint64(0); ; i++ {
		p, err := readU64(t, addr+8*i)
		if err != nil {
			return hex(addr)
		}
		if p == 0 {
			break
		}
		if count {
			shown = append(shown, "")
			continue
		}
		if len(shown) == maxShownStrings {
			shown = append(shown, "...")
			break
		}
		shown = append(shown, showString(t, p, maxShown, true))
	}
	if count {
		return fmt.Sprintf("%s /* %d vars */", hex(addr), len(shown))
	}
	return "[" + strings.Join(shown, ", ") + "]"
}

func showString(t Task, addr uint64, max int, nul bool) string {
	if addr == 0 {
		return "NULL"
	}
	s, err := readCString(t, addr, max)
	if err == ENAMETOOLONG {
		b := make([]byte, max)
		if t.ReadMem(addr, b) != nil {
			return hex(addr)
		}
		return quote(b) + "..."
	}
	if err != nil {
		return hex(addr)
	}
	return quote([]byte(s))
}

func showBuf(t Task, addr, n uint64, more bool) string {
	if addr == 0 {
		return "NULL"
	}
	b := make([]byte, n)
	if t.ReadMem(addr, b) != nil {
		return hex(addr)
	}
	s := quote(b)
	if more {
		s += "..."
	}
	return s
}

// quote renders bytes as strace does: C escapes, other unprintable bytes
// in octal.
func quote(b []byte) string {
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\t':
			s.WriteString(`\t`)
		case c == '\r':
			s.WriteString(`\r`)
		case c >= 0x20 && c < 0x7f:
			s.WriteByte(c)
		default:
			s.WriteString(`\` + strconv.FormatUint(uint64(c), 8))
		}
	}
	s.WriteByte('"')
	return s.String()
}

type bitName struct {
	bit  uint64
	name string
}

// flagString joins the names of v's bits, with any unnamed rest in hex, or
// returns zero for 0.
func flagString(v uint64, names []bitName, zero string) string {
	if v == 0 {
		return zero
	}
	var parts []string
	for _, n := range names {
		if v&n.bit == n.bit && n.bit != 0 {
			parts = append(parts, n.name)
			v &^= n.bit
		}
	}
	if v != 0 {
		parts = append(parts, hex(v))
	}
	return strings.Join(parts, "|")
}

func enumString(v int64, names map[int64]string) string {
	if n, ok := names[v]; ok {
		return n
	}
	return strconv.FormatInt(v, 10)
}

var atFlagNames = []bitName{
	{AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}, {AT_EACCESS, "AT_EACCESS"},
	{AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"}, {AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
	{AT_EMPTY_PATH, "AT_EMPTY_PATH"}, {AT_STATX_FORCE_SYNC, "AT_STATX_FORCE_SYNC"},
	{AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"},
}

var accessNames = []bitName{{R_OK, "R_OK"}, {W_OK, "W_OK"}, {X_OK, "X_OK"}}

var protNames = []bitName{
	{uint64(PROT_READ), "PROT_READ"}, {uint64(PROT_WRITE), "PROT_WRITE"}, {uint64(PROT_EXEC), "PROT_EXEC"},
	{PROT_SEM, "PROT_SEM"}, {PROT_GROWSDOWN, "PROT_GROWSDOWN"}, {PROT_GROWSUP, "PROT_GROWSUP"},
}

func openFlagString(x *archABI, v uint64) string {
	v &= 0xffffffff
	acc := []string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}[v&O_ACCMODE]
	names := []bitName{
		{O_CREAT, "O_CREAT"}, {O_EXCL, "O_EXCL"}, {O_NOCTTY, "O_NOCTTY"}, {O_TRUNC, "O_TRUNC"},
		{O_APPEND, "O_APPEND"}, {O_NONBLOCK, "O_NONBLOCK"}, {O_SYNC, "O_SYNC"}, {O_DSYNC, "O_DSYNC"},
		{FASYNC, "O_ASYNC"}, {x.oDirect, "O_DIRECT"}, {x.oLargefile, "O_LARGEFILE"},
		{x.oTmpfile(), "O_TMPFILE"}, {x.oDirectory, "O_DIRECTORY"}, {x.oNofollow, "O_NOFOLLOW"},
		{O_NOATIME, "O_NOATIME"}, {O_CLOEXEC, "O_CLOEXEC"}, {O_PATH, "O_PATH"},
	}
	if rest := v &^ O_ACCMODE; rest != 0 {
		return acc + "|" + flagString(rest, names, "")
	}
	return acc
}

func mmapFlagString(x *archABI, v uint64) string {
	typ := []string{"0", "MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE"}
	s := hex(v & MAP_TYPE)
	if v&MAP_TYPE < uint64(len(typ)) {
		s = typ[v&MAP_TYPE]
	}
	names := []bitName{
		{MAP_FIXED, "MAP_FIXED"}, {MAP_ANONYMOUS, "MAP_ANONYMOUS"}, {MAP_GROWSDOWN, "MAP_GROWSDOWN"},
		{MAP_DENYWRITE, "MAP_DENYWRITE"}, {MAP_EXECUTABLE, "MAP_EXECUTABLE"}, {MAP_LOCKED, "MAP_LOCKED"},
		{MAP_NORESERVE, "MAP_NORESERVE"}, {MAP_POPULATE, "MAP_POPULATE"}, {MAP_NONBLOCK, "MAP_NONBLOCK"},
		{MAP_STACK, "MAP_STACK"}, {MAP_HUGETLB, "MAP_HUGETLB"}, {MAP_SYNC, "MAP_SYNC"},
		{MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"}, {MAP_UNINITIALIZED, "MAP_UNINITIALIZED"},
	}
	if x != nil && x.map32bit != 0 {
		names = append(names, bitName{x.map32bit, "MAP_32BIT"})
	}
	if rest := v &^ MAP_TYPE; rest != 0 {
		s += "|" + flagString(rest, names, "")
	}
	return s
}

func futexOpString(op int32) string {
	cmd := op & FUTEX_CMD_MASK
	s, ok := futexCmdNames[cmd]
	if !ok {
		s = strconv.Itoa(int(cmd))
	}
	if op&FUTEX_PRIVATE_FLAG != 0 {
		s += "_PRIVATE"
	}
	if op&FUTEX_CLOCK_REALTIME != 0 {
		s += "|FUTEX_CLOCK_REALTIME"
	}
	return s
}

// sigsetString renders a signal set as strace does: [URG WINCH], or the
// complement ~[...] when more than half the signals are in it.
func sigsetString(m uint64) string {
	prefix := "["
	if bitsSet(m) > NSIG/2 {
		prefix, m = "~[", ^m
	}
	var parts []string
	for sig := 1; sig <= NSIG; sig++ {
		if m&sigBit(sig) != 0 {
			parts = append(parts, strings.TrimPrefix(SignalName(sig), "SIG"))
		}
	}
	return prefix + strings.Join(parts, " ") + "]"
}

func bitsSet(m uint64) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

var saFlagNames = []bitName{
	{SA_NOCLDSTOP, "SA_NOCLDSTOP"}, {SA_NOCLDWAIT, "SA_NOCLDWAIT"}, {SA_SIGINFO, "SA_SIGINFO"},
	{SA_UNSUPPORTED, "SA_UNSUPPORTED"}, {SA_EXPOSE_TAGBITS, "SA_EXPOSE_TAGBITS"},
	{SA_RESTORER, "SA_RESTORER"}, {SA_ONSTACK, "SA_ONSTACK"}, {SA_RESTART, "SA_RESTART"},
	{SA_NODEFER, "SA_NODEFER"}, {SA_RESETHAND, "SA_RESETHAND"},
}

func sigactionString(t Task, addr uint64) string {
	if addr == 0 {
		return "NULL"
	}
	var b [sigactionSize]byte
	if t.ReadMem(addr, b[:]) != nil {
		return hex(addr)
	}
	h, flags, restorer, mask := le.Uint64(b[0:]), le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint64(b[24:])
	handler := hex(h)
	switch h {
	case SIG_DFL:
		handler = "SIG_DFL"
	case SIG_IGN:
		handler = "SIG_IGN"
	}
	s := "{sa_handler=" + handler + ", sa_mask=" + sigsetString(mask) + ", sa_flags=" + flagString(flags, saFlagNames, "0")
	if flags&SA_RESTORER != 0 {
		s += ", sa_restorer=" + hex(restorer)
	}
	return s + "}"
}

func names(m map[int64]string, pairs ...any) map[int64]string {
	for i := 0; i+1 < len(pairs); i += 2 {
		m[int64(pairs[i].(int))] = pairs[i+1].(string)
	}
	return m
}

var (
	madviseNames = names(map[int64]string{},
		MADV_NORMAL, "MADV_NORMAL", MADV_RANDOM, "MADV_RANDOM", MADV_SEQUENTIAL, "MADV_SEQUENTIAL",
		MADV_WILLNEED, "MADV_WILLNEED", MADV_DONTNEED, "MADV_DONTNEED", MADV_FREE, "MADV_FREE",
		MADV_REMOVE, "MADV_REMOVE", MADV_DONTFORK, "MADV_DONTFORK", MADV_DOFORK, "MADV_DOFORK",
		MADV_MERGEABLE, "MADV_MERGEABLE", MADV_UNMERGEABLE, "MADV_UNMERGEABLE",
		MADV_HUGEPAGE, "MADV_HUGEPAGE", MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE",
		MADV_DONTDUMP, "MADV_DONTDUMP", MADV_DODUMP, "MADV_DODUMP", MADV_WIPEONFORK, "MADV_WIPEONFORK",
		MADV_KEEPONFORK, "MADV_KEEPONFORK", MADV_COLD, "MADV_COLD", MADV_PAGEOUT, "MADV_PAGEOUT",
		MADV_POPULATE_READ, "MADV_POPULATE_READ", MADV_POPULATE_WRITE, "MADV_POPULATE_WRITE",
		MADV_DONTNEED_LOCKED, "MADV_DONTNEED_LOCKED", MADV_COLLAPSE, "MADV_COLLAPSE",
		MADV_HWPOISON, "MADV_HWPOISON", MADV_SOFT_OFFLINE, "MADV_SOFT_OFFLINE")
	sigHowNames = names(map[int64]string{},
		SIG_BLOCK, "SIG_BLOCK", SIG_UNBLOCK, "SIG_UNBLOCK", SIG_SETMASK, "SIG_SETMASK")
	clockNames = names(map[int64]string{},
		CLOCK_REALTIME, "CLOCK_REALTIME", CLOCK_MONOTONIC, "CLOCK_MONOTONIC",
		CLOCK_PROCESS_CPUTIME_ID, "CLOCK_PROCESS_CPUTIME_ID", CLOCK_THREAD_CPUTIME_ID, "CLOCK_THREAD_CPUTIME_ID",
		CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW", CLOCK_REALTIME_COARSE, "CLOCK_REALTIME_COARSE",
		CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE", CLOCK_BOOTTIME, "CLOCK_BOOTTIME",
		CLOCK_REALTIME_ALARM, "CLOCK_REALTIME_ALARM", CLOCK_BOOTTIME_ALARM, "CLOCK_BOOTTIME_ALARM",
		CLOCK_TAI, "CLOCK_TAI")
	whenceNames = names(map[int64]string{},
		SEEK_SET, "SEEK_SET", SEEK_CUR, "SEEK_CUR", SEEK_END, "SEEK_END", SEEK_DATA, "SEEK_DATA", SEEK_HOLE, "SEEK_HOLE")
	fcntlNames = names(map[int64]string{},
		F_DUPFD, "F_DUPFD", F_GETFD, "F_GETFD", F_SETFD, "F_SETFD", F_GETFL, "F_GETFL", F_SETFL, "F_SETFL",
		F_GETLK, "F_GETLK", F_SETLK, "F_SETLK", F_SETLKW, "F_SETLKW", F_SETOWN, "F_SETOWN", F_GETOWN, "F_GETOWN",
		F_SETSIG, "F_SETSIG", F_GETSIG, "F_GETSIG", F_SETOWN_EX, "F_SETOWN_EX", F_GETOWN_EX, "F_GETOWN_EX",
		F_OFD_GETLK, "F_OFD_GETLK", F_OFD_SETLK, "F_OFD_SETLK", F_OFD_SETLKW, "F_OFD_SETLKW",
		F_SETLEASE, "F_SETLEASE", F_GETLEASE, "F_GETLEASE", F_NOTIFY, "F_NOTIFY",
		F_DUPFD_CLOEXEC, "F_DUPFD_CLOEXEC", F_SETPIPE_SZ, "F_SETPIPE_SZ", F_GETPIPE_SZ, "F_GETPIPE_SZ",
		F_ADD_SEALS, "F_ADD_SEALS", F_GET_SEALS, "F_GET_SEALS")
	ioctlNames = names(map[int64]string{},
		TCGETS, "TCGETS", TCSETS, "TCSETS", TIOCGPGRP, "TIOCGPGRP", TIOCGWINSZ, "TIOCGWINSZ",
		FIONREAD, "FIONREAD", FIONBIO, "FIONBIO", FIONCLEX, "FIONCLEX", FIOCLEX, "FIOCLEX", FIOASYNC, "FIOASYNC")
	archPrctlNames = names(map[int64]string{},
		ARCH_SET_GS, "ARCH_SET_GS", ARCH_SET_FS, "ARCH_SET_FS", ARCH_GET_FS, "ARCH_GET_FS",
		ARCH_GET_GS, "ARCH_GET_GS", ARCH_GET_CPUID, "ARCH_GET_CPUID", ARCH_SET_CPUID, "ARCH_SET_CPUID",
		ARCH_GET_XCOMP_SUPP, "ARCH_GET_XCOMP_SUPP", ARCH_GET_XCOMP_PERM, "ARCH_GET_XCOMP_PERM",
		ARCH_REQ_XCOMP_PERM, "ARCH_REQ_XCOMP_PERM", ARCH_MAP_VDSO_X32, "ARCH_MAP_VDSO_X32",
		ARCH_MAP_VDSO_32, "ARCH_MAP_VDSO_32", ARCH_MAP_VDSO_64, "ARCH_MAP_VDSO_64")
	prctlNames = names(map[int64]string{},
		PR_SET_PDEATHSIG, "PR_SET_PDEATHSIG", PR_GET_PDEATHSIG, "PR_GET_PDEATHSIG",
		PR_GET_DUMPABLE, "PR_GET_DUMPABLE", PR_SET_DUMPABLE, "PR_SET_DUMPABLE",
		PR_GET_KEEPCAPS, "PR_GET_KEEPCAPS", PR_SET_KEEPCAPS, "PR_SET_KEEPCAPS",
		PR_SET_NAME, "PR_SET_NAME", PR_GET_NAME, "PR_GET_NAME", PR_GET_SECCOMP, "PR_GET_SECCOMP",
		PR_SET_SECCOMP, "PR_SET_SECCOMP", PR_CAPBSET_READ, "PR_CAPBSET_READ",
		PR_SET_TIMERSLACK, "PR_SET_TIMERSLACK", PR_GET_TIMERSLACK, "PR_GET_TIMERSLACK",
		PR_SET_MM, "PR_SET_MM", PR_SET_CHILD_SUBREAPER, "PR_SET_CHILD_SUBREAPER",
		PR_GET_CHILD_SUBREAPER, "PR_GET_CHILD_SUBREAPER", PR_SET_NO_NEW_PRIVS, "PR_SET_NO_NEW_PRIVS",
		PR_GET_NO_NEW_PRIVS, "PR_GET_NO_NEW_PRIVS", PR_SET_THP_DISABLE, "PR_SET_THP_DISABLE",
		PR_GET_THP_DISABLE, "PR_GET_THP_DISABLE", PR_SET_TAGGED_ADDR_CTRL, "PR_SET_TAGGED_ADDR_CTRL",
		PR_GET_TAGGED_ADDR_CTRL, "PR_GET_TAGGED_ADDR_CTRL", PR_SET_VMA, "PR_SET_VMA")
	epollOpNames = names(map[int64]string{},
		EPOLL_CTL_ADD, "EPOLL_CTL_ADD", EPOLL_CTL_DEL, "EPOLL_CTL_DEL", EPOLL_CTL_MOD, "EPOLL_CTL_MOD")
	rlimitNames = names(map[int64]string{},
		RLIMIT_CPU, "RLIMIT_CPU", RLIMIT_FSIZE, "RLIMIT_FSIZE", RLIMIT_DATA, "RLIMIT_DATA",
		RLIMIT_STACK, "RLIMIT_STACK", RLIMIT_CORE, "RLIMIT_CORE", RLIMIT_RSS, "RLIMIT_RSS",
		RLIMIT_NPROC, "RLIMIT_NPROC", RLIMIT_NOFILE, "RLIMIT_NOFILE", RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK",
		RLIMIT_AS, "RLIMIT_AS", RLIMIT_LOCKS, "RLIMIT_LOCKS", RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING",
		RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", RLIMIT_NICE, "RLIMIT_NICE", RLIMIT_RTPRIO, "RLIMIT_RTPRIO",
		RLIMIT_RTTIME, "RLIMIT_RTTIME")
)
