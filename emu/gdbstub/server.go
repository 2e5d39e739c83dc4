// Package gdbstub serves an emulated process to gdb over the GDB remote
// serial protocol (the one gdbserver and qemu-user's -g speak): gdb (for
// amd64) or gdb-multiarch (for arm64) connects with "target remote
// HOST:PORT" and debugs the guest from its first instruction, every
// thread a gdb thread.
//
// What it answers: the target description (qXfer:features:read, with
// fs_base/gs_base on amd64 and tpidr on arm64), registers (g, G, p, P),
// memory (m, M, X), software and hardware breakpoints (Z0, Z1: stop
// addresses, hit before the instruction runs), continue and step (c, s,
// vCont), threads (qfThreadInfo, qXfer:threads:read with their names, H,
// T), the auxiliary vector (qXfer:auxv:read), the executable
// (qXfer:exec-file:read), Ctrl-C, detach and kill, and monitor commands
// (qRcmd), and watchpoints (Z2-Z4) that stop exactly at the access, by
// replay: only where the session can replay (Options.Replay).
package gdbstub

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/unicorn"
)

// Options configure a session.
type Options struct {
	// Monitor answers "monitor NAME ARGS" by NAME; "help" lists them.
	Monitor map[string]func(p *emu.Process, args string) string
	// Log, if set, receives every packet in and out (for debugging the
	// stub).
	Log io.Writer
	// Replay, if set, starts the same process afresh, to be run to an
	// earlier position: reverse execution (bs, bc) replays the
	// deterministic run from its start. The process it returns must
	// write nothing the first one already wrote.
	Replay func() (*emu.Process, error)
}

// Result says how a session ended.
type Result int

const (
	// Detached: gdb detached or went away; the process is stopped where
	// it was and the caller decides what follows (run it on).
	Detached Result = iota
	// Killed: gdb killed the process.
	Killed
	// Ended: the process ended (its stop was reported to gdb).
	Ended
)

// Server is one session.
type Server struct {
	p      *emu.Process
	a      *arch.Arch
	regs   []reg
	opts   Options
	conn   io.ReadWriter
	wmu    sync.Mutex // the reader's acks and the replies share w
	w      *bufio.Writer
	events chan event
	noAck  atomic.Bool // the reader acks packets until QStartNoAckMode
	breaks map[uint64]bool
	// watches are gdb's watchpoints (Z2 write, Z3 read, Z4 access).
	watches map[emu.Watchpoint]bool
	gTID    int // the thread 'g', 'p', 'm' refer to (Hg)
	// multi: gdb speaks the multiprocess extensions, so thread ids are
	// "pPID.TID" and gdb knows the guest's pid (info proc reads
	// /proc/PID/maps through vFile).
	multi bool
	files *guestFiles // the files gdb opened with vFile
	gone  bool        // gdb went away while the guest ran
	last  *emu.StopReason
	tl    *timeline // snapshots for going back (with Options.Replay)
}

// event is what the connection delivers: a packet, or Ctrl-C.
type event struct {
	packet    string
	interrupt bool
	err       error
}

// Serve answers gdb on conn until it detaches, kills the process or goes
// away, or the process ends. p must not have run yet or be stopped. It
// returns the last stop gdb saw (nil if it saw none), and the process
// the session ended with: p, or, after reverse execution, a replay of it
// (which the caller closes).
func Serve(conn io.ReadWriter, p *emu.Process, opts Options) (Result, *emu.StopReason, *emu.Process, error) {
	s, res, err := serve(conn, p, opts)
	return res, s.last, s.p, err
}

func newServer(conn io.ReadWriter, p *emu.Process, opts Options) *Server {
	s := &Server{
		p: p, a: p.Arch(), regs: registers(p.Arch()), opts: opts, conn: conn,
		w: bufio.NewWriter(conn), events: make(chan event, 16), breaks: map[uint64]bool{},
		watches: map[emu.Watchpoint]bool{}, files: &guestFiles{open: map[int][]byte{}},
		gTID: p.MainThread().TID, tl: newTimeline(),
	}
	if opts.Replay == nil {
		s.tl.off = true // what cannot replay cannot go back either
	}
	s.tl.take(p, 0)
	return s
}

