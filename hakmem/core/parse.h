/* hakmem/core/parse.h — parsing of option values (no getenv, no malloc).
 *
 * Owns: the accepted spellings of booleans (1/0, true/false, yes/no, on/off,
 * any case) and of sizes/numbers (decimal or 0x hex, optional K/M/G suffix =
 * 2^10/2^20/2^30, optional trailing B/iB). Boundary: the policy box reads the
 * environment and calls these; nothing here knows variable names. */
#ifndef HAKMEM_CORE_PARSE_H
#define HAKMEM_CORE_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Each returns true and sets *out on success; false (out untouched) on an
 * empty, malformed or overflowing value. */
bool hk_parse_bool(const char *s, bool *out);
bool hk_parse_u64(const char *s, uint64_t *out);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_CORE_PARSE_H */
