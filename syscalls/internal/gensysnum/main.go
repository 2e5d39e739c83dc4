// Command gensysnum writes the guest syscall number tables
// (syscalls/amd64/zsysnum.go, syscalls/arm64/zsysnum.go) and the errno and
// signal tables (syscalls/zerrors.go).
//
// Its source is golang.org/x/sys/unix at a pinned version: the files
// zsysnum_linux_amd64.go, zsysnum_linux_arm64.go, zerrors_linux.go,
// zerrors_linux_amd64.go and zerrors_linux_arm64.go, which x/sys generates
// from the Linux uapi headers (asm/unistd.h, asm-generic/errno-base.h,
// asm-generic/errno.h, asm/signal.h) with glibc's strerror texts. The files
// are parsed with go/parser; the unix package is never imported, because its
// constants describe the host, not the guest.
//
// Usage (from the syscalls directory, see syscalls/generate.go):
//
//	go run ./internal/gensysnum -xsys v0.49.0 -out .
//
// The module is located with "go mod download -json", which fetches it into
// the module cache if needed and leaves go.mod alone.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("gensysnum: ")
	version := flag.String("xsys", "v0.49.0", "golang.org/x/sys version to read")
	out := flag.String("out", ".", "the syscalls package directory")
	flag.Parse()

	dir, err := moduleDir("golang.org/x/sys", *version)
	if err != nil {
		log.Fatal(err)
	}
	files, err := generate(dir, "golang.org/x/sys@"+*version)
	if err != nil {
		log.Fatal(err)
	}
	for name, code := range files {
		if err := os.WriteFile(filepath.Join(*out, name), code, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// generate returns the generated files, by path relative to the syscalls
// directory, from the x/sys module in dir (src names it in the headers).
func generate(dir, src string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, goarch := range []string{"amd64", "arm64"} {
		file := "zsysnum_linux_" + goarch + ".go"
		nums, err := parseSysnums(filepath.Join(dir, "unix", file))
		if err != nil {
			return nil, err
		}
		code, err := sysnumFile(goarch, src+" unix/"+file, nums)
		if err != nil {
			return nil, err
		}
		files[filepath.Join(goarch, "zsysnum.go")] = code
	}
	errs, err := parseErrors(filepath.Join(dir, "unix"))
	if err != nil {
		return nil, err
	}
	code, err := errorsFile(src, errs)
	if err != nil {
		return nil, err
	}
	files["zerrors.go"] = code
	return files, nil
}

// moduleDir returns the module cache directory of mod@version.
func moduleDir(mod, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", mod+"@"+version)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w: %s", mod, version, err, stderr.String())
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(b, &m); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", mod, version, err)
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no directory: %s", mod, version, m.Error)
	}
	return m.Dir, nil
}

// sysnum is one syscall: the x/sys constant name without "SYS_", and its
// number.
type sysnum struct {
	name string
	nr   int
}

// notSyscalls are SYS_ constants that name no syscall.
var notSyscalls = map[string]bool{
	// asm-generic/unistd.h: __NR_arch_specific_syscall is the first of
	// 16 numbers (244..259) reserved for arch-specific calls; arm64
	// defines none of them.
	"ARCH_SPECIFIC_SYSCALL": true,
}

func parseSysnums(path string) ([]sysnum, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		return nil, err
	}
	var nums []sysnum
	seen := map[int]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if !strings.HasPrefix(id.Name, "SYS_") || i >= len(vs.Values) {
					continue
				}
				name := strings.TrimPrefix(id.Name, "SYS_")
				if notSyscalls[name] {
					continue
				}
				nr, err := intLit(vs.Values[i])
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", path, id.Name, err)
				}
				if prev, dup := seen[nr]; dup {
					return nil, fmt.Errorf("%s: %s and %s are both %d", path, prev, id.Name, nr)
				}
				seen[nr] = id.Name
				nums = append(nums, sysnum{name, nr})
			}
		}
	}
	if len(nums) < 300 {
		return nil, fmt.Errorf("%s: only %d syscalls found", path, len(nums))
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i].nr < nums[j].nr })
	return nums, nil
}

