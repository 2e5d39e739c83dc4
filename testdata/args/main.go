// Command args prints each of its arguments as "arg[i]=value" and then
// "GORUNEMU_TEST=" followed by that environment variable, so tests can
// check the argv and envp the emulator puts on the initial stack.
package main

import (
	"fmt"
	"os"
)

func main() {
	for i, a := range os.Args {
		fmt.Printf("arg[%d]=%s\n", i, a)
	}
	fmt.Println("GORUNEMU_TEST=" + os.Getenv("GORUNEMU_TEST"))
}
