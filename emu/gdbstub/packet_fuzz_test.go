package gdbstub

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// FuzzPackets: whatever gdb (or anything on the port) sends, the stub
// answers without panicking. Packets that resume the guest are left out:
// the fixture loops for ever.
func FuzzPackets(f *testing.F) {
	for _, s := range []string{
		"Z2,1000", "Z2,zz,8", "Z2,1000,0", "Z4,1000,ffffffffffffffff", "z2,1000,8", "Z3,ffffffffffffffff,10", "Z9,1,1", "Z",
		"Hgp", "Hgpzz.1", "Hg", "H", "Tp1.zz", "T", "p", "pzz", "p1000", "P0=zz", "P=", "G", "Gzz", "g",
		"m0,ffffffffffffffff", "mffffffffffffffff,10", "m,", "M0,1:zz", "M0,ffffffff:00", "X1000,4:ab", "X",
		"vFile:open:zz,0,0", "vFile:open:2f,zz,0", "vFile:pread:1", "vFile:pread:zz,1,1", "vFile:pread:1,ffffffffffffffff,ffffffffffffffff",
		"vFile:readlink:", "vFile:fstat:99", "vFile:close:", "vFile:", "vFile:setfs:zz",
		"qXfer:features:read:target.xml:ffffffffffffffff,1", "qXfer:auxv:read::0,ffffffffffffffff", "qXfer:threads:read::", "qXfer",
		"qThreadExtraInfo,zz", "qThreadExtraInfo,", "qRcmd,zz", "qRcmd,", "qSupported:multiprocess+", "qC", "qfThreadInfo",
	} {
		f.Add(s)
	}
	p, err := emu.Open(loadertest.Build(f, "loop", "amd64"), emu.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Close() })
	var out bytes.Buffer
	s := newServer(&out, p, Options{})
	f.Fuzz(func(t *testing.T, pkt string) {
		if pkt == "" || strings.ContainsAny(pkt[:1], "cCsSbkD?") || (pkt[0] == 'v' && !strings.HasPrefix(pkt, "vFile:")) {
			return
		}
		out.Reset()
		if _, _, err := s.handle(pkt); err != nil {
			t.Fatalf("%q: %v", pkt, err)
		}
		if !strings.HasPrefix(out.String(), "$") {
			t.Fatalf("%q: no reply (%q)", pkt, out.String())
		}
	})
}
