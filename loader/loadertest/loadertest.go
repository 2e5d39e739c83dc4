// Package loadertest builds the fixture programs under testdata/ for tests,
// for either guest arch, on any host.
//
// A fixture is a main package in testdata/<name> at the module root
// (testdata/hello, testdata/exit, testdata/args). Build compiles it with
// GOOS=linux, the requested GOARCH and CGO_ENABLED=0, caches the binary
// for the life of the test binary, and returns its path:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		loadertest.Cleanup()
//		os.Exit(code)
//	}
//
//	func TestHello(t *testing.T) {
//		for _, goarch := range []string{"amd64", "arm64"} {
//			t.Run(goarch, func(t *testing.T) {
//				bin := loadertest.Build(t, "hello", goarch)
//				stripped := loadertest.Build(t, "hello", goarch, loadertest.Stripped())
//				old := loadertest.Build(t, "hello", goarch, loadertest.Toolchain("go1.21.13"))
//				...
//			})
//		}
//	}
//
// Builds are skipped (t.Skip) under go test -short, when no go command is
// on PATH, and when a Toolchain cannot be run (not in the module cache and
// no network).
package loadertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Option changes how Build compiles a fixture.
type Option func(*config)

type config struct {
	stripped  bool
	cgo       bool // with cgo and the C compiler for the arch
	staticCgo bool // and linked static
	toolchain string
	module    string
	flags     []string
	env       []string
}

// Stripped builds with -ldflags='-s -w': no ELF symbol table, no DWARF.
func Stripped() Option { return func(c *config) { c.stripped = true } }

// Toolchain builds with another Go release, such as "go1.21.13", which the
// go command fetches through the module proxy (GOTOOLCHAIN) the first time.
// The fixture's files are copied to a directory with their own go.mod
// (module fixture, go 1.17), since old releases cannot read the project's
// go.mod, and the build runs with GOENV=off and an empty GOFLAGS, since
// they reject settings a newer go env file may hold.
func Toolchain(version string) Option { return func(c *config) { c.toolchain = version } }

// ModulePath names the module of the go.mod a Toolchain build writes
// (default "fixture"). Some releases fetched as toolchains, go1.19.13 for
// one, fail with "import of unknown directory" on a module path without
// a dot (golang/go#61873): give them one, such as "gorunemu.test/fixture".
func ModulePath(path string) Option { return func(c *config) { c.module = path } }

// StaticCgo builds with cgo, the C compiler for the fixture's arch
// (x86_64-linux-gnu-gcc, aarch64-linux-gnu-gcc, which make test-deps
// installs) and the external linker making a static executable with the C
// library in it: -ldflags='-linkmode=external -extldflags=-static', with
// -s -w as well when Stripped.
func StaticCgo() Option { return func(c *config) { c.cgo, c.staticCgo = true, true } }

// Cgo builds with cgo and the C compiler for the fixture's arch, linked
// as go build links by default with a C compiler: dynamically, against
// the C library, with the dynamic loader as the ELF interpreter.
func Cgo() Option { return func(c *config) { c.cgo = true } }

// cCompilers are the C compilers StaticCgo uses, by GOARCH.
var cCompilers = map[string]string{"amd64": "x86_64-linux-gnu-gcc", "arm64": "aarch64-linux-gnu-gcc"}

// BuildFlags adds flags to the go build command line, such as
// "-gcflags=all=-N -l". They come after the -ldflags Stripped adds, so an
// -ldflags here replaces it.
func BuildFlags(flags ...string) Option {
	return func(c *config) { c.flags = append(c.flags, flags...) }
}

// Env adds KEY=value settings to the build's environment, such as
// "GOAMD64=v2" or "GOARM64=v8.1". They override the defaults Build sets.
func Env(kv ...string) Option {
	return func(c *config) { c.env = append(c.env, kv...) }
}

var toolchainRE = regexp.MustCompile(`^go1\.[0-9]+(\.[0-9]+|rc[0-9]+)?$`)

