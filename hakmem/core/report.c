/* hakmem/core/report.c — malloc-free, async-signal-safe diagnostics. */
#include "hakmem/core/report.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
  char *buf;
  size_t cap; /* capacity including the NUL */
  size_t len;
} sink_t;

static void put(sink_t *s, char c) {
  if (s->len + 1 < s->cap) s->buf[s->len] = c;
  s->len++;
}

static void put_str(sink_t *s, const char *str) {
  if (str == NULL) str = "(null)";
  while (*str) put(s, *str++);
}

static void put_uint(sink_t *s, uint64_t v, unsigned base, int min_digits) {
  char tmp[24];
  int n = 0;
  do {
    unsigned d = (unsigned)(v % base);
    tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v /= base;
  } while (v != 0 && n < (int)sizeof(tmp));
  while (n < min_digits && n < (int)sizeof(tmp)) tmp[n++] = '0';
  while (n > 0) put(s, tmp[--n]);
}

size_t hk_vformat(char *buf, size_t cap, const char *fmt, va_list ap) {
  sink_t s = {buf, cap, 0};
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      put(&s, *f);
      continue;
    }
    f++;
    int is_long = 0, is_size = 0;
    while (*f == 'l') { is_long = 1; f++; }
    if (*f == 'z') { is_size = 1; f++; }
    switch (*f) {
      case 'd': {
        int64_t v = is_long ? (int64_t)va_arg(ap, long) : is_size ? (int64_t)va_arg(ap, ptrdiff_t)
                                                               : (int64_t)va_arg(ap, int);
        if (v < 0) {
          put(&s, '-');
          put_uint(&s, (uint64_t)0 - (uint64_t)v, 10, 1);
        } else {
          put_uint(&s, (uint64_t)v, 10, 1);
        }
        break;
      }
      case 'u':
      case 'x': {
        uint64_t v = is_long ? (uint64_t)va_arg(ap, unsigned long)
                     : is_size ? (uint64_t)va_arg(ap, size_t)
                               : (uint64_t)va_arg(ap, unsigned);
        put_uint(&s, v, *f == 'x' ? 16u : 10u, 1);
        break;
      }
      case 'p':
        put_str(&s, "0x");
        put_uint(&s, (uint64_t)(uintptr_t)va_arg(ap, void *), 16, 1);
        break;
      case 's':
        put_str(&s, va_arg(ap, const char *));
        break;
      case 'c':
        put(&s, (char)va_arg(ap, int));
        break;
      case '%':
        put(&s, '%');
        break;
      case '\0':
        f--;
        break;
      default: /* unknown directive: print it verbatim */
        put(&s, '%');
        put(&s, *f);
        break;
    }
  }
  if (cap > 0) buf[s.len < cap ? s.len : cap - 1] = '\0';
  return s.len < cap ? s.len : (cap ? cap - 1 : 0);
}

size_t hk_format(char *buf, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = hk_vformat(buf, cap, fmt, ap);
  va_end(ap);
  return n;
}

static void emit(const char *fmt, va_list ap) {
  int saved = errno;
  char line[HAK_REPORT_MAX];
  static const char prefix[] = "hakmem: ";
  size_t p = sizeof(prefix) - 1;
  for (size_t i = 0; i < p; i++) line[i] = prefix[i];
  size_t n = p + hk_vformat(line + p, sizeof(line) - p - 1, fmt, ap);
  line[n++] = '\n';
  for (size_t off = 0; off < n;) {
    ssize_t w = write(2, line + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += (size_t)w;
  }
  errno = saved;
}

void hk_report(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(fmt, ap);
  va_end(ap);
}

void hk_fatal(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(fmt, ap);
  va_end(ap);
  abort();
}
