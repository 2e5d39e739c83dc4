// Command chatty prints numbered lines until a write fails, then says why
// on stderr and exits 3: the guest for tests of a reader that stops
// reading.
package main

import (
	"fmt"
	"os"
)

func main() {
	for i := 0; ; i++ {
		if _, err := fmt.Println("line", i); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			os.Exit(3)
		}
	}
}
