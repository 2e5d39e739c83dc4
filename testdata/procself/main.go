// procself prints what a program learns about its own executable: the
// path os.Executable gives (/proc/self/exe) and the file names in
// /proc/self/maps.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	exe, err := os.Executable()
	fmt.Println("exe:", exe, err)
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		fmt.Println("maps:", err)
		return
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 6 && strings.HasPrefix(f[5], "/") && !seen[f[5]] {
			seen[f[5]] = true
			fmt.Println("mapped:", f[5])
		}
	}
}
