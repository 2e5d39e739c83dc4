package goruntime_test

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// matrixEnv turns on TestVersionMatrix; .ci/run sets it. Each toolchain
// is a download and a standard library to compile per arch the first
// time, so it is off for everyday go test runs.
const matrixEnv = "GORUNEMU_MATRIX"

// oldestGo is the first Go minor release gorunemu supports.
const oldestGo = 17

// matrixModule is the module path of the fixture copies old toolchains
// build: go1.19.13 cannot build a module whose path has no dot.
const matrixModule = "gorunemu.test/fixture"

// matrixRow is one emulation of the matrix.
type matrixRow struct {
	version  string
	goarch   string
	stripped bool
	insns    uint64
	threads  int
	result   string
}

// TestVersionMatrix builds hello with the latest patch release of every
// Go minor version from go1.17 to the installed one, for amd64 and arm64,
// stripped and not, runs each to main.main and requires every startup
// check to pass. It also checks the offset table against each release's
// DWARF, and rt0_go's decoded g0 and m0 against its symbols.
func TestVersionMatrix(t *testing.T) {
	if os.Getenv(matrixEnv) == "" {
		t.Skipf("set %s=1 to build hello with every Go release from go1.%d (.ci/run does)", matrixEnv, oldestGo)
	}
	if testing.Short() {
		t.Skip("the version matrix builds fixtures")
	}
	local := goEnv(t, "GOVERSION")
	versions := latestPatches(t, local)
	t.Logf("Go releases: %s", strings.Join(versions, " "))

	var mu sync.Mutex
	var rows []matrixRow
	t.Run("run", func(t *testing.T) {
		for _, v := range versions {
			var opts []loadertest.Option
			if v != local {
				requireToolchain(t, v)
				opts = append(opts, loadertest.Toolchain(v), loadertest.ModulePath(matrixModule))
			}
			for _, a := range arch.All() {
				for _, stripped := range []bool{false, true} {
					name := fmt.Sprintf("%s/%s/stripped=%v", v, a.Name, stripped)
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						row := matrixRow{version: v, goarch: a.Name, stripped: stripped, result: "FAIL"}
						defer func() {
							if t.Skipped() {
								row.result = "skip"
							}
							mu.Lock()
							rows = append(rows, row)
							mu.Unlock()
						}()
						matrixRun(t, v, a, stripped, opts, &row)
						if !t.Failed() {
							row.result = "pass"
						}
					})
				}
			}
		}
	})

	order := map[string]int{}
	for i, v := range versions {
		order[v] = i
	}
	slices.SortFunc(rows, func(x, y matrixRow) int {
		return cmp.Or(cmp.Compare(order[x.version], order[y.version]), cmp.Compare(x.goarch, y.goarch),
			cmp.Compare(strconv.FormatBool(x.stripped), strconv.FormatBool(y.stripped)))
	})
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "version\tarch\tstripped\tinsns to main.main\tthreads\tresult\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%d\t%d\t%s\t\n", r.version, r.goarch, r.stripped, r.insns, r.threads, r.result)
	}
	require.NoError(t, tw.Flush())
	t.Logf("version matrix:\n%s", b.String())
	assert.Len(t, rows, len(versions)*2*2)
}

// matrixRun emulates one build and checks it.
func matrixRun(t *testing.T, version string, a *arch.Arch, stripped bool, opts []loadertest.Option, row *matrixRow) {
	full := loadertest.Build(t, "hello", a.Name, opts...)
	bin := full
	if stripped {
		bin = loadertest.Build(t, "hello", a.Name, append(opts, loadertest.Stripped())...)
	}
	symbols, err := loader.Open(full)
	require.NoError(t, err)
	require.Equal(t, version, symbols.GoVersion)
	mainMain, ok := symbols.Lookup("main.main")
	require.True(t, ok)

	p, err := emu.Open(bin, emu.Config{})
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close()) }()
	r, err := p.Run(t.Context(), emu.UntilSymbol("main.main"))
	require.NoError(t, err)
	require.Equal(t, emu.StopUntil, r.Kind, "stop: %s", r)
	require.Equal(t, mainMain, r.PC)
	s := read(t, p)
	row.insns, row.threads = s.Insns, p.Stats().Threads

	assert.Equal(t, version, s.GoVersion)
	table, err := goruntime.TableOffsets(version)
	require.NoError(t, err)
	g0Sym, ok := symbols.Lookup("runtime.g0")
	require.True(t, ok)
	m0Sym, ok := symbols.Lookup("runtime.m0")
	require.True(t, ok)
	if stripped {
		assert.True(t, s.Stripped)
		assert.Contains(t, s.OffsetsFrom, "table")
		assert.Equal(t, "runtime.rt0_go code", s.G0.Addr.From, s.G0.Addr.Why)
		assert.Equal(t, "runtime.rt0_go code", s.M0.Addr.From, s.M0.Addr.Why)
	} else {
		assert.Equal(t, "DWARF", s.OffsetsFrom)
		assert.Equal(t, table, s.Offsets, "the offset table for %s against its DWARF", version)
		assert.Equal(t, "runtime.g0", s.G0.Addr.From)
	}
	assert.Equal(t, goruntime.Addr(g0Sym), val(t, "&g0", s.G0.Addr))
	assert.Equal(t, goruntime.Addr(m0Sym), val(t, "&m0", s.M0.Addr))

	lo, hi := val(t, "g0.stack.lo", s.G0.StackLo), val(t, "g0.stack.hi", s.G0.StackHi)
	minor := goMinor(t, version)
	size := goruntime.Addr(0x10000)
	if a == arch.AMD64 && minor <= 20 {
		size = 0xff98
	}
	assert.Equal(t, size, hi-lo)
	assert.Equal(t, s.EntrySP-48, hi)
	assert.Equal(t, lo+928, val(t, "g0.stackguard0", s.G0.StackGuard0))
	assert.GreaterOrEqual(t, len(s.Threads), 3)

	results := goruntime.Evaluate(s)
	passed := 0
	for _, res := range results {
		assert.NotEqual(t, goruntime.Fail, res.Status, "%s", res)
		if res.Status == goruntime.Pass {
			passed++
		}
	}
	assert.GreaterOrEqual(t, passed, 4+4*len(s.Threads)-1, "checks that passed")
	assert.Empty(t, goruntime.Check(s))
}

