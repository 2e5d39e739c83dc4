// Command selfstop stops itself with SIGSTOP, as a shell's job control
// would; nothing is left to continue it.
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	syscall.Kill(os.Getpid(), syscall.SIGSTOP)
	fmt.Println("continued")
}
