package emu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/syscalls"
)

// task is the syscalls.Task of the thread making a syscall. The thread is
// the one loaded in the engine.
type task struct {
	p *Process
	t *Thread
	// yield asks the scheduler to run another thread after this call.
	yield bool
	// restarted: this dispatch redoes a call that blocked on an object.
	restarted, timedOut bool
}

var _ syscalls.Task = (*task)(nil)

func (k *task) Arch() *arch.Arch             { return k.p.arch }
func (k *task) Kernel() *syscalls.Kernel     { return k.t.k }
func (k *task) Thread() *syscalls.Thread     { return k.t.kstate }
func (k *task) TID() int                     { return k.t.TID }
func (k *task) Now() int64                   { return k.p.fam.now() }
func (k *task) Yield()                       { k.yield = true }
func (k *task) Mappings() []syscalls.Mapping { return k.p.mem.list() }

func (k *task) ReadMem(addr uint64, b []byte) error  { return k.p.mem.read(addr, b, false) }
func (k *task) WriteMem(addr uint64, b []byte) error { return k.p.mem.write(addr, b, false) }
func (k *task) FillMem(addr uint64, b []byte) error  { return k.p.mem.write(addr, b, true) }

func (k *task) Mmap(r syscalls.MapRequest) (uint64, error) { return k.p.mem.mmap(r) }
func (k *task) Munmap(addr, length uint64) error           { return k.p.mem.unmap(addr, length) }
func (k *task) Mprotect(addr, length uint64, prot syscalls.Prot) error {
	return k.p.mem.protect(addr, length, prot)
}
func (k *task) DiscardMem(addr, length uint64) error { return k.p.mem.discard(addr, length) }
func (k *task) Brk(addr uint64) uint64               { return k.p.mem.setBrk(addr) }

// TLS returns the calling thread's thread pointer register.
func (k *task) TLS() (uint64, error) { return k.p.eng.RegRead(int(k.p.arch.TLS)) }

// SetTLS sets the calling thread's thread pointer register.
func (k *task) SetTLS(v uint64) error { return k.p.eng.RegWrite(int(k.p.arch.TLS), v) }

// ReadRegs reads the calling thread's registers.
func (k *task) ReadRegs(regs []arch.Reg, vals []uint64) error { return k.t.Regs(regs, vals) }

// WriteRegs sets the calling thread's registers; a new PC is where the
// thread resumes.
func (k *task) WriteRegs(regs []arch.Reg, vals []uint64) error { return k.t.SetRegs(regs, vals) }

// ReadVec reads one of the calling thread's 128-bit registers.
func (k *task) ReadVec(r arch.Reg) (lo, hi uint64, err error) { return k.p.eng.RegRead128(int(r)) }

// WriteVec sets one of the calling thread's 128-bit registers.
func (k *task) WriteVec(r arch.Reg, lo, hi uint64) error { return k.p.eng.RegWrite128(int(r), lo, hi) }

// Clone starts a thread whose registers are the caller's as they are after
// the syscall instruction, except for the return value (0), the stack
// pointer and, with SetTLS, the thread pointer.
func (k *task) Clone(r syscalls.CloneRequest) (int, error) {
	p := k.p
	if len(p.fam.threads) >= p.cfg.MaxThreads {
		p.limitHit = &StopReason{Kind: StopThreadLimit, Limit: uint64(p.cfg.MaxThreads)}
		return 0, syscalls.EAGAIN
	}
	var child *Thread
	var err error
	if r.Process != nil && !r.ShareVM {
		if len(p.fam.procs) >= maxProcesses {
			k.note("%d processes with their own memory is gorunemu's limit", maxProcesses)
			return 0, syscalls.EAGAIN
		}
		if lim := p.cfg.MaxMem; lim != 0 && p.fam.committedExcept(nil)+p.mem.committed > lim {
			k.note("a copy of %d bytes would pass the memory limit", p.mem.committed)
			p.mem.limitHit = true // the run stops, as for a mapping past the limit
			return 0, syscalls.ENOMEM
		}
		if child, err = p.fork(k.t, r); err != nil {
			k.note("copying the address space: %v", err)
			return 0, syscalls.ENOMEM
		}
	} else {
		if child, err = p.newThread(r.Thread, r.Process); err != nil {
			return 0, err
		}
		if err := child.setCloneRegs(r); err != nil {
			return 0, err
		}
		child.pc = k.t.pc
	}
	if r.Process != nil {
		p.fam.started++
	}
	if p.cfg.Observer != nil {
		p.cfg.Observer.ThreadStarted(child, k.t)
	}
	if p.tracer != nil {
		p.tracer.threadStarted(child, k.t)
	}
	return child.TID, nil
}

