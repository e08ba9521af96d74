/* SPDX-License-Identifier: BSD-2-Clause */
/* Per-vhost TLS contexts, SNI, ALPN and shared session tickets. */
#include "config.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "frontend/keyproc.h"
#include "frontend/keystub.h"
#include "frontend/scoreboard.h"
#include "frontend/tls.h"

static struct fe_tickets *ticket_keys;

void fe_tls_set_ticket_source(struct fe_tickets *t)
{
    ticket_keys = t;
}

const struct fe_tickets *fe_tls_ticket_source(void)
{
    return ticket_keys;
}

const char *fe_tls_error(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        snprintf(buf, len, "no OpenSSL error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

static int sni_cb(SSL *ssl, int *al, void *arg)
{
    const struct fe_tls *t = arg;
    struct fe_tls_conn *c = SSL_get_app_data(ssl);
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const struct bx_vhost *v = NULL;
    if (name) {
        snprintf(c->sni, sizeof c->sni, "%s", name);
        v = bx_config_find_vhost(t->cfg, name, strlen(name));
    }
    if (!v) {
        if (t->strict_sni) {
            *al = SSL_AD_UNRECOGNIZED_NAME;
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        c->vhost = (int)t->def;
        return SSL_TLSEXT_ERR_OK;
    }
    c->vhost = (int)(v - t->cfg->vhosts);
    if ((size_t)c->vhost != t->def)
        SSL_set_SSL_CTX(ssl, t->ctx[c->vhost]);
    return SSL_TLSEXT_ERR_OK;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char ours[] = "\x08http/1.1";
    unsigned char *o;
    if (SSL_select_next_proto(&o, outlen, ours, sizeof ours - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK; /* no common protocol: carry on without ALPN */
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

/* Tickets: AES-256-CBC + HMAC-SHA256 with the keys shared by the master. Returns
 * 1 (key found / ticket made), 2 (old key: issue a fresh ticket), 0 (unknown
 * key or no keys to be had: no ticket is issued, or a full handshake) or -1.
 * Keys that cannot be read consistently are never used: nothing else is
 * there to encrypt with, or to send as the key name. */
int fe_tls_ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                     EVP_MAC_CTX *hctx, int enc)
{
    struct fe_ticket_key k[2];
    int which = 0, rc = 1;
    if (!ticket_keys || fe_tickets_get(ticket_keys, k) == -1)
        return 0;
    if (enc) {
        if (RAND_bytes(iv, 16) != 1)
            return -1;
        memcpy(name, k[0].name, 16);
    } else if (memcmp(name, k[0].name, 16) == 0) {
        which = 0;
    } else if (memcmp(name, k[1].name, 16) == 0) {
        which = 1;
        rc = 2;
    } else {
        OPENSSL_cleanse(k, sizeof k);
        return 0;
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k[which].hmac, 32),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_MAC_CTX_set_params(hctx, params) == 1 &&
             (enc ? EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k[which].aes, iv)
                  : EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k[which].aes, iv)) == 1;
    OPENSSL_cleanse(k, sizeof k);
    return ok ? rc : -1;
}

/* ---- handing a TLS 1.3 connection to our own record layer ---------------
 * The keylog callback gives the application traffic secrets, the message
 * callback counts the records the server wrote, so after the handshake the
 * number written under the server's application key (session tickets) is
 * known. One child serves one handshake at a time: static state suffices.
 * The secrets never leave this process except to the lean relay
 * (child_backend.c hands them over, master_pool.c forks it). */
static struct {
    unsigned char client[FE_TLSREC_MAX_SECRET], server[FE_TLSREC_MAX_SECRET];
    size_t clen, slen;
    uint64_t written;           /* records written by the server */
    uint64_t written_at_key;    /* ... when its application key was made */
} keys;

static int nibble(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static int unhex(const char *h, unsigned char *out, size_t max, size_t *len)
{
    size_t n = 0;
    while (h[0] && h[0] != ' ') {
        int hi = nibble(h[0]), lo = h[1] ? nibble(h[1]) : -1;
        if (n == max || hi < 0 || lo < 0)
            return -1;
        out[n++] = (unsigned char)(hi << 4 | lo);
        h += 2;
    }
    *len = n;
    return 0;
}

static void keylog_cb(const SSL *ssl, const char *line)
{
    static const char cl[] = "CLIENT_TRAFFIC_SECRET_0 ", sl[] = "SERVER_TRAFFIC_SECRET_0 ";
    bool client = strncmp(line, cl, sizeof cl - 1) == 0;
    if (!client && strncmp(line, sl, sizeof sl - 1) != 0)
        return;
    const char *p = strchr(line + sizeof cl - 1, ' '); /* past the client random */
    if (!p)
        return;
    if (client) {
        if (unhex(p + 1, keys.client, sizeof keys.client, &keys.clen) == -1)
            keys.clen = 0;
    } else {
        if (unhex(p + 1, keys.server, sizeof keys.server, &keys.slen) == -1)
            keys.slen = 0;
        keys.written_at_key = keys.written;
    }
}

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                   SSL *ssl, void *arg)
{
    (void)version, (void)buf, (void)len, (void)ssl, (void)arg;
    if (write_p && content_type == SSL3_RT_HEADER)
        keys.written++;
}

void fe_tls_forget_keys(void)
{
    OPENSSL_cleanse(&keys, sizeof keys);
}

void fe_tls_capture_keys(SSL_CTX *ctx)
{
    SSL_CTX_set_keylog_callback(ctx, keylog_cb);
    SSL_CTX_set_msg_callback(ctx, msg_cb);
}

int fe_tls_ktls_force;

bool fe_tls_records_ours(int version, bool ktls_send, bool ktls_recv, bool keys_known,
                         bool buffered)
{
    /* kTLS in either direction means the kernel seals or opens records on
     * this socket: ours on top would encrypt twice (or read ciphertext the
     * kernel already consumed). OpenSSL then carries on, with the kernel. */
    if (ktls_send || ktls_recv)
        return false;
    return version == TLS1_3_VERSION && keys_known && !buffered;
}

/* What OpenSSL switched to kernel TLS on this connection (FE_KTLS_* bits). */
static int ktls_flags(SSL *ssl)
{
    int f = fe_tls_ktls_force;
#ifdef SSL_OP_ENABLE_KTLS
    if (BIO_get_ktls_send(SSL_get_wbio(ssl)))
        f |= FE_KTLS_SEND;
    if (BIO_get_ktls_recv(SSL_get_rbio(ssl)))
        f |= FE_KTLS_RECV;
#else
    (void)ssl;
#endif
    return f;
}

int fe_tls_take_keys(SSL *ssl, struct fe_tlsrec *rec)
{
    int rc = -1;
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    int k = ktls_flags(ssl);
    bool known = c && keys.clen && keys.clen == keys.slen;
    bool buffered = SSL_has_pending(ssl) || BIO_pending(SSL_get_rbio(ssl)) != 0;
    if (fe_tls_records_ours(SSL_version(ssl), k & FE_KTLS_SEND, k & FE_KTLS_RECV, known, buffered))
        rc = fe_tlsrec_init(rec, SSL_CIPHER_get_protocol_id(c), keys.client, keys.server, keys.clen,
                            0, keys.written - keys.written_at_key);
    fe_tls_forget_keys();
    return rc;
}

/* The daemon: the key process's public half of the vhost's key must be the
 * certificate's, and the context gets a key stub (keystub.h), never the key.
 * -t (pub NULL): the key is read here, to check it, in a process that serves no one. */
static int use_key(SSL_CTX *ctx, const struct bx_vhost *v, unsigned gen, unsigned idx,
                   EVP_PKEY *pub, char *err, size_t errlen)
{
    char e[BX_ERRLEN];
    EVP_PKEY *k;
    if (pub) {
        X509 *x = SSL_CTX_get0_certificate(ctx);
        if (!x || EVP_PKEY_eq(X509_get0_pubkey(x), pub) != 1) {
            snprintf(err, errlen, "vhost '%s': key %s does not match certificate %s", v->name,
                     v->key, v->cert);
            ERR_clear_error();
            return -1;
        }
        k = fe_keystub_new(pub, gen, idx, e, sizeof e);
    } else {
        k = kp_load_key(v->key, e, sizeof e);
    }
    if (!k) {
        snprintf(err, errlen, "vhost '%s': %s", v->name, e);
        return -1;
    }
    int ok = SSL_CTX_use_PrivateKey(ctx, k) == 1 && SSL_CTX_check_private_key(ctx) == 1;
    EVP_PKEY_free(k);
    if (!ok) {
        snprintf(err, errlen, "vhost '%s': key %s does not match certificate %s (%s)", v->name,
                 v->key, v->cert, fe_tls_error(e, sizeof e));
        return -1;
    }
    return 0;
}

static SSL_CTX *build_ctx(const struct fe_tls *t, const struct bx_vhost *v, EVP_PKEY *pub,
                          char *err, size_t errlen)
{
    const struct bx_tls_conf *tc = &t->cfg->fe.tls;
    char e[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "vhost '%s': SSL_CTX_new: %s", v->name, fe_tls_error(e, sizeof e));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, tc->min_version);
    SSL_CTX_set_max_proto_version(ctx, tc->max_version);
    uint64_t opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                    SSL_OP_NO_COMPRESSION;
#ifdef SSL_OP_ENABLE_KTLS
    opts |= SSL_OP_ENABLE_KTLS;
#endif
    SSL_CTX_set_options(ctx, opts);
    /* Idle connections give their 16+ KiB record buffers back. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Sessions live in tickets only: a per-process cache is useless when every
     * client meets a different process. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* No read-ahead during the handshake: OpenSSL must not swallow the
     * first application records, which our own record layer reads (see
     * fe_tls_take_keys). The OpenSSL relay turns it on afterwards. */
    SSL_CTX_set_read_ahead(ctx, 0);
    fe_tls_capture_keys(ctx);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)v->name,
                                   (unsigned)(strlen(v->name) > 32 ? 32 : strlen(v->name)));
    SSL_CTX_set_num_tickets(ctx, 1);
    if ((tc->ciphers && SSL_CTX_set_cipher_list(ctx, tc->ciphers) != 1) ||
        (tc->ciphersuites && SSL_CTX_set_ciphersuites(ctx, tc->ciphersuites) != 1)) {
        snprintf(err, errlen, "frontend.tls: bad cipher list: %s", fe_tls_error(e, sizeof e));
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, v->cert) != 1) {
        snprintf(err, errlen, "vhost '%s': cannot load certificate chain %s: %s", v->name, v->cert,
                 fe_tls_error(e, sizeof e));
        goto fail;
    }
    if (use_key(ctx, v, t->gen, (unsigned)(v - t->cfg->vhosts), pub, err, errlen) == -1)
        goto fail;
    SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
    SSL_CTX_set_tlsext_servername_arg(ctx, (void *)t);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, fe_tls_ticket_cb);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* One in-memory handshake per protocol version against ctx, so the
 * algorithm caches OpenSSL fills on first use are filled in the master and
 * shared by every child instead of being rebuilt (and dirtied) in each. */
