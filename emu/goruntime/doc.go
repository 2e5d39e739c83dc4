// Package goruntime reads the Go runtime's startup state out of a stopped
// emulated process and checks the invariants startup establishes, for
// test suites and for gorunemu inspect.
//
// Read returns a Snapshot: the Go version; runtime.g0 (its stack bounds,
// stack guards and m); runtime.m0 (g0, curg, gsignal, procid and the tls
// slots); for every live thread its PC and function, SP, thread pointer
// (FS base on amd64, TPIDR_EL0 on arm64), g register (R14, R28), the g
// it runs with that g's stack and m; argc and argv; and the runtime's
// physPageSize, ncpu, gomaxprocs and iscgo.
//
// The offsets of the g and m fields come from the binary's DWARF. A
// binary without DWARF, or whose DWARF cannot be read, uses a table keyed
// by Go version (Go 1.17 to 1.26;
// the version matrix test checks it against each release's DWARF), and a
// release the table does not cover is an error wrapping
// ErrUnknownVersion, never a guess. A stripped binary has no data
// symbols: Read then finds g0 and m0 by decoding the instructions of
// runtime.rt0_go that load their addresses (and, failing that, from the
// main thread's registers), takes argc and argv from the initial stack
// and iscgo from whether runtime/cgo is linked in, and reports the other
// variables as unavailable. Every value is a Val that is either known,
// with where it came from, or unavailable, with the reason.
//
// Check and Evaluate compare a Snapshot with what rt0_go, mstart0 and
// minit set up: the thread pointer and g register of every thread, the
// links between m0 and g0, g0's stack bounds and guards for the release
// and arch, SP within the running g's stack, each thread's g belonging
// to its m, procid, argv and the page size. Check returns the
// violations, each with a readable message:
//
//	s, err := goruntime.Read(p) // p stopped at main.main
//	if err != nil { ... }
//	for _, v := range goruntime.Check(s) {
//		fmt.Println(v) // e.g. "tls (thread 4242): FS base 0x… ≠ &m0.tls+8 0x…"
//	}
//
// For traces it gives emu, as data, what emu itself does not know of Go:
// StartupPath, the milestones from _rt0_<arch>_linux to main.main and what
// to report at each, and Goroutines, where a thread keeps its running g
// (TLS on amd64, R28 on arm64), the offset of goid, and the runtime's
// functions that switch goroutines, so that --calls follows goroutines.
//
// The package holds no state of its own: any number of processes can be
// read at once.
package goruntime