// setCloneRegs gives a new thread, whose registers are a copy of its
// parent's, clone's result 0, and r's stack and thread pointer.
func (t *Thread) setCloneRegs(r syscalls.CloneRequest) error {
	a := t.p.arch
	regs, vals := []int{int(a.SyscallRet)}, []uint64{0}
	if r.Stack != 0 {
		regs, vals = append(regs, int(a.SP)), append(vals, r.Stack)
	}
	if r.SetTLS {
		regs, vals = append(regs, int(a.TLS)), append(vals, r.TLS)
	}
	return t.ctx.RegWriteBatch(regs, vals)
}

func (k *task) ExitThread(code int) {
	k.t.state = Exited
	k.t.exitCode = code
	k.p.retire(k.t)
	if k.p.cfg.Observer != nil {
		k.p.cfg.Observer.ThreadExited(k.t, code)
	}
	if k.p.tracer != nil {
		k.p.tracer.threadExited(k.t, code)
	}
	if len(k.p.fam.processThreads(k.t.k)) == 0 {
		k.p.fam.endProcess(k, k.t.k, syscalls.ExitStatus{Code: code})
	}
}

func (k *task) ExitGroup(code int) {
	k.p.fam.endProcess(k, k.t.k, syscalls.ExitStatus{Code: code})
}

func (k *task) KillProcess(pid, sig int) {
	if kern := k.p.fam.kernel(pid); kern != nil {
		k.p.fam.endProcess(k, kern, syscalls.ExitStatus{Signal: sig})
	}
}

func (k *task) FutexWait(addr uint64, val, mask uint32, deadline int64) (uint64, error) {
	var b [4]byte
	if err := k.ReadMem(addr, b[:]); err != nil {
		return 0, err
	}
	if binary.LittleEndian.Uint32(b[:]) != val {
		return 0, syscalls.EAGAIN
	}
	if deadline != syscalls.NoDeadline && deadline <= k.p.fam.now() {
		return 0, syscalls.ETIMEDOUT
	}
	k.p.block(k.t, addr, mask, 0, deadline)
	return 0, syscalls.ErrBlocked
}

func (k *task) FutexWake(addr uint64, mask uint32, n int) int {
	woken := 0
	for _, w := range append([]*Thread(nil), k.p.futexes[addr]...) {
		if woken >= n {
			break
		}
		if w.mask&mask != 0 {
			k.p.wake(w, 0, false)
			woken++
		}
	}
	return woken
}

func (k *task) Sleep(deadline int64) (uint64, error) {
	if deadline <= k.p.fam.now() {
		k.yield = true
		return 0, nil
	}
	k.p.block(k.t, 0, 0, 0, deadline)
	return 0, syscalls.ErrBlocked
}

func (k *task) Block(key uint64, deadline int64) (uint64, error) {
	if key == 0 {
		return 0, fmt.Errorf("emu: block on kernel object 0")
	}
	if deadline != syscalls.NoDeadline && deadline <= k.p.fam.now() {
		return 0, syscalls.ETIMEDOUT
	}
	k.p.block(k.t, 0, 0, key, deadline)
	return 0, syscalls.ErrBlocked
}

