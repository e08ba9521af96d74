/* SPDX-License-Identifier: BSD-2-Clause */
/* Incremental, fail-fast UTF-8 validator (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). State carries across calls, so a text
 * message can be checked frame by frame and chunk by chunk as it arrives, and
 * the first invalid byte is reported at once, not at the end of the message. */
#ifndef BACTRIAN_BACKEND_WS_UTF8_H
#define BACTRIAN_BACKEND_WS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* A DFA state: 0 = between code points (accepting). */
struct be_utf8 {
    uint8_t state;
};

static inline void be_utf8_init(struct be_utf8 *u)
{
    u->state = 0;
}

/* Feeds bytes. Returns 0 while the input is valid so far, -1 on the first
 * invalid byte (the state then stays failed). */
int be_utf8_feed(struct be_utf8 *u, const uint8_t *p, size_t n);

/* True when the input so far ends on a code point boundary (a message may end). */
static inline int be_utf8_complete(const struct be_utf8 *u)
{
    return u->state == 0;
}

/* One-shot check of a whole buffer. */
int be_utf8_valid(const uint8_t *p, size_t n);

#endif