func serve(conn io.ReadWriter, p *emu.Process, opts Options) (*Server, Result, error) {
	s := newServer(conn, p, opts)
	go s.read()
	for {
		ev := <-s.events
		switch {
		case ev.err != nil:
			if errors.Is(ev.err, io.EOF) {
				return s, Detached, nil // gdb went away: as a detach
			}
			return s, Ended, ev.err
		case ev.interrupt:
			continue // nothing is running
		}
		res, done, err := s.handle(ev.packet)
		if err != nil || done {
			return s, res, err
		}
	}
}

// read turns the byte stream into events. Acks ('+', '-') are dropped:
// the stream is reliable.
func (s *Server) read() {
	r := bufio.NewReader(s.conn)
	for {
		c, err := r.ReadByte()
		if err != nil {
			s.events <- event{err: err}
			return
		}
		switch c {
		case 0x03:
			s.events <- event{interrupt: true}
		case '$':
			data, err := r.ReadString('#')
			if err != nil {
				s.events <- event{err: err}
				return
			}
			var sum [2]byte
			if _, err := io.ReadFull(r, sum[:]); err != nil {
				s.events <- event{err: err}
				return
			}
			data = data[:len(data)-1]
			if want, err := strconv.ParseUint(string(sum[:]), 16, 8); err != nil || byte(want) != checksum(data) {
				s.sendRaw("-")
				continue
			}
			if !s.noAck.Load() {
				s.sendRaw("+")
			}
			s.events <- event{packet: unescape(data)}
		}
	}
}

func checksum(s string) byte {
	var c byte
	for i := 0; i < len(s); i++ {
		c += s[i]
	}
	return c
}

