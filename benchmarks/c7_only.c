/* benchmarks/c7_only.c — the "C7-only" workload: 1024 B blocks (hakmem's
 * largest tiny class, C7 = 513..1024 B) over a working set of --ws slots
 * (default 64).
 *
 * The loop is replace.h's replace_run with sizes in [--min, --max] (default
 * 1024..1024, so always 1024 B): each measured iteration frees a random
 * slot's block and allocates one of the new size in its place (first byte
 * written). So one op = one iteration = exactly one free() + one malloc()
 * (+ a one-byte store); ops/s = iterations / elapsed seconds of the loop.
 * With --threads=N each thread does this on its own slots with its own
 * seed. */
#include "benchmarks/driver.h"
#include "benchmarks/replace.h"

static const bench_workload_t k_c7_only = {
    .name = "c7_only",
    .summary = "c7_only: 1024 B blocks (sizes in [min, max], default 1024..1024) over a working set of ws "
               "slots (seed C7-only).",
    .op = "one free() of a random slot's block + one malloc() of a random size in [min, max] (first byte written)",
    .defaults =
        {
            .iters = 10000000,
            .ws = 64,
            .threads = 1,
            .seed = 1,
            .min = 1024,
            .max = 1024,
        },
    .setup = replace_setup,
    .run = replace_run,
    .teardown = replace_teardown,
};

int main(int argc, char **argv) { return bench_main(argc, argv, &k_c7_only); }
