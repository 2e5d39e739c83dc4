package emu

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu/unicorn"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/syscalls"
	"github.com/gorunemu/gorunemu/trace"
)

// Defaults that make runs reproducible. They are what the guest sees
// unless Config says otherwise.
const (
	DefaultSeed       = 1
	DefaultNCPU       = syscalls.DefaultNCPU
	DefaultSlice      = 100_000 // instructions a thread runs before the next runnable one
	DefaultMaxInsns   = 20_000_000_000
	DefaultMaxThreads = 1000
	// bootTime is CLOCK_MONOTONIC when the guest starts: the machine has
	// been "up" for 10 s, so no clock reads as zero.
	bootTime = 10_000_000_000
)

// Config describes one emulated process. The zero value runs the binary
// with argv = [./NAME], an empty environment and seed DefaultSeed.
type Config struct {
	// Argv is the guest's argv, including argv[0]; default ["./" + base name].
	Argv []string
	// Env is the guest's environment as "KEY=value" strings.
	Env []string
	// Seed determines AT_RANDOM and getrandom; same seed, same run.
	Seed uint64
	// Random, if set, is used as the 16 AT_RANDOM bytes instead of deriving
	// them from Seed.
	Random *[16]byte
	// Stdout and Stderr receive the guest's fds 1 and 2 (nil: discarded).
	Stdout, Stderr io.Writer
	// Stdin, if set, is what the guest reads from fd 0 (default: nothing,
	// as from /dev/null).
	Stdin io.Reader
	// FSRoot, if set, is a host directory the guest may read (never
	// write) as its root, under the virtual /proc, /sys and /dev.
	// Without it the guest sees only the virtual files.
	FSRoot string
	// Tmpfs lists guest directories where a writable in-memory
	// filesystem is mounted over FSRoot's, whose files show through
	// read-only; it vanishes with the Process. TmpfsSize bounds its
	// bytes (0: syscalls.DefaultTmpfsSize).
	Tmpfs     []string
	TmpfsSize int64
	// RW lists directories under FSRoot, as the guest names them, whose
	// host files the guest may change.
	RW []string
	// Sysroot is the host directory holding a dynamically linked
	// program's dynamic loader and libraries, which the guest sees
	// read-only at their usual paths (/lib, /usr/lib, /etc/ld.so.cache);
	// default: see Sysroot. Nothing else of it is shown without FSRoot.
	Sysroot string
	// Cwd is the guest's working directory (default "/").
	Cwd string
	// ExePath is the executable's path as the guest sees it, where
	// /proc/self/exe points (default "/" + its base name).
	ExePath string
	// NCPU is the number of CPUs the guest sees (sched_getaffinity).
	NCPU int
	// Slice is the scheduler's time slice in instructions.
	Slice uint64
	// MaxInsns stops the run once the guest has executed this many
	// instructions (0: DefaultMaxInsns).
	MaxInsns uint64
	// MaxMem makes mappings fail with ENOMEM, and the run stop, once the
	// guest (all its processes together) would have more than this many
	// bytes of accessible memory mapped (0: no limit). PROT_NONE
	// reservations do not count.
	MaxMem uint64
	// MaxThreads makes clone fail, and the run stop, beyond this many live
	// threads in all processes together (0: DefaultMaxThreads).
	MaxThreads int
	// StopOnFault stops the run at a guest fault even when the guest has
	// a handler for its signal, as gdb does. Without it the fault is
	// delivered as Linux delivers it: Go turns a nil dereference into a
	// panic. A fault with no handler stops the run either way.
	StopOnFault bool
	// Strict stops the run at the first syscall gorunemu does not
	// implement, instead of returning ENOSYS to the guest.
	Strict bool
	// Observer, if set, is told about syscalls and threads (see Observer).
	Observer Observer
	// Trace, if set with a Sink, reports what the run does as trace events.
	Trace *TraceOptions
}

