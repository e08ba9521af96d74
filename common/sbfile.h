/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend scoreboard file (frontend.scoreboard_file): its on-disk
 * format, shared by the frontend that writes it and the readers (the
 * backend's status module). Nothing else of the frontend is in it.
 *
 * Layout, version 2, native byte order (reader and writer run on one host):
 *
 *   offset 0            struct bx_sb_header, padded to header_size bytes
 *   header_size + i * slot_size   struct bx_sb_slot of slot i, padded to
 *                                 slot_size bytes, for i < nslots
 *
 * header_size and slot_size are the page size of the writer: each slot has
 * pages of its own so that a frontend child can map only its own slot
 * writable and the header and the other slots read-only. The file is
 * exactly header_size + nslots * slot_size bytes.
 *
 * Trust: the header is written by the frontend master only. Slot i is
 * written by the child in it (state, client, counters, names), so a reader
 * treats every slot field as untrusted data: texts are not terminated,
 * states may be out of range. bx_sbfile_check() validates the header
 * against the file size before any slot is read.
 *
 * Version history: 1 had 64-byte header and packed slots, the per-IP lock,
 * idle count and connection counter in the header; 2 moved those out of
 * the file and gave the header and every slot their own pages; 3 added
 * the backend pool (struct bx_sb_pool in the header) and each slot's
 * backend member and failure report. */
#ifndef BACTRIAN_COMMON_SBFILE_H
#define BACTRIAN_COMMON_SBFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BX_SB_MAGIC 0x42535842u /* "BXSB" in little-endian memory */
#define BX_SB_VERSION 3u

enum bx_sb_state {
    BX_SB_FREE = 0,   /* no process */
    BX_SB_STARTING,   /* forked, not yet waiting in accept */
    BX_SB_IDLE,       /* waiting in accept */
    BX_SB_RETIRING,   /* idle, asked to exit by the master */
    BX_SB_HANDSHAKE,  /* accepted: PROXY header, TLS handshake, first request */
    BX_SB_RELAY,      /* relaying to the backend */
    BX_SB_NSTATES
};

/* The backend pool (frontend/pool.h): one entry per distinct backend of
 * the running configuration, written by the master only (children and
 * readers map it read-only). Sized so that the header stays in one page. */
#define BX_SB_POOL_MAX 32
enum bx_sb_member_state { BX_SB_MEMBER_UP = 0, BX_SB_MEMBER_DOWN = 1 };

struct bx_sb_member {
    char addr[80];              /* "tcp:10.0.0.2:8080", "unix:/path" (cut), terminated */
    uint32_t state;             /* enum bx_sb_member_state, accessed atomically */
    uint32_t conns;             /* relays to it, as last counted by the master */
    uint64_t failures;          /* failed connects (reported by children, confirmed by a
                                 * probe) and failed probes */
    uint64_t since_ms;          /* when it went up or down (monotonic ms) */
};

struct bx_sb_pool {
    uint32_t nmembers;          /* <= BX_SB_POOL_MAX */
    uint32_t generation;        /* the reload generation whose config it describes */
    struct bx_sb_member m[BX_SB_POOL_MAX];
};

struct bx_sb_header {
    uint32_t magic;             /* BX_SB_MAGIC, written last */
    uint32_t version;           /* BX_SB_VERSION */
    uint32_t header_size;       /* offset of slot 0, >= sizeof(struct bx_sb_header) */
    uint32_t slot_size;         /* stride of the slots, >= sizeof(struct bx_sb_slot) */
    uint64_t nslots;
    int32_t master_pid;
    uint32_t boot_id;           /* first half of every connection id */
    unsigned log_seq;           /* bumped on USR1: children reopen their log */
    struct bx_sb_pool pool;
};

struct bx_sb_slot {
    int state;                  /* enum bx_sb_state, accessed atomically */
    pid_t pid;                  /* written by the master, for display only */
    unsigned generation;        /* reload generation that forked it (display only) */
    uint64_t started_ms;        /* child start (monotonic ms) */
    uint64_t client_ms;         /* when the current client was accepted */
    uint64_t bytes_in, bytes_out;
    unsigned char family;       /* AF_INET / AF_INET6 / 0 */
    unsigned char addr[16];     /* client address (IPv4 in the first 4 bytes) */
    uint16_t port;
    char vhost[64];             /* not necessarily terminated */
    char conn_id[24];           /* not necessarily terminated */
    /* The backend pool member relayed to (1 + its index in the header's
     * pool, 0: none), and the last one a connect to failed (fail_seq counts
     * the reports): data the master acts on only after its own probe. */
    uint32_t member, fail_member, fail_seq;
};

/* Checks a mapping of size bytes holding a scoreboard file: magic, version,
 * header and slot sizes, and that nslots slots fit in size (no overflow).
 * Returns NULL when slots 0..out->nslots-1 are safe to read, else why not.
 * out gets the header as checked: use it, not the mapping, from then on
 * (whoever can write the file could change the mapping after the check). */
const char *bx_sbfile_check(const void *map, size_t size, struct bx_sb_header *out);

/* Slot i (< h->nslots) of a mapping checked into h. */
const struct bx_sb_slot *bx_sbfile_slot(const void *map, const struct bx_sb_header *h, size_t i);

/* "idle", "relay", ... or "?" for a value out of range. */
const char *bx_sb_state_name(int state);

#endif
