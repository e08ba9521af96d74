/* SPDX-License-Identifier: BSD-2-Clause */
/* tlsrec against the real, independent implementation: OpenSSL does a TLS
 * 1.3 handshake over a socketpair, then the server side switches to tlsrec
 * with the keylog secrets while the client stays a plain OpenSSL SSL. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "frontend/tlsrec.h"

/* Captured by the server's keylog callback (each test runs in a fork). */
static unsigned char g_csec[FE_TLSREC_MAX_SECRET], g_ssec[FE_TLSREC_MAX_SECRET];
static size_t g_seclen;
static int g_srv_records;       /* record headers the server wrote */
static int g_records_at_app;    /* ... when its application secret appeared */

struct pair {
    SSL_CTX *sctx, *cctx;
    SSL *s, *c;
    int sfd, cfd;
    struct fe_tlsrec t;
    unsigned char in[1 << 17];  /* raw bytes read by the tlsrec side */
    size_t inlen;
};

static size_t unhex(const char *h, unsigned char *out, size_t cap)
{
    size_t n = 0;
    while (h[0] && h[1] && n < cap) {
        unsigned int b;
        if (sscanf(h, "%2x", &b) != 1)
            break;
        out[n++] = (unsigned char)b;
        h += 2;
    }
    return n;
}

static void keylog(const SSL *ssl, const char *line)
{
    const char *sec = strrchr(line, ' ');
    ck_assert_ptr_nonnull(sec);
    if (strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) == 0)
        g_seclen = unhex(sec + 1, g_csec, sizeof g_csec);
    else if (strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0) {
        unhex(sec + 1, g_ssec, sizeof g_ssec);
        g_records_at_app = g_srv_records;
    }
}

static void msgcb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
                  void *arg)
{
    if (write_p && content_type == SSL3_RT_HEADER)
        g_srv_records++;
}

