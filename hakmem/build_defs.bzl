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

# Visibility for box internals: only HAKMEM's own packages.
HAK_INTERNAL = ["//:__subpackages__"]

def hak_cc_test(name, linkstatic = True, **kwargs):
    """cc_test for HAKMEM: linked statically (boxes are built with hidden
    visibility, and a static link is how users' binaries see the allocator);
    under --config=aarch64 it runs through ci/qemu_aarch64.sh."""
    native.cc_test(name = name, linkstatic = linkstatic, **kwargs)
