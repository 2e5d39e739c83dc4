package main

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDefaultLimitsDependOnStop checks that a run to exit has no
// instruction or wall-clock limit unless asked, while startup keeps them.
func TestDefaultLimitsDependOnStop(t *testing.T) {
	parse := func(args ...string) limits {
		t.Helper()
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var o runOptions
		o.register(fs)
		require.NoError(t, fs.Parse(args))
		return o.limits()
	}
	assert.Equal(t, startupLimits, parse())
	assert.Equal(t, startupLimits, parse("--until", "runtime.main"))
	exit := parse("--until", "exit")
	assert.Equal(t, programLimits, exit)
	assert.Zero(t, exit.insns, "no instruction limit to exit")
	assert.Zero(t, exit.timeout, "no wall-clock limit to exit")

	given := parse("--until", "exit", "--max-insns", "1000", "--timeout", "2s", "--max-mem", "0x100000", "--max-threads", "5")
	assert.Equal(t, limits{insns: 1000, mem: 1 << 20, threads: 5, timeout: 2 * time.Second}, given)
	assert.Equal(t, time.Duration(0), parse("--timeout", "0").timeout, "0 is none, also to a symbol")
	assert.Zero(t, parse("--max-insns", "0").insns)

	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o runOptions
	o.register(fs)
	assert.Error(t, fs.Parse([]string{"--timeout", "-1s"}))
	assert.Error(t, fs.Parse([]string{"--max-insns", "many"}))
	assert.ErrorContains(t, fs.Parse([]string{"--max-threads", "-5"}), "want a positive integer")
	assert.ErrorContains(t, fs.Parse([]string{"--max-threads", "0"}), "want a positive integer", "a limit of no threads is no run")
	assert.ErrorContains(t, fs.Parse([]string{"--fs-root", "limits_test.go"}), "not a directory")
	assert.ErrorContains(t, fs.Parse([]string{"--fs-root", "no-such-dir"}), "no such file")
	assert.Zero(t, parse("--max-mem", "0").mem, "0 is none, as the help says")
}
