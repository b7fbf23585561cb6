/* hakmem/core/compiler.h — compiler and ABI helpers shared by every box.
 *
 * Owns: branch hints, inlining/visibility attributes, the TLS model, cache-line
 * size. No code, no state. Boundary: pure macros, safe to include anywhere. */
#ifndef HAKMEM_CORE_COMPILER_H
#define HAKMEM_CORE_COMPILER_H

#define HAK_LIKELY(x) __builtin_expect(!!(x), 1)
#define HAK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HAK_INLINE static inline __attribute__((always_inline))
#define HAK_NOINLINE __attribute__((noinline))
#define HAK_COLD __attribute__((cold, noinline))
#define HAK_NORETURN __attribute__((noreturn))
#define HAK_UNUSED __attribute__((unused))
/* Symbols exported from libhakmem.so / the shim (everything else is hidden:
 * boxes are compiled with -fvisibility=hidden). */
#define HAK_EXPORT __attribute__((visibility("default")))
#define HAK_CACHE_LINE 64
#define HAK_CACHE_ALIGNED __attribute__((aligned(HAK_CACHE_LINE)))
/* initial-exec TLS: one instruction to reach thread state. Safe for a
 * preloaded or linked allocator; a dlopen()ed libhakmem.so is still served by
 * glibc's static TLS surplus (our TLS block is small, see README). */
#define HAK_TLS __thread __attribute__((tls_model("initial-exec")))

#define HAK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* HAKMEM_CORE_COMPILER_H */
