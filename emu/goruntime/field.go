package goruntime

import (
	"fmt"
	"strings"

	"github.com/gorunemu/gorunemu/loader"
)

// runtimeFields are the fields of g0 and m0 that StaticField knows
// without DWARF, by their Go names, with their offsets in Offsets.
var runtimeFields = map[string]map[string]func(Offsets) uint64{
	"runtime.g0": {
		"stack.lo":    func(o Offsets) uint64 { return o.GStackLo },
		"stack.hi":    func(o Offsets) uint64 { return o.GStackHi },
		"stackguard0": func(o Offsets) uint64 { return o.GStackguard0 },
		"stackguard1": func(o Offsets) uint64 { return o.GStackguard1 },
		"m":           func(o Offsets) uint64 { return o.GM },
	},
	"runtime.m0": {
		"g0":      func(o Offsets) uint64 { return o.MG0 },
		"procid":  func(o Offsets) uint64 { return o.MProcID },
		"gsignal": func(o Offsets) uint64 { return o.MGSignal },
		"tls":     func(o Offsets) uint64 { return o.MTLS },
		"curg":    func(o Offsets) uint64 { return o.MCurG },
	},
}

// StaticField finds runtime.g0 or runtime.m0, or one of the fields
// inspect reads (runtime.g0.stack.lo, runtime.m0.tls, ...), in an image
// without symbols or DWARF: the addresses come from runtime.rt0_go's
// instructions and the offsets from the table for the binary's Go
// version, as Read finds them. A field is 8 bytes (m.tls: all its
// slots); g0 or m0 itself spans its known fields.
func StaticField(img *loader.Image, expr string) (loader.Field, error) {
	var base, field string
	for b := range runtimeFields {
		if expr == b || strings.HasPrefix(expr, b+".") {
			base, field = b, strings.TrimPrefix(strings.TrimPrefix(expr, b), ".")
		}
	}
	if base == "" {
		return loader.Field{}, fmt.Errorf("goruntime: %s: only runtime.g0 and runtime.m0 are known without symbols", expr)
	}
	offOf := runtimeFields[base][field]
	if field != "" && offOf == nil {
		return loader.Field{}, fmt.Errorf("goruntime: %s: no field %q known without DWARF", expr, field)
	}
	ru, err := rulesFor(img.Arch)
	if err != nil {
		return loader.Field{}, err
	}
	off, _, err := offsetsFor(img)
	if err != nil {
		return loader.Field{}, fmt.Errorf("goruntime: %s: %w", img.Path, err)
	}
	r := &reader{img: img, ru: ru, off: off}
	g0, m0, err := r.fromRT0()
	if err != nil {
		return loader.Field{}, fmt.Errorf("goruntime: %s: %w", expr, err)
	}
	addr := map[string]uint64{"runtime.g0": g0, "runtime.m0": m0}[base]
	size := func(name string, at uint64) uint64 {
		if name == "tls" {
			return at + 8*TLSSlots
		}
		return at + 8
	}
	if field == "" {
		var end uint64
		for name, f := range runtimeFields[base] {
			end = max(end, size(name, f(off)))
		}
		return loader.Field{Name: expr, Addr: addr, Size: end}, nil
	}
	at := offOf(off)
	return loader.Field{Name: expr, Addr: addr + at, Size: size(field, at) - at}, nil
}
