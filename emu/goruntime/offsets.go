package goruntime

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gorunemu/gorunemu/loader"
)

// Offsets are the byte offsets of the runtime's g and m fields that a
// Snapshot reads, the same on amd64 and arm64 (both have 8-byte
// pointers).
type Offsets struct {
	// runtime.g: stack.lo, stack.hi, stackguard0, stackguard1, m, goid.
	GStackLo     uint64 `json:"g.stack.lo"`
	GStackHi     uint64 `json:"g.stack.hi"`
	GStackguard0 uint64 `json:"g.stackguard0"`
	GStackguard1 uint64 `json:"g.stackguard1"`
	GM           uint64 `json:"g.m"`
	GGoID        uint64 `json:"g.goid"`
	// runtime.m: g0, procid, gsignal, tls ([TLSSlots]uintptr), curg.
	MG0      uint64 `json:"m.g0"`
	MProcID  uint64 `json:"m.procid"`
	MGSignal uint64 `json:"m.gsignal"`
	MTLS     uint64 `json:"m.tls"`
	MCurG    uint64 `json:"m.curg"`
}

// TLSSlots is the length of m.tls (runtime/runtime2.go tlsSlots, 6 on
// every version gorunemu runs).
const TLSSlots = 6

// Errors Read returns for binaries it cannot describe.
var (
	// ErrUnknownVersion means the binary has no DWARF and was built by a
	// Go release the offset table does not cover: the layout of g and m
	// would be a guess.
	ErrUnknownVersion = errors.New("no DWARF and no g/m offset table for this Go version")
	// ErrNotGo means the executable has no Go build information.
	ErrNotGo = errors.New("not a Go executable")
	// ErrDWARFLayout means the DWARF lacks a field of g or m that Read
	// needs.
	ErrDWARFLayout = errors.New("DWARF lacks a runtime field")
	// ErrBadDWARF means the DWARF could not be used and the offset table
	// has no row for the binary's Go version either.
	ErrBadDWARF = errors.New("unusable DWARF")
)

// layout is the table row for a range of Go minor versions.
type layout struct {
	minMinor, maxMinor int
	off                Offsets
}

// layouts is the offset table for stripped binaries, from the DWARF of
// each release's linux/amd64 and linux/arm64 hello (runtime/runtime2.go:
// in 1.25 gobuf lost its ret word, which moved every m field after
// morebuf, and g's fields after sched, up by 8). The version matrix test checks every row against
// the DWARF of an unstripped build of the latest patch of each minor.
var layouts = []layout{
	{17, 22, Offsets{
		GStackLo: 0x0, GStackHi: 0x8, GStackguard0: 0x10, GStackguard1: 0x18, GM: 0x30, GGoID: 0x98,
		MG0: 0x0, MProcID: 0x48, MGSignal: 0x50, MTLS: 0x88, MCurG: 0xc0,
	}},
	{23, 24, Offsets{ // g.syscallbp is new: goid moves up by 8
		GStackLo: 0x0, GStackHi: 0x8, GStackguard0: 0x10, GStackguard1: 0x18, GM: 0x30, GGoID: 0xa0,
		MG0: 0x0, MProcID: 0x48, MGSignal: 0x50, MTLS: 0x88, MCurG: 0xc0,
	}},
	{25, 26, Offsets{
		GStackLo: 0x0, GStackHi: 0x8, GStackguard0: 0x10, GStackguard1: 0x18, GM: 0x30, GGoID: 0x98,
		MG0: 0x0, MProcID: 0x40, MGSignal: 0x48, MTLS: 0x80, MCurG: 0xb8,
	}},
}

// TableOffsets returns the offset table's row for a Go version such as
// "go1.21.13", or an error wrapping ErrUnknownVersion.
func TableOffsets(goVersion string) (Offsets, error) {
	l, err := tableRow(goVersion)
	if err != nil {
		return Offsets{}, fmt.Errorf("goruntime: %w", err)
	}
	return l.off, nil
}

// tableRow returns the table row for a Go version.
func tableRow(goVersion string) (layout, error) {
	if minor, ok := goMinor(goVersion); ok {
		for _, l := range layouts {
			if minor >= l.minMinor && minor <= l.maxMinor {
				return l, nil
			}
		}
	}
	lo, hi := layouts[0].minMinor, layouts[len(layouts)-1].maxMinor
	return layout{}, fmt.Errorf("%s: %w (the table covers go1.%d to go1.%d)", goVersion, ErrUnknownVersion, lo, hi)
}

