package trace

import (
	"fmt"

	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"
)

// Syntax is an assembly syntax for disassembly.
type Syntax int

// Syntaxes: Go's assembler syntax, GNU (AT&T on x86), Intel (x86 only;
// arm64 prints its ARM syntax).
const (
	SyntaxGo Syntax = iota
	SyntaxGNU
	SyntaxIntel
)

// ParseSyntax reads "go", "gnu" or "intel".
func ParseSyntax(s string) (Syntax, error) {
	switch s {
	case "go", "":
		return SyntaxGo, nil
	case "gnu", "att":
		return SyntaxGNU, nil
	case "intel":
		return SyntaxIntel, nil
	}
	return 0, fmt.Errorf("unknown syntax %q (want go, gnu or intel)", s)
}

// SymLookup names an address for disassembly: the symbol containing it and
// its start, or ok false.
type SymLookup = func(addr uint64) (name string, base uint64)

// Disassemble decodes the instruction at the start of code (at address pc)
// for goarch ("amd64" or "arm64") and returns its text and length. An
// undecodable instruction gives "?" and its best-guess length.
func Disassemble(goarch string, code []byte, pc uint64, syntax Syntax, sym SymLookup) (string, int) {
	switch goarch {
	case "amd64":
		inst, err := x86asm.Decode(code, 64)
		if err != nil {
			return "?", 1
		}
		var s string
		switch syntax {
		case SyntaxGNU:
			s = x86asm.GNUSyntax(inst, pc, sym)
		case SyntaxIntel:
			s = x86asm.IntelSyntax(inst, pc, sym)
		default:
			s = x86asm.GoSyntax(inst, pc, sym)
		}
		return s, inst.Len
	case "arm64":
		if len(code) < 4 {
			return "?", len(code)
		}
		inst, err := arm64asm.Decode(code)
		if err != nil {
			return "?", 4
		}
		if syntax == SyntaxGo {
			return arm64asm.GoSyntax(inst, pc, sym, nil), 4
		}
		return arm64asm.GNUSyntax(inst), 4
	}
	return "?", len(code)
}