/* A throwaway P-256 key and self-signed certificate. */
static void add_cert(SSL_CTX *ctx)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(key);
    X509 *x = X509_new();
    ck_assert_ptr_nonnull(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
    ck_assert_int_eq(SSL_CTX_use_certificate(ctx, x), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Handshake until both sides report completion. With early_data, the
 * client writes application data right after its Finished, before the
 * server has read that Finished. */
static void setup(struct pair *p, const char *suite, int tickets, bool read_ahead,
                  const char *early)
{
    memset(p, 0, sizeof *p);
    g_srv_records = g_records_at_app = 0;
    g_seclen = 0;
    p->sctx = SSL_CTX_new(TLS_server_method());
    p->cctx = SSL_CTX_new(TLS_client_method());
    ck_assert_ptr_nonnull(p->sctx);
    ck_assert_ptr_nonnull(p->cctx);
    SSL_CTX_set_min_proto_version(p->sctx, TLS1_3_VERSION);
    SSL_CTX_set_min_proto_version(p->cctx, TLS1_3_VERSION);
    if (suite) {
        ck_assert_int_eq(SSL_CTX_set_ciphersuites(p->sctx, suite), 1);
        ck_assert_int_eq(SSL_CTX_set_ciphersuites(p->cctx, suite), 1);
    }
    SSL_CTX_set_num_tickets(p->sctx, (size_t)tickets);
    SSL_CTX_set_read_ahead(p->sctx, read_ahead);
    SSL_CTX_set_keylog_callback(p->sctx, keylog);
    SSL_CTX_set_msg_callback(p->sctx, msgcb);
    add_cert(p->sctx);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    p->sfd = sv[0];
    p->cfd = sv[1];
    nonblock(p->sfd);
    nonblock(p->cfd);
    p->s = SSL_new(p->sctx);
    p->c = SSL_new(p->cctx);
    SSL_set_fd(p->s, p->sfd);
    SSL_set_fd(p->c, p->cfd);
    SSL_set_accept_state(p->s);
    SSL_set_connect_state(p->c);
    int sdone = 0, cdone = 0;
    for (int i = 0; i < 1000 && !(sdone && cdone); i++) {
        if (!cdone) {
            int r = SSL_do_handshake(p->c);
            if (r == 1) {
                cdone = 1;
                if (early)
                    ck_assert_int_eq(SSL_write(p->c, early, (int)strlen(early)),
                                     (int)strlen(early));
            } else
                ck_assert_int_eq(SSL_get_error(p->c, r), SSL_ERROR_WANT_READ);
        }
        if (!sdone) {
            int r = SSL_do_handshake(p->s);
            if (r == 1)
                sdone = 1;
            else
                ck_assert_int_eq(SSL_get_error(p->s, r), SSL_ERROR_WANT_READ);
        }
    }
    ck_assert(sdone && cdone);
}

/* Switches the server to tlsrec by the rule documented in tlsrec.h. */
static void to_tlsrec(struct pair *p, int tickets)
{
    ck_assert_int_eq(g_srv_records - g_records_at_app, tickets);
    uint16_t suite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(p->s));
    ck_assert_int_eq(fe_tlsrec_init(&p->t, suite, g_csec, g_ssec, g_seclen, 0, (uint64_t)tickets),
                     0);
}

static void teardown_pair(struct pair *p)
{
    fe_tlsrec_free(&p->t);
    SSL_free(p->s);
    SSL_free(p->c);
    SSL_CTX_free(p->sctx);
    SSL_CTX_free(p->cctx);
    close(p->sfd);
    close(p->cfd);
}

/* Reads what the socket has into p->in. */
static void srv_fill(struct pair *p)
{
    ssize_t n = read(p->sfd, p->in + p->inlen, sizeof p->in - p->inlen);
    if (n > 0)
        p->inlen += (size_t)n;
    else
        ck_assert(n < 0 && errno == EAGAIN);
}

/* Opens whole records from p->in, appending plaintext to out. */
static void srv_open(struct pair *p, unsigned char *out, size_t cap, size_t *have)
{
    size_t used, n;
    int r = fe_tlsrec_open(&p->t, p->in, p->inlen, &used, out + *have, cap - *have, &n);
    ck_assert_msg(r == 0, "fe_tlsrec_open: %s", p->t.err);
    memmove(p->in, p->in + used, p->inlen - used);
    p->inlen -= used;
    *have += n;
}

/* Client SSL_write of len bytes; the server gets them through tlsrec. */
static void c2s(struct pair *p, const unsigned char *data, size_t len)
{
    unsigned char *got = malloc(len + FE_TLSREC_MAX_PLAIN);
    size_t sent = 0, have = 0;
    for (int i = 0; i < 10000 && have < len; i++) {
        if (sent < len) {
            int w = SSL_write(p->c, data + sent, (int)(len - sent));
            if (w > 0)
                sent += (size_t)w;
            else
                ck_assert_int_eq(SSL_get_error(p->c, w), SSL_ERROR_WANT_WRITE);
        }
        srv_fill(p);
        srv_open(p, got, len + FE_TLSREC_MAX_PLAIN, &have);
    }
    ck_assert_uint_eq(have, len);
    ck_assert(memcmp(got, data, len) == 0);
    free(got);
}

/* fe_tlsrec_seal of len bytes; the client gets them through SSL_read. */
static void s2c(struct pair *p, const unsigned char *data, size_t len)
{
    size_t cap = len + (len / FE_TLSREC_MAX_PLAIN + 2) * (FE_TLSREC_OVERHEAD + 8) + 64;
    unsigned char *wire = malloc(cap), *got = malloc(len + 1);
    size_t taken;
    ssize_t wl = fe_tlsrec_seal(&p->t, data, len, &taken, wire, cap);
    ck_assert_int_ge(wl, 0);
    ck_assert_uint_eq(taken, len);
    size_t off = 0, have = 0;
    for (int i = 0; i < 10000 && have < len; i++) {
        if (off < (size_t)wl) {
            ssize_t n = write(p->sfd, wire + off, (size_t)wl - off);
            if (n > 0)
                off += (size_t)n;
        }
        int r = SSL_read(p->c, got + have, (int)(len - have));
        if (r > 0)
            have += (size_t)r;
        else
            ck_assert_msg(SSL_get_error(p->c, r) == SSL_ERROR_WANT_READ, "client SSL_read: %s",
                          ERR_error_string(ERR_get_error(), NULL));
    }
    ck_assert_uint_eq(have, len);
    ck_assert(memcmp(got, data, len) == 0);
    free(wire);
    free(got);
}

static const char *const suites[] = {
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
};

static unsigned char *pattern(size_t len)
{
    unsigned char *b = malloc(len);
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)(i * 131 + (i >> 9));
    return b;
}

