package gdbstub

import (
	"bufio"
	"context"
	"fmt"
	"math/bits"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	loadertest.Cleanup()
	os.Exit(code)
}

// client speaks the protocol's framing, as gdb does.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func (c *client) send(data string) {
	var sum byte
	for i := 0; i < len(data); i++ {
		sum += data[i]
	}
	_, err := fmt.Fprintf(c.conn, "$%s#%02x", data, sum)
	require.NoError(c.t, err)
}

// reply returns the next packet's data, skipping acks.
func (c *client) reply() string {
	c.t.Helper()
	require.NoError(c.t, c.conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	for {
		b, err := c.r.ReadByte()
		require.NoError(c.t, err)
		if b != '$' {
			continue
		}
		data, err := c.r.ReadString('#')
		require.NoError(c.t, err)
		_, err = c.r.Discard(2)
		require.NoError(c.t, err)
		return strings.TrimSuffix(data, "#")
	}
}

func (c *client) ask(data string) string {
	c.t.Helper()
	c.send(data)
	return c.reply()
}

// sessionEnd is how a session served in a test ended, and the process
// it ended with.
type sessionEnd struct {
	res Result
	q   *emu.Process
	err error
}

// connect serves p over TCP to a new client, as gorunemu --gdb does, and
// returns the client and where the session's end is reported.
func connect(t *testing.T, p *emu.Process, opts Options) (*client, <-chan sessionEnd) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	cli, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { cli.Close() })
	srv, err := ln.Accept()
	require.NoError(t, err)
	done := make(chan sessionEnd, 1)
	go func() {
		res, _, q, err := Serve(srv, p, opts)
		srv.Close()
		done <- sessionEnd{res, q, err}
	}()
	return &client{t: t, conn: cli, r: bufio.NewReader(cli)}, done
}

// TestInterruptAndPackets: a continued guest that loops forever stops at
// Ctrl-C (T02, SIGINT) with its thread; the target description, thread
// list, registers and memory answer as gdb reads them; an unknown packet
// gets the empty reply; kill ends the session.
func TestInterruptAndPackets(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			p, err := emu.Open(loadertest.Build(t, "loop", a.Name), emu.Config{})
			require.NoError(t, err)
			defer p.Close()
			c, done := connect(t, p, Options{})
			assert.Contains(t, c.ask("qSupported:swbreak+"), "qXfer:features:read+")
			assert.Equal(t, fmt.Sprintf("T05thread:%x;", p.MainThread().TID), c.ask("?"))
			// The description comes in parts: 'm' while there is more, 'l' last.
			var xml string
			for {
				part := c.ask(fmt.Sprintf("qXfer:features:read:target.xml:%x,7ff", len(xml)))
				require.NotEmpty(t, part)
				xml += part[1:]
				if part[0] == 'l' {
					break
				}
				require.Equal(t, byte('m'), part[0])
			}
			assert.True(t, strings.HasSuffix(xml, "</target>\n"))
			assert.Contains(t, xml, map[string]string{"amd64": `name="fs_base"`, "arm64": `name="tpidr"`}[a.Name])
			assert.Equal(t, fmt.Sprintf("m%x", p.MainThread().TID), c.ask("qfThreadInfo"))
			assert.Equal(t, "l", c.ask("qsThreadInfo"))
			regs := c.ask("g")
			assert.Equal(t, totalBytes(a)*2, len(regs), "every register of the description")
			entry := p.Image().Entry
			assert.Equal(t, fmt.Sprintf("%016x", swap(entry)), c.ask(fmt.Sprintf("p%x", pcIndex(a))), "PC at the entry point")
			assert.Regexp(t, `^[0-9a-f]{8}$`, c.ask(fmt.Sprintf("m%x,4", entry)))
			assert.Equal(t, "E14", c.ask("m8,4"), "unmapped memory")
			assert.Equal(t, "", c.ask("vFlashDone"), "unknown packets get the empty reply")
			assert.Equal(t, "", c.ask(fmt.Sprintf("Z2,%x,8", entry)), "no watchpoints without a replay: gdb single-steps software ones")
			assert.Equal(t, "OK", c.ask(fmt.Sprintf("Z1,%x,1", entry)))
			assert.Equal(t, "OK", c.ask(fmt.Sprintf("z1,%x,1", entry)))

			c.send("c")
			time.Sleep(200 * time.Millisecond)
			_, err = c.conn.Write([]byte{0x03})
			require.NoError(t, err)
			// The stop names the thread that ran last: the loop, or one of
			// the runtime's threads if Ctrl-C came during its slice.
			stop := c.reply()
			require.Regexp(t, `^T02thread:[0-9a-f]+;$`, stop, "Ctrl-C stops the loop")
			// (Asked over the protocol: this goroutine may not read p while
			// the session serves it.)
			assert.Equal(t, "OK", c.ask("T"+strings.TrimSuffix(strings.TrimPrefix(stop, "T02thread:"), ";")), "a live thread")
			c.send("k")
			r := <-done
			require.NoError(t, r.err)
			assert.Greater(t, p.Insns(), uint64(0), "it ran")
			assert.Equal(t, Killed, r.res)
		})
	}
}

