/* hakmem/segment/segment.h — the segment box: SuperSlabs, the shared slab
 * pool, region lookup and remote-free queues (SPEC §3 "Segment box", seed 003).
 *
 * Owns:
 *   - SuperSlabs: 2 MiB, 2 MiB aligned, 32 slabs of 64 KiB. Slab 0 holds the
 *     SuperSlab header and the 32 slab descriptors, so blocks start at their
 *     slab's 64 KiB boundary (the alignment rule needs no per-block header).
 *     All metadata lives in the mapping itself; nothing comes from malloc.
 *   - Slot states UNUSED / ACTIVE / EMPTY and the shared pool's acquire in
 *     three stages: (1) an EMPTY slot of the same class, (2) an UNUSED slot of
 *     any SuperSlab (or an EMPTY slot of another class), (3) a new SuperSlab
 *     (from the LRU of fully empty ones first, else the OS). Slabs of threads
 *     that exited are adopted first (stage 0).
 *   - A bounded LRU of fully empty SuperSlabs (up to 4 kept unpurged until
 *     the decay purges them, unmapped when the LRU overflows) and purging of EMPTY slabs beyond a small reserve
 *     per class (classes that recycle slabs keep a capped, decaying extra:
 *     see "EMPTY slabs" in segment.c).
 *   - The region registry: a two-level map from each 2 MiB chunk of the
 *     address space to the header of the HAKMEM region covering it, tagged with
 *     the region kind (large blocks, diagnostics of released regions); and the
 *     page-map entries (hakmem/pagemap) naming each slab's descriptor, which
 *     the free fast path reads.
 *   - Per-class slab sets of an owner thread (current, partial, full), batch
 *     refill from them (across as many slabs as the request needs), local
 *     frees back into slabs, remote frees (lock-free MPSC stack per slab,
 *     fed one block or one per-thread batch per CAS; the owner drains it
 *     before it pops the slab's free list, so a block is never in two
 *     lists), abandonment at thread exit and adoption.
 *   - Pages (slabs that keep an exact `live` count, the tiny front's): the two
 *     boundaries (alloc_slow_from_class, page_becomes_empty) and the sync that
 *     brings a page's `used` and its SuperSlab's counter up to date. Which
 *     classes are pages and which leave the SuperSlab counter alone is
 *     configuration (hk_seg_config_t); routes and meta modes are the fronts'.
 *   - Counters: per SuperSlab the number of blocks outside its slabs
 *     (live_blocks = sum of used, kept as per-slab shares), per class where
 *     slow paths found blocks (HK_SRC_*), and a census / check of both for
 *     tests.
 * Boundary: the tiny front and the mid pool keep their own per-thread state
 * and call in here only at page boundaries, to refill, to return blocks, and
 * at thread exit. The
 * large-object code registers its regions here. Locks: one pool lock for the
 * shared structures (cold paths only; the decay clock is read before it is
 * taken); no lock on the refill/free fast paths. */
#ifndef HAKMEM_SEGMENT_SEGMENT_H
#define HAKMEM_SEGMENT_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hakmem/core/atomic.h"
#include "hakmem/core/compiler.h"
#include "hakmem/core/size_class.h"
#include "hakmem/pagemap/pagemap.h"

#define HK_SS_SHIFT 21u
#define HK_SS_SIZE ((size_t)1 << HK_SS_SHIFT)
#define HK_SS_MASK (HK_SS_SIZE - 1)
#define HK_SS_SLABS (HK_SS_SIZE / HAK_SLAB_SIZE) /* 32; slab 0 is the header */
#define HK_SS_MAGIC 0x48414b4d53535342ull        /* "HAKMSSSB" */

/* Region kinds, stored in the low bits of registry entries. RELEASED marks
 * the chunks of a region HAKMEM has unmapped (a tombstone until the address
 * is mapped again): its former kind is in bits 4..7 and its former header
 * address above, so a later free of a pointer into it is reported as a
 * double free / use after free rather than a foreign pointer. */
