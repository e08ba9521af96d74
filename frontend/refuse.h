/* SPDX-License-Identifier: BSD-2-Clause */
/* How the frontend refuses a client, and how it says so in the log.
 *
 * Each refusal class (per_ip_max, max_children, backend down or full, the
 * descriptor limit, slow clients the waiting room gave up on) logs at most
 * one line a second across every process of the frontend, with the count
 * of the refusals not logged since (common/ratelimit.h; the limiters live
 * in one page the master maps shared before the first fork).
 *
 * A plaintext client gets a 503 with Retry-After. A TLS client refused
 * before its handshake gets a fatal TLS alert record (internal_error) in
 * clear, as the TLS record layer allows before keys exist: a client sees
 * "alert internal error", not a TCP reset. Not a 503 after a handshake: a
 * refusal exists to shed load, and a handshake is the most expensive thing
 * the frontend does. */
#ifndef BACTRIAN_FRONTEND_REFUSE_H
#define BACTRIAN_FRONTEND_REFUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

enum fe_refusal {
    FE_REFUSE_PER_IP,
    FE_REFUSE_MAX_CHILDREN,
    FE_REFUSE_BACKEND,
    FE_REFUSE_FD_LIMIT,
    FE_REFUSE_SLOW,
    FE_REFUSE_POOL,             /* not a refusal: a pool member failed, the next was tried */
    FE_REFUSE_NCLASSES
};

/* In the master, before the first fork. */
void fe_refuse_init(void);

/* Logs one refusal of class k: at most a line a second per class, "what"
 * naming the client and the reason (no trailing count: added here). */
void fe_refuse_log(enum fe_refusal k, const char *what);

/* The 7 bytes of a fatal internal_error alert record; returns the length. */
size_t fe_refuse_alert(unsigned char *out, size_t outlen);

/* Writes the refusal to fd without blocking (a 503 page with Retry-After,
 * or the alert on TLS) and shuts the sending side down. */
void fe_refuse_write(int fd, bool tls);

#endif
