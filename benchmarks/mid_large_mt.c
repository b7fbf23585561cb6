/* benchmarks/mid_large_mt.c — the "mid/large, multi-threaded" workload (seed
 * bench_mid_large_mt): --threads threads (default 2), each doing --iters
 * iterations (default 1,000,000) on its own working set of --ws slots
 * (default 256) with random sizes in [--min, --max] (default 8..32 KiB, i.e.
 * above the tiny classes).
 *
 * The loop is replace.h's replace_run, on each thread with the thread's seed
 * derived from --seed: each measured iteration frees a random slot's block
 * and allocates one of a random size in its place (first byte written).
 * Threads never touch each other's blocks (no cross-thread frees: that is
 * larson.c). So one op = one iteration of one thread = exactly one free() +
 * one malloc() (+ a one-byte store); ops/s = the sum of all threads'
 * iterations / the elapsed seconds from the start barrier to the stop
 * barrier (driver.h). */
#include "benchmarks/driver.h"
#include "benchmarks/replace.h"

static const bench_workload_t k_mid_large_mt = {
    .name = "mid_large_mt",
    .summary = "mid_large_mt: threads x iters, each thread on its own ws slots, random sizes in [min, max] "
               "(default 8..32 KiB; seed bench_mid_large_mt).",
    .op = "one free() of a random slot's block + one malloc() of a random size in [min, max] (first byte "
          "written), by one thread on its own slots; ops summed over threads",
    .defaults =
        {
            .iters = 1000000,
            .ws = 256,
            .threads = 2,
            .seed = 1,
            .min = 8192,
            .max = 32768,
        },
    .setup = replace_setup,
    .run = replace_run,
    .teardown = replace_teardown,
};

int main(int argc, char **argv) { return bench_main(argc, argv, &k_mid_large_mt); }
