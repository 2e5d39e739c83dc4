package syscalls

import (
	"encoding/binary"

	"github.com/gorunemu/gorunemu/arch"
)

// archABI holds the parts of the syscall ABI that differ between the two
// guests; handlers are written once and read the differences from here.
type archABI struct {
	// Open flags whose values differ (arch/arm64/include/uapi/asm/fcntl.h
	// overrides the asm-generic ones x86-64 uses).
	oDirect, oLargefile, oDirectory, oNofollow uint64
	// map32bit is MAP_32BIT where the arch has it (x86), else 0.
	map32bit uint64
	// minSigStkSz is MINSIGSTKSZ, the smallest stack sigaltstack accepts
	// (arch/x86/include/uapi/asm/signal.h: 2048;
	// arch/arm64/include/uapi/asm/signal.h: 5120).
	minSigStkSz uint64
	// cloneTLS and cloneChildTID are the argument positions of clone's
	// tls and child_tid: x86-64 is clone(flags, stack, parent_tid,
	// child_tid, tls); arm64 has CONFIG_CLONE_BACKWARDS: clone(flags,
	// stack, parent_tid, tls, child_tid) (kernel/fork.c).
	cloneTLS, cloneChildTID int
	// statSize and putStat encode struct stat
	// (arch/x86/include/uapi/asm/stat.h, include/uapi/asm-generic/stat.h).
	statSize int
	putStat  func(b []byte, st *statInfo)
	// epollEventSize is sizeof(struct epoll_event): u32 events and u64
	// data, packed on x86-64 (EPOLL_PACKED in
	// include/uapi/linux/eventpoll.h), naturally aligned on arm64. data
	// is its last 8 bytes.
	epollEventSize int
	// pushFrame and popFrame write and read the signal frame
	// (sigframe.go); set in init, as they use the ABI themselves.
	pushFrame func(k *Kernel, t Task, info SigInfo, act sigaction) error
	popFrame  func(t Task) (uint64, error)
}

func init() {
	amd64ABI.pushFrame, amd64ABI.popFrame = pushFrameAMD64, popFrameAMD64
	arm64ABI.pushFrame, arm64ABI.popFrame = pushFrameARM64, popFrameARM64
}

var amd64ABI = archABI{
	oDirect:        0o40000,
	oLargefile:     0o100000,
	oDirectory:     0o200000,
	oNofollow:      0o400000,
	map32bit:       MAP_32BIT,
	minSigStkSz:    2048,
	cloneTLS:       4,
	cloneChildTID:  3,
	statSize:       144,
	putStat:        putStatAMD64,
	epollEventSize: 12,
}

var arm64ABI = archABI{
	oDirectory:     0o40000,
	oNofollow:      0o100000,
	oDirect:        0o200000,
	oLargefile:     0o400000,
	minSigStkSz:    5120,
	cloneTLS:       3,
	cloneChildTID:  4,
	statSize:       128,
	putStat:        putStatARM64,
	epollEventSize: 16,
}

// abiOf returns the ABI differences of a guest arch: the one place this
// package chooses by arch. A nil arch has none; an arch gorunemu does not
// emulate is a bug of the caller, and panics.
func abiOf(a *arch.Arch) *archABI {
	if a == nil {
		return nil
	}
	switch a.Name {
	case "amd64":
		return &amd64ABI
	case "arm64":
		return &arm64ABI
	}
	panic("syscalls: no ABI for arch " + a.Name)
}

// validOpenFlags is VALID_OPEN_FLAGS (include/linux/fcntl.h): the open
// flags the kernel keeps; open and openat ignore the others.
func (x *archABI) validOpenFlags() uint64 {
	return O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_SYNC |
		FASYNC | x.oDirect | x.oLargefile | x.oDirectory | x.oNofollow | O_NOATIME | O_CLOEXEC |
		O_PATH | __O_TMPFILE
}

// oTmpfile is O_TMPFILE: __O_TMPFILE|O_DIRECTORY.
func (x *archABI) oTmpfile() uint64 { return __O_TMPFILE | x.oDirectory }

// statInfo is what stat-like calls report about a file.
type statInfo struct {
	dev, ino, nlink, rdev uint64
	mode, uid, gid        uint32
	size, blksize, blocks int64
	// atime, mtime and ctime in ns since the Unix epoch.
	atime, mtime, ctime int64
}

// encodeDev packs a device number the way struct stat holds it
// (include/linux/kdev_t.h new_encode_dev).
func encodeDev(major, minor uint32) uint64 {
	return uint64(minor&0xff) | uint64(major&0xfff)<<8 | uint64(minor&^0xff)<<12
}

var le = binary.LittleEndian

func putTimespec(b []byte, ns int64) {
	le.PutUint64(b, uint64(ns/1e9))
	le.PutUint64(b[8:], uint64(ns%1e9))
}

// putStatAMD64 encodes struct stat of arch/x86/include/uapi/asm/stat.h
// (x86-64): 144 bytes.
func putStatAMD64(b []byte, st *statInfo) {
	le.PutUint64(b[0:], st.dev)
	le.PutUint64(b[8:], st.ino)
	le.PutUint64(b[16:], st.nlink)
	le.PutUint32(b[24:], st.mode)
	le.PutUint32(b[28:], st.uid)
	le.PutUint32(b[32:], st.gid)
	le.PutUint32(b[36:], 0) // __pad0
	le.PutUint64(b[40:], st.rdev)
	le.PutUint64(b[48:], uint64(st.size))
	le.PutUint64(b[56:], uint64(st.blksize))
	le.PutUint64(b[64:], uint64(st.blocks))
	putTimespec(b[72:], st.atime)
	putTimespec(b[88:], st.mtime)
	putTimespec(b[104:], st.ctime)
	clear(b[120:144]) // __unused[3]
}

// putStatARM64 encodes struct stat of include/uapi/asm-generic/stat.h:
// 128 bytes.
func putStatARM64(b []byte, st *statInfo) {
	le.PutUint64(b[0:], st.dev)
	le.PutUint64(b[8:], st.ino)
	le.PutUint32(b[16:], st.mode)
	le.PutUint32(b[20:], uint32(st.nlink))
	le.PutUint32(b[24:], st.uid)
	le.PutUint32(b[28:], st.gid)
	le.PutUint64(b[32:], st.rdev)
	le.PutUint64(b[40:], 0) // __pad1
	le.PutUint64(b[48:], uint64(st.size))
	le.PutUint32(b[56:], uint32(st.blksize))
	le.PutUint32(b[60:], 0) // __pad2
	le.PutUint64(b[64:], uint64(st.blocks))
	putTimespec(b[72:], st.atime)
	putTimespec(b[88:], st.mtime)
	putTimespec(b[104:], st.ctime)
	clear(b[120:128]) // __unused4, __unused5
}
