/* tests/segment/segment_support.h — C helper that lets the C++ segment tests
 * drive the segment box (hakmem/segment/segment.h is C11-only: atomic.h
 * #errors in C++).
 *
 * An hkt_owner plays the part of a thread cache: one hk_seg_class_t per small
 * class, and its own address is the owner token the slabs record. Owners are
 * created with hkt_owner_new() and must be retired with hkt_owner_delete()
 * (which releases or abandons their slabs, like a thread exit). Everything
 * except hkt_free_remote() is owner-side and must be called by one thread at
 * a time per owner, as the segment box requires. */
#ifndef HAKMEM_TESTS_SEGMENT_SEGMENT_SUPPORT_H
#define HAKMEM_TESTS_SEGMENT_SEGMENT_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hkt_owner hkt_owner;

/* ---- geometry ------------------------------------------------------------ */
size_t hkt_superslab_size(void);  /* HK_SS_SIZE (2 MiB) */
size_t hkt_slab_size(void);       /* HAK_SLAB_SIZE (64 KiB) */
unsigned hkt_slabs_per_ss(void);  /* HK_SS_SLABS (32, slab 0 = header) */
unsigned hkt_small_classes(void); /* HAK_SMALL_CLASSES */
uint32_t hkt_class_size(unsigned cls);
uint32_t hkt_class_capacity(unsigned cls);

/* Slot states / owner lists / region kinds, as in segment.h. */
enum { HKT_SLAB_UNUSED = 0, HKT_SLAB_ACTIVE = 1, HKT_SLAB_EMPTY = 2, HKT_SLAB_HEADER = 3 };
enum { HKT_LIST_NONE = 0, HKT_LIST_PARTIAL = 1, HKT_LIST_FULL = 2, HKT_LIST_ABANDONED = 3 };
enum {
  HKT_REGION_NONE = 0,
  HKT_REGION_SUPERSLAB = 1,
  HKT_REGION_LARGE = 2,
  HKT_REGION_HUGE = 3,
  HKT_REGION_RELEASED = 4 /* tombstone; former kind in bits 4..7 */
};

/* ---- owners ----------------------------------------------------------- */
hkt_owner *hkt_owner_new(void);
/* hk_seg_class_release_all for every class, then frees the owner. */
void hkt_owner_delete(hkt_owner *o);
uintptr_t hkt_owner_token(const hkt_owner *o);
/* hk_seg_class_release_all for every class (thread exit); the owner stays
 * usable afterwards (its class sets are empty). */
void hkt_owner_release_all(hkt_owner *o);
/* Slabs the owner holds in class cls (hk_seg_class_t.nslabs). */
uint32_t hkt_owner_nslabs(const hkt_owner *o, unsigned cls);
/* Base address of the owner's current slab of class cls, or NULL. */
void *hkt_owner_current(const hkt_owner *o, unsigned cls);

/* hk_seg_refill(want) for class cls: the blocks are stored in out[0..n)
 * (out must have room for want). Returns n. */
uint32_t hkt_refill(hkt_owner *o, unsigned cls, uint32_t want, void **out);

/* A remote-free batch (hk_seg_batch_t) for the calling thread's tests:
 * hkt_batch_free is hk_seg_batch_free for p (false if p is in no slab),
 * hkt_batch_flush publishes it, hkt_batch_pending says how many blocks wait
 * in it. One batch per thread (thread-local). */
bool hkt_batch_free(void *p);
void hkt_batch_flush(void);
uint32_t hkt_batch_pending(void);

/* hk_seg_free_local for p, which must be a block of a slab owned by o:
 * returns false (and changes nothing) if p's slab is not o's. */
bool hkt_free_local(hkt_owner *o, void *p);

/* hk_seg_free_remote (any thread). Returns false if p is not in a slab. */
bool hkt_free_remote(void *p);

/* ---- introspection ---------------------------------------------------- */
typedef struct hkt_slab_info {
  void *superslab; /* 2 MiB base */
  void *base;      /* the slab's 64 KiB base */
  unsigned index;  /* slot index in the SuperSlab */
  unsigned state;  /* HKT_SLAB_* */
  unsigned list;   /* HKT_LIST_* */
  unsigned cls;
  uint32_t used, carved, capacity, block_size;
  uintptr_t owner;     /* owner token, 0 = none */
  bool remote_pending; /* remote queue non-empty */
  long block_index;    /* hk_slab_block_index(p), -1 if p is not a block start */
} hkt_slab_info_t;

/* Fills *out for the slab holding p (hk_seg_slab_of). Returns false if p is
 * not inside a SuperSlab. Only meaningful when no other thread changes the
 * slab concurrently. */
bool hkt_slab_info(const void *p, hkt_slab_info_t *out);

/* Length of the slab's local free list (owner side; capped at capacity+1). */
uint32_t hkt_slab_free_count(const void *p);
/* Length of the slab's remote queue (no concurrent pushes allowed). */
uint32_t hkt_slab_remote_count(const void *p);

/* hk_region_entry(p), and its parts. */
uintptr_t hkt_region_entry(const void *p);
unsigned hkt_region_kind(uintptr_t entry);
void *hkt_region_header(uintptr_t entry);
/* hk_seg_slab_of(p) != NULL */
bool hkt_in_superslab(const void *p);
/* Address of hk_seg_slab_of(p) (the descriptor), or NULL. */
const void *hkt_slab_descriptor(const void *p);

typedef struct hkt_seg_stats {
  uint64_t superslabs_live;
  uint64_t superslabs_cached;
  uint64_t slabs_active;
  uint64_t slabs_empty;
  uint64_t slabs_abandoned;
  uint64_t slabs_adopted;
} hkt_seg_stats_t;
void hkt_stats(hkt_seg_stats_t *out);

/* OS layer: bytes currently mapped by HAKMEM (registry leaves included). */
uint64_t hkt_os_mapped_bytes(void);
/* OS layer: bytes purged (madvise) since start. */
uint64_t hkt_os_purged_bytes(void);

size_t hkt_trim(void);                                          /* hk_seg_trim */
int hkt_check(void);                                            /* hk_seg_check */
void hkt_configure(uint32_t lru_max, uint32_t dirty_empty_max); /* hk_seg_configure */

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_TESTS_SEGMENT_SEGMENT_SUPPORT_H */
