package loadertest_test

import (
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/loader/loadertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	loadertest.Cleanup()
	os.Exit(code)
}

func hasSymtab(t *testing.T, path string) bool {
	t.Helper()
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Symbols()
	if errors.Is(err, elf.ErrNoSymbols) {
		return false
	}
	require.NoError(t, err)
	return true
}

func TestBuild(t *testing.T) {
	for _, goarch := range []string{"amd64", "arm64"} {
		t.Run(goarch, func(t *testing.T) {
			path := loadertest.Build(t, "hello", goarch)
			assert.Equal(t, "hello", filepath.Base(path))
			f, err := elf.Open(path)
			require.NoError(t, err)
			defer f.Close()
			want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[goarch]
			assert.Equal(t, want, f.Machine)
			assert.Equal(t, elf.ET_EXEC, f.Type)
			for _, p := range f.Progs {
				assert.NotEqual(t, elf.PT_INTERP, p.Type, "CGO_ENABLED=0 gives a static file")
			}
			assert.True(t, hasSymtab(t, path))

			bi, err := buildinfo.ReadFile(path)
			require.NoError(t, err)
			settings := map[string]string{}
			for _, s := range bi.Settings {
				settings[s.Key] = s.Value
			}
			assert.Equal(t, "linux", settings["GOOS"])
			assert.Equal(t, goarch, settings["GOARCH"])
			assert.Equal(t, "0", settings["CGO_ENABLED"])
			assert.Equal(t, "true", settings["-trimpath"])
			assert.Equal(t, "github.com/gorunemu/gorunemu/testdata/hello", bi.Path)

			assert.Equal(t, path, loadertest.Build(t, "hello", goarch), "cached")
			stripped := loadertest.Build(t, "hello", goarch, loadertest.Stripped())
			assert.NotEqual(t, path, stripped)
			assert.False(t, hasSymtab(t, stripped))
		})
	}
}

func TestBuildEnvAndFlags(t *testing.T) {
	path := loadertest.Build(t, "args", "amd64", loadertest.Env("GOAMD64=v2"), loadertest.BuildFlags("-gcflags=all=-N -l"))
	bi, err := buildinfo.ReadFile(path)
	require.NoError(t, err)
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	assert.Equal(t, "v2", settings["GOAMD64"])
	assert.Equal(t, "all=-N -l", settings["-gcflags"])
	assert.NotEqual(t, path, loadertest.Build(t, "args", "amd64"))
}

func TestBuildToolchain(t *testing.T) {
	path := loadertest.Build(t, "exit", "arm64", loadertest.Toolchain("go1.21.13"))
	bi, err := buildinfo.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "go1.21.13", bi.GoVersion)
	assert.Equal(t, "fixture", bi.Path, "built from a copy with its own go.mod")
}

func TestBuildConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fixtures")
	}
	var wg sync.WaitGroup
	paths := make([]string, 8)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := run(t, func(tb testing.TB) { paths[i] = loadertest.Build(tb, "exit", "amd64", loadertest.Env("GOAMD64=v1")) })
			assert.Empty(t, r.fatal)
		}()
	}
	wg.Wait()
	for _, p := range paths {
		assert.Equal(t, paths[0], p)
	}
	fi, err := os.Stat(paths[0])
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular())
}

// recorder is a testing.TB whose Fatalf and Skip end the goroutine and
// record the message instead of failing the test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skip(args ...any) {
	r.skip = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with a recorder in its own goroutine.
func run(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestBuildErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	for _, c := range []struct {
		name string
		f    func(tb testing.TB)
		want []string
	}{
		{"bad-flag", func(tb testing.TB) {
			loadertest.Build(tb, "hello", "amd64", loadertest.BuildFlags("-gcflags=-definitely-not-a-flag"))
		},
			[]string{"loadertest: building fixture hello for amd64: ", "go build -trimpath", "GOARCH=amd64", "exit status", "definitely-not-a-flag"}},
		{"no-fixture", func(tb testing.TB) { loadertest.Build(tb, "nosuch", "amd64") },
			[]string{"loadertest: fixture \"nosuch\": no directory ", filepath.Join("testdata", "nosuch")}},
		{"bad-arch", func(tb testing.TB) { loadertest.Build(tb, "hello", "riscv64") },
			[]string{`loadertest: goarch "riscv64" is not a gorunemu guest (amd64, arm64)`}},
		{"bad-name", func(tb testing.TB) { loadertest.Build(tb, "../hello", "amd64") },
			[]string{`loadertest: fixture name "../hello" must be a directory name under testdata`}},
		{"bad-toolchain", func(tb testing.TB) { loadertest.Build(tb, "hello", "amd64", loadertest.Toolchain("1.21; rm -rf")) },
			[]string{`loadertest: toolchain "1.21; rm -rf" is not a Go release name like go1.21.13`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.f)
			require.NotEmpty(t, r.fatal)
			for _, w := range c.want {
				assert.Contains(t, r.fatal, w)
			}
			// A failed build is cached and fails again the same way.
			r2 := run(t, c.f)
			assert.Equal(t, r.fatal, r2.fatal)
		})
	}
}

func TestBuildSkips(t *testing.T) {
	short := testing.Short()
	require.NoError(t, flag.Set("test.short", "true"))
	r := run(t, func(tb testing.TB) { loadertest.Build(tb, "hello", "amd64") })
	require.NoError(t, flag.Set("test.short", fmt.Sprint(short)))
	assert.Equal(t, "loadertest: fixture builds are skipped in -short mode", r.skip)
	assert.Empty(t, r.fatal)
	if short {
		return
	}

	r = run(t, func(tb testing.TB) { loadertest.Build(tb, "hello", "amd64", loadertest.Toolchain("go1.2.999")) })
	assert.Contains(t, r.skip, "loadertest: Go toolchain go1.2.999 cannot run here")
}

func TestModuleRoot(t *testing.T) {
	root, err := loadertest.ModuleRoot()
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), "module github.com/gorunemu/gorunemu\n"))
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "loader", "loadertest"), wd)
}

func TestCleanup(t *testing.T) {
	path := loadertest.Build(t, "hello", "amd64")
	loadertest.Cleanup()
	_, err := os.Stat(path)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	again := loadertest.Build(t, "hello", "amd64")
	_, err = os.Stat(again)
	assert.NoError(t, err, "Build works again after Cleanup")
}