// unescape undoes the '}' escapes of binary data (X packets).
func unescape(s string) string {
	if !strings.Contains(s, "}") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '}' && i+1 < len(s) {
			i++
			b.WriteByte(s[i] ^ 0x20)
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// escape escapes binary data for a reply.
func escape(b []byte) string {
	var out strings.Builder
	for _, c := range b {
		switch c {
		case '#', '$', '}', '*':
			out.WriteByte('}')
			out.WriteByte(c ^ 0x20)
		default:
			out.WriteByte(c)
		}
	}
	return out.String()
}

func (s *Server) sendRaw(str string) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.w.WriteString(str)
	s.w.Flush()
}

// send sends one packet.
func (s *Server) send(data string) {
	if s.opts.Log != nil {
		fmt.Fprintf(s.opts.Log, "-> %s\n", data)
	}
	s.sendRaw(fmt.Sprintf("$%s#%02x", data, checksum(data)))
}

// handle answers one packet; done ends the session.
func (s *Server) handle(pkt string) (res Result, done bool, err error) {
	if s.opts.Log != nil {
		fmt.Fprintf(s.opts.Log, "<- %s\n", pkt)
	}
	if pkt == "" {
		s.send("")
		return 0, false, nil
	}
	switch pkt[0] {
	case '?':
		s.send(s.stopReply(s.last))
	case 'g':
		s.send(s.readRegs())
	case 'G':
		s.send(s.changed(s.writeRegs(pkt[1:])))
	case 'p':
		s.send(s.readOneReg(pkt[1:]))
	case 'P':
		s.send(s.changed(s.writeOneReg(pkt[1:])))
	case 'm':
		s.send(s.readMem(pkt[1:]))
	case 'M':
		s.send(s.changed(s.writeMem(pkt[1:], true)))
	case 'X':
		s.send(s.changed(s.writeMem(pkt[1:], false)))
	case 'Z', 'z':
		s.send(s.breakpoint(pkt))
	case 'H':
		s.send(s.setThread(pkt[1:]))
	case 'T':
		s.send(s.threadAlive(pkt[1:]))
	case 'b':
		if pkt == "bs" || pkt == "bc" {
			return s.reverse(pkt == "bc")
		}
		s.send("")
	case 'c', 'C':
		return s.resume(false, 0)
	case 's', 'S':
		return s.resume(true, s.gTID)
	case 'k':
		return Killed, true, nil
	case 'D':
		s.send("OK")
		return Detached, true, nil
	case 'v':
		return s.vPacket(pkt)
	case 'q', 'Q':
		s.send(s.query(pkt))
		if pkt == "QStartNoAckMode" {
			s.noAck.Store(true) // from the packet after its OK
		}
	default:
		s.send("")
	}
	return 0, false, nil
}

// vPacket answers vCont, vKill and the rest.
func (s *Server) vPacket(pkt string) (Result, bool, error) {
	switch {
	case pkt == "vCont?":
		s.send("vCont;c;C;s;S")
	case strings.HasPrefix(pkt, "vCont;"):
		// The first action with a thread that steps decides; the rest
		// continue (all-stop: every thread runs while one steps only in
		// that no other thread is scheduled during its instruction).
		for _, action := range strings.Split(pkt[len("vCont;"):], ";") {
			op, tid, _ := strings.Cut(action, ":")
			if op != "" && (op[0] == 's' || op[0] == 'S') {
				t := s.gTID
				if n, ok := s.parseTID(tid); ok && n > 0 {
					t = n
				}
				return s.resume(true, t)
			}
		}
		return s.resume(false, 0)
	case strings.HasPrefix(pkt, "vFile:"):
		op, args, _ := strings.Cut(pkt[len("vFile:"):], ":")
		s.send(s.vFile(op, args))
	case strings.HasPrefix(pkt, "vKill"):
		s.send("OK")
		return Killed, true, nil
	default:
		s.send("")
	}
	return 0, false, nil
}

// resume continues the process, or steps thread tid, and reports the
// stop. Ctrl-C while it runs stops it.
func (s *Server) resume(step bool, tid int) (Result, bool, error) {
	if s.last != nil && ended(s.last) {
		s.send(s.stopReply(s.last))
		return Ended, true, nil
	}
	var r *emu.StopReason
	var err error
	stepBlocked := 0
	if step {
		r, err = s.p.StepWatching(tid, s.watchList())
		if errors.Is(err, emu.ErrBlocked) {
			// A thread in a blocking syscall steps as on Linux: the others
			// run until its syscall returns, then it runs one instruction.
			step, err, stepBlocked = false, nil, tid
		}
	}
	if !step {
		r, err = s.run(stepBlocked)
	}
	if s.gone {
		return Detached, true, err
	}
	if err == nil && len(r.Watches) > 0 {
		r, err = s.atWatch(r, r.Watches[0])
	}
	if err != nil {
		s.send("E01")
		return Ended, true, err
	}
	s.last = r
	if r.TID != 0 && r.Kind != emu.StopExited && r.Kind != emu.StopKilled {
		s.gTID = r.TID
	}
	if msg := s.stopMessage(r); msg != "" {
		s.send("O" + hex.EncodeToString([]byte(msg)))
	}
	s.send(s.stopReply(r))
	if ended(r) {
		return Ended, false, nil // gdb may still read the exit status
	}
	return 0, false, nil
}

// run runs the process until a breakpoint, an end or Ctrl-C, or, if
// stepTID is not zero, until that thread has run one instruction.
func (s *Server) run(stepTID int) (*emu.StopReason, error) {
	addrs := s.breakList()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type done struct {
		r   *emu.StopReason
		err error
	}
	ch := make(chan done, 1)
	until := emu.Until{Addrs: addrs, Watches: s.watchList(), Step: stepTID}
	go func() {
		r, err := s.runRecording(ctx, until)
		ch <- done{r, err}
	}()
	for {
		select {
		case d := <-ch:
			return d.r, d.err
		case ev := <-s.events:
			switch {
			case ev.interrupt:
				cancel()
			case ev.err != nil:
				s.gone = true // gdb went away: stop, and let go as on a detach
				cancel()
			default:
				// A packet while running: only Ctrl-C is expected.
			}
		}
	}
}

// ended reports whether r is the end of the process.
func ended(r *emu.StopReason) bool {
	return r.Kind == emu.StopExited || r.Kind == emu.StopKilled
}

// stopReply is the packet for stop r (nil: the initial stop).
func (s *Server) stopReply(r *emu.StopReason) string {
	tid := s.gTID
	sig := 5 // SIGTRAP
	extra := ""
	if r != nil {
		switch r.Kind {
		case emu.StopExited:
			return fmt.Sprintf("W%02x", r.Code&0xff) + s.process()
		case emu.StopKilled:
			return fmt.Sprintf("X%02x", r.Signal&0xff) + s.process()
		case emu.StopUntil:
			if s.breaks[r.PC] {
				extra = "swbreak:;"
			}
		case emu.StopCanceled:
			sig = 2 // SIGINT
		case emu.StopFault:
			if r.Fault != nil {
				sig = r.Fault.Signal
			}
		}
		if r.TID != 0 {
			tid = r.TID
		}
		if len(r.Watches) > 0 {
			w := r.Watches[0]
			extra = fmt.Sprintf("%s:%x;", s.watchReason(w), w.Addr)
			tid, sig = w.TID, 5
		}
	}
	return fmt.Sprintf("T%02xthread:%s;%s", sig, s.tid(tid), extra)
}

// stopMessage says on gdb's console why the process stopped when gdb
// would not otherwise know (a limit, a deadlock).
func (s *Server) stopMessage(r *emu.StopReason) string {
	switch r.Kind {
	case emu.StopUntil, emu.StopStepped, emu.StopCanceled, emu.StopExited, emu.StopKilled, emu.StopWatch:
		return ""
	}
	return "gorunemu: " + r.String() + "\n"
}

// thread returns the thread 'g' and friends refer to.
func (s *Server) thread() *emu.Thread {
	if t := s.p.Thread(s.gTID); t != nil && t.State() != emu.Exited {
		return t
	}
	return s.p.MainThread()
}

func (s *Server) readRegs() string {
	t := s.thread()
	var b strings.Builder
	for _, r := range s.regs {
		v, err := readReg(t, r)
		if err != nil {
			return "E01"
		}
		b.WriteString(hex.EncodeToString(v))
	}
	return b.String()
}

// changed passes on a write's reply; after a write that took, the
// snapshots past this point no longer show what comes.
func (s *Server) changed(reply string) string {
	if reply == "OK" {
		s.tl.forgetAfter(s.p.Position())
	}
	return reply
}

func (s *Server) writeRegs(h string) string {
	data, err := hex.DecodeString(h)
	if err != nil {
		return "E01"
	}
	t := s.thread()
	for _, r := range s.regs {
		n := r.bits / 8
		if len(data) < n {
			break
		}
		if err := writeReg(t, r, data[:n]); err != nil {
			return "E01"
		}
		data = data[n:]
	}
	return "OK"
}

func (s *Server) readOneReg(arg string) string {
	n, err := strconv.ParseUint(arg, 16, 32)
	if err != nil || int(n) >= len(s.regs) {
		return "E01"
	}
	v, err := readReg(s.thread(), s.regs[n])
	if err != nil {
		return "E01"
	}
	return hex.EncodeToString(v)
}

func (s *Server) writeOneReg(arg string) string {
	num, val, ok := strings.Cut(arg, "=")
	n, err := strconv.ParseUint(num, 16, 32)
	if !ok || err != nil || int(n) >= len(s.regs) {
		return "E01"
	}
	data, err := hex.DecodeString(val)
	if err != nil || writeReg(s.thread(), s.regs[n], data) != nil {
		return "E01"
	}
	return "OK"
}

// parseAddrLen parses "ADDR,LEN".
func parseAddrLen(arg string) (addr, n uint64, err error) {
	a, l, ok := strings.Cut(arg, ",")
	if !ok {
		return 0, 0, errors.New("no length")
	}
	if addr, err = strconv.ParseUint(a, 16, 64); err != nil {
		return 0, 0, err
	}
	n, err = strconv.ParseUint(l, 16, 32)
	return addr, n, err
}

// maxMem bounds one memory read: gdb's PacketSize.
const maxMem = 0x2000

func (s *Server) readMem(arg string) string {
	addr, n, err := parseAddrLen(arg)
	if err != nil {
		return "E01"
	}
	n = min(n, maxMem)
	b := make([]byte, n)
	if s.p.ReadMem(addr, b) != nil {
		// Return what can be read up to the first unreadable byte.
		k := 0
		for ; k < len(b); k++ {
			if s.p.ReadMem(addr+uint64(k), b[k:k+1]) != nil {
				break
			}
		}
		if k == 0 {
			return "E14" // EFAULT
		}
		b = b[:k]
	}
	return hex.EncodeToString(b)
}

func (s *Server) writeMem(arg string, hexData bool) string {
	head, body, ok := strings.Cut(arg, ":")
	addr, n, err := parseAddrLen(head)
	if !ok || err != nil {
		return "E01"
	}
	data := []byte(body)
	if hexData {
		if data, err = hex.DecodeString(body); err != nil {
			return "E01"
		}
	}
	if uint64(len(data)) != n {
		return "E01"
	}
	if n > 0 && s.p.WriteMem(addr, data) != nil {
		return "E14"
	}
	return "OK"
}

// breakpoint sets or clears a software or hardware breakpoint (both are
// stop addresses) or a watchpoint. Watchpoints stop exactly at the
// access only through a replay (see atWatch): without one they are not
// offered, and gdb single-steps software watchpoints instead.
func (s *Server) breakpoint(pkt string) string {
	parts := strings.Split(pkt[1:], ",")
	if len(parts) < 3 {
		return "E01"
	}
	addr, err := strconv.ParseUint(parts[1], 16, 64)
	if err != nil {
		return "E01"
	}
	set := pkt[0] == 'Z'
	switch parts[0] {
	case "0", "1":
		if set {
			s.breaks[addr] = true
		} else {
			delete(s.breaks, addr)
		}
		return "OK"
	case "2", "3", "4":
		if s.opts.Replay == nil {
			return ""
		}
		n, err := strconv.ParseUint(parts[2], 16, 64)
		if err != nil || n == 0 {
			return "E01"
		}
		w := emu.Watchpoint{Addr: addr, Len: n, Kind: map[string]emu.WatchKind{"2": emu.WatchWrite, "3": emu.WatchRead, "4": emu.WatchAccess}[parts[0]]}
		if set {
			if len(s.watches) == maxWatches && !s.watches[w] {
				return "E01" // gdb then says it cannot insert it
			}
			s.watches[w] = true
		} else {
			delete(s.watches, w)
		}
		return "OK"
	}
	return ""
}

// maxWatches is how many watchpoints gdb may set: the engine's limit.
const maxWatches = unicorn.MaxWatchStops

// breakList is gdb's breakpoint addresses in order.
func (s *Server) breakList() []uint64 {
	var addrs []uint64
	for a := range s.breaks {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i] < addrs[j] })
	return addrs
}

