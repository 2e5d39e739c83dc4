package loader_test

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorunemu/gorunemu/arch"
	"github.com/gorunemu/gorunemu/loader"
)

// stackImage is what NewStack reads from an Image.
func stackImage(a *arch.Arch, path string) *loader.Image {
	return &loader.Image{Path: path, Arch: a, PhdrAddr: 0x400040, Phent: 56, Phnum: 6, Entry: 0x4805a0}
}

var random16 = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

// stackCase is a stack whose every address was computed by hand, following
// fs/exec.c and create_elf_tables step by step (the arithmetic is in the
// comments).
type stackCase struct {
	name string
	arch *arch.Arch
	path string
	cfg  loader.StackConfig

	sp, argv, envp, auxv     uint64
	random, platform, execfn uint64
	argStrs, envStrs         []uint64
	argStart, argEnd         uint64
	envStart, envEnd         uint64
	platformStr, execfnStr   string
	wantAuxv                 []loader.AuxEntry
}

var stackCases = []stackCase{
	{
		// Top 0x7ffffffff000; [..eff8, Top) zero word.
		// execfn "/bin/prog\0" 10 → efee; "A=1\0" 4 → efea; "HOME=/\0" 7 → efe3;
		// "-v\0" 3 → efe0; "/bin/prog\0" 10 → efd6; align 16 → efd0;
		// "x86_64\0" 7 → efc9; random 16 → efb9;
		// 19 auxv pairs (38 words) + argc + 3 argv + 3 envp words = 45 words
		// = 0x168: efb9 - 0x168 = ee51, down to 16 → ee50.
		name: "amd64-basic", arch: arch.AMD64, path: "/bin/prog",
		cfg: loader.StackConfig{
			Argv: []string{"/bin/prog", "-v"}, Envp: []string{"HOME=/", "A=1"},
			Random: random16, HWCAP: 0x178bfbff, HWCAP2: 0x2,
			UID: 1000, EUID: 1001, GID: 100, EGID: 101,
		},
		sp: 0x7fffffffee50, argv: 0x7fffffffee58, envp: 0x7fffffffee70, auxv: 0x7fffffffee88,
		random: 0x7fffffffefb9, platform: 0x7fffffffefc9, execfn: 0x7fffffffefee,
		argStrs: []uint64{0x7fffffffefd6, 0x7fffffffefe0}, envStrs: []uint64{0x7fffffffefe3, 0x7fffffffefea},
		argStart: 0x7fffffffefd6, argEnd: 0x7fffffffefe3, envStart: 0x7fffffffefe3, envEnd: 0x7fffffffefee,
		platformStr: "x86_64", execfnStr: "/bin/prog",
		wantAuxv: []loader.AuxEntry{
			{loader.AT_HWCAP, 0x178bfbff}, {loader.AT_PAGESZ, 4096}, {loader.AT_CLKTCK, 100},
			{loader.AT_PHDR, 0x400040}, {loader.AT_PHENT, 56}, {loader.AT_PHNUM, 6},
			{loader.AT_BASE, 0}, {loader.AT_FLAGS, 0}, {loader.AT_ENTRY, 0x4805a0},
			{loader.AT_UID, 1000}, {loader.AT_EUID, 1001}, {loader.AT_GID, 100}, {loader.AT_EGID, 101},
			{loader.AT_SECURE, 0}, {loader.AT_RANDOM, 0x7fffffffefb9}, {loader.AT_HWCAP2, 0x2},
			{loader.AT_EXECFN, 0x7fffffffefee}, {loader.AT_PLATFORM, 0x7fffffffefc9}, {loader.AT_NULL, 0},
		},
	},
	{
		// Every optional entry. Top 0x1000000000000; zero word from fff8.
		// "/usr/local/bin/prog\0" 20 → ffe4; no env; "prog\0" 5 → ffdf;
		// align → ffd0; "aarch64\0" 8 → ffc8; random → ffb8;
		// 23 pairs (46 words) + argc + 2 argv + 1 envp = 50 words = 0x190:
		// ffb8 - 0x190 = fe28 → fe20.
		name: "arm64-all-entries", arch: arch.ARM64, path: "prog",
		cfg: loader.StackConfig{
			Argv: []string{"prog"}, ExecFn: "/usr/local/bin/prog", Random: random16,
			HWCAP: arch.ARM64.HWCAP, HWCAP2: 0x8000,
			MinSigStackSize: 4224, SysinfoEHDR: 0xfffff7ffd000, RseqFeatureSize: 28, RseqAlign: 32,
			Secure: true, ClkTck: 250, PageSize: 16384,
		},
		sp: 0xfffffffffe20, argv: 0xfffffffffe28, envp: 0xfffffffffe38, auxv: 0xfffffffffe40,
		random: 0xffffffffffb8, platform: 0xffffffffffc8, execfn: 0xffffffffffe4,
		argStrs: []uint64{0xffffffffffdf}, envStrs: nil,
		argStart: 0xffffffffffdf, argEnd: 0xffffffffffe4, envStart: 0xffffffffffe4, envEnd: 0xffffffffffe4,
		platformStr: "aarch64", execfnStr: "/usr/local/bin/prog",
		wantAuxv: []loader.AuxEntry{
			{loader.AT_SYSINFO_EHDR, 0xfffff7ffd000}, {loader.AT_MINSIGSTKSZ, 4224},
			{loader.AT_HWCAP, arch.ARM64.HWCAP}, {loader.AT_PAGESZ, 16384}, {loader.AT_CLKTCK, 250},
			{loader.AT_PHDR, 0x400040}, {loader.AT_PHENT, 56}, {loader.AT_PHNUM, 6},
			{loader.AT_BASE, 0}, {loader.AT_FLAGS, 0}, {loader.AT_ENTRY, 0x4805a0},
			{loader.AT_UID, 0}, {loader.AT_EUID, 0}, {loader.AT_GID, 0}, {loader.AT_EGID, 0},
			{loader.AT_SECURE, 1}, {loader.AT_RANDOM, 0xffffffffffb8}, {loader.AT_HWCAP2, 0x8000},
			{loader.AT_EXECFN, 0xffffffffffe4}, {loader.AT_PLATFORM, 0xffffffffffc8},
			{loader.AT_RSEQ_FEATURE_SIZE, 28}, {loader.AT_RSEQ_ALIGN, 32}, {loader.AT_NULL, 0},
		},
	},
	{
		// argc 0; execfn defaults to the image path "/p".
		// "/p\0" 3 → eff5; "X=y\0" 4 → eff1; no argv; align → eff0;
		// "x86_64\0" → efe9; random → efd9; 19 pairs (38 words) + argc +
		// 1 argv + 2 envp = 42 words = 0x150: efd9 - 0x150 = ee89 → ee80.
		name: "amd64-empty-argv", arch: arch.AMD64, path: "/p",
		cfg: loader.StackConfig{Envp: []string{"X=y"}, Random: random16},
		sp:  0x7fffffffee80, argv: 0x7fffffffee88, envp: 0x7fffffffee90, auxv: 0x7fffffffeea0,
		random: 0x7fffffffefd9, platform: 0x7fffffffefe9, execfn: 0x7fffffffeff5,
		argStrs: nil, envStrs: []uint64{0x7fffffffeff1},
		argStart: 0x7fffffffeff1, argEnd: 0x7fffffffeff1, envStart: 0x7fffffffeff1, envEnd: 0x7fffffffeff5,
		platformStr: "x86_64", execfnStr: "/p",
		wantAuxv: []loader.AuxEntry{
			{loader.AT_HWCAP, 0}, {loader.AT_PAGESZ, 4096}, {loader.AT_CLKTCK, 100},
			{loader.AT_PHDR, 0x400040}, {loader.AT_PHENT, 56}, {loader.AT_PHNUM, 6},
			{loader.AT_BASE, 0}, {loader.AT_FLAGS, 0}, {loader.AT_ENTRY, 0x4805a0},
			{loader.AT_UID, 0}, {loader.AT_EUID, 0}, {loader.AT_GID, 0}, {loader.AT_EGID, 0},
			{loader.AT_SECURE, 0}, {loader.AT_RANDOM, 0x7fffffffefd9}, {loader.AT_HWCAP2, 0},
			{loader.AT_EXECFN, 0x7fffffffeff5}, {loader.AT_PLATFORM, 0x7fffffffefe9}, {loader.AT_NULL, 0},
		},
	},
	{
		// A custom top and platform on arm64, and strings that end on a
		// 16-byte boundary (no arch_align_stack gap). Top 0x7f0000000000:
		// zero word from 0x7efffffffff8; "/x\0" 3 → …fff5; "1234\0" 5 →
		// …fff0, aligned already; "plat\0" 5 → …ffeb; random → …ffdb;
		// 19 pairs (38 words) + argc + 2 argv + 1 envp = 42 words = 0x150:
		// 0x7effffffffdb - 0x150 = 0x7efffffffe8b → 0x7efffffffe80.
		name: "arm64-custom-top", arch: arch.ARM64, path: "prog",
		cfg: loader.StackConfig{
			Argv: []string{"1234"}, ExecFn: "/x", Top: 0x7f0000000000, Platform: "plat", Random: random16,
		},
		sp: 0x7efffffffe80, argv: 0x7efffffffe88, envp: 0x7efffffffe98, auxv: 0x7efffffffea0,
		random: 0x7effffffffdb, platform: 0x7effffffffeb, execfn: 0x7efffffffff5,
		argStrs: []uint64{0x7efffffffff0}, envStrs: nil,
		argStart: 0x7efffffffff0, argEnd: 0x7efffffffff5, envStart: 0x7efffffffff5, envEnd: 0x7efffffffff5,
		platformStr: "plat", execfnStr: "/x",
		wantAuxv: []loader.AuxEntry{
			{loader.AT_HWCAP, 0}, {loader.AT_PAGESZ, 4096}, {loader.AT_CLKTCK, 100},
			{loader.AT_PHDR, 0x400040}, {loader.AT_PHENT, 56}, {loader.AT_PHNUM, 6},
			{loader.AT_BASE, 0}, {loader.AT_FLAGS, 0}, {loader.AT_ENTRY, 0x4805a0},
			{loader.AT_UID, 0}, {loader.AT_EUID, 0}, {loader.AT_GID, 0}, {loader.AT_EGID, 0},
			{loader.AT_SECURE, 0}, {loader.AT_RANDOM, 0x7effffffffdb}, {loader.AT_HWCAP2, 0},
			{loader.AT_EXECFN, 0x7efffffffff5}, {loader.AT_PLATFORM, 0x7effffffffeb}, {loader.AT_NULL, 0},
		},
	},
}

