"""hak_stress_test: one stress source, two API flavours, several configurations."""

load("@rules_cc//cc:defs.bzl", "cc_library")
load("//hakmem:build_defs.bzl", "HAK_NEEDS_MALLOC_OVERRIDE", "hak_cc_test")

def _expect(routes, meta = "-,-,-,-,-,-,-,-", level = 0, l0_counted = 0, leftover = 0, checked = 0):
    """What config_check.cc must find (see there for the variables)."""
    return {
        "HAK_EXPECT_ROUTES": routes,
        "HAK_EXPECT_META": meta,
        "HAK_EXPECT_STATS_LEVEL": str(level),
        "HAK_EXPECT_L0_COUNTED": str(l0_counted),
        "HAK_EXPECT_L0_LEFTOVER": str(leftover),
        "HAK_EXPECT_CHECKED": str(checked),
    }

# Allocator configurations a variant can run under: the HAKMEM_* environment
# (read once at start-up by the policy box, README "Profiles") and what it
# must produce. "list" is the default (no HAKMEM_* variable set).
HAK_STRESS_CONFIGS = {
    "list": struct(
        env = {},
        expect = _expect("list,list,list,list,list,list,list,list"),
    ),
    # Every tiny class on TinyHeap, counters updated on every operation.
    "heap": struct(
        env = {
            "HAKMEM_TINY_HEAP_PROFILE": "CUSTOM",
            "HAKMEM_TINY_HEAP_CLASSES": "0xff",
        },
        expect = _expect("heap,heap,heap,heap,heap,heap,heap,heap", meta = "0,0,0,0,0,0,0,0"),
    ),
    # C6 and C7 on TinyHeap in meta mode SAFE; the profile's boundary stats.
    "c7safe": struct(
        env = {
            "HAKMEM_TINY_HEAP_PROFILE": "C7_SAFE",
            "HAKMEM_TINY_HEAP_CLASSES": "0xc0",
            "HAKMEM_TINY_C6_META_MODE": "1",
        },
        expect = _expect("list,list,list,list,list,list,heap,heap", meta = "-,-,-,-,-,-,1,1", level = 1),
    ),
    # C6 and C7 on TinyHeap in meta mode ULTRA (SuperSlab counters not kept).
    "ultra": struct(
        env = {
            "HAKMEM_TINY_HEAP_PROFILE": "C7_ULTRA_BENCH",
            "HAKMEM_TINY_HEAP_CLASSES": "0xc0",
            "HAKMEM_TINY_C6_META_MODE": "2",
        },
        expect = _expect("list,list,list,list,list,list,heap,heap", meta = "-,-,-,-,-,-,2,2"),
    ),
    # L0 magazine in front of C0..C3, stealing supply.
    "l0steal": struct(
        env = {"HAKMEM_TINY_HEAP_V2": "1"},
        expect = _expect("l0,l0,l0,l0,list,list,list,list"),
    ),
    # L0 magazine, leftover supply.
    "l0leftover": struct(
        env = {
            "HAKMEM_TINY_HEAP_V2": "1",
            "HAKMEM_TINY_HEAP_V2_LEFTOVER_MODE": "1",
        },
        expect = _expect("l0,l0,l0,l0,list,list,list,list", leftover = 1),
    ),
    # Counted routes: every operation counted, L0 counted, C7 on TinyHeap.
    "counted": struct(
        env = {
            "HAKMEM_STATS": "1",
            "HAKMEM_TINY_HEAP_V2": "1",
            "HAKMEM_TINY_HEAP_V2_STATS": "1",
            "HAKMEM_TINY_HEAP_CLASSES": "0x80",
        },
        expect = _expect("l0,l0,l0,l0,list,list,list,heap", meta = "-,-,-,-,-,-,-,0", level = 2, l0_counted = 1),
    ),
    # Checked mode (every block's live bit kept and checked) on every route:
    # L0 for C0..C3, lists, C7 on TinyHeap, mid. Must report nothing.
    "checked": struct(
        env = {
            "HAKMEM_CHECK": "1",
            "HAKMEM_TINY_HEAP_V2": "1",
            "HAKMEM_TINY_HEAP_CLASSES": "0x80",
        },
        expect = _expect("l0,l0,l0,l0,list,list,list,heap", meta = "-,-,-,-,-,-,-,0", checked = 1),
    ),
    # C7 alone on TinyHeap, counters updated on every operation.
    "c7perop": struct(
        env = {
            "HAKMEM_TINY_HEAP_PROFILE": "CUSTOM",
            "HAKMEM_TINY_HEAP_CLASSES": "0x80",
            "HAKMEM_TINY_C7_META_MODE": "0",
        },
        expect = _expect("list,list,list,list,list,list,list,heap", meta = "-,-,-,-,-,-,-,0"),
    ),
}

