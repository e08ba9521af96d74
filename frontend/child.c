/* SPDX-License-Identifier: BSD-2-Clause */
/* The per-client process; see child.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/net.h"
#include "common/proc.h"
#include "common/proxy.h"
#include "common/sandbox.h"
#include "frontend/access.h"
#include "frontend/child.h"
#include "frontend/keystub.h"
#include "frontend/lean.h"
#include "frontend/lifeline.h"
#include "frontend/pool.h"
#include "frontend/refuse.h"
#include "frontend/waitroom.h"
#include "frontend/relay.h"
#include "frontend/scoreboard.h"

/* The first request bytes are kept (Host sniffing, replay) up to this. */
#define FIRST_READ 16384

struct conn {
    const struct fe_child_env *env;
    const struct bx_config *cfg;
    const struct fe_listener *l;
    int fd;
    struct sockaddr_storage client, local;
    socklen_t clientlen, locallen;
    char who[BX_ADDRSTRLEN];    /* client address for the log */
    SSL *ssl;
    struct fe_tls_conn tc;
    /* TLS 1.3 after the handshake: our own record layer (ssl stays for its
     * facts: version, ALPN, cipher), and the client bytes read but not yet
     * opened (at most one record when first_bytes stops). */
    bool use_rec, first_full;
    bool handed;                /* a lean child took the connection and our slot */
    struct fe_tlsrec rec;
    unsigned char cin[FE_TLSREC_MAX_RECORD];
    size_t cinlen;
    int vhost;
    uint64_t start_ms;
    char id[24];
    unsigned char first[FIRST_READ];
    size_t firstlen;
};

size_t fe_http_page(char *out, size_t outlen, int status, const char *reason, const char *text)
{
    char body[512];
    int b = snprintf(body, sizeof body,
                     "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>"
                     "<body><h1>%d %s</h1><p>%s</p></body></html>\n",
                     status, reason, status, reason, text);
    if (b < 0 || (size_t)b >= sizeof body)
        b = 0;
    int n = snprintf(out, outlen,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
                     "Content-Length: %d\r\nConnection: close\r\nCache-Control: no-store\r\n"
                     "%s\r\n%s",
                     status, reason, b, status == 503 ? "Retry-After: 1\r\n" : "", b ? body : "");
    return n < 0 ? 0 : (size_t)n >= outlen ? outlen - 1 : (size_t)n;
}

int fe_http_find_host(const char *buf, size_t len, char *out, size_t outlen)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return -1;
    const char *p = memchr(buf, '\n', (size_t)(end - buf));
    while (p && p < end) {
        const char *line = p + 1;
        const char *eol = memchr(line, '\n', (size_t)(end + 2 - line));
        if (!eol)
            break;
        if ((size_t)(eol - line) > 5 && strncasecmp(line, "host:", 5) == 0) {
            const char *v = line + 5, *e = eol;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                e--;
            /* strip the port; keep an IPv6 literal's brackets intact */
            const char *colon = NULL;
            for (const char *q = e; q > v; q--)
                if (q[-1] == ':') {
                    colon = q - 1;
                    break;
                } else if (q[-1] == ']') {
                    break;
                }
            if (colon)
                e = colon;
            size_t n = (size_t)(e - v);
            if (n == 0 || n >= outlen)
                return 0;
            memcpy(out, v, n);
            out[n] = '\0';
            return (int)n;
        }
        p = eol;
    }
    return 0;
}

/* Waits for fd to become ready for events until deadline; false on timeout. */
static bool wait_fd(int fd, short events, uint64_t deadline)
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
static void drain(int fd)
{
    char sink[512];
    uint64_t until = bx_now_ms() + 200;
    while (wait_fd(fd, POLLIN, until) && read(fd, sink, sizeof sink) > 0)
        ;
}

