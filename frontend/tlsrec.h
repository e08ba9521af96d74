/* SPDX-License-Identifier: BSD-2-Clause */
/* A TLS 1.3 record layer for the application-data phase of a connection
 * whose handshake OpenSSL did.
 *
 * Why: after the handshake a child needs only the two traffic secrets and
 * the two record sequence numbers to go on relaying. Holding the connection
 * as that small state (instead of a live SSL object) lets the child read and
 * write many records per system call, and lets an idle connection move into
 * a lean process that never touched OpenSSL's handshake state (see
 * doc/design.md, "lean relay").
 *
 * Scope: TLS 1.3 only (RFC 8446 section 5), suites TLS_AES_128_GCM_SHA256,
 * TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256. Handles
 * application data, alerts (close_notify ends the stream, any other alert is
 * fatal) and KeyUpdate in both directions (RFC 8446 4.6.3). Any other
 * post-handshake message is refused. */
#ifndef FE_TLSREC_H
#define FE_TLSREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>

#define FE_TLSREC_MAX_SECRET 48            /* SHA-384 */
#define FE_TLSREC_MAX_PLAIN 16384          /* 2^14 */
#define FE_TLSREC_OVERHEAD (5 + 1 + 16)    /* header, inner type, tag */
#define FE_TLSREC_MAX_RECORD (5 + FE_TLSREC_MAX_PLAIN + 256) /* largest record a peer may send */

/* One direction of traffic protection. */
struct fe_tlsrec_dir {
    unsigned char secret[FE_TLSREC_MAX_SECRET];
    unsigned char iv[12];
    uint64_t seq;
    EVP_CIPHER_CTX *ctx;     /* keyed once; the nonce changes per record */
};

struct fe_tlsrec {
    uint16_t suite;          /* IANA id: 0x1301, 0x1302 or 0x1303 */
    size_t hashlen, keylen;
    const EVP_MD *md;
    const EVP_CIPHER *cipher;
    struct fe_tlsrec_dir rd, wr;
    bool update_due;         /* the peer asked for our KeyUpdate: sent before the next data */
    bool peer_closed;        /* close_notify received */
    char err[96];            /* why the last call failed: names the alert or check */
};

/* Sets up from the handshake's results. client/server secrets are the
 * CLIENT_TRAFFIC_SECRET_0 / SERVER_TRAFFIC_SECRET_0 of the keylog, each
 * hashlen bytes; we are the server, so we read with the client's secret.
 * rseq / wseq: records already received / sent under those secrets.
 *
 * Their values after SSL_do_handshake returned 1 on an OpenSSL 3.0 server
 * (verified in tests/unit/frontend/test_tlsrec.c, wseq_is_num_tickets):
 *  - wseq = N, the server's num_tickets (SSL_CTX_set_num_tickets; default
 *    2, fe_tls sets 1). OpenSSL switches to the application write key right
 *    after its Finished and writes each NewSessionTicket as its own record,
 *    all before SSL_do_handshake returns 1. Nothing else goes out under the
 *    application key during the handshake. (If SSL_write/SSL_read or
 *    SSL_new_session_ticket are used before switching, this no longer holds.)
 *  - rseq = 0: the client's Finished is the last record under its handshake
 *    key, and the server has not read any application record yet...
 *  - ...provided read_ahead is off. With read_ahead off the server reads
 *    exactly the record it needs, so application data the client sent right
 *    after its Finished is still in the socket. With SSL_CTX_set_read_ahead(1)
 *    (what fe_tls does now) OpenSSL reads as much as the socket has, and such
 *    data ends up in OpenSSL's buffer, out of tlsrec's reach; then
 *    SSL_has_pending(ssl) returns 1 (test read_ahead_may_buffer). So: turn
 *    read_ahead off for connections to hand over (SSL_set_read_ahead(ssl, 0)
 *    before the handshake), or check SSL_has_pending() after the handshake
 *    and keep such a connection on SSL_read/SSL_write.
 * Returns 0, or -1 (unsupported suite, wrong length, out of memory). */
int fe_tlsrec_init(struct fe_tlsrec *t, uint16_t suite, const unsigned char *client_secret,
                   const unsigned char *server_secret, size_t secretlen, uint64_t rseq,
                   uint64_t wseq);

/* Fetches the suites' ciphers once (the master, before forking): contexts
 * keyed afterwards in any child do not go through OpenSSL's method store. */
void fe_tlsrec_prefetch(void);

/* Everything another process needs to carry on with a connection: the
 * current secrets (for KeyUpdate), keys, ivs and sequence numbers. */
struct fe_tlsrec_keys {
    uint16_t suite, secretlen;
    uint32_t update_due;
    uint64_t rseq, wseq;
    unsigned char rsecret[FE_TLSREC_MAX_SECRET], wsecret[FE_TLSREC_MAX_SECRET];
    unsigned char rkey[32], wkey[32], riv[12], wiv[12];
};

/* Fills k from t (derives the keys). Returns 0 or -1. */
int fe_tlsrec_export(const struct fe_tlsrec *t, struct fe_tlsrec_keys *k);
/* Sets t up from k without deriving anything (no HMAC: the lean child keys
 * its two cipher contexts and nothing else). Returns 0 or -1. */
int fe_tlsrec_import(struct fe_tlsrec *t, const struct fe_tlsrec_keys *k);

/* Wipes the secrets and frees the cipher contexts. Safe on a zeroed struct. */
void fe_tlsrec_free(struct fe_tlsrec *t);

/* Opens the complete records at the start of in[0..inlen) into out (at most
 * outcap bytes; outcap >= FE_TLSREC_MAX_PLAIN guarantees progress when a whole
 * record is present). in and out may be the same buffer (out <= in); then
 * the consumed records' bytes in `in` are overwritten (decryption happens in
 * place there, since OpenSSL only supports exact, not partial, overlap).
 * Nothing is allocated per record.
 * Sets *consumed to the bytes of in used (whole records only) and *outlen to
 * the plaintext produced. Stops early after a close_notify (peer_closed set).
 * Returns 0, or -1 on a bad record, a failed tag, a fatal alert or a refused
 * message (t->err says which; the connection must be dropped). */
int fe_tlsrec_open(struct fe_tlsrec *t, const unsigned char *in, size_t inlen, size_t *consumed,
                   unsigned char *out, size_t outcap, size_t *outlen);

/* Seals in[0..inlen) into records of at most FE_TLSREC_MAX_PLAIN plaintext
 * bytes each, written to out (outcap bytes). A KeyUpdate the peer asked for
 * goes first. Sets *taken to the plaintext bytes sealed (may be fewer than
 * inlen when out is full; a record is never split across calls) and returns
 * the bytes written to out, or -1 on an internal error. An empty input writes
 * nothing, except a due KeyUpdate: check t->update_due after fe_tlsrec_open and
 * call fe_tlsrec_seal(t, NULL, 0, ...) to flush it when there is no data to send.
 * outcap >= FE_TLSREC_MAX_PLAIN + FE_TLSREC_OVERHEAD + 32 guarantees progress. */
ssize_t fe_tlsrec_seal(struct fe_tlsrec *t, const unsigned char *in, size_t inlen, size_t *taken,
                       unsigned char *out, size_t outcap);

/* Seals a close_notify alert into out (outcap >= 32). Returns its length or -1. */
ssize_t fe_tlsrec_seal_close(struct fe_tlsrec *t, unsigned char *out, size_t outcap);

#endif
