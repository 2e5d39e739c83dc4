// Package arm64 holds the Linux syscall numbers of the AArch64 guest
// (include/uapi/asm-generic/unistd.h), generated into zsysnum.go by
// syscalls/internal/gensysnum. They are guest numbers: never mix them with
// the host's syscall.SYS_* constants.
package arm64
