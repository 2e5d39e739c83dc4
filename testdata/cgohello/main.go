// Command cgohello calls C, so that it is linked with a C library: built
// with -ldflags='-linkmode=external -extldflags=-static' it is a static
// cgo binary, whose threads the C library starts (pthread_create) and
// whose g lives in the C library's TLS block (runtime.tlsg on amd64,
// runtime.tls_g on arm64).
package main

/*
static int add(int a, int b) { return a + b; }
*/
import "C"

import "fmt"

func main() { fmt.Println("hello from C:", C.add(1, 2)) }
