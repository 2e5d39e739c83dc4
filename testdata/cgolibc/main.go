// Command cgolibc uses the C library the way Go programs commonly do
// through cgo: a C call, os/user's lookup through getpwuid_r, and the
// net package's cgo resolver (getaddrinfo), which read /etc/passwd,
// /etc/nsswitch.conf and /etc/hosts; then it names the files it has
// mapped. Built dynamically linked (the
// default with a C compiler), it exercises the dynamic loader, libc's
// TLS and threads, and its file reads; its output is the same natively,
// under qemu-user and under gorunemu.
package main

/*
#include <stdlib.h>
#include <string.h>

static char *greet(const char *who) {
	char *s = malloc(strlen(who) + 8);
	strcpy(s, "hello, ");
	strcat(s, who);
	return s;
}
*/
import "C"

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/user"
	"path"
	"sort"
	"strings"
	"unsafe"
)

func main() {
	who := C.CString("libc")
	s := C.greet(who)
	fmt.Println(C.GoString(s))
	C.free(unsafe.Pointer(s))
	C.free(unsafe.Pointer(who))

	if u, err := user.LookupId("0"); err != nil {
		fmt.Println("user 0:", err)
	} else {
		fmt.Println("user 0:", u.Username, u.HomeDir)
	}

	r := &net.Resolver{PreferGo: false}
	addrs, err := r.LookupHost(context.Background(), "localhost")
	if err != nil {
		fmt.Println("localhost:", err)
	} else {
		fmt.Println("localhost:", addrs)
	}

	// The files mapped: the executable, the dynamic loader and libc.
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		fmt.Println("maps:", err)
	}
	seen := map[string]bool{}
	var files []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 6 && strings.HasPrefix(f[5], "/") && !seen[path.Base(f[5])] {
			seen[path.Base(f[5])] = true
			files = append(files, path.Base(f[5]))
		}
	}
	sort.Strings(files)
	fmt.Println("mapped:", strings.Join(files, " "))
	os.Exit(3)
}
