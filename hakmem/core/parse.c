/* hakmem/core/parse.c — option value parsing (see parse.h). */
#include "hakmem/core/parse.h"

#include <stddef.h>

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static bool eq_nocase(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    if (lower(*a) != lower(*b)) return false;
  }
  return *a == *b;
}

bool hk_parse_bool(const char *s, bool *out) {
  static const char *const yes[] = {"1", "true", "yes", "on"};
  static const char *const no[] = {"0", "false", "no", "off"};
  if (s == NULL) return false;
  for (size_t i = 0; i < 4; i++) {
    if (eq_nocase(s, yes[i])) { *out = true; return true; }
    if (eq_nocase(s, no[i])) { *out = false; return true; }
  }
  return false;
}

bool hk_parse_u64(const char *s, uint64_t *out) {
  if (s == NULL || *s == '\0') return false;
  uint64_t v = 0, base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
    if (*s == '\0') return false;
  }
  const char *digits = s;
  for (;; s++) {
    char c = lower(*s);
    unsigned d;
    if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
    else break;
    if (v > (UINT64_MAX - d) / base) return false;
    v = v * base + d;
  }
  if (s == digits) return false;
  unsigned shift = 0;
  switch (lower(*s)) {
    case 'k': shift = 10; s++; break;
    case 'm': shift = 20; s++; break;
    case 'g': shift = 30; s++; break;
    default: break;
  }
  if (lower(*s) == 'i' && shift) s++;
  if (lower(*s) == 'b') s++;
  if (*s != '\0') return false;
  if (shift && v > (UINT64_MAX >> shift)) return false;
  *out = v << shift;
  return true;
}
