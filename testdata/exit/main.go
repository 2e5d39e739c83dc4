// Command exit writes one line to standard error and exits with status 3,
// so tests can check that an exit code travels out of the emulator.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "exiting with status 3")
	os.Exit(3)
}
