package syscalls

// Linux ABI constants, in the kernel's spelling, with the uapi header each
// comes from. Values that differ between amd64 and arm64 are in the per-arch
// descriptors of archabi.go. Errno values and signal numbers are generated
// into zerrors.go; page protections (PROT_*) are in task.go.

// Signals (include/uapi/asm-generic/signal.h, arch/x86/include/uapi/asm/signal.h).
const (
	NSIG     = 64 // _NSIG: signals are 1..64
	SIGRTMIN = 32 // first real-time signal as the kernel counts (glibc reserves 32..34)
)

// Signal actions and flags (include/uapi/asm-generic/signal-defs.h,
// include/uapi/asm-generic/signal.h, arch/x86/include/uapi/asm/signal.h).
const (
	SIG_DFL = 0
	SIG_IGN = 1

	SIG_BLOCK   = 0
	SIG_UNBLOCK = 1
	SIG_SETMASK = 2

	SA_NOCLDSTOP      = 0x00000001
	SA_NOCLDWAIT      = 0x00000002
	SA_SIGINFO        = 0x00000004
	SA_UNSUPPORTED    = 0x00000400
	SA_EXPOSE_TAGBITS = 0x00000800
	SA_RESTORER       = 0x04000000
	SA_ONSTACK        = 0x08000000
	SA_RESTART        = 0x10000000
	SA_NODEFER        = 0x40000000
	SA_RESETHAND      = 0x80000000

	SS_ONSTACK    = 1
	SS_DISABLE    = 2
	SS_AUTODISARM = 1 << 31
)

// sigsetSize is sizeof(sigset_t) in the kernel: _NSIG/8 bytes.
const sigsetSize = NSIG / 8

// sigactionSize is sizeof(struct sigaction) as rt_sigaction reads it:
// sa_handler, sa_flags, sa_restorer, sa_mask, 8 bytes each on both arches
// (include/linux/signal_types.h with __ARCH_HAS_SA_RESTORER).
const sigactionSize = 32

// stackTSize is sizeof(stack_t): ss_sp, ss_flags (int, padded), ss_size
// (include/uapi/asm-generic/signal.h).
const stackTSize = 24

// clone flags (include/uapi/linux/sched.h).
const (
	CSIGNAL              = 0x000000ff
	CLONE_VM             = 0x00000100
	CLONE_FS             = 0x00000200
	CLONE_FILES          = 0x00000400
	CLONE_SIGHAND        = 0x00000800
	CLONE_PIDFD          = 0x00001000
	CLONE_PTRACE         = 0x00002000
	CLONE_VFORK          = 0x00004000
	CLONE_PARENT         = 0x00008000
	CLONE_THREAD         = 0x00010000
	CLONE_NEWNS          = 0x00020000
	CLONE_SYSVSEM        = 0x00040000
	CLONE_SETTLS         = 0x00080000
	CLONE_PARENT_SETTID  = 0x00100000
	CLONE_CHILD_CLEARTID = 0x00200000
	CLONE_DETACHED       = 0x00400000
	CLONE_UNTRACED       = 0x00800000
	CLONE_CHILD_SETTID   = 0x01000000
	CLONE_NEWCGROUP      = 0x02000000
	CLONE_NEWUTS         = 0x04000000
	CLONE_NEWIPC         = 0x08000000
	CLONE_NEWUSER        = 0x10000000
	CLONE_NEWPID         = 0x20000000
	CLONE_NEWNET         = 0x40000000
	CLONE_IO             = 0x80000000
)

// futex operations (include/uapi/linux/futex.h).
const (
	FUTEX_WAIT            = 0
	FUTEX_WAKE            = 1
	FUTEX_FD              = 2
	FUTEX_REQUEUE         = 3
	FUTEX_CMP_REQUEUE     = 4
	FUTEX_WAKE_OP         = 5
	FUTEX_LOCK_PI         = 6
	FUTEX_UNLOCK_PI       = 7
	FUTEX_TRYLOCK_PI      = 8
	FUTEX_WAIT_BITSET     = 9
	FUTEX_WAKE_BITSET     = 10
	FUTEX_WAIT_REQUEUE_PI = 11
	FUTEX_CMP_REQUEUE_PI  = 12
	FUTEX_LOCK_PI2        = 13

	FUTEX_PRIVATE_FLAG   = 128
	FUTEX_CLOCK_REALTIME = 256
	FUTEX_CMD_MASK       = ^(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)

	FUTEX_BITSET_MATCH_ANY = 0xffffffff
)

