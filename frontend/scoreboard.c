/* SPDX-License-Identifier: BSD-2-Clause */
/* Scoreboard and ticket keys in shared memory; see scoreboard.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/proc.h"
#include "frontend/scoreboard.h"

static size_t page_round(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return (n + pg - 1) / pg * pg;
}

size_t fe_scoreboard_size(size_t nslots)
{
    return page_round(sizeof(struct bx_sb_header)) + nslots * page_round(sizeof(struct bx_sb_slot));
}

/* The per-IP lock's file: empty and sealed, so a child that writes to the
 * descriptor it inherits cannot grow it (no memory to fill), only lock it. */
static int lock_file(void)
{
    int fd = memfd_create("bactrian-iplock", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd == -1)
        return -1;
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) == -1) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static struct fe_scoreboard *init(struct fe_scoreboard *sb, size_t nslots)
{
    sb->shared = mmap(NULL, sizeof *sb->shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
    if (sb->shared == MAP_FAILED)
        sb->shared = NULL;
    sb->lock_fd = sb->shared ? lock_file() : -1;
    if (sb->lock_fd == -1) {
        int e = errno;
        fe_scoreboard_destroy(sb);
        errno = e;
        return NULL;
    }
    sb->nslots = nslots;
    sb->base = sb->shm.p;
    sb->own_index = SIZE_MAX;
    sb->header_size = page_round(sizeof(struct bx_sb_header));
    sb->slot_size = page_round(sizeof(struct bx_sb_slot));
    struct bx_sb_header *h = sb->hdr = (struct bx_sb_header *)sb->base;
    h->version = BX_SB_VERSION;
    h->header_size = (uint32_t)sb->header_size;
    h->slot_size = (uint32_t)sb->slot_size;
    h->nslots = nslots;
    h->master_pid = (int32_t)getpid();
    h->boot_id = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
    __atomic_store_n(&h->magic, BX_SB_MAGIC, __ATOMIC_RELEASE);
    return sb;
}

struct fe_scoreboard *fe_scoreboard_create(size_t nslots)
{
    struct fe_scoreboard *sb = calloc(1, sizeof *sb);
    if (!sb)
        return NULL;
    sb->lock_fd = -1;
    if (fe_shm_create(&sb->shm, "bactrian-scoreboard", fe_scoreboard_size(nslots), true) == -1) {
        free(sb);
        return NULL;
    }
    return init(sb, nslots);
}

struct fe_scoreboard *fe_scoreboard_create_file(size_t nslots, const char *path, uid_t uid,
                                                gid_t gid)
{
    struct fe_scoreboard *sb = calloc(1, sizeof *sb);
    if (!sb)
        return NULL;
    sb->lock_fd = -1;
    if (fe_shm_create_file(&sb->shm, path, fe_scoreboard_size(nslots), uid, gid) == -1) {
        int e = errno;
        free(sb);
        errno = e;
        return NULL;
    }
    return init(sb, nslots);
}

void fe_scoreboard_destroy(struct fe_scoreboard *sb)
{
    if (!sb)
        return;
    fe_shm_destroy(&sb->shm);
    if (sb->shared)
        munmap(sb->shared, sizeof *sb->shared);
    if (sb->lock_fd >= 0)
        close(sb->lock_fd);
    free(sb);
}

struct bx_sb_slot *fe_sb_slot(const struct fe_scoreboard *sb, size_t i)
{
    if (i >= sb->nslots)
        return NULL;
    if (i == sb->own_index)
        return sb->own;
    return (struct bx_sb_slot *)(sb->base + sb->header_size + i * sb->slot_size);
}

int fe_scoreboard_child(struct fe_scoreboard *sb, size_t self)
{
    bool any = self < sb->nslots;
    size_t off = any ? sb->header_size + self * sb->slot_size : 0;
    if (fe_shm_child(&sb->shm, off, any ? sb->slot_size : 0) == -1)
        return -1;
    sb->own = any ? (struct bx_sb_slot *)((char *)sb->shm.p + off) : NULL;
    sb->own_index = any ? self : SIZE_MAX;
    sb->base = (char *)sb->shm.ro; /* read-only: writes through it fault */
    sb->hdr = (struct bx_sb_header *)sb->base;
    sb->shm.p = NULL;              /* not ours any more but for the own slot */
    return 0;
}

int fe_slot_get(const struct bx_sb_slot *s)
{
    return __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
}

void fe_slot_set(struct bx_sb_slot *s, int state)
{
    __atomic_store_n(&s->state, state, __ATOMIC_RELEASE);
}

bool fe_slot_cas(struct bx_sb_slot *s, int from, int to)
{
    return __atomic_compare_exchange_n(&s->state, &from, to, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

/* IPv4-mapped IPv6 addresses count as the IPv4 address they carry. */
static int addr_key(const struct sockaddr *sa, unsigned char out[16], uint16_t *port)
{
    memset(out, 0, 16);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        memcpy(out, &s->sin_addr, 4);
        *port = ntohs(s->sin_port);
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        *port = ntohs(s->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
            memcpy(out, s->sin6_addr.s6_addr + 12, 4);
            return AF_INET;
        }
        memcpy(out, &s->sin6_addr, 16);
        return AF_INET6;
    }
    *port = 0;
    return 0;
}

void fe_slot_set_client(struct bx_sb_slot *s, const struct sockaddr *sa)
{
    s->family = (unsigned char)addr_key(sa, s->addr, &s->port);
}

size_t fe_scoreboard_count_ip(const struct fe_scoreboard *sb, const struct sockaddr *sa,
                              const struct bx_sb_slot *self)
{
    unsigned char key[16];
    uint16_t port;
    int fam = addr_key(sa, key, &port);
    size_t n = 0;
    if (fam == 0)
        return 0;
    for (size_t i = 0; i < sb->nslots; i++) {
        const struct bx_sb_slot *s = fe_sb_slot(sb, i);
        int st = fe_slot_get(s);
        if (s == self || (st != FE_SLOT_HANDSHAKE && st != FE_SLOT_RELAY))
            continue;
        if (s->family == fam && memcmp(s->addr, key, 16) == 0)
            n++;
    }
    return n;
}

/* Byte 0 of the lock file, write-locked: F_SETLK never waits, so the
 * wait below stays bounded. */
static int lock_op(const struct fe_scoreboard *sb, int cmd, short type, pid_t *holder)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    int rc;
    do
        rc = fcntl(sb->lock_fd, cmd, &fl);
    while (rc == -1 && errno == EINTR);
    if (holder)
        *holder = rc == 0 && fl.l_type != F_UNLCK ? fl.l_pid : 0;
    return rc;
}

int fe_scoreboard_lock_try(struct fe_scoreboard *sb)
{
    return lock_op(sb, F_SETLK, F_WRLCK, NULL);
}

pid_t fe_scoreboard_lock_holder(const struct fe_scoreboard *sb)
{
    pid_t holder = 0;
    return lock_op(sb, F_GETLK, F_WRLCK, &holder) == -1 ? -1 : holder;
}

/* The lock is held for one pass over the slots, microseconds. A holder
 * that dies loses it (the kernel drops its record locks); one that holds
 * it forever (a child gone bad) costs each waiter FE_IP_LOCK_WAIT_MS, not
 * a hang, until the master kills it (master_pool.c, fe_master_watch_ip_lock). */
static int ip_lock(struct fe_scoreboard *sb, int *holder)
{
    uint64_t deadline = 0;
    for (unsigned spins = 0;; spins++) {
        if (fe_scoreboard_lock_try(sb) == 0)
            return 0;
        if (errno != EAGAIN && errno != EACCES) {
            *holder = 0;
            return -1;
        }
        if (spins < 32) {
            sched_yield();
            continue;
        }
        uint64_t now = bx_now_ms();
        if (!deadline) {
            deadline = now + FE_IP_LOCK_WAIT_MS;
        } else if (now >= deadline) {
            *holder = (int)fe_scoreboard_lock_holder(sb);
            return -1;
        }
        struct timespec ts = {0, 50 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void ip_unlock(struct fe_scoreboard *sb)
{
    lock_op(sb, F_SETLK, F_UNLCK, NULL);
}

enum fe_admit fe_scoreboard_admit_ip(struct fe_scoreboard *sb, struct bx_sb_slot *self,
                                     const struct sockaddr *sa, int max, int *holder)
{
    if (max <= 0) {
        fe_slot_set_client(self, sa);
        return FE_ADMIT_OK;
    }
    int dummy;
    if (ip_lock(sb, holder ? holder : &dummy) == -1)
        return FE_ADMIT_LOCK_TIMEOUT;
    bool ok = fe_scoreboard_count_ip(sb, sa, self) < (size_t)max;
    if (ok)
        fe_slot_set_client(self, sa);
    ip_unlock(sb);
    return ok ? FE_ADMIT_OK : FE_ADMIT_LIMIT;
}

void fe_scoreboard_conn_id(struct fe_scoreboard *sb, char *out, size_t outlen)
{
    uint64_t n = __atomic_add_fetch(&sb->shared->conn_seq, 1, __ATOMIC_RELAXED);
    snprintf(out, outlen, "%08x-%010llx", (unsigned)sb->hdr->boot_id, (unsigned long long)n);
}

const char *fe_slot_state_name(int state)
{
    return bx_sb_state_name(state);
}

/* ---- session ticket keys ------------------------------------------------ */

struct fe_tickets *fe_tickets_create(void)
{
    struct fe_tickets *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (fe_shm_create(&t->shm, "bactrian-tickets", page_round(sizeof *t->page), false) == -1) {
        free(t);
        return NULL;
    }
    t->page = t->shm.p;
    t->view = t->shm.ro;
    return t;
}

void fe_tickets_destroy(struct fe_tickets *t)
{
    if (!t)
        return;
    OPENSSL_cleanse(t->page, sizeof *t->page); /* the master's: children never get here */
    fe_shm_destroy(&t->shm);
    free(t);
}

int fe_tickets_rotate(struct fe_tickets *t)
{
    struct fe_ticket_key k[2];
    k[1] = t->page->key[0];
    if (RAND_bytes((unsigned char *)&k[0], sizeof k[0]) != 1) {
        OPENSSL_cleanse(k, sizeof k);
        return -1;
    }
    int rc = fe_tickets_set(t, k);
    OPENSSL_cleanse(k, sizeof k);
    return rc;
}

int fe_tickets_set(struct fe_tickets *t, const struct fe_ticket_key k[2])
{
    struct fe_ticket_page *p = t->page;
    __atomic_add_fetch(&p->seq, 1, __ATOMIC_ACQ_REL);
    p->key[0] = k[0];
    p->key[1] = k[1];
    __atomic_add_fetch(&p->seq, 1, __ATOMIC_ACQ_REL);
    return 0;
}

/* A seqlock read: an even count that is the same before and after the copy
 * means no write overlapped it. The master writes for a microsecond every
 * ticket_rotate_ms, so a few tries suffice; a count that stays odd (the
 * master stopped mid-write) or keeps changing gets an error, and the
 * caller goes without tickets for this connection. */
int fe_tickets_get(const struct fe_tickets *t, struct fe_ticket_key out[2])
{
    const struct fe_ticket_page *p = t->view;
    for (int tries = 0; tries < FE_TICKETS_TRIES; tries++) {
        unsigned a = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
        if (a == 0)
            break; /* never written */
        if (a & 1) {
            sched_yield();
            continue;
        }
        memcpy(out, p->key, 2 * sizeof *out);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&p->seq, __ATOMIC_ACQUIRE) == a)
            return 0;
    }
    OPENSSL_cleanse(out, 2 * sizeof *out);
    return -1;
}
