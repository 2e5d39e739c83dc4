// Command children starts processes as Go tests do: it runs itself again
// through os/exec with a pipe on stdin and stdout, waits for it and reads
// its exit code, kills a child that sleeps, fails to start a missing
// program and a non-executable file, and collects a child's exit through
// SIGCHLD, and forks a child that runs on a copy of its memory; with
// argument "reexec" it replaces itself with syscall.Exec. gorunemu
// exec must give it the same output as a native run.
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	if len(os.Args) > 1 {
		child(os.Args[1:])
		return
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Println("executable:", err)
		os.Exit(1)
	}
	pid := os.Getpid()

	// A child that echoes its stdin, upper-cased, and exits 3.
	cmd := exec.Command(exe, "echo", "x y")
	cmd.Env = append(os.Environ(), "CHILDREN_PARENT="+fmt.Sprint(pid))
	cmd.Stdin = strings.NewReader("hello from the parent\n")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	fmt.Printf("echo: %q stderr %q err %v code %d\n", out.String(), errOut.String(), err, cmd.ProcessState.ExitCode())
	fmt.Println("child pid differs:", cmd.ProcessState.Pid() != pid, "user time >= 0:", cmd.ProcessState.UserTime() >= 0)

	// Output through a pipe read as it comes.
	cmd = exec.Command(exe, "count", "3")
	pipe, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Println("count:", err)
		os.Exit(1)
	}
	b, err := io.ReadAll(pipe)
	fmt.Printf("count: %q %v wait %v\n", b, err, cmd.Wait())

	// A child killed while it sleeps.
	cmd = exec.Command(exe, "sleep")
	r, w, _ := os.Pipe()
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		fmt.Println("sleep:", err)
		os.Exit(1)
	}
	w.Close()
	line := make([]byte, 6)
	io.ReadFull(r, line) // "ready\n": the child's handlers are in place
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	fmt.Printf("sleep: %q %v signaled %v\n", line, err, cmd.ProcessState.Sys().(syscall.WaitStatus).Signaled())

	// A child that dies of a nil dereference's SIGSEGV without a handler
	// of its own: Go's runtime exits 2 after printing the panic.
	out.Reset()
	cmd = exec.Command(exe, "panic")
	cmd.Stderr = &out
	err = cmd.Run()
	fmt.Printf("panic: %v, stderr starts %q\n", err, firstLine(out.String()))

	// Programs that cannot start.
	_, err = exec.Command("/nonexistent/program").Output()
	fmt.Println("missing:", err)
	dir, err := os.MkdirTemp("", "children")
	if err != nil {
		fmt.Println("mkdirtemp:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{"text", 0o644}, {"garbage", 0o755}} {
		p := dir + "/" + f.name
		os.WriteFile(p, []byte("not a program\n"), f.mode)
		_, err = exec.Command(p).Output()
		fmt.Println(f.name+":", strings.ReplaceAll(fmt.Sprint(err), dir, "DIR"))
	}
	// A copy of this program, made at run time, runs.
	self, _ := os.ReadFile(exe)
	os.WriteFile(dir+"/copy", self, 0o755)
	b, err = exec.Command(dir+"/copy", "count").Output()
	fmt.Printf("copy: %q %v\n", b, err)

	// SIGCHLD arrives when a child ends.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGCHLD)
	cmd = exec.Command(exe, "exit", "0")
	if err := cmd.Run(); err != nil {
		fmt.Println("exit:", err)
	}
	select {
	case s := <-sigs:
		fmt.Println("got", s)
	case <-time.After(10 * time.Second):
		fmt.Println("no SIGCHLD")
	}

	// fork: the child runs on a copy of this process's memory.
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		fmt.Println("pipe:", err)
		os.Exit(1)
	}
	fpid, errno := rawFork(fds[1])
	syscall.Close(fds[1])
	if errno != 0 {
		fmt.Println("fork:", errno)
		os.Exit(1)
	}
	got := make([]byte, 8)
	n, _ := syscall.Read(fds[0], got)
	var ws syscall.WaitStatus
	wpid, err := syscall.Wait4(int(fpid), &ws, 0, nil)
	fmt.Printf("fork: child wrote %q, exit %d, waited %v %v, parent's word still %d\n", got[:n], ws.ExitStatus(), wpid == int(fpid), err, forkWord)

	// Nothing is left to wait for.
	_, err = syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
	fmt.Println("wait4 without children:", err)
}

func child(args []string) {
	switch args[0] {
	case "echo":
		fmt.Fprintln(os.Stderr, "args:", args[1:], "parent known:", os.Getenv("CHILDREN_PARENT") == fmt.Sprint(os.Getppid()))
		b, _ := io.ReadAll(os.Stdin)
		os.Stdout.Write(bytes.ToUpper(b))
		os.Exit(3)
	case "count":
		for i := range 3 {
			fmt.Println(i)
		}
	case "sleep":
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "panic":
		var p *int
		fmt.Println(*p)
	case "exit":
		os.Exit(0)
	case "reexec": // replace this process, keeping its pid
		exe, _ := os.Executable()
		env := append(os.Environ(), fmt.Sprint("CHILDREN_PID=", os.Getpid()))
		err := syscall.Exec(exe, []string{exe, "execd", "x"}, env)
		fmt.Println("exec:", err)
		os.Exit(1)
	case "execd":
		fmt.Println("exec'd:", args[1:], "same pid:", os.Getenv("CHILDREN_PID") == fmt.Sprint(os.Getpid()))
	}
}

// forkWord is changed by the forked child only.
var forkWord = 1

// rawFork forks with clone(SIGCHLD); the child, which may only make raw
// system calls, writes forkWord (after changing its copy) to fd and exits
// 7.
//
//go:nosplit
func rawFork(fd int) (pid uintptr, errno syscall.Errno) {
	pid, _, errno = syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 || pid != 0 {
		return pid, errno
	}
	forkWord = 2
	b := [1]byte{byte('0' + forkWord)}
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1)
	syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 7, 0, 0)
	return 0, 0
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