enum {
  HK_REGION_NONE = 0,
  HK_REGION_SUPERSLAB = 1,
  HK_REGION_LARGE = 2,
  HK_REGION_HUGE = 3,
  HK_REGION_RELEASED = 4
};
#define HK_REGION_KIND_MASK ((uintptr_t)0xfff)
#define HK_REGION_TYPE_MASK ((uintptr_t)0xf)
/* Former kind of a RELEASED entry. */
#define HK_REGION_RELEASED_KIND(e) ((unsigned)(((e) >> 4) & 0xf))

/* Slab slot states (SP-SLOT). */
enum { HK_SLAB_UNUSED = 0, HK_SLAB_ACTIVE = 1, HK_SLAB_EMPTY = 2 };
/* Which owner list an ACTIVE slab is on. */
enum { HK_LIST_NONE = 0, HK_LIST_PARTIAL = 1, HK_LIST_FULL = 2, HK_LIST_ABANDONED = 3 };

typedef struct hk_block {
  struct hk_block *next; /* through hk_block_next / hk_block_set_next only */
} hk_block_t;

/* Free-list links (TLS lists, slab and page free lists, remote queues, mid
 * refill chains). Built with --define=hakmem_freelist_encoding=1 (bazel
 * --config=fle), every link is stored XOR-ed with its own address >> 12 and
 * a per-process random key (glibc's safe-linking plus mimalloc's secret): a
 * write after free that stores a pointer into a free block no longer makes
 * malloc return that pointer; it decodes to an unpredictable address. Off by
 * default: it costs instructions on every pop and push (README "Bad frees"). */
#ifdef HAKMEM_FREELIST_ENCODING
extern uintptr_t hk_freelist_key;
HAK_INLINE uintptr_t hk_block_mask(const hk_block_t *b) {
  return ((uintptr_t)b >> 12) ^ hk_freelist_key;
}
#else
HAK_INLINE uintptr_t hk_block_mask(const hk_block_t *b) {
  (void)b;
  return 0;
}
#endif
HAK_INLINE hk_block_t *hk_block_next(const hk_block_t *b) {
  return (hk_block_t *)((uintptr_t)b->next ^ hk_block_mask(b));
}
HAK_INLINE void hk_block_set_next(hk_block_t *b, const hk_block_t *next) {
  b->next = (hk_block_t *)((uintptr_t)next ^ hk_block_mask(b));
}

/* Owner words: the owner token (16-byte aligned: a thread's thread pointer,
 * see hakmem/thread.h) plus a tag in the low bits that tells the free path how
 * the owner serves the slab's class, so "mine, on the common route" is one
 * compare. The segment box stores and clears owner words; it never looks at
 * the tag. */
#define HK_OWNER_TAG_MASK ((uintptr_t)15)
HAK_INLINE uintptr_t hk_owner_token(uintptr_t owner_word) { return owner_word & ~HK_OWNER_TAG_MASK; }