func intLit(e ast.Expr) (int, error) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		return 0, fmt.Errorf("value is not an integer literal")
	}
	v, err := strconv.ParseInt(lit.Value, 0, 64)
	return int(v), err
}

func sysnumFile(goarch, src string, nums []sysnum) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by gensysnum from %s; DO NOT EDIT.\n\n", src)
	fmt.Fprintf(&b, "package %s\n\n", goarch)
	fmt.Fprintf(&b, "// Syscall numbers of the linux/%s guest.\nconst (\n", goarch)
	for _, n := range nums {
		fmt.Fprintf(&b, "\tSYS_%s = %d\n", n.name, n.nr)
	}
	b.WriteString(")\n\n")
	b.WriteString("// Names maps a syscall number to its Linux name (\"openat\"); numbers\n")
	b.WriteString("// with no syscall map to \"\".\n")
	b.WriteString("var Names = [...]string{\n")
	for _, n := range nums {
		fmt.Fprintf(&b, "\t%d: %q,\n", n.nr, strings.ToLower(n.name))
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

// errorTables is what zerrors.go holds.
type errorTables struct {
	errnoConsts  []namedValue // every E* constant, aliases included
	errnoList    []listEntry  // one canonical name and text per number
	signalConsts []namedValue
	signalList   []listEntry
}

type namedValue struct {
	name string
	val  int
}

type listEntry struct {
	num        int
	name, desc string
}

// canonicalErrno overrides x/sys's choice of name for a number that has two:
// errorList uses glibc's spelling, the kernel's asm-generic/errno.h has only
// EOPNOTSUPP for 95 (ENOTSUP is a libc alias).
var canonicalErrno = map[int]string{95: "EOPNOTSUPP"}

func parseErrors(dir string) (errorTables, error) {
	var t errorTables
	common, err := constsOfType(filepath.Join(dir, "zerrors_linux.go"))
	if err != nil {
		return t, err
	}
	var perArch [2]map[string]map[string]int
	var lists [2]map[string][]listEntry
	for i, goarch := range []string{"amd64", "arm64"} {
		p := filepath.Join(dir, "zerrors_linux_"+goarch+".go")
		if perArch[i], err = constsOfType(p); err != nil {
			return t, err
		}
		if lists[i], err = parseLists(p); err != nil {
			return t, err
		}
	}
	// The guest errno and signal numbers must not depend on the arch.
	for _, typ := range []string{"Errno", "Signal"} {
		if fmt.Sprint(perArch[0][typ]) != fmt.Sprint(perArch[1][typ]) {
			return t, fmt.Errorf("amd64 and arm64 differ in syscall.%s constants", typ)
		}
	}
	for _, l := range []string{"errorList", "signalList"} {
		if fmt.Sprint(lists[0][l]) != fmt.Sprint(lists[1][l]) {
			return t, fmt.Errorf("amd64 and arm64 differ in %s", l)
		}
	}
	merge := func(typ string) []namedValue {
		var nv []namedValue
		for _, m := range []map[string]int{common[typ], perArch[0][typ]} {
			for n, v := range m {
				nv = append(nv, namedValue{n, v})
			}
		}
		sort.Slice(nv, func(i, j int) bool {
			if nv[i].val != nv[j].val {
				return nv[i].val < nv[j].val
			}
			return nv[i].name < nv[j].name
		})
		return nv
	}
	t.errnoConsts = merge("Errno")
	t.signalConsts = merge("Signal")
	t.errnoList = lists[0]["errorList"]
	t.signalList = lists[0]["signalList"]
	for i, e := range t.errnoList {
		if n, ok := canonicalErrno[e.num]; ok {
			t.errnoList[i].name = n
		}
	}
	if len(t.errnoList) < 120 || len(t.signalList) < 31 {
		return t, fmt.Errorf("%s: short errno or signal list", dir)
	}
	return t, nil
}

// constsOfType returns the constants written as syscall.<Type>(N), by type.
func constsOfType(path string) (map[string]map[string]int, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int{"Errno": {}, "Signal": {}}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				call, ok := vs.Values[i].(*ast.CallExpr)
				if !ok || len(call.Args) != 1 {
					continue
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					continue
				}
				if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "syscall" {
					continue
				}
				m, ok := out[sel.Sel.Name]
				if !ok {
					continue
				}
				v, err := intLit(call.Args[0])
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", path, id.Name, err)
				}
				m[id.Name] = v
			}
		}
	}
	return out, nil
}

