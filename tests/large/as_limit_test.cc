// Under an address-space limit of 64 MiB (ulimit -v 65536, set with
// setrlimit(RLIMIT_AS) in a child that then runs a small helper), HAKMEM fits
// at least 90% of the 1 MiB blocks glibc fits (no 2 MiB over-reservation per
// block), fails past the limit with ENOMEM, and after the frees fits them
// again.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace {

std::string Runfile(const char* rel) {
  const char* dir = getenv("TEST_SRCDIR");
  const char* ws = getenv("TEST_WORKSPACE");
  return std::string(dir ? dir : ".") + "/" + (ws ? ws : "hakmem") + "/" + rel;
}

struct Result {
  long fit = -1, err = -1, again = -1;
};

// Runs helper with RLIMIT_AS = limit; parses its one line.
Result RunLimited(const std::string& helper, rlim_t limit) {
  Result r;
  int fd[2];
  if (pipe(fd) != 0) return r;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd[1], 1);
    close(fd[0]);
    close(fd[1]);
    struct rlimit rl = {limit, limit};
    if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(3);
    execl(helper.c_str(), helper.c_str(), static_cast<char*>(nullptr));
    _exit(4);
  }
  close(fd[1]);
  char buf[256] = {};
  size_t got = 0;
  ssize_t n;
  while (got < sizeof(buf) - 1 && (n = read(fd[0], buf + got, sizeof(buf) - 1 - got)) > 0) got += static_cast<size_t>(n);
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return r;
  sscanf(buf, "fit=%ld err=%ld again=%ld", &r.fit, &r.err, &r.again);
  return r;
}

TEST(AsLimitTest, OneMiBBlocksUnderUlimitV65536) {
  if (getenv("HAKMEM_RUN_UNDER") != nullptr) GTEST_SKIP() << "the helpers would run under an emulator (QEMU)";
  const rlim_t limit = rlim_t{65536} * 1024;
  Result g = RunLimited(Runfile("tests/large/as_limit_glibc"), limit);
  Result h = RunLimited(Runfile("tests/large/as_limit_hakmem"), limit);
  printf("ulimit -v 65536, 1 MiB blocks: glibc fit %ld (again %ld), hakmem fit %ld (again %ld, errno %ld)\n", g.fit,
         g.again, h.fit, h.again, h.err);
  ASSERT_GT(g.fit, 10) << "the glibc helper did not run under the limit";
  ASSERT_GE(h.fit, 0) << "the hakmem helper did not run under the limit";
  EXPECT_GE(h.fit * 10, g.fit * 9) << "HAKMEM fits " << h.fit << " 1 MiB blocks, glibc " << g.fit;
  EXPECT_EQ(h.err, ENOMEM) << "past the limit: NULL with ENOMEM";
  EXPECT_EQ(h.again, h.fit) << "after the frees the same number fits again";
}

}  // namespace
