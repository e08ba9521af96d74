/* The frontend scoreboard: one slot per child in shared memory, written by
 * the child it belongs to and read by the master (pool sizing, per-IP
 * limits). With frontend.scoreboard_file it is a file mapping that the
 * backend's status module reads; the layout is then a file format, checked
 * by magic, version, header and slot size. The TLS session ticket keys are
 * never in it: they live in a separate anonymous mapping (struct fe_tickets). */
#ifndef BACTRIAN_FRONTEND_SCOREBOARD_H
#define BACTRIAN_FRONTEND_SCOREBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define FE_SB_MAGIC 0x42535842u /* "BXSB" */
#define FE_SB_VERSION 1u

enum fe_slot_state {
    FE_SLOT_FREE = 0,   /* no process */
    FE_SLOT_STARTING,   /* forked, not yet waiting in accept */
    FE_SLOT_IDLE,       /* waiting in accept */
    FE_SLOT_RETIRING,   /* idle, asked to exit by the master */
    FE_SLOT_HANDSHAKE,  /* accepted: PROXY header, TLS handshake, first request */
    FE_SLOT_RELAY,      /* relaying to the backend */
};

struct fe_slot {
    int state;                  /* enum fe_slot_state, accessed atomically */
    pid_t pid;
    unsigned generation;        /* reload generation that forked it */
    uint64_t started_ms;        /* child start (monotonic) */
    uint64_t client_ms;         /* when the current client was accepted */
    uint64_t bytes_in, bytes_out;
    unsigned char family;       /* AF_INET / AF_INET6 / 0 */
    unsigned char addr[16];     /* client address (IPv4 in the first 4 bytes) */
    uint16_t port;
    char vhost[64];
    char conn_id[24];
};

/* Session ticket keys: the master writes new keys under a sequence counter
 * (odd while writing), children copy them out and retry on a change.
 * Shared by the master and its children only (anonymous mapping). */
struct fe_ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
};

struct fe_tickets {
    unsigned seq;
    struct fe_ticket_key key[2]; /* [0] current (encrypts), [1] previous */
};

struct fe_scoreboard {
    uint32_t magic;             /* FE_SB_MAGIC, written last */
    uint32_t version;           /* FE_SB_VERSION: the layout of this struct and fe_slot */
    uint32_t header_size;       /* offsetof(struct fe_scoreboard, slots) */
    uint32_t slot_size;         /* sizeof(struct fe_slot) */
    uint64_t nslots;
    int32_t master_pid;
    uint32_t boot_id;           /* makes ids unique across restarts */
    uint64_t conn_seq;          /* connection ids, fetch-and-add */
    int nidle;                  /* idle or starting children; see master.c */
    unsigned log_seq;           /* bumped on USR1: children reopen their log */
    int ip_lock;                /* pid holding the per-IP admission lock, 0 = free */
    struct fe_slot slots[];
};

/* Maps a zeroed scoreboard of nslots slots; NULL (errno set) on failure. */
struct fe_scoreboard *fe_scoreboard_create(size_t nslots);
/* The same in a file others can map read-only: made under a temporary name
 * with mode 0640, owned by uid:gid when not -1, then renamed over path, so a
 * reader sees the old file or the complete new one. */
struct fe_scoreboard *fe_scoreboard_create_file(size_t nslots, const char *path, uid_t uid,
                                                gid_t gid);
void fe_scoreboard_destroy(struct fe_scoreboard *sb);
/* Bytes a scoreboard of nslots slots maps. */
size_t fe_scoreboard_size(size_t nslots);

/* A free slot index or -1. */
int fe_scoreboard_claim(struct fe_scoreboard *sb);
int fe_slot_get(const struct fe_slot *s);
void fe_slot_set(struct fe_slot *s, int state);
/* Moves from -> to atomically; false when the state was not from. */
bool fe_slot_cas(struct fe_slot *s, int from, int to);

/* Records the client address of a slot. */
void fe_slot_set_client(struct fe_slot *s, const struct sockaddr *sa);
/* Busy children (not self) whose client has the same address as sa. */
size_t fe_scoreboard_count_ip(const struct fe_scoreboard *sb, const struct sockaddr *sa,
                              const struct fe_slot *self);

/* Admits the client sa into slot self when fewer than max other busy slots
 * have its address, and publishes the address in self; counting and
 * publishing happen under one lock, so two children admitting clients of
 * the same address at once cannot both pass. max <= 0 means no limit. */
bool fe_scoreboard_admit_ip(struct fe_scoreboard *sb, struct fe_slot *self,
                            const struct sockaddr *sa, int max);

/* Maps zeroed ticket keys shared with children forked later; NULL on failure. */
struct fe_tickets *fe_tickets_create(void);
void fe_tickets_destroy(struct fe_tickets *t);
/* Writes a fresh random current key, keeping the old one as previous. */
int fe_tickets_rotate(struct fe_tickets *t);
/* Copies both keys out consistently. */
void fe_tickets_get(const struct fe_tickets *t, struct fe_ticket_key out[2]);

/* Makes a printable unique connection id into out (>= 24 bytes). */
void fe_scoreboard_conn_id(struct fe_scoreboard *sb, char *out, size_t outlen);

const char *fe_slot_state_name(int state);

#endif
