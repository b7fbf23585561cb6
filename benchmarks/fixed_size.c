/* benchmarks/fixed_size.c — the "fixed size" workload (seed
 * bench_fixed_size): one request size over a working set of --ws slots
 * (default 64 B, 256 slots).
 *
 * The size is given as --min=S --max=S (both the same; default 64): a
 * --min different from --max is a usage error (exit 2), so a table or JSON
 * line always shows the one size that was measured.
 *
 * The loop is replace.h's replace_run_fixed: each measured iteration frees a
 * random slot's block and allocates a new block of the same size in its place
 * (first byte written). So one op = one iteration = exactly one free() + one
 * malloc() (+ a one-byte store); ops/s = iterations / elapsed seconds of the
 * loop. With --threads=N each thread does this on its own slots with its own
 * seed. */
#include "benchmarks/driver.h"
#include "benchmarks/replace.h"

static const char *fixed_check(const bench_opts_t *o) {
  if (o->min != o->max) {
    return "fixed_size measures one size: give --min and --max the same value (e.g. --min=128 --max=128)";
  }
  return NULL;
}

static const bench_workload_t k_fixed_size = {
    .name = "fixed_size",
    .summary = "fixed_size: one size (--min=S --max=S, the same value) over a working set of ws slots "
               "(seed bench_fixed_size).",
    .op = "one free() of a random slot's block + one malloc() of the fixed size (first byte written)",
    .defaults =
        {
            .iters = 10000000,
            .ws = 256,
            .threads = 1,
            .seed = 1,
            .min = 64,
            .max = 64,
        },
    .check = fixed_check,
    .setup = replace_setup,
    .run = replace_run_fixed,
    .teardown = replace_teardown,
};

int main(int argc, char **argv) { return bench_main(argc, argv, &k_fixed_size); }
