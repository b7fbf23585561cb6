/* hakmem/core/atomic.h — the memory orders HAKMEM uses, by name.
 *
 * Owns: thin wrappers over C11 <stdatomic.h> so every site states its order
 * (relaxed counters, acquire/release publication, acq_rel read-modify-write),
 * and a CPU pause hint for spin loops. Boundary: no state. */
#ifndef HAKMEM_CORE_ATOMIC_H
#define HAKMEM_CORE_ATOMIC_H

#ifdef __cplusplus
#error "hakmem/core/atomic.h is C11 only; C++ tests reach atomics through a C helper"
#endif
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hakmem/core/compiler.h"


/* uintptr_t-sized atomic word: the type of list heads and counters. */
typedef _Atomic(uintptr_t) hk_atomic_word;
typedef _Atomic(uint32_t) hk_atomic_u32;

#define hk_atomic_load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define hk_atomic_load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define hk_atomic_store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define hk_atomic_store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define hk_atomic_add_relaxed(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define hk_atomic_sub_relaxed(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define hk_atomic_add_acq_rel(p, v) atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define hk_atomic_sub_acq_rel(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_acq_rel)
#define hk_atomic_exchange_acq_rel(p, v) atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define hk_atomic_exchange_acquire(p, v) atomic_exchange_explicit((p), (v), memory_order_acquire)
/* Weak CAS for loops; on failure *expected is refreshed (relaxed). */
#define hk_atomic_cas_weak_acq_rel(p, expected, desired)                               \
  atomic_compare_exchange_weak_explicit((p), (expected), (desired), memory_order_acq_rel, \
                                        memory_order_relaxed)
#define hk_atomic_cas_weak_release(p, expected, desired)                               \
  atomic_compare_exchange_weak_explicit((p), (expected), (desired), memory_order_release, \
                                        memory_order_relaxed)
#define hk_atomic_cas_strong_acq_rel(p, expected, desired)                                \
  atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_acq_rel, \
                                          memory_order_acquire)

/* Pause inside spin loops (frees the sibling hyper-thread / saves power). */
HAK_INLINE void hk_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

#endif /* HAKMEM_CORE_ATOMIC_H */
