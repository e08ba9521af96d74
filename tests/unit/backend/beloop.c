/* SPDX-License-Identifier: BSD-2-Clause */
/* See beloop.h. What it sets up mirrors backend/worker.c's setup() for what
 * the HTTP and WebSocket code read (be_worker's limits, timeouts, clock and
 * counters); the signal, life-pipe and accept machinery of a worker is left
 * out: the test accepts each connection itself. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend/conn.h"
#include "backend/modset.h"
#include "backend/worker.h"
#include "bactrian/module.h"
#include "common/cfg.h"
#include "common/ev.h"
#include "common/proc.h"
#include "tests/unit/backend/beloop.h"
#include "tests/unit/testutil.h"

static char *dir;
static struct bx_config cfg;
static struct be_modset mods;
static struct be_listener lis;
static struct be_listeners lset = {&lis, 1};
static struct bx_cidr trusted;
static struct sockaddr_storage addr;
static socklen_t addrlen;

const char *bl_dir(void)
{
    return dir;
}

/* text with every @DIR@ replaced by the temporary directory (malloc'ed). */
static char *with_dir(const char *text)
{
    struct bx_buf b = BX_BUF_INIT;
    const char *p;
    while ((p = strstr(text, "@DIR@")) != NULL) {
        bx_buf_append(&b, text, (size_t)(p - text));
        bx_buf_append(&b, dir, strlen(dir));
        text = p + 5;
    }
    bx_buf_append(&b, text, strlen(text) + 1);
    char *out = strdup(bx_buf_rpos(&b));
    bx_buf_free(&b);
    return out;
}

/* The config file: a Unix socket or a TCP port (PROXY required), plus extra. */
static char *write_conf(const char *extra, bool proxy)
{
    char cwd[512], *mdir, *body, *text;
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    /* make check runs in the build tree, where libtool puts the modules */
    ck_assert_int_ge(asprintf(&mdir, "%s/backend/modules/.libs", cwd), 0);
    body = with_dir(extra);
    ck_assert_int_ge(asprintf(&text,
                              "backend: {\n  module_dir = \"%s\";\n  %s\n  workers = 1;\n%s\n};\n",
                              mdir,
                              proxy ? "listen = ( { address = \"127.0.0.1\"; port = 1; } );"
                                    : "socket = \"be.sock\";",
                              body),
                     0);
    char *path = tu_write_file(dir, "bactrian.conf", text);
    free(mdir);
    free(body);
    free(text);
    return path;
}

static void make_listener(bool proxy)
{
    int fd;
    if (proxy) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
        ck_assert_int_eq(bx_cidr_parse("127.0.0.1/32", &trusted), 0);
        lis = (struct be_listener){.fd = fd,
                                   .proxy_protocol = BX_PROXY_REQUIRED,
                                   .proxy_from = &trusted,
                                   .nproxy_from = 1};
    } else {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof a.sun_path, "%s/be.sock", dir);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
        lis = (struct be_listener){.fd = fd, .unix_socket = true};
    }
    ck_assert_int_eq(listen(fd, 64), 0);
    addrlen = sizeof addr;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &addrlen), 0);
}

/* The worker state be_worker_run's setup() would make. */
static void make_worker(void)
{
    char err[256];
    struct be_worker *w = calloc(1, sizeof *w);
    ck_assert_ptr_nonnull(w);
    be_worker = w;
    be_stats_init(1);
    size_t n;
    w->stats = be_stats_table(&n);
    w->stats->pid = getpid();
    w->stats->generation = be_generation;
    w->cfg = &cfg;
    w->ls = &lset;
    w->mods = &mods;
    const struct bx_backend_conf *be = &cfg.be;
    w->lim = (struct be_http_limits){.max_request_line = (size_t)be->max_request_line,
                                     .max_header_size = (size_t)be->max_header_size,
                                     .max_headers = (size_t)be->max_headers,
                                     .max_body = be->max_body_size};
    w->header_timeout_ms = (uint64_t)be->header_timeout_ms;
    w->body_timeout_ms = (uint64_t)be->body_timeout_ms;
    w->idle_timeout_ms = (uint64_t)be->idle_timeout_ms;
    w->shutdown_timeout_ms = (uint64_t)be->shutdown_timeout_ms;
    w->keepalive_requests = (unsigned)be->keepalive_requests;
    w->ev = bx_ev_create(err, sizeof err);
    ck_assert_msg(w->ev != NULL, "%s", err);
}

