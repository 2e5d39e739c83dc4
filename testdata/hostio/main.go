// Command hostio does what a test binary does with its host: it reports
// its working directory, an environment variable and its executable's
// path, echoes stdin, writes and reads back a temporary file, tries to
// write a host file, and ends as its argument says: "exit N" exits N,
// "kill SIG" kills itself with signal SIG. gorunemu exec must give it
// the same results as a native run.
package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

func main() {
	wd, err := os.Getwd()
	fmt.Println("cwd:", wd, err)
	fmt.Println("HOSTIO:", os.Getenv("HOSTIO"))
	exe, err := os.Executable()
	fmt.Println("exe:", exe, err)
	if _, err := os.Stat(exe); err != nil {
		fmt.Println("exe missing:", err)
	}
	dir, err := os.MkdirTemp("", "hostio")
	if err != nil {
		fmt.Println("mkdirtemp:", err)
		os.Exit(1)
	}
	name := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(name, []byte("written\n"), 0o644); err != nil {
		fmt.Println("write:", err)
	}
	b, err := os.ReadFile(name)
	fmt.Printf("read back: %q %v\n", b, err)
	fmt.Println("remove:", os.RemoveAll(dir))
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		fmt.Println("stdin:", sc.Text())
	}
	if len(os.Args) > 2 {
		n, _ := strconv.Atoi(os.Args[2])
		switch os.Args[1] {
		case "exit":
			os.Exit(n)
		case "kill":
			syscall.Kill(os.Getpid(), syscall.Signal(n))
			select {}
		case "write":
			// Try to change the file named by the third argument.
			err := os.WriteFile(os.Args[3], []byte("changed"), 0o644)
			fmt.Println("write host:", err)
		}
	}
}
