/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend scoreboard: one slot per child in shared memory, written by
 * the child it belongs to (and by the master around fork and reap), read
 * by the master (pool sizing) and the children (per-IP limits). With
 * frontend.scoreboard_file it is a file the backend's status module reads:
 * its format is common/sbfile.h, and nothing but that format is in it.
 *
 * Trust: this handle (slot count, sizes, pointers) is private memory of
 * each process: the master's heap, a copy in each child made by fork. No
 * count, size or index is ever read back from the shared pages. A child
 * maps the header and every slot but its own read-only (shm.h), so it can
 * write only its own slot; what it writes there is data to the others,
 * never an index, pid or size they act on. Who owns a slot is in the
 * master's private table (slottab.h), not here.
 *
 * Also here: the TLS session ticket keys, in their own mapping, never in
 * the file, and read-only in children. */
#ifndef BACTRIAN_FRONTEND_SCOREBOARD_H
#define BACTRIAN_FRONTEND_SCOREBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common/sbfile.h"
#include "frontend/shm.h"

/* The frontend's names for the file's slot states. */
enum fe_slot_state {
    FE_SLOT_FREE = BX_SB_FREE,
    FE_SLOT_STARTING = BX_SB_STARTING,
    FE_SLOT_IDLE = BX_SB_IDLE,
    FE_SLOT_RETIRING = BX_SB_RETIRING,
    FE_SLOT_HANDSHAKE = BX_SB_HANDSHAKE,
    FE_SLOT_RELAY = BX_SB_RELAY,
};

/* Written by every child, so trusted by nobody: connection ids. Its own
 * small anonymous mapping, not in the file. */
struct fe_sb_shared {
    uint64_t conn_seq;          /* connection ids, fetch-and-add */
};

struct fe_scoreboard {
    size_t nslots;              /* as mapped: the only slot count anyone uses */
    size_t header_size, slot_size;
    struct fe_shm shm;          /* header and slots (the file, or a memfd) */
    char *base;                 /* where slots are read: shm.p, in a child shm.ro */
    struct bx_sb_header *hdr;   /* = base */
    struct bx_sb_slot *own;     /* a child's own slot (writable), else NULL */
    size_t own_index;
    struct fe_sb_shared *shared;
    int lock_fd;                /* the per-IP admission lock: a POSIX record lock on it */
};

/* Maps a zeroed scoreboard of nslots slots; NULL (errno set) on failure. */
struct fe_scoreboard *fe_scoreboard_create(size_t nslots);
/* The same in the file path (see fe_shm_create_file). */
struct fe_scoreboard *fe_scoreboard_create_file(size_t nslots, const char *path, uid_t uid,
                                                gid_t gid);
void fe_scoreboard_destroy(struct fe_scoreboard *sb);
/* Bytes of the file or memfd of nslots slots. */
size_t fe_scoreboard_size(size_t nslots);

/* Slot i, NULL when i >= nslots. In a child, only its own is writable. */
struct bx_sb_slot *fe_sb_slot(const struct fe_scoreboard *sb, size_t i);
/* In a child after fork: from now on it reads the header and the other
 * slots through the read-only view and writes only slot self (SIZE_MAX:
 * none). 0, or -1 with errno: the child must not run then. */
int fe_scoreboard_child(struct fe_scoreboard *sb, size_t self);

int fe_slot_get(const struct bx_sb_slot *s);
void fe_slot_set(struct bx_sb_slot *s, int state);
/* Moves from -> to atomically; false when the state was not from. */
bool fe_slot_cas(struct bx_sb_slot *s, int from, int to);

/* Records the client address of a slot. */
void fe_slot_set_client(struct bx_sb_slot *s, const struct sockaddr *sa);
/* Busy slots (not self) whose client has the same address as sa. The
 * addresses are what other children wrote: a liar can skew the count for
 * an address, nothing more. */
size_t fe_scoreboard_count_ip(const struct fe_scoreboard *sb, const struct sockaddr *sa,
                              const struct bx_sb_slot *self);

enum fe_admit { FE_ADMIT_OK, FE_ADMIT_LIMIT, FE_ADMIT_LOCK_TIMEOUT };
/* Admits the client sa into slot self when fewer than max other busy slots
 * have its address, and publishes the address in self; counting and
 * publishing happen under one lock, so two children admitting clients of
 * the same address at once cannot both pass. max <= 0 means no limit. The
 * lock is waited for at most FE_IP_LOCK_WAIT_MS (a child that holds it
 * forever must not stall the others): then FE_ADMIT_LOCK_TIMEOUT and
 * *holder says who held it.
 *
 * The lock is a POSIX record lock (F_SETLK) on lock_fd, a sealed empty
 * memfd every child inherits, not a word in shared memory: the kernel
 * knows the holder, so F_GETLK names the real one (a child cannot frame a
 * sibling, as it could by writing another pid into a shared word), and it
 * frees the lock when the holder dies. */
#define FE_IP_LOCK_WAIT_MS 200
enum fe_admit fe_scoreboard_admit_ip(struct fe_scoreboard *sb, struct bx_sb_slot *self,
                                     const struct sockaddr *sa, int max, int *holder);
/* The pid holding the per-IP lock as the kernel knows it, 0 when free, -1
 * on error. The caller must not hold it (a process never conflicts with
 * its own lock). */
pid_t fe_scoreboard_lock_holder(const struct fe_scoreboard *sb);
/* Takes the per-IP lock without waiting: 0, or -1 when someone holds it. */
int fe_scoreboard_lock_try(struct fe_scoreboard *sb);

/* Makes a printable unique connection id into out (>= 24 bytes). */
void fe_scoreboard_conn_id(struct fe_scoreboard *sb, char *out, size_t outlen);

const char *fe_slot_state_name(int state);

/* ---- session ticket keys ------------------------------------------------
 * The master writes new keys under a sequence counter (odd while writing),
 * children copy them out and retry on a change. */
struct fe_ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
};

struct fe_ticket_page {
    unsigned seq;               /* 0: no keys yet; odd: being written */
    struct fe_ticket_key key[2]; /* [0] current (encrypts), [1] previous */
};

struct fe_tickets {
    struct fe_shm shm;          /* the writable mapping is not inherited by children */
    struct fe_ticket_page *page; /* = shm.p: the master writes here */
    const struct fe_ticket_page *view; /* = shm.ro: everyone reads here */
};

/* Maps zeroed ticket keys shared with children forked later; NULL on failure. */
struct fe_tickets *fe_tickets_create(void);
void fe_tickets_destroy(struct fe_tickets *t);
/* Writes a fresh random current key, keeping the old one as previous. */
int fe_tickets_rotate(struct fe_tickets *t);
/* Writes k[0] as current and k[1] as previous (keys derived from a shared
 * secret, ticketkey.h). 0. */
int fe_tickets_set(struct fe_tickets *t, const struct fe_ticket_key k[2]);
/* Copies both keys out consistently: 0, or -1 with out wiped when there are
 * no keys or no consistent copy within a bounded number of tries. */
#define FE_TICKETS_TRIES 64
int fe_tickets_get(const struct fe_tickets *t, struct fe_ticket_key out[2]);

#endif