// robustListHeadSize is sizeof(struct robust_list_head) on 64-bit
// (include/uapi/linux/futex.h): list, futex_offset, list_op_pending.
const robustListHeadSize = 24

// mmap flags (include/uapi/asm-generic/mman-common.h,
// include/uapi/asm-generic/mman.h, include/uapi/linux/mman.h,
// arch/x86/include/uapi/asm/mman.h for MAP_32BIT).
const (
	MAP_SHARED          = 0x01
	MAP_PRIVATE         = 0x02
	MAP_SHARED_VALIDATE = 0x03
	MAP_TYPE            = 0x0f
	MAP_FIXED           = 0x10
	MAP_ANONYMOUS       = 0x20
	MAP_32BIT           = 0x40
	MAP_GROWSDOWN       = 0x0100
	MAP_DENYWRITE       = 0x0800
	MAP_EXECUTABLE      = 0x1000
	MAP_LOCKED          = 0x2000
	MAP_NORESERVE       = 0x4000
	MAP_POPULATE        = 0x8000
	MAP_NONBLOCK        = 0x10000
	MAP_STACK           = 0x20000
	MAP_HUGETLB         = 0x40000
	MAP_SYNC            = 0x80000
	MAP_FIXED_NOREPLACE = 0x100000
	MAP_UNINITIALIZED   = 0x4000000

	// PROT_SEM and the PROT_GROWS* bits complete task.go's PROT_*.
	PROT_SEM       = 0x8
	PROT_GROWSDOWN = 0x01000000
	PROT_GROWSUP   = 0x02000000
)

// madvise advice (include/uapi/asm-generic/mman-common.h).
const (
	MADV_NORMAL          = 0
	MADV_RANDOM          = 1
	MADV_SEQUENTIAL      = 2
	MADV_WILLNEED        = 3
	MADV_DONTNEED        = 4
	MADV_FREE            = 8
	MADV_REMOVE          = 9
	MADV_DONTFORK        = 10
	MADV_DOFORK          = 11
	MADV_MERGEABLE       = 12
	MADV_UNMERGEABLE     = 13
	MADV_HUGEPAGE        = 14
	MADV_NOHUGEPAGE      = 15
	MADV_DONTDUMP        = 16
	MADV_DODUMP          = 17
	MADV_WIPEONFORK      = 18
	MADV_KEEPONFORK      = 19
	MADV_COLD            = 20
	MADV_PAGEOUT         = 21
	MADV_POPULATE_READ   = 22
	MADV_POPULATE_WRITE  = 23
	MADV_DONTNEED_LOCKED = 24
	MADV_COLLAPSE        = 25
	MADV_HWPOISON        = 100
	MADV_SOFT_OFFLINE    = 101
)

// open flags that are the same on both arches (include/uapi/asm-generic/fcntl.h);
// O_DIRECT, O_LARGEFILE, O_DIRECTORY and O_NOFOLLOW are per arch (archabi.go).
const (
	O_ACCMODE   = 0o3
	O_RDONLY    = 0o0
	O_WRONLY    = 0o1
	O_RDWR      = 0o2
	O_CREAT     = 0o100
	O_EXCL      = 0o200
	O_NOCTTY    = 0o400
	O_TRUNC     = 0o1000
	O_APPEND    = 0o2000
	O_NONBLOCK  = 0o4000
	O_DSYNC     = 0o10000
	FASYNC      = 0o20000
	O_NOATIME   = 0o1000000
	O_CLOEXEC   = 0o2000000
	O_SYNC      = 0o4010000 // __O_SYNC|O_DSYNC
	O_PATH      = 0o10000000
	__O_TMPFILE = 0o20000000 // O_TMPFILE is __O_TMPFILE|O_DIRECTORY
)

// *at flags (include/uapi/linux/fcntl.h).
const (
	AT_FDCWD            = -100
	AT_SYMLINK_NOFOLLOW = 0x100
	AT_EACCESS          = 0x200
	AT_SYMLINK_FOLLOW   = 0x400
	AT_NO_AUTOMOUNT     = 0x800
	AT_EMPTY_PATH       = 0x1000
	AT_STATX_FORCE_SYNC = 0x2000
	AT_STATX_DONT_SYNC  = 0x4000
)

