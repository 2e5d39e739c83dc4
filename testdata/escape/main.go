// Command escape tries to reach the host: it reads /etc/passwd, writes the
// file named by its first argument, opens a socket, signals its parent and
// starts a process. Each attempt prints its outcome; none may succeed.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	if _, err := os.ReadFile("/etc/passwd"); err != nil {
		fmt.Println("read /etc/passwd:", err)
	} else {
		fmt.Println("read /etc/passwd: ok")
	}
	target := "/tmp/gorunemu-escape"
	if len(os.Args) > 1 {
		target = os.Args[1]
	}
	if err := os.WriteFile(target, []byte("escaped\n"), 0o644); err != nil {
		fmt.Println("write:", err)
	} else {
		fmt.Println("write: ok")
	}
	if _, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0); err != nil {
		fmt.Println("socket:", err)
	} else {
		fmt.Println("socket: ok")
	}
	if err := syscall.Kill(os.Getppid(), syscall.SIGTERM); err != nil {
		fmt.Println("kill parent:", err)
	} else {
		fmt.Println("kill parent: ok")
	}
	if err := exec.Command("/bin/true").Run(); err != nil {
		fmt.Println("exec:", err)
	} else {
		fmt.Println("exec: ok")
	}
}
