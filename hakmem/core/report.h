/* hakmem/core/report.h — diagnostics that need no malloc.
 *
 * Owns: a tiny printf-like formatter writing straight to fd 2 with write(2)
 * (async-signal-safe, no locks, no allocation, no stdio), and the fail-fast
 * path used when the heap is handed bad input (print one line, then abort).
 * Format directives: %s %d %u %zu %zx %x %p %c %%; 'l'/'z' length modifiers.
 * Lines are truncated at HAK_REPORT_MAX bytes. Every line starts "hakmem: ".
 * Boundary: core never aborts on OS errors (it returns them); hk_fatal is
 * called by the boxes above for user errors such as an invalid free(). */
#ifndef HAKMEM_CORE_REPORT_H
#define HAKMEM_CORE_REPORT_H

#include <stdarg.h>
#include <stddef.h>

#include "hakmem/core/compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HAK_REPORT_MAX 512

/* Formats into buf (always NUL-terminated if cap > 0); returns the length
 * written, excluding the NUL. Exposed for tests. */
size_t hk_format(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t hk_vformat(char *buf, size_t cap, const char *fmt, va_list ap);

/* "hakmem: <message>\n" on stderr. */
void hk_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "hakmem: <message>\n" on stderr, then abort(). */
HAK_NORETURN HAK_COLD void hk_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_CORE_REPORT_H */
