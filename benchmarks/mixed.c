/* benchmarks/mixed.c — the "Mixed" workload (seed bench_random_mixed):
 * random sizes in [--min, --max] (16..1024 B) over a working set of --ws
 * slots (256).
 *
 * The loop is replace.h's replace_run: each measured iteration frees a random
 * slot's block and allocates one of a random size in its place (first byte
 * written). So one op = one iteration = exactly one free() + one malloc()
 * (+ a one-byte store); ops/s = iterations / elapsed seconds of the loop.
 * With --threads=N each thread does this on its own slots with its own
 * seed. */
#include "benchmarks/driver.h"
#include "benchmarks/replace.h"

static const bench_workload_t k_mixed = {
    .name = "mixed",
    .summary = "mixed: random sizes in [min, max] over a working set of ws slots (seed bench_random_mixed).",
    .op = "one free() of a random slot's block + one malloc() of a random size (first byte written)",
    .defaults =
        {
            .iters = 10000000,
            .ws = 256,
            .threads = 1,
            .seed = 1,
            .min = 16,
            .max = 1024,
        },
    .setup = replace_setup,
    .run = replace_run,
    .teardown = replace_teardown,
};

int main(int argc, char **argv) { return bench_main(argc, argv, &k_mixed); }
