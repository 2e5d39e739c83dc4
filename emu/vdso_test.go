package emu

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/loader"
	"github.com/gorunemu/gorunemu/loader/loadertest"
	"github.com/gorunemu/gorunemu/syscalls"
)

// TestVDSOImage: the vDSO is an ELF shared object that debug/elf reads
// like the kernel's: its functions are in .dynsym with Linux's names and
// symbol version, inside .text, and the code disassembles into the
// instructions that read the virtual counter, with the realtime base
// after it.
func TestVDSOImage(t *testing.T) {
	const base = 1704067200 * 1e9
	want := map[*arch.Arch][]string{
		arch.AMD64: {"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu", "__vdso_clock_getres"},
		arch.ARM64: {"__kernel_clock_gettime", "__kernel_gettimeofday", "__kernel_clock_getres", "__kernel_rt_sigreturn"},
	}
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			img, err := buildVDSO(a, base)
			require.NoError(t, err)
			assert.LessOrEqual(t, uint64(len(img)), vdsoPages[a]*a.PageSize)
			f, err := elf.NewFile(bytes.NewReader(img))
			require.NoError(t, err)
			assert.Equal(t, elf.ET_DYN, f.Type)
			text := f.Section(".text")
			require.NotNil(t, text)
			syms, err := f.DynamicSymbols()
			require.NoError(t, err)
			byName := map[string]elf.Symbol{}
			for _, s := range syms {
				byName[s.Name] = s
			}
			for _, name := range want[a] {
				s, ok := byName[name]
				require.True(t, ok, "%s in .dynsym", name)
				assert.Equal(t, vdsoVersion(a), s.Version, name)
				assert.Equal(t, elf.STT_FUNC, elf.ST_TYPE(s.Info), name)
				assert.Equal(t, elf.STB_GLOBAL, elf.ST_BIND(s.Info), name)
				assert.GreaterOrEqual(t, s.Value, text.Addr, name)
				assert.LessOrEqual(t, s.Value+s.Size, text.Addr+text.Size, name)
				assert.NotZero(t, s.Size, name)
			}
			dyn, err := f.DynString(elf.DT_SONAME)
			require.NoError(t, err)
			assert.Equal(t, []string{vdsoSoname}, dyn)

			code, err := text.Data()
			require.NoError(t, err)
			assert.Equal(t, uint64(base), binary.LittleEndian.Uint64(code[len(code)-8:]), "the realtime base ends .text")
			asm := disassemble(t, a, code[:len(code)-8])
			switch a {
			case arch.AMD64:
				assert.Contains(t, asm, "RDTSC")
				assert.Contains(t, asm, "SYSCALL")
			case arch.ARM64:
				assert.Contains(t, asm, "MRS X9, S3_3_C14_C0_2") // CNTVCT_EL0
				assert.Contains(t, asm, "SVC #0x0")
			}
		})
	}
}

// disassemble decodes code, failing at an instruction it does not know.
func disassemble(t *testing.T, a *arch.Arch, code []byte) string {
	var b strings.Builder
	for len(code) > 0 {
		if a == arch.AMD64 {
			if code[0] == 0xcc { // padding between functions
				code = code[1:]
				continue
			}
			in, err := x86asm.Decode(code, 64)
			require.NoError(t, err, "% x", code[:min(len(code), 8)])
			b.WriteString(in.String() + "\n")
			code = code[in.Len:]
			continue
		}
		in, err := arm64asm.Decode(code)
		require.NoError(t, err, "% x", code[:4])
		b.WriteString(in.String() + "\n")
		code = code[4:]
	}
	return b.String()
}

// TestVDSOMapped: every process has [vvar] and the vDSO above it, where
// AT_SYSINFO_EHDR points, and code in it is named by its symbols.
func TestVDSOMapped(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			p, err := Open(loadertest.Build(t, "hello", a.Name), Config{})
			require.NoError(t, err)
			defer p.Close()
			ehdr, ok := p.Stack().Aux(loader.AT_SYSINFO_EHDR)
			require.True(t, ok)
			var vvar, vdso *syscalls.Mapping
			for _, m := range p.Mappings() {
				switch m.Name {
				case "[vvar]":
					vvar = &m
				case "[vdso]":
					vdso = &m
				}
			}
			require.NotNil(t, vdso)
			require.NotNil(t, vvar)
			assert.Equal(t, ehdr, vdso.Start)
			assert.Equal(t, vdso.Start, vvar.End, "[vvar] right below")
			assert.Equal(t, syscalls.PROT_READ|syscalls.PROT_EXEC, vdso.Prot)
			assert.Equal(t, syscalls.PROT_READ, vvar.Prot)
			head := make([]byte, 4)
			require.NoError(t, p.ReadMem(ehdr, head))
			assert.Equal(t, []byte(elf.ELFMAG), head)
			f, err := elf.NewFile(bytes.NewReader(p.vdsoImage))
			require.NoError(t, err)
			syms, err := f.DynamicSymbols()
			require.NoError(t, err)
			fn := syms[0]
			assert.Equal(t, fn.Name+"+0x4 ("+vdsoSoname+")", p.Symbolize(ehdr+fn.Value+4))
		})
	}
}