START_TEST(both_ways_all_suites)
{
    static struct pair p;
    setup(&p, suites[_i], 2, false, NULL);
    to_tlsrec(&p, 2);
    c2s(&p, (const unsigned char *)"hello", 5);
    s2c(&p, (const unsigned char *)"world", 5);
    size_t big = 100 * 1024;
    unsigned char *b = pattern(big);
    c2s(&p, b, big);
    s2c(&p, b, big);
    c2s(&p, (const unsigned char *)"again", 5);
    free(b);
    teardown_pair(&p);
}
END_TEST

/* The wseq rule in tlsrec.h: one record per ticket, for N = 0, 1, 3. */
START_TEST(wseq_is_num_tickets)
{
    static const int n[] = {0, 1, 3};
    static struct pair p;
    setup(&p, NULL, n[_i], false, NULL);
    to_tlsrec(&p, n[_i]);
    s2c(&p, (const unsigned char *)"tickets", 7);
    teardown_pair(&p);
}
END_TEST

START_TEST(many_records_partial_and_in_place)
{
    static struct pair p;
    setup(&p, NULL, 2, false, NULL);
    to_tlsrec(&p, 2);
    /* Five records in one buffer, opened in one call, in place. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(SSL_write(p.c, "abcdefgh", 8), 8);
    for (int i = 0; i < 10; i++)
        srv_fill(&p);
    size_t used, n;
    ck_assert_int_eq(fe_tlsrec_open(&p.t, p.in, p.inlen, &used, p.in, sizeof p.in, &n), 0);
    ck_assert_uint_eq(used, p.inlen);
    ck_assert_uint_eq(n, 40);
    ck_assert(memcmp(p.in, "abcdefghabcdefgh", 16) == 0);
    p.inlen = 0;
    /* A record given byte by byte is consumed only once complete. */
    ck_assert_int_eq(SSL_write(p.c, "xyz", 3), 3);
    srv_fill(&p);
    size_t total = p.inlen;
    ck_assert_uint_eq(total, 5 + 3 + 1 + 16);
    unsigned char out[FE_TLSREC_MAX_PLAIN];
    for (size_t k = 0; k < total; k++) {
        ck_assert_int_eq(fe_tlsrec_open(&p.t, p.in, k, &used, out, sizeof out, &n), 0);
        ck_assert_uint_eq(used, 0);
        ck_assert_uint_eq(n, 0);
    }
    ck_assert_int_eq(fe_tlsrec_open(&p.t, p.in, total, &used, out, sizeof out, &n), 0);
    ck_assert_uint_eq(used, total);
    ck_assert_uint_eq(n, 3);
    ck_assert(memcmp(out, "xyz", 3) == 0);
    /* Zero-length input seals nothing. */
    size_t taken;
    ck_assert_int_eq(fe_tlsrec_seal(&p.t, out, 0, &taken, out, sizeof out), 0);
    teardown_pair(&p);
}
END_TEST

/* Full-size records fit an outcap of exactly FE_TLSREC_MAX_PLAIN. */
START_TEST(full_records_fit_max_plain)
{
    static struct pair p;
    setup(&p, NULL, 2, false, NULL);
    to_tlsrec(&p, 2);
    unsigned char *b = pattern(3 * FE_TLSREC_MAX_PLAIN);
    int w = SSL_write(p.c, b, 3 * FE_TLSREC_MAX_PLAIN);
    ck_assert_int_eq(w, 3 * FE_TLSREC_MAX_PLAIN);
    unsigned char out[FE_TLSREC_MAX_PLAIN];
    size_t off = 0;
    for (int i = 0; i < 1000 && off < 3 * FE_TLSREC_MAX_PLAIN; i++) {
        srv_fill(&p);
        size_t used, n;
        ck_assert_int_eq(fe_tlsrec_open(&p.t, p.in, p.inlen, &used, out, sizeof out, &n), 0);
        ck_assert(memcmp(out, b + off, n) == 0);
        off += n;
        memmove(p.in, p.in + used, p.inlen - used);
        p.inlen -= used;
    }
    ck_assert_uint_eq(off, 3 * FE_TLSREC_MAX_PLAIN);
    free(b);
    teardown_pair(&p);
}
END_TEST

