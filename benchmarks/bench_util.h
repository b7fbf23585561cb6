/* benchmarks/bench_util.h — the layer every workload driver shares (issue
 * 14): the command-line pieces, the clock, statistics, a JSON writer and the
 * process's memory figures. driver.c (bench_main: mixed, fixed_size,
 * c7_only, c6_heavy, mid_large_mt, larson, xthread, rss_return, large) and
 * soak.c (its own controller) both use it; nothing here allocates except
 * bench_median_copy. */
#ifndef HAKMEM_BENCHMARKS_BENCH_UTIL_H
#define HAKMEM_BENCHMARKS_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* Strict unsigned decimal: digits only, no sign, no overflow. */
bool bench_parse_u64(const char *s, uint64_t *out);

/* Seconds as a strict decimal ("1", "0.25", "2.5": digits, at most one '.'
 * followed by 1..9 digits, no sign or exponent) into nanoseconds; false when
 * malformed or above max_s seconds. */
bool bench_parse_seconds(const char *s, uint64_t max_s, uint64_t *ns);

/* "--name=value" -> value when arg is that flag, else NULL. */
const char *bench_flag_value(const char *arg, const char *name);

/* qsort comparator of doubles (ascending). */
int bench_cmp_double(const void *a, const void *b);

/* Median of v[0..n) (n > 0); sorts v in place. */
double bench_median(double *v, size_t n);

/* Median of v[lo..hi) without reordering v (a copy; NAN when empty). */
double bench_median_copy(const double *v, size_t lo, size_t hi);

/* The first len bytes of s as a JSON string; bench_json_str: s as a JSON
 * string, null for NULL. */
void bench_json_strn(FILE *f, const char *s, size_t len);
void bench_json_str(FILE *f, const char *s);

/* ,"key":<v printed with fmt> (null for NaN). */
void bench_json_num(FILE *f, const char *key, double v, const char *fmt);

/* This process's resident set (VmRSS) and its peak since exec (VmHWM), KiB,
 * from /proc/self/status; 0 when unavailable. The peak is that of this
 * program only, unlike getrusage's ru_maxrss, which keeps the peak of the
 * process image before exec (e.g. a large Python parent's fork). */
uint64_t bench_rss_kib(void);
uint64_t bench_peak_rss_kib(void);

#endif /* HAKMEM_BENCHMARKS_BENCH_UTIL_H */