static void warm_up(SSL_CTX *sctx, int version)
{
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL *c = NULL, *s = NULL;
    BIO *cb = NULL, *sb = NULL;
    if (!cctx || BIO_new_bio_pair(&cb, 0, &sb, 0) != 1)
        goto out;
    SSL_CTX_set_min_proto_version(cctx, version);
    SSL_CTX_set_max_proto_version(cctx, version);
    c = SSL_new(cctx);
    s = SSL_new(sctx);
    if (!c || !s)
        goto out;
    struct fe_tls_conn conn = {0};
    SSL_set_app_data(s, &conn);
    SSL_set_bio(c, cb, cb);
    SSL_set_bio(s, sb, sb);
    cb = sb = NULL;
    SSL_set_tlsext_host_name(c, "warm-up.invalid");
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    unsigned char byte = 0;
    for (int i = 0; i < 16; i++) {
        int a = SSL_do_handshake(c), b = SSL_do_handshake(s);
        if (a == 1 && b == 1)
            break;
    }
    if (SSL_write(c, "x", 1) == 1)
        SSL_read(s, &byte, 1);
    if (SSL_write(s, "y", 1) == 1)
        SSL_read(c, &byte, 1);
out:
    SSL_free(c);
    SSL_free(s);
    BIO_free(cb);
    BIO_free(sb);
    SSL_CTX_free(cctx);
    ERR_clear_error();
}

