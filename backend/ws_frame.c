/* SPDX-License-Identifier: BSD-2-Clause */
/* RFC 6455 incremental frame parser and header encoder (see ws_frame.h). */
#include "config.h"

#include <string.h>

#include "backend/ws_frame.h"

enum {
    ST_HDR = BE_WS_PARSE_HDR,
    ST_PAYLOAD = BE_WS_PARSE_PAYLOAD,
    ST_END = BE_WS_PARSE_END,
    ST_DEAD = BE_WS_PARSE_DEAD
};

void be_ws_parser_init(struct be_ws_parser *p, int expect_mask, uint8_t allowed_rsv,
                       uint64_t max_frame)
{
    memset(p, 0, sizeof(*p));
    p->expect_mask = expect_mask ? 1 : 0;
    p->allowed_rsv = allowed_rsv & 7;
    p->max_frame = max_frame;
    p->state = ST_HDR;
    p->hneed = 2;
}

void be_ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], size_t off)
{
    uint8_t m[8];
    for (int i = 0; i < 8; i++)
        m[i] = mask[(off + (size_t)i) & 3];
    size_t i = 0;
    /* Word at a time; the rotated mask makes the word phase-independent. */
    if (len >= 16) {
        uint64_t mw;
        memcpy(&mw, m, 8);
        for (; i + 8 <= len; i += 8) {
            uint64_t w;
            memcpy(&w, data + i, 8);
            w ^= mw;
            memcpy(data + i, &w, 8);
        }
    }
    for (; i < len; i++)
        data[i] ^= m[i & 7];
}

