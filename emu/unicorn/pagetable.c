// The guest page table: Unicorn's virtual TLB mode asks tlb_fill for every
// guest page it has not cached, and tlb_fill answers from a sorted array of
// the guest's mappings. Engine regions are only the few large blocks of
// host memory behind them, so the guest may hold as many mappings as Linux
// allows, and mprotect costs a table update and a TLB flush instead of
// splitting engine regions (whose cost grows with their number, and whose
// count aborts Unicorn past TARGET_PAGE_SIZE sections). See hooks.h.
#include <stdlib.h>
#include <string.h>
#include "hooks.h"

static uc_err flush_tlb(gre_state *st) {
	return uc_ctl(st->uc, UC_CTL_WRITE(UC_CTL_TLB_FLUSH, 0));
}

// find returns the index of the first entry that ends after addr.
static size_t find(const gre_state *st, uint64_t addr) {
	size_t lo = 0, hi = st->nvmas;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->vmas[mid].end > addr) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	return lo;
}

static const gre_vma *lookup(const gre_state *st, uint64_t addr) {
	size_t i = find(st, addr);
	if (i < st->nvmas && st->vmas[i].start <= addr) {
		return &st->vmas[i];
	}
	return NULL;
}

static uint32_t wanted(uc_mem_type type) {
	switch (type) {
	case UC_MEM_WRITE:
		return UC_PROT_WRITE;
	case UC_MEM_FETCH:
		return UC_PROT_EXEC;
	default:
		return UC_PROT_READ;
	}
}

// tlb_fill answers a TLB miss for the page at vaddr. A refused access is
// not refused here: Unicorn would stop with UC_ERR_EXCEPTION and lose the
// address. The page goes to the poison page, which no region backs, so the
// access itself fails into hook_invalid_mem with its exact offset; the
// entry keeps failing until the table changes and the TLB is flushed.
static bool tlb_fill(uc_engine *uc, uint64_t vaddr, uc_mem_type type, uc_tlb_entry *e, void *user) {
	gre_state *st = user;
	if (!st->paging) {
		e->paddr = vaddr;
		e->perms = UC_PROT_ALL;
		return true;
	}
	uint32_t want = wanted(type);
	const gre_vma *v = lookup(st, vaddr);
	if (v != NULL && (v->perms & want) != 0 && v->phys != 0) {
		e->paddr = v->phys + (vaddr - v->start);
		e->perms = v->perms;
		return true;
	}
	st->denied_page = vaddr;
	st->denied_mapped = v != NULL;
	e->paddr = GRE_POISON;
	e->perms = want;
	return true;
}

uc_err gre_hook_tlb(gre_state *st, uc_hook *h) {
	uc_err err = uc_ctl(st->uc, UC_CTL_WRITE(UC_CTL_TLB_TYPE, 1), UC_TLB_VIRTUAL);
	if (err != UC_ERR_OK) {
		return err;
	}
	return uc_hook_add(st->uc, h, UC_HOOK_TLB_FILL, tlb_fill, st, 1, 0);
}

uc_err gre_paging_start(gre_state *st) {
	st->paging = 1;
	gre_watch_segments(st);
	return flush_tlb(st);
}

int gre_vm_replace(gre_state *st, uint64_t start, uint64_t end, const gre_vma *in, size_t n) {
	size_t i = find(st, start), j = i;
	while (j < st->nvmas && st->vmas[j].start < end) {
		j++;
	}
	// The outer parts of entries that straddle start or end stay.
	gre_vma left, right;
	int keep_left = i < j && st->vmas[i].start < start;
	int keep_right = i < j && st->vmas[j - 1].end > end;
	if (keep_left) {
		left = st->vmas[i];
		left.end = start;
	}
	if (keep_right) {
		right = st->vmas[j - 1];
		uint64_t off = end - right.start;
		right.start = end;
		if (right.phys != 0) {
			right.phys += off;
			right.host += off;
		}
	}
	size_t repl = (size_t)keep_left + n + (size_t)keep_right;
	size_t total = st->nvmas - (j - i) + repl;
	if (total > st->capvmas) {
		size_t cap = st->capvmas ? st->capvmas * 2 : 64;
		while (cap < total) {
			cap *= 2;
		}
		gre_vma *p = realloc(st->vmas, cap * sizeof *p);
		if (p == NULL) {
			return -1;
		}
		st->vmas = p;
		st->capvmas = cap;
	}
	memmove(&st->vmas[i + repl], &st->vmas[j], (st->nvmas - j) * sizeof(gre_vma));
	size_t k = i;
	if (keep_left) {
		st->vmas[k++] = left;
	}
	memcpy(&st->vmas[k], in, n * sizeof(gre_vma));
	k += n;
	if (keep_right) {
		st->vmas[k] = right;
	}
	st->nvmas = total;
	gre_watch_segments(st);
	if (st->paging && flush_tlb(st) != UC_ERR_OK) {
		return -1;
	}
	return 0;
}