// goMinor returns 21 for "go1.21.13", "go1.21" or "go1.21rc2".
func goMinor(v string) (int, bool) {
	rest, ok := strings.CutPrefix(v, "go1.")
	if !ok {
		return 0, false
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil {
		return 0, false
	}
	return n, true
}

// DWARFOffsets reads the offsets from the DWARF type descriptions of
// runtime.g, runtime.m and runtime.stack.
func DWARFOffsets(d *dwarf.Data) (Offsets, error) {
	o, err := dwarfOffsets(d)
	if err != nil {
		return Offsets{}, fmt.Errorf("goruntime: %w", err)
	}
	return o, nil
}

func dwarfOffsets(d *dwarf.Data) (Offsets, error) {
	want := map[string]map[string]uint64{"runtime.g": nil, "runtime.m": nil, "runtime.stack": nil}
	r := d.Reader()
	for found := 0; found < len(want); {
		e, err := r.Next()
		if err != nil {
			return Offsets{}, fmt.Errorf("reading DWARF: %w", err)
		}
		if e == nil {
			break
		}
		if e.Tag == dwarf.TagSubprogram && e.Children {
			r.SkipChildren() // locals and parameters: no types in there
			continue
		}
		if e.Tag != dwarf.TagStructType {
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if fields, ok := want[name]; !ok || fields != nil || !e.Children {
			if e.Children {
				r.SkipChildren()
			}
			continue
		}
		fields, err := members(r)
		if err != nil {
			return Offsets{}, fmt.Errorf("DWARF %s: %w", name, err)
		}
		want[name] = fields
		found++
	}
	var errs []error
	get := func(typ, field string) uint64 {
		v, ok := want[typ][field]
		if !ok {
			errs = append(errs, fmt.Errorf("%s.%s", typ, field))
		}
		return v
	}
	stack := get("runtime.g", "stack")
	o := Offsets{
		GStackLo:     stack + get("runtime.stack", "lo"),
		GStackHi:     stack + get("runtime.stack", "hi"),
		GStackguard0: get("runtime.g", "stackguard0"),
		GStackguard1: get("runtime.g", "stackguard1"),
		GM:           get("runtime.g", "m"),
		GGoID:        get("runtime.g", "goid"),
		MG0:          get("runtime.m", "g0"),
		MProcID:      get("runtime.m", "procid"),
		MGSignal:     get("runtime.m", "gsignal"),
		MTLS:         get("runtime.m", "tls"),
		MCurG:        get("runtime.m", "curg"),
	}
	if len(errs) > 0 {
		return Offsets{}, fmt.Errorf("%w: %w", ErrDWARFLayout, errors.Join(errs...))
	}
	return o, nil
}

// members reads the member offsets of the struct whose entry r has just
// returned, leaving r after its children.
func members(r *dwarf.Reader) (map[string]uint64, error) {
	fields := map[string]uint64{}
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil || e.Tag == 0 {
			return fields, nil
		}
		if e.Tag == dwarf.TagMember {
			name, _ := e.Val(dwarf.AttrName).(string)
			// Go's linker writes DW_AT_data_member_location as a constant.
			if off, ok := e.Val(dwarf.AttrDataMemberLoc).(int64); ok && name != "" && off >= 0 {
				fields[name] = uint64(off)
			}
		}
		if e.Children {
			r.SkipChildren()
		}
	}
}

// offsetsFor returns the offsets for img and where they come from: its
// DWARF when it has some, else the table row for its Go version.
// A binary whose DWARF cannot be read (corrupt, or lacking a field) falls
// back to the table too, saying why; without a table row that is an
// error wrapping ErrBadDWARF.
func offsetsFor(img *loader.Image) (Offsets, string, error) {
	d, err := img.DWARF()
	why := "no DWARF"
	if err == nil {
		o, derr := dwarfOffsets(d)
		if derr == nil {
			return o, "DWARF", nil
		}
		err = derr
	}
	if !errors.Is(err, loader.ErrNoDWARF) {
		why = fmt.Sprintf("DWARF unusable: %v", err)
	}
	l, terr := tableRow(img.GoVersion)
	if terr != nil {
		if why != "no DWARF" {
			return Offsets{}, "", fmt.Errorf("%w: %v, and %w", ErrBadDWARF, err, terr)
		}
		return Offsets{}, "", terr
	}
	return l.off, fmt.Sprintf("table (go1.%d–go1.%d, %s)", l.minMinor, l.maxMinor, why), nil
}
