// Command selfmod runs machine code that changes under it, the ways a JIT
// or a loader changes code: stored by the program itself, read() into the
// page from a pipe (the kernel writes it, not the CPU), and mapped afresh
// at the same address. Each call must run the code as it is now; it
// prints the values the calls return, "1 2 3 4" on Linux.
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// returning is machine code for a function that returns v.
func returning(v uint16) []byte {
	switch runtime.GOARCH {
	case "amd64":
		return []byte{0xb8, byte(v), byte(v >> 8), 0, 0, 0xc3} // mov eax, v; ret
	case "arm64":
		movz := uint32(0xd2800000) | uint32(v)<<5 // movz x0, #v
		ret := uint32(0xd65f03c0)
		return []byte{byte(movz), byte(movz >> 8), byte(movz >> 16), byte(movz >> 24),
			byte(ret), byte(ret >> 8), byte(ret >> 16), byte(ret >> 24)}
	}
	panic("no code for " + runtime.GOARCH)
}

// call runs the code at the start of page as a Go function (a func value
// is a pointer to a word holding the code's address).
func call(page []byte) int {
	entry := uintptr(unsafe.Pointer(&page[0]))
	fn := *(*func() int)(unsafe.Pointer(&struct{ p *uintptr }{&entry}))
	return fn()
}

func mapCode(addr uintptr) []byte {
	flags := syscall.MAP_PRIVATE | syscall.MAP_ANON
	if addr != 0 {
		flags |= syscall.MAP_FIXED
	}
	p, _, errno := syscall.Syscall6(syscall.SYS_MMAP, addr, 4096, syscall.PROT_READ|syscall.PROT_WRITE|syscall.PROT_EXEC, uintptr(flags), ^uintptr(0), 0)
	if errno != 0 {
		fmt.Println("mmap:", errno)
		os.Exit(1)
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), 4096)
}

// readInto fills b from a pipe holding code: read(2) writes the page.
func readInto(b, code []byte) {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		fmt.Println("pipe:", err)
		os.Exit(1)
	}
	if _, err := syscall.Write(fds[1], code); err != nil {
		fmt.Println("write:", err)
		os.Exit(1)
	}
	if n, err := syscall.Read(fds[0], b[:len(code)]); err != nil || n != len(code) {
		fmt.Println("read:", n, err)
		os.Exit(1)
	}
	syscall.Close(fds[0])
	syscall.Close(fds[1])
}

func main() {
	page := mapCode(0)
	copy(page, returning(1))
	a := call(page)
	readInto(page, returning(2))
	b := call(page)
	addr := uintptr(unsafe.Pointer(&page[0]))
	if _, _, errno := syscall.Syscall(syscall.SYS_MUNMAP, addr, 4096, 0); errno != 0 {
		fmt.Println("munmap:", errno)
		os.Exit(1)
	}
	page = mapCode(addr)
	readInto(page, returning(3))
	c := call(page)
	copy(page, returning(4))
	d := call(page)
	fmt.Println(a, b, c, d)
}
