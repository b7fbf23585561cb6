"""Compiler options shared by every HAKMEM box (C11, warnings are errors)."""

# The allocator is optimised even in fastbuild so that tests and stress runs
# exercise the code the way users run it; -c dbg keeps it debuggable.
HAK_COPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
    "-fno-strict-aliasing",
    "-fvisibility=hidden",
] + select({
    "//:dbg": ["-O0", "-g"],
    "//conditions:default": ["-O2"],
})

# Visibility: each box is visible only to the boxes above it, their tests and
# (for core's memops) the benchmarks. The layering, bottom to top:
#   core -> pagemap -> segment -> front (tiny, l0), mid, large -> policy/stats
#   -> //hakmem (thread records, fast paths, API, shim).
HAK_TESTS = ["//tests:__subpackages__"]

# core: every box, the tests, the benchmarks.
HAK_VIS_CORE = ["//hakmem:__subpackages__", "//benchmarks:__pkg__"] + HAK_TESTS

# segment: the front ends and the large-object box above it, and the API.
HAK_VIS_SEGMENT = [
    "//hakmem:__pkg__",
    "//hakmem/front:__pkg__",
    "//hakmem/large:__pkg__",
    "//hakmem/mid:__pkg__",
] + HAK_TESTS

# Boxes only the API layer (//hakmem) uses.
HAK_VIS_API_ONLY = ["//hakmem:__pkg__"] + HAK_TESTS

# Kept for packages outside the allocator that share build helpers.
HAK_INTERNAL = ["//:__subpackages__"]

def hak_cc_test(name, linkstatic = True, **kwargs):
    """cc_test for HAKMEM: linked statically (boxes are built with hidden
    visibility, and a static link is how users' binaries see the allocator);
    under --config=aarch64 it runs through ci/qemu_aarch64.sh."""
    native.cc_test(name = name, linkstatic = linkstatic, **kwargs)

def _hak_static_library_impl(ctx):
    cc_toolchain = ctx.attr._cc_toolchain[cc_common.CcToolchainInfo]
    archives = []
    for dep in ctx.attr.deps:
        for li in dep[CcInfo].linking_context.linker_inputs.to_list():
            for lib in li.libraries:
                a = lib.pic_static_library or lib.static_library
                if a != None and a not in archives:
                    archives.append(a)
    out = ctx.actions.declare_file("lib%s.a" % ctx.label.name)
    script = ctx.actions.declare_file("%s.mri" % ctx.label.name)
    lines = ["CREATE " + out.path] + ["ADDLIB " + a.path for a in archives] + ["SAVE", "END"]
    ctx.actions.write(script, "\n".join(lines) + "\n")
    ctx.actions.run_shell(
        inputs = archives + [script],
        outputs = [out],
        tools = cc_toolchain.all_files,
        command = "%s -M < %s" % (cc_toolchain.ar_executable, script.path),
        mnemonic = "HakStaticLibrary",
        progress_message = "Archiving %s" % out.short_path,
    )
    return [DefaultInfo(files = depset([out]))]

hak_static_library = rule(
    implementation = _hak_static_library_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "_cc_toolchain": attr.label(default = "@bazel_tools//tools/cpp:current_cc_toolchain"),
    },
    doc = "One static archive holding the objects of deps and their transitive deps.",
)

# target_compatible_with for tests and benchmarks that go through the malloc
# override: ASan and TSan own malloc themselves, so these are skipped there.
HAK_NEEDS_MALLOC_OVERRIDE = select({
    "//tests:sanitizer_replaces_malloc": ["//:incompatible"],
    "//conditions:default": [],
})