void bl_start(const char *extra, bool proxy)
{
    dir = tu_tmpdir();
    char *path = write_conf(extra, proxy);
    char *errors = NULL;
    ck_assert_msg(bx_config_load(&cfg, path, BX_CONF_BACKEND, &errors) == 0, "%s", errors);
    free(path);
    struct bx_buf errs = BX_BUF_INIT;
    int rc = be_modset_load(&cfg, &mods, &errs);
    bx_buf_append(&errs, "", 1);
    ck_assert_msg(rc == 0, "modules: %s", bx_buf_rpos(&errs));
    bx_buf_free(&errs);
    make_listener(proxy);
    make_worker();
    ck_assert_int_eq(be_modset_worker_init(&mods, be_worker->ev), 0);
}

void bl_stop(void)
{
    be_modset_worker_exit(&mods, be_worker->ev);
    be_conns_close_all();
    be_conns_reap();
    be_modset_free(&mods);
    close(lis.fd);
    bx_config_free(&cfg);
    tu_rm_rf(dir);
    free(dir);
}

void bl_pump(int ms)
{
    uint64_t end = bx_now_ms() + (uint64_t)ms;
    do {
        /* short waits: the test's own socket is not in this loop's epoll */
        bx_ev_run_once(be_worker->ev, ms > 0 ? 10 : 1);
        be_conns_reap();
    } while (bx_now_ms() < end);
}

int bl_connect(void)
{
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, addrlen), 0);
    size_t before = be_conns_count();
    for (int i = 0; i < 100 && be_conns_count() == before; i++) {
        be_conn_accept(&lis, 1);
        if (be_conns_count() == before)
            usleep(1000);
    }
    ck_assert_uint_eq(be_conns_count(), before + 1);
    return fd;
}

void bl_send(int fd, const void *p, size_t n)
{
    size_t off = 0;
    uint64_t end = bx_now_ms() + 5000;
    while (off < n) {
        ck_assert_msg(bx_now_ms() < end, "send stuck at %zu of %zu", off, n);
        ssize_t w = send(fd, (const char *)p + off, n - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0)
            off += (size_t)w;
        else
            ck_assert_msg(errno == EAGAIN, "send: %s", strerror(errno));
        bl_pump(0);
    }
}

/* Reads what is there without blocking: bytes, 0 on EOF, -1 for none yet. */
static ssize_t read_some(int fd, char *out, size_t cap)
{
    ssize_t r = recv(fd, out, cap, MSG_DONTWAIT);
    if (r < 0 && errno != EAGAIN)
        return 0; /* reset counts as closed */
    return r;
}

/* The length of the whole response at the start of buf[0..n), or 0. */
static size_t complete(const char *buf, size_t n)
{
    const char *end = memmem(buf, n, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end + 4 - buf);
    char v[32];
    int st = bl_status(buf);
    if (st == 101 || st == 204 || st == 304 || (st >= 100 && st < 200))
        return head;
    if (bl_header(buf, "Content-Length", v, sizeof v)) {
        size_t len = head + strtoul(v, NULL, 10);
        return n >= len ? len : 0;
    }
    if (bl_header(buf, "Transfer-Encoding", v, sizeof v)) {
        if (n - head >= 5 && memcmp(buf + head, "0\r\n\r\n", 5) == 0)
            return head + 5;
        const char *z = memmem(buf + head, n - head, "\r\n0\r\n\r\n", 7);
        return z ? (size_t)(z + 7 - buf) : 0;
    }
    return 0; /* ends at EOF */
}

/* Peeks until one whole response is queued, then takes exactly it, so a
 * pipelined answer behind it stays for the next call. */
size_t bl_response(int fd, char *out, size_t cap, int ms, bool *eof)
{
    size_t n = 0, len = 0;
    bool closed = false;
    uint64_t end = bx_now_ms() + (uint64_t)ms;
    while (bx_now_ms() < end) {
        bl_pump(0);
        ssize_t r = recv(fd, out, cap - 1, MSG_DONTWAIT | MSG_PEEK);
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
            closed = true; /* EOF (or reset) with nothing more queued */
            break;
        }
        if (r > 0 && (size_t)r != n) {
            n = (size_t)r;
            out[n] = '\0';
            if ((len = complete(out, n)) != 0 || n == cap - 1)
                break;
        }
    }
    if (!len)
        len = n; /* a response that ends at EOF, or time is up: all that came */
    ssize_t r = len ? recv(fd, out, len, MSG_DONTWAIT) : 0;
    n = r > 0 ? (size_t)r : 0;
    out[n] = '\0';
    if (!closed) {
        char c;
        ssize_t p = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
        closed = p == 0 || (p < 0 && errno != EAGAIN);
    }
    if (eof)
        *eof = closed;
    return n;
}

