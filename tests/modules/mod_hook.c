/* SPDX-License-Identifier: BSD-2-Clause */
/* hooktest: a test module for the connect hook and for the identity init()
 * runs with.
 *   refuse = [ "127.0.0.2", "203.0.113.9" ];  clients its connect hook refuses
 *   GET /...  answers "init_euid=N connects=M\n": the effective uid init()
 *             saw, and how many connections this worker's hook let through */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bactrian/module.h>

#define MAX_REFUSE 8

struct hook {
    struct in6_addr refuse[MAX_REFUSE]; /* IPv4 as v4-mapped */
    size_t n;
    long init_euid;
    unsigned long connects;
};

static int parse(const char *s, struct in6_addr *out)
{
    struct in_addr v4;
    if (inet_pton(AF_INET6, s, out) == 1)
        return 0;
    if (inet_pton(AF_INET, s, &v4) != 1)
        return -1;
    memset(out, 0, sizeof *out);
    out->s6_addr[10] = out->s6_addr[11] = 0xff;
    memcpy(out->s6_addr + 12, &v4, 4);
    return 0;
}

static int hook_init(struct bm_conf *c, void **inst)
{
    struct hook *h = calloc(1, sizeof *h);
    if (!h)
        return -1;
    h->init_euid = (long)geteuid();
    const char *const *v;
    size_t n = bm_conf_strings(c, "refuse", NULL, &v);
    for (size_t i = 0; i < n && h->n < MAX_REFUSE; i++)
        if (parse(v[i], &h->refuse[h->n++]) == -1)
            bm_conf_error(c, "refuse", "'%s' is not an address", v[i]);
    *inst = h;
    return 0;
}

static void hook_fini(void *inst)
{
    free(inst);
}

static int hook_connect(const struct sockaddr *sa, socklen_t len, void *inst)
{
    struct hook *h = inst;
    struct in6_addr a;
    memset(&a, 0, sizeof a);
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        a.s6_addr[10] = a.s6_addr[11] = 0xff;
        memcpy(a.s6_addr + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        a = ((const struct sockaddr_in6 *)sa)->sin6_addr;
    } else {
        h->connects++;
        return 0; /* a local peer */
    }
    for (size_t i = 0; i < h->n; i++)
        if (memcmp(&a, &h->refuse[i], sizeof a) == 0)
            return -1;
    h->connects++;
    return 0;
}

static int hook_handle(struct bm_request *r, void *inst)
{
    const struct hook *h = inst;
    char body[96];
    int n = snprintf(body, sizeof body, "init_euid=%ld connects=%lu\n", h->init_euid, h->connects);
    bm_respond(r, 200, "text/plain", body, n > 0 && (size_t)n < sizeof body ? (size_t)n : 0);
    return BM_DONE;
}

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "hooktest",
    .init = hook_init,
    .handle = hook_handle,
    .fini = hook_fini,
    .connect = hook_connect,
};
