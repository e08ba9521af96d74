/* SPDX-License-Identifier: BSD-2-Clause */
/* Big-endian (network order) integers in byte buffers, for the wire formats
 * between our own processes (pub/sub datagrams and Redis messages, the
 * session hand-off record): byte by byte, so any alignment will do. */
#ifndef BACTRIAN_COMMON_BYTEORDER_H
#define BACTRIAN_COMMON_BYTEORDER_H

#include <stdint.h>

static inline uint32_t bx_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t bx_get_be64(const uint8_t *p)
{
    return (uint64_t)bx_get_be32(p) << 32 | bx_get_be32(p + 4);
}

static inline void bx_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void bx_put_be64(uint8_t *p, uint64_t v)
{
    bx_put_be32(p, (uint32_t)(v >> 32));
    bx_put_be32(p + 4, (uint32_t)v);
}

#endif