func totalBytes(a *arch.Arch) int {
	n := 0
	for _, r := range registers(a) {
		n += r.bits / 8
	}
	return n
}

func pcIndex(a *arch.Arch) int {
	for i, r := range registers(a) {
		if r.uc == a.PC {
			return i
		}
	}
	return -1
}

// swap returns v's bytes in the other order: the packet's little-endian
// hex read as a number.
func swap(v uint64) uint64 {
	var out uint64
	for i := 0; i < 8; i++ {
		out = out<<8 | v>>(8*i)&0xff
	}
	return out
}

// TestGoneWhileRunning: gdb going away while the guest runs stops the
// run and ends the session as a detach, so the run can go on.
func TestGoneWhileRunning(t *testing.T) {
	p, err := emu.Open(loadertest.Build(t, "loop", "amd64"), emu.Config{})
	require.NoError(t, err)
	defer p.Close()
	c, done := connect(t, p, Options{})
	c.ask("qSupported")
	c.send("c")
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, c.conn.Close())
	select {
	case e := <-done:
		assert.NoError(t, e.err)
		assert.Equal(t, Detached, e.res)
	case <-time.After(30 * time.Second):
		t.Fatal("the session did not end")
	}
}

// TestMultiprocessAndFiles: with gdb's multiprocess extensions thread ids
// are pPID.TID, and vFile reads the guest's files as the guest sees them
// (its /proc/PID/maps for info proc mappings), read-only.
func TestMultiprocessAndFiles(t *testing.T) {
	p, err := emu.Open(loadertest.Build(t, "loop", "amd64"), emu.Config{})
	require.NoError(t, err)
	defer p.Close()
	c, done := connect(t, p, Options{})
	pid := p.MainThread().TID
	assert.Contains(t, c.ask("qSupported:multiprocess+;swbreak+"), "multiprocess+")
	assert.Equal(t, fmt.Sprintf("T05thread:p%x.%x;", pid, pid), c.ask("?"))
	assert.Equal(t, fmt.Sprintf("mp%x.%x", pid, pid), c.ask("qfThreadInfo"))
	assert.Equal(t, "OK", c.ask(fmt.Sprintf("Hgp%x.%x", pid, pid)))
	assert.Equal(t, "OK", c.ask(fmt.Sprintf("Tp%x.%x", pid, pid)))
	assert.Equal(t, "E01", c.ask(fmt.Sprintf("Tp%x.%x", pid, pid+7)))

	hexName := func(s string) string { return fmt.Sprintf("%x", s) }
	assert.Equal(t, "F0", c.ask("vFile:setfs:0"))
	assert.Equal(t, "F1", c.ask("vFile:open:"+hexName(fmt.Sprintf("/proc/%d/maps", pid))+",0,0"))
	maps := c.ask("vFile:pread:1,4000,0")
	assert.Regexp(t, `^F[0-9a-f]+;00400000-`, maps)
	assert.Contains(t, maps, "[stack]\n")
	assert.Regexp(t, `^F40;`, c.ask("vFile:fstat:1"))
	assert.Equal(t, "F0", c.ask("vFile:close:1"))
	assert.Equal(t, "F-1,9", c.ask("vFile:close:1"), "EBADF")
	// A thread's maps are its process's (gdb looks for the vDSO there).
	assert.Equal(t, "F2", c.ask("vFile:open:"+hexName(fmt.Sprintf("/proc/%d/task/%d/maps", pid, pid))+",0,0"))
	assert.Equal(t, maps, c.ask("vFile:pread:2,4000,0"))
	assert.Equal(t, "F-1,2", c.ask("vFile:open:"+hexName(fmt.Sprintf("/proc/%d/task/%d/maps", pid, pid+5))+",0,0"), "no such thread")
	assert.Equal(t, "F-1,2", c.ask("vFile:open:"+hexName("/no/such")+",0,0"), "ENOENT")
	assert.Equal(t, "F-1,1e", c.ask("vFile:open:"+hexName("/proc/self/maps")+",1,0"), "EROFS")
	assert.Regexp(t, `^F[0-9a-f]+;/loop$`, c.ask("vFile:readlink:"+hexName(fmt.Sprintf("/proc/%d/exe", pid))))
	c.send("k")
	e := <-done
	assert.NoError(t, e.err)
	assert.Equal(t, Killed, e.res)
}

