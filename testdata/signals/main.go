// Command signals needs signals sent to it to be delivered. "preempt"
// (the default) finishes only with asynchronous preemption: with one P, a
// goroutine spins in a loop without calls, which only sysmon's SIGURG
// (tgkill) can stop, while main waits for the P to come back. "notify"
// sends itself SIGUSR1 with kill and receives it through os/signal. "gc"
// allocates on four goroutines through three forced collections, which
// stop goroutines with the same signal. "interrupt" sends SIGUSR1 with
// tgkill to a thread blocked in read(2) on an empty pipe: Go's SA_RESTART
// handler runs and the read goes on waiting, then gets its data.
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
	case "interrupt":
		interrupt()
	}
}

// interrupt blocks a thread in read(2) on an empty pipe, sends that thread
// SIGUSR1, and then writes to the pipe.
func interrupt() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil { // blocking, unlike os.Pipe
		fmt.Println("pipe:", err)
		return
	}
	tids := make(chan int)
	done := make(chan string)
	go func() {
		runtime.LockOSThread()
		tids <- syscall.Gettid()
		buf := make([]byte, 16)
		n, err := syscall.Read(fds[0], buf)
		done <- fmt.Sprintf("read %q, %v", buf[:n], err)
	}()
	tid := <-tids
	time.Sleep(time.Millisecond) // the reader is asleep in read by now
	if err := syscall.Tgkill(os.Getpid(), tid, syscall.SIGUSR1); err != nil {
		fmt.Println("tgkill:", err)
		return
	}
	fmt.Println("received:", <-c)
	syscall.Write(fds[1], []byte("hello"))
	fmt.Println(<-done)
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
