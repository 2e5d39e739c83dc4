// Hot-path hooks for gorunemu, written in C so that no Go code runs per
// block or per instruction. Every engine owns one gre_state; there is no
// global state, so many engines can run in one process at once.
#ifndef GORUNEMU_HOOKS_H
#define GORUNEMU_HOOKS_H

#include <stdint.h>
#include <stddef.h>
#if !__has_include(<unicorn/unicorn.h>)
#error "gorunemu needs Unicorn 2.1 or later and finds none: run scripts/install-deps.sh (make deps)"
#endif
#include <unicorn/unicorn.h>
// 2.0 sends every guest store through a slow path (Unicorn issue 1970) and
// names its calls differently; gorunemu is built and tested on 2.1.
#if UC_API_MAJOR < 2 || (UC_API_MAJOR == 2 && UC_API_MINOR < 1)
#error "gorunemu needs Unicorn 2.1 or later, and these headers are older: run scripts/install-deps.sh (make deps), which fetches Debian trixie's libunicorn-dev into /opt/gorunemu/unicorn"
#endif

// Reasons a run stopped, as bits in gre_state.exit (several may be set).
enum {
	GRE_EXIT_SYSCALL = 1 << 0,   // the guest made a system call
	GRE_EXIT_BUDGET = 1 << 1,    // the instruction budget of this start ran out
	GRE_EXIT_STOPADDR = 1 << 2,  // execution reached a stop address
	GRE_EXIT_FAULT = 1 << 3,     // invalid memory access (see fault_*)
	GRE_EXIT_INTR = 1 << 4,      // a CPU exception other than a syscall
	GRE_EXIT_RINGFULL = 1 << 5,  // a trace ring filled up; drain and resume
	GRE_EXIT_INVALID = 1 << 6,   // undefined instruction
	GRE_EXIT_WATCH = 1 << 7,     // an access to a stop watch (see hit); its block ran on
};

// One executed translation block.
typedef struct {
	uint64_t addr;
	uint32_t size;   // bytes
	uint32_t icount; // instructions
	uint64_t sp;     // stack pointer as the block starts
	uint64_t lr;     // link register as the block starts (arm64; 0 on x86)
	uint64_t g;      // the goroutine running it, when followed (else 0)
	int64_t goid;    // its id, read when g changed (-1: unreadable)
} gre_block;

// Most registers an instruction trace can record.
#define GRE_MAX_TRACE_REGS 48

// One executed instruction.
typedef struct {
	uint64_t addr;
	uint32_t size;
	uint32_t pad;
} gre_insn;

// One guest memory write inside a watched range. old is the value in memory
// before the write (hooks run before the store).
typedef struct {
	uint64_t pc;
	uint64_t addr;
	uint64_t value;
	uint64_t old;
	uint64_t block; // start of the block holding the write
	uint64_t insns; // instruction count at the start of that block
	uint32_t size;
	uint32_t pad;
} gre_write;

// Ring buffers are plain arrays that Go drains after every stop.
typedef struct {
	void *buf;
	size_t len;
	size_t cap;
	uint64_t dropped; // events lost because the ring was full and could not stop in time
} gre_ring;

#define GRE_ICACHE_BITS 16
#define GRE_ICACHE_HOT_BITS 12

typedef struct {
	uint64_t key;   // block address + 1 (0: empty)
	uint32_t size;  // block size in bytes, to notice a block translated anew
	uint32_t count; // instructions in the block
} gre_icache_entry;

// One guest mapping in the engine's page table (pagetable.c).
typedef struct {
	uint64_t start, end; // guest virtual [start, end)
	uint64_t phys;       // engine (physical) address of start; 0 without memory
	uint64_t host;       // host address of start; 0 without memory
	uint32_t perms;      // UC_PROT_* the guest has (0: mapped, inaccessible)
	uint32_t pad;
} gre_vma;

// A watched guest range and where its pages are in engine memory: store
// hooks see engine (physical) addresses once the page table is in use.
#define GRE_MAX_WATCHES 64
#define GRE_WATCH_SEGS 4
typedef struct {
	uint64_t begin, end; // guest virtual [begin, end)
	uint32_t kinds;      // stop watches: the GRE_WATCH_* accesses that stop
	int nseg;
	struct {
		uint64_t pbegin, pend, vbegin;
	} seg[GRE_WATCH_SEGS];
} gre_watch;

// Accesses a stop watch stops at (a debugger's hardware watchpoints).
enum { GRE_WATCH_WRITE = 1, GRE_WATCH_READ = 2 };
#define GRE_MAX_STOP_WATCHES 32
// Most stop watch accesses one block can make and have reported: 512
// instructions of up to 16 accesses each (more are counted as dropped).
#define GRE_MAX_WATCH_HITS 8192