// watchList is gdb's watchpoints in a fixed order.
func (s *Server) watchList() []emu.Watchpoint {
	var ws []emu.Watchpoint
	for w := range s.watches {
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool {
		if ws[i].Addr != ws[j].Addr {
			return ws[i].Addr < ws[j].Addr
		}
		if ws[i].Len != ws[j].Len {
			return ws[i].Len < ws[j].Len
		}
		return ws[i].Kind < ws[j].Kind
	})
	return ws
}

// watchReason names the stop for access h as gdb's watchpoint kinds do:
// "watch" (write), "rwatch" (read) or "awatch" (access), after the
// watchpoint it hit; an access watchpoint answers for both.
func (s *Server) watchReason(h emu.WatchHit) string {
	byAccess := "rwatch"
	if h.Write {
		byAccess = "watch"
	}
	reason := ""
	for _, w := range s.watchList() {
		if h.Addr < w.Addr || h.Addr >= w.Addr+w.Len {
			continue
		}
		switch {
		case w.Kind == emu.WatchWrite && h.Write, w.Kind == emu.WatchRead && !h.Write:
			return byAccess
		case w.Kind == emu.WatchAccess:
			reason = "awatch"
		}
	}
	if reason == "" { // a watchpoint removed since: its kind by the access
		reason = byAccess
	}
	return reason
}

