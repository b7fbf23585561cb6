"""External dependencies of HAKMEM, for this workspace and for consumers.

    load("@hakmem//:deps.bzl", "hakmem_deps")
    hakmem_deps()

defines:
  * offline stand-ins for @rules_cc, @rules_shell, @rules_java and
    @remote_coverage_tools, only when Bazel cannot fetch them (Debian's
    bazel-bootstrap 4.2.3, which reports an empty native.bazel_version, or
    offline = True). A released
    Bazel with network keeps its own definitions: nothing is overridden.
  * @com_google_googletest      GoogleTest/GoogleMock built from /usr/src/googletest
  * @com_github_google_benchmark Google Benchmark, Debian's prebuilt library
  * @com_google_absl            abseil, Debian's prebuilt libraries
Every repository is skipped if the workspace already defines it, so a consumer
can bring its own. A missing Debian package fails with a message naming it.
"""

# ---------------------------------------------------------------------------
# Offline stand-ins.

_RULES_CC_DEFS = '''\
"""Offline stand-in for rules_cc: forwards to Bazel's native C++ rules."""
def cc_library(**kwargs):
    native.cc_library(**kwargs)
def cc_binary(**kwargs):
    native.cc_binary(**kwargs)
def cc_test(**kwargs):
    native.cc_test(**kwargs)
def cc_import(**kwargs):
    native.cc_import(**kwargs)
def cc_toolchain(**kwargs):
    native.cc_toolchain(**kwargs)
def cc_toolchain_suite(**kwargs):
    native.cc_toolchain_suite(**kwargs)
'''

# rules_shell's layout: one .bzl per rule under //shell, e.g.
#   load("@rules_shell//shell:sh_test.bzl", "sh_test")
_RULES_SHELL_FILES = {
    "BUILD.bazel": "",
    "shell/BUILD.bazel": 'exports_files(["sh_binary.bzl", "sh_library.bzl", "sh_test.bzl"])\n',
    "shell/sh_binary.bzl": '''"""Offline stand-in for rules_shell: Bazel's native sh_binary."""
def sh_binary(**kwargs):
    native.sh_binary(**kwargs)
''',
    "shell/sh_library.bzl": '''"""Offline stand-in for rules_shell: Bazel's native sh_library."""
def sh_library(**kwargs):
    native.sh_library(**kwargs)
''',
    "shell/sh_test.bzl": '''"""Offline stand-in for rules_shell: Bazel's native sh_test."""
def sh_test(**kwargs):
    native.sh_test(**kwargs)
''',
}

_RULES_JAVA_DEFS = '''\
"""Offline stand-in for rules_java: forwards to Bazel's native Java rules."""
def java_import(**kwargs):
    native.java_import(**kwargs)
def java_runtime(**kwargs):
    native.java_runtime(**kwargs)
def java_toolchain(**kwargs):
    native.java_toolchain(**kwargs)
'''

_COVERAGE_BUILD = '''\
# Offline stand-in: `bazel test` needs this target to exist; `bazel coverage`
# cannot work offline and says so.
sh_binary(
    name = "coverage_report_generator",
    srcs = ["coverage_report_generator.sh"],
    visibility = ["//visibility:public"],
)
'''

_COVERAGE_SH = '''\
#!/bin/sh
echo "hakmem: coverage report generation is unavailable with the offline Bazel stand-ins" >&2
exit 1
'''

def _standin_repo_impl(rctx):
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    for path, content in rctx.attr.files.items():
        rctx.file(path, content, executable = path.endswith(".sh"))

_standin_repo = repository_rule(
    implementation = _standin_repo_impl,
    attrs = {"files": attr.string_dict()},
    doc = "A small local repository written from strings (offline stand-in).",
)

def _needs_offline_standins(offline):
    if offline != None:
        return offline

    # Debian's bazel-bootstrap is a "development version" with no version
    # string; it cannot download the default rule repositories.
    return native.bazel_version == ""

def _maybe(rule, name, **kwargs):
    if not native.existing_rule(name):
        rule(name = name, **kwargs)

# ---------------------------------------------------------------------------
# GoogleTest from Debian's source package (unity build: ~10 s on 2 cores).

_GTEST_BUILD = '''\
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "gtest",
    srcs = [
        "googletest/src/gtest-all.cc",
        "googlemock/src/gmock-all.cc",
    ],
    hdrs = glob([
        "googletest/include/**/*.h",
        "googlemock/include/**/*.h",
    ]),
    textual_hdrs = glob([
        "googletest/src/*.cc",
        "googletest/src/*.h",
        "googlemock/src/*.cc",
    ], exclude = [
        "googletest/src/gtest-all.cc",
        "googlemock/src/gmock-all.cc",
        "googletest/src/gtest_main.cc",
        "googlemock/src/gmock_main.cc",
    ]),
    includes = [
        "googlemock",
        "googlemock/include",
        "googletest",
        "googletest/include",
    ],
    copts = ["-w"],
    linkopts = ["-pthread"],
)

cc_library(
    name = "gtest_main",
    srcs = ["googlemock/src/gmock_main.cc"],
    deps = [":gtest"],
    copts = ["-w"],
)
'''

