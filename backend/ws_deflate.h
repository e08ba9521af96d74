/* SPDX-License-Identifier: BSD-2-Clause */
/* RFC 7692 permessage-deflate: negotiation of the four parameters from a
 * client's Sec-WebSocket-Extensions offers, and per-message compression with
 * zlib raw deflate (sync-flush tail removed on send, appended on receive).
 *
 * Memory per connection is what makes or breaks compression on a busy server:
 * zlib's defaults (window 15, memLevel 8) cost about 256 KiB to compress and
 * 40 KiB to inflate. The presets trade ratio for memory; "low" keeps no
 * per-connection state at all between messages (no context takeover either
 * way: the compressor is shared by the worker and the inflater is freed after
 * each message). */
#ifndef BACTRIAN_BACKEND_WS_DEFLATE_H
#define BACTRIAN_BACKEND_WS_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

/* What the server is willing to do. */
struct be_ws_pmd_policy {
    uint8_t server_max_wbits;  /* 9..15: largest window the server compresses with */
    uint8_t client_max_wbits;  /* 9..15: window asked of clients that accept the parameter */
    uint8_t mem_level;         /* 1..9 */
    uint8_t level;             /* zlib compression level 1..9 */
    uint8_t server_no_context; /* always answer server_no_context_takeover */
    uint8_t client_no_context; /* always answer client_no_context_takeover */
};

/* What was agreed for one connection. */
struct be_ws_pmd_params {
    uint8_t server_wbits;      /* 8..15; 8 = Huffman-only compression (no back-references) */
    uint8_t client_wbits;      /* 8..15: window the client compresses with (we inflate with) */
    uint8_t server_no_context;
    uint8_t client_no_context;
    uint8_t mem_level;
    uint8_t level;
};

/* Fills a policy from a preset name: "max" (zlib defaults, ~300 KiB per
 * connection), "balanced" (window 2^13, memLevel 6) or "low" (no context
 * takeover either way, nothing kept between messages). 0, or -1 if unknown. */
int be_ws_pmd_preset(const char *name, struct be_ws_pmd_policy *pol);

/* Negotiates from the offers in a Sec-WebSocket-Extensions value (several
 * header lines joined with ", "). Offers are tried in the client's order of
 * preference; one with an unknown, duplicated or out-of-range parameter is
 * declined and the next one tried. Returns 1 and fills out and the response
 * extension text (for the 101) when one was accepted, 0 when none was (or the
 * header could not be parsed: extensions are then simply not used). */
int be_ws_pmd_negotiate(const char *hdr, size_t len, const struct be_ws_pmd_policy *pol,
                        struct be_ws_pmd_params *out, char *resp, size_t resplen);

/* Compressing a big message that does not shrink (media, encrypted or
 * already compressed data) costs about 24 ms per MiB at any zlib level, and
 * every later frame of the session, a close reply too, waits for it. Such a
 * message is sent uncompressed instead (RFC 7692 6.1 allows it per message,
 * and it leaves both windows alone): true when three samples of
 * BE_WS_PROBE_SAMPLE bytes (start, middle, end) of a message of at least
 * BE_WS_PROBE_MIN bytes shrink by less than 1/32 at level 1, which costs
 * about 0.3 ms. */
#define BE_WS_PROBE_MIN (64 * 1024)
#define BE_WS_PROBE_SAMPLE 4096
bool be_ws_incompressible(const uint8_t *p, size_t n);

/* Collects output; compressed and inflated bytes are appended to it. */
typedef int (*be_ws_sink_fn)(void *ctx, const uint8_t *p, size_t n);

struct be_ws_deflater {
    z_stream z;
    uint8_t ready;
    uint8_t no_context;
};

/* wbits 8 selects Huffman-only coding with zlib's smallest window (9), which
 * honours an 8-bit window since it emits no back-references. */
int be_ws_deflater_init(struct be_ws_deflater *d, int wbits, int mem_level, int level,
                        int no_context);
void be_ws_deflater_free(struct be_ws_deflater *d);
/* Compresses part of a message. final = last part: flushes, drops the
 * 00 00 ff ff tail and (without context takeover) resets the stream. Output
 * goes to sink in pieces. Returns 0, or -1 on a zlib error or a sink error. */
int be_ws_deflate(struct be_ws_deflater *d, const uint8_t *in, size_t n, int final,
                  be_ws_sink_fn sink, void *ctx);

struct be_ws_inflater {
    z_stream z;
    uint8_t ready;
    uint8_t no_context;
    uint8_t ended;       /* the peer's stream had BFINAL: ignore the rest of the message */
    uint8_t wbits;
    uint64_t msg_out;    /* bytes inflated in the current message */
};

enum {
    BE_WS_INFLATE_OK = 0,
    BE_WS_INFLATE_BAD = -1,
    BE_WS_INFLATE_TOO_BIG = -2,
    BE_WS_INFLATE_SINK = -3
};

void be_ws_inflater_init(struct be_ws_inflater *f, int wbits, int no_context);
void be_ws_inflater_free(struct be_ws_inflater *f);
/* Inflates part of a compressed message. final = last part: the sync tail is
 * appended, and without context takeover the zlib state is released. Fails
 * with BE_WS_INFLATE_TOO_BIG as soon as the message's inflated size would
 * pass cap (0 = no cap), so a zip bomb costs at most cap bytes of work. */
int be_ws_inflate(struct be_ws_inflater *f, const uint8_t *in, size_t n, int final, uint64_t cap,
                  be_ws_sink_fn sink, void *ctx);

/* Hand-off (ws_handoff.c). Between two messages, with context takeover, the
 * last 2^wbits bytes of a direction's uncompressed data are all the state a
 * raw stream carries into the next message: the window. zlib already keeps it
 * (no copy is made while a session runs); these read it out of a stream
 * (into out, up to cap bytes, returning how many; 0 when there is none: no
 * context takeover, Huffman-only, or nothing sent yet) and prime a fresh
 * stream with it (0, or -1 on a zlib error). */
size_t be_ws_deflater_window(struct be_ws_deflater *d, uint8_t *out, size_t cap);
int be_ws_deflater_prime(struct be_ws_deflater *d, const uint8_t *dict, size_t n);
size_t be_ws_inflater_window(struct be_ws_inflater *f, uint8_t *out, size_t cap);
int be_ws_inflater_prime(struct be_ws_inflater *f, const uint8_t *dict, size_t n);

/* Bytes zlib allocates for a compressor / inflater with these parameters
 * (zlib's documented formulas plus its state structs). */
size_t be_ws_deflate_mem(int wbits, int mem_level);
size_t be_ws_inflate_mem(int wbits);

#endif
