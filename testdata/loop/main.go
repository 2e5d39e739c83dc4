// Command loop spins forever without making a syscall, so only an
// instruction or wall-clock limit stops it.
package main

import "fmt"

func main() {
	fmt.Println("looping")
	n := 0
	for {
		n++
	}
}
