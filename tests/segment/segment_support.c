/* tests/segment/segment_support.c — see segment_support.h. Compiled as C11
 * with the boxes' options, so the inline paths of segment.h (region lookup,
 * remote push) are the production ones. */
#include "tests/segment/segment_support.h"

#include <stdlib.h>

#include "hakmem/core/atomic.h"
#include "hakmem/core/os.h"
#include "hakmem/core/size_class.h"
#include "hakmem/segment/segment.h"

/* The helper's copies of segment.h's enums (C++ cannot include it). */
#define HKT_SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(HKT_SAME(HKT_SLAB_UNUSED, HK_SLAB_UNUSED) &&
                   HKT_SAME(HKT_SLAB_ACTIVE, HK_SLAB_ACTIVE) &&
                   HKT_SAME(HKT_SLAB_EMPTY, HK_SLAB_EMPTY),
               "slot states match segment.h");
_Static_assert(HKT_SAME(HKT_LIST_NONE, HK_LIST_NONE) &&
                   HKT_SAME(HKT_LIST_PARTIAL, HK_LIST_PARTIAL) &&
                   HKT_SAME(HKT_LIST_FULL, HK_LIST_FULL) &&
                   HKT_SAME(HKT_LIST_ABANDONED, HK_LIST_ABANDONED),
               "owner lists match segment.h");
_Static_assert(HKT_SAME(HKT_REGION_NONE, HK_REGION_NONE) &&
                   HKT_SAME(HKT_REGION_SUPERSLAB, HK_REGION_SUPERSLAB) &&
                   HKT_SAME(HKT_REGION_LARGE, HK_REGION_LARGE) &&
                   HKT_SAME(HKT_REGION_HUGE, HK_REGION_HUGE),
               "region kinds match segment.h");

struct hkt_owner {
  hk_seg_class_t seg[HAK_SMALL_CLASSES];
};

size_t hkt_superslab_size(void) { return HK_SS_SIZE; }
size_t hkt_slab_size(void) { return HAK_SLAB_SIZE; }
unsigned hkt_slabs_per_ss(void) { return (unsigned)HK_SS_SLABS; }
unsigned hkt_small_classes(void) { return HAK_SMALL_CLASSES; }
uint32_t hkt_class_size(unsigned cls) { return hk_class_size[cls]; }
uint32_t hkt_class_capacity(unsigned cls) { return hk_class_capacity(cls); }

hkt_owner *hkt_owner_new(void) { return (hkt_owner *)calloc(1, sizeof(hkt_owner)); }

void hkt_owner_release_all(hkt_owner *o) {
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) hk_seg_class_release_all(&o->seg[c]);
}

void hkt_owner_delete(hkt_owner *o) {
  if (o == NULL) return;
  hkt_owner_release_all(o);
  free(o);
}

uintptr_t hkt_owner_token(const hkt_owner *o) { return (uintptr_t)o; }

uint32_t hkt_owner_nslabs(const hkt_owner *o, unsigned cls) { return o->seg[cls].nslabs; }

void *hkt_owner_current(const hkt_owner *o, unsigned cls) {
  hk_slab_t *s = o->seg[cls].current;
  return s ? hk_slab_base(s) : NULL;
}

uint32_t hkt_refill(hkt_owner *o, unsigned cls, uint32_t want, void **out) {
  return hk_seg_refill(&o->seg[cls], cls, (uintptr_t)o, want, out);
}

bool hkt_free_local(hkt_owner *o, void *p) {
  hk_slab_t *s = hk_seg_slab_of(p);
  if (s == NULL || s->state != HK_SLAB_ACTIVE) return false;
  if (hk_atomic_load_relaxed(&s->owner) != (uintptr_t)o) return false;
  hk_seg_free_local(&o->seg[s->cls], s, p);
  return true;
}

bool hkt_free_remote(void *p) {
  hk_slab_t *s = hk_seg_slab_of(p);
  if (s == NULL) return false;
  hk_seg_free_remote(s, p);
  return true;
}

static _Thread_local hk_seg_batch_t t_batch;

bool hkt_batch_free(void *p) {
  hk_slab_t *s = hk_seg_slab_of(p);
  if (s == NULL) return false;
  hk_seg_batch_free(&t_batch, s, p);
  return true;
}

void hkt_batch_flush(void) { hk_seg_batch_flush(&t_batch); }

uint32_t hkt_batch_pending(void) { return t_batch.n; }

bool hkt_slab_info(const void *p, hkt_slab_info_t *out) {
  hk_slab_t *s = hk_seg_slab_of(p);
  if (s == NULL) return false;
  out->superslab = (void *)((uintptr_t)p & ~(uintptr_t)HK_SS_MASK);
  out->base = hk_slab_base(s);
  out->index = s->index;
  out->state = s->state;
  out->list = s->list;
  out->cls = s->cls;
  out->used = s->used;
  out->carved = s->carved;
  out->capacity = s->capacity;
  out->block_size = s->block_size;
  out->owner = hk_atomic_load_acquire(&s->owner);
  out->remote_pending = hk_atomic_load_acquire(&s->remote) != 0;
  out->block_index = s->block_size ? hk_slab_block_index(s, p) : -1;
  return true;
}

uint32_t hkt_slab_free_count(const void *p) {
  hk_slab_t *s = hk_seg_slab_of(p);
  if (s == NULL) return 0;
  uint32_t n = 0;
  for (hk_block_t *b = s->free; b != NULL && n <= s->capacity; b = hk_block_next(b)) n++;
  return n;
}

uint32_t hkt_slab_remote_count(const void *p) {
  hk_slab_t *s = hk_seg_slab_of(p);
  if (s == NULL) return 0;
  uint32_t n = 0;
  for (hk_block_t *b = (hk_block_t *)hk_atomic_load_acquire(&s->remote);
       b != NULL && n <= s->capacity; b = hk_block_next(b)) {
    n++;
  }
  return n;
}

uintptr_t hkt_region_entry(const void *p) { return hk_region_entry(p); }
unsigned hkt_region_kind(uintptr_t entry) { return (unsigned)(entry & HK_REGION_KIND_MASK); }
void *hkt_region_header(uintptr_t entry) { return (void *)(entry & ~HK_REGION_KIND_MASK); }
bool hkt_in_superslab(const void *p) { return hk_seg_slab_of(p) != NULL; }
const void *hkt_slab_descriptor(const void *p) { return hk_seg_slab_of(p); }

void hkt_stats(hkt_seg_stats_t *out) {
  hk_seg_stats_t st;
  hk_seg_stats_get(&st);
  out->superslabs_live = st.superslabs_live;
  out->superslabs_cached = st.superslabs_cached;
  out->slabs_active = st.slabs_active;
  out->slabs_empty = st.slabs_empty;
  out->slabs_abandoned = st.slabs_abandoned;
  out->slabs_adopted = st.slabs_adopted;
}

uint64_t hkt_os_purged_bytes(void) {
  hk_os_stats_t st;
  hk_os_stats_get(&st);
  return st.purged_bytes;
}

uint64_t hkt_os_mapped_bytes(void) {
  hk_os_stats_t st;
  hk_os_stats_get(&st);
  return st.mapped_bytes;
}

size_t hkt_trim(void) { return hk_seg_trim(); }
int hkt_check(void) { return hk_seg_check(); }

void hkt_configure(uint32_t lru_max, uint32_t dirty_empty_max) {
  hk_seg_config_t cfg = {.lru_max = lru_max, .dirty_empty_max = dirty_empty_max};
  hk_seg_configure(&cfg);
}
