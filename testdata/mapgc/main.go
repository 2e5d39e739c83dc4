// Command mapgc is an allocation and garbage-collection workload for
// benchmarks: four goroutines each fill maps and linked lists, drop them
// and start again, so the collector runs many cycles on several threads.
// The first argument is the number of rounds (default 40).
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

type node struct {
	next *node
	key  string
	val  []int
}

func work(rounds int) int {
	total := 0
	for r := 0; r < rounds; r++ {
		m := map[string]*node{}
		var head *node
		for i := 0; i < 20000; i++ {
			n := &node{next: head, key: strconv.Itoa(i * r), val: make([]int, i%16)}
			head = n
			m[n.key] = n
		}
		for n := head; n != nil; n = n.next {
			total += len(n.val) + len(m[n.key].key)
		}
	}
	return total
}

func main() {
	rounds := 40
	if len(os.Args) > 1 {
		rounds, _ = strconv.Atoi(os.Args[1])
	}
	var wg sync.WaitGroup
	sums := make([]int, 4)
	for g := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[g] = work(rounds)
		}()
	}
	wg.Wait()
	fmt.Println(sums)
}
