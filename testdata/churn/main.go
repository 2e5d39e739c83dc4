// Command churn starts and ends OS threads in a loop: a goroutine that
// locks itself to its thread and returns without unlocking ends that
// thread. The first argument is the number of threads (default 1000).
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
)

func main() {
	n := 1000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	done := make(chan struct{})
	for i := 0; i < n; i++ {
		go func() {
			runtime.LockOSThread()
			done <- struct{}{}
		}()
		<-done
	}
	fmt.Println("threads ended:", n)
}
