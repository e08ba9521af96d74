/* SPDX-License-Identifier: BSD-2-Clause */
/* A frontend child's client side before the relay: bounded waits, error
 * pages (sealed by our record layer after a TLS 1.3 handshake), the PROXY
 * header from a trusted balancer, the TLS handshake, and the first request
 * bytes, kept for Host sniffing and for a replay. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/net.h"
#include "common/proc.h"
#include "common/proxy.h"
#include "frontend/child_int.h"
#include "frontend/http.h"

/* Waits for fd to become ready for events until deadline; false on timeout. */
bool fe_child_wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = bx_now_ms();
        if (now >= deadline)
            return false;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)(deadline - now));
        if (n > 0)
            return true;
        if (n == -1 && errno != EINTR)
            return false;
    }
}

/* Reads and drops what the client still sends, briefly, so the close does
 * not turn into a reset that eats what we wrote last. */
void fe_child_drain(int fd)
{
    char sink[512];
    uint64_t until = bx_now_ms() + 200;
    while (fe_child_wait_fd(fd, POLLIN, until) && read(fd, sink, sizeof sink) > 0)
        ;
}

/* Answers a small error page and lets the client read it. */
void fe_child_send_page(struct conn *c, int status, const char *reason, const char *text)
{
    char page[1024];
    size_t len = fe_http_page(page, sizeof page, status, reason, text), off = 0;
    uint64_t deadline = bx_now_ms() + 2000;
    const unsigned char *data = (const unsigned char *)page;
    unsigned char sealed[sizeof page + 4 * FE_TLSREC_OVERHEAD + 64];
    if (c->use_rec) {
        /* Sealed once into records (and a close_notify), then written like plaintext. */
        size_t taken = 0;
        ssize_t n = fe_tlsrec_seal(&c->rec, data, len, &taken, sealed, sizeof sealed);
        ssize_t a = n > 0 ? fe_tlsrec_seal_close(&c->rec, sealed + n, sizeof sealed - (size_t)n)
                          : -1;
        if (n <= 0 || a <= 0 || taken != len)
            return;
        data = sealed;
        len = (size_t)(n + a);
    }
    while (off < len) {
        ssize_t n;
        if (c->ssl && !c->use_rec) {
            int w = SSL_write(c->ssl, page + off, (int)(len - off));
            if (w > 0) {
                off += (size_t)w;
                continue;
            }
            int e = SSL_get_error(c->ssl, w);
            if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
                break;
            n = -1;
            errno = EAGAIN;
        } else {
            n = write(c->fd, data + off, len - off);
            if (n > 0) {
                off += (size_t)n;
                continue;
            }
        }
        if ((n == -1 && errno != EAGAIN && errno != EINTR) ||
            !fe_child_wait_fd(c->fd, POLLOUT, deadline))
            break;
    }
    if (c->ssl && !c->use_rec) {
        SSL_shutdown(c->ssl);
        ERR_clear_error();
    }
    shutdown(c->fd, SHUT_WR);
    fe_child_drain(c->fd);
}

/* Reads a PROXY v1/v2 header from a trusted load balancer. Returns 1 when
 * one was read (addresses replaced), 0 when there is none, -1 to close. */
int fe_child_read_proxy_header(struct conn *c, bool required, uint64_t deadline)
{
    unsigned char buf[BX_PROXY_V2_MAX_IN];
    struct bx_proxy_info pi;
    char err[BX_ERRLEN];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_PEEK);
        if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
            return -1;
        if (n > 0) {
            ssize_t h = bx_proxy_parse(buf, (size_t)n, &pi, err, sizeof err);
            if (h > 0) {
                if (recv(c->fd, buf, (size_t)h, 0) != h)
                    return -1;
                if (!pi.local && pi.src.ss_family != AF_UNSPEC) {
                    c->client = pi.src;
                    c->clientlen = pi.srclen;
                    c->local = pi.dst;
                    c->locallen = pi.dstlen;
                }
                return 1;
            }
            if (h == BX_PROXY_INVALID) {
                bx_log_warn("client %s: bad PROXY header: %s", c->who, err);
                return -1;
            }
            if (h == BX_PROXY_NONE) {
                if (required)
                    bx_log_warn("client %s: no PROXY header but the service requires one", c->who);
                return required ? -1 : 0;
            }
            if ((size_t)n == sizeof buf)
                return -1;
        }
        if (!fe_child_wait_fd(c->fd, POLLIN, deadline)) {
            bx_log_info("client %s: timeout waiting for the PROXY header", c->who);
            return -1;
        }
    }
}