typedef struct hk_slab {
  /* First cache line: what the owner's fast paths touch (owner-only fields,
   * or pool-lock protected while the slab is unowned). */
  hk_block_t *free;      /* blocks returned to the slab (a page's own free list) */
  hk_atomic_word owner;  /* owner word (token | tag, see above); 0 = unowned */
  uintptr_t carve_end;   /* address of block `carved`: a block start at or past it was
                          * never handed out. Written by the owner only, read by the
                          * owner's fast path (the carved count is what others read) */
  union {
    uintptr_t align_mask; /* tiny: block_size - 1 for power-of-two classes, else 0 */
    void *home;           /* block caches (mid): the owner's cache for the class
                           * (hk_seg_class_t.home), set when the slab becomes its
                           * current slab; the owner's free path pushes there
                           * without finding its thread record */
  };
  int32_t live;          /* page: blocks outside the page, exact on every
                          * operation; its delta live - used goes into `used` and
                          * ss_live at the meta syncs. 0 otherwise */
  uint32_t used;         /* blocks outside the slab: with users or in thread caches
                          * (a page: as of the last sync) */
  hk_atomic_u32 carved;  /* blocks [carved, capacity) were never handed out */
  uint16_t capacity;
  uint16_t block_size;
  uint8_t cls;
  uint8_t state;         /* HK_SLAB_*; changed under the pool lock */
  uint8_t list;          /* HK_LIST_* */
  uint8_t index;         /* slot index in its SuperSlab */
  uint8_t dirty;         /* EMPTY slab not yet purged */
  uint8_t pad_;
  uint32_t div_magic;    /* hk_class_div_magic of the class: offset -> block index */
  hk_atomic_u32 ss_live; /* this slab's share of its SuperSlab's live-block counter
                          * (the counter is the sum over the slabs, read by
                          * hk_seg_live_blocks and the census): follows `used` except
                          * for ss_uncounted classes. Written by the slab's owner only,
                          * on its own cache line: no shared atomic on any refill,
                          * drain or page switch (one lock add per page switch on the
                          * SuperSlab header cost larson 18% of its time) */
  /* Second cache line: written by other threads (remote frees) and by the
   * owner's list moves, kept off the line the owner reads on every free. */
  _Alignas(64) hk_atomic_word remote; /* MPSC stack of blocks freed by other threads */
  struct hk_slab *next, *prev; /* owner's partial/full list, or pool lists */
} hk_slab_t;

typedef struct hk_superslab {
  uint64_t magic;
  uint32_t active;  /* ACTIVE slots */
  uint32_t unused;  /* UNUSED slots */
  struct hk_superslab *next, *prev; /* "has UNUSED slots" list or the LRU */
  struct hk_superslab *all_next, *all_prev; /* every mapped SuperSlab outside the LRU */
  uint8_t in_lru;
  uint8_t on_unused_list;
  uint8_t lru_dirty; /* in the LRU and not purged yet (see segment.c) */
  uint8_t lru_aged;  /* ... and a decay tick has seen it so */
  uint8_t pad_[4];
  hk_slab_t slabs[HK_SS_SLABS]; /* slabs[0] describes the header slab, never used */
} hk_superslab_t;

/* ---- region registry -------------------------------------------------- */

#define HK_REGISTRY_LEAF_BITS 15u
#define HK_REGISTRY_ROOT_BITS (48u - HK_SS_SHIFT - HK_REGISTRY_LEAF_BITS) /* 12 */
extern hk_atomic_word hk_region_root[(size_t)1 << HK_REGISTRY_ROOT_BITS];

/* Registry entry of the 2 MiB chunk at index `chunk`, with the root index
 * masked: a chunk beyond the 48-bit table aliases another chunk's entry.
 * Only for callers that compare the entry against the pointer itself. */
HAK_INLINE uintptr_t hk_region_entry_masked(uintptr_t chunk) {
  const hk_atomic_word *leaf = (const hk_atomic_word *)hk_atomic_load_acquire(
      &hk_region_root[(chunk >> HK_REGISTRY_LEAF_BITS) & (((uintptr_t)1 << HK_REGISTRY_ROOT_BITS) - 1)]);
  if (HAK_UNLIKELY(leaf == NULL)) return 0;
  return hk_atomic_load_relaxed(&leaf[chunk & (((uintptr_t)1 << HK_REGISTRY_LEAF_BITS) - 1)]);
}

/* Registry entry for the 2 MiB chunk holding p: header address | kind, or 0
 * when p is not in a HAKMEM region. Safe for any pointer value. */
HAK_INLINE uintptr_t hk_region_entry(const void *p) {
  uintptr_t chunk = (uintptr_t)p >> HK_SS_SHIFT;
  if (HAK_UNLIKELY(chunk >> (HK_REGISTRY_ROOT_BITS + HK_REGISTRY_LEAF_BITS))) return 0;
  return hk_region_entry_masked(chunk);
}

