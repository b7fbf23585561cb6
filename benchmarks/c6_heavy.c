/* benchmarks/c6_heavy.c — the "C6-heavy" workload: random sizes in
 * [--min, --max] (default 257..768 B: half of the requests in hakmem's tiny
 * class C6 = 257..512 B, the rest in C7) over a working set of --ws slots
 * (default 256).
 *
 * The loop is replace.h's replace_run: each measured iteration frees a random
 * slot's block and allocates one of a random size in its place (first byte
 * written). So one op = one iteration = exactly one free() + one malloc()
 * (+ a one-byte store); ops/s = iterations / elapsed seconds of the loop.
 * With --threads=N each thread does this on its own slots with its own
 * seed. */
#include "benchmarks/driver.h"
#include "benchmarks/replace.h"

static const bench_workload_t k_c6_heavy = {
    .name = "c6_heavy",
    .summary = "c6_heavy: random sizes in [min, max] (default 257..768 B) over a working set of ws slots.",
    .op = "one free() of a random slot's block + one malloc() of a random size in [min, max] (first byte written)",
    .defaults =
        {
            .iters = 10000000,
            .ws = 256,
            .threads = 1,
            .seed = 1,
            .min = 257,
            .max = 768,
        },
    .setup = replace_setup,
    .run = replace_run,
    .teardown = replace_teardown,
};

int main(int argc, char **argv) { return bench_main(argc, argv, &k_c6_heavy); }