// parseLists reads the errorList and signalList tables:
// {num, "NAME", "description"} entries.
func parseLists(path string) (map[string][]listEntry, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		return nil, err
	}
	out := map[string][]listEntry{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if len(vs.Names) != 1 || len(vs.Values) != 1 {
				continue
			}
			name := vs.Names[0].Name
			if name != "errorList" && name != "signalList" {
				continue
			}
			lit, ok := vs.Values[0].(*ast.CompositeLit)
			if !ok {
				return nil, fmt.Errorf("%s: %s is not a composite literal", path, name)
			}
			for _, el := range lit.Elts {
				row, ok := el.(*ast.CompositeLit)
				if !ok || len(row.Elts) != 3 {
					return nil, fmt.Errorf("%s: %s: malformed row", path, name)
				}
				num, err := intLit(row.Elts[0])
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", path, name, err)
				}
				var strs [2]string
				for j := range strs {
					bl, ok := row.Elts[j+1].(*ast.BasicLit)
					if !ok || bl.Kind != token.STRING {
						return nil, fmt.Errorf("%s: %s: malformed row", path, name)
					}
					if strs[j], err = strconv.Unquote(bl.Value); err != nil {
						return nil, fmt.Errorf("%s: %s: %w", path, name, err)
					}
				}
				out[name] = append(out[name], listEntry{num, strs[0], strs[1]})
			}
		}
	}
	return out, nil
}

func errorsFile(src string, t errorTables) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by gensysnum from %s unix/zerrors_linux*.go; DO NOT EDIT.\n\n", src)
	b.WriteString("package syscalls\n\n")
	b.WriteString("// Linux errno values (asm-generic/errno-base.h, asm-generic/errno.h), the\n")
	b.WriteString("// same on amd64 and arm64.\nconst (\n")
	for _, c := range t.errnoConsts {
		fmt.Fprintf(&b, "\t%s Errno = %d\n", c.name, c.val)
	}
	b.WriteString(")\n\n")
	b.WriteString("// Linux signal numbers (asm/signal.h), the same on amd64 and arm64.\nconst (\n")
	for _, c := range t.signalConsts {
		fmt.Fprintf(&b, "\t%s = %d\n", c.name, c.val)
	}
	b.WriteString(")\n\n")
	b.WriteString("// errnoNames and errnoTexts give each errno its kernel name and its\n// strerror text.\n")
	b.WriteString("var errnoNames = [...]string{\n")
	for _, e := range t.errnoList {
		fmt.Fprintf(&b, "\t%d: %q,\n", e.num, e.name)
	}
	b.WriteString("}\n\nvar errnoTexts = [...]string{\n")
	for _, e := range t.errnoList {
		fmt.Fprintf(&b, "\t%d: %q,\n", e.num, e.desc)
	}
	b.WriteString("}\n\n")
	b.WriteString("// signalNames and signalTexts give each classic signal its name and its\n// strsignal text.\n")
	b.WriteString("var signalNames = [...]string{\n")
	for _, e := range t.signalList {
		fmt.Fprintf(&b, "\t%d: %q,\n", e.num, e.name)
	}
	b.WriteString("}\n\nvar signalTexts = [...]string{\n")
	for _, e := range t.signalList {
		fmt.Fprintf(&b, "\t%d: %q,\n", e.num, e.desc)
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
