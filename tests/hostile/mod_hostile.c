/* The hostile-child test's backend module: GET <mount>?do=ACTION&arg=ARG
 * runs the attacker action (actions.h) inside the confined worker and
 * answers the result line. Test code only (check_LTLIBRARIES). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bactrian/module.h"
#include "tests/hostile/actions.h"

/* Copies the value of key from a query string "a=1&b=2" (no decoding). */
static void query_value(const char *q, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    out[0] = '\0';
    for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t n = strcspn(p + kl + 1, "&");
            if (n >= outlen)
                n = outlen - 1;
            memcpy(out, p + kl + 1, n);
            out[n] = '\0';
            return;
        }
    }
}

static int hostile_handle(struct bm_request *r, void *inst)
{
    (void)inst;
    char action[32], arg[200], out[512];
    const char *q = bm_query(r);
    query_value(q, "do", action, sizeof action);
    query_value(q, "arg", arg, sizeof arg);
    if (strcmp(arg, "sibling") == 0) {
        /* Another worker of ours, from the shared worker table. */
        struct bm_worker_stats w[16];
        size_t k = bm_worker_stats(w, 16);
        snprintf(arg, sizeof arg, "0");
        for (size_t i = 0; i < k && i < 16; i++)
            if (w[i].pid != getpid())
                snprintf(arg, sizeof arg, "%d", (int)w[i].pid);
    }
    size_t n = hostile_run(action, arg, out, sizeof out);
    bm_respond(r, 200, "text/plain", out, n);
    return BM_DONE;
}

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "hostile",
    .handle = hostile_handle,
};
