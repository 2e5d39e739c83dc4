// Command pingpong is a channel and scheduler workload for benchmarks:
// two goroutines pass a counter back and forth over unbuffered channels,
// so every step parks one goroutine and wakes the other. The first
// argument is the number of round trips (default 1200000).
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	n := 1200000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	v := 0
	for i := 0; i < n; i++ {
		ping <- v
		v = <-pong
	}
	close(ping)
	fmt.Println(v)
}