int gre_vm_read(gre_state *st, uint64_t vaddr, void *buf, size_t n) {
	if (!st->paging) {
		return uc_mem_read(st->uc, vaddr, buf, n) == UC_ERR_OK ? 0 : -1;
	}
	const gre_vma *v = lookup(st, vaddr);
	if (v == NULL || v->host == 0 || vaddr + n > v->end || vaddr + n < vaddr) {
		return -1;
	}
	memcpy(buf, (const void *)(uintptr_t)(v->host + (vaddr - v->start)), n);
	return 0;
}

// with_identity runs op with guest addresses taken as engine addresses:
// Unicorn finds the translated code of an engine range through the TLB,
// as if it were a guest range. The TLB is flushed on both sides so that
// no entry of either kind outlives its mode.
static uc_err with_identity(gre_state *st, uc_err (*op)(gre_state *, uint64_t, uint64_t), uint64_t phys, uint64_t size) {
	int was = st->paging;
	uc_err err = flush_tlb(st);
	if (err != UC_ERR_OK) {
		return err;
	}
	st->paging = 0;
	err = op(st, phys, size);
	st->paging = was;
	uc_err ferr = flush_tlb(st);
	return err != UC_ERR_OK ? err : ferr;
}

static uc_err remove_cache(gre_state *st, uint64_t phys, uint64_t size) {
	return uc_ctl(st->uc, UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2), phys, phys + size);
}

static uc_err unmap(gre_state *st, uint64_t phys, uint64_t size) {
	return uc_mem_unmap(st->uc, phys, size);
}

uc_err gre_discard_code(gre_state *st, uint64_t phys, uint64_t size) {
	return with_identity(st, remove_cache, phys, size);
}

// discard_all drops the translated code of every engine region.
static uc_err discard_all(gre_state *st, uint64_t unused1, uint64_t unused2) {
	uc_mem_region *regions;
	uint32_t n;
	uc_err err = uc_mem_regions(st->uc, &regions, &n);
	if (err != UC_ERR_OK) {
		return err;
	}
	for (uint32_t i = 0; i < n && err == UC_ERR_OK; i++) {
		if (regions[i].perms & UC_PROT_EXEC) {
			err = remove_cache(st, regions[i].begin, regions[i].end - regions[i].begin + 1);
		}
	}
	uc_free(regions);
	return err;
}

// gre_discard_all_code drops all translated code, so that hooks added
// since apply to all code. Unicorn's own flush would do it too, but
// resets its code buffer by writing zeros over all of it (1 GiB).
uc_err gre_discard_all_code(gre_state *st) {
	return with_identity(st, discard_all, 0, 0);
}

uc_err gre_unmap_phys(gre_state *st, uint64_t phys, uint64_t size) {
	return with_identity(st, unmap, phys, size);
}

// watch_segments finds where the watched range x is in engine memory.
static void watch_segments(gre_state *st, gre_watch *x) {
	x->nseg = 0;
	if (!st->paging) {
		x->seg[0].pbegin = x->begin;
		x->seg[0].pend = x->end;
		x->seg[0].vbegin = x->begin;
		x->nseg = 1;
		return;
	}
	for (size_t i = find(st, x->begin); i < st->nvmas && st->vmas[i].start < x->end && x->nseg < GRE_WATCH_SEGS; i++) {
		const gre_vma *v = &st->vmas[i];
		if (v->phys == 0) {
			continue;
		}
		uint64_t lo = v->start > x->begin ? v->start : x->begin;
		uint64_t hi = v->end < x->end ? v->end : x->end;
		x->seg[x->nseg].pbegin = v->phys + (lo - v->start);
		x->seg[x->nseg].pend = v->phys + (hi - v->start);
		x->seg[x->nseg].vbegin = lo;
		x->nseg++;
	}
}

// gre_watch_segments finds where each watched range is in engine memory,
// after the page table changed.
void gre_watch_segments(gre_state *st) {
	for (int w = 0; w < st->nwatches; w++) {
		watch_segments(st, &st->watches[w]);
	}
	for (int w = 0; w < st->nstop_watches; w++) {
		watch_segments(st, &st->stop_watches[w]);
	}
}
