/* SPDX-License-Identifier: BSD-2-Clause */
/* status: the backend's counters, and the frontend's scoreboard, as JSON.
 *
 *   { "generation": 1, "time": 1763770000, "worker": 0, "workers": [ { "index": 0,
 *     "pid": 123, "generation": 1, "uptime": 12.5, "connections_open": 3,
 *     "connections_total": 90, "requests": 1000, "bytes_in": 12345, "bytes_out": 67890,
 *     "errors": 2, "redis": { "state": "up", "for": 12.3, "held": 0, "held_total": 5,
 *     "dropped": 0, "in_doubt": 0, "refused": 0 } } ],   ("redis": backend.pubsub.redis only)
 *     "frontend": { "pid": 99, "slots": 1056, "totals": { "idle": 4, "relay": 2, ... },
 *                   "backends": [ { "backend": "tcp:10.0.0.2:8080", "state": "up",
 *                                   "connections": 3, "failures": 0, "for_ms": 5000 } ],
 *       "busy": [ { "state": "relay", "pid": 321, "client": "192.0.2.1", "port": 40000,
 *         "vhost": "example.com", "bytes_in": 10, "bytes_out": 20, "age_ms": 1500,
 *         "conn_id": "..." } ] } }
 *
 * Setting: scoreboard = path of the frontend's frontend.scoreboard_file
 * (optional; without it there is no "frontend" object). The file's format
 * is common/sbfile.h (documented and versioned there). The file is mapped
 * read-only per request, so a restarted frontend (a new file) is seen at
 * once, and its header is checked before any slot is read: a file of
 * another version or size gives {"error": ...}, never a read out of bounds.
 * Slot contents are written by frontend children: they are shown as data,
 * escaped, and a state out of range is skipped.
 * Worker counters live in shared memory written by each worker; a worker
 * that is gone is not listed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bactrian/module.h>

#include "common/sbfile.h"

#define MAX_WORKERS 2048

struct status {
    const char *scoreboard; /* NULL: no frontend object */
};

/* A growing output buffer; on allocation failure it stops growing and
 * the request fails. */
struct out {
    char *p;
    size_t len, cap;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = o->cap - o->len;
        int n = o->failed ? 0 : vsnprintf(o->p + o->len, room, fmt, ap);
        va_end(ap);
        if (o->failed || n < 0) {
            o->failed = true;
            return;
        }
        if ((size_t)n < room) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)n;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->failed = true;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
}

/* A JSON string of at most max bytes of s (which need not be terminated). */
static void put_str(struct out *o, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    put(o, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            put(o, "\\u%04x", c); /* names and ids are ASCII; anything else is escaped */
        else
            put(o, "%c", c);
    }
    put(o, "\"");
}

static int status_init(struct bm_conf *conf, void **inst)
{
    struct status *st = calloc(1, sizeof *st);
    if (!st)
        return -1;
    st->scoreboard = bm_conf_path(conf, "scoreboard", NULL);
    *inst = st;
    return 0;
}

/* The frontend replaces its scoreboard file on every start (a new inode):
 * the confined worker may read the directory it lives in. */
static int status_worker_init(void *inst)
{
    struct status *st = inst;
    if (!st->scoreboard)
        return 0;
    char dir[4096];
    const char *slash = strrchr(st->scoreboard, '/');
    size_t n = !slash ? 1 : slash == st->scoreboard ? 1 : (size_t)(slash - st->scoreboard);
    if (n >= sizeof dir)
        return 0;
    memcpy(dir, slash ? st->scoreboard : ".", n);
    dir[n] = '\0';
    if (bm_sandbox_allow_read(dir) == -1)
        bm_log(BM_LOG_WARN, "status: %s: %s (the scoreboard cannot be read)", dir, strerror(errno));
    return 0;
}

static void status_fini(void *inst)
{
    free(inst);
}

#define NSTATES ((size_t)BX_SB_NSTATES)

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void put_slot(struct out *o, const struct bx_sb_slot *s, int state, uint64_t now, bool first)
{
    /* Copied out once: the child may rewrite the slot while we read it. */
    struct bx_sb_slot c;
    memcpy(&c, s, sizeof c);
    char who[INET6_ADDRSTRLEN] = "";
    if (c.family == AF_INET || c.family == AF_INET6)
        inet_ntop(c.family, c.addr, who, sizeof who);
    put(o, "%s{\"state\":\"%s\",\"pid\":%ld,\"client\":\"%s\",\"port\":%u,\"vhost\":",
        first ? "" : ",", bx_sb_state_name(state), (long)c.pid, who, (unsigned)c.port);
    put_str(o, c.vhost, sizeof c.vhost);
    put(o, ",\"bytes_in\":%llu,\"bytes_out\":%llu,\"age_ms\":%llu,\"conn_id\":",
        (unsigned long long)c.bytes_in, (unsigned long long)c.bytes_out,
        (unsigned long long)(c.client_ms && now > c.client_ms ? now - c.client_ms : 0));
    put_str(o, c.conn_id, sizeof c.conn_id);
    put(o, "}");
}

/* The backend pool members as the frontend master sees them (the header
 * copy that bx_sbfile_check made: it does not change under us). */
