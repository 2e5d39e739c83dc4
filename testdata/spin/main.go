// Command spin starts a goroutine that makes a syscall and then spins
// without making another, while main sleeps, then prints and exits. A
// scheduler that lets the spinning thread run on past its time slice
// never gets back to main (or to sysmon, which would preempt the spinner).
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

var spins uint64

func main() {
	runtime.GOMAXPROCS(2)
	started := make(chan struct{})
	go func() {
		close(started)
		syscall.Getpid()
		for {
			spins++
		}
	}()
	<-started
	time.Sleep(time.Millisecond)
	fmt.Println("main ran again")
	os.Exit(0)
}