// Process is an emulated Linux process running a Go executable. It is not
// safe for concurrent use; separate Processes are independent.
type Process struct {
	img    *loader.Image
	interp *loader.Image // the dynamic loader, for a dynamically linked img
	// sysroot is the host directory the libraries come from, if any.
	sysroot string
	// objects caches the symbols of the shared objects mapped (objects.go).
	objects map[string]*objectSyms
	// vdso is where the vDSO is mapped (AT_SYSINFO_EHDR), vdsoImage
	// what it holds.
	vdso      uint64
	vdsoImage []byte
	arch      *arch.Arch
	cpu       arch.CPU // the CPUID and HWCAP the guest is shown
	cfg       Config
	eng       *unicorn.Engine
	mem       *addressSpace
	kernel    *syscalls.Kernel
	stack     *loader.Stack

	fam     *family              // the process tree it belongs to
	threads []*Thread            // live and exited, in creation (tid) order
	active  []*Thread            // the threads that have not exited, in tid order
	cur     *Thread              // the thread whose state is loaded in the engine
	futexes map[uint64][]*Thread // waiters by futex word

	stats    Stats
	exited   *StopReason         // set once the process has ended
	limitHit *StopReason         // a limit stopped a syscall; the run stops after it
	until    map[uint64]bool     // addresses the current Run stops at
	watches  []unicorn.WatchStop // the watchpoints of the current Run
	stepStop uint64              // the address a Step stops at, or 0
	target   uint64              // the position RunTo stops at, or 0
	pause    uint64              // the position past which Run pauses, or 0
	// lastSnapshot is the snapshot taken last, whose unchanged pages the
	// next one shares while the caller keeps it.
	lastSnapshot weak.Pointer[Snapshot]
	stepTID      int // the blocked thread Run steps once it runs, or 0
	tracer       *tracer
	broken       error // an internal error stopped a run; no more runs
	closed       bool

	// outside are signals sent with Signal, from any goroutine, for the
	// run loop to deliver.
	outsideMu      sync.Mutex
	outside        []int
	outsidePending atomic.Bool

	// running is held by Run; closing asks a Run in progress to end, so
	// that Close from another goroutine waits for it instead of freeing
	// the engine under it.
	running sync.Mutex
	closing atomic.Bool
}

// Stats counts what a run did.
type Stats struct {
	Insns         uint64         // instructions executed by all threads of this process
	Syscalls      uint64         // syscalls dispatched
	Unimplemented map[string]int // syscalls that returned ENOSYS for lack of a handler
	Threads       int            // threads created, including the main one
	Processes     int            // child processes started; their instructions are in AllInsns
	AllInsns      uint64         // instructions executed by all processes
	Signals       int            // signals whose handler the guest ran
	// Slept is the virtual time the clock skipped while every thread
	// waited on a timeout; the guest's monotonic clock has moved by
	// AllInsns nanoseconds plus Slept.
	Slept time.Duration
}

// Open loads the executable at path and prepares it to run.
func Open(path string, cfg Config) (*Process, error) {
	img, err := loader.Open(path)
	if err != nil {
		return nil, err
	}
	return New(img, cfg)
}

