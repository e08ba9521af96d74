/* SPDX-License-Identifier: BSD-2-Clause */
/* greet: a sample Bactrian page module, built out of tree (doc/modules.md).
 *
 *   cc -shared -fPIC $(pkg-config --cflags bactrian-module) -o greet.so greet.c
 *
 * Settings:  greeting = "Hello";   # what to say
 *            repeat = 1;           # 1..10 times
 * GET /greet?name=Ada  ->  "Hello, Ada!"  (the name defaults to the client address) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bactrian/module.h>

struct greet {
    const char *greeting;
    long long repeat;
    unsigned long served;     /* per worker: each worker has its own copy after fork */
};

static int greet_init(struct bm_conf *conf, void **inst)
{
    struct greet *g = calloc(1, sizeof *g);
    if (!g)
        return -1;
    g->greeting = bm_conf_string(conf, "greeting", "Hello");
    g->repeat = bm_conf_int(conf, "repeat", 1);
    if (g->repeat < 1 || g->repeat > 10)
        bm_conf_error(conf, "repeat", "must be between 1 and 10, not %lld", g->repeat);
    *inst = g;
    return 0;
}

static int greet_handle(struct bm_request *r, void *inst)
{
    struct greet *g = inst;
    const char *q = bm_query(r);
    char name[64];
    if (q && strncmp(q, "name=", 5) == 0)
        snprintf(name, sizeof name, "%.*s", (int)strcspn(q + 5, "&"), q + 5);
    else
        snprintf(name, sizeof name, "%s", bm_client_str(r));
    g->served++;
    bm_set_status(r, 200);
    bm_add_header(r, "Content-Type", "text/plain; charset=utf-8");
    bm_add_headerf(r, "X-Served-By-Worker", "%d", bm_worker_index());
    for (long long i = 0; i < g->repeat; i++) {
        char line[256];
        int n = snprintf(line, sizeof line, "%s, %s!\n", g->greeting, name);
        bm_body_add(r, line, (size_t)n);
    }
    bm_finish(r);
    return BM_DONE;
}

static void greet_fini(void *inst)
{
    free(inst);
}

const struct bm_module bactrian_module = {
#ifdef GREET_WRONG_API
    .api_version = 999,       /* the test builds this variant to see it refused */
#else
    .api_version = BACTRIAN_MODULE_API_VERSION,
#endif
    .name = "greet",
    .init = greet_init,
    .handle = greet_handle,
    .fini = greet_fini,
};