/* Maps a region of `size` bytes (a multiple of the page size) aligned to
 * `align` (a power of two >= 2 MiB), committed, and registers every 2 MiB
 * chunk of it as `kind` with its header at the start. NULL when the OS or the
 * registry is out of memory (nothing is left mapped). */
void *hk_region_map(size_t size, size_t align, unsigned kind);
/* Unregisters and unmaps a region from hk_region_map; its chunks keep a
 * RELEASED entry until something is mapped there again. */
void hk_region_unmap(void *base, size_t size);

/* For diagnostics (slow: a system call): the former kind (HK_REGION_*) when
 * registry entry e of p is a RELEASED tombstone and p's page is still
 * unmapped, i.e. p pointed into memory HAKMEM gave back; 0 otherwise (no
 * tombstone, or something else has mapped that address since). */
unsigned hk_region_released_kind(const void *p, uintptr_t e);

/* The SuperSlab and slab holding p, or NULL if p is not inside a SuperSlab. */
HAK_INLINE hk_slab_t *hk_seg_slab_of(const void *p) {
  /* The masked lookup is exact here: an aliased entry names a header below
   * 2^48, which never equals the chunk base of a pointer above it. */
  uintptr_t e = hk_region_entry_masked((uintptr_t)p >> HK_SS_SHIFT);
  if (HAK_UNLIKELY(e != (((uintptr_t)p & ~(uintptr_t)HK_SS_MASK) | HK_REGION_SUPERSLAB))) return NULL;
  hk_superslab_t *ss = (hk_superslab_t *)(e & ~HK_REGION_KIND_MASK);
  return &ss->slabs[((uintptr_t)p >> HAK_SLAB_SHIFT) & (HK_SS_SLABS - 1)];
}

/* The free fast path's lookup: the slab descriptor the page map names for
 * p's 64 KiB granule, or NULL. Not a proof that p is ours: above 2^48 it may
 * name an aliased granule's slab, so the caller must also find p below the
 * slab's carve_end (and the slab owned by it) before trusting it; every
 * other case goes to hk_seg_slab_of. */
HAK_INLINE hk_slab_t *hk_seg_slab_fast(const void *p) { return (hk_slab_t *)hk_pagemap_get(p); }

HAK_INLINE uint8_t *hk_slab_base(const hk_slab_t *s) {
  uintptr_t ss = (uintptr_t)s & ~(uintptr_t)HK_SS_MASK;
  return (uint8_t *)(ss + ((uintptr_t)s->index << HAK_SLAB_SHIFT));
}

/* Index of p's block in its slab if p is exactly a block start, else -1
 * (one multiply, no divide). */
HAK_INLINE long hk_slab_block_index(const hk_slab_t *s, const void *p) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)hk_slab_base(s);
  if (off >= HAK_SLAB_SIZE) return -1;
  uint32_t idx = hk_class_div(s->cls, (uint32_t)off);
  return idx * s->block_size == off ? (long)idx : -1;
}

/* A free-list link read from free block b of slab s must be NULL or a
 * handed-out block start of the same slab (and, in checked mode, not a
 * block the program holds). Anything else means the list was overwritten
 * (typically a write after free): reports it, naming the block, its size
 * and the bad link, and aborts. For the paths that walk lists. */
void hk_seg_link_check(const hk_slab_t *s, const hk_block_t *b, const hk_block_t *next);

/* Blocks of the slab ever handed out (any thread may ask). */
HAK_INLINE uint32_t hk_slab_carved(const hk_slab_t *s) { return hk_atomic_load_relaxed(&s->carved); }

/* ---- owner side: per-class slab sets -------------------------------- */

/* One owner's slabs of one class. Lives in the owner's thread cache (mmap'd
 * metadata); the owner token is the address of the enclosing cache. */
typedef struct hk_seg_class {
  hk_slab_t *current;  /* slab refills come from first */
  hk_slab_t *partial;  /* other slabs with free blocks */
  hk_slab_t *full;     /* slabs with nothing free when last looked at */
  hk_slab_t *full_cursor; /* where the next look for remote frees starts */
  uint32_t nslabs;     /* slabs owned in this class */
  void *home;          /* block caches: what hk_seg_refill stores in its slabs' `home` */
} hk_seg_class_t;

