// Command hog tries to make the program emulating it use host memory
// without bound, one way per argument, and stops at the first error it
// meets (the limit a real kernel would give it, too):
//
//	maps      maps and touches anonymous memory
//	filemaps  maps a file of 16 MiB (the next argument, or a new one)
//	          again and again, PROT_NONE
//	threads   starts and ends 20,000 threads
//	fds       opens /proc/self/maps until it runs out of descriptors
//	buffers   writes one 192 MiB buffer to /dev/null
//	protnone  maps memory, fills it, makes it PROT_NONE, and again
//
// It prints what it did and exits 0.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
)

const chunk = 16 << 20

func main() {
	switch os.Args[1] {
	case "maps":
		n := 0
		for ; n < 1<<16; n++ {
			b, err := syscall.Mmap(-1, 0, chunk, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
			if err != nil {
				break
			}
			touch(b)
		}
		fmt.Println("maps", n)
	case "filemaps":
		f, err := dataFile()
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		n := 0
		for ; n < 1<<16; n++ {
			if _, err := syscall.Mmap(int(f.Fd()), 0, chunk, syscall.PROT_NONE, syscall.MAP_PRIVATE); err != nil {
				break
			}
		}
		fmt.Println("filemaps", n)
	case "threads":
		for i := 0; i < 20000; i++ {
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A goroutine locked to its thread at exit takes the
				// thread with it.
				runtime.LockOSThread()
			}()
			wg.Wait()
		}
		fmt.Println("threads", 20000)
	case "fds":
		var files []*os.File
		for {
			f, err := os.Open("/proc/self/maps")
			if err != nil {
				break
			}
			files = append(files, f)
		}
		fmt.Println("fds", len(files))
	case "buffers":
		b := make([]byte, 192<<20)
		touch(b)
		f, err := os.OpenFile("/dev/null", os.O_WRONLY, 0)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		n, err := f.Write(b)
		fmt.Println("buffers", n, err)
	case "protnone":
		n := 0
		for ; n < 1<<16; n++ {
			b, err := syscall.Mmap(-1, 0, chunk, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
			if err != nil {
				break
			}
			touch(b)
			if err := syscall.Mprotect(b, syscall.PROT_NONE); err != nil {
				break
			}
		}
		fmt.Println("protnone", n)
	default:
		fmt.Println("unknown way", os.Args[1])
		os.Exit(2)
	}
}

// dataFile opens the file named by the second argument, or makes one.
func dataFile() (*os.File, error) {
	if len(os.Args) > 2 {
		return os.Open(os.Args[2])
	}
	f, err := os.CreateTemp("", "hog")
	if err != nil {
		return nil, err
	}
	_, err = f.Write(make([]byte, chunk))
	return f, err
}

// touch writes every page of b, so that it takes host memory.
func touch(b []byte) {
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
}
