/* tests/pagemap/pagemap_support.h — C helper that lets the C++ test drive the
 * page map box (hakmem/pagemap/pagemap.h is C11-only: atomic.h #errors in
 * C++). */
#ifndef HAKMEM_TESTS_PAGEMAP_PAGEMAP_SUPPORT_H
#define HAKMEM_TESTS_PAGEMAP_PAGEMAP_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uintptr_t hkt_pm_get(uintptr_t p);
int hkt_pm_set(uintptr_t base, size_t n, uintptr_t first, uintptr_t step);
void hkt_pm_clear(uintptr_t base, size_t n);
unsigned hkt_pm_granule_shift(void); /* HK_PM_SHIFT */
unsigned hkt_pm_leaf_shift(void);    /* HK_PM_LEAF_SHIFT */

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_TESTS_PAGEMAP_PAGEMAP_SUPPORT_H */