/* ---- page counters ------------------------------------------------------- */

/* Adds d to slab s's share of its SuperSlab's live-block counter (owner
 * only: a plain load and store, no lock prefix). */
HAK_INLINE void hk_seg_live_add(hk_slab_t *s, int32_t d) {
  hk_atomic_store_relaxed(&s->ss_live, hk_atomic_load_relaxed(&s->ss_live) + (uint32_t)d);
}

/* Adds a page's delta (live - used) to its slab's `used` and its SuperSlab's
 * live_blocks (owner only; a front that counts every operation calls it). */
HAK_INLINE void hk_seg_meta_flush(hk_slab_t *s) {
  int32_t d = s->live - (int32_t)s->used;
  s->used = (uint32_t)s->live;
  hk_seg_live_add(s, d);
}

/* alloc_slow_from_class for the block caches (mid): takes `want` blocks of
 * class cls for the owner into dst[0..n) and returns n, fewer than want
 * only when the OS is out of memory. A refill takes as many of the thread's
 * slabs as it needs (a 32 KiB class has 2 blocks per slab), each drained of
 * remote frees before its free list is popped; blocks carved for it are not
 * touched. */
uint32_t hk_seg_refill(hk_seg_class_t *sc, unsigned cls, uintptr_t owner, uint32_t want, void **dst);

/* Returns one block to its slab on the owner's side (s->owner == owner).
 * Calls page_becomes_empty (slab back to the pool) when the slab's last block
 * comes back and the slab is not the class's current slab. */
void hk_seg_free_local(hk_seg_class_t *sc, hk_slab_t *s, void *p);

/* ---- pages (hakmem/front/front.h) ----------------------------------------
 * A page class pops and pushes blocks on its current page's own free list
 * (s->free) and counts them in s->live; it enters the segment box only at
 * these two boundaries. Both bring the page's counters up to date first
 * (the sync adds the delta live - used to `used` and, unless the class is
 * ss_uncounted, to the SuperSlab's live_blocks). */

/* alloc_slow_from_class (the current page is exhausted or missing): makes
 * sc->current a page of class cls with a non-empty free list — remote frees
 * drained, else blocks carved, else the next page (partial, a full page with
 * remote frees, the pool). A page becoming current with counters beyond its
 * carved blocks is reported and clamped. False when the OS is out of memory. */
bool hk_seg_alloc_slow_from_class(hk_seg_class_t *sc, unsigned cls, uintptr_t owner);

/* page_becomes_empty: a free brought the page's count to zero. After the
 * meta sync, a page that is not current and has no remote frees pending
 * goes back to the pool; the current page stays current. (Frees into pages
 * on the full list push onto them in place; alloc_slow_from_class finds them
 * when it scans the full list.) */
void hk_seg_page_becomes_empty(hk_seg_class_t *sc, hk_slab_t *s);

/* Brings every page of the set up to date (trim, statistics). */
void hk_seg_class_sync(hk_seg_class_t *sc);

/* Reports block p of slab s freed twice in a row by a thread that does not
 * own s, and aborts. */
HAK_NORETURN void hk_seg_batch_double_free(const hk_slab_t *s, const void *p);

/* Frees a block of a slab owned by another thread (or by nobody). */
HAK_INLINE void hk_seg_free_remote(hk_slab_t *s, void *p) {
  hk_block_t *b = (hk_block_t *)p;
  uintptr_t head = hk_atomic_load_relaxed(&s->remote);
  do {
    hk_block_set_next(b, (hk_block_t *)head);
  } while (!hk_atomic_cas_weak_release(&s->remote, &head, (uintptr_t)b));
}

