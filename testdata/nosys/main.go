// Command nosys makes a syscall no kernel has (number 1000), and exits 0
// after printing what it got back.
package main

import (
	"fmt"
	"syscall"
)

func main() {
	_, _, errno := syscall.Syscall(1000, 1, 2, 3)
	fmt.Println("syscall 1000:", errno)
}
