// Tests of hakmem/core/report.h: the malloc-free formatter (every directive,
// modifiers, truncation), hk_report's exact output on fd 2 and errno
// preservation, use from a signal handler, and hk_fatal's print-then-abort.
#include "hakmem/core/report.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstring>
#include <string>

namespace {

// hk_format into a large buffer, as a std::string; checks the returned length
// against the NUL position.
#define FMT(...) Format(__FILE__, __LINE__, __VA_ARGS__)
std::string Format(const char *file, int line, const char *fmt, ...) {
  char buf[1024];
  std::memset(buf, 'Z', sizeof(buf));
  va_list ap;
  va_start(ap, fmt);
  size_t n = hk_vformat(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  EXPECT_LT(n, sizeof(buf)) << file << ":" << line;
  EXPECT_EQ(std::strlen(buf), n) << file << ":" << line;
  return std::string(buf, n);
}

TEST(Format, PlainTextAndPercent) {
  EXPECT_EQ(FMT(""), "");
  EXPECT_EQ(FMT("hello"), "hello");
  EXPECT_EQ(FMT("100%%"), "100%");
  EXPECT_EQ(FMT("%%%%"), "%%");
  EXPECT_EQ(FMT("a%%d"), "a%d");
}

TEST(Format, Strings) {
  EXPECT_EQ(FMT("%s", "abc"), "abc");
  EXPECT_EQ(FMT("[%s]", ""), "[]");
  EXPECT_EQ(FMT("%s-%s", "x", "yz"), "x-yz");
  const char *volatile null_str = nullptr;  // volatile: no -Wformat-overflow
  EXPECT_EQ(FMT("%s", null_str), "(null)");
  EXPECT_EQ(FMT("<%s>", null_str), "<(null)>");
  std::string long_str(900, 'q');
  EXPECT_EQ(FMT("%s", long_str.c_str()), long_str);  // no HAK_REPORT_MAX limit here
}

TEST(Format, SignedInts) {
  EXPECT_EQ(FMT("%d", 0), "0");
  EXPECT_EQ(FMT("%d", 7), "7");
  EXPECT_EQ(FMT("%d", -7), "-7");
  EXPECT_EQ(FMT("%d", 1234567890), "1234567890");
  EXPECT_EQ(FMT("%d", INT_MAX), "2147483647");
  EXPECT_EQ(FMT("%d", INT_MIN), "-2147483648");
  EXPECT_EQ(FMT("%d", -1), "-1");
  EXPECT_EQ(FMT("%ld", 0L), "0");
  EXPECT_EQ(FMT("%ld", -1L), "-1");
  EXPECT_EQ(FMT("%ld", static_cast<long>(INT64_MAX)), "9223372036854775807");
  EXPECT_EQ(FMT("%ld", static_cast<long>(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(FMT("%ld", 5000000000L), "5000000000");
  // 'll' is read as long: the same width on LP64 (x86-64 and aarch64 Linux).
  static_assert(sizeof(long) == sizeof(long long), "LP64 only");
  EXPECT_EQ(FMT("%lld", static_cast<long long>(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(FMT("%lld", 42LL), "42");
  // %zd takes a ptrdiff_t/ssize_t.
  EXPECT_EQ(FMT("%zd", static_cast<ssize_t>(-5)), "-5");
  EXPECT_EQ(FMT("%zd", static_cast<ssize_t>(INT64_MIN)), "-9223372036854775808");
}

TEST(Format, UnsignedAndHex) {
  EXPECT_EQ(FMT("%u", 0u), "0");
  EXPECT_EQ(FMT("%u", 42u), "42");
  EXPECT_EQ(FMT("%u", UINT_MAX), "4294967295");
  EXPECT_EQ(FMT("%x", 0u), "0");
  EXPECT_EQ(FMT("%x", 0xdeadbeefu), "deadbeef");
  EXPECT_EQ(FMT("%x", 0xABCu), "abc");  // lower case
  EXPECT_EQ(FMT("%x", UINT_MAX), "ffffffff");
  EXPECT_EQ(FMT("%lu", ULONG_MAX), "18446744073709551615");
  EXPECT_EQ(FMT("%lx", 0x123456789abcdef0UL), "123456789abcdef0");
  EXPECT_EQ(FMT("%llu", static_cast<unsigned long long>(UINT64_MAX)), "18446744073709551615");
  EXPECT_EQ(FMT("%zu", static_cast<size_t>(0)), "0");
  EXPECT_EQ(FMT("%zu", static_cast<size_t>(65536)), "65536");
  EXPECT_EQ(FMT("%zu", SIZE_MAX), "18446744073709551615");
  EXPECT_EQ(FMT("%zx", SIZE_MAX), "ffffffffffffffff");
  EXPECT_EQ(FMT("%zx", static_cast<size_t>(0x200000)), "200000");
  // A 64-bit argument does not leak into a following 32-bit one.
  EXPECT_EQ(FMT("%zu %u", SIZE_MAX, 1u), "18446744073709551615 1");
}

TEST(Format, PointersAndChars) {
  EXPECT_EQ(FMT("%p", reinterpret_cast<void *>(0x1234)), "0x1234");
  EXPECT_EQ(FMT("%p", static_cast<void *>(nullptr)), "0x0");
  EXPECT_EQ(FMT("%p", reinterpret_cast<void *>(UINTPTR_MAX)), "0xffffffffffffffff");
  EXPECT_EQ(FMT("%c", 'A'), "A");
  EXPECT_EQ(FMT("%c%c%c", 'x', 'y', 'z'), "xyz");
  EXPECT_EQ(FMT("[%c]", ' '), "[ ]");
}

TEST(Format, MixedDirectives) {
  EXPECT_EQ(FMT("free(%p): size %zu class %u, %s (%d%%) %c", reinterpret_cast<void *>(0xabc0),
                static_cast<size_t>(48), 5u, "ok", -3, '!'),
            "free(0xabc0): size 48 class 5, ok (-3%) !");
  EXPECT_EQ(FMT("%d%s%d", 1, "", 2), "12");
}

// Malformed formats (outside the printf contract, so -Wformat is silenced):
// never read past the end of the format, print unknown directives verbatim.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
TEST(Format, MalformedFormatsAreHarmless) {
  // Each format is followed, after its NUL, by text that would show up in
  // the output if the formatter ran past the end of the format.
  const char f1[] = "abc%\0OVERRUN";
  const char f2[] = "abc%l\0OVERRUN";
  const char f3[] = "abc%z\0OVERRUN";
  const char f4[] = "abc%lz\0OVERRUN";
  const char f5[] = "%\0OVERRUN";
  EXPECT_EQ(FMT(f1), "abc");
  EXPECT_EQ(FMT(f2), "abc");
  EXPECT_EQ(FMT(f3), "abc");
  EXPECT_EQ(FMT(f4), "abc");
  EXPECT_EQ(FMT(f5), "");
  EXPECT_EQ(FMT("%q"), "%q");
  EXPECT_EQ(FMT("a%yb"), "a%yb");
}
#pragma GCC diagnostic pop

TEST(Format, VformatMatchesFormat) {
  char a[64], b[64];
  size_t na = hk_format(a, sizeof(a), "%s=%d", "k", 9);
  size_t nb = [&](const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t n = hk_vformat(b, sizeof(b), fmt, ap);
    va_end(ap);
    return n;
  }("%s=%d", "k", 9);
  EXPECT_EQ(na, 3u);
  EXPECT_EQ(nb, 3u);
  EXPECT_STREQ(a, "k=9");
  EXPECT_STREQ(b, "k=9");
}

// Truncation: for every capacity the buffer holds the longest prefix that
// fits with its NUL, the return value is that prefix's length, and no byte at
// or past buf[cap] is written.
TEST(Format, TruncatesAtCapacityForEveryCap) {
  const std::string full = "value=-123456 name=(null) hex=beef";
  const char *volatile null_str = nullptr;
  for (size_t cap = 0; cap <= full.size() + 3; cap++) {
    char buf[128];
    std::memset(buf, '#', sizeof(buf));
    size_t n = hk_format(buf, cap, "value=%d name=%s hex=%x", -123456, null_str, 0xbeefu);
    const size_t want = cap == 0 ? 0 : std::min(full.size(), cap - 1);
    ASSERT_EQ(n, want) << "cap " << cap;
    if (cap > 0) {
      ASSERT_EQ(std::string(buf, n), full.substr(0, want)) << "cap " << cap;
      ASSERT_EQ(buf[n], '\0') << "cap " << cap;
    }
    for (size_t i = cap; i < sizeof(buf); i++) {
      ASSERT_EQ(buf[i], '#') << "cap " << cap << ": wrote past the capacity at " << i;
    }
  }
}

TEST(Format, TruncationInsideNumbersAndStrings) {
  char buf[8];
  EXPECT_EQ(hk_format(buf, 4, "%d", 123456), 3u);
  EXPECT_STREQ(buf, "123");
  EXPECT_EQ(hk_format(buf, 3, "%d", -98765), 2u);
  EXPECT_STREQ(buf, "-9");
  EXPECT_EQ(hk_format(buf, 5, "%p", reinterpret_cast<void *>(0xabcdef)), 4u);
  EXPECT_STREQ(buf, "0xab");
  EXPECT_EQ(hk_format(buf, 1, "%s", "abc"), 0u);
  EXPECT_STREQ(buf, "");
  // cap == 0: nothing is written at all.
  buf[0] = 'k';
  EXPECT_EQ(hk_format(buf, 0, "%s", "abc"), 0u);
  EXPECT_EQ(buf[0], 'k');
  // Exactly fitting.
  EXPECT_EQ(hk_format(buf, 8, "%s", "1234567"), 7u);
  EXPECT_STREQ(buf, "1234567");
  EXPECT_EQ(hk_format(buf, 8, "%s", "12345678"), 7u);
  EXPECT_STREQ(buf, "1234567");
}

// Redirects fd 2 into a pipe for the lifetime of the object.
class StderrCapture {
 public:
  StderrCapture() {
    EXPECT_EQ(pipe(fds_), 0);
    saved_ = dup(2);
    EXPECT_GE(saved_, 0);
    EXPECT_EQ(dup2(fds_[1], 2), 2);
  }
  // Restores fd 2 and returns everything written to it.
  std::string Finish() {
    if (saved_ >= 0) {
      dup2(saved_, 2);
      close(saved_);
      saved_ = -1;
      close(fds_[1]);  // fd 2 no longer refers to the pipe: read sees EOF
      char buf[4096];
      ssize_t n;
      while ((n = read(fds_[0], buf, sizeof(buf))) > 0) out_.append(buf, static_cast<size_t>(n));
      close(fds_[0]);
    }
    return out_;
  }
  ~StderrCapture() { Finish(); }

 private:
  int fds_[2] = {-1, -1};
  int saved_ = -1;
  std::string out_;
};

TEST(Report, WritesExactlyOnePrefixedLineToFd2) {
  StderrCapture cap;
  hk_report("bad free of %p (size %zu) in thread %d", reinterpret_cast<void *>(0x10), static_cast<size_t>(32), 3);
  EXPECT_EQ(cap.Finish(), "hakmem: bad free of 0x10 (size 32) in thread 3\n");
}

TEST(Report, EmptyMessageAndSeveralLines) {
  StderrCapture cap;
  hk_report("%s", "");
  hk_report("one");
  hk_report("two %u", 2u);
  EXPECT_EQ(cap.Finish(), "hakmem: \nhakmem: one\nhakmem: two 2\n");
}

TEST(Report, LongMessagesAreTruncatedToOneLine) {
  std::string msg(4 * HAK_REPORT_MAX, 'x');
  StderrCapture cap;
  hk_report("%s", msg.c_str());
  std::string out = cap.Finish();
  const std::string prefix = "hakmem: ";
  ASSERT_LE(out.size(), static_cast<size_t>(HAK_REPORT_MAX));
  ASSERT_GE(out.size(), static_cast<size_t>(HAK_REPORT_MAX) - 1);  // uses the whole line
  EXPECT_EQ(out.substr(0, prefix.size()), prefix);
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.substr(prefix.size(), out.size() - prefix.size() - 1),
            std::string(out.size() - prefix.size() - 1, 'x'));
}

TEST(Report, PreservesErrno) {
  {
    StderrCapture cap;
    errno = EDOM;
    hk_report("errno test %d", 1);
    EXPECT_EQ(errno, EDOM);
    EXPECT_EQ(cap.Finish(), "hakmem: errno test 1\n");
  }
  // Also when the write itself fails (fd 2 closed: EBADF inside hk_report).
  int saved = dup(2);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(close(2), 0);
  errno = ERANGE;
  hk_report("nobody hears this");
  const int after = errno;
  ASSERT_EQ(dup2(saved, 2), 2);
  close(saved);
  EXPECT_EQ(after, ERANGE);
}

// hk_report is async-signal-safe: call it from a signal handler (raise() runs
// the handler synchronously on this thread).
volatile sig_atomic_t g_handler_errno = 0;
volatile sig_atomic_t g_handler_ran = 0;

void ReportingHandler(int sig) {
  const int saved = errno;  // a handler must leave errno as it found it
  errno = EILSEQ;
  hk_report("signal %d at %p", sig, reinterpret_cast<void *>(0xfeed));
  g_handler_errno = errno;  // hk_report itself preserved EILSEQ
  g_handler_ran = 1;
  errno = saved;
}

TEST(Report, UsableFromASignalHandler) {
  struct sigaction sa, old;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = ReportingHandler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  std::string out;
  {
    StderrCapture cap;
    errno = E2BIG;
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(errno, E2BIG);
    out = cap.Finish();
  }
  ASSERT_EQ(sigaction(SIGUSR1, &old, nullptr), 0);
  EXPECT_EQ(g_handler_ran, 1);
  EXPECT_EQ(g_handler_errno, EILSEQ);
  EXPECT_EQ(out, "hakmem: signal " + std::to_string(SIGUSR1) + " at 0xfeed\n");
}

// Death tests. gtest's default "fast" style fork()s the test process. Under
// TSan the "threadsafe" style (fork + re-exec of the test binary, running only
// the death statement) is used instead, so a death test never depends on the
// TSan runtime surviving a fork() of a process that has (or had) other
// threads; "fast" happens to work for this binary today, but that is not
// something TSan promises. Everywhere else "fast" is kept on purpose: under
// qemu-user (--config=aarch64) a re-exec of the aarch64 binary from inside
// the guest would fail (no binfmt_misc here).
class Fatal : public ::testing::Test {
 protected:
  void SetUp() override {
#if defined(__SANITIZE_THREAD__)
    GTEST_FLAG_SET(death_test_style, "threadsafe");
#endif
  }
};

// In the child: no core file (abort() would dump one; qemu-user writes its
// own qemu_*.core next to the test otherwise).
void NoCoreDump() {
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl);
}

TEST_F(Fatal, PrintsThenAborts) {
  EXPECT_EXIT(
      {
        NoCoreDump();
        hk_fatal("invalid free of %p (size %zu)", reinterpret_cast<void *>(0x1234), static_cast<size_t>(16));
      },
      ::testing::KilledBySignal(SIGABRT), "hakmem: invalid free of 0x1234 \\(size 16\\)\n");
}

TEST_F(Fatal, DeathWithMessageRegex) {
  EXPECT_DEATH(
      {
        NoCoreDump();
        hk_fatal("double free detected: block %p class %u", reinterpret_cast<void *>(0xbeef0), 7u);
      },
      "^hakmem: double free detected: block 0xbeef0 class 7\n");
}

}  // namespace