// atWatch brings the session to watchpoint access h exactly, by running a
// replay to it: the engine stops a few instructions past an access (at
// the end of its block). gdb wants amd64's watchpoints reported after
// the access, as x86 debug registers trap, and arm64's before it, as
// AArch64 watchpoints do (gdb steps over those itself). r is the stop
// the session is at; the one returned carries h.
func (s *Server) atWatch(r *emu.StopReason, h emu.WatchHit) (*emu.StopReason, error) {
	want := h.Position
	if s.a == arch.AMD64 {
		want++
	}
	if s.p.Position() != want {
		var err error
		if r, err = s.seek(want, emu.Until{}); err != nil {
			return nil, err
		}
	}
	return watchStop(r, h), nil
}

// watchStop is stop r reported as access h: by h's thread.
func watchStop(r *emu.StopReason, h emu.WatchHit) *emu.StopReason {
	out := *r
	out.Kind, out.TID, out.Watches = emu.StopWatch, h.TID, []emu.WatchHit{h}
	return &out
}

// pid is the guest process's id: its main thread's.
func (s *Server) pid() int { return s.p.MainThread().TID }

// tid formats a thread id as gdb expects it.
func (s *Server) tid(tid int) string {
	if s.multi {
		return fmt.Sprintf("p%x.%x", s.pid(), tid)
	}
	return strconv.FormatInt(int64(tid), 16)
}

