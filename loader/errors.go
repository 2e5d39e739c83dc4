package loader

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error Open and Parse return for a file they reject
// is a *FormatError that wraps one of these, so callers can branch with
// errors.Is and read the details with errors.As.
var (
	// ErrNotELF means the file does not start with the ELF magic (scripts,
	// empty files, text).
	ErrNotELF = errors.New("not an ELF file")
	// ErrNotRegular means the path names a directory or another non-regular
	// file.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge means the file is larger than MaxFileSize.
	ErrTooLarge = errors.New("file too large")
	// ErrTruncated means a header or table the file declares extends past
	// its end.
	ErrTruncated = errors.New("truncated ELF file")
	// ErrNot64Bit means an ELFCLASS32 file.
	ErrNot64Bit = errors.New("32-bit ELF (only ELF64 is supported)")
	// ErrBigEndian means an ELFDATA2MSB file.
	ErrBigEndian = errors.New("big-endian ELF")
	// ErrMalformed means an ELF header field has a value no valid
	// executable has (unknown class or data encoding, wrong e_phentsize, too
	// many program headers).
	ErrMalformed = errors.New("malformed ELF header")
	// ErrNotExecutable means a relocatable object (ET_REL), a core dump
	// (ET_CORE) or an unknown e_type.
	ErrNotExecutable = errors.New("not an executable")
	// ErrUnsupportedMachine means e_machine is neither x86-64 nor AArch64.
	ErrUnsupportedMachine = errors.New("unsupported machine")
	// ErrNeedsInterpreter means the file names an interpreter that cannot
	// be used: a malformed PT_INTERP header, or (from the emulator) a
	// dynamic loader that is missing or not one.
	ErrNeedsInterpreter = errors.New("needs an interpreter")
	// ErrBadSegment means a PT_LOAD program header cannot be loaded as
	// Linux would load it, or there is none.
	ErrBadSegment = errors.New("bad PT_LOAD segment")
	// ErrBadEntry means e_entry is not inside an executable PT_LOAD segment.
	ErrBadEntry = errors.New("bad entry point")

	// ErrArgListTooLong is E2BIG from execve(2): a string of argv or envp
	// is longer than MAX_ARG_STRLEN or together they exceed what the stack
	// limit allows.
	ErrArgListTooLong = errors.New("argument list too long")
	// ErrInvalidArg means an argv, envp or execfn string contains a NUL
	// byte, which a C string cannot hold.
	ErrInvalidArg = errors.New("invalid argument string")
	// ErrBadStackTop means a StackConfig.Top that is misaligned or too
	// low for the stack to fit under it.
	ErrBadStackTop = errors.New("bad stack top")
)

// FormatError reports why a file is not an executable gorunemu can load.
// Its message is "loader: <path>: <msg>"; Err is the sentinel it wraps.
type FormatError struct {
	// Path is the file as the caller named it.
	Path string
	// Offset is the file offset of the offending header or table, or -1
	// when no single place is to blame.
	Offset int64
	// Msg is the specific reason, lower case.
	Msg string
	// Err is one of the sentinel errors of this package.
	Err error
}

// Error returns "loader: <path>: <msg>".
func (e *FormatError) Error() string {
	path := e.Path
	if path == "" {
		path = "<input>"
	}
	return "loader: " + path + ": " + e.Msg
}

// Unwrap returns the sentinel error e wraps.
func (e *FormatError) Unwrap() error { return e.Err }

// formatErr builds a *FormatError from a format string.
func formatErr(path string, off int64, sentinel error, format string, args ...any) *FormatError {
	return &FormatError{Path: path, Offset: off, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// segmentErr builds a *FormatError for the PT_LOAD at program header index.
func segmentErr(path string, off int64, index int, format string, args ...any) *FormatError {
	return &FormatError{Path: path, Offset: off, Msg: fmt.Sprintf("PT_LOAD %d: ", index) + fmt.Sprintf(format, args...), Err: ErrBadSegment}
}