START_TEST(key_update_both_ways)
{
    static struct pair p;
    setup(&p, suites[_i], 2, false, NULL);
    to_tlsrec(&p, 2);
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(SSL_key_update(p.c, SSL_KEY_UPDATE_REQUESTED), 1);
        c2s(&p, (const unsigned char *)"after update", 12);
        ck_assert(p.t.update_due);
        if (round == 1) {
            /* Flushed on its own, with no data to send. */
            unsigned char ku[64];
            size_t taken;
            ck_assert_int_eq(fe_tlsrec_seal(&p.t, NULL, 0, &taken, ku, sizeof ku), 27);
            ck_assert_int_eq(write(p.sfd, ku, 27), 27);
            ck_assert(!p.t.update_due);
            ck_assert_uint_eq(p.t.wr.seq, 0);
        }
        s2c(&p, (const unsigned char *)"answer", 6);
        ck_assert(!p.t.update_due);
        ck_assert_uint_eq(p.t.wr.seq, 1);  /* one record under the new key */
        c2s(&p, (const unsigned char *)"more", 4);
    }
    ck_assert_int_eq(SSL_key_update(p.c, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    c2s(&p, (const unsigned char *)"quiet", 5);
    ck_assert(!p.t.update_due);
    s2c(&p, (const unsigned char *)"ok", 2);
    teardown_pair(&p);
}
END_TEST

START_TEST(close_notify_both_ways)
{
    static struct pair p;
    setup(&p, NULL, 2, false, NULL);
    to_tlsrec(&p, 2);
    s2c(&p, (const unsigned char *)"bye", 3);
    unsigned char rec[64];
    ssize_t n = fe_tlsrec_seal_close(&p.t, rec, sizeof rec);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(write(p.sfd, rec, (size_t)n), n);
    char buf[16];
    int r = SSL_read(p.c, buf, sizeof buf);
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(SSL_get_error(p.c, r), SSL_ERROR_ZERO_RETURN);
    SSL_shutdown(p.c);
    srv_fill(&p);
    unsigned char out[FE_TLSREC_MAX_PLAIN];
    size_t have = 0;
    srv_open(&p, out, sizeof out, &have);
    ck_assert(p.t.peer_closed);
    ck_assert_uint_eq(have, 0);
    teardown_pair(&p);
}
END_TEST

START_TEST(bad_records_fail)
{
    static struct pair p;
    setup(&p, NULL, 2, false, NULL);
    to_tlsrec(&p, 2);
    ck_assert_int_eq(SSL_write(p.c, "secret", 6), 6);
    srv_fill(&p);
    p.in[8] ^= 0x10;
    unsigned char out[FE_TLSREC_MAX_PLAIN];
    size_t used, n;
    ck_assert_int_eq(fe_tlsrec_open(&p.t, p.in, p.inlen, &used, out, sizeof out, &n), -1);
    ck_assert_ptr_nonnull(strstr(p.t.err, "bad_record_mac"));
    /* An oversized length is refused from the header alone. */
    unsigned char hdr[5] = {23, 3, 3, (FE_TLSREC_MAX_PLAIN + 257) >> 8,
                            (FE_TLSREC_MAX_PLAIN + 257) & 0xff};
    p.t.err[0] = 0;
    ck_assert_int_eq(fe_tlsrec_open(&p.t, hdr, 5, &used, out, sizeof out, &n), -1);
    ck_assert_ptr_nonnull(strstr(p.t.err, "record_overflow"));
    /* A change_cipher_spec record is not accepted any more. */
    unsigned char ccs[6] = {20, 3, 3, 0, 1, 1};
    ck_assert_int_eq(fe_tlsrec_open(&p.t, ccs, 6, &used, out, sizeof out, &n), -1);
    teardown_pair(&p);
}
END_TEST

/* What the server SSL holds after SSL_do_handshake returned 1 when the
 * client sent data right after its Finished (see tlsrec.h). */
START_TEST(nothing_buffered_without_read_ahead)
{
    static struct pair p;
    setup(&p, NULL, 2, false, "early bytes");
    ck_assert_int_eq(SSL_has_pending(p.s), 0);
    to_tlsrec(&p, 2);
    unsigned char out[FE_TLSREC_MAX_PLAIN];
    size_t have = 0;
    srv_fill(&p);
    srv_open(&p, out, sizeof out, &have);
    ck_assert_uint_eq(have, 11);
    ck_assert(memcmp(out, "early bytes", 11) == 0);
    teardown_pair(&p);
}
END_TEST

START_TEST(read_ahead_may_buffer)
{
    static struct pair p;
    setup(&p, NULL, 2, true, "early bytes");
    /* The application record came in with the client's Finished: it sits
     * in OpenSSL's buffer, not in the socket, and SSL_has_pending says so. */
    ck_assert_int_eq(SSL_has_pending(p.s), 1);
    ck_assert_int_eq(read(p.sfd, p.in, sizeof p.in), -1);
    ck_assert_int_eq(errno, EAGAIN);
    teardown_pair(&p);
    /* When nothing came early, read_ahead leaves nothing behind: whether
     * bytes get buffered depends on timing, SSL_has_pending tells. */
    setup(&p, NULL, 2, true, NULL);
    ck_assert_int_eq(SSL_has_pending(p.s), 0);
    to_tlsrec(&p, 2);
    c2s(&p, (const unsigned char *)"late bytes", 10);
    teardown_pair(&p);
}
END_TEST

/* RFC 8448 section 3: from the server handshake traffic secret, the AES-128
 * key 3fce...03bc and iv 5d31...0b30. tlsrec derives them the same way from
 * any traffic secret; an independent EVP seal with the published key and
 * the nonce for sequence number 1 must give the same record. */
START_TEST(rfc8448_key_and_iv)
{
    unsigned char sec[32], key[16], iv[12];
    ck_assert_uint_eq(unhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38", sec,
                            sizeof sec),
                      32);
    unhex("3fce516009c21727d0f2e4e86ee403bc", key, sizeof key);
    unhex("5d313eb2671276ee13000b30", iv, sizeof iv);
    struct fe_tlsrec t;
    ck_assert_int_eq(fe_tlsrec_init(&t, 0x1301, sec, sec, 32, 0, 1), 0);
    ck_assert(memcmp(t.wr.iv, iv, 12) == 0);
    unsigned char rec[64], exp[64], pt[4] = {'a', 'b', 'c', 23};
    size_t taken;
    ck_assert_int_eq(fe_tlsrec_seal(&t, pt, 3, &taken, rec, sizeof rec), 5 + 4 + 16);
    iv[11] ^= 1;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len;
    ck_assert(EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, iv));
    ck_assert(EVP_EncryptUpdate(c, NULL, &len, rec, 5));
    ck_assert(EVP_EncryptUpdate(c, exp, &len, pt, 4));
    ck_assert(EVP_EncryptFinal_ex(c, exp + 4, &len));
    ck_assert(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, exp + 4));
    EVP_CIPHER_CTX_free(c);
    ck_assert(memcmp(rec + 5, exp, 20) == 0);
    ck_assert_uint_eq(t.wr.seq, 2);
    fe_tlsrec_free(&t);
    fe_tlsrec_free(&t);    /* safe twice: the lead's error paths may */
}
END_TEST