// build is one cached build; done is closed when path or err is set.
type build struct {
	done chan struct{}
	path string
	err  error
}

var (
	mu     sync.Mutex
	dir    string            // the cache directory, created on first use
	builds map[string]*build // by key
)

// Build compiles testdata/<name> for linux/<goarch> and returns the path of
// the executable. Builds with the same name, goarch and options happen
// once per test binary, even when parallel tests ask at the same time; a
// failed build fails every test that asks for it, with the go command's
// output.
func Build(t testing.TB, name, goarch string, opts ...Option) string {
	t.Helper()
	if testing.Short() {
		t.Skip("loadertest: fixture builds are skipped in -short mode")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("loadertest: no go command to build fixtures with: %v", err)
	}
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.toolchain != "" && !toolchainRE.MatchString(c.toolchain) {
		t.Fatalf("loadertest: toolchain %q is not a Go release name like go1.21.13", c.toolchain)
	}
	if name == "" || strings.ContainsAny(name, `/\.`) {
		t.Fatalf("loadertest: fixture name %q must be a directory name under testdata", name)
	}
	if goarch != "amd64" && goarch != "arm64" {
		t.Fatalf("loadertest: goarch %q is not a gorunemu guest (amd64, arm64)", goarch)
	}

	if c.cgo {
		if _, err := exec.LookPath(cCompilers[goarch]); err != nil {
			t.Fatalf("loadertest: %s is needed to link a cgo fixture for %s: run make test-deps (%v)", cCompilers[goarch], goarch, err)
		}
	}
	if c.toolchain != "" {
		if err := toolchainAvailable(goCmd, c.toolchain); err != nil {
			t.Skipf("loadertest: Go toolchain %s cannot run here (offline, no module cache?): %v", c.toolchain, err)
		}
	}

	key := strings.Join([]string{
		name, goarch, c.toolchain, c.module, fmt.Sprint(c.stripped), fmt.Sprint(c.cgo), fmt.Sprint(c.staticCgo),
		strings.Join(c.flags, "\x00"), strings.Join(c.env, "\x00"),
	}, "\x01")

	mu.Lock()
	if builds == nil {
		builds = make(map[string]*build)
	}
	b, ok := builds[key]
	if !ok {
		b = &build{done: make(chan struct{})}
		builds[key] = b
	}
	mu.Unlock()

	if !ok {
		b.path, b.err = run(goCmd, key, name, goarch, &c)
		close(b.done)
	}
	<-b.done
	if b.err != nil {
		t.Fatalf("loadertest: %v", b.err)
	}
	return b.path
}

var (
	probeMu sync.Mutex
	probes  = map[string]error{} // toolchain version → go version failure
)

// toolchainAvailable runs "go version" with GOTOOLCHAIN=version once per
// version, which fetches the toolchain if it is not in the module cache.
func toolchainAvailable(goCmd, version string) error {
	probeMu.Lock()
	defer probeMu.Unlock()
	if err, ok := probes[version]; ok {
		return err
	}
	cmd := exec.Command(goCmd, "version")
	cmd.Dir = os.TempDir()
	cmd.Env = append(filterEnv(true), "GOENV=off", "GOFLAGS=", "GOTOOLCHAIN="+version)
	out, err := cmd.CombinedOutput()
	if err == nil && !strings.Contains(string(out), version+" ") {
		err = fmt.Errorf("go version says %q", strings.TrimSpace(string(out)))
	}
	if err != nil {
		err = fmt.Errorf("%w\n%s", err, out)
	}
	probes[version] = err
	return err
}

// filterEnv returns the environment without the settings Build chooses;
// for another toolchain, also without those of the local go command.
func filterEnv(otherToolchain bool) []string {
	env := make([]string, 0, len(os.Environ())+8)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOOS", "GOARCH", "CGO_ENABLED":
			continue
		case "GOROOT", "GOENV", "GOFLAGS", "GOTOOLCHAIN":
			if otherToolchain {
				continue
			}
		}
		env = append(env, kv)
	}
	return env
}

