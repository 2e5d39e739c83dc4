// Command alloc allocates and touches memory without end, so only a
// memory limit stops it.
package main

import "fmt"

func main() {
	fmt.Println("allocating")
	var keep [][]byte
	for {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		keep = append(keep, b)
	}
}
