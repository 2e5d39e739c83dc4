package main

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// defaultMaxTraceBytes bounds a trace's size unless --max-trace-bytes says
// otherwise: far more than a startup trace (hello to main.main with every
// instruction is about 60 MB), far less than a disk, so a trace of a
// spinning program stops before it fills one.
const defaultMaxTraceBytes = 8 << 30

// errTraceFull is the error a bounded trace output returns once the bound
// is reached; the run stops with it.
var errTraceFull = errors.New("trace size limit reached")

// limitWriter passes writes on until max bytes have been written, then
// fails them with errTraceFull. max 0 is no limit.
type limitWriter struct {
	w       io.Writer
	max, n  uint64
	reached bool
}

func (l *limitWriter) Write(b []byte) (int, error) {
	if l.max != 0 && l.n+uint64(len(b)) > l.max {
		l.reached = true
		return 0, errTraceFull
	}
	n, err := l.w.Write(b)
	l.n += uint64(n)
	return n, err
}

// traceOutput is where a trace goes: the destination, compressed when
// the file name asks for it (.gz or .zst), behind a bound on the trace's
// own (uncompressed) size, so that a stopped trace is still a whole,
// readable stream.
type traceOutput struct {
	*limitWriter
	close func() error // flushes the compressor; nil without one
}

func newTraceOutput(dst io.Writer, name string, max uint64) (*traceOutput, error) {
	out := &traceOutput{}
	switch {
	case strings.HasSuffix(name, ".gz"):
		zw := gzip.NewWriter(dst)
		dst, out.close = zw, zw.Close
	case strings.HasSuffix(name, ".zst"):
		zw, err := zstd.NewWriter(dst)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		dst, out.close = zw, zw.Close
	}
	out.limitWriter = &limitWriter{w: dst, max: max}
	return out, nil
}

// Close flushes a compressor.
func (o *traceOutput) Close() error {
	if o.close == nil {
		return nil
	}
	return o.close()
}