// process is the ";process:PID" an exit reply carries under multiprocess.
func (s *Server) process() string {
	if s.multi {
		return fmt.Sprintf(";process:%x", s.pid())
	}
	return ""
}

// parseTID reads a thread id: "TID", "pPID.TID", "pPID" (any thread of
// it: 0), "0" (any) or "-1" (all: -1).
func (s *Server) parseTID(id string) (int, bool) {
	if rest, ok := strings.CutPrefix(id, "p"); ok {
		_, id, ok = strings.Cut(rest, ".")
		if !ok {
			return 0, true
		}
	}
	if id == "-1" {
		return -1, true
	}
	n, err := strconv.ParseInt(id, 16, 32)
	return int(n), err == nil
}

func (s *Server) setThread(arg string) string {
	if len(arg) < 2 {
		return "E01"
	}
	n, ok := s.parseTID(arg[1:])
	switch {
	case !ok:
		return "E01"
	case n <= 0:
		return "OK"
	}
	if arg[0] == 'g' {
		if t := s.p.Thread(n); t == nil || t.State() == emu.Exited {
			return "E01"
		}
		s.gTID = n
	}
	return "OK"
}

func (s *Server) threadAlive(arg string) string {
	n, ok := s.parseTID(arg)
	if !ok {
		return "E01"
	}
	if t := s.p.Thread(n); t != nil && t.State() != emu.Exited {
		return "OK"
	}
	return "E01"
}

// live returns the threads that have not exited.
func (s *Server) live() []*emu.Thread {
	var out []*emu.Thread
	for _, t := range s.p.Threads() {
		if t.State() != emu.Exited {
			out = append(out, t)
		}
	}
	return out
}

