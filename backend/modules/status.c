/* status: the backend's counters as JSON.
 *
 *   { "generation": 1, "time": 1763770000, "workers": [ { "index": 0, "pid": 123,
 *     "generation": 1, "uptime": 12.5, "connections_open": 3, "connections_total": 90,
 *     "requests": 1000, "bytes_in": 12345, "bytes_out": 67890, "errors": 2 } ] }
 *
 * No settings. Counters live in shared memory written by each worker; a
 * worker that is gone is not listed. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <bactrian/module.h>

#define MAX_WORKERS 2048

static int status_handle(struct bm_request *r, void *inst)
{
    (void)inst;
    static struct bm_worker_stats st[MAX_WORKERS];
    size_t n = bm_worker_stats(st, MAX_WORKERS);
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    size_t cap = 128 + n * 320;
    char *buf = malloc(cap);
    if (!buf)
        return BM_ERROR;
    size_t o = (size_t)snprintf(buf, cap, "{\"generation\":%u,\"time\":%lld,\"worker\":%d,\"workers\":[",
                                bm_config_generation(), (long long)ts.tv_sec, bm_worker_index());
    for (size_t i = 0; i < n && o < cap; i++) {
        const struct bm_worker_stats *w = &st[i];
        double up = w->started_ms && now_ms > w->started_ms ? (double)(now_ms - w->started_ms) / 1e3 : 0;
        o += (size_t)snprintf(buf + o, cap - o,
                              "%s{\"index\":%d,\"pid\":%ld,\"generation\":%u,\"uptime\":%.3f,"
                              "\"connections_open\":%llu,\"connections_total\":%llu,"
                              "\"requests\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
                              "\"errors\":%llu}",
                              i ? "," : "", w->index, (long)w->pid, w->generation, up,
                              (unsigned long long)w->connections_open,
                              (unsigned long long)w->connections_total,
                              (unsigned long long)w->requests, (unsigned long long)w->bytes_in,
                              (unsigned long long)w->bytes_out, (unsigned long long)w->errors);
    }
    if (o + 4 < cap)
        o += (size_t)snprintf(buf + o, cap - o, "]}\n");
    bm_add_header(r, "Cache-Control", "no-store");
    bm_respond(r, 200, "application/json", buf, o < cap ? o : cap - 1);
    free(buf);
    return BM_DONE;
}

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "status",
    .handle = status_handle,
};
