// Package amd64 holds the Linux syscall numbers of the x86-64 guest
// (arch/x86/entry/syscalls/syscall_64.tbl), generated into zsysnum.go by
// syscalls/internal/gensysnum. They are guest numbers: never mix them with
// the host's syscall.SYS_* constants.
package amd64
