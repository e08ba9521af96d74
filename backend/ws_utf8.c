/* SPDX-License-Identifier: BSD-2-Clause */
/* UTF-8 validation as a 9-state DFA over 12 byte classes (see ws_utf8.h).
 * States: 0 accept; 1-3 expect 1-3 more continuation bytes (80..BF); 4 after
 * E0 (next A0..BF, no overlong); 5 after ED (next 80..9F, no surrogates);
 * 6 after F0 (next 90..BF, no overlong); 7 after F4 (next 80..8F, max
 * U+10FFFF); 8 reject. */
#include "config.h"

#include <string.h>

#include "backend/ws_utf8.h"

enum { REJECT = 8 };

static const uint8_t byte_class[256] = {
    [0x00 ... 0x7f] = 0, [0x80 ... 0x8f] = 1, [0x90 ... 0x9f] = 2, [0xa0 ... 0xbf] = 3,
    [0xc0 ... 0xc1] = 4, [0xc2 ... 0xdf] = 5, [0xe0] = 6,          [0xe1 ... 0xec] = 7,
    [0xed] = 8,          [0xee ... 0xef] = 7, [0xf0] = 9,          [0xf1 ... 0xf3] = 10,
    [0xf4] = 11,         [0xf5 ... 0xff] = 4,
};

#define R REJECT
static const uint8_t next_state[9][12] = {
    /*        asc 80  90  A0  bad C2  E0  E1  ED  F0  F1  F4 */
    /* 0 */ {0, R, R, R, R, 1, 4, 2, 5, 6, 3, 7},
    /* 1 */ {R, 0, 0, 0, R, R, R, R, R, R, R, R},
    /* 2 */ {R, 1, 1, 1, R, R, R, R, R, R, R, R},
    /* 3 */ {R, 2, 2, 2, R, R, R, R, R, R, R, R},
    /* 4 */ {R, R, R, 1, R, R, R, R, R, R, R, R},
    /* 5 */ {R, 1, 1, R, R, R, R, R, R, R, R, R},
    /* 6 */ {R, R, 2, 2, R, R, R, R, R, R, R, R},
    /* 7 */ {R, 2, R, R, R, R, R, R, R, R, R, R},
    /* 8 */ {R, R, R, R, R, R, R, R, R, R, R, R},
};
#undef R

int be_utf8_feed(struct be_utf8 *u, const uint8_t *p, size_t n)
{
    uint8_t s = u->state;
    size_t i = 0;
    while (i < n) {
        if (s == 0) {
            /* Text is mostly ASCII: skip it eight bytes at a time. */
            while (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            if (i == n)
                break;
        }
        s = next_state[s][byte_class[p[i++]]];
        if (s == REJECT) {
            u->state = REJECT;
            return -1;
        }
    }
    u->state = s;
    return 0;
}

int be_utf8_valid(const uint8_t *p, size_t n)
{
    struct be_utf8 u;
    be_utf8_init(&u);
    return be_utf8_feed(&u, p, n) == 0 && be_utf8_complete(&u);
}
