/* A shared library loaded with dlopen() by lifecycle_test: it allocates in
 * its constructor and hands blocks back and forth with the main program. */
#include <stdlib.h>
#include <string.h>

static char *g_ctor_block;

__attribute__((constructor)) static void plugin_init(void) {
  g_ctor_block = malloc(100);
  if (g_ctor_block) strcpy(g_ctor_block, "plugin constructor");
}

__attribute__((visibility("default"))) char *plugin_ctor_block(void) { return g_ctor_block; }
__attribute__((visibility("default"))) void *plugin_alloc(size_t n) { return malloc(n); }
__attribute__((visibility("default"))) void plugin_free(void *p) { free(p); }