/* Seals an arbitrary inner plaintext (content || type || padding) the way
 * a client would, using a tlsrec whose write side holds the client secret:
 * lets us send what OpenSSL never would. */
static size_t raw_seal(struct fe_tlsrec *peer, const unsigned char *inner, size_t n,
                       unsigned char *out)
{
    unsigned char nonce[12];
    memcpy(nonce, peer->wr.iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (unsigned char)(peer->wr.seq >> (8 * i));
    out[0] = 23, out[1] = 3, out[2] = 3;
    out[3] = (unsigned char)((n + 16) >> 8), out[4] = (unsigned char)(n + 16);
    int len;
    EVP_CIPHER_CTX *c = peer->wr.ctx;
    ck_assert(EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, -1));
    ck_assert(EVP_CipherUpdate(c, NULL, &len, out, 5));
    ck_assert(EVP_CipherUpdate(c, out + 5, &len, inner, (int)n));
    ck_assert(EVP_CipherFinal_ex(c, out + 5 + n, &len));
    ck_assert(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + 5 + n));
    peer->wr.seq++;
    return 5 + n + 16;
}

/* Inner plaintexts: padding, empty data, alerts, refused messages. */
START_TEST(inner_content_rules)
{
    static const struct {
        unsigned char in[12];
        size_t n;
        int rc;             /* fe_tlsrec_open's result */
        size_t out;         /* plaintext produced */
        const char *err;
    } cases[] = {
        {{'h', 'i', 23, 0, 0, 0}, 6, 0, 2, NULL},       /* padded data */
        {{23}, 1, 0, 0, NULL},                          /* zero-length data */
        {{1, 90, 21}, 3, 0, 0, NULL},                   /* user_canceled */
        {{2, 40, 21}, 3, -1, 0, "alert 40"},
        {{0, 0, 0}, 3, -1, 0, "content type"},          /* all padding */
        {{1, 20}, 2, -1, 0, "change_cipher_spec"},
        {{4, 0, 0, 1, 0, 22}, 6, -1, 0, "refused"},     /* NewSessionTicket */
        {{24, 0, 0, 1, 2, 22}, 6, -1, 0, "KeyUpdate"},  /* bad request value */
        {{24, 0, 0, 22}, 4, -1, 0, "split"},
        {{24, 0, 0, 1, 0, 24, 0, 0, 1, 0, 22}, 11, -1, 0, "end of its record"},
        {{9, 9, 99}, 3, -1, 0, "content type 99"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char sec[32], rec[64], out[FE_TLSREC_MAX_PLAIN];
        memset(sec, (int)i, sizeof sec);
        struct fe_tlsrec t, peer;
        ck_assert_int_eq(fe_tlsrec_init(&t, 0x1301, sec, sec, 32, 0, 0), 0);
        ck_assert_int_eq(fe_tlsrec_init(&peer, 0x1301, sec, sec, 32, 0, 0), 0);
        size_t rl = raw_seal(&peer, cases[i].in, cases[i].n, rec), used, n;
        int rc = fe_tlsrec_open(&t, rec, rl, &used, out, sizeof out, &n);
        ck_assert_msg(rc == cases[i].rc, "case %zu: %d (%s)", i, rc, t.err);
        if (rc == 0) {
            ck_assert_uint_eq(used, rl);
            ck_assert_uint_eq(n, cases[i].out);
        } else
            ck_assert_msg(strstr(t.err, cases[i].err), "case %zu: %s", i, t.err);
        fe_tlsrec_free(&t);
        fe_tlsrec_free(&peer);
    }
}
END_TEST

/* An inner plaintext over 2^14 + 1 bytes is refused from the length alone;
 * an init with a wrong secret length or suite fails cleanly. */
START_TEST(limits_and_bad_init)
{
    unsigned char sec[48] = {0}, out[64];
    struct fe_tlsrec t;
    size_t used, n;
    ck_assert_int_eq(fe_tlsrec_init(&t, 0x1302, sec, sec, 32, 0, 0), -1);
    fe_tlsrec_free(&t);
    ck_assert_int_eq(fe_tlsrec_init(&t, 0x1304, sec, sec, 32, 0, 0), -1);
    fe_tlsrec_free(&t);
    ck_assert_int_eq(fe_tlsrec_init(&t, 0x1302, sec, sec, 48, 0, 0), 0);
    size_t big = FE_TLSREC_MAX_PLAIN + 2 + 16;
    unsigned char hdr[5] = {23, 3, 3, (unsigned char)(big >> 8), (unsigned char)big};
    ck_assert_int_eq(fe_tlsrec_open(&t, hdr, 5, &used, out, sizeof out, &n), -1);
    unsigned char v[5] = {23, 3, 1, 0, 20};
    ck_assert_int_eq(fe_tlsrec_open(&t, v, 5, &used, out, sizeof out, &n), -1);
    /* A record too small for the tag. */
    unsigned char tiny[5] = {23, 3, 3, 0, 16};
    ck_assert_int_eq(fe_tlsrec_open(&t, tiny, 5, &used, out, sizeof out, &n), -1);
    /* Sealing into a buffer too small for any record makes no progress. */
    size_t taken;
    ck_assert_int_eq(fe_tlsrec_seal(&t, sec, 10, &taken, out, FE_TLSREC_OVERHEAD), 0);
    ck_assert_uint_eq(taken, 0);
    ck_assert_int_eq(fe_tlsrec_seal_close(&t, out, 20), -1);
    fe_tlsrec_free(&t);
}
END_TEST

Suite *suite_fe_tlsrec(void);
Suite *suite_fe_tlsrec(void)
{
    Suite *s = suite_create("fe_tlsrec");
    TCase *tc = tcase_create("openssl");
    tcase_add_loop_test(tc, both_ways_all_suites, 0, 3);
    tcase_add_loop_test(tc, wseq_is_num_tickets, 0, 3);
    tcase_add_test(tc, many_records_partial_and_in_place);
    tcase_add_test(tc, full_records_fit_max_plain);
    tcase_add_loop_test(tc, key_update_both_ways, 0, 3);
    tcase_add_test(tc, close_notify_both_ways);
    tcase_add_test(tc, bad_records_fail);
    tcase_add_test(tc, nothing_buffered_without_read_ahead);
    tcase_add_test(tc, read_ahead_may_buffer);
    tcase_add_test(tc, rfc8448_key_and_iv);
    tcase_add_test(tc, inner_content_rules);
    tcase_add_test(tc, limits_and_bad_init);
    suite_add_tcase(s, tc);
    return s;
}
