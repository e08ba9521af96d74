/* SPDX-License-Identifier: BSD-2-Clause */
/* The waiting room: clients that have not sent enough to be served yet
 * (plain: a complete request head; TLS: a complete first record, the
 * ClientHello) wait in the master's epoll, not in a child.
 *
 * An idle child accepts as before and peeks (MSG_PEEK, never consuming).
 * If the client is not ready it passes the descriptor to the master over
 * the waiting-room socket with one number, how many bytes must be queued
 * before it is worth looking again, and goes back to waiting: no fork, no
 * slot, no child held by a slow client. The master registers the
 * descriptor edge-triggered and, when bytes arrive, compares the kernel's
 * queued count (FIONREAD) with that number; it never reads a client byte.
 * At the number (or a hang-up) it passes the descriptor back over the same
 * socket, where one idle child takes it and peeks again. A client still not
 * ready by request_timeout (plain) or handshake_timeout (TLS), counted from
 * its accept, is closed by the master (a 408 page on plaintext).
 *
 * What the child parses to get the number: on plaintext, whether the peeked
 * bytes hold "\r\n\r\n"; on TLS, the 5-byte record header's length. A
 * service that takes PROXY headers skips the waiting room (its peer is a
 * trusted balancer). */
#ifndef BACTRIAN_FRONTEND_WAITROOM_H
#define BACTRIAN_FRONTEND_WAITROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fe_gen;
struct fe_listener;
struct bx_config;

/* The tag of the waiting-room socket in a generation's accept epoll. */
#define FE_WAITROOM_TAG 0xfffffff0u

struct fe_park {
    uint32_t magic;
    uint32_t li;                /* listener index in generation gen */
    uint32_t gen;
    uint32_t need;              /* queued bytes that make it worth a look */
    uint64_t since_ms;          /* accepted at (monotonic) */
};

/* need from the master: serve as it is, do not park again. */
#define FE_WAITROOM_SERVE UINT32_MAX

/* ---- in a child ---- */

/* 0: ready to serve; else the queued byte count to wait for. */
uint32_t fe_waitroom_need(int fd, bool tls);
/* Passes fd to the master (closing ours); -1 when it cannot (serve it). */
int fe_waitroom_park(int sock, int fd, const struct fe_park *p);
/* Takes a descriptor the master passed back: fd, or -1 (none, or bad). */
int fe_waitroom_take(int sock, struct fe_park *p);

/* ---- in the master ---- */

struct fe_waitroom;

/* The socket pair ([0] the master's, [1] the children's) and the table,
 * sized from RLIMIT_NOFILE (raised to its hard limit here). Waiting clients
 * live at descriptor numbers from FE_WAITROOM_FD_BASE up, so a process the
 * master forks drops them all with one close_range (fe_waitroom_forked). */
struct fe_waitroom *fe_waitroom_create(int *child_end);
#define FE_WAITROOM_FD_BASE 1024
/* In any process the master forks, first thing: close the waiting clients. */
void fe_waitroom_forked(void);
void fe_waitroom_destroy(struct fe_waitroom *w);
int fe_waitroom_fd(const struct fe_waitroom *w); /* the master's end */
/* The master's epoll tags from this base up are waiting clients. */
#define FE_WAITROOM_EP_BASE 0x40000000u
/* Takes parked descriptors from children into ep; clients get deadlines
 * from cfg (the listener's service says TLS or not). */
void fe_waitroom_receive(struct fe_waitroom *w, int ep, const struct fe_gen *g);
/* An epoll event for tag: passes the client back when ready. */
void fe_waitroom_event(struct fe_waitroom *w, int ep, uint32_t tag, uint32_t events);
/* Closes clients past their deadline; retries passing back. */
void fe_waitroom_tick(struct fe_waitroom *w, int ep);
/* After a reload: entries of old generations move to the listener of g
 * with the same address and port (closed when none). */
void fe_waitroom_regen(struct fe_waitroom *w, const struct fe_gen *old, const struct fe_gen *g);
size_t fe_waitroom_count(const struct fe_waitroom *w);

#endif
