/* SPDX-License-Identifier: BSD-2-Clause */
/* RFC 6455 frame layer: an incremental parser that takes bytes as they arrive
 * (any split point) and a frame header encoder.
 *
 * The parser checks every rule that can be decided from frame headers alone
 * (masking, RSV bits, opcodes, control-frame rules, fragmentation order, the
 * frame size limit) and reports a close code on the first violation. Payload
 * is unmasked in place and handed out in chunks as it arrives, so a caller
 * never has to buffer a whole frame. UTF-8 and message-level limits are the
 * session's job. */
#ifndef BACTRIAN_BACKEND_WS_FRAME_H
#define BACTRIAN_BACKEND_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum be_ws_opcode {
    BE_WS_OP_CONT = 0x0,
    BE_WS_OP_TEXT = 0x1,
    BE_WS_OP_BINARY = 0x2,
    BE_WS_OP_CLOSE = 0x8,
    BE_WS_OP_PING = 0x9,
    BE_WS_OP_PONG = 0xA,
};

#define BE_WS_RSV1 0x4
#define BE_WS_RSV2 0x2
#define BE_WS_RSV3 0x1

/* Close codes used by the engine (RFC 6455 section 7.4.1). */
enum be_ws_close_code {
    BE_WS_CLOSE_NORMAL = 1000,
    BE_WS_CLOSE_GOING_AWAY = 1001,
    BE_WS_CLOSE_PROTOCOL = 1002,
    BE_WS_CLOSE_UNSUPPORTED = 1003,
    BE_WS_CLOSE_NO_STATUS = 1005,
    BE_WS_CLOSE_ABNORMAL = 1006,
    BE_WS_CLOSE_BAD_DATA = 1007,
    BE_WS_CLOSE_POLICY = 1008,
    BE_WS_CLOSE_TOO_BIG = 1009,
    BE_WS_CLOSE_EXTENSION = 1010,
    BE_WS_CLOSE_INTERNAL = 1011,
};

enum be_ws_event_type {
    BE_WS_EV_NONE = 0,    /* all input consumed, nothing complete yet */
    BE_WS_EV_FRAME_START, /* header parsed and valid: ev->hdr is set */
    BE_WS_EV_PAYLOAD,     /* ev->data/ev->len: unmasked payload bytes of the current frame */
    BE_WS_EV_FRAME_END,   /* the current frame's payload is complete */
    BE_WS_EV_ERROR,       /* protocol violation: ev->close_code, ev->reason; parser is dead */
};

struct be_ws_frame_hdr {
    unsigned fin : 1;
    unsigned masked : 1;
    unsigned rsv : 3; /* RSV1 = 4, RSV2 = 2, RSV3 = 1 */
    unsigned opcode : 4;
    uint8_t mask[4];
    uint64_t len;
    /* For data frames: the opcode of the message this frame belongs to (TEXT
     * or BINARY, also on continuations), and whether it starts / ends it. */
    uint8_t msg_opcode;
    unsigned msg_first : 1;
    unsigned msg_last : 1;
    unsigned msg_rsv1 : 1; /* RSV1 of the message's first frame (compressed) */
};

struct be_ws_event {
    enum be_ws_event_type type;
    const struct be_ws_frame_hdr *hdr; /* valid for START, PAYLOAD and END */
    uint8_t *data;
    size_t len;
    uint16_t close_code;
    const char *reason;
};

struct be_ws_parser {
    /* settings */
    uint8_t allowed_rsv;  /* RSV bits a negotiated extension allows (RSV1 for deflate) */
    uint8_t expect_mask;  /* 1 on a server (client frames must be masked), 0 on a client */
    uint64_t max_frame;   /* 0 = no limit; larger frames fail with 1009 */
    /* state */
    uint8_t state;
    uint8_t hlen;         /* header bytes collected */
    uint8_t hneed;        /* header bytes needed so far */
    uint8_t hbuf[14];
    uint8_t msg_opcode;   /* data message in progress (0 = none) */
    uint8_t msg_rsv1;
    uint64_t left;        /* payload bytes left in the current frame */
    uint32_t mask_off;    /* position in the mask for the next payload byte */
    struct be_ws_frame_hdr hdr;
};

enum { BE_WS_PARSE_HDR = 0, BE_WS_PARSE_PAYLOAD, BE_WS_PARSE_END, BE_WS_PARSE_DEAD };

/* True after a protocol error: the stream cannot be parsed any further. */
static inline int be_ws_parser_failed(const struct be_ws_parser *p)
{
    return p->state == BE_WS_PARSE_DEAD;
}

/* True between frames (no partial header or payload pending). */
static inline int be_ws_parser_idle(const struct be_ws_parser *p)
{
    return p->state == BE_WS_PARSE_HDR && p->hlen == 0;
}

/* expect_mask: 1 for a server. allowed_rsv: BE_WS_RSV1 when permessage-deflate
 * was negotiated, else 0. max_frame: 0 for no limit. */
void be_ws_parser_init(struct be_ws_parser *p, int expect_mask, uint8_t allowed_rsv,
                       uint64_t max_frame);

/* Consumes bytes from data[0..len) until one event is complete, and returns
 * how many were consumed (possibly 0 for FRAME_END of an empty frame or after
 * an error). Payload is unmasked in place, which is why data is not const.
 * Call again with the rest until it returns BE_WS_EV_NONE with everything
 * consumed. */
size_t be_ws_parse(struct be_ws_parser *p, uint8_t *data, size_t len, struct be_ws_event *ev);

/* XORs data with the 4-byte mask starting at mask position off (0..3). */
void be_ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], size_t off);

/* Writes a frame header into out (up to 14 bytes) and returns its length.
 * rsv is RSV bits as in be_ws_frame_hdr; mask NULL = unmasked (server). */
size_t be_ws_frame_hdr_encode(uint8_t *out, int fin, int rsv, int opcode, uint64_t len,
                              const uint8_t *mask);

/* True for close codes a peer may send on the wire (RFC 6455 7.4 + IANA). */
int be_ws_close_code_valid(unsigned code);

#endif
