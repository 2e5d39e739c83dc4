package gdbstub

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/syscalls"
)

// guestFiles are the files gdb opened with vFile: read-only snapshots of
// guest files, taken at open as Linux generates /proc files at open.
type guestFiles struct {
	open map[int][]byte
	next int
}

// gdb's File-I/O errno values (the protocol's own; Linux's agree but for
// ENAMETOOLONG).
const (
	fioEBADF        = 9
	fioEINVAL       = 22
	fioEROFS        = 30
	fioENAMETOOLONG = 91
	fioEUNKNOWN     = 9999
)

// fioErrno turns an error into gdb's errno value.
func fioErrno(err error) int {
	var e syscalls.Errno
	if !errors.As(err, &e) {
		return fioEUNKNOWN
	}
	switch int(e) {
	case 1, 2, 4, 9, 13, 14, 16, 17, 19, 20, 21, 22, 23, 24, 27, 28, 29, 30:
		return int(e)
	case 36:
		return fioENAMETOOLONG
	}
	return fioEUNKNOWN
}

func fioError(errno int) string { return fmt.Sprintf("F-1,%x", errno) }

// maxPread bounds a pread reply: escaped, it still fits PacketSize.
const maxPread = 0x2000

// vFile answers "vFile:OP:ARGS": gdb reading the guest's files (info proc
// mappings reads /proc/PID/maps; shared libraries come from the guest's
// root). Nothing can be written.
func (s *Server) vFile(op, args string) string {
	f := s.files
	switch op {
	case "setfs":
		return "F0" // one file system: the guest's
	case "open":
		hexName, rest, _ := strings.Cut(args, ",")
		flagStr, _, _ := strings.Cut(rest, ",")
		name, err := hex.DecodeString(hexName)
		flags, ferr := strconv.ParseUint(flagStr, 16, 32)
		switch {
		case err != nil || ferr != nil:
			return fioError(fioEINVAL)
		case flags&3 != 0: // O_WRONLY, O_RDWR
			return fioError(fioEROFS)
		}
		data, err := s.p.ReadFile(s.taskFile(string(name)))
		if err != nil {
			return fioError(fioErrno(err))
		}
		f.next++
		f.open[f.next] = data
		return fmt.Sprintf("F%x", f.next)
	case "close":
		fd, err := strconv.ParseInt(args, 16, 32)
		if _, ok := f.open[int(fd)]; err != nil || !ok {
			return fioError(fioEBADF)
		}
		delete(f.open, int(fd))
		return "F0"
	case "pread":
		parts := strings.Split(args, ",")
		if len(parts) != 3 {
			return fioError(fioEINVAL)
		}
		fd, err1 := strconv.ParseInt(parts[0], 16, 32)
		n, err2 := strconv.ParseUint(parts[1], 16, 64)
		off, err3 := strconv.ParseUint(parts[2], 16, 64)
		data, ok := f.open[int(fd)]
		switch {
		case err1 != nil || !ok:
			return fioError(fioEBADF)
		case err2 != nil || err3 != nil:
			return fioError(fioEINVAL)
		}
		if off >= uint64(len(data)) {
			return "F0;"
		}
		end := off + min(n, maxPread, uint64(len(data))-off)
		return fmt.Sprintf("F%x;%s", end-off, escape(data[off:end]))
	case "fstat":
		fd, err := strconv.ParseInt(args, 16, 32)
		data, ok := f.open[int(fd)]
		if err != nil || !ok {
			return fioError(fioEBADF)
		}
		st := fioStat(uint64(len(data)))
		return fmt.Sprintf("F%x;%s", len(st), escape(st))
	case "readlink":
		name, err := hex.DecodeString(args)
		if err != nil {
			return fioError(fioEINVAL)
		}
		target, err := s.p.Readlink(string(name))
		if err != nil {
			return fioError(fioErrno(err))
		}
		return fmt.Sprintf("F%x;%s", len(target), escape([]byte(target)))
	case "pwrite", "unlink":
		return fioError(fioEROFS)
	}
	return ""
}

// taskFile maps a thread's maps file, /proc/PID/task/TID/maps, which gdb
// reads to find the vDSO, to its process's: threads share one address
// space, and the guest's /proc has no task directories.
func (s *Server) taskFile(path string) string {
	rest, ok := strings.CutPrefix(path, fmt.Sprintf("/proc/%d/task/", s.pid()))
	if !ok {
		return path
	}
	tid, file, ok := strings.Cut(rest, "/")
	n, err := strconv.Atoi(tid)
	if !ok || err != nil || file != "maps" {
		return path
	}
	if t := s.p.Thread(n); t == nil || t.State() == emu.Exited {
		return path
	}
	return fmt.Sprintf("/proc/%d/maps", s.pid())
}

// fioStat is the protocol's struct stat (big-endian) of a read-only
// regular file of size bytes.
func fioStat(size uint64) []byte {
	b := make([]byte, 64)
	be := binary.BigEndian
	be.PutUint32(b[8:], 0o100444) // st_mode: S_IFREG | 0444
	be.PutUint32(b[12:], 1)       // st_nlink
	be.PutUint64(b[28:], size)    // st_size
	be.PutUint64(b[36:], 4096)    // st_blksize
	be.PutUint64(b[44:], (size+511)/512)
	return b
}
