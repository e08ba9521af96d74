/* The frontend scoreboard: one slot per child in shared anonymous memory,
 * written by the child it belongs to and read by the master (pool sizing,
 * per-IP limits, the status page). The header also carries the TLS session
 * ticket keys, so a key rotated by the master is seen by every child. */
#ifndef BACTRIAN_FRONTEND_SCOREBOARD_H
#define BACTRIAN_FRONTEND_SCOREBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

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
 * (odd while writing), children copy them out and retry on a change. */
struct fe_ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
};

struct fe_scoreboard {
    uint64_t conn_seq;          /* connection ids, fetch-and-add */
    uint32_t boot_id;           /* makes ids unique across restarts */
    int nidle;                  /* idle or starting children; see master.c */
    unsigned ticket_seq;
    unsigned log_seq;           /* bumped on USR1: children reopen their log */
    int ip_lock;                /* pid holding the per-IP admission lock, 0 = free */
    struct fe_ticket_key ticket[2]; /* [0] current (encrypts), [1] previous */
    size_t nslots;
    struct fe_slot slots[];
};

/* Maps a zeroed scoreboard of nslots slots; NULL on failure. */
struct fe_scoreboard *fe_scoreboard_create(size_t nslots);
void fe_scoreboard_destroy(struct fe_scoreboard *sb);

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

/* Writes a fresh random current key, keeping the old one as previous. */
int fe_scoreboard_rotate_tickets(struct fe_scoreboard *sb);
/* Copies both keys out consistently. */
void fe_scoreboard_get_tickets(const struct fe_scoreboard *sb, struct fe_ticket_key out[2]);

/* Makes a printable unique connection id into out (>= 24 bytes). */
void fe_scoreboard_conn_id(struct fe_scoreboard *sb, char *out, size_t outlen);

const char *fe_slot_state_name(int state);

#endif
