package syscalls

// The syscall number tables (amd64/zsysnum.go, arm64/zsysnum.go) and the
// errno and signal tables (zerrors.go) are generated from golang.org/x/sys,
// which generates its own from the Linux uapi headers. Pinned version:
// changing it regenerates from that release.
//
//go:generate go run ./internal/gensysnum -xsys v0.49.0 -out .
