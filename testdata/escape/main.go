// Command escape tries to reach the host: it reads /etc/passwd, writes the
// file named by its first argument, connects to the internet and to the
// host's loopback port named by its second argument, signals its parent
// and starts a process. Each attempt prints its outcome; none may
// succeed.
package main

import (
	"fmt"
	"net"
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
	if c, err := net.Dial("tcp", "192.0.2.1:80"); err != nil {
		fmt.Println("dial internet:", err)
	} else {
		c.Close()
		fmt.Println("dial internet: ok")
	}
	if len(os.Args) > 2 {
		if c, err := net.Dial("tcp", "127.0.0.1:"+os.Args[2]); err != nil {
			fmt.Println("dial host loopback:", err)
		} else {
			c.Close()
			fmt.Println("dial host loopback: ok")
		}
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