// access modes (include/linux/fs.h MAY_*, as access(2) spells them).
const (
	F_OK = 0
	X_OK = 1
	W_OK = 2
	R_OK = 4
)

// fcntl commands (include/uapi/asm-generic/fcntl.h, include/uapi/linux/fcntl.h).
const (
	F_DUPFD         = 0
	F_GETFD         = 1
	F_SETFD         = 2
	F_GETFL         = 3
	F_SETFL         = 4
	F_GETLK         = 5
	F_SETLK         = 6
	F_SETLKW        = 7
	F_SETOWN        = 8
	F_GETOWN        = 9
	F_SETSIG        = 10
	F_GETSIG        = 11
	F_SETOWN_EX     = 15
	F_GETOWN_EX     = 16
	F_OFD_GETLK     = 36
	F_OFD_SETLK     = 37
	F_OFD_SETLKW    = 38
	F_SETLEASE      = 1024
	F_GETLEASE      = 1025
	F_NOTIFY        = 1026
	F_DUPFD_CLOEXEC = 1030
	F_SETPIPE_SZ    = 1031
	F_GETPIPE_SZ    = 1032
	F_ADD_SEALS     = 1033
	F_GET_SEALS     = 1034

	FD_CLOEXEC = 1
)

// lseek whence (include/uapi/linux/fs.h).
const (
	SEEK_SET  = 0
	SEEK_CUR  = 1
	SEEK_END  = 2
	SEEK_DATA = 3
	SEEK_HOLE = 4
)

// File types and directory entry types (include/uapi/linux/stat.h,
// include/linux/fs_types.h).
const (
	S_IFMT   = 0o170000
	S_IFSOCK = 0o140000
	S_IFLNK  = 0o120000
	S_IFREG  = 0o100000
	S_IFBLK  = 0o060000
	S_IFDIR  = 0o040000
	S_IFCHR  = 0o020000
	S_IFIFO  = 0o010000

	DT_UNKNOWN = 0
	DT_FIFO    = 1
	DT_CHR     = 2
	DT_DIR     = 4
	DT_BLK     = 6
	DT_REG     = 8
	DT_LNK     = 10
	DT_SOCK    = 12
)

// statx mask bits (include/uapi/linux/stat.h).
const (
	STATX_TYPE        = 0x1
	STATX_MODE        = 0x2
	STATX_NLINK       = 0x4
	STATX_UID         = 0x8
	STATX_GID         = 0x10
	STATX_ATIME       = 0x20
	STATX_MTIME       = 0x40
	STATX_CTIME       = 0x80
	STATX_INO         = 0x100
	STATX_SIZE        = 0x200
	STATX_BLOCKS      = 0x400
	STATX_BASIC_STATS = 0x7ff
	STATX__RESERVED   = 0x80000000
)

// statxSize is sizeof(struct statx) (include/uapi/linux/stat.h).
const statxSize = 256

// ioctl requests (include/uapi/asm-generic/ioctls.h; x86 uses the same).
const (
	TCGETS     = 0x5401
	TCSETS     = 0x5402
	TIOCGPGRP  = 0x540f
	TIOCGWINSZ = 0x5413
	FIONREAD   = 0x541b
	FIONBIO    = 0x5421
	FIONCLEX   = 0x5450
	FIOCLEX    = 0x5451
	FIOASYNC   = 0x5452
)

// Clocks (include/uapi/linux/time.h) and clock_nanosleep flags.
const (
	CLOCK_REALTIME           = 0
	CLOCK_MONOTONIC          = 1
	CLOCK_PROCESS_CPUTIME_ID = 2
	CLOCK_THREAD_CPUTIME_ID  = 3
	CLOCK_MONOTONIC_RAW      = 4
	CLOCK_REALTIME_COARSE    = 5
	CLOCK_MONOTONIC_COARSE   = 6
	CLOCK_BOOTTIME           = 7
	CLOCK_REALTIME_ALARM     = 8
	CLOCK_BOOTTIME_ALARM     = 9
	CLOCK_TAI                = 11

	TIMER_ABSTIME = 1
)

// CPU-time clock ids for another pid or tid are negative
// (include/linux/posix-timers.h): ~pid<<3 | perthread<<2 | which.
const (
	cpuclockPerthreadMask = 4
	cpuclockClockMask     = 3
	cpuclockSched         = 2
	clockfd               = 3
)