_FLAVOURS = {
    # The malloc family (and operator new/delete, std::thread, gtest) is
    # HAKMEM via //hakmem:malloc_shim. Incompatible with ASan/TSan, which own
    # malloc themselves.
    "malloc": struct(define = "HAK_STRESS_MALLOC=1", deps = ["//hakmem:malloc_shim"], compat = HAK_NEEDS_MALLOC_OVERRIDE),
    # The test calls hak_malloc & co. of //hakmem:hakmem_api; runs under every
    # sanitizer.
    "hak": struct(define = "HAK_STRESS_MALLOC=0", deps = [], compat = None),
}

def hak_stress_test(
        name,
        src,
        size = "medium",
        tags = [],
        configs = [],
        config_divisor = 1,
        default_variant = True,
        flavours = ["malloc", "hak"],
        **kwargs):
    """Stress tests from `src` for each API flavour and configuration.

    Each flavour's objects are compiled once, into <name>_<flavour>_lib
    (with config_check_<flavour>: config_check.cc, which checks that the
    configuration took effect), and linked into one cc_test per configuration; the configuration is only
    the test's environment (`env`), read by HAKMEM at start-up:
      <name>_<flavour>_test           the default configuration ("list"), if
                                      default_variant;
      <name>_<config>_<flavour>_test  for each name in `configs` (keys of
                                      HAK_STRESS_CONFIGS); these get
                                      HAK_STRESS_DIVISOR=config_divisor, which
                                      divides the workload (stress_common.h).
    Flavours: "malloc" (HAK_STRESS_MALLOC=1, through the malloc override;
    skipped under ASan/TSan) and "hak" (HAK_STRESS_MALLOC=0, hak_* API).
    """
    variants = []
    if default_variant:
        variants.append(("", "list", {}))
    for config in configs:
        variants.append(("_" + config, config, {"HAK_STRESS_DIVISOR": str(config_divisor)}))
    for flavour in flavours:
        f = _FLAVOURS[flavour]
        compat = {"target_compatible_with": f.compat} if f.compat != None else {}
        common_deps = [
            ":stress_support",
            "//hakmem:hakmem_api",
            "@com_google_googletest//:gtest_main",
        ] + f.deps

        # config_check.cc once per flavour and package, shared by every test.
        check = "config_check_" + flavour
        if native.existing_rule(check) == None:
            cc_library(
                name = check,
                testonly = True,
                srcs = ["config_check.cc", "stress_common.h"],
                local_defines = [f.define],
                alwayslink = True,
                linkstatic = True,
                deps = common_deps,
                **compat
            )
        lib = name + "_" + flavour + "_lib"
        cc_library(
            name = lib,
            testonly = True,
            srcs = [src, "stress_common.h"],
            local_defines = [f.define],
            alwayslink = True,
            linkstatic = True,
            deps = common_deps + [":" + check],
            **compat
        )
        for suffix, config, extra_env in variants:
            c = HAK_STRESS_CONFIGS[config]
            env = dict(c.env)
            env.update(c.expect)
            env.update(extra_env)
            hak_cc_test(
                name = name + suffix + "_" + flavour + "_test",
                size = size,
                tags = tags + ["stress", "config_" + config],
                env = env,
                deps = [":" + lib],
                **dict(kwargs, **compat)
            )
