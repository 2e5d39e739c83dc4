// Command fault makes the fault its first argument names: nil (a nil
// pointer dereference), ud (an undefined instruction), jump (a call to an
// unmapped address), text (a store into its own code), mid (a load from
// address 16 in the middle of a straight run of instructions) or recover
// (three nil dereferences, each recovered, then exit 0).
package main

import (
	"fmt"
	"os"
	"reflect"
	"unsafe"
)

// ud executes an undefined instruction (ud_*.s).
func ud()

// mid loads from address 16 as its third instruction (ud_*.s).
func mid()

type point struct{ x, y int }

//go:noinline
func deref(p *point) int { return p.y }

func main() {
	what := "nil"
	if len(os.Args) > 1 {
		what = os.Args[1]
	}
	fmt.Println("fault:", what)
	switch what {
	case "nil":
		fmt.Println(deref(nil))
	case "ud":
		ud()
	case "mid":
		mid()
	case "recover":
		for range 3 {
			func() {
				defer func() { fmt.Println("recovered:", recover()) }()
				fmt.Println(deref(nil))
			}()
		}
	case "jump":
		fv := &struct{ pc uintptr }{0xdead0000}
		f := *(*func())(unsafe.Pointer(&fv))
		f()
	case "text":
		code := (*byte)(unsafe.Pointer(reflect.ValueOf(main).Pointer()))
		*code = 0xcc
	}
}