// Cleanup removes every fixture built so far. Call it from TestMain after
// m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(os.Stderr, "loadertest: %v\n", err)
		}
	}
	dir = ""
	builds = nil
}

// cacheDir returns the cache directory, creating it on first use.
func cacheDir() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if dir == "" {
		d, err := os.MkdirTemp("", "gorunemu-fixtures-")
		if err != nil {
			return "", err
		}
		dir = d
	}
	return dir, nil
}

// ModuleRoot returns the directory holding the go.mod of the module the
// test runs in, found by walking up from the working directory.
func ModuleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; {
		if fi, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && !fi.IsDir() {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod in %s or any parent", wd)
		}
		d = parent
	}
}

// run performs one build.
func run(goCmd, key, name, goarch string, c *config) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	src := filepath.Join(root, "testdata", name)
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("fixture %q: no directory %s", name, src)
	}
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(key))
	out := filepath.Join(cache, name+"-"+goarch+"-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(out, name)

	args := []string{"build", "-trimpath", "-o", bin}
	ldflags := ""
	if c.stripped {
		ldflags = "-s -w"
	}
	if c.staticCgo {
		ldflags = strings.TrimSpace(ldflags + " -linkmode=external -extldflags=-static")
	}
	if ldflags != "" {
		args = append(args, "-ldflags="+ldflags)
	}
	args = append(args, c.flags...)
	env := append(filterEnv(c.toolchain != ""), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if c.cgo {
		env = append(env, "CGO_ENABLED=1", "CC="+cCompilers[goarch])
	}

	cmd := exec.Command(goCmd)
	if c.toolchain == "" {
		// A fixture is the same binary whether or not the checkout is a
		// VCS repository (and whatever the go env file says): golden
		// traces hold its addresses. Old toolchains build a copy outside
		// the checkout, and go1.17 does not know the flag.
		args = append(args, "-buildvcs=false", "./testdata/"+name)
		cmd.Dir = root
	} else {
		work := filepath.Join(out, "src")
		if err := copyFixture(src, work, c.module); err != nil {
			return "", err
		}
		args = append(args, ".")
		cmd.Dir = work
		env = append(env, "GOENV=off", "GOFLAGS=", "GOTOOLCHAIN="+c.toolchain)
	}
	env = append(env, c.env...)
	cmd.Args = append(cmd.Args, args...)
	cmd.Env = env
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building fixture %s for %s: %s (in %s, with %s): %w\n%s",
			name, goarch, strings.Join(cmd.Args, " "), cmd.Dir, strings.Join(chosenEnv(c, goarch), " "), err, output.Bytes())
	}
	if fi, err := os.Stat(bin); err != nil || fi.Size() == 0 {
		return "", fmt.Errorf("building fixture %s for %s: go build wrote no %s\n%s", name, goarch, bin, output.Bytes())
	}
	return bin, nil
}

// chosenEnv returns the environment settings Build made, for messages.
func chosenEnv(c *config, goarch string) []string {
	env := []string{"GOOS=linux", "GOARCH=" + goarch, "CGO_ENABLED=0"}
	if c.cgo {
		env = append(env, "CGO_ENABLED=1", "CC="+cCompilers[goarch])
	}
	if c.toolchain != "" {
		env = append(env, "GOENV=off", "GOFLAGS=", "GOTOOLCHAIN="+c.toolchain)
	}
	return append(env, c.env...)
}

// copyFixture copies the .go files of a fixture (not its tests) into work
// and writes a go.mod an old toolchain can read.
func copyFixture(src, work, module string) error {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(work, name), b, 0o644); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return errors.New("fixture " + src + " has no .go files")
	}
	if module == "" {
		module = "fixture"
	}
	return os.WriteFile(filepath.Join(work, "go.mod"), []byte("module "+module+"\n\ngo 1.17\n"), 0o644)
}