/* A thread's pending remote frees: blocks of one slab that another thread
 * (or nobody) owns, linked through the blocks, published on the slab's
 * remote queue with one CAS when a free goes to another slab, when
 * HK_SEG_BATCH_MAX blocks are pending, or when the thread flushes (its
 * slow paths, trim, exit). A consumer thread freeing a producer's blocks in
 * allocation order pays one CAS -- one transfer of the slab's remote line --
 * per batch instead of per block. Pending blocks stay counted as in use, so
 * the slab cannot be released under them. */
#define HK_SEG_BATCH_MAX 64u

typedef struct hk_seg_batch {
  hk_slab_t *slab;   /* NULL: nothing pending */
  hk_block_t *head;  /* newest */
  hk_block_t *tail;  /* oldest; linked to the queue's head at the flush */
  uint32_t n;
} hk_seg_batch_t;

/* Publishes the pending blocks (one CAS); b is empty afterwards. No byte of
 * the slab is read after the CAS. */
void hk_seg_batch_flush(hk_seg_batch_t *b);

/* Frees block p of slab s (owned by another thread or by nobody) into the
 * batch; an immediate double free of the same block is fatal. */
HAK_INLINE void hk_seg_batch_free(hk_seg_batch_t *b, hk_slab_t *s, void *p) {
  hk_block_t *blk = (hk_block_t *)p;
  if (HAK_LIKELY(b->slab == s && b->n < HK_SEG_BATCH_MAX)) {
    if (HAK_UNLIKELY(blk == b->head)) hk_seg_batch_double_free(s, p);
    hk_block_set_next(blk, b->head);
    b->head = blk;
    b->n++;
    return;
  }
  if (b->slab != NULL) hk_seg_batch_flush(b);
  hk_block_set_next(blk, NULL);
  b->slab = s;
  b->head = b->tail = blk;
  b->n = 1;
}

/* Thread exit: returns every slab of the class; slabs still holding live
 * blocks are abandoned (owner 0) for another thread to adopt. */
void hk_seg_class_release_all(hk_seg_class_t *sc);

/* After fork() in the child, for a dead parent thread's class set: its slabs
 * become abandoned without touching the pool lock (already reset). */
void hk_seg_class_abandon_after_fork(hk_seg_class_t *sc);

/* After fork() in the child, once the dead threads' sets are abandoned: every
 * ACTIVE slab still owned by a token other than keep_a / keep_b (a slab a dead
 * thread held outside its lists when the parent forked) is abandoned too, so
 * that a new thread that happens to get the same token never serves it. */
void hk_seg_fork_child_disown(uintptr_t keep_a, uintptr_t keep_b);

/* ---- pool maintenance and introspection ----------------------------- */

/* Reclaims abandoned slabs whose blocks all came back, purges EMPTY slabs and
 * releases the LRU. Returns bytes given back to the OS. */
size_t hk_seg_trim(void);

typedef struct hk_seg_stats {
  uint64_t superslabs_live;
  uint64_t superslabs_cached;
  uint64_t slabs_active;
  uint64_t slabs_empty;
  uint64_t slabs_abandoned;
  uint64_t slabs_adopted;
} hk_seg_stats_t;
void hk_seg_stats_get(hk_seg_stats_t *out);

/* fork handlers (the API layer registers them with pthread_atfork). */
void hk_seg_fork_prepare(void);
void hk_seg_fork_parent(void);
void hk_seg_fork_child(void);

/* Where alloc_slow_from_class / refill found blocks (stats box, counted when
 * hk_seg_config_t.count_sources is set). */
enum {
  HK_SRC_PAGE = 0,    /* the current or a partial page of the thread */
  HK_SRC_REMOTE,      /* remote frees drained from an owned page */
  HK_SRC_FULL_SCAN,   /* a full page that got remote frees */
  HK_SRC_ADOPT,       /* pool: a slab of an exited thread */
  HK_SRC_EMPTY,       /* pool: an EMPTY slab of the same class */
  HK_SRC_UNUSED,      /* pool: an UNUSED slot or an EMPTY slab of another class */
  HK_SRC_NEW,         /* pool: a new SuperSlab (LRU or OS) */
  HK_SRC_OOM,         /* nothing: the OS is out of memory */
  HK_SRC_COUNT
};
/* Adds the per-source counts of class cls to out[HK_SRC_COUNT]. */
void hk_seg_source_counts(unsigned cls, uint64_t *out);

