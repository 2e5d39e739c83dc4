package goruntime

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Addr is a guest address. It prints, and encodes in JSON, as "0x…".
type Addr uint64

// String formats a as lower-case hex with a 0x prefix.
func (a Addr) String() string { return "0x" + strconv.FormatUint(uint64(a), 16) }

// MarshalText encodes a as its String form, so JSON has "0x4f2a40"
// rather than a number that JavaScript would round.
func (a Addr) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads the "0x…" form back.
func (a *Addr) UnmarshalText(b []byte) error {
	s := string(b)
	if len(s) < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return fmt.Errorf("goruntime: address %q: want 0x followed by hex digits", s)
	}
	v, err := strconv.ParseUint(s[2:], 16, 64)
	if err != nil {
		return fmt.Errorf("goruntime: address %q: %w", s, err)
	}
	*a = Addr(v)
	return nil
}

// Val is a value read out of the guest, or the reason it could not be.
// Nothing in a Snapshot stands in for an unknown value with a zero: a Val
// whose Known is false says why in Why instead.
type Val[T any] struct {
	// Value is meaningful only when Known.
	Value T
	Known bool
	// Why says why the value is unavailable ("stripped: no symbol table
	// to find runtime.ncpu"); empty when Known.
	Why string
	// From says where a known value came from: the symbol or field it
	// was read from ("runtime.g0", "m0.curg"), or how it was derived
	// ("runtime.rt0_go code", "FS base − 8 − m.tls").
	From string
	// Sym names an address value: the data symbol or function holding
	// it ("runtime.m0+0x88"), the runtime object it is known to be
	// ("m0.tls+0x8" in a stripped binary), or the mapping ("[stack]",
	// "[anon]"); empty when nothing does or for non-addresses.
	Sym string
}

// known returns a known value.
func known[T any](v T, from string) Val[T] { return Val[T]{Value: v, Known: true, From: from} }

// unknown returns an unavailable value with the reason.
func unknown[T any](format string, args ...any) Val[T] {
	return Val[T]{Why: fmt.Sprintf(format, args...)}
}

// Get returns the value and whether it is known.
func (v Val[T]) Get() (T, bool) { return v.Value, v.Known }

// String formats the value, or "unavailable (why)".
func (v Val[T]) String() string {
	if !v.Known {
		return "unavailable (" + v.Why + ")"
	}
	return fmt.Sprint(v.Value)
}

// valJSON is how a Val is encoded: the value with where it came from, or
// the reason it is unavailable.
type valJSON[T any] struct {
	Value       *T     `json:"value,omitempty"`
	Symbol      string `json:"symbol,omitempty"`
	From        string `json:"from,omitempty"`
	Unavailable string `json:"unavailable,omitempty"`
}

// MarshalJSON encodes a known value as {"value": …, "symbol": …, "from":
// …} and an unknown one as {"unavailable": "why"}.
func (v Val[T]) MarshalJSON() ([]byte, error) {
	if !v.Known {
		return json.Marshal(valJSON[T]{Unavailable: v.Why})
	}
	val := v.Value
	return json.Marshal(valJSON[T]{Value: &val, Symbol: v.Sym, From: v.From})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (v *Val[T]) UnmarshalJSON(b []byte) error {
	var j valJSON[T]
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Value == nil {
		if j.Unavailable == "" {
			return fmt.Errorf("goruntime: value has neither \"value\" nor \"unavailable\"")
		}
		*v = Val[T]{Why: j.Unavailable}
		return nil
	}
	*v = Val[T]{Value: *j.Value, Known: true, From: j.From, Sym: j.Symbol}
	return nil
}