/* Answers a small error page and lets the client read it. */
static void send_page(struct conn *c, int status, const char *reason, const char *text)
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
        ssize_t a = n > 0 ? fe_tlsrec_seal_close(&c->rec, sealed + n, sizeof sealed - (size_t)n) : -1;
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
            !wait_fd(c->fd, POLLOUT, deadline))
            break;
    }
    if (c->ssl && !c->use_rec) {
        SSL_shutdown(c->ssl);
        ERR_clear_error();
    }
    shutdown(c->fd, SHUT_WR);
    drain(c->fd);
}

/* Reads a PROXY v1/v2 header from a trusted load balancer. Returns 1 when
 * one was read (addresses replaced), 0 when there is none, -1 to close. */
static int read_proxy_header(struct conn *c, bool required, uint64_t deadline)
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
                    bx_log_warn("client %s: no PROXY header but the service requires one",
                                c->who);
                return required ? -1 : 0;
            }
            if ((size_t)n == sizeof buf)
                return -1;
        }
        if (!wait_fd(c->fd, POLLIN, deadline)) {
            bx_log_info("client %s: timeout waiting for the PROXY header", c->who);
            return -1;
        }
    }
}

static int tls_handshake(struct conn *c, uint64_t deadline)
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
        if (!wait_fd(c->fd, ev, deadline)) {
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
static int first_bytes(struct conn *c, uint64_t deadline)
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
        if (!wait_fd(c->fd, ev, until)) {
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

/* A request that may be sent again when the backend dropped it unanswered
 * (and nothing read after it that the relay consumed). */
static bool replayable(const struct conn *c)
{
    if (c->use_rec && c->cinlen)
        return false;
    return (c->firstlen > 4 && memcmp(c->first, "GET ", 4) == 0) ||
           (c->firstlen > 5 && memcmp(c->first, "HEAD ", 5) == 0);
}

/* Connects to one backend: 0 with *out, -1 with the cause in err, or -2
 * when a Unix backend's backlog is full (up, but cannot take us now). */
static int connect_member(const struct conn *c, const struct bx_baddr *a, int *out, char *err,
                          size_t errlen)
{
    if (a->kind == BX_BADDR_TCP) {
        int fd = bx_connect_tcp((const struct sockaddr *)&a->ss, a->sslen, a->text, err, errlen);
        if (fd == -1)
            return -1;
        if (bx_connect_wait(fd, c->cfg->fe.backend_connect_timeout_ms, a->text, err,
                            errlen) == -1) {
            close(fd);
            return -1;
        }
        *out = fd;
        return 0;
    }
    int fd = bx_connect_unix(a->path, err, errlen);
    if (fd == -1)
        return -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        *out = fd;
        return 0;
    }
    snprintf(err, errlen, "unix:%s: backlog full", a->path);
    close(fd);
    return -2;
}

/* Until when each pool member (by its table index) is down in this child's
 * own experience: its next clients skip it even before the master's probe
 * has confirmed it. Private memory. */
static uint64_t local_down_until[BX_SB_POOL_MAX];

static uint32_t local_avoid(const struct conn *c, const struct bx_vhost *v)
{
    uint32_t avoid = 0;
    uint64_t now = bx_now_ms();
    for (size_t k = 0; k < v->npool; k++) {
        int idx = fe_pool_index(c->cfg, v, k);
        if (idx >= 0 && local_down_until[idx] > now)
            avoid |= 1u << k;
    }
    return avoid;
}

/* Member k of v failed: skipped here for backend_down_time, and reported
 * in our slot so that the master probes it now (pool.h). */
static void member_failed(const struct conn *c, const struct bx_vhost *v, size_t k)
{
    int idx = fe_pool_index(c->cfg, v, k);
    if (idx < 0)
        return;
    local_down_until[idx] = bx_now_ms() + (uint64_t)c->cfg->fe.backend_down_ms;
    struct bx_sb_slot *s = c->env->slot;
    __atomic_store_n(&s->fail_member, (uint32_t)idx + 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->fail_seq, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    if (write(c->env->notify_fd, &one, sizeof one) == -1) {
        /* the master reads the reports on its timer anyway */
    }
}

static void log_member_failed(const struct conn *c, const struct bx_vhost *v, const char *err)
{
    char line[BX_ERRLEN + 256];
    snprintf(line, sizeof line, "client %s id %s vhost %s: backend failed: %s; trying another "
             "member", c->who, c->id, v->name, err);
    fe_refuse_log(FE_REFUSE_POOL, line);
}

/* Ties between equally busy members are broken by the connection id, so
 * that clients in a row spread even when the same few slots serve them. */
static size_t conn_hash(const char *id)
{
    size_t h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h;
}

/* Connects to a member of the vhost's pool (pool.h: the least busy that is
 * up), trying the next at once when one fails, and rounds of every member
 * for backend_retry_ms so a backend restart does not fail clients. skip:
 * members not to use for this client while another is left (one that
 * dropped its request). Returns the fd and *member, or -1 (err: the last
 * cause, naming the backend). */
static int connect_backend(struct conn *c, const struct bx_vhost *v, uint32_t skip, int *member,
                           char *err, size_t errlen)
{
    uint64_t deadline = bx_now_ms() + (uint64_t)c->cfg->fe.backend_retry_ms;
    unsigned delay = 5;
    uint32_t tried = skip;
    bool attempted = false, any_down = false;
    for (;;) {
        int k = fe_pool_pick(c->env->sb, c->cfg, c->env->gen->id, v, tried, local_avoid(c, v),
                             conn_hash(c->id));
        if (k < 0) {
            /* Every member tried this round. Full backlogs only: answer at
             * once (waiting would make the client hang); else try again. */
            if (attempted && !any_down)
                return -1;
            uint64_t now = bx_now_ms();
            if (attempted && now + delay > deadline)
                return -1;
            if (attempted) {
                struct timespec ts = {0, (long)delay * 1000000L};
                nanosleep(&ts, NULL);
                delay = delay * 2 > 100 ? 100 : delay * 2;
            }
            tried = 0;
            attempted = any_down = false;
            continue;
        }
        int idx = fe_pool_index(c->cfg, v, (size_t)k);
        __atomic_store_n(&c->env->slot->member, (uint32_t)(idx + 1), __ATOMIC_RELAXED);
        int fd, r = connect_member(c, &v->pool[k], &fd, err, errlen);
        if (r == 0) {
            *member = k;
            bx_log_debug("client %s id %s vhost %s: backend %s", c->who, c->id, v->name,
                         v->pool[k].text);
            return fd;
        }
        tried |= 1u << k;
        attempted = true;
        if (r == -1) {
            any_down = true;
            if (v->npool > 1)
                member_failed(c, v, (size_t)k);
        }
        if (v->npool > 1)
            log_member_failed(c, v, err);
    }
}

static int send_proxy_v2(struct conn *c, int bfd)
{
    struct bx_proxy_info pi;
    memset(&pi, 0, sizeof pi);
    pi.version = 2;
    pi.src = c->client;
    pi.srclen = c->clientlen;
    pi.dst = c->local;
    pi.dstlen = c->locallen;
    size_t idlen = strlen(c->id);
    memcpy(pi.unique_id, c->id, idlen);
    pi.unique_id_len = idlen;
    if (c->ssl) {
        const unsigned char *alpn;
        unsigned alen;
        pi.ssl = true;
        snprintf(pi.authority, sizeof pi.authority, "%s", c->tc.sni);
        SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
        if (alen && alen < sizeof pi.alpn) {
            memcpy(pi.alpn, alpn, alen);
            pi.alpn[alen] = '\0';
        }
        snprintf(pi.ssl_version, sizeof pi.ssl_version, "%s", SSL_get_version(c->ssl));
        snprintf(pi.ssl_cipher, sizeof pi.ssl_cipher, "%s", SSL_get_cipher_name(c->ssl));
    }
    unsigned char hdr[BX_PROXY_V2_MAX_OUT];
    size_t len = bx_proxy_encode_v2(hdr, sizeof hdr, &pi);
    if (len == 0)
        return -1;
    /* A fresh Unix socket has room for this; wait briefly if it does not. */
    size_t off = 0;
    uint64_t deadline = bx_now_ms() + 1000;
    while (off < len) {
        ssize_t n = write(bfd, hdr + off, len - off);
        if (n > 0)
            off += (size_t)n;
        else if ((n == -1 && errno != EAGAIN && errno != EINTR) ||
                 !wait_fd(bfd, POLLOUT, deadline))
            return -1;
    }
    return 0;
}

/* The relay's hand-off hook: offers the idle connection to the master for a
 * lean child (lean.h). Only when both sides are open and nothing is
 * buffered, which the relay has checked. */
static int handoff_to_lean(struct fe_relay *r, void *arg)
{
    struct conn *c = arg;
    if (c->env->handoff_fd < 0 || (c->ssl && !c->use_rec))
        return -1;
    struct fe_handoff h;
    memset(&h, 0, sizeof h);
    h.magic = FE_HANDOFF_MAGIC;
    h.slot = (uint32_t)c->env->slot_index;
    if (c->use_rec) {
        h.tls = 1;
        if (fe_tlsrec_export(&c->rec, &h.keys) == -1)
            return -1;
        snprintf(h.version, sizeof h.version, "%s", SSL_get_version(c->ssl));
    }
    h.idle_ms = r->idle_ms;
    h.stall_ms = r->stall_ms;
    h.in = r->in;
    h.out = r->out;
    h.last_io_ms = r->last_io;
    h.start_ms = c->start_ms;
    snprintf(h.who, sizeof h.who, "%s", c->who);
    snprintf(h.id, sizeof h.id, "%s", c->id);
    snprintf(h.vhost, sizeof h.vhost, "%s", c->cfg->vhosts[c->vhost].name);
    pid_t lean = fe_handoff_send(c->env->handoff_fd, &h, r->cfd, r->bfd, -1);
    OPENSSL_cleanse(&h, sizeof h);
    if (lean <= 0)
        return -1;
    c->handed = true;
    bx_log_debug("client %s id %s: idle, handed to lean relay %d", c->who, c->id, (int)lean);
    return 0;
}

/* Refusals before the handshake: a page on plaintext, an alert on TLS
 * (refuse.h says why not a 503 after a handshake). */
static void refuse(struct conn *c, int status, const char *reason, const char *text)
{
    if (!c->env->gen->cfg->fe.services[c->l->service].tls) {
        send_page(c, status, reason, text);
        return;
    }
    fe_refuse_write(c->fd, true);
    drain(c->fd);
}

/* One refusal line, rate-limited per class (refuse.h). */
static void log_refused(enum fe_refusal k, const struct conn *c, const char *why)
{
    char line[256];
    snprintf(line, sizeof line, "client %s: refused, %s", c->who, why);
    fe_refuse_log(k, line);
}

/* The PROXY header from a trusted load balancer, and allow/deny for the
 * client it names: the peer itself was judged at accept (wait_accept), a
 * proxied client is judged right after its header (access.h). */
static bool admit_proxied(struct conn *c, const struct bx_service *sv, uint64_t deadline)
{
    if (sv->proxy_protocol == BX_PROXY_OFF)
        return true;
    bool trusted = bx_cidr_list_match(sv->proxy_from.v, sv->proxy_from.n,
                                      (struct sockaddr *)&c->client);
    if (!trusted && sv->proxy_protocol == BX_PROXY_REQUIRED) {
        bx_log_warn("client %s: not allowed to send a PROXY header (proxy_from)", c->who);
        return false;
    }
    if (!trusted)
        return true;
    if (read_proxy_header(c, sv->proxy_protocol == BX_PROXY_REQUIRED, deadline) < 0)
        return false;
    bx_sockaddr_str((struct sockaddr *)&c->client, c->clientlen, true, c->who, sizeof c->who);
    return fe_access_client(sv, (struct sockaddr *)&c->client, c->clientlen);
}

/* debug_ip and per_ip_max: false (the client refused) when either says no. */
static bool admit_ip(struct conn *c)
{
    const struct bx_frontend_conf *fe = &c->cfg->fe;
    const struct fe_gen *g = c->env->gen;
    if (g->debug_ok && !bx_cidr_match(&g->debug_net, (struct sockaddr *)&c->client)) {
        bx_log_debug("client %s: closed, debug_ip serves only %s", c->who, fe->debug_ip);
        return false;
    }
    int holder = 0;
    enum fe_admit adm = fe_scoreboard_admit_ip(c->env->sb, c->env->slot,
                                               (struct sockaddr *)&c->client, fe->per_ip_max,
                                               &holder);
    if (adm == FE_ADMIT_LOCK_TIMEOUT) {
        char why[128];
        snprintf(why, sizeof why, "the per_ip_max lock is held by pid %d for over %d ms",
                 holder, FE_IP_LOCK_WAIT_MS);
        log_refused(FE_REFUSE_PER_IP, c, why);
        refuse(c, 503, "Service Unavailable", "The server is busy, please try again.");
        return false;
    }
    if (adm != FE_ADMIT_OK) {
        char why[64];
        snprintf(why, sizeof why, "per_ip_max %d reached", fe->per_ip_max);
        log_refused(FE_REFUSE_PER_IP, c, why);
        refuse(c, 503, "Service Unavailable", "Too many connections from your address.");
        return false;
    }
    return true;
}

/* Connects to the vhost's backend and relays until the end, sending the
 * request again (up to three times) when a backend on its way out dropped
 * it unanswered, to another pool member when there is one. False when the
 * client got an error page instead. */
static bool relay_to_backend(struct conn *c, const struct bx_vhost *v, struct fe_relay *rl)
{
    const struct bx_frontend_conf *fe = &c->cfg->fe;
    char err[BX_ERRLEN];
    uint32_t skip = 0;
    for (int attempt = 0;; attempt++) {
        int k = 0;
        int bfd = connect_backend(c, v, skip, &k, err, sizeof err);
        if (bfd == -1) {
            char line[BX_ERRLEN + 256];
            snprintf(line, sizeof line, "client %s id %s vhost %s: backend unreachable: %s; 503",
                     c->who, c->id, v->name, err);
            fe_refuse_log(FE_REFUSE_BACKEND, line);
            send_page(c, 503, "Service Unavailable", "The backend is not reachable.");
            return false;
        }
        if (send_proxy_v2(c, bfd) == -1) {
            close(bfd);
            skip |= 1u << k;
            if (attempt < 3)
                continue; /* dropped by a backend on its way out: try the next one */
            char line[BX_ERRLEN + 256];
            snprintf(line, sizeof line, "client %s id %s vhost %s: cannot send the PROXY header "
                     "to %s: 502", c->who, c->id, v->name, v->pool[k].text);
            fe_refuse_log(FE_REFUSE_BACKEND, line);
            send_page(c, 502, "Bad Gateway", "The backend is not reachable.");
            return false;
        }
        fe_slot_set(c->env->slot, FE_SLOT_RELAY);
        fe_lifeline_relay_fd(bfd);
        *rl = (struct fe_relay){
            .cfd = c->fd, .bfd = bfd, .ssl = c->use_rec ? NULL : c->ssl,
            .rec = c->use_rec ? &c->rec : NULL, .cpre = c->cin, .cprelen = c->cinlen,
            .idle_ms = fe->idle_timeout_ms, .stall_ms = fe->stall_timeout_ms,
            .slot = c->env->slot, .pre = c->first, .prelen = c->firstlen,
            .handoff = handoff_to_lean, .handoff_arg = c,
        };
        fe_relay_run(rl);
        fe_lifeline_relay_fd(-1);
        close(bfd);
        if (rl->no_fds) {
            log_refused(FE_REFUSE_FD_LIMIT, c, "no descriptor for the relay (Too many open "
                                               "files): 503");
            send_page(c, 503, "Service Unavailable", "The server is busy, please try again.");
            return false;
        }
        /* A backend that stops drops what it accepted but never read: nothing
         * reached the client, so a GET or HEAD can go to the next backend. */
        if (!rl->unanswered || attempt >= 3 || !replayable(c) || fe_lifeline_end_asked())
            return true;
        skip |= 1u << k;
        if (v->npool > 1)
            member_failed(c, v, (size_t)k); /* the master probes it now */
        bx_log_notice("client %s id %s vhost %s: backend %s closed before answering; sending "
                      "the request again%s", c->who, c->id, v->name, v->pool[k].text,
                      v->npool > 1 ? " to another member" : "");
    }
}

static void log_relay_end(const struct conn *c, const struct bx_vhost *v,
                          const struct fe_relay *rl)
{
    bx_log_info("client %s id %s vhost %s%s%s%s%s: relay %s, %llu bytes in, %llu out, %llums, %s",
                c->who, c->id, v->name, c->ssl ? " " : "", c->ssl ? SSL_get_version(c->ssl) : "",
                c->ssl && c->tc.sni[0] ? " sni" : "",
                c->ssl && SSL_session_reused(c->ssl) ? " resumed" : "", rl->path,
                (unsigned long long)rl->in, (unsigned long long)rl->out,
                (unsigned long long)(bx_now_ms() - c->start_ms),
                fe_lifeline_end_asked() ? "ended by the master (reload limits)" : rl->end);
}

/* One client from accept to close: admission, handshake, first request,
 * then the relay to its backend. */
static void serve(struct conn *c)
{
    const struct bx_frontend_conf *fe = &c->cfg->fe;
    const struct bx_service *sv = &fe->services[c->l->service];
    c->start_ms = bx_now_ms();
    uint64_t hs_deadline = c->start_ms + (uint64_t)fe->handshake_timeout_ms;
    bx_sockaddr_str((struct sockaddr *)&c->client, c->clientlen, true, c->who, sizeof c->who);
    if (!admit_proxied(c, sv, hs_deadline))
        return;
    fe_scoreboard_conn_id(c->env->sb, c->id, sizeof c->id);
    memcpy(c->env->slot->conn_id, c->id, sizeof c->env->slot->conn_id);
    if (!admit_ip(c))
        return;
    if (sv->tls && tls_handshake(c, hs_deadline) == -1)
        return;
    int r = first_bytes(c, bx_now_ms() + (uint64_t)fe->request_timeout_ms);
    if (r == -2) {
        bx_log_info("client %s: no request within request_timeout", c->who);
        send_page(c, 408, "Request Timeout", "No request arrived in time.");
        return;
    }
    if (r < 0 || (!c->ssl && fe_test_hook(c->env, c->fd, c->first, c->firstlen)))
        return;
    const struct bx_vhost *v = &c->cfg->vhosts[c->vhost];
    snprintf(c->env->slot->vhost, sizeof c->env->slot->vhost, "%s", v->name);
    struct fe_relay rl;
    if (!relay_to_backend(c, v, &rl))
        return;
    log_relay_end(c, v, &rl);
    if (c->ssl && !c->use_rec && strcmp(rl.end, "closed") == 0) {
        SSL_shutdown(c->ssl);
        ERR_clear_error();
    }
}

/* A descriptor kept in reserve for the descriptor limit: given up to
 * accept one client there and tell it 503 (or a TLS alert) at once, instead
 * of leaving every queued client to hang until its timeout. */
static int reserve_fd = -1;

static void refuse_at_fd_limit(const struct fe_child_env *env, const struct fe_listener *l)
{
    int e = errno;
    if (reserve_fd >= 0) {
        close(reserve_fd);
        reserve_fd = -1;
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            fe_refuse_write(fd, env->gen->cfg->fe.services[l->service].tls);
            close(fd);
        }
        reserve_fd = fcntl(env->notify_fd, F_DUPFD_CLOEXEC, 0);
    }
    char line[160];
    snprintf(line, sizeof line, "port %d: accept: %s: client refused with a 503 (or a TLS alert)",
             l->port, strerror(e));
    fe_refuse_log(FE_REFUSE_FD_LIMIT, line);
    if (reserve_fd < 0) {
        /* no reserve: the limit is ours alone; let a sibling take the queue */
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The listener of ours a client passed back by the waiting room came in
 * on: by index when it is of our generation, else by its local port. */
static const struct fe_listener *parked_listener(const struct fe_child_env *env, int fd,
                                                 const struct fe_park *p)
{
    const struct fe_gen *g = env->gen;
    if (p->gen == g->id)
        return p->li < g->nls ? &g->ls[p->li] : NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
        return NULL;
    int port = bx_sockaddr_port((struct sockaddr *)&ss);
    for (size_t i = 0; i < g->nls; i++)
        if (g->ls[i].port == port)
            return &g->ls[i];
    return NULL;
}

/* True when fd is ready to serve; false when it went to the waiting room
 * (waitroom.h). A fresh client gets a few ms for its first bytes, which a
 * real client sends right after connecting, before it is parked. */
static bool ready_or_park(const struct fe_child_env *env, const struct fe_listener *l, int fd,
                          uint64_t since, bool fresh)
{
    const struct bx_service *sv = &env->gen->cfg->fe.services[l->service];
    if (sv->proxy_protocol != BX_PROXY_OFF || env->waitroom_fd < 0)
        return true;
    uint32_t need = fe_waitroom_need(fd, sv->tls);
    if (need && fresh) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 3) > 0)
            need = fe_waitroom_need(fd, sv->tls);
    }
    if (!need)
        return true;
    struct fe_park p = {.li = (uint32_t)(l - env->gen->ls), .gen = env->gen->id, .need = need,
                        .since_ms = since};
    return fe_waitroom_park(env->waitroom_fd, fd, &p) == -1;
}