// An access to a stop watch. The run ends after the block holding the
// first (see check_stop_watches): insns says where the block began in the
// instruction count, for finding the access's own position.
typedef struct {
	uint64_t pc;    // the accessing instruction
	uint64_t addr;  // the first watched guest byte it accessed
	uint64_t block; // start of the block holding it
	uint64_t insns; // instruction count at the start of that block
	uint32_t size;  // bytes accessed from addr
	uint32_t kind;  // GRE_WATCH_WRITE or GRE_WATCH_READ
} gre_watch_hit;

typedef struct gre_state {
	uc_engine *uc;
	int arch; // UC_ARCH_X86 or UC_ARCH_ARM64

	uint64_t insns; // instructions executed, counted per block
	uint64_t tsc_offset; // virtual TSC = insns + tsc_offset
	uint64_t cntfrq;     // arm64 CNTFRQ_EL0: virtual counter ticks per second
	uint64_t random;     // state of the seeded random source (RNDR)
	int tsc_hooked;      // RDTSC and RDTSCP themselves are hooked (Unicorn 2.1.2+)
	int tsc_trap;        // else they fault (CR4.TSD) and the #GP is answered
	// x86: a context to clear QEMU's exception in flight with, and where
	// in it the field is (see clear_exception); NULL if not found.
	uc_context *exc_ctx;
	size_t exc_off;
	// A double fault taken back (see hook_intr): where and when the last
	// was, so that one with no progress since is reported, and how many.
	uint64_t df_pc, df_insns;
	uint64_t df_retried;
	uint64_t limit; // stop before a block once insns >= limit (UINT64_MAX: never)
	// exact_limit: also stop before a block that would pass it (0: no
	// such limit); over is then that block's instruction count (0 after
	// any other stop).
	uint64_t exact_limit;
	uint32_t over;

	// The block that started last, for correcting the count when a stop
	// address ends it early.
	uint64_t cur_block;
	uint32_t cur_size;
	uint32_t cur_icount;

	uint32_t exit;     // GRE_EXIT_* bits of the last run
	uint32_t intno;    // exception number for GRE_EXIT_INTR
	uint64_t stop_pc;  // where to resume after a stop address, budget or full ring
	uint64_t skip_pc;  // stop address to step over once when resuming
	int skip_armed;    // until the first instruction ran: cleared at the second block
	int first_block;   // the block hook has not yet run in this start

	// Last invalid memory access.
	int fault_type;
	uint64_t fault_addr;
	int fault_size;
	int64_t fault_value;

	// x86 instruction counts per block start address: an open-addressing
	// table filled from UC_CTL_TB_REQUEST_CACHE on first sight. Key and
	// count share an entry so that a lookup touches one cache line.
	gre_icache_entry *icache;
	size_t icache_used;
	gre_icache_entry icache_hot[1 << GRE_ICACHE_HOT_BITS];

	// CPUID answers (x86): leaf, subleaf, eax, ebx, ecx, edx per row.
	uint32_t (*cpuid)[6];
	size_t ncpuid;

	int trace_blocks;
	gre_ring blocks;
	int sp_reg; // the stack pointer's register id
	int lr_reg; // the link register's, or -1 (x86 has none)
	// Following goroutines in block records (gre_follow_g): g is read from
	// register g_reg if it is >= 0, else from the word at thread pointer
	// (tp_reg) + g_tls_off; its id from g + goid_off whenever g changes.
	int follow_g;
	int g_reg;
	int tp_reg;
	int64_t g_tls_off;
	uint64_t goid_off;
	uint64_t last_g;
	int64_t last_goid;
	int trace_insns;
	gre_ring insns_ring;
	// Registers read before each traced instruction: nregs values per
	// instruction record, in regs_ring (same capacity as insns_ring).
	int nregs;
	int regids[GRE_MAX_TRACE_REGS];
	gre_ring regs_ring;
	gre_ring writes;
	gre_watch watches[GRE_MAX_WATCHES];
	int nwatches;
	uc_hook watch_hook; // one store hook for all watches (0: none yet)
	gre_watch stop_watches[GRE_MAX_STOP_WATCHES];
	int nstop_watches;
	uc_hook read_hook; // one load hook for the read stop watches (0: none yet)
	gre_ring hits; // the run's accesses to stop watches, with GRE_EXIT_WATCH

	// The guest page table: once paging is set, every guest address goes
	// through vmas (sorted, not overlapping) on a TLB miss; before, guest
	// addresses are engine addresses (the engine's own tests, probes).
	int paging;
	gre_vma *vmas;
	size_t nvmas, capvmas;
	// The page the TLB hook refused last, and whether it is mapped: the
	// fault that follows reaches hook_invalid_mem at the poison page.
	uint64_t denied_page;
	int denied_mapped;
} gre_state;

