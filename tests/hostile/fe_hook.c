/* SPDX-License-Identifier: BSD-2-Clause */
/* The test build's fe_test_hook (frontend/child.h): a plaintext client whose
 * first line is "HOSTILE <action> [<arg>]" gets the action run inside its
 * confined child and the result line back. Actions that need nothing of the
 * child are in actions.c (shared with the backend module); the ones that use
 * the child's own state (scoreboard, slot, hand-off socket) go in
 * child_actions below: a function that returns 0 when the attempt got
 * through and an errno value when it was refused. A write the kernel
 * refuses by a fault never returns: the child dies by SIGSEGV. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frontend/child.h"
#include "frontend/lean.h"
#include "frontend/scoreboard.h"
#include "frontend/tls.h"
#include "tests/hostile/actions.h"

static void *page_of(const void *p)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    return (void *)((uintptr_t)p & ~(pg - 1));
}

/* The attacker's writes below fault with the default action: an ASan
 * build's SIGSEGV handler would report and exit 1 instead. */
static void default_segv(void)
{
    signal(SIGSEGV, SIG_DFL);
}

/* Another child's slot (its state: the master reads it to count spares and
 * to check hand-offs). */
static int act_sb_slot(const struct fe_child_env *env, int fd, const char *arg, char *out,
                       size_t outlen)
{
    (void)fd;
    (void)arg;
    size_t other = env->slot_index == 0 ? 1 : 0;
    default_segv();
    volatile int *state = (volatile int *)&fe_sb_slot(env->sb, other)->state;
    *state = FE_SLOT_RELAY;
    snprintf(out, outlen, "wrote slot %zu", other);
    return 0;
}

/* The header's slot count (what a reader would loop to). */
static int act_sb_header(const struct fe_child_env *env, int fd, const char *arg, char *out,
                         size_t outlen)
{
    (void)fd;
    (void)arg;
    volatile struct bx_sb_header *h = (volatile struct bx_sb_header *)env->sb->hdr;
    default_segv();
    h->nslots = UINT64_MAX / 2;
    snprintf(out, outlen, "nslots now %llu", (unsigned long long)h->nslots);
    return 0;
}

/* The session ticket keys: through the read-only view ("view"), or where
 * the master's writable mapping was ("page", not inherited). */
static int act_tickets(const struct fe_child_env *env, int fd, const char *arg, char *out,
                       size_t outlen)
{
    (void)env;
    (void)fd;
    const struct fe_tickets *t = fe_tls_ticket_source();
    volatile unsigned char *k = strcmp(arg, "page") == 0
                                    ? (volatile unsigned char *)t->page->key[0].aes
                                    : (volatile unsigned char *)t->view->key[0].aes;
    default_segv();
    k[0] ^= 1;
    snprintf(out, outlen, "flipped a key bit");
    return 0;
}

