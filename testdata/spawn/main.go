// Command spawn starts goroutines without end, each locked to an OS
// thread that then blocks, so the runtime keeps creating threads until a
// thread limit stops it.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	fmt.Println("spawning")
	block := make(chan struct{})
	for {
		started := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(started)
			<-block
		}()
		<-started
	}
}
