// Command sleep waits on timers: time.Sleep, time.After, a context
// deadline and a sleeping goroutine, each tens of minutes long. Under
// gorunemu the virtual clock jumps over the waits, so it finishes at once;
// it prints how long each wait took on the guest's monotonic clock, in
// whole seconds.
package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

func main() {
	start := time.Now()
	step := start
	lap := func(what string) {
		now := time.Now()
		fmt.Printf("%s %d\n", what, int64(now.Sub(step)/time.Second))
		step = now
	}

	time.Sleep(time.Hour)
	lap("sleep")

	<-time.After(30 * time.Minute)
	lap("after")

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	<-ctx.Done()
	if ctx.Err() != context.DeadlineExceeded {
		fmt.Println("context:", ctx.Err())
		os.Exit(1)
	}
	lap("context")

	done := make(chan struct{})
	go func() {
		time.Sleep(10 * time.Minute)
		close(done)
	}()
	<-done
	lap("goroutine")

	fmt.Printf("total %d\n", int64(time.Since(start)/time.Second))
}
