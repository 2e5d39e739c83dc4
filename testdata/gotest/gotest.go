// Package gotest is run by go test -exec 'gorunemu exec' in
// cmd/gorunemu's tests: its test does what tests routinely do with the
// host (testdata, t.TempDir, the environment, flags).
package gotest

// Greeting is what testdata/greeting.txt holds.
const Greeting = "hello from testdata\n"
