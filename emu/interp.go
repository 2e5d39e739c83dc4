package emu

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/syscalls"
)

// Dynamically linked executables. Linux maps the program interpreter the
// executable's PT_INTERP names (glibc's ld.so) beside it, tells it where
// the program is through the auxiliary vector (AT_BASE, AT_PHDR,
// AT_ENTRY) and starts it instead of the program; ld.so then opens, maps
// and relocates the libraries itself with ordinary syscalls. gorunemu
// does exactly that: the interpreter is read through the guest's file
// system, and the libraries come from a sysroot the guest sees read-only.

// ErrNoSysroot means a dynamically linked program's libraries were not
// found: no sysroot holds its interpreter.
var ErrNoSysroot = errors.New("no sysroot holds the program's dynamic loader")

// InterpError says why a dynamically linked executable could not start:
// its interpreter is missing from the guest's file system or is not a
// dynamic loader for the guest. It wraps loader.ErrNeedsInterpreter.
type InterpError struct {
	Binary, Interp string
	// Sysroot is where the guest's libraries were looked for ("" if
	// none was found).
	Sysroot string
	Err     error
}

func (e *InterpError) Error() string {
	where := "the guest's file system"
	if e.Sysroot != "" {
		where = "sysroot " + e.Sysroot
	}
	return fmt.Sprintf("emu: %s needs the dynamic loader %s, from %s: %v", e.Binary, e.Interp, where, e.Err)
}

func (e *InterpError) Unwrap() []error { return []error{e.Err, loader.ErrNeedsInterpreter} }

// Sysroot returns the host directory whose libraries a dynamically linked
// executable for a runs with, given the guest's root (fsRoot, "" for
// none): fsRoot itself when it holds the interpreter; else the host's
// root when a is the host's arch; else Debian's cross layout
// (/usr/aarch64-linux-gnu, /usr/x86_64-linux-gnu) when it holds the
// interpreter. It returns "" when none does.
func Sysroot(a *arch.Arch, interp, fsRoot string) string {
	has := func(root string) bool {
		fi, err := os.Stat(filepath.Join(root, interp))
		return err == nil && fi.Mode().IsRegular()
	}
	switch {
	case fsRoot != "" && has(fsRoot):
		return fsRoot
	case a.Name == runtime.GOARCH && has("/"):
		return "/"
	}
	if cross := "/usr/" + a.Machine + "-linux-gnu"; has(cross) {
		return cross
	}
	return ""
}

// libraryDirs are the directories of a sysroot the dynamic loader reads:
// its own and the default library search path. Only these, and
// /etc/ld.so.cache, are shown to a guest that has no FSRoot.
var libraryDirs = []string{"/lib", "/lib64", "/usr/lib", "/usr/lib64"}

