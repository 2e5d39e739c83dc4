package loadertest_test

import (
	"debug/buildinfo"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/loader/loadertest"
)

func TestBuildToolchainModulePath(t *testing.T) {
	path := loadertest.Build(t, "exit", "amd64", loadertest.Toolchain("go1.21.13"), loadertest.ModulePath("gorunemu.test/fixture"))
	bi, err := buildinfo.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "go1.21.13", bi.GoVersion)
	assert.Equal(t, "gorunemu.test/fixture", bi.Path)
	assert.Equal(t, "gorunemu.test/fixture", bi.Main.Path)
}
