/* SPDX-License-Identifier: BSD-2-Clause */
/* asynctest: a test module for the parts of the API a plain handler does
 * not reach: answering later from tick() (BM_ASYNC), descriptor watchers,
 * streaming from a watcher, bm_on_abort, the per-request slot and the clock.
 *   /later   answered by the next tick; "/later?TAG" answers "later TAG",
 *            kept meanwhile in the request's slot (bm_set_data/bm_get_data)
 *   /pipe    a pipe is written and its watcher streams what it reads back
 *   /update  the same, but the watcher first waits for an event a pipe's read
 *            end never has (BM_WRITE); only bm_watch_update to BM_READ lets
 *            it answer, with "updated rc=RC"
 *   /now     bm_now_ms()
 *   /never   never answered; counts an abort when the client leaves
 *   /aborts  how many aborts were seen by this worker */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bactrian/module.h>

#define MAX_PENDING 64

static struct bm_request *pending[MAX_PENDING];
static int npending, aborts;

struct piper {
    int fds[2];
    struct bm_watch *w;
    struct bm_request *r;
    int update_rc;      /* /update: what bm_watch_update returned */
};

/* data: what bm_set_data stored (NULL for /never) */
static void forget(struct bm_request *r, void *data)
{
    free(data);
    aborts++;
    for (int i = 0; i < npending; i++)
        if (pending[i] == r)
            pending[i] = pending[--npending];
}

static void pipe_readable(int fd, unsigned events, void *arg)
{
    struct piper *p = arg;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    (void)events;
    bm_watch_remove(p->w);
    close(p->fds[0]);
    close(p->fds[1]);
    bm_add_header(p->r, "Content-Type", "text/plain");
    bm_stream_begin(p->r);
    if (n > 0)
        bm_stream_write(p->r, buf, (size_t)n);
    if (p->update_rc != 1) {
        char rc[32];
        int k = snprintf(rc, sizeof rc, " rc=%d\n", p->update_rc);
        bm_stream_write(p->r, rc, (size_t)k);
    }
    bm_stream_end(p->r);
    free(p);
}

/* /pipe and /update: a pipe holding msg, watched for events. */
static int start_pipe(struct bm_request *r, unsigned events, const char *msg)
{
    struct piper *p = calloc(1, sizeof *p);
    if (!p || pipe(p->fds) == -1) {
        free(p);
        return BM_ERROR;
    }
    p->r = r;
    p->update_rc = 1;
    p->w = bm_watch_fd(p->fds[0], events, pipe_readable, p);
    size_t len = strlen(msg);
    if (!p->w || write(p->fds[1], msg, len) != (ssize_t)len)
        return BM_ERROR;
    if (events != BM_READ)
        p->update_rc = bm_watch_update(p->w, BM_READ);
    return BM_ASYNC;
}

static int handle(struct bm_request *r, void *inst)
{
    (void)inst;
    const char *what = bm_path_info(r);
    if (strcmp(what, "/later") == 0 && npending < MAX_PENDING) {
        const char *tag = bm_query(r);
        char *body = malloc(80);
        if (!body)
            return BM_ERROR;
        snprintf(body, 80, tag ? "later %.60s\n" : "later\n", tag);
        bm_set_data(r, body);
        pending[npending++] = r;
        bm_on_abort(r, forget);
        return BM_ASYNC;
    }
    if (strcmp(what, "/never") == 0) {
        bm_on_abort(r, forget);
        return BM_ASYNC;
    }
    if (strcmp(what, "/pipe") == 0)
        return start_pipe(r, BM_READ, "piped\n");
    if (strcmp(what, "/update") == 0)
        return start_pipe(r, BM_WRITE, "updated");
    if (strcmp(what, "/now") == 0) {
        char out[32];
        int n = snprintf(out, sizeof out, "%llu\n", (unsigned long long)bm_now_ms());
        bm_respond(r, 200, "text/plain", out, (size_t)n);
        return BM_DONE;
    }
    if (strcmp(what, "/aborts") == 0) {
        char out[32];
        int n = snprintf(out, sizeof out, "%d\n", aborts);
        bm_respond(r, 200, "text/plain", out, (size_t)n);
        return BM_DONE;
    }
    return BM_DECLINED;
}

static void tick(void *inst)
{
    (void)inst;
    /* answer in arrival order; each answer may start the next pipelined request */
    while (npending > 0) {
        struct bm_request *r = pending[0];
        memmove(pending, pending + 1, (size_t)(--npending) * sizeof *pending);
        bm_on_abort(r, NULL);
        char *body = bm_get_data(r);
        bm_respond(r, 200, "text/plain", body, strlen(body));
        bm_set_data(r, NULL);
        free(body);
    }
}

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "asynctest",
    .tick_ms = 50,
    .handle = handle,
    .tick = tick,
};
