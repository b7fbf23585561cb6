/* tests/fault/fault_support.c — see fault_support.h. */
#include "tests/fault/fault_support.h"

#include "hakmem/segment/segment.h"

int hkt_fault_seg_check(void) { return hk_seg_check(); }
