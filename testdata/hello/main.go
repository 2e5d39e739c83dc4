// Command hello prints "hello world": the smallest program whose startup
// gorunemu traces from the ELF entry to main.main and exit.
package main

import "fmt"

func main() {
	fmt.Println("hello world")
}
