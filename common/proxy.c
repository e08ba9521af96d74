/* SPDX-License-Identifier: BSD-2-Clause */
/* PROXY protocol v1 and v2 parsing, and v2 encoding with the TLS TLVs
 * (see proxy.h and HAProxy's proxy-protocol.txt). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "common/proxy.h"

static const unsigned char v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                         0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char v1_sig[6] = "PROXY ";

enum { V2_CMD_LOCAL = 0, V2_CMD_PROXY = 1 };
enum { V2_FAM_UNSPEC = 0, V2_FAM_INET = 1, V2_FAM_INET6 = 2, V2_FAM_UNIX = 3 };
enum { V2_TRANS_UNSPEC = 0, V2_TRANS_STREAM = 1, V2_TRANS_DGRAM = 2 };

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return BX_PROXY_INVALID;                                                                   \
    } while (0)

/* CRC-32C (Castagnoli), bitwise: only run when a sender includes the TLV. */
static uint32_t crc32c(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void copy_tlv_str(char *dst, size_t dstlen, const unsigned char *v, size_t n)
{
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static bool printable(const unsigned char *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x20 || v[i] > 0x7e)
            return false;
    return true;
}

static ssize_t parse_ssl_tlv(const unsigned char *v, size_t n, struct bx_proxy_info *out, char *err,
                             size_t errlen)
{
    if (n < 5)
        FAIL("PROXY v2 SSL TLV too short (%zu bytes)", n);
    out->ssl = (v[0] & BX_PP2_CLIENT_SSL) != 0;
    size_t i = 5;
    while (i < n) {
        if (n - i < 3)
            FAIL("PROXY v2 SSL sub-TLV truncated");
        unsigned type = v[i];
        size_t len = ((size_t)v[i + 1] << 8) | v[i + 2];
        i += 3;
        if (len > n - i)
            FAIL("PROXY v2 SSL sub-TLV 0x%02x overruns its parent", type);
        const unsigned char *val = v + i;
        if (type == BX_PP2_SUBTYPE_SSL_VERSION || type == BX_PP2_SUBTYPE_SSL_CIPHER) {
            if (!printable(val, len))
                FAIL("PROXY v2 SSL sub-TLV 0x%02x is not printable text", type);
            if (type == BX_PP2_SUBTYPE_SSL_VERSION)
                copy_tlv_str(out->ssl_version, sizeof out->ssl_version, val, len);
            else
                copy_tlv_str(out->ssl_cipher, sizeof out->ssl_cipher, val, len);
        }
        i += len;
    }
    return 0;
}

static ssize_t parse_tlvs(const unsigned char *p, size_t n, const unsigned char *hdr, size_t hdrlen,
                          struct bx_proxy_info *out, char *err, size_t errlen)
{
    size_t i = 0;
    while (i < n) {
        if (n - i < 3)
            FAIL("PROXY v2 TLV header truncated");
        unsigned type = p[i];
        size_t len = ((size_t)p[i + 1] << 8) | p[i + 2];
        i += 3;
        if (len > n - i)
            FAIL("PROXY v2 TLV 0x%02x length %zu overruns the header", type, len);
        const unsigned char *v = p + i;
        switch (type) {
        case BX_PP2_TYPE_AUTHORITY:
            if (len >= sizeof out->authority || !printable(v, len))
                FAIL("PROXY v2 authority TLV is not a printable host name of at most %zu bytes",
                     sizeof out->authority - 1);
            copy_tlv_str(out->authority, sizeof out->authority, v, len);
            break;
        case BX_PP2_TYPE_ALPN:
            if (len >= sizeof out->alpn || !printable(v, len))
                FAIL("PROXY v2 ALPN TLV is not printable or too long");
            copy_tlv_str(out->alpn, sizeof out->alpn, v, len);
            break;
        case BX_PP2_TYPE_UNIQUE_ID:
            if (len > sizeof out->unique_id)
                FAIL("PROXY v2 unique id is %zu bytes, at most 128 allowed", len);
            memcpy(out->unique_id, v, len);
            out->unique_id_len = len;
            break;
        case BX_PP2_TYPE_SSL:
            if (parse_ssl_tlv(v, len, out, err, errlen) < 0)
                return BX_PROXY_INVALID;
            break;
        case BX_PP2_TYPE_CRC32C: {
            if (len != 4)
                FAIL("PROXY v2 CRC32C TLV must be 4 bytes");
            uint32_t want = ((uint32_t)v[0] << 24) | ((uint32_t)v[1] << 16) |
                            ((uint32_t)v[2] << 8) | v[3];
            /* The checksum covers the whole header with the CRC field zeroed. */
            size_t at = (size_t)(v - hdr);
            static const unsigned char zero[4];
            uint32_t got = crc32c(0, hdr, at);
            got = crc32c(got, zero, 4);
            got = crc32c(got, hdr + at + 4, hdrlen - at - 4);
            if (got != want)
                FAIL("PROXY v2 CRC32C mismatch");
            break;
        }
        default: break; /* NOOP, NETNS and unknown types are skipped, as the spec asks */
        }
        i += len;
    }
    return 0;
}

static void set_inet(struct sockaddr_storage *ss, socklen_t *len, const unsigned char *addr,
                     const unsigned char *port)
{
    struct sockaddr_in *s = (struct sockaddr_in *)ss;
    memset(ss, 0, sizeof *ss);
    s->sin_family = AF_INET;
    memcpy(&s->sin_addr, addr, 4);
    memcpy(&s->sin_port, port, 2);
    *len = sizeof *s;
}

static void set_inet6(struct sockaddr_storage *ss, socklen_t *len, const unsigned char *addr,
                      const unsigned char *port)
{
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    s->sin6_family = AF_INET6;
    memcpy(&s->sin6_addr, addr, 16);
    memcpy(&s->sin6_port, port, 2);
    *len = sizeof *s;
}

static void set_unix(struct sockaddr_storage *ss, socklen_t *len, const unsigned char *path)
{
    struct sockaddr_un *s = (struct sockaddr_un *)ss;
    memset(ss, 0, sizeof *ss);
    s->sun_family = AF_UNIX;
    /* 108 bytes on the wire, NUL-padded: the path ends at the first NUL, and
     * whatever a sender left after it must not leak into our address. */
    memcpy(s->sun_path, path, strnlen((const char *)path, sizeof s->sun_path - 1));
    *len = sizeof *s;
}

static ssize_t parse_v2(const unsigned char *p, size_t len, struct bx_proxy_info *out, char *err,
                        size_t errlen)
{
    if (len < 16)
        return BX_PROXY_NEED_MORE;
    unsigned ver = p[12] >> 4, cmd = p[12] & 0x0f;
    unsigned fam = p[13] >> 4, trans = p[13] & 0x0f;
    size_t body = ((size_t)p[14] << 8) | p[15];
    if (ver != 2)
        FAIL("PROXY v2 header with version %u", ver);
    if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
        FAIL("PROXY v2 header with unknown command %u", cmd);
    if (16 + body > BX_PROXY_V2_MAX_IN)
        FAIL("PROXY v2 header of %zu bytes is larger than the %d allowed", 16 + body,
             BX_PROXY_V2_MAX_IN);
    if (len < 16 + body)
        return BX_PROXY_NEED_MORE;
    out->version = 2;
    out->local = cmd == V2_CMD_LOCAL;
    const unsigned char *a = p + 16;
    size_t alen = 0;
    if (fam > V2_FAM_UNIX || trans > V2_TRANS_DGRAM)
        FAIL("PROXY v2 header with unknown family/transport 0x%02x", p[13]);
    if (cmd == V2_CMD_PROXY && trans != V2_TRANS_STREAM && fam != V2_FAM_UNSPEC)
        FAIL("PROXY v2 header for a datagram transport on a stream connection");
    switch (fam) {
    case V2_FAM_INET:
        alen = 12;
        if (body < alen)
            FAIL("PROXY v2 IPv4 header too short (%zu bytes)", body);
        if (cmd == V2_CMD_PROXY) {
            set_inet(&out->src, &out->srclen, a, a + 8);
            set_inet(&out->dst, &out->dstlen, a + 4, a + 10);
        }
        break;
    case V2_FAM_INET6:
        alen = 36;
        if (body < alen)
            FAIL("PROXY v2 IPv6 header too short (%zu bytes)", body);
        if (cmd == V2_CMD_PROXY) {
            set_inet6(&out->src, &out->srclen, a, a + 32);
            set_inet6(&out->dst, &out->dstlen, a + 16, a + 34);
        }
        break;
    case V2_FAM_UNIX:
        alen = 216;
        if (body < alen)
            FAIL("PROXY v2 unix header too short (%zu bytes)", body);
        if (cmd == V2_CMD_PROXY) {
            set_unix(&out->src, &out->srclen, a);
            set_unix(&out->dst, &out->dstlen, a + 108);
        }
        break;
    default:
        /* UNSPEC: the sender could not tell; we keep the socket's addresses. */
        out->local = true;
        break;
    }
    if (parse_tlvs(a + alen, body - alen, p, 16 + body, out, err, errlen) < 0)
        return BX_PROXY_INVALID;
    return (ssize_t)(16 + body);
}

/* v1: "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n" or "PROXY UNKNOWN ...\r\n". */
static ssize_t parse_v1(const char *p, size_t len, struct bx_proxy_info *out, char *err,
                        size_t errlen)
{
    const char *crlf = memchr(p, '\r', len < BX_PROXY_V1_MAX ? len : BX_PROXY_V1_MAX);
    if (!crlf) {
        if (len >= BX_PROXY_V1_MAX)
            FAIL("PROXY v1 header longer than %d bytes", BX_PROXY_V1_MAX);
        return BX_PROXY_NEED_MORE;
    }
    size_t n = (size_t)(crlf - p);
    if (n + 1 >= len)
        return BX_PROXY_NEED_MORE;
    if (crlf[1] != '\n')
        FAIL("PROXY v1 header not ended by CRLF");
    char line[BX_PROXY_V1_MAX + 1];
    memcpy(line, p, n);
    line[n] = '\0';
    out->version = 1;
    char proto[16], sa[64], da[64], sp[8], dp[8], extra;
    if (strncmp(line, "PROXY UNKNOWN", 13) == 0 && (line[13] == '\0' || line[13] == ' ')) {
        out->local = true;
        return (ssize_t)(n + 2);
    }
    if (sscanf(line, "PROXY %15s %63s %63s %7s %7s %c", proto, sa, da, sp, dp, &extra) != 5)
        FAIL("PROXY v1 header malformed");
    bool v6 = strcmp(proto, "TCP6") == 0;
    if (!v6 && strcmp(proto, "TCP4") != 0)
        FAIL("PROXY v1 header with unknown protocol");
    unsigned char sbin[16], dbin[16];
    int af = v6 ? AF_INET6 : AF_INET;
    if (inet_pton(af, sa, sbin) != 1 || inet_pton(af, da, dbin) != 1)
        FAIL("PROXY v1 header with a bad %s address", proto);
    char *end;
    long spn = strtol(sp, &end, 10);
    if (*end || spn < 0 || spn > 65535 || (sp[0] == '0' && sp[1]))
        FAIL("PROXY v1 header with a bad source port");
    long dpn = strtol(dp, &end, 10);
    if (*end || dpn < 0 || dpn > 65535 || (dp[0] == '0' && dp[1]))
        FAIL("PROXY v1 header with a bad destination port");
    uint16_t sport = htons((uint16_t)spn), dport = htons((uint16_t)dpn);
    if (v6) {
        set_inet6(&out->src, &out->srclen, sbin, (unsigned char *)&sport);
        set_inet6(&out->dst, &out->dstlen, dbin, (unsigned char *)&dport);
    } else {
        set_inet(&out->src, &out->srclen, sbin, (unsigned char *)&sport);
        set_inet(&out->dst, &out->dstlen, dbin, (unsigned char *)&dport);
    }
    return (ssize_t)(n + 2);
}

ssize_t bx_proxy_parse(const void *buf, size_t len, struct bx_proxy_info *out, char *err,
                       size_t errlen)
{
    const unsigned char *p = buf;
    memset(out, 0, sizeof *out);
    if (len == 0)
        return BX_PROXY_NEED_MORE;
    /* Decide as early as one byte allows: clients that send no header must not stall. */
    size_t n2 = len < sizeof v2_sig ? len : sizeof v2_sig;
    size_t n1 = len < sizeof v1_sig ? len : sizeof v1_sig;
    bool maybe_v2 = memcmp(p, v2_sig, n2) == 0;
    bool maybe_v1 = memcmp(p, v1_sig, n1) == 0;
    if (!maybe_v1 && !maybe_v2)
        return BX_PROXY_NONE;
    if (maybe_v2)
        return len < sizeof v2_sig ? BX_PROXY_NEED_MORE : parse_v2(p, len, out, err, errlen);
    return len < sizeof v1_sig ? BX_PROXY_NEED_MORE
                               : parse_v1((const char *)p, len, out, err, errlen);
}

static size_t put_tlv(unsigned char *out, size_t room, unsigned type, const void *v, size_t n)
{
    if (n > 0xffff || room < 3 + n)
        return 0;
    out[0] = (unsigned char)type;
    out[1] = (unsigned char)(n >> 8);
    out[2] = (unsigned char)n;
    memcpy(out + 3, v, n);
    return 3 + n;
}

size_t bx_proxy_encode_v2(void *outbuf, size_t outlen, const struct bx_proxy_info *in)
{
    unsigned char *out = outbuf;
    if (outlen < 16 + 216)
        return 0;
    memcpy(out, v2_sig, sizeof v2_sig);
    size_t n = 16;
    int fam = in->src.ss_family;
    bool local = in->local || fam != in->dst.ss_family ||
                 (fam != AF_INET && fam != AF_INET6 && fam != AF_UNIX);
    out[12] = (unsigned char)(0x20 | (local ? V2_CMD_LOCAL : V2_CMD_PROXY));
    if (local) {
        out[13] = (V2_FAM_UNSPEC << 4) | V2_TRANS_UNSPEC;
    } else if (fam == AF_INET) {
        const struct sockaddr_in *s = (const void *)&in->src, *d = (const void *)&in->dst;
        out[13] = (V2_FAM_INET << 4) | V2_TRANS_STREAM;
        memcpy(out + n, &s->sin_addr, 4);
        memcpy(out + n + 4, &d->sin_addr, 4);
        memcpy(out + n + 8, &s->sin_port, 2);
        memcpy(out + n + 10, &d->sin_port, 2);
        n += 12;
    } else if (fam == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)&in->src, *d = (const void *)&in->dst;
        out[13] = (V2_FAM_INET6 << 4) | V2_TRANS_STREAM;
        memcpy(out + n, &s->sin6_addr, 16);
        memcpy(out + n + 16, &d->sin6_addr, 16);
        memcpy(out + n + 32, &s->sin6_port, 2);
        memcpy(out + n + 34, &d->sin6_port, 2);
        n += 36;
    } else {
        const struct sockaddr_un *s = (const void *)&in->src, *d = (const void *)&in->dst;
        out[13] = (V2_FAM_UNIX << 4) | V2_TRANS_STREAM;
        memset(out + n, 0, 216);
        memcpy(out + n, s->sun_path, strnlen(s->sun_path, 107));
        memcpy(out + n + 108, d->sun_path, strnlen(d->sun_path, 107));
        n += 216;
    }
    size_t k;
#define TLV(type, v, len)                                                                          \
    do {                                                                                           \
        if ((k = put_tlv(out + n, outlen - n, (type), (v), (len))) == 0)                           \
            return 0;                                                                              \
        n += k;                                                                                    \
    } while (0)
    if (in->authority[0])
        TLV(BX_PP2_TYPE_AUTHORITY, in->authority, strnlen(in->authority, sizeof in->authority));
    if (in->alpn[0])
        TLV(BX_PP2_TYPE_ALPN, in->alpn, strnlen(in->alpn, sizeof in->alpn));
    if (in->unique_id_len)
        TLV(BX_PP2_TYPE_UNIQUE_ID, in->unique_id,
            in->unique_id_len > sizeof in->unique_id ? sizeof in->unique_id : in->unique_id_len);
    if (in->ssl) {
        unsigned char ssl[5 + 3 + sizeof in->ssl_version + 3 + sizeof in->ssl_cipher];
        size_t s = 5;
        ssl[0] = BX_PP2_CLIENT_SSL;
        memset(ssl + 1, 0, 4); /* verify = 0: no client certificate was checked */
        if (in->ssl_version[0])
            s += put_tlv(ssl + s, sizeof ssl - s, BX_PP2_SUBTYPE_SSL_VERSION, in->ssl_version,
                         strnlen(in->ssl_version, sizeof in->ssl_version));
        if (in->ssl_cipher[0])
            s += put_tlv(ssl + s, sizeof ssl - s, BX_PP2_SUBTYPE_SSL_CIPHER, in->ssl_cipher,
                         strnlen(in->ssl_cipher, sizeof in->ssl_cipher));
        TLV(BX_PP2_TYPE_SSL, ssl, s);
    }
#undef TLV
    size_t body = n - 16;
    out[14] = (unsigned char)(body >> 8);
    out[15] = (unsigned char)body;
    return n;
}