def _debian_googletest_impl(rctx):
    src = rctx.path(rctx.attr.path)
    if not src.get_child("googletest").get_child("src").get_child("gtest-all.cc").exists:
        fail("GoogleTest sources not found at %s: install the Debian package 'googletest' (bash tools/setup.sh)" % src)
    for d in ["googletest", "googlemock"]:
        rctx.symlink(src.get_child(d), d)
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD.bazel", _GTEST_BUILD)

_debian_googletest = repository_rule(
    implementation = _debian_googletest_impl,
    attrs = {"path": attr.string(default = "/usr/src/googletest")},
    local = True,
)

# ---------------------------------------------------------------------------
# Prebuilt Debian libraries through pkg-config. The flags are plain -l/-I, so
# the same targets link for aarch64 once the :arm64 packages are installed.

def _pkg_config(rctx, package, modules):
    pc = rctx.which("pkg-config")
    if pc == None:
        fail("pkg-config not found: install the Debian package 'pkgconf' (bash tools/setup.sh)")
    res = rctx.execute([pc, "--cflags", "--libs"] + modules)
    if res.return_code != 0:
        fail("pkg-config could not find %s: install the Debian package '%s' (bash tools/setup.sh)\n%s" %
             (" ".join(modules), package, res.stderr))
    return res.stdout.strip().split(" ")

def _split_flags(flags):
    """pkg-config output -> (defines, linkopts). Debian's headers live in
    /usr/include, which every toolchain (host and aarch64 cross) searches, so
    an -I flag is unexpected and reported rather than silently dropped."""
    defines, linkopts = [], []
    for f in flags:
        if not f:
            continue
        if f.startswith("-D"):
            defines.append(f[2:])
        elif f.startswith("-I"):
            if f not in ["-I/usr/include"]:
                fail("unexpected include flag from pkg-config: %s" % f)
        else:
            linkopts.append(f)
    return defines, linkopts

def _debian_pkgconfig_impl(rctx):
    lines = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, modules in rctx.attr.targets.items():
        defines, linkopts = _split_flags(_pkg_config(rctx, rctx.attr.package, modules.split(" ")))
        lines.append("cc_library(\n    name = %r,\n    defines = %r,\n    linkopts = %r,\n)\n" %
                     (name, defines, linkopts))
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD.bazel", "\n".join(lines))

_debian_pkgconfig = repository_rule(
    implementation = _debian_pkgconfig_impl,
    attrs = {
        "package": attr.string(mandatory = True, doc = "Debian package that provides the modules"),
        "targets": attr.string_dict(mandatory = True, doc = "target name -> space-separated pkg-config modules"),
    },
    local = True,
)

# ---------------------------------------------------------------------------

def hakmem_deps(offline = None):
    """Declares HAKMEM's external repositories.

    Args:
      offline: True forces the offline stand-ins for rules_cc, rules_shell,
        rules_java and remote_coverage_tools, False never uses them; None (default) uses them
        only on a Bazel without a version (Debian's bazel-bootstrap).
    """
    if _needs_offline_standins(offline):
        _maybe(_standin_repo, "rules_cc", files = {
            "BUILD.bazel": "",
            "cc/BUILD.bazel": 'exports_files(["defs.bzl"])\n',
            "cc/defs.bzl": _RULES_CC_DEFS,
        })
        _maybe(_standin_repo, "rules_shell", files = _RULES_SHELL_FILES)
        _maybe(_standin_repo, "rules_java", files = {
            "BUILD.bazel": "",
            "java/BUILD.bazel": 'exports_files(["defs.bzl"])\n',
            "java/defs.bzl": _RULES_JAVA_DEFS,
        })
        _maybe(_standin_repo, "remote_coverage_tools", files = {
            "BUILD.bazel": _COVERAGE_BUILD,
            "coverage_report_generator.sh": _COVERAGE_SH,
        })

    _maybe(_debian_googletest, "com_google_googletest")
    _maybe(
        _debian_pkgconfig,
        "com_github_google_benchmark",
        package = "libbenchmark-dev",
        targets = {"benchmark": "benchmark"},
    )
    _maybe(
        _debian_pkgconfig,
        "com_google_absl",
        package = "libabsl-dev",
        targets = {
            "strings": "absl_strings absl_str_format",
            "synchronization": "absl_synchronization",
            "random": "absl_random_random",
            "flat_hash_map": "absl_raw_hash_set absl_hash",
            "time": "absl_time",
        },
    )
