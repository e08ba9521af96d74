/* SPDX-License-Identifier: BSD-2-Clause */
/* PROXY protocol v1 (text) and v2 (binary), as specified by HAProxy's
 * proxy-protocol.txt: parsing for listeners that accept it, and v2 encoding
 * for the frontend's header to the backend. */
#ifndef BACTRIAN_COMMON_PROXY_H
#define BACTRIAN_COMMON_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* v2 TLV types */
enum {
    BX_PP2_TYPE_ALPN = 0x01,
    BX_PP2_TYPE_AUTHORITY = 0x02,
    BX_PP2_TYPE_CRC32C = 0x03,
    BX_PP2_TYPE_NOOP = 0x04,
    BX_PP2_TYPE_UNIQUE_ID = 0x05,
    BX_PP2_TYPE_SSL = 0x20,
    BX_PP2_SUBTYPE_SSL_VERSION = 0x21,
    BX_PP2_SUBTYPE_SSL_CN = 0x22,
    BX_PP2_SUBTYPE_SSL_CIPHER = 0x23,
    BX_PP2_SUBTYPE_SSL_SIG_ALG = 0x24,
    BX_PP2_SUBTYPE_SSL_KEY_ALG = 0x25,
    BX_PP2_TYPE_NETNS = 0x30,
};
enum { BX_PP2_CLIENT_SSL = 0x01, BX_PP2_CLIENT_CERT_CONN = 0x02, BX_PP2_CLIENT_CERT_SESS = 0x04 };

/* Largest header we ever produce, and the v1 limit (107 bytes per the spec). */
#define BX_PROXY_V2_MAX_OUT 1024
#define BX_PROXY_V1_MAX 107
/* Largest v2 header we accept: 16 + addresses + TLVs. Bigger is refused. */
#define BX_PROXY_V2_MAX_IN 4096

struct bx_proxy_info {
    int version;                  /* 1 or 2 */
    bool local;                   /* LOCAL command / "UNKNOWN": keep the socket's own addresses */
    struct sockaddr_storage src;  /* client; ss_family AF_UNSPEC when not given */
    struct sockaddr_storage dst;  /* the address the client connected to */
    socklen_t srclen, dstlen;
    char authority[256];          /* SNI host name, "" if none */
    char alpn[64];                /* negotiated ALPN, "" if none */
    unsigned char unique_id[128]; /* opaque connection id */
    size_t unique_id_len;
    bool ssl;                     /* the client used TLS */
    char ssl_version[32];         /* "TLSv1.3" */
    char ssl_cipher[64];          /* "TLS_AES_128_GCM_SHA256" */
};

enum bx_proxy_result {
    BX_PROXY_NEED_MORE = 0, /* not enough bytes yet */
    BX_PROXY_INVALID = -1,  /* malformed: close the connection */
    BX_PROXY_NONE = -2,     /* the bytes do not start with a PROXY signature */
};

/* Parses a v1 or v2 header at the start of buf. Returns the header length
 * (> 0) with out filled, or a bx_proxy_result. On BX_PROXY_INVALID err says why.
 * NONE is decided as soon as the first bytes differ from both signatures. */
ssize_t bx_proxy_parse(const void *buf, size_t len, struct bx_proxy_info *out, char *err,
                       size_t errlen);

/* Encodes a v2 PROXY header (command PROXY, or LOCAL when in->local) with
 * the TLVs that are set (authority, ALPN, unique id, SSL with version and
 * cipher when in->ssl). Returns its length, or 0 if out is too small. */
size_t bx_proxy_encode_v2(void *out, size_t outlen, const struct bx_proxy_info *in);

#endif
