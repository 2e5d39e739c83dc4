// Hot-path hooks for gorunemu. See hooks.h.
#include <stdlib.h>
#include <string.h>
#include "hooks.h"

gre_state *gre_new(uc_engine *uc, int arch) {
	gre_state *st = calloc(1, sizeof(gre_state));
	if (st == NULL) {
		return NULL;
	}
	st->uc = uc;
	st->arch = arch;
	switch (arch) {
	case UC_ARCH_X86:
		st->sp_reg = UC_X86_REG_RSP;
		st->lr_reg = -1;
		break;
	case UC_ARCH_ARM64:
		st->sp_reg = UC_ARM64_REG_SP;
		st->lr_reg = UC_ARM64_REG_LR;
		break;
	default:
		free(st);
		return NULL;
	}
	if (arch == UC_ARCH_X86) {
		st->icache = calloc((size_t)1 << GRE_ICACHE_BITS, sizeof(gre_icache_entry));
		if (st->icache == NULL) {
			gre_free(st);
			return NULL;
		}
	}
	return st;
}

void gre_free(gre_state *st) {
	if (st == NULL) {
		return;
	}
	free(st->icache);
	free(st->cpuid);
	free(st->vmas);
	if (st->exc_ctx != NULL) {
		uc_context_free(st->exc_ctx);
	}
	gre_ring_free(&st->blocks);
	gre_ring_free(&st->insns_ring);
	gre_ring_free(&st->regs_ring);
	gre_ring_free(&st->writes);
	gre_ring_free(&st->hits);
	free(st);
}

int gre_ring_alloc(gre_ring *r, size_t cap, size_t elem) {
	gre_ring_free(r);
	r->buf = calloc(cap, elem);
	if (r->buf == NULL) {
		return -1;
	}
	r->cap = cap;
	return 0;
}