static void put_pool(struct out *o, const struct bx_sb_header *h, uint64_t now)
{
    const struct bx_sb_pool *p = &h->pool;
    size_t n = p->nmembers < BX_SB_POOL_MAX ? p->nmembers : BX_SB_POOL_MAX;
    put(o, ",\"backends\":[");
    for (size_t i = 0; i < n; i++) {
        const struct bx_sb_member *m = &p->m[i];
        put(o, "%s{\"backend\":", i ? "," : "");
        put_str(o, m->addr, sizeof m->addr);
        put(o, ",\"state\":\"%s\",\"connections\":%u,\"failures\":%llu,\"for_ms\":%llu}",
            m->state == BX_SB_MEMBER_UP ? "up" : "down", m->conns, (unsigned long long)m->failures,
            (unsigned long long)(m->since_ms && now > m->since_ms ? now - m->since_ms : 0));
    }
    put(o, "]");
}

static void put_frontend(struct out *o, const char *path)
{
    put(o, ",\"frontend\":");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    const char *why = NULL;
    if (fd == -1 || fstat(fd, &st) == -1)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    if (why) {
        put(o, "{\"error\":");
        put_str(o, why, 128);
        put(o, "}");
        if (fd != -1)
            close(fd);
        return;
    }
    size_t size = (size_t)st.st_size;
    void *p = size ? mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    close(fd);
    struct bx_sb_header h;
    const char *bad = p == MAP_FAILED ? "empty or unmappable file" : bx_sbfile_check(p, size, &h);
    if (bad) {
        put(o, "{\"error\":\"%s\"}", bad);
        if (p != MAP_FAILED)
            munmap(p, size);
        return;
    }
    uint64_t now = mono_ms();
    unsigned long long totals[NSTATES] = {0};
    put(o, "{\"pid\":%ld,\"slots\":%llu,\"busy\":[", (long)h.master_pid,
        (unsigned long long)h.nslots);
    bool first = true;
    for (size_t i = 0; i < h.nslots; i++) {
        const struct bx_sb_slot *s = bx_sbfile_slot(p, &h, i);
        int state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
        if (state < 0 || (size_t)state >= NSTATES)
            continue;
        totals[state]++;
        if (state == BX_SB_HANDSHAKE || state == BX_SB_RELAY) {
            put_slot(o, s, state, now, first);
            first = false;
        }
    }
    put(o, "],\"totals\":{");
    for (size_t i = 0; i < NSTATES; i++)
        put(o, "%s\"%s\":%llu", i ? "," : "", bx_sb_state_name((int)i), totals[i]);
    put(o, "}");
    put_pool(o, &h, now);
    put(o, "}");
    munmap(p, size);
}

/* The worker's links to Redis, when it uses Redis (backend.pubsub.redis). */
static void put_redis(struct out *o, int index, uint64_t now_ms)
{
    struct bm_redis_stats rs;
    if (!bm_worker_redis_stats(index, &rs, sizeof rs))
        return;
    double since = rs.since_ms && now_ms > rs.since_ms ? (double)(now_ms - rs.since_ms) / 1e3 : 0;
    put(o,
        ",\"redis\":{\"state\":\"%s\",\"for\":%.3f,\"held\":%llu,\"held_total\":%llu,"
        "\"dropped\":%llu,\"in_doubt\":%llu,\"refused\":%llu}",
        rs.up ? "up" : "down", since, (unsigned long long)rs.held,
        (unsigned long long)rs.held_total, (unsigned long long)rs.dropped,
        (unsigned long long)rs.in_doubt, (unsigned long long)rs.refused);
}

static int status_handle(struct bm_request *r, void *inst)
{
    const struct status *cfg = inst;
    static struct bm_worker_stats st[MAX_WORKERS];
    size_t n = bm_worker_stats(st, MAX_WORKERS);
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    struct out o = {.cap = 256 + n * 320};
    o.p = malloc(o.cap);
    if (!o.p)
        return BM_ERROR;
    put(&o, "{\"generation\":%u,\"time\":%lld,\"worker\":%d,\"workers\":[", bm_config_generation(),
        (long long)ts.tv_sec, bm_worker_index());
    for (size_t i = 0; i < n; i++) {
        const struct bm_worker_stats *w = &st[i];
        double up = w->started_ms && now_ms > w->started_ms ? (double)(now_ms - w->started_ms) / 1e3
                                                            : 0;
        put(&o,
            "%s{\"index\":%d,\"pid\":%ld,\"generation\":%u,\"uptime\":%.3f,"
            "\"connections_open\":%llu,\"connections_total\":%llu,"
            "\"requests\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
            "\"errors\":%llu",
            i ? "," : "", w->index, (long)w->pid, w->generation, up,
            (unsigned long long)w->connections_open, (unsigned long long)w->connections_total,
            (unsigned long long)w->requests, (unsigned long long)w->bytes_in,
            (unsigned long long)w->bytes_out, (unsigned long long)w->errors);
        put_redis(&o, w->index, now_ms);
        put(&o, "}");
    }
    put(&o, "]");
    if (cfg->scoreboard)
        put_frontend(&o, cfg->scoreboard);
    put(&o, "}\n");
    if (o.failed) {
        free(o.p);
        return BM_ERROR;
    }
    bm_add_header(r, "Cache-Control", "no-store");
    bm_respond(r, 200, "application/json", o.p, o.len);
    free(o.p);
    return BM_DONE;
}

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "status",
    .init = status_init,
    .worker_init = status_worker_init,
    .handle = status_handle,
    .fini = status_fini,
};