// sysrootBinds returns the bind mounts that show the guest a dynamically
// linked img's loader and libraries from sysroot, and the sysroot they
// come from. A static img gets none unless cfg.Sysroot asks for them.
func sysrootBinds(img *loader.Image, cfg Config) ([]syscalls.BindMount, string, error) {
	sysroot := cfg.Sysroot
	if sysroot == "" {
		if img.Interp == "" {
			return nil, "", nil
		}
		sysroot = Sysroot(img.Arch, img.Interp, cfg.FSRoot)
		if sysroot == "" {
			return nil, "", &InterpError{Binary: img.Path, Interp: img.Interp, Err: fmt.Errorf("%w for %s", ErrNoSysroot, img.Arch.Name)}
		}
	}
	if fi, err := os.Stat(sysroot); err != nil || !fi.IsDir() {
		return nil, "", fmt.Errorf("emu: sysroot %s is not a directory", sysroot)
	}
	if cfg.FSRoot != "" && sameDir(sysroot, cfg.FSRoot) {
		return nil, sysroot, nil // the guest's root holds the libraries
	}
	var binds []syscalls.BindMount
	dirs := libraryDirs
	if d := path.Dir(path.Clean(img.Interp)); img.Interp != "" && !under(d, dirs) {
		dirs = append(dirs[:len(dirs):len(dirs)], d)
	}
	for _, d := range dirs {
		host := filepath.Join(sysroot, d)
		// A merged-/usr link (/lib -> usr/lib) stays a link, so that the
		// guest sees the paths the host has, if its target is shown too.
		if target, err := os.Readlink(host); err == nil {
			to := target
			if !path.IsAbs(to) {
				to = path.Join(path.Dir(d), to)
			}
			if under(path.Clean(to), dirs) {
				binds = append(binds, syscalls.BindMount{Guest: d, Link: target})
				continue
			}
		}
		if fi, err := os.Stat(host); err == nil && fi.IsDir() {
			binds = append(binds, syscalls.BindMount{Guest: d, Host: host})
		}
	}
	cache := filepath.Join(sysroot, "etc/ld.so.cache")
	if fi, err := os.Stat(cache); err == nil && fi.Mode().IsRegular() {
		binds = append(binds, syscalls.BindMount{Guest: "/etc/ld.so.cache", Host: cache})
	}
	return binds, sysroot, nil
}

// under reports whether guest path p is one of dirs or inside one.
func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// sameDir reports whether host paths a and b name the same directory.
func sameDir(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// mapInterp maps the interpreter p's executable names, as load_elf_interp
// does: read through the guest's file system (k), placed where mmap would
// put it (top-down from the mmap base), each segment with its permissions.
func (p *Process) mapInterp(k *syscalls.Kernel) error {
	fail := func(err error) error {
		return &InterpError{Binary: p.img.Path, Interp: p.img.Interp, Sysroot: p.sysroot, Err: err}
	}
	data, resolved, err := k.ReadInterpreter(p.img.Interp)
	if err != nil {
		return fail(err)
	}
	img, err := loader.Parse(bytes.NewReader(data), int64(len(data)), resolved)
	switch {
	case err != nil:
		return fail(err)
	case img.Arch != p.arch:
		return fail(fmt.Errorf("%s is a %s file, the program is %s", resolved, img.Arch.Name, p.arch.Name))
	case img.Type != elf.ET_DYN:
		return fail(fmt.Errorf("%s is %v, not a shared object", resolved, img.Type))
	case img.Interp != "":
		return fail(fmt.Errorf("%s names an interpreter of its own", resolved))
	}
	base, ok := p.mem.place(0, img.Span())
	if !ok {
		return fail(syscalls.ENOMEM)
	}
	if img, err = img.LoadAt(base); err != nil {
		return fail(err)
	}
	if err := p.mapSegments(img, resolved); err != nil {
		return fail(err)
	}
	p.interp = img
	return nil
}

// entry is where the main thread starts: the interpreter's entry point for
// a dynamically linked executable, else the executable's.
func (p *Process) entry() uint64 {
	if p.interp != nil {
		return p.interp.Entry
	}
	return p.img.Entry
}

// Interpreter returns the dynamic loader mapped for a dynamically linked
// executable (nil for a static one), at the address it was loaded.
func (p *Process) Interpreter() *loader.Image { return p.interp }

// interpBase is AT_BASE: where the interpreter's first page is, or 0.
func (p *Process) interpBase() uint64 {
	if p.interp == nil {
		return 0
	}
	return p.mem.pageDown(p.interp.Segments[0].Addr)
}

// interpDetail is the milestone at the dynamic loader's entry.
func interpDetail(p *Process, _ *Thread) string {
	entry := fmt.Sprintf("%#x", p.img.Entry)
	if s, ok := p.img.Symbolize(p.img.Entry); ok && s.Offset == 0 {
		entry = s.Name
	}
	return fmt.Sprintf("the dynamic loader %s (AT_BASE %#x) maps the libraries, then jumps to AT_ENTRY %s", p.interp.Path, p.interpBase(), entry)
}