void gre_ring_free(gre_ring *r) {
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

static void stop(gre_state *st, uint32_t why) {
	st->exit |= why;
	uc_emu_stop(st->uc);
}

static uint32_t icount_slow(gre_state *st, uint64_t addr, uint32_t size);

// icount returns the number of instructions in the block at addr. AArch64
// instructions are 4 bytes; x86 block lengths come from the translation
// block itself, which exists because it is executing, cached by address.
static uint32_t icount(gre_state *st, uint64_t addr, uint32_t size) {
	if (st->arch != UC_ARCH_X86) {
		return size / 4;
	}
	// A small direct-mapped table of recent blocks stays in the host's
	// L1/L2 cache; the large table behind it holds every block seen.
	gre_icache_entry *hot = &st->icache_hot[(addr ^ (addr >> GRE_ICACHE_HOT_BITS)) & (((size_t)1 << GRE_ICACHE_HOT_BITS) - 1)];
	if (hot->key == addr + 1 && hot->size == size) {
		return hot->count;
	}
	uint32_t n = icount_slow(st, addr, size);
	hot->key = addr + 1;
	hot->size = size;
	hot->count = n;
	return n;
}

// icount_slow looks a block up in the large table, filling it on a miss.
static uint32_t icount_slow(gre_state *st, uint64_t addr, uint32_t size) {
	size_t mask = ((size_t)1 << GRE_ICACHE_BITS) - 1;
	size_t i = (size_t)((addr * 0x9E3779B97F4A7C15ull) >> (64 - GRE_ICACHE_BITS));
	gre_icache_entry *e;
	for (;;) {
		e = &st->icache[i];
		if (e->key == addr + 1) {
			// The size check catches a block at the same address that was
			// translated differently (for example after a cache flush).
			if (e->size == size) {
				return e->count;
			}
			break;
		}
		if (e->key == 0) {
			break;
		}
		i = (i + 1) & mask;
	}
	uc_tb tb;
	uint32_t n = 1;
	if (uc_ctl_request_cache(st->uc, addr, &tb) == UC_ERR_OK && tb.icount > 0) {
		n = tb.icount;
	}
	// Insert unless the table is 3/4 full, in which case the count is simply
	// looked up again next time.
	if (e->key == 0 && st->icache_used < (mask + 1) / 4 * 3) {
		st->icache_used++;
	} else if (e->key != addr + 1) {
		return n;
	}
	e->key = addr + 1;
	e->size = size;
	e->count = n;
	return n;
}

void gre_follow_g(gre_state *st, int g_reg, int tp_reg, int64_t g_tls_off, uint64_t goid_off) {
	st->follow_g = 1;
	st->g_reg = g_reg;
	st->tp_reg = tp_reg;
	st->g_tls_off = g_tls_off;
	st->goid_off = goid_off;
	st->last_g = UINT64_MAX;
}

// running_g fills b's goroutine: g from its register or TLS slot, and its
// id, read again only when g changed since the last block of this start.
static void running_g(gre_state *st, gre_block *b) {
	uint64_t g = 0;
	if (st->g_reg >= 0) {
		uc_reg_read(st->uc, st->g_reg, &g);
	} else {
		uint64_t tp = 0;
		uc_reg_read(st->uc, st->tp_reg, &tp);
		if (tp == 0 || gre_vm_read(st, tp + (uint64_t)st->g_tls_off, &g, sizeof g) != 0) {
			g = 0;
		}
	}
	if (g != st->last_g) {
		int64_t goid = -1;
		if (g == 0 || gre_vm_read(st, g + st->goid_off, &goid, sizeof goid) != 0) {
			goid = -1;
		}
		st->last_g = g;
		st->last_goid = goid;
	}
	b->g = g;
	b->goid = st->last_goid;
}

static void hook_block(uc_engine *uc, uint64_t addr, uint32_t size, void *user) {
	gre_state *st = user;
	// Stepping over a stop address is for the first instruction of a
	// start only: where no stop was there, it must not skip a stop the
	// same address gets later.
	if (!st->first_block) {
		st->skip_armed = 0;
	}
	st->first_block = 0;
	if (st->insns >= st->limit) {
		st->stop_pc = addr;
		stop(st, GRE_EXIT_BUDGET);
		return;
	}
	if (st->trace_blocks && st->blocks.len == st->blocks.cap) {
		st->stop_pc = addr;
		stop(st, GRE_EXIT_RINGFULL);
		return;
	}
	uint32_t n = icount(st, addr, size);
	if (st->exact_limit != 0 && st->insns + n > st->exact_limit) {
		st->over = n;
		st->stop_pc = addr;
		stop(st, GRE_EXIT_BUDGET);
		return;
	}
	st->cur_block = addr;
	st->cur_size = size;
	st->cur_icount = n;
	if (st->trace_blocks) {
		gre_block *b = (gre_block *)st->blocks.buf + st->blocks.len++;
		b->addr = addr;
		b->size = size;
		b->icount = n;
		uc_reg_read(uc, st->sp_reg, &b->sp);
		b->lr = 0;
		if (st->lr_reg >= 0) {
			uc_reg_read(uc, st->lr_reg, &b->lr);
		}
		if (st->follow_g) {
			running_g(st, b);
		} else {
			b->g = 0;
			b->goid = -1;
		}
	}
	st->insns += n;
}

uc_err gre_hook_block(gre_state *st, uc_hook *h) {
	return uc_hook_add(st->uc, h, UC_HOOK_BLOCK, hook_block, st, 1, 0);
}

// take_back_from forgets that the instruction at addr and the rest of its
// block ran: they run again, and are counted and recorded again then.
static void take_back_from(gre_state *st, uint64_t addr) {
	gre_uncount_from(st, addr);
	// The instruction hook may already have recorded this instruction (code
	// hooks run in the order they were added): it has not run.
	gre_ring *r = &st->insns_ring;
	if (st->trace_insns && r->len > 0 && ((gre_insn *)r->buf)[r->len - 1].addr == addr) {
		r->len--;
	}
}

// stop_before stops the CPU before the instruction at addr, inside the
// block that started last. That block was counted whole when it started,
// so take back what will not run now: it is counted again when execution
// resumes at addr.
static void stop_before(gre_state *st, uint64_t addr, uint32_t why) {
	take_back_from(st, addr);
	st->stop_pc = addr;
	stop(st, why);
}

// gre_uncount_from takes back the instructions from addr to the end of the
// block that started last, which was counted whole when it started and
// will be counted again when execution resumes at addr. The block ring
// recorded that block whole too: it keeps only the part that ran, or
// nothing if none did, so a resumed block is not seen twice.
void gre_uncount_from(gre_state *st, uint64_t addr) {
	uint32_t taken = 0;
	if (addr == st->cur_block) {
		taken = st->cur_icount;
	} else if (addr > st->cur_block && addr < st->cur_block + st->cur_size) {
		if (st->arch != UC_ARCH_X86) {
			taken = (uint32_t)((st->cur_block + st->cur_size - addr) / 4);
		} else {
			// The block that resumes at addr ends where this one does.
			uc_tb tb;
			if (uc_ctl_request_cache(st->uc, addr, &tb) == UC_ERR_OK && tb.icount <= st->cur_icount) {
				taken = tb.icount;
			}
		}
	}
	st->insns -= taken;
	gre_ring *r = &st->blocks;
	if (taken > 0 && st->trace_blocks && r->len > 0) {
		gre_block *b = (gre_block *)r->buf + r->len - 1;
		if (b->addr == st->cur_block) {
			if (taken >= b->icount) {
				r->len--;
			} else {
				b->icount -= taken;
				b->size = (uint32_t)(addr - b->addr);
			}
		}
	}
	st->cur_block = 0;
	st->cur_size = 0;
	st->cur_icount = 0;
}

// hook_stop runs before the instruction at a stop address executes.
static void hook_stop(uc_engine *uc, uint64_t addr, uint32_t size, void *user) {
	gre_state *st = user;
	if (st->skip_armed && addr == st->skip_pc) {
		st->skip_armed = 0;
		return;
	}
	st->skip_armed = 0;
	stop_before(st, addr, GRE_EXIT_STOPADDR);
}

uc_err gre_hook_stop(gre_state *st, uc_hook *h, uint64_t addr) {
	return uc_hook_add(st->uc, h, UC_HOOK_CODE, hook_stop, st, addr, addr);
}

// hook_insn records each instruction before it runs and, with register
// tracing on, the values of the traced registers at that moment (so one
// record's values are the previous instruction's results).
static void hook_insn(uc_engine *uc, uint64_t addr, uint32_t size, void *user) {
	gre_state *st = user;
	if (!st->trace_insns) {
		return;
	}
	if (st->insns_ring.len == st->insns_ring.cap) {
		stop_before(st, addr, GRE_EXIT_RINGFULL);
		return;
	}
	if (st->nregs > 0) {
		void *ptrs[GRE_MAX_TRACE_REGS];
		uint64_t *vals = (uint64_t *)st->regs_ring.buf + st->insns_ring.len * st->nregs;
		for (int i = 0; i < st->nregs; i++) {
			ptrs[i] = &vals[i];
		}
		uc_reg_read_batch(uc, st->regids, ptrs, st->nregs);
	}
	gre_insn *in = (gre_insn *)st->insns_ring.buf + st->insns_ring.len++;
	in->addr = addr;
	in->size = size;
}

uc_err gre_hook_insns(gre_state *st, uc_hook *h) {
	return uc_hook_add(st->uc, h, UC_HOOK_CODE, hook_insn, st, 1, 0);
}

// watched finds whether an access of size bytes at engine address addr
// touches the watched range w, and sets *vaddr to the first guest byte of
// w it touches and *n to how many it touches; *start is the guest address
// of the access (which may begin before w).
static int watched(const gre_watch *w, uint64_t addr, int size, uint64_t *vaddr, uint32_t *n, uint64_t *start) {
	for (int j = 0; j < w->nseg; j++) {
		uint64_t lo = w->seg[j].pbegin, hi = w->seg[j].pend;
		if (addr + (uint64_t)size > lo && addr < hi) {
			uint64_t from = addr > lo ? addr : lo;
			uint64_t to = addr + (uint64_t)size < hi ? addr + (uint64_t)size : hi;
			*vaddr = w->seg[j].vbegin + (from - lo);
			*n = (uint32_t)(to - from);
			*start = *vaddr - (from - addr);
			return 1;
		}
	}
	return 0;
}

static uint64_t pc_now(gre_state *st) {
	uint64_t pc = 0;
	uc_reg_read(st->uc, st->arch == UC_ARCH_X86 ? UC_X86_REG_RIP : UC_ARM64_REG_PC, &pc);
	return pc;
}

// check_stop_watches records an access to the stop watches of its kind
// and ends the run after the block that made the first: not at once, as
// a stop requested here takes effect right after the access, inside the
// instruction, where the x86 lazy flags are not written back and the PC
// is the block's start. Ending the budget stops cleanly before the next
// block.
static void check_stop_watches(gre_state *st, uint32_t kind, uint64_t addr, int size) {
	for (int i = 0; i < st->nstop_watches; i++) {
		gre_watch *w = &st->stop_watches[i];
		uint64_t vaddr, start;
		uint32_t n;
		if ((w->kinds & kind) && watched(w, addr, size, &vaddr, &n, &start)) {
			st->exit |= GRE_EXIT_WATCH;
			st->limit = st->insns;
			gre_ring *r = &st->hits;
			if (r->len == r->cap) {
				r->dropped++;
				return;
			}
			gre_watch_hit *h = (gre_watch_hit *)r->buf + r->len++;
			h->pc = pc_now(st);
			h->addr = vaddr;
			h->size = n;
			h->kind = kind;
			// The block was counted whole when it started.
			h->block = st->cur_block;
			h->insns = st->insns - st->cur_icount;
			return;
		}
	}
}

// Writes cannot be refused once the store has begun, so the ring keeps a
// reserve: it asks to stop when a quarter is left and drops only if even
// that runs out. addr is an engine address: the watches' segments say
// which guest address it stands for.
static void hook_write(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value, void *user) {
	gre_state *st = user;
	if (st->nstop_watches > 0) {
		check_stop_watches(st, GRE_WATCH_WRITE, addr, size);
	}
	uint64_t first, vaddr = 0;
	uint32_t n;
	int found = 0;
	for (int i = 0; i < st->nwatches && !found; i++) {
		found = watched(&st->watches[i], addr, size, &first, &n, &vaddr);
	}
	if (!found) {
		return;
	}
	gre_ring *r = &st->writes;
	if (r->len == r->cap) {
		r->dropped++;
		return;
	}
	gre_write *w = (gre_write *)r->buf + r->len++;
	w->pc = pc_now(st);
	w->addr = vaddr;
	w->size = (uint32_t)size;
	w->value = (uint64_t)value;
	w->old = 0;
	if (size > 0 && size <= 8) {
		uc_mem_read(uc, addr, &w->old, (size_t)size);
	}
	// The block was counted whole when it started.
	w->block = st->cur_block;
	w->insns = st->insns - st->cur_icount;
	if (r->len >= r->cap - r->cap / 4) {
		stop(st, GRE_EXIT_RINGFULL);
	}
}

static void hook_read(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value, void *user) {
	gre_state *st = user;
	if (st->nstop_watches > 0) {
		check_stop_watches(st, GRE_WATCH_READ, addr, size);
	}
}

// gre_hook_watch adds [begin, end) to the watched ranges; one store hook
// over all addresses serves them all.
uc_err gre_hook_watch(gre_state *st, uint64_t begin, uint64_t end) {
	if (st->nwatches == GRE_MAX_WATCHES) {
		return UC_ERR_NOMEM;
	}
	gre_watch *w = &st->watches[st->nwatches++];
	memset(w, 0, sizeof *w);
	w->begin = begin;
	w->end = end;
	gre_watch_segments(st);
	if (st->watch_hook == 0) {
		return uc_hook_add(st->uc, &st->watch_hook, UC_HOOK_MEM_WRITE, hook_write, st, 1, 0);
	}
	return UC_ERR_OK;
}

// The hooks stay once added, even with no watch left: removing them would
// cost another flush of the translated code, and with no watch they only
// return.
uc_err gre_set_stop_watches(gre_state *st, const gre_watch *w, int n, int *added) {
	*added = 0;
	if (n > GRE_MAX_STOP_WATCHES) {
		return UC_ERR_NOMEM;
	}
	uint32_t kinds = 0;
	for (int i = 0; i < n; i++) {
		st->stop_watches[i] = w[i];
		kinds |= w[i].kinds;
	}
	st->nstop_watches = n;
	gre_watch_segments(st);
	if (n > 0 && st->hits.buf == NULL && gre_ring_alloc(&st->hits, GRE_MAX_WATCH_HITS, sizeof(gre_watch_hit)) != 0) {
		return UC_ERR_NOMEM;
	}
	uc_err err;
	if ((kinds & GRE_WATCH_WRITE) && st->watch_hook == 0) {
		if ((err = uc_hook_add(st->uc, &st->watch_hook, UC_HOOK_MEM_WRITE, hook_write, st, 1, 0)) != UC_ERR_OK) {
			return err;
		}
		*added = 1;
	}
	if ((kinds & GRE_WATCH_READ) && st->read_hook == 0) {
		if ((err = uc_hook_add(st->uc, &st->read_hook, UC_HOOK_MEM_READ, hook_read, st, 1, 0)) != UC_ERR_OK) {
			return err;
		}
		*added = 1;
	}
	return UC_ERR_OK;
}

// The x86 SYSCALL instruction hook runs with RIP still on the instruction;
// Unicorn moves RIP past it after we return, and the stop lands there.
static void hook_syscall_x86(uc_engine *uc, void *user) {
	stop((gre_state *)user, GRE_EXIT_SYSCALL);
}

// AArch64 exceptions arrive as interrupts; SVC is EXCP_SWI (2) and PC is
// already past the instruction.
#define GRE_ARM64_EXCP_SWI 2
#define GRE_X86_EXCP_GP 13
#define GRE_X86_EXCP_DF 8

// clear_exception tells an x86 engine that the exception it raised has
// been dealt with. QEMU counts an exception "in flight" until its handler
// is entered through the IDT, which never happens here: the next #GP
// would become a double fault, the one after a triple fault that halts
// the CPU. The field is not in Unicorn's API, but it is in the CPU
// context, at the offset find_exception_field found.
static void clear_exception(gre_state *st) {
	if (st->exc_ctx == NULL || uc_context_save(st->uc, st->exc_ctx) != UC_ERR_OK) {
		return;
	}
	int32_t none = -1;
	memcpy((uint8_t *)st->exc_ctx + st->exc_off, &none, sizeof none);
	uc_context_restore(st->uc, st->exc_ctx);
}

// retry_double_fault answers a double fault, which no user process ever
// sees: QEMU made it of the instruction's own exception (#GP from RDTSC,
// once in CI) because it still counted an earlier one in flight. With
// that cleared (hook_intr), the instruction runs again from its start,
// where the CPU stands, and raises what it raised. A second double fault
// with no instruction run since is reported instead (returns 0).
static int retry_double_fault(gre_state *st) {
	uint64_t rip = 0;
	if (st->exc_ctx == NULL || uc_reg_read(st->uc, UC_X86_REG_RIP, &rip) != UC_ERR_OK) {
		return 0;
	}
	// The count includes rip's block, counted when it started: the same
	// after a retry that ran nothing else.
	if (st->df_retried > 0 && st->df_pc == rip && st->df_insns == st->insns) {
		return 0;
	}
	st->df_pc = rip;
	st->df_insns = st->insns;
	st->df_retried++;
	take_back_from(st, rip);
	return 1;
}

// gre_set_exception_in_flight makes QEMU count exception intno in flight,
// as after an exception no hook saw: for tests of retry_double_fault.
int gre_set_exception_in_flight(gre_state *st, int32_t intno) {
	if (st->exc_ctx == NULL || uc_context_save(st->uc, st->exc_ctx) != UC_ERR_OK) {
		return 0;
	}
	memcpy((uint8_t *)st->exc_ctx + st->exc_off, &intno, sizeof intno);
	return uc_context_restore(st->uc, st->exc_ctx) == UC_ERR_OK;
}
#define GRE_X86_CR4_TSD (1u << 2)
#define GRE_X86_CR4_OSFXSR (1u << 9)
#define GRE_X86_CR4_OSXMMEXCPT (1u << 10)
static int emulate_rdtsc(gre_state *st);
static void hook_intr(uc_engine *uc, uint32_t intno, void *user) {
	gre_state *st = user;
	if (st->arch == UC_ARCH_ARM64 && intno == GRE_ARM64_EXCP_SWI) {
		stop(st, GRE_EXIT_SYSCALL);
		return;
	}
	if (st->arch == UC_ARCH_X86) {
		// gorunemu handles the exception (a signal, or RDTSC's answer),
		// as the kernel would: the CPU has no exception in flight.
		clear_exception(st);
		if (intno == GRE_X86_EXCP_GP && st->tsc_trap && emulate_rdtsc(st)) {
			return;
		}
		if (intno == GRE_X86_EXCP_DF && retry_double_fault(st)) {
			return;
		}
	}
	st->intno = intno;
	stop(st, GRE_EXIT_INTR);
}

uc_err gre_hook_syscall(gre_state *st, uc_hook *h) {
	if (st->arch == UC_ARCH_X86) {
		return uc_hook_add(st->uc, h, UC_HOOK_INSN, hook_syscall_x86, st, 1, 0, UC_X86_INS_SYSCALL);
	}
	*h = 0;
	return UC_ERR_OK; // arm64 syscalls come through gre_hook_intr
}

uc_err gre_hook_intr(gre_state *st, uc_hook *h) {
	return uc_hook_add(st->uc, h, UC_HOOK_INTR, hook_intr, st, 1, 0);
}

static bool hook_invalid_mem(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value, void *user) {
	gre_state *st = user;
	// With the page table, a refused page leads to the poison page (see
	// tlb_fill): the offset in it is the offset in the refused page, and
	// the refused page may be mapped without the access asked for.
	if (st->paging && addr >= GRE_POISON && addr - GRE_POISON < 0x10000) {
		addr = st->denied_page + (addr - GRE_POISON);
		if (st->denied_mapped) {
			switch (type) {
			case UC_MEM_READ_UNMAPPED:
				type = UC_MEM_READ_PROT;
				break;
			case UC_MEM_WRITE_UNMAPPED:
				type = UC_MEM_WRITE_PROT;
				break;
			case UC_MEM_FETCH_UNMAPPED:
				type = UC_MEM_FETCH_PROT;
				break;
			default:
				break;
			}
		}
	}
	st->fault_type = type;
	st->fault_addr = addr;
	st->fault_size = size;
	st->fault_value = value;
	st->exit |= GRE_EXIT_FAULT;
	return false;
}

uc_err gre_hook_invalid_mem(gre_state *st, uc_hook *h) {
	return uc_hook_add(st->uc, h, UC_HOOK_MEM_INVALID, hook_invalid_mem, st, 1, 0);
}

static bool hook_invalid_insn(uc_engine *uc, void *user) {
	gre_state *st = user;
	st->exit |= GRE_EXIT_INVALID;
	return false;
}

uc_err gre_hook_invalid_insn(gre_state *st, uc_hook *h) {
	return uc_hook_add(st->uc, h, UC_HOOK_INSN_INVALID, hook_invalid_insn, st, 1, 0);
}

// hook_cpuid answers CPUID from the table Go installed, so the guest sees
// exactly the features the emulated CPU executes, the same on every host.
// Leaves missing from the table read as zeros, as unsupported leaves do.
static int hook_cpuid(uc_engine *uc, void *user) {
	gre_state *st = user;
	uint64_t leaf = 0, sub = 0;
	uc_reg_read(uc, UC_X86_REG_RAX, &leaf);
	uc_reg_read(uc, UC_X86_REG_RCX, &sub);
	uint64_t out[4] = {0, 0, 0, 0};
	for (size_t i = 0; i < st->ncpuid; i++) {
		uint32_t *row = st->cpuid[i];
		if (row[0] == (uint32_t)leaf && (row[1] == (uint32_t)sub || row[1] == 0xffffffffu)) {
			for (int j = 0; j < 4; j++) {
				out[j] = row[2 + j];
			}
			break;
		}
	}
	uc_reg_write(uc, UC_X86_REG_RAX, &out[0]);
	uc_reg_write(uc, UC_X86_REG_RBX, &out[1]);
	uc_reg_write(uc, UC_X86_REG_RCX, &out[2]);
	uc_reg_write(uc, UC_X86_REG_RDX, &out[3]);
	return 1; // skip the built-in CPUID
}

uc_err gre_hook_cpuid(gre_state *st, uc_hook *h) {
	return uc_hook_add(st->uc, h, UC_HOOK_INSN, hook_cpuid, st, 1, 0, UC_X86_INS_CPUID);
}

// virtual_tsc is the guest's time stamp counter: one tick per
// instruction of the process family (the offset Go keeps up to date), so
// that runs are reproducible and show nothing of the host.
static uint64_t virtual_tsc(gre_state *st) {
	return st->insns + st->tsc_offset;
}

// hook_rdtsc answers RDTSC and RDTSCP, however they are reached (aligned
// or not, in the binary or in code the guest wrote), with the virtual
// counter; RDTSCP's TSC_AUX (the CPU number, as Linux sets it) is 0.
static int hook_rdtsc(uc_engine *uc, void *user) {
	uint64_t tsc = virtual_tsc(user);
	uint64_t lo = tsc & 0xffffffffu, hi = tsc >> 32;
	uc_reg_write(uc, UC_X86_REG_RAX, &lo);
	uc_reg_write(uc, UC_X86_REG_RDX, &hi);
	return 1; // skip the host's counter
}

static int hook_rdtscp(uc_engine *uc, void *user) {
	uint64_t aux = 0;
	uc_reg_write(uc, UC_X86_REG_RCX, &aux);
	return hook_rdtsc(uc, user);
}

// splitmix64 steps the engine's seeded random source.
static uint64_t next_random(gre_state *st) {
	uint64_t z = (st->random += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

// hook_mrs answers the arm64 system registers that would show the host:
// the virtual counter CNTVCT_EL0 (the virtual clock at the CPU's CNTFRQ)
// and RNDR/RNDRRS (the engine's seeded random source; NZCV 0 says it
// succeeded). Other registers read as usual. (Only registers EL0 may
// read can be answered here: for one it may not, Unicorn 2.1.1 never
// places the hook's skip label and the instruction runs forever.)
static uint32_t hook_mrs(uc_engine *uc, uc_arm64_reg reg, const uc_arm64_cp_reg *cp, void *user) {
	gre_state *st = user;
	uint64_t v;
	if (cp->op0 == 3 && cp->op1 == 3 && cp->crn == 14 && cp->crm == 0 && cp->op2 == 2) {
		// ns * freq / 1e9 without overflow for centuries of guest time.
		uint64_t ns = virtual_tsc(st);
		v = ns / 1000000000ull * st->cntfrq + ns % 1000000000ull * st->cntfrq / 1000000000ull;
	} else if (cp->op0 == 3 && cp->op1 == 3 && cp->crn == 2 && cp->crm == 4 && (cp->op2 == 0 || cp->op2 == 1)) {
		v = next_random(st);
		uint32_t nzcv = 0;
		uc_reg_write(uc, UC_ARM64_REG_NZCV, &nzcv);
	} else {
		return 0;
	}
	uc_reg_write(uc, reg, &v);
	return 1;
}

// emulate_rdtsc answers an RDTSC or RDTSCP that faulted because CR4.TSD
// is set (see gre_hook_counters) with the virtual counter, moves past it
// and reports 1; anything else that raised #GP reports 0. The rest of the
// block runs again as a block of its own, so it is counted there and not
// twice.
static int emulate_rdtsc(gre_state *st) {
	uint64_t rip = 0;
	uc_reg_read(st->uc, UC_X86_REG_RIP, &rip);
	uint8_t b[15] = {0};
	size_t n = 0;
	while (n < sizeof b && gre_vm_read(st, rip + n, &b[n], 1) == 0) {
		n++;
	}
	size_t i = 0;
	// Legacy prefixes and REX change nothing for these instructions.
	while (i < n && (b[i] == 0x66 || b[i] == 0x67 || b[i] == 0xf2 || b[i] == 0xf3 || b[i] == 0x2e || b[i] == 0x36 ||
	                 b[i] == 0x3e || b[i] == 0x26 || b[i] == 0x64 || b[i] == 0x65 || (b[i] & 0xf0) == 0x40)) {
		i++;
	}
	int rdtscp;
	if (i + 2 <= n && b[i] == 0x0f && b[i + 1] == 0x31) {
		rdtscp = 0;
		i += 2;
	} else if (i + 3 <= n && b[i] == 0x0f && b[i + 1] == 0x01 && b[i + 2] == 0xf9) {
		rdtscp = 1;
		i += 3;
	} else {
		return 0;
	}
	if (rdtscp) {
		hook_rdtscp(st->uc, st);
	} else {
		hook_rdtsc(st->uc, st);
	}
	uint64_t next = rip + i;
	gre_uncount_from(st, next);
	uc_reg_write(st->uc, UC_X86_REG_RIP, &next);
	return 1;
}

// gre_hook_counters installs the hooks that keep host counters and
// randomness from the guest. Unicorn hooks RDTSC and RDTSCP from 2.1.2;
// before, the guest runs with CR4.TSD set (gre_enter_user_mode), as a
// Linux process after prctl(PR_SET_TSC, PR_TSC_SIGSEGV), so that both
// fault however they are reached and emulate_rdtsc answers them.
uc_err gre_hook_counters(gre_state *st, uc_hook *h) {
	switch (st->arch) {
	case UC_ARCH_X86: {
		uc_hook tsc, tscp;
		if (uc_hook_add(st->uc, &tsc, UC_HOOK_INSN, hook_rdtsc, st, 1, 0, UC_X86_INS_RDTSC) != UC_ERR_OK) {
			st->tsc_trap = 1;
			*h = 0;
			return UC_ERR_OK;
		}
		uc_err err = uc_hook_add(st->uc, &tscp, UC_HOOK_INSN, hook_rdtscp, st, 1, 0, UC_X86_INS_RDTSCP);
		if (err != UC_ERR_OK) {
			uc_hook_del(st->uc, tsc);
			return err;
		}
		st->tsc_hooked = 1;
		*h = tsc;
		return UC_ERR_OK;
	}
	case UC_ARCH_ARM64:
		return uc_hook_add(st->uc, h, UC_HOOK_INSN, hook_mrs, st, 1, 0, UC_ARM64_INS_MRS);
	}
	return UC_ERR_ARCH;
}

uc_err gre_start(gre_state *st, uint64_t begin, uint64_t budget, uint64_t exact) {
	st->exit = 0;
	st->exact_limit = exact == 0 || exact > UINT64_MAX - st->insns ? 0 : st->insns + exact;
	st->first_block = 1;
	st->over = 0;
	st->stop_pc = 0;
	st->hits.len = 0;
	st->hits.dropped = 0;
	st->intno = 0;
	st->last_g = UINT64_MAX; // another thread may run now: read g's id anew
	// No budget means "no limit" by accident: all ones (Go's Unlimited)
	// is a limit never reached, and 0 stops before the first block.
	st->limit = budget > UINT64_MAX - st->insns ? UINT64_MAX : st->insns + budget;
	uc_err err = uc_emu_start(st->uc, begin, 0, 0, 0);
	st->skip_armed = 0; // it was for this start's first instruction
	return err;
}

// uc_ctl is variadic, which cgo cannot call; these wrap the uses we need.
uc_err gre_set_cpu_model(uc_engine *uc, int model) {
	return uc_ctl_set_cpu_model(uc, model);
}

uc_err gre_remove_tbs(uc_engine *uc, uint64_t begin, uint64_t end) {
	return uc_ctl_remove_cache(uc, begin, end);
}

// Batched register access on 64-bit registers. Unicorn wants an array of
// value pointers; building it here keeps Go pointers out of C memory.
#define GRE_MAX_BATCH 64
uc_err gre_reg_read_batch(uc_engine *uc, uc_context *ctx, int *regs, uint64_t *vals, int n) {
	void *ptrs[GRE_MAX_BATCH];
	if (n > GRE_MAX_BATCH) {
		return UC_ERR_ARG;
	}
	for (int i = 0; i < n; i++) {
		vals[i] = 0;
		ptrs[i] = &vals[i];
	}
	if (ctx != NULL) {
		return uc_context_reg_read_batch(ctx, regs, ptrs, n);
	}
	return uc_reg_read_batch(uc, regs, ptrs, n);
}

uc_err gre_reg_write_batch(uc_engine *uc, uc_context *ctx, int *regs, uint64_t *vals, int n) {
	void *ptrs[GRE_MAX_BATCH];
	if (n > GRE_MAX_BATCH) {
		return UC_ERR_ARG;
	}
	for (int i = 0; i < n; i++) {
		ptrs[i] = &vals[i];
	}
	if (ctx != NULL) {
		return uc_context_reg_write_batch(ctx, regs, (void *const *)ptrs, n);
	}
	return uc_reg_write_batch(uc, regs, (void *const *)ptrs, n);
}

// x86 segment descriptors for the ring change: code (execute/read) and
// data (read/write), accessed, present, 4 GiB; code is 64-bit (L).
#define GRE_GDT_CODE64(dpl) (0x00af9b000000ffffull | ((uint64_t)(dpl) << 45))
#define GRE_GDT_DATA(dpl) (0x00cf93000000ffffull | ((uint64_t)(dpl) << 45))

// enter_ring3 moves an x86-64 engine from CPL 0, where Unicorn starts it,
// to CPL 3 with Linux's user selectors (CS 0x33, SS 0x2b), by running one
// IRETQ from a scratch page at addr with a GDT on it. The page is then
// unmapped: CPL lives in the loaded segments, not in the GDT.
static uc_err enter_ring3(uc_engine *uc, uint64_t addr) {
	uc_err err = uc_mem_map(uc, addr, 0x1000, UC_PROT_ALL);
	if (err != UC_ERR_OK) {
		return err;
	}
	// Linux's GDT layout: kernel CS 0x10 and DS 0x18, user DS 0x2b and
	// CS 0x33 (entries 5 and 6, RPL 3).
	uint64_t gdt[8] = {0};
	gdt[2] = GRE_GDT_CODE64(0);
	gdt[3] = GRE_GDT_DATA(0);
	gdt[5] = GRE_GDT_DATA(3);
	gdt[6] = GRE_GDT_CODE64(3);
	uint8_t iretq[2] = {0x48, 0xcf};
	uint64_t code = addr + 0x100, stack = addr + 0x800;
	// IRETQ pops RIP, CS, RFLAGS (IF and the reserved bit 1), RSP, SS.
	uint64_t frame[5] = {code + sizeof iretq, 0x33, 0x202, addr + 0xf00, 0x2b};
	uc_x86_mmr gdtr = {0};
	gdtr.base = addr;
	gdtr.limit = sizeof gdt - 1;
	uint16_t kcs = 0x10, kss = 0x18;
	if ((err = uc_mem_write(uc, addr, gdt, sizeof gdt)) != UC_ERR_OK ||
	    (err = uc_mem_write(uc, code, iretq, sizeof iretq)) != UC_ERR_OK ||
	    (err = uc_mem_write(uc, stack, frame, sizeof frame)) != UC_ERR_OK ||
	    (err = uc_reg_write(uc, UC_X86_REG_GDTR, &gdtr)) != UC_ERR_OK ||
	    (err = uc_reg_write(uc, UC_X86_REG_CS, &kcs)) != UC_ERR_OK ||
	    (err = uc_reg_write(uc, UC_X86_REG_SS, &kss)) != UC_ERR_OK ||
	    (err = uc_reg_write(uc, UC_X86_REG_RSP, &stack)) != UC_ERR_OK ||
	    (err = uc_emu_start(uc, code, code + sizeof iretq, 0, 0)) != UC_ERR_OK) {
		uc_mem_unmap(uc, addr, 0x1000);
		return err;
	}
	uint64_t zero = 0;
	uc_reg_write(uc, UC_X86_REG_RSP, &zero);
	return UC_ERR_OK; // the caller unmaps the page
}

// find_exception_field finds where the CPU context keeps QEMU's
// "exception in flight" (see clear_exception): it is -1 before a #GP and
// 13 after one, which HLT at CPL 3 raises, on the scratch page at addr.
// If no single field behaves so, exceptions stay in flight as before.
static void find_exception_field(gre_state *st, uint64_t addr) {
	uc_context *before = NULL, *after = NULL;
	uint8_t hlt = 0xf4;
	uint64_t code = addr + 0x200;
	if (uc_context_alloc(st->uc, &before) != UC_ERR_OK || uc_context_alloc(st->uc, &after) != UC_ERR_OK ||
	    uc_context_save(st->uc, before) != UC_ERR_OK || uc_mem_write(st->uc, code, &hlt, 1) != UC_ERR_OK) {
		goto out;
	}
	int saved_trap = st->tsc_trap;
	st->tsc_trap = 0;
	uc_emu_start(st->uc, code, code + 1, 0, 0); // no count: Unicorn would hook every instruction after
	st->tsc_trap = saved_trap;
	if (!(st->exit & GRE_EXIT_INTR) || st->intno != GRE_X86_EXCP_GP || uc_context_save(st->uc, after) != UC_ERR_OK) {
		goto out;
	}
	size_t size = uc_context_size(st->uc), found = 0, at = 0;
	for (size_t off = 0; off + 4 <= size; off += 4) {
		int32_t a, b;
		memcpy(&a, (uint8_t *)before + off, 4);
		memcpy(&b, (uint8_t *)after + off, 4);
		if (a == -1 && b == GRE_X86_EXCP_GP) {
			found++;
			at = off;
		}
	}
	if (found == 1) {
		st->exc_off = at;
		st->exc_ctx = after;
		after = NULL;
		clear_exception(st);
	}
	// The registers as they were before the HLT.
	uc_context_restore(st->uc, before);
out:
	if (before != NULL) {
		uc_context_free(before);
	}
	if (after != NULL) {
		uc_context_free(after);
	}
}

// sysreg names the arm64 system register with encoding (op0, op1, CRn,
// CRm, op2).
static uc_arm64_cp_reg sysreg(int op0, int op1, int crn, int crm, int op2) {
	uc_arm64_cp_reg r = {0};
	r.op0 = op0;
	r.op1 = op1;
	r.crn = crn;
	r.crm = crm;
	r.op2 = op2;
	return r;
}

uc_err gre_read_sysreg(uc_engine *uc, int op0, int op1, int crn, int crm, int op2, uint64_t *val) {
	uc_arm64_cp_reg r = sysreg(op0, op1, crn, crm, op2);
	uc_err err = uc_reg_read(uc, UC_ARM64_REG_CP_REG, &r);
	*val = r.val;
	return err;
}

// set_sysreg_bits sets bits in a system register, keeping the others.
static uc_err set_sysreg_bits(uc_engine *uc, int op0, int op1, int crn, int crm, int op2, uint64_t bits) {
	uc_arm64_cp_reg r = sysreg(op0, op1, crn, crm, op2);
	uc_err err = uc_reg_read(uc, UC_ARM64_REG_CP_REG, &r);
	if (err != UC_ERR_OK) {
		return err;
	}
	r.val |= bits;
	return uc_reg_write(uc, UC_ARM64_REG_CP_REG, &r);
}

// enter_el0 moves an AArch64 engine from EL1, where Unicorn starts it, to
// EL0 with what Linux lets user code do there: FP/SIMD (CPACR_EL1.FPEN),
// the virtual counter (CNTKCTL_EL1.EL0VCTEN), DC ZVA, CTR_EL0, cache
// maintenance and WFI/WFE (SCTLR_EL1 DZE, UCT, UCI, nTWI, nTWE). Each
// system register write also rebuilds the cached CPU state, which the
// PSTATE write alone does not.
static uc_err enter_el0(gre_state *st) {
	uc_engine *uc = st->uc;
	uint64_t cpacr = 3ull << 20;
	uint32_t pstate = 0x3c0; // EL0t, DAIF masked as Unicorn leaves them
	uc_err err;
	if ((err = uc_reg_write(uc, UC_ARM64_REG_CPACR_EL1, &cpacr)) != UC_ERR_OK ||
	    (err = uc_reg_write(uc, UC_ARM64_REG_PSTATE, &pstate)) != UC_ERR_OK ||
	    (err = set_sysreg_bits(uc, 3, 0, 14, 1, 0, 1ull << 1)) != UC_ERR_OK ||
	    (err = set_sysreg_bits(uc, 3, 0, 1, 0, 0, (1ull << 14) | (1ull << 15) | (1ull << 16) | (1ull << 18) | (1ull << 26))) != UC_ERR_OK) {
		return err;
	}
	// CNTFRQ_EL0 at 1 GHz, as Armv8.6 and later require: the virtual
	// counter is then the virtual clock in nanoseconds, exactly, and the
	// vDSO reads the time the syscalls give.
	uc_arm64_cp_reg frq = sysreg(3, 3, 14, 0, 0);
	frq.val = 1000000000ull;
	if ((err = uc_reg_write(uc, UC_ARM64_REG_CP_REG, &frq)) != UC_ERR_OK) {
		return err;
	}
	return gre_read_sysreg(uc, 3, 3, 14, 0, 0, &st->cntfrq); // CNTFRQ_EL0
}

uc_err gre_enter_user_mode(gre_state *st, uint64_t scratch) {
	switch (st->arch) {
	case UC_ARCH_X86: {
		st->limit = UINT64_MAX; // the block hook lets the IRETQ run
		uc_err err = enter_ring3(st->uc, scratch);
		if (err == UC_ERR_OK) {
			find_exception_field(st, scratch);
			err = uc_mem_unmap(st->uc, scratch, 0x1000);
		}
		if (err == UC_ERR_OK && st->tsc_trap) {
			uint64_t cr4 = 0;
			if ((err = uc_reg_read(st->uc, UC_X86_REG_CR4, &cr4)) == UC_ERR_OK) {
				// Unicorn turns SSE on in the hidden flags, not in CR4,
				// and writing CR4 recomputes them: set what Linux sets.
				cr4 |= GRE_X86_CR4_TSD | GRE_X86_CR4_OSFXSR | GRE_X86_CR4_OSXMMEXCPT;
				err = uc_reg_write(st->uc, UC_X86_REG_CR4, &cr4);
			}
		}
		// The hooks saw the IRETQ: the guest's count starts at 0.
		st->insns = 0;
		st->exit = 0;
		st->cur_block = 0;
		st->cur_size = 0;
		st->cur_icount = 0;
		return err;
	}
	case UC_ARCH_ARM64:
		return enter_el0(st);
	}
	return UC_ERR_ARCH;
}

// gre_forget_code drops all translated code and the instruction counts
// learned from it: the memory behind guest code may hold other contents
// now (a process state put back, see Engine.SetState).
uc_err gre_forget_code(gre_state *st) {
	if (st->icache != NULL) {
		memset(st->icache, 0, ((size_t)1 << GRE_ICACHE_BITS) * sizeof(gre_icache_entry));
	}
	st->icache_used = 0;
	memset(st->icache_hot, 0, sizeof st->icache_hot);
	return gre_discard_all_code(st);
}
