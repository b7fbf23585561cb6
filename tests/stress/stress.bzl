"""hak_stress_test: one stress source compiled twice."""

load("//hakmem:build_defs.bzl", "HAK_NEEDS_MALLOC_OVERRIDE", "hak_cc_test")

def hak_stress_test(name, src, size = "medium", tags = [], **kwargs):
    """Defines <name>_malloc_test and <name>_hak_test from `src`.

    <name>_malloc_test: HAK_STRESS_MALLOC=1, the malloc family (and operator
      new/delete, std::thread, gtest) is HAKMEM via //hakmem:malloc_shim.
      Incompatible with ASan/TSan, which own malloc themselves.
    <name>_hak_test: HAK_STRESS_MALLOC=0, the test calls hak_malloc & co. of
      //hakmem:hakmem_api; runs under every sanitizer.
    """
    common_deps = [
        ":stress_support",
        "//hakmem:hakmem_api",
        "@com_google_googletest//:gtest_main",
    ]
    hak_cc_test(
        name = name + "_malloc_test",
        srcs = [src, "stress_common.h"],
        size = size,
        tags = tags + ["stress"],
        local_defines = ["HAK_STRESS_MALLOC=1"],
        deps = common_deps + ["//hakmem:malloc_shim"],
        target_compatible_with = HAK_NEEDS_MALLOC_OVERRIDE,
        **kwargs
    )
    hak_cc_test(
        name = name + "_hak_test",
        srcs = [src, "stress_common.h"],
        size = size,
        tags = tags + ["stress"],
        local_defines = ["HAK_STRESS_MALLOC=0"],
        deps = common_deps,
        **kwargs
    )
