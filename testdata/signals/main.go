// Command signals needs signals sent to it to be delivered. "preempt"
// (the default) finishes only with asynchronous preemption: with one P, a
// goroutine spins in a loop without calls, which only sysmon's SIGURG
// (tgkill) can stop, while main waits for the P to come back. "notify"
// sends itself SIGUSR1 with kill and receives it through os/signal. "gc"
// allocates on four goroutines through three forced collections, which
// stop goroutines with the same signal.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

var spins uint64

//go:noinline
func spin() {
	for {
		spins++
	}
}

func main() {
	what := "preempt"
	if len(os.Args) > 1 {
		what = os.Args[1]
	}
	switch what {
	case "preempt":
		runtime.GOMAXPROCS(1)
		go spin()
		time.Sleep(time.Millisecond) // lets spin run, on the only P
		fmt.Println("main ran again: the spinning goroutine was preempted")
	case "notify":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGUSR1)
		if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
			fmt.Println("kill:", err)
			os.Exit(1)
		}
		fmt.Println("received:", <-c)
	case "gc":
		fmt.Println(collect())
	}
}

type node struct {
	next *node
	buf  [64]byte
}

// collect builds and drops lists on four goroutines while main forces
// three collections, and returns what the goroutines summed.
func collect() []int {
	var wg sync.WaitGroup
	sums := make([]int, 4)
	for w := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var head *node
			for i := range 20000 {
				n := &node{next: head}
				n.buf[0] = byte(i)
				head = n
				if i%1000 == 0 {
					head = nil
				}
				sums[w] += int(n.buf[0])
			}
		}()
	}
	for range 3 {
		runtime.GC()
	}
	wg.Wait()
	return sums
}
