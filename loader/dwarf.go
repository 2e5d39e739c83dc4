package loader

import (
	"debug/dwarf"
	"errors"
	"fmt"
)

// ErrNoDWARF means the executable carries no DWARF debugging information:
// it was built with -ldflags=-w (or -s, which implies it) or stripped.
var ErrNoDWARF = errors.New("no DWARF debugging information")

// DWARF returns the executable's DWARF debugging information, decompressing
// the sections if the linker compressed them (.zdebug_* before Go 1.20,
// SHF_COMPRESSED after). A file without it yields an error wrapping
// ErrNoDWARF; a file whose DWARF cannot be read, another error.
//
// Each call decodes the sections anew and returns its own *dwarf.Data,
// which, like every debug/dwarf value, is not safe for concurrent use:
// callers that need it more than once keep what they extract from it.
func (img *Image) DWARF() (*dwarf.Data, error) {
	f, err := openELF(img.data)
	if err != nil {
		return nil, fmt.Errorf("loader: %s: DWARF: %w", img.Path, err)
	}
	if f.Section(".debug_info") == nil && f.Section(".zdebug_info") == nil {
		return nil, fmt.Errorf("loader: %s: %w", img.Path, ErrNoDWARF)
	}
	d, err := readDWARF(func() (*dwarf.Data, error) { return f.DWARF() })
	if err != nil {
		return nil, fmt.Errorf("loader: %s: DWARF: %w", img.Path, err)
	}
	return d, nil
}

// readDWARF runs read, turning a panic of debug/elf or debug/dwarf on a
// corrupt file into an error.
func readDWARF(read func() (*dwarf.Data, error)) (d *dwarf.Data, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("debug/dwarf panicked: %v", r)
		}
	}()
	return read()
}