func (k *task) Notify(key uint64) int {
	q := append([]*Thread(nil), k.p.fam.objects[key]...)
	for _, w := range q {
		k.p.wake(w, 0, false)
	}
	return len(q)
}

func (k *task) Restarted() (restarted, timedOut bool) { return k.restarted, k.timedOut }

// Interrupt ends the syscall thread tid is blocked in, for a signal.
func (k *task) Interrupt(tid int) error {
	t := k.p.fam.thread(tid)
	if t == nil || t.state != Blocked || t.kstate.InVfork() {
		return nil // a vfork parent takes its signals after the child lets it go
	}
	return t.p.interrupt(t)
}

// Exec starts the image in r as a new process that takes over the
// calling thread's tid and kernel state; the thread is gone. A vfork
// child leaves its parent's address space untouched.
func (k *task) Exec(r syscalls.ExecRequest) ([]byte, error) {
	p, t := k.p, k.t
	img, err := loader.Parse(bytes.NewReader(r.Image), int64(len(r.Image)), r.Path)
	switch {
	case err != nil:
		k.note("%v", err)
		return nil, syscalls.ENOEXEC
	case img.Arch != p.arch:
		k.note("%s is for %s, the emulated CPU is %s", r.Path, img.Arch.Name, p.arch.Name)
		return nil, syscalls.ENOEXEC
	case t.k == p.fam.root.kernel && p.tracer != nil:
		k.note("execve by the first process is not emulated while tracing")
		return nil, syscalls.ENOSYS
	}
	if p.kernel != t.k && len(p.fam.procs) >= maxProcesses {
		k.note("%d processes with their own memory is gorunemu's limit", maxProcesses)
		return nil, syscalls.ENOMEM
	}
	cfg := p.fam.root.cfg
	cfg.Argv, cfg.Env, cfg.ExePath = r.Argv, r.Envp, r.Path
	cfg.Seed ^= uint64(t.TID) << 32 // AT_RANDOM differs from the parent's
	cfg.Random, cfg.Trace, cfg.Observer = nil, nil, nil
	if len(cfg.Argv) == 0 {
		cfg.Argv = []string{""} // the kernel passes an empty argv on; Go wants argv[0]
	}
	q, err := newProcess(img, cfg, p.fam, t.k, p.sysroot)
	if err != nil {
		k.note("%v", err)
		var ie *InterpError
		var errno syscalls.Errno
		switch {
		case errors.As(err, &ie) && errors.As(ie.Err, &errno):
			return nil, errno // ENOENT: the famous "no such file" for a missing loader
		case errors.As(err, &ie):
			return nil, syscalls.ELIBBAD // as load_elf_binary for an unusable interpreter
		}
		return nil, syscalls.ENOMEM
	}
	q.kernel = t.k
	// The point of no return: the caller's threads go (a vfork child has
	// only the one), and its own engine, if it had one, with them.
	for _, o := range p.fam.processThreads(t.k) {
		o.state = Exited
		o.p.retire(o)
	}
	switch {
	case p == p.fam.root && p.kernel == t.k:
		// The first process stays the Process its caller holds.
		if err := p.become(q); err != nil {
			return nil, err
		}
		q = p
		k.note("the first process now runs %s", r.Path)
	case p.kernel == t.k:
		p.fam.ended(p)
		p.fam.procs = append(p.fam.procs, q)
		k.note("process %d now runs %s, untraced", t.TID, r.Path)
	default:
		p.fam.procs = append(p.fam.procs, q)
		k.note("process %d now runs %s in an address space of its own, untraced", t.TID, r.Path)
	}
	if _, err := q.startMain(r.Thread, t.TID); err != nil {
		return nil, err
	}
	t.k.SetArgArea(q.stack.ArgStart, q.stack.ArgEnd, q.stack.EnvStart, q.stack.EnvEnd)
	return q.stack.AuxvBytes(), nil
}

// note adds to the trace line of the call being made.
func (k *task) note(format string, args ...any) { k.t.k.Note(format, args...) }
