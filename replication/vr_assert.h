/*
 * vr_assert.h — ASSERT: always on (ignores NDEBUG), prints file:line and the
 * expression, then aborts. A failed ASSERT is a bug in vrfs, never bad input:
 * bytes from the network or the disk are checked with `if`, not asserted on.
 */
#ifndef VR_ASSERT_H
#define VR_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

#define ASSERT(expr)                                                                                                   \
	do {                                                                                                           \
		if (!(expr)) {                                                                                         \
			fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #expr);                   \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

#endif