// goMinor returns 21 for go1.21.13.
func goMinor(t *testing.T, version string) int {
	t.Helper()
	m := regexp.MustCompile(`^go1\.(\d+)`).FindStringSubmatch(version)
	require.NotNil(t, m, "Go version %q", version)
	minor, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return minor
}

// goEnv returns a go env variable of the go command on PATH.
func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	require.NoError(t, err, "go env %s", key)
	return strings.TrimSpace(string(out))
}

// toolchainRE matches the module proxy's golang.org/toolchain versions of
// a release (no rc or beta) for the host: v0.0.1-go1.21.13.linux-amd64,
// or v0.0.1-go1.20.linux-amd64 for a .0 before Go 1.21.
var toolchainRE = regexp.MustCompile(`^v0\.0\.1-go1\.(\d+)(?:\.(\d+))?\.` + runtime.GOOS + `-` + runtime.GOARCH + `$`)

// latestPatches asks the module proxy which Go releases exist and returns
// the latest patch of each minor version from go1.17 up to, and ending
// with, the installed local version.
func latestPatches(t *testing.T, local string) []string {
	t.Helper()
	localMinor := goMinor(t, local)
	cmd := exec.Command("go", "list", "-m", "-versions", "golang.org/toolchain")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GO111MODULE=on")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "asking the module proxy for Go releases (the matrix needs it): %s", out)
	latest := map[int]int{}
	for _, f := range strings.Fields(string(out)) {
		m := toolchainRE.FindStringSubmatch(f)
		if m == nil {
			continue
		}
		minor, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		patch, err := strconv.Atoi(cmp.Or(m[2], "0"))
		require.NoError(t, err)
		if p, ok := latest[minor]; !ok || patch > p {
			latest[minor] = patch
		}
	}
	var versions []string
	for minor := oldestGo; minor < localMinor; minor++ {
		patch, ok := latest[minor]
		require.True(t, ok, "the module proxy lists no go1.%d release for %s/%s", minor, runtime.GOOS, runtime.GOARCH)
		v := fmt.Sprintf("go1.%d.%d", minor, patch)
		if minor <= 20 && patch == 0 {
			v = fmt.Sprintf("go1.%d", minor)
		}
		versions = append(versions, v)
	}
	return append(versions, local)
}

// requireToolchain fails the test unless the go command can run the
// release (fetching it into the module cache the first time).
func requireToolchain(t *testing.T, version string) {
	t.Helper()
	cmd := exec.Command("go", "version")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOENV=off", "GOFLAGS=", "GOTOOLCHAIN="+version)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "running %s: %s", version, out)
	require.Contains(t, string(out), version+" ", "go version with GOTOOLCHAIN=%s", version)
}

// TestCgoVersionMatrix builds cgohello with cgo, dynamically linked, with
// the oldest and the newest Go gorunemu supports, for amd64 and arm64,
// and requires it to start through the dynamic loader, pass every check
// at main.main and print what it prints natively.
func TestCgoVersionMatrix(t *testing.T) {
	if os.Getenv(matrixEnv) == "" {
		t.Skipf("set %s=1 to build cgo fixtures with the oldest and newest Go (.ci/run does)", matrixEnv)
	}
	if testing.Short() {
		t.Skip("the version matrix builds fixtures")
	}
	local := goEnv(t, "GOVERSION")
	versions := latestPatches(t, local)
	for _, v := range []string{versions[0], local} {
		opts := []loadertest.Option{loadertest.Cgo()}
		if v != local {
			requireToolchain(t, v)
			opts = append(opts, loadertest.Toolchain(v), loadertest.ModulePath(matrixModule))
		}
		for _, a := range arch.All() {
			t.Run(v+"/"+a.Name, func(t *testing.T) {
				t.Parallel()
				bin := loadertest.Build(t, "cgohello", a.Name, opts...)
				var out strings.Builder
				p, err := emu.Open(bin, emu.Config{Stdout: &out})
				require.NoError(t, err)
				defer func() { require.NoError(t, p.Close()) }()
				require.NotNil(t, p.Interpreter(), "started through the dynamic loader")
				r, err := p.Run(t.Context(), emu.UntilSymbol("main.main"))
				require.NoError(t, err)
				require.Equal(t, emu.StopUntil, r.Kind, "stop: %s", r)
				s := read(t, p)
				assert.Equal(t, v, s.GoVersion)
				assert.True(t, s.CTLS, "the C library's thread pointer")
				for _, res := range goruntime.Evaluate(s) {
					assert.NotEqual(t, goruntime.Fail, res.Status, "%s", res)
				}
				r, err = p.Run(t.Context(), emu.UntilExit())
				require.NoError(t, err)
				assert.Equal(t, emu.StopExited, r.Kind, "%s", r)
				assert.Equal(t, "hello from C: 3\n", out.String())
			})
		}
	}
}
