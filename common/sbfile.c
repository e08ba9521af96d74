/* SPDX-License-Identifier: BSD-2-Clause */
/* The scoreboard file format: the reader's checks; see sbfile.h. Also
 * compiled into the status module, which links nothing else of ours. */
#include <string.h>

#include "common/sbfile.h"

const char *bx_sbfile_check(const void *map, size_t size, struct bx_sb_header *out)
{
    struct bx_sb_header h;
    memset(out, 0, sizeof *out);
    if (!map || size < sizeof h)
        return "file too short for a scoreboard header";
    memcpy(&h, map, sizeof h); /* one copy: the writer may change it meanwhile */
    if (h.magic != BX_SB_MAGIC)
        return "not a scoreboard file (magic)";
    if (h.version != BX_SB_VERSION)
        return "scoreboard of another version";
    if (h.header_size < sizeof h || h.slot_size < sizeof(struct bx_sb_slot) || h.header_size > size)
        return "scoreboard header or slot size out of range";
    if (h.nslots > (size - h.header_size) / h.slot_size)
        return "scoreboard slot count exceeds the file size";
    *out = h;
    return NULL;
}

const struct bx_sb_slot *bx_sbfile_slot(const void *map, const struct bx_sb_header *h, size_t i)
{
    return (const struct bx_sb_slot *)((const char *)map + h->header_size + i * h->slot_size);
}

const char *bx_sb_state_name(int state)
{
    static const char *const names[BX_SB_NSTATES] = {"free",     "starting",  "idle",
                                                     "retiring", "handshake", "relay"};
    return state >= 0 && state < BX_SB_NSTATES ? names[state] : "?";
}

/* The header, with the pool table, stays in one page of the smallest size
 * (4 KiB): children map it read-only as one page, and readers of version 2
 * knew it as one page. */
_Static_assert(sizeof(struct bx_sb_header) <= 4096, "the scoreboard header outgrew a page");