// query answers q and Q packets.
func (s *Server) query(pkt string) string {
	name, arg, _ := strings.Cut(pkt, ":")
	switch {
	case name == "qSupported":
		s.multi = strings.Contains(arg, "multiprocess+")
		features := "PacketSize=47ff;multiprocess+;qXfer:features:read+;qXfer:auxv:read+;qXfer:threads:read+;qXfer:exec-file:read+;QStartNoAckMode+;swbreak+;hwbreak+;vContSupported+"
		if s.opts.Replay != nil {
			features += ";ReverseStep+;ReverseContinue+"
		}
		return features
	case name == "QStartNoAckMode":
		return "OK"
	case name == "qAttached":
		return "0" // gdb's kill on quit
	case name == "qC":
		return "QC" + s.tid(s.gTID)
	case name == "qfThreadInfo":
		var ids []string
		for _, t := range s.live() {
			ids = append(ids, s.tid(t.TID))
		}
		return "m" + strings.Join(ids, ",")
	case name == "qsThreadInfo":
		return "l"
	case strings.HasPrefix(pkt, "qThreadExtraInfo,"):
		n, ok := s.parseTID(pkt[len("qThreadExtraInfo,"):])
		t := s.p.Thread(n)
		if !ok || t == nil {
			return "E01"
		}
		return hex.EncodeToString([]byte(t.Name() + " " + t.State().String()))
	case name == "qXfer":
		return s.xfer(arg)
	case strings.HasPrefix(pkt, "qRcmd,"):
		return s.monitor(pkt[len("qRcmd,"):])
	case name == "qSymbol":
		return "OK"
	case name == "qOffsets":
		return ""
	}
	return ""
}

// xfer answers qXfer:OBJECT:read:ANNEX:OFF,LEN.
func (s *Server) xfer(arg string) string {
	parts := strings.SplitN(arg, ":", 4)
	if len(parts) != 4 || parts[1] != "read" {
		return ""
	}
	off, n, err := parseAddrLen(parts[3])
	if err != nil {
		return "E01"
	}
	var data []byte
	switch parts[0] {
	case "features":
		if parts[2] != "target.xml" {
			return "E00"
		}
		data = []byte(targetXML(s.a))
	case "auxv":
		data = s.p.Stack().AuxvBytes()
	case "threads":
		var b strings.Builder
		b.WriteString("<?xml version=\"1.0\"?>\n<threads>\n")
		for _, t := range s.live() {
			fmt.Fprintf(&b, "  <thread id=\"%s\" core=\"0\" name=%q/>\n", s.tid(t.TID), t.Name())
		}
		b.WriteString("</threads>\n")
		data = []byte(b.String())
	case "exec-file":
		data = []byte(s.p.Image().Path)
	default:
		return ""
	}
	if off >= uint64(len(data)) {
		return "l"
	}
	end := min(uint64(len(data)), off+n)
	kind := "m"
	if end == uint64(len(data)) {
		kind = "l"
	}
	return kind + escape(data[off:end])
}

// monitor runs "monitor CMD" and sends its output to gdb's console.
func (s *Server) monitor(hexCmd string) string {
	raw, err := hex.DecodeString(hexCmd)
	if err != nil {
		return "E01"
	}
	name, args, _ := strings.Cut(strings.TrimSpace(string(raw)), " ")
	var out string
	if fn, ok := s.opts.Monitor[name]; ok {
		out = fn(s.p, strings.TrimSpace(args))
	} else {
		var names []string
		for n := range s.opts.Monitor {
			names = append(names, n)
		}
		sort.Strings(names)
		out = "gorunemu monitor commands: " + strings.Join(names, ", ") + "\n"
		if name != "help" && name != "" {
			out = fmt.Sprintf("unknown monitor command %q\n", name) + out
		}
	}
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return hex.EncodeToString([]byte(out))
}