gre_state *gre_new(uc_engine *uc, int arch);
// gre_enter_user_mode puts the CPU where Linux runs programs: ring 3 on
// x86-64 (using the unmapped page at scratch for a moment), EL0 on
// AArch64. Privileged instructions then fault as they do on Linux.
uc_err gre_enter_user_mode(gre_state *st, uint64_t scratch);
// gre_read_sysreg reads an AArch64 system register by its encoding,
// whatever the exception level (the API does not check access rights).
uc_err gre_read_sysreg(uc_engine *uc, int op0, int op1, int crn, int crm, int op2, uint64_t *val);
void gre_follow_g(gre_state *st, int g_reg, int tp_reg, int64_t g_tls_off, uint64_t goid_off);
void gre_free(gre_state *st);

// Hook installers; each returns a uc_err and the hook handle in *h.
uc_err gre_hook_syscall(gre_state *st, uc_hook *h);
uc_err gre_hook_intr(gre_state *st, uc_hook *h);
uc_err gre_hook_invalid_mem(gre_state *st, uc_hook *h);
uc_err gre_hook_invalid_insn(gre_state *st, uc_hook *h);
uc_err gre_hook_block(gre_state *st, uc_hook *h);
uc_err gre_hook_stop(gre_state *st, uc_hook *h, uint64_t addr);
uc_err gre_hook_insns(gre_state *st, uc_hook *h);
uc_err gre_hook_watch(gre_state *st, uint64_t begin, uint64_t end);
// gre_set_stop_watches replaces the stop watches by w[0:n]; *added says
// whether it installed a memory hook (code translated before must go).
uc_err gre_set_stop_watches(gre_state *st, const gre_watch *w, int n, int *added);
uc_err gre_hook_cpuid(gre_state *st, uc_hook *h);
uc_err gre_hook_counters(gre_state *st, uc_hook *h);

// The guest page table (pagetable.c). Engine memory lives in a few large
// regions at engine ("physical") addresses below GRE_POISON; the guest's
// mappings point into them, so a guest's mapping count costs the engine
// nothing and mprotect is a table update.
#define GRE_POISON 0xf00000000000ull
uc_err gre_paging_start(gre_state *st);
uc_err gre_hook_tlb(gre_state *st, uc_hook *h);
// gre_vm_replace replaces the entries over [start, end) by in[0:n]
// (inside it, sorted), keeping the outer parts of entries that straddle.
int gre_vm_replace(gre_state *st, uint64_t start, uint64_t end, const gre_vma *in, size_t n);
// gre_vm_read copies guest memory for observers (no permission check).
int gre_vm_read(gre_state *st, uint64_t vaddr, void *buf, size_t n);
// gre_discard_code drops translated code held in engine memory
// [phys, phys+size), after a host-side write or before reuse.
uc_err gre_discard_code(gre_state *st, uint64_t phys, uint64_t size);
// gre_discard_all_code drops the translated code of all engine memory.
uc_err gre_discard_all_code(gre_state *st);
// gre_set_exception_in_flight: for tests (hooks.c).
int gre_set_exception_in_flight(gre_state *st, int32_t intno);
// gre_forget_code drops all translated code and the instruction counts of
// its blocks.
uc_err gre_forget_code(gre_state *st);
// gre_unmap_phys removes an engine region.
uc_err gre_unmap_phys(gre_state *st, uint64_t phys, uint64_t size);
void gre_watch_segments(gre_state *st);

int gre_ring_alloc(gre_ring *r, size_t cap, size_t elem);
void gre_ring_free(gre_ring *r);

uc_err gre_set_cpu_model(uc_engine *uc, int model);
uc_err gre_remove_tbs(uc_engine *uc, uint64_t begin, uint64_t end);

uc_err gre_reg_read_batch(uc_engine *uc, uc_context *ctx, int *regs, uint64_t *vals, int n);
uc_err gre_reg_write_batch(uc_engine *uc, uc_context *ctx, int *regs, uint64_t *vals, int n);

// gre_start runs the engine from begin until a hook stops it or budget
// instructions have run (0: no budget).
uc_err gre_start(gre_state *st, uint64_t begin, uint64_t budget, uint64_t exact);

// gre_uncount_from takes back from the instruction count what a fault at
// addr kept from running of the block that started last.
void gre_uncount_from(gre_state *st, uint64_t addr);

#endif
