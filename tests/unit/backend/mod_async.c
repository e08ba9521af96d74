/* asynctest: a test module for the parts of the API a plain handler does
 * not reach: answering later from tick() (BM_ASYNC), descriptor watchers,
 * streaming from a watcher, and bm_on_abort.
 *   /later   answered by the next tick
 *   /pipe    a pipe is written and its watcher streams what it reads back
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
};

static void forget(struct bm_request *r, void *data)
{
    (void)data;
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
    bm_stream_end(p->r);
    free(p);
}

static int handle(struct bm_request *r, void *inst)
{
    (void)inst;
    const char *what = bm_path_info(r);
    if (strcmp(what, "/later") == 0 && npending < MAX_PENDING) {
        pending[npending++] = r;
        bm_on_abort(r, forget);
        return BM_ASYNC;
    }
    if (strcmp(what, "/never") == 0) {
        bm_on_abort(r, forget);
        return BM_ASYNC;
    }
    if (strcmp(what, "/pipe") == 0) {
        struct piper *p = calloc(1, sizeof *p);
        if (!p || pipe(p->fds) == -1) {
            free(p);
            return BM_ERROR;
        }
        p->r = r;
        p->w = bm_watch_fd(p->fds[0], BM_READ, pipe_readable, p);
        if (write(p->fds[1], "piped\n", 6) != 6)
            return BM_ERROR;
        return BM_ASYNC;
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
        bm_respond(r, 200, "text/plain", "later\n", 6);
    }
}

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "asynctest",
    .tick_ms = 50,
    .handle = handle,
    .tick = tick,
};
