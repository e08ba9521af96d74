/* SPDX-License-Identifier: BSD-2-Clause */
/* The hostile-child test's backend module: GET <mount>?do=ACTION&arg=ARG
 * runs the attacker action (actions.h) inside the confined worker and
 * answers the result line. Test code only (check_LTLIBRARIES). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
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

/* A pub/sub datagram (backend/pubsub.c: 'C', opcode, name length, the
 * origin's 8-byte sequence number, name, payload) sent from this worker, so with a real worker's credentials, to
 * each of the comma-separated socket paths: text that is not UTF-8 when
 * text=bad. A taken-over worker is one of the workers, so the receivers
 * take it from it; what they must not do is hand invalid text to a client. */
static size_t ps_send(const char *paths, const char *room, bool bad, char *out, size_t outlen)
{
    unsigned char d[512];
    char ch[80];
    int nl = snprintf(ch, sizeof ch, "chat:%s", room);
    const char *body = bad ? "{\"type\":\"message\",\"text\":\"\xc3\x28 not UTF-8\"}"
                           : "{\"type\":\"message\",\"text\":\"from a worker\"}";
    size_t bl = strlen(body);
    if (nl <= 0 || (size_t)nl >= sizeof ch || 12 + (size_t)nl + bl > sizeof d)
        return (size_t)snprintf(out, outlen, "RESULT pssend unknown\n");
    memcpy(d, (unsigned char[]){'C', 1, 0, (unsigned char)nl, 0, 0, 0, 0, 0, 0, 0, 1}, 12);
    memcpy(d + 12, ch, (size_t)nl);
    memcpy(d + 12 + nl, body, bl);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int sent = 0, e = fd == -1 ? errno : 0;
    for (const char *p = paths; fd != -1 && p && *p;
         p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t n = strcspn(p, ",");
        if (n >= sizeof sa.sun_path)
            continue;
        memcpy(sa.sun_path, p, n);
        if (sendto(fd, d, 12 + (size_t)nl + bl, 0, (struct sockaddr *)&sa, sizeof sa) == -1)
            e = errno;
        else
            sent++;
    }
    if (fd != -1)
        close(fd);
    int k = snprintf(out, outlen, "RESULT pssend sent %d error %d pid %d\n", sent, e,
                     (int)getpid());
    return k < 0 ? 0 : (size_t)k >= outlen ? outlen - 1 : (size_t)k;
}

static int hostile_handle(struct bm_request *r, void *inst)
{
    (void)inst;
    char action[32], arg[200], out[512];
    const char *q = bm_query(r);
    query_value(q, "do", action, sizeof action);
    query_value(q, "arg", arg, sizeof arg);
    if (strcmp(action, "pssend") == 0) {
        char room[32], text[8];
        query_value(q, "room", room, sizeof room);
        query_value(q, "text", text, sizeof text);
        size_t n = ps_send(arg, room, strcmp(text, "bad") == 0, out, sizeof out);
        bm_respond(r, 200, "text/plain", out, n);
        return BM_DONE;
    }
    if (strcmp(action, "sleep") == 0) {
        /* Keeps this worker out of accept for arg ms: the test's next
         * connection goes to another worker. */
        long ms = strtol(arg, NULL, 10);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        int k = snprintf(out, sizeof out, "RESULT sleep ok pid %d\n", (int)getpid());
        bm_respond(r, 200, "text/plain", out, k > 0 ? (size_t)k : 0);
        return BM_DONE;
    }
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
