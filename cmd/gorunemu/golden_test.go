package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

var update = flag.Bool("update", false, "rewrite the golden traces in testdata/golden")

// goldenHeader matches a trace's first line; the path is normalised away.
var goldenHeader = regexp.MustCompile(`^# gorunemu trace (\S+) (\S+) (\S+)\n`)

// TestGoldenTraces compares the milestone and syscall traces of the hello
// fixture with testdata/golden/hello.<arch>.<level>.trace. They are exact
// for one Go release (named in the header): with another, rerun with
// -update.
func TestGoldenTraces(t *testing.T) {
	levels := map[string][]string{
		"milestones": nil,
		"syscalls":   {"--milestones=false", "--syscalls"},
	}
	for _, a := range arch.All() {
		for level, flags := range levels {
			t.Run(a.Name+"/"+level, func(t *testing.T) {
				bin := loadertest.Build(t, "hello", a.Name)
				args := append(append([]string{"trace"}, flags...), bin)
				code, out, errOut := gorunemu(args...)
				require.Equal(t, exitOK, code, errOut)
				m := goldenHeader.FindStringSubmatch(out)
				require.NotNil(t, m, "header of %q", out)
				got := strings.Replace(out, m[0], "# gorunemu trace hello "+m[2]+" "+m[3]+"\n", 1)

				file := filepath.Join("testdata", "golden", "hello."+a.Name+"."+level+".trace")
				if *update {
					require.NoError(t, os.WriteFile(file, []byte(got), 0o644))
					return
				}
				want, err := os.ReadFile(file)
				require.NoError(t, err, "rerun with -update to create it")
				wm := goldenHeader.FindStringSubmatch(string(want))
				require.NotNil(t, wm, "golden header")
				if wm[3] != m[3] {
					t.Skipf("golden made with %s, this toolchain builds %s: rerun with -update", wm[3], m[3])
				}
				assert.Equal(t, string(want), got)
			})
		}
	}
}
