package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gorunemu/gorunemu/emu"
)

// exec runs a program to exit the way qemu-user does, as a drop-in for
// go test -exec and go run -exec: the host's working directory,
// environment and standard streams, the guest's exit status as gorunemu's.
// The guest reads the host's files, never writes them: /tmp (and $TMPDIR)
// are in-memory filesystems that vanish with the run.

// killSelf ends gorunemu by signal sig, as the guest ended; main sets it,
// tests leave it nil and see 128+sig.
var killSelf func(sig int)

// stdin is what exec gives the guest as fd 0; tests replace it.
var stdin io.Reader = os.Stdin

// hostSetup is the part of the host that exec hands to the guest.
type hostSetup struct {
	cwd     string   // the working directory, as the guest names it
	env     []string // the environment after --env
	tmpfs   []string // in-memory mounts: /tmp and $TMPDIR
	exePath string   // the executable, as the guest names it
	rw      []string // the --rw directories, as the guest names them
}

// setupHost works out what the guest sees of the host: exe is the
// binary's host path, root the --fs-root directory ("/" by default).
func setupHost(exe, root string, extraEnv, rw []string) (hostSetup, error) {
	var h hostSetup
	cwd, err := os.Getwd()
	if err != nil {
		return h, fmt.Errorf("working directory: %w", err)
	}
	absExe, err := filepath.Abs(exe)
	if err != nil {
		return h, err
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return h, err
	}
	// guestPath names a host path as the guest sees it, or "" if it is
	// outside the root.
	guestPath := func(p string) string {
		rel, err := filepath.Rel(absRoot, p)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return ""
		}
		return path.Clean("/" + filepath.ToSlash(rel))
	}
	h.cwd = guestPath(cwd)
	if h.cwd == "" {
		h.cwd = "/"
	}
	h.exePath = guestPath(absExe)
	if h.exePath == "" {
		h.exePath = "/" + filepath.Base(absExe)
	}
	h.env = mergeEnv(os.Environ(), extraEnv)
	for _, d := range rw {
		abs, err := filepath.Abs(d)
		if err != nil {
			return h, err
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return h, fmt.Errorf("--rw %s: not a directory", d)
		}
		g := guestPath(abs)
		if g == "" {
			return h, fmt.Errorf("--rw %s: outside --fs-root %s", d, root)
		}
		h.rw = append(h.rw, g)
	}
	h.tmpfs = []string{"/tmp"}
	for _, kv := range h.env {
		if v, ok := strings.CutPrefix(kv, "TMPDIR="); ok && path.IsAbs(v) {
			if p := path.Clean(v); p != "/" && p != "/tmp" {
				h.tmpfs = append(h.tmpfs, p)
			}
		}
	}
	sort.Slice(h.tmpfs, func(i, j int) bool { return len(h.tmpfs[i]) < len(h.tmpfs[j]) })
	// A temporary directory the user made writable is the host's.
	h.tmpfs = slices.DeleteFunc(h.tmpfs, func(t string) bool {
		return slices.ContainsFunc(h.rw, func(d string) bool { return t == d || strings.HasPrefix(t, d+"/") || d == "/" })
	})
	return h, nil
}

// testOutputFlags are the go test flags that name where a test binary
// writes its results: directories, or files (whose directory it writes).
var testOutputFlags = map[string]bool{
	"test.outputdir": true, "test.gocoverdir": true,
	"test.coverprofile": false, "test.cpuprofile": false, "test.memprofile": false,
	"test.blockprofile": false, "test.mutexprofile": false, "test.trace": false,
}

// testOutputDirs returns the host directories that go test's output
// flags among a test binary's arguments ask it to write (go test
// -coverprofile and -cover pass them, under go's own work directory), so
// that exec lets it: the user asked for those files. Relative files are
// under -test.outputdir, which is in the list itself.
func testOutputDirs(args []string) []string {
	var dirs []string
	for i := 0; i < len(args); i++ {
		name, ok := flagName(args[i])
		isDir, known := testOutputFlags[name]
		if !ok || !known {
			continue
		}
		_, v, hasValue := strings.Cut(args[i], "=")
		if !hasValue {
			if i+1 >= len(args) {
				break
			}
			i++
			v = args[i]
		}
		if !isDir {
			if !filepath.IsAbs(v) {
				continue
			}
			v = filepath.Dir(v)
		}
		if fi, err := os.Stat(v); err == nil && fi.IsDir() {
			dirs = append(dirs, v)
		}
	}
	return dirs
}