// arch_prctl codes (arch/x86/include/uapi/asm/prctl.h).
const (
	ARCH_SET_GS         = 0x1001
	ARCH_SET_FS         = 0x1002
	ARCH_GET_FS         = 0x1003
	ARCH_GET_GS         = 0x1004
	ARCH_GET_CPUID      = 0x1011
	ARCH_SET_CPUID      = 0x1012
	ARCH_GET_XCOMP_SUPP = 0x1021
	ARCH_GET_XCOMP_PERM = 0x1022
	ARCH_REQ_XCOMP_PERM = 0x1023
	ARCH_MAP_VDSO_X32   = 0x2001
	ARCH_MAP_VDSO_32    = 0x2002
	ARCH_MAP_VDSO_64    = 0x2003
)

// prctl options (include/uapi/linux/prctl.h).
const (
	PR_SET_PDEATHSIG        = 1
	PR_GET_PDEATHSIG        = 2
	PR_GET_DUMPABLE         = 3
	PR_SET_DUMPABLE         = 4
	PR_GET_KEEPCAPS         = 7
	PR_SET_KEEPCAPS         = 8
	PR_SET_NAME             = 15
	PR_GET_NAME             = 16
	PR_GET_SECCOMP          = 21
	PR_SET_SECCOMP          = 22
	PR_CAPBSET_READ         = 23
	PR_SET_TIMERSLACK       = 29
	PR_GET_TIMERSLACK       = 30
	PR_SET_MM               = 35
	PR_SET_CHILD_SUBREAPER  = 36
	PR_GET_CHILD_SUBREAPER  = 37
	PR_SET_NO_NEW_PRIVS     = 38
	PR_GET_NO_NEW_PRIVS     = 39
	PR_SET_THP_DISABLE      = 41
	PR_GET_THP_DISABLE      = 42
	PR_SET_TAGGED_ADDR_CTRL = 55
	PR_GET_TAGGED_ADDR_CTRL = 56
	PR_SET_VMA              = 0x53564d41
	PR_SET_VMA_ANON_NAME    = 0
)

// taskCommLen is TASK_COMM_LEN (include/linux/sched.h): a thread name is at
// most 15 bytes and a NUL.
const taskCommLen = 16

// Resource limits (include/uapi/asm-generic/resource.h).
const (
	RLIMIT_CPU        = 0
	RLIMIT_FSIZE      = 1
	RLIMIT_DATA       = 2
	RLIMIT_STACK      = 3
	RLIMIT_CORE       = 4
	RLIMIT_RSS        = 5
	RLIMIT_NPROC      = 6
	RLIMIT_NOFILE     = 7
	RLIMIT_MEMLOCK    = 8
	RLIMIT_AS         = 9
	RLIMIT_LOCKS      = 10
	RLIMIT_SIGPENDING = 11
	RLIMIT_MSGQUEUE   = 12
	RLIMIT_NICE       = 13
	RLIMIT_RTPRIO     = 14
	RLIMIT_RTTIME     = 15
	RLIM_NLIMITS      = 16

	RLIM_INFINITY = ^uint64(0)
)

// getrandom flags (include/uapi/linux/random.h).
const (
	GRND_NONBLOCK = 0x1
	GRND_RANDOM   = 0x2
	GRND_INSECURE = 0x4
)

// membarrier commands (include/uapi/linux/membarrier.h).
const (
	MEMBARRIER_CMD_QUERY                      = 0
	MEMBARRIER_CMD_GLOBAL                     = 1 << 0
	MEMBARRIER_CMD_GLOBAL_EXPEDITED           = 1 << 1
	MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED  = 1 << 2
	MEMBARRIER_CMD_PRIVATE_EXPEDITED          = 1 << 3
	MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 1 << 4
)

// Kernel limits.
const (
	pathMax     = 4096       // PATH_MAX, include/uapi/linux/limits.h
	nameMax     = 255        // NAME_MAX, include/uapi/linux/limits.h
	uioMaxIOV   = 1024       // UIO_MAXIOV, include/uapi/linux/uio.h
	maxRWCount  = 0x7ffff000 // MAX_RW_COUNT = INT_MAX & PAGE_MASK, include/linux/fs.h
	nrOpen      = 1 << 20    // sysctl_nr_open default (fs/file.c)
	utsFieldLen = 65         // __NEW_UTS_LEN + 1, include/uapi/linux/utsname.h
)

