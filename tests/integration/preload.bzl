"""preload_test: a real program run with and without LD_PRELOAD=libhakmem.so."""

load("//hakmem:build_defs.bzl", "HAK_NEEDS_MALLOC_OVERRIDE")

def preload_test(name, workload, command, options = []):
    """sh_test running preload_compare.sh over `command`.

    Args:
      name: test name.
      workload: the data file the command reads (script, SQL, ...).
      command: argv of the program; "$(rootpath <workload>)" names the file,
        "@WORK@" a scratch directory (see preload_compare.sh).
      options: preload_compare.sh options (--hak-env, --min-inits, --stdin).

    x86-64 only (the programs are the host's), and not under ASan/TSan: an
    instrumented libhakmem.so cannot be preloaded into uninstrumented programs.
    """
    native.sh_test(
        name = name,
        size = "medium",
        srcs = ["preload_compare.sh"],
        args = ["--lib", "$(rootpath //hakmem:libhakmem.so)"] + options + ["--"] + command,
        data = [workload, "//hakmem:libhakmem.so"],
        target_compatible_with = ["@platforms//cpu:x86_64"] + HAK_NEEDS_MALLOC_OVERRIDE,
    )