/* The read-only views made writable: "header" (scoreboard), "tickets". */
static int act_mprotect(const struct fe_child_env *env, int fd, const char *arg, char *out,
                        size_t outlen)
{
    (void)fd;
    const void *p = strcmp(arg, "tickets") == 0 ? (const void *)fe_tls_ticket_source()->view
                                                : (const void *)env->sb->hdr;
    if (mprotect(page_of(p), (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE) == -1)
        return errno;
    snprintf(out, outlen, "%s writable", arg);
    return 0;
}

/* The own writable slot over its neighbours: "grow" in place, "move"
 * grown elsewhere, "zero" (old size 0: a second mapping of the same
 * memory, of any length). */
static int act_mremap(const struct fe_child_env *env, int fd, const char *arg, char *out,
                      size_t outlen)
{
    (void)fd;
    void *own = env->slot;
    size_t len = env->sb->slot_size;
    void *p = strcmp(arg, "grow") == 0   ? mremap(own, len, 3 * len, 0)
              : strcmp(arg, "move") == 0 ? mremap(own, len, 3 * len, MREMAP_MAYMOVE)
                                         : mremap(own, 0, 3 * len, MREMAP_MAYMOVE);
    if (p == MAP_FAILED)
        return errno;
    ((volatile char *)p)[len] = 1;
    snprintf(out, outlen, "remapped to %p", p);
    return 0;
}

/* A forged lean hand-off (lean.h): naming "other" slot, slot "ffffffff",
 * or our own slot while it is not relaying ("self"). The descriptors are
 * our client's; the master must refuse, log and carry on. */
static int act_handoff(const struct fe_child_env *env, int fd, const char *arg, char *out,
                       size_t outlen)
{
    struct fe_handoff h;
    memset(&h, 0, sizeof h);
    h.magic = FE_HANDOFF_MAGIC;
    h.slot = strcmp(arg, "other") == 0  ? (uint32_t)(env->slot_index == 0 ? 1 : 0)
             : strcmp(arg, "self") == 0 ? (uint32_t)env->slot_index
                                        : (uint32_t)strtoul(arg, NULL, 16);
    pid_t lean = fe_handoff_send(env->handoff_fd, &h, fd, fd, 3000);
    if (lean <= 0)
        return EPERM;
    snprintf(out, outlen, "lean child %d", (int)lean);
    return 0;
}

/* Takes the per-IP admission lock and keeps it: the other children's
 * per-IP-limited clients get 503s until the master kills this child. */
static int act_iplock(const struct fe_child_env *env, int fd, const char *arg, char *out,
                      size_t outlen)
{
    (void)arg;
    (void)out;
    (void)outlen;
    if (fe_scoreboard_lock_try(env->sb) == -1)
        return errno;
    char line[64];
    int n = snprintf(line, sizeof line, "RESULT iplock ok held by %d\n", (int)getpid());
    if (write(fd, line, (size_t)n) == -1) {
        /* the test went away; hold the lock all the same */
    }
    for (;;)
        poll(NULL, 0, -1);
}

/* A busy sibling for the others to attack: says its pid, then keeps its
 * client until the client closes. */
static int act_hold(const struct fe_child_env *env, int fd, const char *arg, char *out,
                    size_t outlen)
{
    (void)env;
    (void)arg;
    char line[64], sink[64];
    int n = snprintf(line, sizeof line, "RESULT hold ok %d\n", (int)getpid());
    if (write(fd, line, (size_t)n) == -1)
        return 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, -1) == 0 || (p.revents & POLLIN && read(fd, sink, sizeof sink) > 0))
        ;
    snprintf(out, outlen, "held");
    return -1; /* answered already */
}

static const struct {
    const char *name;
    int (*fn)(const struct fe_child_env *env, int fd, const char *arg, char *out, size_t outlen);
} child_actions[] = {
    {"hold", act_hold},       {"sbslot", act_sb_slot},    {"sbheader", act_sb_header},
    {"tickets", act_tickets}, {"mprotect", act_mprotect}, {"mremap", act_mremap},
    {"handoff", act_handoff}, {"iplock", act_iplock},
};

static void answer(int fd, const char *out, size_t len)
{
    if (write(fd, out, len) == -1) {
        /* the test client went away */
    }
}

int fe_test_hook(const struct fe_child_env *env, int fd, const unsigned char *first, size_t len)
{
    char line[256], action[32] = "", arg[200] = "", out[512], detail[128] = "";
    if (len < 8 || memcmp(first, "HOSTILE ", 8) != 0)
        return 0;
    size_t n = 0;
    while (n < len && n + 1 < sizeof line && first[n] != '\r' && first[n] != '\n') {
        line[n] = (char)first[n];
        n++;
    }
    line[n] = '\0';
    if (sscanf(line, "HOSTILE %31s %199s", action, arg) < 1)
        return 0;
    for (size_t i = 0; i < sizeof child_actions / sizeof child_actions[0]; i++) {
        if (strcmp(child_actions[i].name, action) != 0)
            continue;
        int e = child_actions[i].fn(env, fd, arg, detail, sizeof detail);
        int k = e == -1 ? 0
                : e == 0
                    ? snprintf(out, sizeof out, "RESULT %s ok %s\n", action, detail)
                    : snprintf(out, sizeof out, "RESULT %s denied %d %s\n", action, e, strerror(e));
        if (k > 0)
            answer(fd, out, (size_t)k < sizeof out ? (size_t)k : sizeof out - 1);
        return 1;
    }
    answer(fd, out, hostile_run(action, arg, out, sizeof out));
    return 1;
}