int fe_child_tls_handshake(struct conn *c, uint64_t deadline)
{
    const struct fe_gen *g = c->env->gen;
    char e[256];
    c->ssl = fe_tls_new(&g->tls, c->fd, &c->tc);
    if (!c->ssl) {
        bx_log_error("client %s: SSL_new: %s", c->who, fe_tls_error(e, sizeof e));
        return -1;
    }
    for (;;) {
        int r = SSL_accept(c->ssl);
        if (r == 1)
            break;
        int err = SSL_get_error(c->ssl, r);
        short ev = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (!ev) {
            bx_log_info("client %s: TLS handshake failed (sni '%s'): %s", c->who, c->tc.sni,
                        fe_tls_error(e, sizeof e));
            return -1;
        }
        if (!fe_child_wait_fd(c->fd, ev, deadline)) {
            bx_log_info("client %s: TLS handshake timeout", c->who);
            return -1;
        }
    }
    c->vhost = c->tc.vhost;
    c->use_rec = fe_tls_take_keys(c->ssl, &c->rec) == 0;
    return 0;
}

/* Reads what the client has sent so far into c->first, without blocking:
 * 1 when bytes came, 0 when it would block, -1 when the client is gone. */
static int read_some_rec(struct conn *c, short *ev)
{
    for (;;) {
        size_t room = sizeof c->first - c->firstlen, used = 0, plain = 0;
        if (fe_tlsrec_open(&c->rec, c->cin, c->cinlen, &used, c->first + c->firstlen, room,
                           &plain) == -1) {
            bx_log_info("client %s: %s", c->who, c->rec.err);
            return -1;
        }
        memmove(c->cin, c->cin + used, c->cinlen - used);
        c->cinlen -= used;
        c->firstlen += plain;
        if (plain)
            return 1;
        if (c->rec.peer_closed)
            return -1;
        /* A whole record that does not fit what is left of first: stop here,
         * the relay opens it. */
        if (c->cinlen >= 5 && c->cinlen >= 5 + (((size_t)c->cin[3] << 8) | c->cin[4])) {
            if (used)
                continue; /* only empty records or a KeyUpdate went by */
            c->first_full = true;
            return 1;
        }
        ssize_t n = read(c->fd, c->cin + c->cinlen, sizeof c->cin - c->cinlen);
        if (n > 0) {
            c->cinlen += (size_t)n;
            continue;
        }
        *ev = POLLIN;
        return n == -1 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    }
}

static int read_some(struct conn *c, short *ev)
{
    size_t room = sizeof c->first - c->firstlen;
    if (c->use_rec)
        return read_some_rec(c, ev);
    if (c->ssl) {
        int n = SSL_read(c->ssl, c->first + c->firstlen, (int)room);
        if (n > 0) {
            c->firstlen += (size_t)n;
            return 1;
        }
        int err = SSL_get_error(c->ssl, n);
        ERR_clear_error();
        *ev = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        return *ev ? 0 : -1;
    }
    ssize_t n = read(c->fd, c->first + c->firstlen, room);
    if (n > 0) {
        c->firstlen += (size_t)n;
        return 1;
    }
    *ev = POLLIN;
    return n == -1 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
}

/* Waits for the first request bytes (the 408 timeout) and keeps them in
 * c->first: they pick the vhost of a plaintext client by its Host header,
 * and they can be sent again when a restarting backend drops the
 * connection before answering. Reads on until the request head is complete
 * (or the buffer full) while the head is short and more is on its way.
 * Returns 0, -1 (client gone) or -2 (timeout before any byte). */
int fe_child_first_bytes(struct conn *c, uint64_t deadline)
{
    if (!c->ssl)
        c->vhost = (int)c->env->gen->tls.def;
    for (;;) {
        short ev = 0;
        int r = read_some(c, &ev);
        if (r < 0)
            return -1;
        bool head = memmem(c->first, c->firstlen, "\r\n\r\n", 4) != NULL;
        if (c->firstlen && (head || c->firstlen == sizeof c->first || c->first_full))
            break;
        if (r == 1)
            continue;
        /* Part of a head: wait a little for the rest, not the whole timeout. */
        uint64_t until = c->firstlen ? bx_now_ms() + 200 : deadline;
        if (c->firstlen && until > deadline)
            until = deadline;
        if (!fe_child_wait_fd(c->fd, ev, until)) {
            if (c->firstlen)
                break;
            return -2;
        }
    }
    char host[256];
    if (!c->ssl && c->env->gen->host_sniff) {
        int h = fe_http_find_host((const char *)c->first, c->firstlen, host, sizeof host);
        const struct bx_vhost *v = h > 0 ? bx_config_find_vhost(c->cfg, host, (size_t)h) : NULL;
        if (v)
            c->vhost = (int)(v - c->cfg->vhosts);
    }
    return 0;
}