// mergeEnv returns base with each KEY=VALUE of extra set, replacing the
// same key.
func mergeEnv(base, extra []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range extra {
		key, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range out {
			if k, _, _ := strings.Cut(old, "="); k == key {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

func execCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("exec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o runOptions
	o.register(fs)
	o.until = "exit"
	fs.Lookup("until").DefValue = "exit"
	fs.Lookup("env").Usage = "set or replace an environment variable `KEY=VALUE` for the guest (repeatable; the guest starts with gorunemu's environment)"
	fs.Lookup("fs-root").Usage = "the host `DIR` the guest sees, read-only, as its root filesystem"
	o.fsRoot = "/"
	fs.Lookup("fs-root").DefValue = "/"
	var rw listFlag
	fs.Var(&rw, "rw", "let the program write under host `DIR` (repeatable; default: it writes only its in-memory /tmp)")
	var tf traceFlags
	tf.register(fs, true)
	fs.Lookup("o").Usage = "write a trace of the run to `FILE` (FILE.gz or FILE.zst compresses it): milestones and the levels asked for; without it, no trace"
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: gorunemu exec [flags] BINARY [ARGS...]\n\n"+
			"Runs a linux/amd64 or linux/arm64 program to exit as qemu-user does: in\n"+
			"gorunemu's working directory, with its environment, stdin, stdout and\n"+
			"stderr, and gorunemu exits as the program did (its exit code, or the\n"+
			"signal that killed it). The program reads the host's files and writes\n"+
			"none: /tmp and $TMPDIR are empty in-memory filesystems that vanish with\n"+
			"it. Everything after BINARY is the program's, so it serves as\n"+
			"  go test -exec 'gorunemu exec'   and   go run -exec 'gorunemu exec'\n"+
			"With -o FILE it also writes a trace there, as gorunemu trace does.\n\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fmt.Fprint(w, exitCodesHelp)
	}
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return exitOK
		}
		usage(stderr)
		return exitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "gorunemu exec: missing BINARY")
		usage(stderr)
		return exitUsage
	}
	if o.until != "exit" {
		fmt.Fprintln(stderr, "gorunemu exec: runs to exit; use gorunemu run --until to stop elsewhere")
		return exitUsage
	}
	if *tf.out == "" && tf.any() {
		fmt.Fprintln(stderr, "gorunemu exec: a trace needs -o FILE: stdout is the program's")
		return exitUsage
	}
	bin := fs.Arg(0)
	img, code, err := o.openImage(bin)
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu: %v\n", err)
		return code
	}
	var tr *tracing
	if *tf.out != "" {
		if tr, code, err = tf.start(img, bin, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "gorunemu exec: %v\n", err)
			return code
		}
	}
	host, err := setupHost(bin, o.fsRoot, o.env, append(rw, testOutputDirs(fs.Args()[1:])...))
	if err != nil {
		fmt.Fprintf(stderr, "gorunemu exec: %v\n", err)
		return exitUsage
	}
	in := newInterruptibleReader(stdin)
	p, code, err := o.newProcessWith(img, fs.Args(), stdout, stderr, func(c *emu.Config) {
		c.Env = host.env
		c.Stdin = in
		c.Cwd = host.cwd
		c.Tmpfs = host.tmpfs
		c.TmpfsSize = int64(min(o.limits().mem/2, 1<<62))
		c.ExePath = host.exePath
		c.RW = host.rw
		if tr != nil {
			c.Trace = tr.opts
		}
	})
	if err != nil {
		if tr != nil {
			tr.finish(nil)
		}
		fmt.Fprintf(stderr, "gorunemu: %v\n", err)
		return code
	}
	defer p.Close()
	stopForwarding := forwardSignals(p, in)
	r, err := o.execute(p)
	if q := o.active(p); q != p {
		defer q.Close() // the replay a gdb session ended with
		p = q
	}
	stopForwarding()
	if tr != nil {
		if err = tr.finish(err); errors.Is(err, errTraceFull) {
			return tr.full("exec", p, stderr)
		}
	}
	if err != nil {
		return runFailed(err, stderr)
	}
	if o.abnormal(r) && r.Kind != emu.StopKilled {
		// A kill says nothing more than the status does, as natively;
		// a fault, a limit or a deadlock is worth a word.
		fmt.Fprintf(stderr, "gorunemu: %s%s%s\n", o.limitFlag(r), r, o.notReached(r))
	}
	code = o.exitCode(r)
	if sig := code - 128; code > 128 && sig < 65 && killSelf != nil && o.abnormal(r) {
		p.Close()
		killSelf(sig)
	}
	return code
}
