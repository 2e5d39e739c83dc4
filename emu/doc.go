// Package emu runs a Linux Go executable as an emulated process: it maps
// the image loaded by package loader into a Unicorn engine (emu/unicorn),
// builds the initial stack, and runs the guest's threads one at a time on
// a deterministic scheduler, handing their syscalls to package syscalls.
//
// Open or New prepare a Process; Run executes it until a stop: a symbol or
// address (Until), the process's exit, a fault, a limit or a deadlock, and
// returns a StopReason saying which and where. The processes the guest
// starts (fork, vfork, execve) run within the same Run, each with its own
// engine, on the one scheduler and clock of the first's family
// (family.go); the first's exit ends the run. Between runs the stopped
// process can be read: its threads' registers, guest memory, mappings,
// the initial stack and counts. Package emu/goruntime reads the Go
// runtime's state from such a stop.
//
// Everything the guest observes is a function of the binary, argv, env
// and Config.Seed: thread switches happen at blocking syscalls and fixed
// instruction slices, time is one nanosecond per instruction, and the
// CPU the guest sees is what the linked engine executes (GuestCPU), so
// two runs give the same instruction counts and traces.
//
// With Config.Trace set, a run also reports what happened (milestones,
// calls, syscalls, instructions, watched stores) as trace events to a
// trace.Sink, in instruction order. emu knows nothing of the Go runtime:
// the milestones and where goroutines live come in TraceOptions, from
// package goruntime.
package emu