// TestNewStackLayout compares NewStack with stacks laid out by hand, byte
// for byte.
func TestNewStackLayout(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			for _, c := range stackCases {
				if c.arch != a {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					st, err := loader.NewStack(stackImage(a, c.path), c.cfg)
					require.NoError(t, err)
					top := c.cfg.Top
					if top == 0 {
						top = a.StackTop
					}
					assert.Equal(t, top, st.Top)
					assert.Equal(t, c.sp, st.SP, "SP %#x", st.SP)
					assert.Equal(t, c.sp, st.Low)
					assert.Zero(t, st.SP%16)
					assert.Equal(t, c.argv, st.ArgvAddr)
					assert.Equal(t, c.envp, st.EnvpAddr)
					assert.Equal(t, c.auxv, st.AuxvAddr)
					assert.Equal(t, c.random, st.RandomAddr)
					assert.Equal(t, c.platform, st.PlatformAddr)
					assert.Equal(t, c.execfn, st.ExecFnAddr)
					assert.Equal(t, [4]uint64{c.argStart, c.argEnd, c.envStart, c.envEnd}, [4]uint64{st.ArgStart, st.ArgEnd, st.EnvStart, st.EnvEnd})
					assert.Equal(t, c.wantAuxv, st.Auxv)

					// The expected bytes, written at the hand-computed addresses
					// into zeros.
					want := make([]byte, top-c.sp)
					le := binary.LittleEndian
					put := func(addr uint64, b []byte) { copy(want[addr-c.sp:], b) }
					word := func(addr, v uint64) { le.PutUint64(want[addr-c.sp:], v) }
					word(c.sp, uint64(len(c.cfg.Argv)))
					for i, p := range c.argStrs {
						word(c.argv+8*uint64(i), p)
						put(p, []byte(c.cfg.Argv[i]+"\x00"))
					}
					for i, p := range c.envStrs {
						word(c.envp+8*uint64(i), p)
						put(p, []byte(c.cfg.Envp[i]+"\x00"))
					}
					for i, e := range c.wantAuxv {
						word(c.auxv+16*uint64(i), uint64(e.Type))
						word(c.auxv+16*uint64(i)+8, e.Val)
					}
					put(c.random, c.cfg.Random[:])
					put(c.platform, []byte(c.platformStr+"\x00"))
					put(c.execfn, []byte(c.execfnStr+"\x00"))
					require.Equal(t, len(want), len(st.Data))
					assert.Equal(t, want, st.Data)

					// Properties the hand layout implies, checked on the result.
					at := func(addr uint64) []byte { return st.Data[addr-st.SP:] }
					assert.Equal(t, make([]byte, 8), st.Data[len(st.Data)-8:], "8 zero bytes end at Top")
					assert.Equal(t, c.execfn+uint64(len(c.execfnStr))+1, top-8, "execfn ends at the zero word")
					cstr := func(addr uint64) string {
						b := at(addr)
						return string(b[:strings.IndexByte(string(b), 0)])
					}
					for i, s := range c.cfg.Argv {
						assert.Equal(t, s, cstr(le.Uint64(at(st.ArgvAddr+8*uint64(i)))))
					}
					assert.Zero(t, le.Uint64(at(st.ArgvAddr+8*uint64(len(c.cfg.Argv)))), "argv NULL")
					assert.Zero(t, le.Uint64(at(st.EnvpAddr+8*uint64(len(c.cfg.Envp)))), "envp NULL")
					rnd, ok := st.Aux(loader.AT_RANDOM)
					require.True(t, ok)
					assert.Equal(t, c.cfg.Random[:], at(rnd)[:16])
					plat, _ := st.Aux(loader.AT_PLATFORM)
					assert.Equal(t, c.platformStr, cstr(plat))
					fn, _ := st.Aux(loader.AT_EXECFN)
					assert.Equal(t, c.execfnStr, cstr(fn))
					ab := st.AuxvBytes()
					assert.Len(t, ab, 16*len(c.wantAuxv))
					assert.Equal(t, ab, at(st.AuxvAddr)[:len(ab)], "AuxvBytes is the auxv on the stack")
					assert.Equal(t, make([]byte, 16), ab[len(ab)-16:], "ends with AT_NULL")
					assert.Less(t, st.AuxvAddr+uint64(len(ab)), st.RandomAddr+1)
					assert.Less(t, st.RandomAddr+16-1, st.PlatformAddr)
					assert.Greater(t, st.RandomAddr, st.AuxvAddr+uint64(len(ab))-1)
					assert.Less(t, st.RandomAddr-(st.AuxvAddr+uint64(len(ab))), uint64(16), "padding below AT_RANDOM under 16 bytes")
				})
			}
		})
	}
}

