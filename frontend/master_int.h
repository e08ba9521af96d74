/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend master's private state and the interface its files share
 * (not for anything outside frontend/master*.c):
 *
 *   master.c         the entry points (master.h), the loop, its timers, and
 *                    the policy the supervision layer calls: stop, reopen,
 *                    upgrade (common/supervise.h)
 *   master_setup.c   what the master makes at start and frees at the end:
 *                    its epoll, hand-off socket, key process, waiting room,
 *                    scoreboard, slot table, backend pool, ticket keys
 *   master_gen.c     generations: listeners, TLS contexts, reload, and the
 *                    reload limits on old generations
 *   master_pool.c    the pool of children: spawning, retiring, refusing the
 *                    queue when every child is busy, hand-offs to lean
 *                    children, reaping, the per-IP lock watch
 *   master_keys.c    the key process's supervision and the session ticket
 *                    keys
 *
 * One struct master, passed to every function: the files share it rather
 * than keep statics of their own. */
#ifndef BACTRIAN_FRONTEND_MASTER_INT_H
#define BACTRIAN_FRONTEND_MASTER_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/supervise.h"
#include "common/upgrade.h"
#include "frontend/keyctl.h"
#include "frontend/slottab.h"

struct bx_cli;
struct bx_config;
struct fe_gen;
struct fe_ticket_secret;

#define LISTEN_BACKLOG 4096
#define STOP_GRACE_MS 10000
#define END_GRACE_MS 5000 /* reload limits: end request to SIGKILL */
#define MAX_GENS 64
#define TAG_SIGNAL 0xffffff01u
#define TAG_NOTIFY 0xffffff02u
#define TAG_HANDOFF 0xffffff03u
#define TAG_WAITROOM 0xffffff04u
#define TAG_POOL 0xffffff05u
/* A child that holds the per-IP admission lock this long (it needs it for
 * microseconds) is killed: meanwhile every per-IP-limited client gets a 503. */
#define IP_LOCK_HOLD_MS 1000
/* ...and seen holding it on this many passes of the loop at least, so that
 * a master that was not scheduled for a second cannot mistake two brief
 * holds by one busy child for one long one. */
#define IP_LOCK_SAMPLES 3

struct master {
    const struct bx_cli *cli;
    struct fe_gen *gen;
    struct fe_scoreboard *sb;
    struct fe_slottab slots;    /* private: who owns which slot */
    struct fe_tickets *tickets;
    struct fe_ticket_secret *secret; /* ticket_secret_file's, or NULL: random keys */
    uint64_t ticket_period;     /* with a secret: the period whose key is current */
    struct fe_pool *pool;       /* backend pool members: table and probes (pool.h) */
    char *sb_file;              /* the scoreboard's file, removed on stop */
    struct bx_sv sv;            /* signals, reaping, the stop (supervise.h) */
    int ep, notify_fd, pidfd;
    int hofd[2];                /* hand-off socket: [0] ours, [1] the children's */
    size_t nchildren;           /* alive, every generation */
    pid_t self;                 /* our pid, for the children's death-signal check */
    struct fe_waitroom *wr;     /* clients not ready to be served (waitroom.h), or NULL */
    int wr_child;               /* the children's end of it, -1: none */
    uint64_t next_wr_tick;
    int reserve_fd;             /* given up at EMFILE to refuse one queued client */
    bool watching;              /* listeners in our epoll: pool exhausted */
    uint64_t next_rotate;
    uint64_t superseded_ms[MAX_GENS]; /* when generation id % MAX_GENS was replaced */
    unsigned next_gen;
    struct {                    /* the per-IP lock's holder, as last seen */
        pid_t pid;
        uint64_t since;
        unsigned seen;
    } lock;
    struct fe_keyctl kc;        /* the key process (keyproc.h) */
    uint64_t kp_restart_ms;     /* when to start it again after it died */
    uint64_t kp_delay_ms;       /* back-off between failed restarts */
    char exe[PATH_MAX];         /* our binary, for USR2 (upgrade.h) */
    struct bx_upgrade up;       /* what an upgrade passed us, until setup took it */
    struct bx_children kept;    /* children of the image before an upgrade
                                   (tag: generation, or FE_UP_KEYPROC) */
};

/* master_gen.c */
/* Frees g: its listeners, accept epoll and TLS contexts; its configuration
 * too when free_cfg (the first generation's belongs to main()). */
void fe_master_gen_free(struct fe_gen *g, bool free_cfg);
/* A generation of cfg with id: listeners reused from old (NULL at start:
 * from an upgrade, or bound), keys loaded by the key process. NULL and err
 * on failure. */
struct fe_gen *fe_master_gen_build(struct master *m, struct bx_config *cfg,
                                   const struct fe_gen *old, unsigned id, char *err, size_t errlen);
/* Idle children of generation g also wait on the waiting room's socket. */
void fe_master_gen_attach_waitroom(const struct master *m, struct fe_gen *g, bool on);
/* HUP: a new generation from the file, or the running one kept. */
void fe_master_reload(struct master *m);
/* The reload limits on children of old generations (reload_max_*). */
void fe_master_enforce_old(struct master *m);

/* master_pool.c */
/* Asks the idle child in slot i to exit; false when it just took a client
 * (or there is none). */
bool fe_master_retire(struct master *m, size_t i);
/* Listeners in the master's epoll (on: the pool is exhausted) or not. */
void fe_master_watch_listeners(struct master *m, bool on);
/* Spare children between min_spare and max_spare, within max_children. */
void fe_master_maintain(struct master *m);
/* Pool exhausted: refuse the clients queued on listener li. */
void fe_master_refuse_queued(struct master *m, size_t li);
/* Forks a lean child for each connection a child offers (lean.h). */
void fe_master_take_handoffs(struct master *m);
/* bx_sv_reap's exited: the key process, or a child of the pool. */
void fe_master_child_exited(void *ctx, pid_t pid, int status);
/* Kills a child that holds the per-IP lock too long. */
void fe_master_watch_ip_lock(struct master *m, uint64_t now);

/* master_keys.c */
/* The master's descriptors a key process forked now must not keep: into
 * out, at most max; returns how many. */
size_t fe_master_fds(const struct master *m, int *out, size_t max);
/* The key process ended with status: a restart is due in a second. */
void fe_master_key_process_died(struct master *m, int status);
/* A new key process with the running generation's keys, or a later try. */
void fe_master_key_process_restart(struct master *m);
/* Warns when frontend.user could not read the ticket secret again. */
void fe_master_warn_secret_owner(const struct bx_config *cfg, const struct fe_ticket_secret *s);
/* Makes the keys secret (or NULL: random keys) gives, now; takes secret. */
int fe_master_tickets_apply(struct master *m, struct fe_ticket_secret *secret,
                            const struct bx_config *cfg);
/* Loads cfg's ticket secret file, if any, into *out. 0, or -1 logged with
 * what before the message. */
int fe_master_tickets_load(const struct bx_config *cfg, struct fe_ticket_secret **out,
                           const char *what);
/* Rotation, or the next period's keys from the secret. */
void fe_master_tickets_timer(struct master *m, uint64_t now);

/* master_setup.c */
/* Everything the master needs before its loop, ops for the supervision
 * layer; privileges dropped at the end. 0, or -1 logged. */
int fe_master_setup(struct master *m, struct bx_config *cfg, const struct bx_sv_ops *ops);
/* Frees what fe_master_setup mapped (the scoreboard, slots, pool, keys). */
void fe_master_unmap_scoreboard(struct master *m);

#endif
