/* hakmem/core/os.c — mmap-based implementation of hakmem/core/os.h. */
#define _GNU_SOURCE
#include "hakmem/core/os.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hakmem/core/atomic.h"
#include "hakmem/core/bits.h"

/* Every public function leaves errno as it found it (the result is returned
 * instead): free() and friends must not clobber the caller's errno. */

static hk_atomic_word g_page_size;
static hk_atomic_word g_mmap_calls, g_munmap_calls, g_madvise_calls;
static hk_atomic_word g_mapped_bytes, g_purged_bytes;

size_t hk_os_page_size(void) {
  size_t ps = hk_atomic_load_relaxed(&g_page_size);
  if (HAK_UNLIKELY(ps == 0)) {
    long v = sysconf(_SC_PAGESIZE);
    ps = v > 0 ? (size_t)v : 4096u;
    hk_atomic_store_relaxed(&g_page_size, ps);
  }
  return ps;
}

static bool page_aligned(const void *p, size_t size) {
  size_t ps = hk_os_page_size();
  return size != 0 && hk_bits_is_aligned((uintptr_t)p, ps) && hk_bits_is_aligned(size, ps);
}

static int os_munmap(void *p, size_t size) {
  hk_atomic_add_relaxed(&g_munmap_calls, 1);
  if (munmap(p, size) != 0) return errno;
  hk_atomic_sub_relaxed(&g_mapped_bytes, size);
  return 0;
}

static int os_reserve_aligned_impl(size_t size, size_t align, bool commit, void **out) {
  *out = NULL;
  size_t ps = hk_os_page_size();
  if (!hk_bits_is_pow2(align) || align < ps || !page_aligned(NULL, size)) return EINVAL;
  size_t over = size + align - ps;
  if (over < size) return ENOMEM; /* overflow */
  int prot = commit ? PROT_READ | PROT_WRITE : PROT_NONE;
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  hk_atomic_add_relaxed(&g_mmap_calls, 1);
  /* Try the exact size first: the kernel often hands out aligned addresses
   * for 2 MiB-multiple requests, which saves the trimming munmaps. */
  void *p = mmap(NULL, size, prot, flags, -1, 0);
  if (p == MAP_FAILED) return errno == EINVAL ? EINVAL : ENOMEM;
  hk_atomic_add_relaxed(&g_mapped_bytes, size);
  if (hk_bits_is_aligned((uintptr_t)p, align)) {
    *out = p;
    return 0;
  }
  os_munmap(p, size);
  hk_atomic_add_relaxed(&g_mmap_calls, 1);
  p = mmap(NULL, over, prot, flags, -1, 0);
  if (p == MAP_FAILED) return ENOMEM;
  hk_atomic_add_relaxed(&g_mapped_bytes, over);
  uintptr_t base = (uintptr_t)p;
  uintptr_t aligned = hk_bits_align_up(base, align);
  size_t head = aligned - base, tail = over - head - size;
  if (head) os_munmap(p, head);
  if (tail) os_munmap((void *)(aligned + size), tail);
  *out = (void *)aligned;
  return 0;
}

static int os_commit_impl(void *p, size_t size) {
  if (!page_aligned(p, size)) return EINVAL;
  return mprotect(p, size, PROT_READ | PROT_WRITE) == 0 ? 0 : errno;
}

static int os_decommit_impl(void *p, size_t size) {
  if (!page_aligned(p, size)) return EINVAL;
  /* Replacing the mapping drops the pages and the commit charge at once. */
  hk_atomic_add_relaxed(&g_mmap_calls, 1);
  void *q = mmap(p, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  if (q == MAP_FAILED) return errno;
  hk_atomic_add_relaxed(&g_purged_bytes, size);
  return 0;
}

static int os_purge_impl(void *p, size_t size) {
  if (!page_aligned(p, size)) return EINVAL;
  hk_atomic_add_relaxed(&g_madvise_calls, 1);
  if (madvise(p, size, MADV_DONTNEED) != 0) return errno;
  hk_atomic_add_relaxed(&g_purged_bytes, size);
  return 0;
}

static int os_release_impl(void *p, size_t size) {
  if (!page_aligned(p, size)) return EINVAL;
  return os_munmap(p, size);
}

const char *hk_os_error_name(int err) {
  switch (err) {
    case 0: return "OK";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    default: return "error";
  }
}

void hk_os_stats_get(hk_os_stats_t *out) {
  out->mmap_calls = hk_atomic_load_relaxed(&g_mmap_calls);
  out->munmap_calls = hk_atomic_load_relaxed(&g_munmap_calls);
  out->madvise_calls = hk_atomic_load_relaxed(&g_madvise_calls);
  out->mapped_bytes = hk_atomic_load_relaxed(&g_mapped_bytes);
  out->purged_bytes = hk_atomic_load_relaxed(&g_purged_bytes);
}

int hk_os_reserve_aligned(size_t size, size_t align, bool commit, void **out) {
  int saved = errno;
  int rc = os_reserve_aligned_impl(size, align, commit, out);
  errno = saved;
  return rc;
}

int hk_os_commit(void *p, size_t size) {
  int saved = errno;
  int rc = os_commit_impl(p, size);
  errno = saved;
  return rc;
}

int hk_os_decommit(void *p, size_t size) {
  int saved = errno;
  int rc = os_decommit_impl(p, size);
  errno = saved;
  return rc;
}

int hk_os_purge(void *p, size_t size) {
  int saved = errno;
  int rc = os_purge_impl(p, size);
  errno = saved;
  return rc;
}

int hk_os_release(void *p, size_t size) {
  int saved = errno;
  int rc = os_release_impl(p, size);
  errno = saved;
  return rc;
}