// New maps img into a fresh engine, builds its initial stack and makes its
// main thread ready to run at the entry point. The Process is the root of
// a family: the processes it starts run with it.
func New(img *loader.Image, cfg Config) (_ *Process, err error) {
	cfg = withDefaults(cfg, img)
	binds, sysroot, err := sysrootBinds(img, cfg)
	if err != nil {
		return nil, err
	}
	exePath := cfg.ExePath
	if exePath == "" {
		exePath = guestExePath(img.Path)
	}
	// The kernel comes first: a dynamically linked program's interpreter
	// is read through the guest's file system. The auxiliary vector is
	// known once the stack is built.
	kernel, err := syscalls.OpenKernel(syscalls.Config{
		PID:     pid,
		PPID:    pid - 1,
		NCPU:    cfg.NCPU,
		ExePath: exePath,
		Seed:    cfg.Seed,
		Stdout:  cfg.Stdout,
		Stderr:  cfg.Stderr,
		FSRoot:  cfg.FSRoot,
		Binds:   binds,
		Stdin:   cfg.Stdin,
		Tmpfs:   cfg.Tmpfs,
		RW:      cfg.RW,
		Cwd:     cfg.Cwd,

		TmpfsSize: cfg.TmpfsSize,
	})
	if err != nil {
		return nil, err
	}
	p, err := newProcess(img, cfg, nil, kernel, sysroot)
	if err != nil {
		return nil, errors.Join(err, kernel.Close())
	}
	p.kernel = kernel
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	kernel.SetAuxv(p.stack.AuxvBytes())
	kernel.SetArgArea(p.stack.ArgStart, p.stack.ArgEnd, p.stack.EnvStart, p.stack.EnvEnd)
	if _, err := p.startMain(nil, pid); err != nil {
		return nil, err
	}
	if t := cfg.Trace; t != nil && t.Sink != nil {
		// Hooks go in before the first run: Unicorn would have to drop all
		// translated code to add them later.
		if p.tracer, err = newTracer(p, *t); err != nil {
			return nil, err
		}
		name := t.Binary
		if name == "" {
			name = img.Path
		}
		if err := t.Sink.Begin(trace.Header{Binary: name, Arch: img.Arch.Name, GoVersion: img.GoVersion, Args: cfg.Argv}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// withDefaults fills in cfg's zero fields.
func withDefaults(cfg Config, img *loader.Image) Config {
	if cfg.Seed == 0 {
		cfg.Seed = DefaultSeed
	}
	if cfg.NCPU <= 0 {
		cfg.NCPU = DefaultNCPU
	}
	if cfg.Slice == 0 {
		cfg.Slice = DefaultSlice
	}
	if cfg.MaxInsns == 0 {
		cfg.MaxInsns = DefaultMaxInsns
	}
	if cfg.MaxThreads <= 0 {
		cfg.MaxThreads = DefaultMaxThreads
	}
	if len(cfg.Argv) == 0 {
		cfg.Argv = []string{"./" + path.Base(img.Path)}
	}
	return cfg
}

// newProcess maps img into a fresh engine, with the interpreter it names
// read through k, and builds its initial stack: a Process without kernel
// state or threads yet. With fam nil it is the root of a new family;
// otherwise it joins fam.
func newProcess(img *loader.Image, cfg Config, fam *family, k *syscalls.Kernel, sysroot string) (_ *Process, err error) {
	p, err := newEmpty(img, cfg, fam)
	if err != nil {
		return nil, err
	}
	p.sysroot = sysroot
	if err := p.mapImage(); err != nil {
		p.closeEngine()
		return nil, err
	}
	if img.Interp != "" {
		if err := p.mapInterp(k); err != nil {
			p.closeEngine()
			return nil, err
		}
	}
	if err := p.mapVDSO(k.RealtimeBase()); err != nil {
		p.closeEngine()
		return nil, err
	}
	if err := p.mapStack(); err != nil {
		p.closeEngine()
		return nil, err
	}
	return p, nil
}

// newEmpty opens an engine for img's arch with the guest CPU, and nothing
// mapped.
func newEmpty(img *loader.Image, cfg Config, fam *family) (_ *Process, err error) {
	a := img.Arch
	eng, err := unicorn.Open(unicorn.Arch(a.UnicornArch), unicorn.Mode(a.UnicornMode), a.CPUModel)
	if err != nil {
		return nil, err
	}
	if err := eng.UsePageTable(); err != nil {
		eng.Close()
		return nil, err
	}
	p := &Process{
		img:     img,
		arch:    a,
		cfg:     cfg,
		eng:     eng,
		mem:     newAddressSpace(eng, a.PageSize, a.StackTop, a.MmapBase, cfg.MaxMem),
		futexes: map[uint64][]*Thread{},
		until:   map[uint64]bool{},
		stats:   Stats{Unimplemented: map[string]int{}},
	}
	if fam == nil {
		fam = newFamily(p)
	}
	p.fam = fam
	p.mem.elsewhere = func() uint64 { return fam.committedExcept(p) }
	defer func() {
		if err != nil {
			p.closeEngine()
		}
	}()
	if p.cpu, err = GuestCPU(a); err != nil {
		return nil, err
	}
	if p.cpu.CPUID != nil {
		if err := eng.SetCPUID(p.cpu.CPUID); err != nil {
			return nil, err
		}
	}
	// RNDR's values follow the seed; a child's (task.go) differ.
	eng.SeedRandom(cfg.Seed)
	return p, nil
}

// fork makes a copy of p, whose thread parent is making the call, for a
// child process with kernel state r.Process (fork, or clone without
// CLONE_VM): every mapping copied, and a first thread with the parent's
// registers but for the result 0 and r's stack and TLS.
func (p *Process) fork(parent *Thread, r syscalls.CloneRequest) (_ *Thread, err error) {
	cfg := p.cfg
	cfg.Trace, cfg.Observer = nil, nil
	q, err := newEmpty(p.img, cfg, p.fam)
	if err != nil {
		return nil, err
	}
	q.interp, q.sysroot, q.vdso, q.vdsoImage = p.interp, p.sysroot, p.vdso, p.vdsoImage
	defer func() {
		if err != nil {
			q.closeEngine()
		}
	}()
	q.stack, q.kernel = p.stack, r.Process
	if err := q.mem.copyFrom(p.mem); err != nil {
		return nil, err
	}
	q.mem.brkStart, q.mem.brk = p.mem.brkStart, p.mem.brk
	// The parent is loaded in its engine: its registers go to the child's
	// engine whole (both engines are of one arch and CPU model).
	regs, err := p.eng.NewContext()
	if err != nil {
		return nil, err
	}
	defer regs.Free()
	if err := q.eng.Restore(regs); err != nil {
		return nil, err
	}
	child, err := q.newThread(r.Thread, nil)
	if err != nil {
		return nil, err
	}
	if err := child.setCloneRegs(r); err != nil {
		return nil, err
	}
	child.pc = parent.pc
	p.fam.procs = append(p.fam.procs, q)
	return child, nil
}

// become makes p, whose threads have all gone, run q's image instead of
// its own (execve by the root, whose Process the library user holds): p
// takes q's engine, memory and stack, and frees its old ones.
func (p *Process) become(q *Process) error {
	p.fam.gone += p.eng.Insns()
	err := p.eng.Close()
	if merr := p.mem.close(); err == nil {
		err = merr
	}
	p.img, p.cpu, p.cfg, p.eng, p.mem, p.stack = q.img, q.cpu, q.cfg, q.eng, q.mem, q.stack
	p.interp, p.objects, p.vdso, p.vdsoImage = q.interp, nil, q.vdso, q.vdsoImage
	p.mem.elsewhere = func() uint64 { return p.fam.committedExcept(p) }
	p.threads, p.active, p.cur = nil, nil, nil
	p.futexes, p.until = map[uint64][]*Thread{}, map[uint64]bool{}
	return err
}

// copyTouched copies src to dst, which is fresh (zero) memory, page by
// page, leaving out the pages that are all zero: most of a Go process's
// reservations were never touched, and writing them would make the host
// commit them.
func copyTouched(dst, src []byte, page int) {
	for off := 0; off < len(src); off += page {
		end := min(off+page, len(src))
		if !allZero(src[off:end]) {
			copy(dst[off:end], src[off:end])
		}
	}
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// startMain makes the main thread, with kernel state ks and tid tid,
// ready to run at the entry point. Linux starts a process with every
// register zero but SP and PC.
func (p *Process) startMain(ks *syscalls.Thread, tid int) (*Thread, error) {
	main, err := p.newThreadTID(ks, nil, tid)
	if err != nil {
		return nil, err
	}
	if tid >= p.fam.nextTID {
		p.fam.nextTID = tid + 1
	}
	a := p.arch
	if err := main.ctx.RegWriteBatch([]int{int(a.SP), int(a.PC)}, []uint64{p.stack.SP, p.entry()}); err != nil {
		return nil, err
	}
	main.pc = p.entry()
	return main, nil
}

// pid is the guest's process id, and the main thread's tid.
const pid = syscalls.DefaultPID

// exePath is the executable's path as the guest sees it: in
// /proc/self/exe and /proc/self/maps.
func (p *Process) exePath() string {
	if p.cfg.ExePath != "" {
		return p.cfg.ExePath
	}
	return guestExePath(p.img.Path)
}

// guestExePath is the absolute path the guest believes it was run from.
func guestExePath(host string) string {
	return "/" + path.Base(host)
}

// random16 derives the AT_RANDOM bytes from the seed.
func random16(seed uint64) [16]byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	sum := sha256.Sum256(append([]byte("gorunemu AT_RANDOM "), b[:]...))
	var r [16]byte
	copy(r[:], sum[:])
	return r
}

// mapImage maps the executable's PT_LOAD segments with their permissions
// and sets the program break after them.
func (p *Process) mapImage() error {
	if err := p.mapSegments(p.img, p.exePath()); err != nil {
		return err
	}
	p.mem.brkStart = p.mem.pageUp(p.img.BrkStart)
	p.mem.brk = p.mem.brkStart
	return nil
}

// mapSegments maps img's PT_LOAD segments, named name in
// /proc/self/maps, and fills them from the file.
func (p *Process) mapSegments(img *loader.Image, name string) error {
	as := p.mem
	for _, s := range img.Segments {
		start, end := as.pageDown(s.Addr), as.pageUp(s.Addr+s.MemSize)
		prot := syscalls.Prot(s.Prot)
		// Linux maps a segment over the page it shares with the previous
		// one; give the shared page the union of both permissions.
		if prev := as.lookup(start); prev != nil {
			if err := as.protect(start, as.page, prev.prot|prot); err != nil {
				return fmt.Errorf("emu: segment %d: %w", s.Index, err)
			}
			start += as.page
		}
		// The pages holding file bytes map the file; the .bss pages past
		// them are anonymous memory, as load_elf_binary maps them.
		fileEnd := min(end, max(start, as.pageUp(s.Addr+s.FileSize)))
		if start < fileEnd {
			if err := as.mapNew(start, fileEnd-start, prot, name, true); err != nil {
				return fmt.Errorf("emu: segment %d: %w", s.Index, err)
			}
			// The file offset of start, for /proc/self/maps.
			as.lookup(start).offset = as.pageDown(s.Off) + start - as.pageDown(s.Addr)
		}
		if fileEnd < end {
			if err := as.mapNew(fileEnd, end-fileEnd, prot, "", true); err != nil {
				return fmt.Errorf("emu: segment %d: %w", s.Index, err)
			}
		}
		if err := as.write(s.Addr, s.Data, true); err != nil {
			return fmt.Errorf("emu: segment %d: filling [%#x, %#x): %w", s.Index, s.Addr, s.Addr+uint64(len(s.Data)), err)
		}
	}
	return nil
}

// mapStack maps the stack and writes argv, envp and auxv into it.
func (p *Process) mapStack() error {
	a := p.arch
	random := random16(p.cfg.Seed)
	if p.cfg.Random != nil {
		random = *p.cfg.Random
	}
	st, err := loader.NewStack(p.img, loader.StackConfig{
		Argv:            p.cfg.Argv,
		Envp:            p.cfg.Env,
		ExecFn:          p.cfg.Argv[0],
		Random:          random,
		Top:             a.StackTop,
		Platform:        a.Machine,
		HWCAP:           p.cpu.HWCAP,
		HWCAP2:          p.cpu.HWCAP2,
		PageSize:        a.PageSize,
		MinSigStackSize: a.MinSigStackSize,
		InterpBase:      p.interpBase(),
		SysinfoEHDR:     p.vdso,
	})
	if err != nil {
		return err
	}
	p.stack = st
	if uint64(len(st.Data)) > a.StackSize {
		return fmt.Errorf("emu: initial stack of %d bytes exceeds the %d-byte stack", len(st.Data), a.StackSize)
	}
	if err := p.mem.mapNew(a.StackTop-a.StackSize, a.StackSize, syscalls.PROT_READ|syscalls.PROT_WRITE, "[stack]", true); err != nil {
		return err
	}
	return p.mem.write(st.Low, st.Data, false)
}

// Close frees the engine and all guest memory, and those of the
// processes it started. It is safe to call twice, and from another
// goroutine while Run runs: the run then ends with ErrClosed first.
func (p *Process) Close() error {
	p.closing.Store(true)
	_ = p.eng.Stop() // a Run in progress leaves the engine at once
	p.running.Lock()
	defer p.running.Unlock()
	if p.closed {
		return nil
	}
	err := p.fam.close()
	if cerr := p.closeEngine(); err == nil {
		err = cerr
	}
	if p.kernel != nil {
		if kerr := p.kernel.Close(); kerr != nil && err == nil {
			err = kerr
		}
	}
	return err
}

// closeEngine frees p's engine and memory; its kernel state may live on
// (in the process an execve made).
func (p *Process) closeEngine() error {
	if p.closed {
		return nil
	}
	p.closed = true
	for _, t := range p.threads {
		t.free()
	}
	err := p.eng.Close()
	if merr := p.mem.close(); merr != nil && err == nil {
		err = merr
	}
	return err
}

// Arch returns the guest architecture.
func (p *Process) Arch() *arch.Arch { return p.arch }

// Args returns the argument and environment strings the process was
// started with.
func (p *Process) Args() (argv, env []string) { return p.cfg.Argv, p.cfg.Env }

// Image returns the loaded executable.
func (p *Process) Image() *loader.Image { return p.img }

// Stack returns the initial stack as built at load time.
func (p *Process) Stack() *loader.Stack { return p.stack }

// Stats returns counts of what the process has done so far.
func (p *Process) Stats() Stats {
	s := p.stats
	s.Insns = p.eng.Insns()
	s.Processes, s.AllInsns = p.fam.started, p.fam.insns()
	s.Slept = time.Duration(p.fam.clockJump)
	s.Unimplemented = make(map[string]int, len(p.stats.Unimplemented))
	for k, v := range p.stats.Unimplemented {
		s.Unimplemented[k] = v
	}
	return s
}

// Insns is the number of instructions executed so far.
func (p *Process) Insns() uint64 { return p.eng.Insns() }

// ReadMem reads guest memory regardless of page protections; it fails
// only if part of the range is unmapped.
func (p *Process) ReadMem(addr uint64, b []byte) error {
	if err := p.mem.read(addr, b, true); err != nil {
		return &MemError{Addr: addr, Size: len(b), Op: "read"}
	}
	return nil
}

// WriteMem writes guest memory regardless of page protections; it fails
// only if part of the range is unmapped.
func (p *Process) WriteMem(addr uint64, b []byte) error {
	if err := p.mem.write(addr, b, true); err != nil {
		return &MemError{Addr: addr, Size: len(b), Op: "write"}
	}
	return nil
}

// ReadU64 reads a little-endian 64-bit word of guest memory.
func (p *Process) ReadU64(addr uint64) (uint64, error) {
	var b [8]byte
	if err := p.ReadMem(addr, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// MemError is a library access to guest memory that is not mapped.
type MemError struct {
	Op   string
	Addr uint64
	Size int
}

func (e *MemError) Error() string {
	return fmt.Sprintf("emu: %s of %d bytes at %#x: not mapped", e.Op, e.Size, e.Addr)
}

// Mappings lists the guest address space.
func (p *Process) Mappings() []syscalls.Mapping { return p.mem.list() }

// ErrClosed is returned when a closed Process is used.
var ErrClosed = errors.New("emu: process is closed")

// ReadFile reads the file at guest path path as the guest's main thread
// would open and read it: through the guest's root, with /proc/self and
// /proc/PID this process (its maps, auxv, status). For a debugger.
func (p *Process) ReadFile(path string) ([]byte, error) {
	data, _, err := p.kernel.ReadFileAs(&task{p: p, t: p.MainThread()}, path)
	return data, err
}

// Readlink reads the symbolic link at guest path path, as the guest sees
// it (/proc/PID/exe).
func (p *Process) Readlink(path string) (string, error) {
	return p.kernel.Readlink(path)
}
