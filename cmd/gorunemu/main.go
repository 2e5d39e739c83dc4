// Command gorunemu runs a Linux Go executable's startup in an emulator and
// shows how the Go runtime gets from its ELF entry point to main.main.
//
// Usage:
//
//	gorunemu run [flags] BINARY|PKGDIR [ARGS...]
//	gorunemu trace [flags] BINARY|PKGDIR [ARGS...]
//	gorunemu inspect [flags] BINARY|PKGDIR [ARGS...]
//	gorunemu exec [flags] BINARY [ARGS...]
//	gorunemu version
//
// Run "gorunemu help" or "gorunemu COMMAND -h" for flags and exit codes.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	killSelf = dieBySignal
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `gorunemu runs a Linux Go executable's startup in an emulator.

Usage:
  gorunemu run [flags] BINARY|PKGDIR [ARGS...]      run to main.main (or --until) and summarise
  gorunemu trace [flags] BINARY|PKGDIR [ARGS...]    trace the startup: milestones, calls, syscalls, instructions
  gorunemu inspect [flags] BINARY|PKGDIR [ARGS...]  read g0, m0 and each thread's g, m and TLS there; check them
  gorunemu exec [flags] BINARY [ARGS...]            run a program to exit as qemu-user does (go test -exec)
  gorunemu version                                  print versions (also --version)
  gorunemu help                                     this text

BINARY is a linux/amd64 or linux/arm64 Go executable. PKGDIR is a directory
holding a Go main package; gorunemu builds it with the local Go toolchain
for --arch (CGO_ENABLED=0) into its cache and runs that.

Run "gorunemu help COMMAND" for the flags of a command.
` + exitCodesHelp

// run is the whole program; main only passes it the process's arguments
// and streams, so tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:], stdout, stderr)
	case "inspect":
		return inspectCmd(args[1:], stdout, stderr)
	case "trace":
		return traceCmd(args[1:], stdout, stderr)
	case "exec":
		return execCmd(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		return versionCmd(stdout)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			switch args[1] {
			case "run", "trace", "inspect", "exec":
				return run([]string{args[1], "-h"}, stdout, stderr)
			case "version", "help":
			default:
				fmt.Fprintf(stderr, "gorunemu help: unknown command %q\n\n%s", args[1], usage)
				return exitUsage
			}
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "gorunemu: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}