size_t be_ws_frame_hdr_encode(uint8_t *out, int fin, int rsv, int opcode, uint64_t len,
                              const uint8_t *mask)
{
    size_t n = 0;
    out[n++] = (uint8_t)((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f));
    uint8_t mbit = mask ? 0x80 : 0;
    if (len < 126) {
        out[n++] = (uint8_t)(mbit | len);
    } else if (len <= 0xffff) {
        out[n++] = mbit | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = mbit | 127;
        for (int s = 56; s >= 0; s -= 8)
            out[n++] = (uint8_t)(len >> s);
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

int be_ws_close_code_valid(unsigned code)
{
    if (code >= 1000 && code <= 1003)
        return 1;
    if (code >= 1007 && code <= 1014) /* 1012-1014 are IANA-registered */
        return 1;
    return code >= 3000 && code <= 4999;
}

static size_t fail(struct be_ws_parser *p, struct be_ws_event *ev, uint16_t code,
                   const char *reason)
{
    p->state = ST_DEAD;
    ev->type = BE_WS_EV_ERROR;
    ev->close_code = code;
    ev->reason = reason;
    return 0;
}

/* Header bytes needed once the first two are known. */
static uint8_t header_size(const uint8_t *h)
{
    uint8_t n = 2;
    uint8_t l7 = h[1] & 0x7f;
    if (l7 == 126)
        n += 2;
    else if (l7 == 127)
        n += 8;
    if (h[1] & 0x80)
        n += 4;
    return n;
}

/* Rules decidable from the first two bytes; fails before the rest arrives. */
static size_t check_first_bytes(struct be_ws_parser *p, struct be_ws_event *ev)
{
    uint8_t b0 = p->hbuf[0], b1 = p->hbuf[1];
    unsigned fin = b0 >> 7, rsv = (b0 >> 4) & 7, op = b0 & 0x0f;
    int control = op & 0x8;
    if (op != BE_WS_OP_CONT && op != BE_WS_OP_TEXT && op != BE_WS_OP_BINARY &&
        op != BE_WS_OP_CLOSE && op != BE_WS_OP_PING && op != BE_WS_OP_PONG)
        return fail(p, ev, BE_WS_CLOSE_PROTOCOL, "reserved opcode");
    if (rsv & ~p->allowed_rsv)
        return fail(p, ev, BE_WS_CLOSE_PROTOCOL, "reserved bits set");
    /* permessage-deflate: RSV1 only on the first frame of a data message. */
    if ((rsv & BE_WS_RSV1) && (control || op == BE_WS_OP_CONT))
        return fail(p, ev, BE_WS_CLOSE_PROTOCOL, "RSV1 on a control or continuation frame");
    if (p->expect_mask && !(b1 & 0x80))
        return fail(p, ev, BE_WS_CLOSE_PROTOCOL, "unmasked client frame");
    if (!p->expect_mask && (b1 & 0x80))
        return fail(p, ev, BE_WS_CLOSE_PROTOCOL, "masked server frame");
    if (control) {
        if (!fin)
            return fail(p, ev, BE_WS_CLOSE_PROTOCOL, "fragmented control frame");
        if ((b1 & 0x7f) > 125)
            return fail(p, ev, BE_WS_CLOSE_PROTOCOL, "control frame over 125 bytes");
    } else if (op == BE_WS_OP_CONT) {
        if (!p->msg_opcode)
            return fail(p, ev, BE_WS_CLOSE_PROTOCOL, "continuation with nothing to continue");
    } else if (p->msg_opcode) {
        return fail(p, ev, BE_WS_CLOSE_PROTOCOL, "new data frame inside a fragmented message");
    }
    return 1;
}

static void fill_header(struct be_ws_parser *p)
{
    const uint8_t *h = p->hbuf;
    struct be_ws_frame_hdr *f = &p->hdr;
    f->fin = h[0] >> 7;
    f->rsv = (h[0] >> 4) & 7;
    f->opcode = h[0] & 0x0f;
    f->masked = h[1] >> 7;
    uint64_t len = h[1] & 0x7f;
    size_t o = 2;
    if (len == 126) {
        len = ((uint64_t)h[2] << 8) | h[3];
        o = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | h[2 + i];
        o = 10;
    }
    f->len = len;
    if (f->masked)
        memcpy(f->mask, h + o, 4);
    else
        memset(f->mask, 0, 4);
    f->msg_first = f->msg_last = 0;
    f->msg_opcode = 0;
    f->msg_rsv1 = 0;
    if (!(f->opcode & 0x8)) {
        if (f->opcode != BE_WS_OP_CONT) {
            p->msg_opcode = f->opcode;
            p->msg_rsv1 = (f->rsv & BE_WS_RSV1) ? 1 : 0;
            f->msg_first = 1;
        }
        f->msg_opcode = p->msg_opcode;
        f->msg_rsv1 = p->msg_rsv1;
        if (f->fin) {
            f->msg_last = 1;
            p->msg_opcode = 0;
            p->msg_rsv1 = 0;
        }
    }
}

/* Length encoding rules once the extended length is known. */
static size_t check_length(struct be_ws_parser *p, struct be_ws_event *ev)
{
    const uint8_t *h = p->hbuf;
    uint8_t l7 = h[1] & 0x7f;
    if (l7 == 127 && (h[2] & 0x80))
        return fail(p, ev, BE_WS_CLOSE_PROTOCOL, "64-bit length with the top bit set");
    /* RFC 6455 5.2: "the minimal number of bytes MUST be used". */
    if (l7 == 126 && (((unsigned)h[2] << 8) | h[3]) < 126)
        return fail(p, ev, BE_WS_CLOSE_PROTOCOL, "length not minimally encoded");
    if (l7 == 127 && !h[2] && !h[3] && !h[4] && !h[5] && !h[6] && !h[7])
        return fail(p, ev, BE_WS_CLOSE_PROTOCOL, "length not minimally encoded");
    return 1;
}

size_t be_ws_parse(struct be_ws_parser *p, uint8_t *data, size_t len, struct be_ws_event *ev)
{
    ev->type = BE_WS_EV_NONE;
    ev->hdr = &p->hdr;
    ev->data = NULL;
    ev->len = 0;
    size_t used = 0;
    switch (p->state) {
    case ST_HDR:
        while (used < len) {
            p->hbuf[p->hlen++] = data[used++];
            if (p->hlen == 2) {
                if (!check_first_bytes(p, ev))
                    return used;
                p->hneed = header_size(p->hbuf);
            }
            if (p->hlen >= 2 && p->hlen == p->hneed) {
                if (!check_length(p, ev))
                    return used;
                fill_header(p);
                if (p->max_frame && p->hdr.len > p->max_frame) {
                    fail(p, ev, BE_WS_CLOSE_TOO_BIG, "frame too big");
                    return used;
                }
                p->left = p->hdr.len;
                p->mask_off = 0;
                p->hlen = 0;
                p->hneed = 2;
                p->state = p->left ? ST_PAYLOAD : ST_END;
                ev->type = BE_WS_EV_FRAME_START;
                return used;
            }
        }
        return used;
    case ST_PAYLOAD: {
        if (len == 0)
            return 0;
        size_t n = len < p->left ? len : (size_t)p->left;
        if (p->hdr.masked)
            be_ws_mask(data, n, p->hdr.mask, p->mask_off);
        p->mask_off = (uint32_t)((p->mask_off + n) & 3);
        p->left -= n;
        if (!p->left)
            p->state = ST_END;
        ev->type = BE_WS_EV_PAYLOAD;
        ev->data = data;
        ev->len = n;
        return n;
    }
    case ST_END:
        p->state = ST_HDR;
        ev->type = BE_WS_EV_FRAME_END;
        return 0;
    default:
        ev->type = BE_WS_EV_ERROR;
        ev->close_code = BE_WS_CLOSE_PROTOCOL;
        ev->reason = "parser failed earlier";
        return 0;
    }
}
