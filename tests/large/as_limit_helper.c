/* tests/large/as_limit_helper.c — run by as_limit_test under an
 * address-space limit (RLIMIT_AS): takes 1 MiB blocks (one byte touched)
 * until malloc returns NULL, frees them all, takes them again, and prints
 * "fit=N err=E again=M" (E: errno of the failure). Built twice: with HAKMEM's
 * malloc and with glibc's. No allocation before the measurement but its own;
 * the block list is static. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_BLOCKS 4096

static void *g_blocks[MAX_BLOCKS];

int main(void) {
  size_t fit = 0, again = 0;
  int err = 0;
  while (fit < MAX_BLOCKS) {
    errno = 0;
    char *p = malloc((size_t)1 << 20);
    if (p == NULL) {
      err = errno;
      break;
    }
    p[0] = 1;
    g_blocks[fit++] = p;
  }
  for (size_t i = 0; i < fit; i++) free(g_blocks[i]);
  while (again < fit) {
    char *p = malloc((size_t)1 << 20);
    if (p == NULL) break;
    p[0] = 1;
    g_blocks[again++] = p;
  }
  for (size_t i = 0; i < again; i++) free(g_blocks[i]);
  printf("fit=%zu err=%d again=%zu\n", fit, err, again);
  return 0;
}
