package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/gorunemu/gorunemu/emu/unicorn"
)

func versionCmd(w io.Writer) int {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	fmt.Fprintf(w, "gorunemu %s (%s, libunicorn %s)\n", v, runtime.Version(), unicorn.Version())
	return exitOK
}
