/* SPDX-License-Identifier: BSD-2-Clause */
/* The lean relay: a connection that has gone idle moves out of the child
 * that did its TLS handshake into a fresh child of the master.
 *
 * Why: the handshake writes to many of the pages a child shares with the
 * master (OpenSSL's objects, the heap), so a child that did one keeps some
 * 150-200 KB of its own memory for as long as its client stays, which for
 * WebSocket clients is hours. A child forked from the master that only
 * relays (tlsrec state, two descriptors) keeps a few pages. The handshake
 * child sends its descriptors and record state to the master over a
 * SOCK_SEQPACKET socket; the master forks the lean child into the same
 * scoreboard slot and acknowledges, and the handshake child exits. The
 * master never reads or writes the client's bytes; it holds the state only
 * until the fork, then wipes it. */
#ifndef BACTRIAN_FRONTEND_LEAN_H
#define BACTRIAN_FRONTEND_LEAN_H

#include <stdint.h>
#include <sys/types.h>

#include "common/net.h"
#include "frontend/tlsrec.h"

struct fe_scoreboard;

#define FE_HANDOFF_MAGIC 0xbac7e1a5u

struct fe_handoff {
    uint32_t magic;
    uint32_t slot;                  /* scoreboard index of the sender */
    uint32_t tls;                   /* 1: the TLS 1.3 record state below is live */
    struct fe_tlsrec_keys keys;
    int32_t idle_ms, stall_ms;
    uint64_t in, out, start_ms;     /* counters and start, for the log line */
    uint64_t last_io_ms;            /* last traffic (monotonic): idle time carries over */
    char who[BX_ADDRSTRLEN], id[24], vhost[64], version[16];
};

/* Child side: offers the connection (client and backend descriptors) to the
 * master on sock and waits up to wait_ms for the answer. Returns the lean
 * child's pid, or -1 when the master declined or did not answer (the caller
 * keeps the connection). */
pid_t fe_handoff_send(int sock, const struct fe_handoff *h, int cfd, int bfd, int wait_ms);

/* Master side: receives one offer without blocking. Returns 1 with h, the
 * two descriptors and the ack descriptor filled and *sender the pid the
 * kernel vouches for, 0 when none is waiting, -1 on a malformed offer
 * (descriptors closed). */
int fe_handoff_recv(int sock, struct fe_handoff *h, int *cfd, int *bfd, int *ackfd, pid_t *sender);
/* Master side: tells the offering child the outcome (lean pid or 0) and closes ackfd. */
void fe_handoff_ack(int ackfd, pid_t lean);

/* The lean child: sets up the record state from h (wiping h's keys),
 * relays until the connection ends, logs it and exits. The set-up runs
 * here, not in the master before the fork: whatever the master writes
 * between two forks becomes a private copy in the child forked before. */
_Noreturn void fe_lean_main(struct fe_handoff *h, int cfd, int bfd, struct fe_scoreboard *sb);

#endif