// epoll (include/uapi/linux/eventpoll.h).
const (
	EPOLL_CLOEXEC = O_CLOEXEC

	EPOLL_CTL_ADD = 1
	EPOLL_CTL_DEL = 2
	EPOLL_CTL_MOD = 3

	EPOLLIN        = 0x00000001
	EPOLLPRI       = 0x00000002
	EPOLLOUT       = 0x00000004
	EPOLLERR       = 0x00000008
	EPOLLHUP       = 0x00000010
	EPOLLNVAL      = 0x00000020
	EPOLLRDNORM    = 0x00000040
	EPOLLRDBAND    = 0x00000080
	EPOLLWRNORM    = 0x00000100
	EPOLLWRBAND    = 0x00000200
	EPOLLMSG       = 0x00000400
	EPOLLRDHUP     = 0x00002000
	EPOLLEXCLUSIVE = 1 << 28
	EPOLLWAKEUP    = 1 << 29
	EPOLLONESHOT   = 1 << 30
	EPOLLET        = 1 << 31
)

// epoll limits and masks (fs/eventpoll.c).
const (
	// epPrivateBits are the flags that are not events: what is left of an
	// EPOLLONESHOT item's events once it has fired (EP_PRIVATE_BITS).
	epPrivateBits = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE
	// epExclusiveOKBits may accompany EPOLLEXCLUSIVE (EPOLLEXCLUSIVE_OK_BITS).
	epExclusiveOKBits = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE
	// epMaxNests is how deep epoll instances may watch each other
	// (EP_MAX_NESTS).
	epMaxNests = 4
	// defaultPollMask is what a file without a poll method of its own
	// reports (DEFAULT_POLLMASK, include/linux/poll.h).
	defaultPollMask = EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM
	// maxUserWatches bounds the items of all epoll instances of a process
	// (fs.epoll.max_user_watches is about 4% of low memory divided by 90
	// bytes per item: some 1.8 million on a 4 GiB machine; this is lower,
	// to bound the emulator's memory).
	maxUserWatches = 1 << 20
)

// eventfd flags (include/linux/eventfd.h).
const (
	EFD_SEMAPHORE = 1
	EFD_CLOEXEC   = O_CLOEXEC
	EFD_NONBLOCK  = O_NONBLOCK
)

// Pipes (include/uapi/linux/limits.h, include/linux/pipe_fs_i.h,
// fs/pipe.c).
const (
	// pipePage is the size of one pipe buffer (PAGE_SIZE of both
	// guests), which is also PIPE_BUF: writes of at most this many bytes
	// are atomic.
	pipePage = 4096
	// pipeDefBuffers and pipeMinDefBuffers are PIPE_DEF_BUFFERS and
	// PIPE_MIN_DEF_BUFFERS: the buffers of a new pipe, and of one created
	// past pipe-user-pages-soft.
	pipeDefBuffers    = 16
	pipeMinDefBuffers = 2
	// pipeMaxSize is fs.pipe-max-size, the largest F_SETPIPE_SZ an
	// unprivileged process may ask for.
	pipeMaxSize = 1 << 20
	// pipeUserPagesSoft is fs.pipe-user-pages-soft; pipeUserPagesHard
	// stands for fs.pipe-user-pages-hard, which Linux leaves unlimited and
	// gorunemu sets so that pipe buffers stay bounded (see pipe.go).
	pipeUserPagesSoft = 16384
	pipeUserPagesHard = 2 * pipeUserPagesSoft
	// O_NOTIFICATION_PIPE is O_EXCL given to pipe2
	// (include/uapi/linux/watch_queue.h).
	O_NOTIFICATION_PIPE = O_EXCL
)

// Socket type flags (include/linux/net.h) and the number of address
// families (include/linux/socket.h AF_MAX).
const (
	SOCK_TYPE_MASK = 0xf
	SOCK_NONBLOCK  = O_NONBLOCK
	SOCK_CLOEXEC   = O_CLOEXEC
	afMax          = 46
)

// utimensat's special nanoseconds (include/uapi/linux/stat.h).
const (
	UTIME_NOW  = 1<<30 - 1
	UTIME_OMIT = 1<<30 - 2
)

// unlinkat and renameat2 flags (include/uapi/linux/fcntl.h,
// include/uapi/linux/fs.h).
const (
	AT_REMOVEDIR     = 0x200
	RENAME_NOREPLACE = 1 << 0
	RENAME_EXCHANGE  = 1 << 1
	RENAME_WHITEOUT  = 1 << 2
)
