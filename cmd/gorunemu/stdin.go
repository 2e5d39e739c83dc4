package main

import (
	"io"
	"sync"

	"github.com/gorunemu/gorunemu/syscalls"
)

// interruptibleReader reads the host's stdin in a goroutine of its own,
// so that a guest waiting for input can be interrupted: when gorunemu
// passes on a signal, a Read that waits returns syscalls.ErrInterrupted
// (the guest's read fails with EINTR) and the run loop delivers the
// signal.
type interruptibleReader struct {
	r         io.Reader
	once      sync.Once
	chunks    chan []byte
	err       error // set before chunks closes
	interrupt chan struct{}
	rest      []byte
}

func newInterruptibleReader(r io.Reader) *interruptibleReader {
	return &interruptibleReader{r: r, chunks: make(chan []byte), interrupt: make(chan struct{}, 1)}
}

func (ir *interruptibleReader) start() {
	go func() {
		for {
			buf := make([]byte, 64<<10)
			n, err := ir.r.Read(buf)
			if n > 0 {
				ir.chunks <- buf[:n]
			}
			if err != nil {
				ir.err = err
				close(ir.chunks)
				return
			}
		}
	}()
}

// Read returns what the host has given, waiting for it unless
// interrupted.
func (ir *interruptibleReader) Read(b []byte) (int, error) {
	ir.once.Do(ir.start)
	if len(ir.rest) == 0 {
		select {
		case c, ok := <-ir.chunks:
			if !ok {
				return 0, ir.err
			}
			ir.rest = c
		case <-ir.interrupt:
			return 0, syscalls.ErrInterrupted
		}
	}
	n := copy(b, ir.rest)
	ir.rest = ir.rest[n:]
	return n, nil
}

// Interrupt makes a waiting Read (or the next one) return.
func (ir *interruptibleReader) Interrupt() {
	select {
	case ir.interrupt <- struct{}{}:
	default:
	}
}
