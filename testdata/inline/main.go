// Command inline has small functions that the compiler inlines into
// main.main, for the tests of inlined-frame symbolization in package
// loader: twice is inlined at two call sites in main.main, and double is
// inlined into twice, so the call of record in double sits two levels of
// inlining deep. The "// at:" comments mark lines the tests look for.
//
// Run with no arguments, it prints the stack record saw at each of the
// two calls, as the Go runtime reports it (runtime.Callers and
// runtime.CallersFrames), down to main.main: "pc function file:line"
// lines, where pc is the return address of the call of record, then an
// empty line; and finally the two results.
//
// Run as "inline frames", it reads PCs, one hexadecimal number a line,
// from standard input and prints for each, the same way, the frames
// runtime.CallersFrames reports for that PC, innermost first (only the
// innermost before Go 1.23, whose CallersFrames does not expand inlined
// calls at an arbitrary PC).
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// stacks are the stacks record saw.
var stacks [][]uintptr

// record saves the stack of its caller.
//
//go:noinline
func record() {
	pcs := make([]uintptr, 16)
	// Skip runtime.Callers and record.
	stacks = append(stacks, pcs[:runtime.Callers(2, pcs)])
}

// double is inlined into twice.
func double(x int) int {
	record() // at:record
	return x + x
}

// twice is inlined into main.main, twice.
func twice(x int) int {
	y := double(x) // at:double
	return y + len(stacks)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "frames" {
		frames()
		return
	}
	a := twice(len(os.Args)) // at:twice1
	b := twice(a + 3)        // at:twice2
	out := bufio.NewWriter(os.Stdout)
	for _, pcs := range stacks {
		fs := runtime.CallersFrames(pcs)
		for {
			f, more := fs.Next()
			fmt.Fprintf(out, "%x %s %s:%d\n", pcs[0], f.Function, f.File, f.Line)
			if !more || f.Function == "main.main" {
				break
			}
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintln(out, a, b)
	check(out.Flush())
}

// frames answers the PCs on standard input.
func frames() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		pc, err := strconv.ParseUint(line, 16, 64)
		check(err)
		// CallersFrames takes return addresses and looks up pc-1. It
		// expands the inlined frames at a PC only while more PCs follow:
		// 0 is one that names no function, so it adds no frame.
		fs := runtime.CallersFrames([]uintptr{uintptr(pc) + 1, 0})
		for {
			f, more := fs.Next()
			fmt.Fprintf(out, "%x %s %s:%d\n", pc, f.Function, f.File, f.Line)
			if !more {
				break
			}
		}
		fmt.Fprintln(out)
	}
	check(in.Err())
	check(out.Flush())
}

// check exits on an error.
func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "inline:", err)
		os.Exit(2)
	}
}
