/* tests/fuzz/fuzz_support.c — see fuzz_support.h. */
#include "tests/fuzz/fuzz_support.h"

#include "hakmem/segment/segment.h"

int hkt_fuzz_seg_check(void) { return hk_seg_check(); }