// reverse goes back: one instruction (bs), or to the last breakpoint hit
// or watchpoint access before this point (bc), by running a fresh replay
// of the process to that position. At the start of the run it says so
// (replaylog:begin).
func (s *Server) reverse(toBreakpoint bool) (Result, bool, error) {
	if s.opts.Replay == nil {
		s.send("E01")
		return 0, false, nil
	}
	now := s.p.Position()
	var last *hit
	target := uint64(0)
	if now > 0 && !toBreakpoint {
		target = now - 1
	}
	if toBreakpoint && now > 0 {
		hits, err := s.hitsBefore(now)
		if err != nil {
			s.send("E01")
			return Ended, true, err
		}
		if len(hits) > 0 {
			last = &hits[len(hits)-1]
			target = last.pos
			if last.watch != nil && s.a == arch.ARM64 {
				// gdb steps over an AArch64 watchpoint's access itself,
				// backwards here: it stops after the access and lets
				// gdb step back before it.
				target++
			}
		}
	}
	r, err := s.seek(target, emu.Until{})
	if err != nil {
		s.send("E01")
		return Ended, true, err
	}
	s.last = r
	if r.TID != 0 {
		s.gTID = r.TID
	}
	switch {
	case last != nil && last.watch != nil:
		s.last = watchStop(r, *last.watch)
		s.gTID = last.tid
		s.send(s.stopReply(s.last))
	case last != nil:
		s.gTID = last.tid
		s.send(fmt.Sprintf("T05thread:%s;swbreak:;", s.tid(s.gTID)))
	default:
		reply := fmt.Sprintf("T05thread:%s;", s.tid(s.gTID))
		if target == 0 {
			reply += "replaylog:begin;"
		}
		s.send(reply)
	}
	return 0, false, nil
}

// hit is a breakpoint reached, or a watchpoint's memory accessed (watch),
// at a position, by a thread.
type hit struct {
	pos   uint64
	tid   int
	watch *emu.WatchHit
}

// hitsBefore lists, in order, where the run up to position now reached a
// breakpoint and where an instruction accessed a watchpoint's memory, as
// far back as the last of them: the stops reverse-continue can go back
// to. It runs again the stretch from the latest snapshot to now, then
// the one before, until one holds a hit (or, without snapshots, replays
// from the start). Going backwards, an access stops right before its
// instruction (which gdb then shows as the change).
func (s *Server) hitsBefore(now uint64) ([]hit, error) {
	if len(s.breaks) == 0 && len(s.watches) == 0 {
		return nil, nil
	}
	until := emu.Until{Addrs: s.breakList(), Watches: s.watchList()}
	for end := now; ; {
		from := uint64(0)
		if snap := s.tl.before(end - 1); snap != nil {
			from = snap.Position()
		}
		if _, err := s.seek(from, emu.Until{}); err != nil {
			return nil, err
		}
		hits, err := s.hitsUpTo(end, until)
		if err != nil || len(hits) > 0 || from == 0 {
			return hits, err
		}
		end = from
	}
}

// hitsUpTo runs s.p up to position end, listing the stops on the way.
func (s *Server) hitsUpTo(end uint64, until emu.Until) ([]hit, error) {
	q := s.p
	var hits []hit
	for {
		r, err := q.RunTo(context.Background(), until, end)
		if err != nil {
			return nil, err
		}
		for i := range r.Watches {
			if w := &r.Watches[i]; w.Position < end {
				hits = append(hits, hit{w.Position, w.TID, w})
			}
		}
		if r.Kind == emu.StopUntil && q.Position() < end {
			hits = append(hits, hit{q.Position(), r.TID, nil})
		}
		if r.Kind != emu.StopUntil && r.Kind != emu.StopWatch || q.Position() >= end {
			// Watch accesses and breakpoints of one block come in one stop.
			sort.SliceStable(hits, func(i, j int) bool { return hits[i].pos < hits[j].pos })
			return hits, nil
		}
	}
}
