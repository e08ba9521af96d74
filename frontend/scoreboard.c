/* Scoreboard and ticket keys in shared memory; see scoreboard.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <openssl/rand.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "frontend/scoreboard.h"

size_t fe_scoreboard_size(size_t nslots)
{
    return sizeof(struct fe_scoreboard) + nslots * sizeof(struct fe_slot);
}

static struct fe_scoreboard *init(void *p, size_t nslots)
{
    struct fe_scoreboard *sb = p;
    sb->version = FE_SB_VERSION;
    sb->header_size = (uint32_t)sizeof(struct fe_scoreboard);
    sb->slot_size = (uint32_t)sizeof(struct fe_slot);
    sb->nslots = nslots;
    sb->master_pid = (int32_t)getpid();
    sb->boot_id = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
    __atomic_store_n(&sb->magic, FE_SB_MAGIC, __ATOMIC_RELEASE);
    return sb;
}

struct fe_scoreboard *fe_scoreboard_create(size_t nslots)
{
    void *p = mmap(NULL, fe_scoreboard_size(nslots), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : init(p, nslots);
}

struct fe_scoreboard *fe_scoreboard_create_file(size_t nslots, const char *path, uid_t uid,
                                                gid_t gid)
{
    size_t len = fe_scoreboard_size(nslots);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp)
        return NULL;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".XXXXXX", 8);
    void *p = MAP_FAILED;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd == -1)
        goto out;
    if (fchmod(fd, 0640) == -1 || ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
                                   fchown(fd, uid, gid) == -1) ||
        ftruncate(fd, (off_t)len) == -1)
        goto fail;
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        goto fail;
    init(p, nslots);
    if (rename(tmp, path) == -1) {
        int e = errno;
        munmap(p, len);
        p = MAP_FAILED;
        errno = e;
        goto fail;
    }
    close(fd);
    free(tmp);
    return p;
fail:;
    int e = errno;
    close(fd);
    unlink(tmp);
    errno = e;
out:
    free(tmp);
    return NULL;
}

void fe_scoreboard_destroy(struct fe_scoreboard *sb)
{
    if (sb)
        munmap(sb, fe_scoreboard_size(sb->nslots));
}

int fe_scoreboard_claim(struct fe_scoreboard *sb)
{
    for (size_t i = 0; i < sb->nslots; i++)
        if (fe_slot_get(&sb->slots[i]) == FE_SLOT_FREE && sb->slots[i].pid == 0)
            return (int)i;
    return -1;
}

int fe_slot_get(const struct fe_slot *s)
{
    return __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
}

void fe_slot_set(struct fe_slot *s, int state)
{
    __atomic_store_n(&s->state, state, __ATOMIC_RELEASE);
}

bool fe_slot_cas(struct fe_slot *s, int from, int to)
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

void fe_slot_set_client(struct fe_slot *s, const struct sockaddr *sa)
{
    s->family = (unsigned char)addr_key(sa, s->addr, &s->port);
}

size_t fe_scoreboard_count_ip(const struct fe_scoreboard *sb, const struct sockaddr *sa,
                              const struct fe_slot *self)
{
    unsigned char key[16];
    uint16_t port;
    int fam = addr_key(sa, key, &port);
    size_t n = 0;
    if (fam == 0)
        return 0;
    for (size_t i = 0; i < sb->nslots; i++) {
        const struct fe_slot *s = &sb->slots[i];
        int st = fe_slot_get(s);
        if (s == self || (st != FE_SLOT_HANDSHAKE && st != FE_SLOT_RELAY))
            continue;
        if (s->family == fam && memcmp(s->addr, key, 16) == 0)
            n++;
    }
    return n;
}

/* The lock is held for one pass over the slots. A holder killed inside it
 * would stall every admission, so a waiter takes over a dead owner's lock. */
static void ip_lock(struct fe_scoreboard *sb)
{
    int me = (int)getpid();
    for (unsigned spins = 0;; spins++) {
        int owner = 0;
        if (__atomic_compare_exchange_n(&sb->ip_lock, &owner, me, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return;
        if (spins < 32) {
            sched_yield();
            continue;
        }
        if (kill(owner, 0) == -1 && errno == ESRCH)
            __atomic_compare_exchange_n(&sb->ip_lock, &owner, 0, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED);
        struct timespec ts = {0, 50 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void ip_unlock(struct fe_scoreboard *sb)
{
    __atomic_store_n(&sb->ip_lock, 0, __ATOMIC_RELEASE);
}

bool fe_scoreboard_admit_ip(struct fe_scoreboard *sb, struct fe_slot *self,
                            const struct sockaddr *sa, int max)
{
    if (max <= 0) {
        fe_slot_set_client(self, sa);
        return true;
    }
    ip_lock(sb);
    bool ok = fe_scoreboard_count_ip(sb, sa, self) < (size_t)max;
    if (ok)
        fe_slot_set_client(self, sa);
    ip_unlock(sb);
    return ok;
}

struct fe_tickets *fe_tickets_create(void)
{
    void *p = mmap(NULL, sizeof(struct fe_tickets), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void fe_tickets_destroy(struct fe_tickets *t)
{
    if (t) {
        OPENSSL_cleanse(t, sizeof *t);
        munmap(t, sizeof *t);
    }
}

int fe_tickets_rotate(struct fe_tickets *t)
{
    struct fe_ticket_key k;
    if (RAND_bytes((unsigned char *)&k, sizeof k) != 1)
        return -1;
    __atomic_add_fetch(&t->seq, 1, __ATOMIC_ACQ_REL);
    t->key[1] = t->key[0];
    t->key[0] = k;
    __atomic_add_fetch(&t->seq, 1, __ATOMIC_ACQ_REL);
    OPENSSL_cleanse(&k, sizeof k);
    return 0;
}

void fe_tickets_get(const struct fe_tickets *t, struct fe_ticket_key out[2])
{
    for (int tries = 0; tries < 1000; tries++) {
        unsigned a = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
        if (a & 1)
            continue;
        memcpy(out, t->key, 2 * sizeof *out);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&t->seq, __ATOMIC_ACQUIRE) == a)
            return;
    }
}

void fe_scoreboard_conn_id(struct fe_scoreboard *sb, char *out, size_t outlen)
{
    uint64_t n = __atomic_add_fetch(&sb->conn_seq, 1, __ATOMIC_RELAXED);
    snprintf(out, outlen, "%08x-%010llx", (unsigned)sb->boot_id, (unsigned long long)n);
}

const char *fe_slot_state_name(int state)
{
    static const char *const names[] = {"free", "starting", "idle", "retiring", "handshake",
                                        "relay"};
    return state >= 0 && state <= FE_SLOT_RELAY ? names[state] : "?";
}
