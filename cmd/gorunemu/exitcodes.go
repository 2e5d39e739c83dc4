package main

// Exit codes. With --until exit the guest's own exit code is passed through
// (and may coincide with these); a guest killed by a signal, or stopped by
// a fault it has no handler for (or any fault, with --stop-on-fault),
// exits 128+signal as a shell reports it.
const (
	exitOK       = 0
	exitUsage    = 64 // bad command line (sysexits EX_USAGE)
	exitBadInput = 65 // the file cannot be emulated: not ELF, wrong arch, dynamic, ...
	exitNoInput  = 66 // the file cannot be read, or the package does not build
	exitInternal = 70 // gorunemu failed: a bug or an unemulated behaviour
	exitDeadlock = 71 // every guest thread waits forever
	exitInsns    = 72 // --max-insns reached
	exitMem      = 73 // --max-mem reached
	exitThreads  = 74 // --max-threads reached
	exitTimeout  = 75 // --timeout reached
	exitNotReach = 76 // the process ended before reaching --until
	exitTraceMax = 77 // trace: --max-trace-bytes reached
)

const exitCodesHelp = `
Exit codes:
  0       reached --until (or, with --until exit, the guest exited 0)
  N       with --until exit: the guest's exit code N
  128+S   the guest was killed by signal S, or faulted with no handler for
          the signal (or with --stop-on-fault): 139 SIGSEGV for a bad
          access, 132 SIGILL for an undefined instruction, 133 SIGTRAP for
          a breakpoint. A Go program handles its faults: it panics, exit 2.
  64      bad command line
  65      the file cannot be emulated (not ELF, not amd64/arm64, dynamic, ...)
  66      the file cannot be read, or the package does not build
  70      internal error in gorunemu (a bug or an unemulated behaviour; with
          --strict, a syscall gorunemu does not implement)
  71      deadlock: every guest thread waits forever
  72      instruction limit (--max-insns) reached
  73      memory limit (--max-mem) reached
  74      thread limit (--max-threads) reached
  75      wall-clock limit (--timeout) reached
  76      the process ended before reaching --until
  77      trace: the trace reached --max-trace-bytes
`