/* A client the master passes back from the waiting room, or -1. */
static int take_parked(const struct fe_child_env *env, const struct fe_listener **l,
                       struct sockaddr_storage *peer, socklen_t *plen)
{
    struct fe_park p;
    int fd = fe_waitroom_take(env->waitroom_fd, &p);
    if (fd < 0)
        return -1;
    *l = parked_listener(env, fd, &p);
    *plen = sizeof *peer;
    if (!*l || getpeername(fd, (struct sockaddr *)peer, plen) == -1) {
        close(fd);
        return -1;
    }
    if (p.need != FE_WAITROOM_SERVE && !ready_or_park(env, *l, fd, p.since_ms, false))
        return -1;
    return fd;
}

/* Waits with the other idle children for a client. TERM is only deliverable
 * while waiting, so a child asked to exit never drops a client it took. */
static int wait_accept(const struct fe_child_env *env, const struct fe_listener **l,
                       struct sockaddr_storage *peer, socklen_t *plen)
{
    sigset_t waitmask;
    sigprocmask(SIG_SETMASK, NULL, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    fe_lifeline_idle(true);
    for (;;) {
        struct epoll_event ev;
        int n = epoll_pwait(env->gen->accept_ep, &ev, 1, -1, &waitmask);
        if (n <= 0)
            continue;
        if (ev.data.u32 == FE_WAITROOM_TAG) {
            int fd = take_parked(env, l, peer, plen);
            if (fd >= 0) {
                fe_lifeline_idle(false);
                return fd;
            }
            continue;
        }
        if (ev.data.u32 >= env->gen->nls)
            continue;
        *l = &env->gen->ls[ev.data.u32];
        *plen = sizeof *peer;
        int fd = accept4((*l)->fd, (struct sockaddr *)peer, plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        /* A banned peer is closed by the idle child itself, before a byte is
         * read: nothing of it touched this process, so the child stays idle
         * (no fork per refusal, access.h). */
        if (fd != -1 && !fe_access_peer(&env->gen->cfg->fe.services[(*l)->service],
                                        (struct sockaddr *)peer, *plen)) {
            close(fd);
            continue;
        }
        if (fd != -1) {
            if (!ready_or_park(env, *l, fd, bx_now_ms(), true))
                continue; /* in the waiting room: we stay idle */
            fe_lifeline_idle(false);
            return fd;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
            refuse_at_fd_limit(env, *l);
    }
}

/* TCP sockets and connects for the ports of the config's TCP backends,
 * none when it has none (sandbox.h). */
static void allow_tcp_backends(const struct bx_config *cfg)
{
    for (size_t i = 0; i < cfg->nvhosts; i++)
        for (size_t k = 0; k < cfg->vhosts[i].npool; k++) {
            const struct bx_baddr *a = &cfg->vhosts[i].pool[k];
            if (a->kind == BX_BADDR_TCP && bx_sandbox_allow_connect(a->port) == -1)
                bx_log_warn("child: TCP port %d of backend %s not allowed: %s", a->port,
                            a->text, strerror(errno));
        }
}

_Noreturn void fe_child_main(const struct fe_child_env *env)
{
    for (size_t i = 0; i < env->nclose; i++)
        if (env->close_fds[i] >= 0)
            close(env->close_fds[i]);
    fe_lifeline_child(env->gen, env->master_pid, env->notify_fd);
    reserve_fd = fcntl(env->notify_fd, F_DUPFD_CLOEXEC, 0);
    /* The master's signals stay blocked; TERM kills an idle child (see
     * wait_accept), the others are not for children. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    fe_keystub_set_channel(env->keyfd);
    const struct bx_config *cfg = env->gen->cfg;
    struct bx_sb_slot *slot = env->slot;
    bx_log_follow(&env->sb->hdr->log_seq);
    /* Confined before the first client byte (common/sandbox.h). */
    char err[BX_ERRLEN];
    allow_tcp_backends(cfg);
    if (bx_sandbox_apply(BX_SANDBOX_FE_HANDSHAKE, err, sizeof err) == -1) {
        bx_log_error("child: cannot confine: %s", err);
        _exit(1);
    }
    fe_slot_cas(slot, FE_SLOT_STARTING, FE_SLOT_IDLE);
    for (int served = 0; served < cfg->fe.clients_per_child; served++) {
        struct conn c;
        const struct fe_listener *l;
        c.fd = wait_accept(env, &l, &c.client, &c.clientlen);
        /* Leaving idle, whether or not the master is retiring us at this
         * very moment (TERM is blocked now: the client is served). */
        fe_slot_set(slot, FE_SLOT_HANDSHAKE);
        uint64_t one = 1;
        if (write(env->notify_fd, &one, sizeof one) == -1) {
            /* the master refills on its timer anyway */
        }
        slot->client_ms = bx_now_ms();
        slot->bytes_in = slot->bytes_out = 0;
        slot->vhost[0] = '\0';
        if (served + 1 == cfg->fe.clients_per_child) {
            /* Last client: let go of the listeners so a stop or reload frees them. */
            fe_lifeline_drop_listeners();
        }
        c.env = env;
        c.cfg = cfg;
        c.l = l;
        c.ssl = NULL;
        c.use_rec = c.first_full = c.handed = false;
        c.cinlen = 0;
        memset(&c.rec, 0, sizeof c.rec);
        c.firstlen = 0;
        c.locallen = sizeof c.local;
        if (getsockname(c.fd, (struct sockaddr *)&c.local, &c.locallen) == -1)
            c.locallen = 0;
        int one_i = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one_i, sizeof one_i);
        fe_lifeline_client_fd(c.fd);
        serve(&c);
        fe_lifeline_client_fd(-1);
        fe_tlsrec_free(&c.rec);
        fe_tls_forget_keys(); /* a handshake that failed half way */
        if (c.ssl)
            SSL_free(c.ssl);
        close(c.fd);
        if (c.handed || fe_lifeline_orphaned())
            break; /* the slot is the lean child's now, or the master is gone */
        if (fe_keystub_lost())
            break; /* the key process restarted: a new child gets a channel to it */
        __atomic_store_n(&slot->member, 0, __ATOMIC_RELAXED);
        if (served + 1 < cfg->fe.clients_per_child) {
            memset(slot->vhost, 0, sizeof slot->vhost);
            slot->family = 0;
            fe_slot_set(slot, FE_SLOT_IDLE);
        }
    }
    _exit(0);
}
