package syscalls

// Args are a syscall's six raw argument registers, in the order of the
// arch's syscall ABI (rdi, rsi, rdx, r10, r8, r9 on amd64; x0..x5 on
// arm64). The accessors convert one argument the way the kernel's
// SYSCALL_DEFINE wrappers do: C int parameters use the low 32 bits.
type Args [6]uint64

// Int returns argument i as a C long.
func (a Args) Int(i int) int64 { return int64(a[i]) }

// Int32 returns argument i as a C int (its low 32 bits, sign-extended).
func (a Args) Int32(i int) int32 { return int32(a[i]) }

// Uint returns argument i as a C unsigned long or size_t.
func (a Args) Uint(i int) uint64 { return a[i] }

// U32 returns argument i as a C unsigned int.
func (a Args) U32(i int) uint32 { return uint32(a[i]) }

// Ptr returns argument i as a guest address.
func (a Args) Ptr(i int) uint64 { return a[i] }

// Fd returns argument i as a file descriptor (a C int).
func (a Args) Fd(i int) int32 { return int32(a[i]) }