/* Sum of live_blocks over every mapped SuperSlab. */
uint64_t hk_seg_live_blocks(void);

/* Per class, blocks outside their slabs (`used`) and the rest of the ACTIVE
 * slabs' capacity, summed at call time under the pool lock (for mallinfo &
 * co., hakmem/introspect.c; nothing is counted on the fast paths). A counted
 * TinyHeap page contributes as of its last meta sync; classes in meta mode
 * ULTRA are not counted. */
typedef struct hk_seg_usage {
  uint64_t used_blocks[HAK_SMALL_CLASSES];
  uint64_t free_blocks[HAK_SMALL_CLASSES];
} hk_seg_usage_t;
void hk_seg_usage_get(hk_seg_usage_t *out);

/* Tunables (set once at init by the API layer from the policy snapshot). */
typedef struct hk_seg_config {
  uint32_t lru_max;          /* fully empty SuperSlabs kept mapped (purged) */
  uint32_t dirty_empty_max;  /* EMPTY slabs per class kept unpurged */
  /* Per class: its slabs are pages that keep an exact `live` count (the
   * front syncs it into `used` at the page boundaries), and whether the
   * SuperSlab's live_blocks follows them. How a front uses these is its own
   * business (routes, meta modes): the segment box only keeps the counts. */
  uint8_t page_counted[HAK_SMALL_CLASSES];
  uint8_t ss_uncounted[HAK_SMALL_CLASSES];
  uint8_t count_sources;     /* count HK_SRC_* per class */
  uint8_t checked;           /* checked mode: hk_seg_check also checks the live bits */
} hk_seg_config_t;
void hk_seg_configure(const hk_seg_config_t *cfg);

/* ---- checked mode: one "held by the program" bit per block ------------ */

/* Checked mode (HAKMEM_CHECK=1) keeps a bit per block of every slab, set
 * while the program holds the block (from malloc's return to free's entry).
 * The bits live in the upper half of the SuperSlab's header slab (32 KiB:
 * 1 KiB per slab, enough for 8192 blocks of 8 B), so they cost no memory
 * until checked mode touches them. Atomic: a remote free clears the bit from
 * another thread. p must be a block start of ACTIVE slab s. Each returns
 * the bit's previous value. */
bool hk_seg_block_set_live(const hk_slab_t *s, const void *p);
bool hk_seg_block_clear_live(const hk_slab_t *s, const void *p);
bool hk_seg_block_is_live(const hk_slab_t *s, const void *p);

/* Checked-build consistency walk: verifies the slab lists and counts of the
 * pool; for every ACTIVE slab of every mapped SuperSlab, that its free list
 * and remote queue hold handed-out blocks, no block twice or in both, none
 * the program holds (checked mode), and free + outside == carved; and that
 * each SuperSlab's live_blocks equals the sum of its slabs' used (when
 * maintained). Returns 0 or the number of problems found (each reported).
 * Call it when no other thread is allocating. */
int hk_seg_check(void);

/* Census at a quiescent point (no other thread allocating): per class, the
 * sum of `used` (+ pending deltas) over ACTIVE slabs; and whether every
 * SuperSlab's live_blocks matched its slabs. For tests. */
typedef struct hk_seg_census {
  uint64_t used[HAK_SMALL_CLASSES];
  uint64_t live_blocks;      /* sum of live_blocks */
  uint64_t used_total;       /* sum of the exact counts (live for pages) */
  uint32_t mismatched_superslabs;
  uint32_t counters_maintained;
} hk_seg_census_t;
void hk_seg_census(hk_seg_census_t *out);

#endif /* HAKMEM_SEGMENT_SEGMENT_H */
