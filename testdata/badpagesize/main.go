// Command badpagesize doubles the runtime's physPageSize before main.main
// runs, so that gorunemu inspect has a startup invariant to see broken
// (runtime.physPageSize == AT_PAGESZ). Go 1.23 and later refuse the
// linkname into the runtime unless built with -ldflags=-checklinkname=0.
package main

import (
	"fmt"
	_ "unsafe" // for go:linkname
)

//go:linkname physPageSize runtime.physPageSize
var physPageSize uintptr

func init() { physPageSize *= 2 }

func main() { fmt.Println("physPageSize", physPageSize) }
