/* SPDX-License-Identifier: BSD-2-Clause */
/* Crash records and mount back-off gates (see crashrec.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "backend/crashrec.h"
#include "backend/worker.h"

struct gate {
    uint64_t until_ms;        /* wall-clock-free: bx_now_ms() (monotonic) */
    uint32_t generation;
};

static struct be_activity *acts;
static size_t nacts;
static struct gate *gates;
static struct be_activity *mine; /* worker: its own row */

static void *shared(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int be_crashrec_init(size_t slots, char *err, size_t errlen)
{
    if (acts)
        return 0;
    acts = shared(slots * sizeof *acts);
    gates = shared(BE_MAX_MOUNTS * sizeof *gates);
    if (!acts || !gates) {
        snprintf(err, errlen, "cannot map the crash record tables");
        return -1;
    }
    nacts = slots;
    return 0;
}

void be_crashrec_attach(size_t slot)
{
    if (!acts || slot >= nacts)
        return;
    mine = &acts[slot];
    memset(mine, 0, sizeof *mine);
    /* only the master writes the gates */
    mprotect(gates, BE_MAX_MOUNTS * sizeof *gates, PROT_READ);
}

void be_activity_enter(size_t mount, const char *method, const char *path)
{
    if (!mine)
        return;
    mine->mount = (uint32_t)mount;
    mine->generation = be_generation;
    snprintf(mine->what, sizeof mine->what, "%s %s", method ? method : "-", path ? path : "-");
    __atomic_store_n(&mine->busy, 1, __ATOMIC_RELEASE);
}

void be_activity_leave(void)
{
    if (mine)
        __atomic_store_n(&mine->busy, 0, __ATOMIC_RELEASE);
}

uint64_t be_mount_backoff_left(size_t mount, uint64_t now_ms)
{
    if (!gates || mount >= BE_MAX_MOUNTS)
        return 0;
    const struct gate *g = &gates[mount];
    uint64_t until = __atomic_load_n(&g->until_ms, __ATOMIC_ACQUIRE);
    if (until <= now_ms || g->generation != be_generation)
        return 0;
    return until - now_ms;
}

bool be_activity_take(size_t slot, unsigned gen, size_t nmounts, size_t *mount, char *what,
                      size_t whatlen)
{
    if (!acts || slot >= nacts || whatlen == 0)
        return false;
    struct be_activity a;
    memcpy(&a, &acts[slot], sizeof a); /* one copy: the checks hold for what we use */
    memset(&acts[slot], 0, sizeof acts[slot]);
    if (a.busy != 1 || a.generation != gen || a.mount >= nmounts || a.mount >= BE_MAX_MOUNTS)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < sizeof a.what && a.what[i] && n + 1 < whatlen; i++) {
        unsigned char ch = (unsigned char)a.what[i];
        what[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    what[n] = '\0';
    *mount = a.mount;
    return true;
}

void be_mount_gate_set(size_t mount, unsigned gen, uint64_t until_ms)
{
    if (!gates || mount >= BE_MAX_MOUNTS)
        return;
    gates[mount].generation = gen;
    __atomic_store_n(&gates[mount].until_ms, until_ms, __ATOMIC_RELEASE);
}

void be_mount_gates_clear(void)
{
    if (gates)
        memset(gates, 0, BE_MAX_MOUNTS * sizeof *gates);
}
