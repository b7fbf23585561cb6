/* benchmarks/bench_util.c — see bench_util.h. */
#define _GNU_SOURCE
#include "benchmarks/bench_util.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool bench_parse_u64(const char *s, uint64_t *out) {
  if (*s == '\0') return false;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool bench_parse_seconds(const char *s, uint64_t max_s, uint64_t *ns) {
  const char *dot = strchr(s, '.');
  char whole[24];
  size_t wlen = dot ? (size_t)(dot - s) : strlen(s);
  if (wlen == 0 || wlen >= sizeof(whole)) return false;
  memcpy(whole, s, wlen);
  whole[wlen] = '\0';
  uint64_t sec, frac = 0;
  if (!bench_parse_u64(whole, &sec) || sec > max_s) return false;
  if (dot != NULL) {
    size_t flen = strlen(dot + 1);
    if (flen == 0 || flen > 9 || !bench_parse_u64(dot + 1, &frac)) return false;
    for (size_t i = flen; i < 9; i++) frac *= 10;
    if (sec == max_s && frac > 0) return false;
  }
  *ns = sec * 1000000000ull + frac;
  return true;
}

const char *bench_flag_value(const char *arg, const char *name) {
  size_t n = strlen(name);
  if (strncmp(arg, name, n) == 0 && arg[n] == '=') return arg + n + 1;
  return NULL;
}

int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, size_t n) {
  qsort(v, n, sizeof(double), bench_cmp_double);
  return (n % 2) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

double bench_median_copy(const double *v, size_t lo, size_t hi) {
  size_t n = hi - lo;
  if (n == 0) return NAN;
  double *c = malloc(n * sizeof(double));
  if (c == NULL) {
    fputs("bench: out of memory\n", stderr);
    exit(1);
  }
  memcpy(c, v + lo, n * sizeof(double));
  double m = bench_median(c, n);
  free(c);
  return m;
}

void bench_json_strn(FILE *f, const char *s, size_t len) {
  fputc('"', f);
  for (const char *e = s + len; s < e; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      fprintf(f, "\\%c", ch);
    } else if (ch < 0x20) {
      fprintf(f, "\\u%04x", ch);
    } else {
      fputc(ch, f);
    }
  }
  fputc('"', f);
}

void bench_json_str(FILE *f, const char *s) {
  if (s == NULL) {
    fputs("null", f);
  } else {
    bench_json_strn(f, s, strlen(s));
  }
}

void bench_json_num(FILE *f, const char *key, double v, const char *fmt) {
  fprintf(f, ",\"%s\":", key);
  if (isnan(v)) {
    fputs("null", f);
  } else {
    fprintf(f, fmt, v);
  }
}

/* The value in kB of "<field>:" in /proc/self/status (read without stdio or
 * malloc: safe in a worker whatever allocator it runs), 0 if absent. */
static uint64_t status_kib(const char *field) {
  char buf[4096];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t len = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (len <= 0) return 0;
  buf[len] = '\0';
  size_t n = strlen(field);
  for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (strncmp(p, field, n) == 0 && p[n] == ':') {
      uint64_t v = 0;
      for (p += n + 1; *p == ' ' || *p == '\t'; p++) {
      }
      for (; *p >= '0' && *p <= '9'; p++) v = v * 10 + (uint64_t)(*p - '0');
      return v;
    }
  }
  return 0;
}

uint64_t bench_rss_kib(void) { return status_kib("VmRSS"); }

uint64_t bench_peak_rss_kib(void) { return status_kib("VmHWM"); }
