/* SPDX-License-Identifier: BSD-2-Clause */
/* slowstart: one worker of every reloaded generation starts late, as a
 * worker the scheduler runs after its siblings does on a loaded machine.
 * ws_handoff.py's spread test mounts it beside echo: the old workers must
 * wait for the late one instead of giving every session to the first.
 *   delay  = 0.15;  how long worker_init sleeps (a duration)
 *   worker = 1;     which worker (bm_worker_index) sleeps
 *   GET /...        answers "generation=G worker=W\n" */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <bactrian/module.h>

struct slow {
    uint64_t delay_ms;
    long long worker;
};

static int slow_init(struct bm_conf *c, void **inst)
{
    struct slow *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    bm_conf_duration_ms(c, "delay", 150, 0, 10000, &s->delay_ms);
    s->worker = bm_conf_int(c, "worker", 1);
    *inst = s;
    return 0;
}

/* Only after a reload: the first generation has no one to hand off to. */
static int slow_worker_init(void *inst)
{
    const struct slow *s = inst;
    if (bm_config_generation() < 2 || bm_worker_index() != s->worker)
        return 0;
    struct timespec ts = {(time_t)(s->delay_ms / 1000), (long)(s->delay_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1)
        ;
    return 0;
}

static int slow_handle(struct bm_request *r, void *inst)
{
    (void)inst;
    char body[64];
    int n = snprintf(body, sizeof body, "generation=%u worker=%d\n", bm_config_generation(),
                     bm_worker_index());
    bm_respond(r, 200, "text/plain", body, n > 0 && (size_t)n < sizeof body ? (size_t)n : 0);
    return BM_DONE;
}

static void slow_fini(void *inst)
{
    free(inst);
}

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "slowstart",
    .init = slow_init,
    .worker_init = slow_worker_init,
    .handle = slow_handle,
    .fini = slow_fini,
};