func TestImageLiteral(t *testing.T) {
	// An Image built by hand (as the stack tests do) has no symbols.
	img := stackImage(arch.AMD64, "/p")
	_, ok := img.Lookup("main.main")
	assert.False(t, ok)
	_, ok = img.Symbolize(0x4805a0)
	assert.False(t, ok)
	_, ok = img.FuncAt(0x4805a0)
	assert.False(t, ok)
	assert.Empty(t, img.Funcs())
}

func TestAuxNames(t *testing.T) {
	assert.Equal(t, "AT_RANDOM", loader.AT_RANDOM.String())
	assert.Equal(t, "AT_MINSIGSTKSZ", loader.AT_MINSIGSTKSZ.String())
	assert.Equal(t, "AT_99", loader.AuxType(99).String())
	assert.Equal(t, "AT_PAGESZ=0x1000", loader.AuxEntry{loader.AT_PAGESZ, 4096}.String())
}

func TestNewStackLimits(t *testing.T) {
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			img := stackImage(a, "/prog")
			newStack := func(c loader.StackConfig) error {
				_, err := loader.NewStack(img, c)
				return err
			}
			// MAX_ARG_STRLEN is 32 pages with the NUL: 131071 bytes fit.
			assert.NoError(t, newStack(loader.StackConfig{Argv: []string{"a", strings.Repeat("x", 131071)}}))
			err := newStack(loader.StackConfig{Argv: []string{"a", strings.Repeat("x", 131072)}})
			assert.ErrorIs(t, err, loader.ErrArgListTooLong)
			assert.EqualError(t, err, "loader: argv[1]: 131073 bytes with its NUL, more than MAX_ARG_STRLEN (131072): argument list too long")
			assert.ErrorIs(t, newStack(loader.StackConfig{Envp: []string{strings.Repeat("x", 131072)}}), loader.ErrArgListTooLong)
			assert.ErrorIs(t, newStack(loader.StackConfig{ExecFn: strings.Repeat("x", 131072)}), loader.ErrArgListTooLong)
			// With 16 KiB pages the string limit is 512 KiB.
			assert.NoError(t, newStack(loader.StackConfig{Argv: []string{strings.Repeat("x", 300000)}, PageSize: 16384}))

			// The total: an 8 MiB RLIMIT_STACK allows 2 MiB of strings and
			// pointers. argv "a" and execfn "a" take 4 bytes, 15 envp strings
			// of 131072 bytes 1966080, 17 pointers 136: the 16th envp string
			// may take 2097152 - 136 - 4 - 1966080 = 130932 bytes with its NUL.
			big := strings.Repeat("y", 131071)
			env := func(last int) []string {
				e := make([]string, 16)
				for i := range 15 {
					e[i] = big
				}
				e[15] = strings.Repeat("z", last)
				return e
			}
			assert.NoError(t, newStack(loader.StackConfig{Argv: []string{"a"}, Envp: env(130931)}))
			err = newStack(loader.StackConfig{Argv: []string{"a"}, Envp: env(130932)})
			assert.ErrorIs(t, err, loader.ErrArgListTooLong)
			assert.EqualError(t, err, "loader: 1 argv and 16 envp strings take 2097017 bytes and 136 of pointers, more than the 2097152 allowed: argument list too long")
			// argc 0 still reserves one pointer, as Linux does for the ""
			// it substitutes: the same strings without argv "a" gain 2 bytes
			// but not 8.
			assert.NoError(t, newStack(loader.StackConfig{ExecFn: "a", Envp: env(130933)}))
			assert.ErrorIs(t, newStack(loader.StackConfig{ExecFn: "a", Envp: env(130934)}), loader.ErrArgListTooLong)

			// A small RLIMIT_STACK still allows ARG_MAX (128 KiB).
			assert.NoError(t, newStack(loader.StackConfig{StackLimit: 64 << 10, Argv: []string{"a"}, ExecFn: "a", Envp: []string{strings.Repeat("x", 131072-4-16-1)}}))
			assert.ErrorIs(t, newStack(loader.StackConfig{StackLimit: 64 << 10, Argv: []string{"a"}, ExecFn: "a", Envp: []string{strings.Repeat("x", 131072-4-16)}}), loader.ErrArgListTooLong)
			// A 64 MiB one allows 6 MiB, not 16.
			many := make([]string, 60)
			for i := range many {
				many[i] = big
			}
			assert.NoError(t, newStack(loader.StackConfig{StackLimit: 64 << 20, Argv: []string{"a"}, Envp: many[:40]}))
			assert.ErrorIs(t, newStack(loader.StackConfig{StackLimit: 64 << 20, Argv: []string{"a"}, Envp: many[:48]}), loader.ErrArgListTooLong)

			err = newStack(loader.StackConfig{Argv: []string{"a", "b\x00c"}})
			assert.ErrorIs(t, err, loader.ErrInvalidArg)
			assert.EqualError(t, err, "loader: argv[1] contains a NUL byte: invalid argument string")
			assert.ErrorIs(t, newStack(loader.StackConfig{Envp: []string{"A=\x00"}}), loader.ErrInvalidArg)
			assert.ErrorIs(t, newStack(loader.StackConfig{Platform: "x\x00"}), loader.ErrInvalidArg)

			assert.EqualError(t, newStack(loader.StackConfig{Top: a.StackTop - 8}), fmt.Sprintf("loader: stack top %#x is not 16-byte aligned: bad stack top", a.StackTop-8))
			assert.ErrorContains(t, newStack(loader.StackConfig{Top: 0x100, Argv: []string{"a"}}), "loader: stack top 0x100 is too low for")
		})
	}
}