void bl_read_exact(int fd, void *out, size_t n, int ms)
{
    size_t got = 0;
    uint64_t end = bx_now_ms() + (uint64_t)ms;
    while (got < n) {
        ck_assert_msg(bx_now_ms() < end, "read %zu of %zu bytes in %d ms", got, n, ms);
        ssize_t r = read_some(fd, (char *)out + got, n - got);
        ck_assert_msg(r != 0, "closed after %zu of %zu bytes", got, n);
        if (r > 0)
            got += (size_t)r;
        else
            bl_pump(0);
    }
}

bool bl_closed(int fd, int ms)
{
    char b[4096];
    uint64_t end = bx_now_ms() + (uint64_t)ms;
    while (bx_now_ms() < end) {
        bl_pump(0);
        ssize_t r = read_some(fd, b, sizeof b);
        if (r == 0)
            return true;
        if (r > 0)
            return false;
    }
    return false;
}

size_t bl_get(int fd, const char *target, char *out, size_t cap)
{
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
    ck_assert(n > 0 && (size_t)n < sizeof req);
    bl_send(fd, req, (size_t)n);
    return bl_response(fd, out, cap, 3000, NULL);
}

int bl_status(const char *resp)
{
    if (strncmp(resp, "HTTP/1.", 7) != 0 || strlen(resp) < 12)
        return 0;
    return atoi(resp + 9);
}

const char *bl_body(const char *resp)
{
    const char *p = strstr(resp, "\r\n\r\n");
    return p ? p + 4 : NULL;
}

const char *bl_header(const char *resp, const char *name, char *out, size_t cap)
{
    const char *end = strstr(resp, "\r\n\r\n");
    size_t nl = strlen(name);
    for (const char *p = strstr(resp, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
        const char *h = p + 2;
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            h += nl + 1;
            while (*h == ' ')
                h++;
            size_t len = strcspn(h, "\r");
            if (len >= cap)
                len = cap - 1;
            memcpy(out, h, len);
            out[len] = '\0';
            return out;
        }
    }
    return NULL;
}

/* ---- WebSocket client ---- */

int bl_ws_open(const char *path, const char *extra, char *resp, size_t cap)
{
    int fd = bl_connect();
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     path, extra);
    bl_send(fd, req, (size_t)n);
    bl_response(fd, resp, cap, 3000, NULL);
    ck_assert_msg(bl_status(resp) == 101, "%s", resp);
    char v[64];
    ck_assert_str_eq(bl_header(resp, "Sec-WebSocket-Accept", v, sizeof v),
                     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    return fd;
}

/* A client frame: masked unless told otherwise; b0 is FIN|RSV|opcode. */
void bl_ws_send(int fd, unsigned b0, const void *p, size_t n, bool masked)
{
    unsigned char *f = malloc(n + 14);
    size_t h = 0;
    f[h++] = (unsigned char)b0;
    unsigned char m = masked ? 0x80 : 0;
    if (n < 126) {
        f[h++] = m | (unsigned char)n;
    } else if (n < 65536) {
        f[h++] = m | 126;
        f[h++] = (unsigned char)(n >> 8);
        f[h++] = (unsigned char)n;
    } else {
        f[h++] = m | 127;
        for (int i = 7; i >= 0; i--)
            f[h++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (masked) {
        memcpy(f + h, key, 4);
        h += 4;
    }
    for (size_t i = 0; i < n; i++)
        f[h + i] = ((const unsigned char *)p)[i] ^ (masked ? key[i & 3] : 0);
    bl_send(fd, f, h + n);
    free(f);
}

/* The next server frame: returns its payload length (payload in out). */
size_t bl_ws_read(int fd, unsigned *b0, unsigned char *out, size_t cap)
{
    unsigned char h[10];
    bl_read_exact(fd, h, 2, 3000);
    *b0 = h[0];
    ck_assert_msg(!(h[1] & 0x80), "a server frame is never masked");
    uint64_t n = h[1] & 0x7f;
    if (n == 126) {
        bl_read_exact(fd, h, 2, 3000);
        n = ((uint64_t)h[0] << 8) | h[1];
    } else if (n == 127) {
        bl_read_exact(fd, h, 8, 3000);
        n = 0;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | h[i];
    }
    ck_assert_uint_le(n, cap);
    bl_read_exact(fd, out, (size_t)n, 5000);
    return (size_t)n;
}