bool fe_tls_wanted(const struct bx_config *cfg)
{
    for (size_t i = 0; i < cfg->fe.nservices; i++)
        if (cfg->fe.services[i].tls)
            return true;
    return false;
}

int fe_tls_build(struct fe_tls *t, const struct bx_config *cfg, unsigned gen, EVP_PKEY **pubs,
                 char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->cfg = cfg;
    t->gen = gen;
    t->strict_sni = cfg->fe.tls.strict_sni;
    const struct bx_vhost *d = bx_config_default_vhost(cfg);
    t->def = d ? (size_t)(d - cfg->vhosts) : 0;
    if (!fe_tls_wanted(cfg))
        return 0;
    t->ctx = calloc(cfg->nvhosts, sizeof *t->ctx);
    if (!t->ctx) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    t->n = cfg->nvhosts;
    for (size_t i = 0; i < cfg->nvhosts; i++) {
        t->ctx[i] = build_ctx(t, &cfg->vhosts[i], pubs ? pubs[i] : NULL, err, errlen);
        if (!t->ctx[i]) {
            fe_tls_free(t);
            return -1;
        }
    }
    warm_up(t->ctx[t->def], TLS1_3_VERSION);
    warm_up(t->ctx[t->def], TLS1_2_VERSION);
    fe_tls_forget_keys();
    return 0;
}

int fe_tls_keys_match(const struct fe_tls *t, EVP_PKEY **pubs, char *err, size_t errlen)
{
    for (size_t i = 0; i < t->n; i++) {
        X509 *x = SSL_CTX_get0_certificate(t->ctx[i]);
        if (!x || EVP_PKEY_eq(X509_get0_pubkey(x), pubs[i]) != 1) {
            const struct bx_vhost *v = &t->cfg->vhosts[i];
            snprintf(err, errlen, "vhost '%s': key %s does not match certificate %s", v->name,
                     v->key, v->cert);
            ERR_clear_error();
            return -1;
        }
    }
    return 0;
}

void fe_tls_free(struct fe_tls *t)
{
    for (size_t i = 0; i < t->n; i++)
        SSL_CTX_free(t->ctx[i]);
    free(t->ctx);
    t->ctx = NULL;
    t->n = 0;
}

SSL *fe_tls_new(const struct fe_tls *t, int fd, struct fe_tls_conn *conn)
{
    SSL *ssl = SSL_new(t->ctx[t->def]);
    if (!ssl)
        return NULL;
    conn->vhost = (int)t->def;
    conn->sni[0] = '\0';
    SSL_set_app_data(ssl, conn);
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}
