// Command cgothreads starts threads from C with pthread_create, each
// calling back into Go: the runtime adopts threads it did not make
// (needm, cgocallback), on the C library's TLS and clone flags. It prints
// how many ran and what they sent, sorted.
package main

/*
#include <pthread.h>
#include <stdint.h>

extern void goCallback(int);

static void *worker(void *arg) {
	goCallback((int)(intptr_t)arg);
	return 0;
}

static int run(int n) {
	pthread_t t[8];
	for (int i = 0; i < n; i++) {
		if (pthread_create(&t[i], 0, worker, (void *)(intptr_t)i) != 0) return -1;
	}
	for (int i = 0; i < n; i++) pthread_join(t[i], 0);
	return n;
}
*/
import "C"

import (
	"fmt"
	"sort"
	"sync"
)

var (
	mu   sync.Mutex
	seen []int
)

//export goCallback
func goCallback(i C.int) {
	mu.Lock()
	seen = append(seen, int(i)*int(i))
	mu.Unlock()
}

func main() {
	n := C.run(8)
	sort.Ints(seen)
	fmt.Println("threads:", n, "squares:", seen)
}
