package loader_test

import (
	"os"
	"testing"

	"github.com/gorunemu/gorunemu/loader/loadertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	loadertest.Cleanup()
	os.Exit(code)
}