// TestReverseFromSnapshots: going back in a session that ran to
// main.main restores its snapshots instead of replaying from the start,
// and stands exactly where a fresh run to the same position stands: a
// reverse step is one instruction back, a reverse continue finds the
// last time rt0_go began.
func TestReverseFromSnapshots(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			bin := loadertest.Build(t, "hello", a.Name)
			p, err := emu.Open(bin, emu.Config{})
			require.NoError(t, err)
			replays := 0
			replay := func() (*emu.Process, error) { replays++; return emu.Open(bin, emu.Config{}) }
			c, done := connect(t, p, Options{Replay: replay})
			img := p.Image()
			mainAddr, ok := img.Lookup("main.main")
			require.True(t, ok)
			rt0, ok := img.Lookup("runtime.rt0_go")
			require.True(t, ok)
			pc := func() uint64 {
				var v uint64
				_, err := fmt.Sscanf(c.ask("p"+fmt.Sprintf("%x", pcRegNum(a))), "%x", &v)
				require.NoError(t, err)
				return bits.ReverseBytes64(v)
			}
			assert.Equal(t, "OK", c.ask(fmt.Sprintf("Z0,%x,1", mainAddr)))
			assert.Contains(t, c.ask("c"), "T05")
			assert.Equal(t, mainAddr, pc())

			ref, err := emu.Open(bin, emu.Config{})
			require.NoError(t, err)
			defer ref.Close()
			_, err = ref.RunTo(context.Background(), emu.UntilSymbol("main.main"), ^uint64(0))
			require.NoError(t, err)
			atMain := ref.Position()
			for back := uint64(1); back <= 3; back++ {
				assert.Contains(t, c.ask("bs"), "T05")
				fresh, err := emu.Open(bin, emu.Config{})
				require.NoError(t, err)
				r, err := fresh.RunTo(context.Background(), emu.Until{}, atMain-back)
				require.NoError(t, err)
				assert.Equal(t, r.PC, pc(), "%d back", back)
				fresh.Close()
			}
			assert.Equal(t, "OK", c.ask(fmt.Sprintf("Z0,%x,1", rt0)))
			assert.Contains(t, c.ask("bc"), "swbreak")
			assert.Equal(t, rt0, pc())
			assert.Zero(t, replays, "snapshots served every way back")
			c.send("k")
			e := <-done
			require.NoError(t, e.err)
			e.q.Close()
		})
	}
}

// pcRegNum is the PC's number in the target description.
func pcRegNum(a *arch.Arch) int {
	if a == arch.AMD64 {
		return 16
	}
	return 32
}
