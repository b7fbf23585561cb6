// tests/policy/policy_env.h — shared by the policy tests: builds a policy
// snapshot from an explicit environment and captures what the policy box
// writes on stderr while doing so.
#ifndef HAKMEM_TESTS_POLICY_POLICY_ENV_H
#define HAKMEM_TESTS_POLICY_POLICY_ENV_H

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "hakmem/policy/policy.h"

namespace hakmem_test {

// What fn writes on fd 2 (short outputs: the pipe is read afterwards).
template <typename Fn>
std::string CaptureStderr(Fn fn) {
  fflush(stderr);
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  int saved = dup(2);
  dup2(fds[1], 2);
  close(fds[1]);
  fn();
  dup2(saved, 2);
  close(saved);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  return out;
}

// hk_policy_load over env ("NAME=value" strings); *err gets its warnings.
inline hk_policy_t Load(std::vector<std::string> env, std::string* err = nullptr) {
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  hk_policy_t p;
  std::string e = CaptureStderr([&] { hk_policy_load(&p, envp.data()); });
  if (err) *err = e;
  return p;
}

}  // namespace hakmem_test

#endif  // HAKMEM_TESTS_POLICY_POLICY_ENV_H
