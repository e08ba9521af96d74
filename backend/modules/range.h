/* SPDX-License-Identifier: BSD-2-Clause */
/* HTTP Range (RFC 9110 14.1.2) for one representation of known size: parse,
 * clamp, sort and merge, independent of the module that sends the bytes, so
 * it can be unit-tested and fuzzed on its own. */
#ifndef BACTRIAN_BACKEND_MODULES_RANGE_H
#define BACTRIAN_BACKEND_MODULES_RANGE_H

#include <sys/types.h>

/* At most this many byte-range-specs in one header; more and the header is
 * ignored (the whole representation with 200, as nginx's max_ranges and
 * Apache's MaxRanges do), so no request buys more than this many parts. */
#define BE_RANGE_MAX 16

struct be_range {
    off_t first, last; /* inclusive, 0 <= first <= last < size */
};

/* Parses a Range value for a representation of size bytes. Returns the number
 * of ranges to send in out[0..n) (at most BE_RANGE_MAX), in ascending order with
 * overlapping and adjacent ones merged (so they never add up past size and no
 * byte is sent twice); 0 when none is satisfiable (416); -1 when the header is
 * to be ignored: not "bytes=", bad syntax, or more than BE_RANGE_MAX specs. */
int be_range_parse(const char *h, off_t size, struct be_range *out);

#endif
