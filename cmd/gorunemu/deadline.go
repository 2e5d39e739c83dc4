package main

import (
	"context"
	"io"
)

// deadlineWriter passes writes to w from a goroutine of its own, so that
// a reader that stops reading (a full pipe) cannot hold the emulation
// past ctx: a write waits for w only until ctx ends, then fails with
// ctx's error, and the run stops at its next check. Writes stay in order.
type deadlineWriter struct {
	ctx  context.Context
	reqs chan []byte
	errs chan error
}

func newDeadlineWriter(ctx context.Context, w io.Writer) io.Writer {
	if w == io.Discard || ctx.Done() == nil { // nothing to wait for
		return w
	}
	d := &deadlineWriter{ctx: ctx, reqs: make(chan []byte), errs: make(chan error, 1)}
	go func() {
		for b := range d.reqs {
			_, err := w.Write(b)
			d.errs <- err
		}
	}()
	return d
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	if err := d.ctx.Err(); err != nil {
		return 0, err
	}
	// A copy: after a timeout the goroutine may still hold it, and the
	// caller's buffer is guest memory that goes on changing.
	b := append([]byte(nil), p...)
	select {
	case d.reqs <- b:
	case <-d.ctx.Done():
		return 0, d.ctx.Err()
	}
	select {
	case err := <-d.errs:
		if err != nil {
			return 0, err
		}
		return len(p), nil
	case <-d.ctx.Done():
		return 0, d.ctx.Err()
	}
}
