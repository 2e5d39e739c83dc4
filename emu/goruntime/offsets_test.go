package goruntime_test

import (
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/emu"
	"github.com/gorunemu/gorunemu/emu/goruntime"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
)

// TestTableOffsets pins the three layouts of the reference table and
// refuses versions outside it.
func TestTableOffsets(t *testing.T) {
	old := goruntime.Offsets{GStackLo: 0, GStackHi: 8, GStackguard0: 0x10, GStackguard1: 0x18, GM: 0x30, GGoID: 0x98,
		MG0: 0, MProcID: 0x48, MGSignal: 0x50, MTLS: 0x88, MCurG: 0xc0}
	bp := old // go1.23 and go1.24: g.syscallbp before goid
	bp.GGoID = 0xa0
	now := goruntime.Offsets{GStackLo: 0, GStackHi: 8, GStackguard0: 0x10, GStackguard1: 0x18, GM: 0x30, GGoID: 0x98,
		MG0: 0, MProcID: 0x40, MGSignal: 0x48, MTLS: 0x80, MCurG: 0xb8}
	for v, want := range map[string]goruntime.Offsets{
		"go1.17": old, "go1.17.13": old, "go1.21.0": old, "go1.22.12": old, "go1.23.0": bp, "go1.24.13": bp,
		"go1.25.0": now, "go1.25rc1": now, "go1.26.8": now,
	} {
		got, err := goruntime.TableOffsets(v)
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	for _, v := range []string{"go1.16.15", "go1.27.0", "devel go1.27-abcdef", ""} {
		_, err := goruntime.TableOffsets(v)
		assert.True(t, errors.Is(err, goruntime.ErrUnknownVersion), "%q: %v", v, err)
	}
}

// TestDWARFOffsets reads the offsets from the local toolchain's DWARF
// for both arches and compares them with the table.
func TestDWARFOffsets(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			img, err := loader.Open(loadertest.Build(t, "hello", a.Name))
			require.NoError(t, err)
			d, err := img.DWARF()
			require.NoError(t, err)
			got, err := goruntime.DWARFOffsets(d)
			require.NoError(t, err)
			want, err := goruntime.TableOffsets(img.GoVersion)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

// TestCorruptDWARFFallsBackToTable: a binary whose DWARF cannot be read
// is described from the offset table for its version, saying so, rather
// than not at all.
func TestCorruptDWARFFallsBackToTable(t *testing.T) {
	bin := loadertest.Build(t, "hello", "amd64")
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	f, err := elf.Open(bin)
	require.NoError(t, err)
	sec := f.Section(".debug_info")
	require.NotNil(t, sec)
	require.NoError(t, f.Close())
	for i := sec.Offset + 11; i < sec.Offset+min(sec.Size, 4096); i++ {
		data[i] = 0xff
	}
	bad := filepath.Join(t.TempDir(), "hello")
	require.NoError(t, os.WriteFile(bad, data, 0o755))

	p := runTo(t, bad, "main.main", emu.Config{})
	s := read(t, p)
	assert.Contains(t, s.OffsetsFrom, "table")
	assert.Contains(t, s.OffsetsFrom, "DWARF unusable")
	want, err := goruntime.TableOffsets(s.GoVersion)
	require.NoError(t, err)
	assert.Equal(t, want, s.Offsets)
	assert.Empty(t, goruntime.Check(s))
}
