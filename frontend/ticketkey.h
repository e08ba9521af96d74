/* SPDX-License-Identifier: BSD-2-Clause */
/* Session ticket keys derived from a secret shared by every frontend host
 * (frontend.tls.ticket_secret_file), so a client resumes on any frontend
 * and the keys rotate without the hosts talking to each other.
 *
 * Time is cut into periods of ticket_rotate since the Unix epoch; period P's
 * key is HKDF-SHA256 over the secret with P in the info, split into the
 * ticket key name (16 bytes), the AES-256 key and the HMAC-SHA256 key. The
 * master publishes P's key as current (encrypts, decrypts) and P-1's as
 * previous (decrypts, and the client gets a fresh ticket), so a ticket lives
 * one to two periods on every host whose clock agrees with ours.
 *
 * The secret lives in a page of its own that children are not given
 * (MADV_DONTFORK) and core dumps leave out; only the derived keys reach
 * children, through the ticket page of scoreboard.h, as random keys do
 * without a secret file. */
#ifndef BACTRIAN_FRONTEND_TICKETKEY_H
#define BACTRIAN_FRONTEND_TICKETKEY_H

#include <stddef.h>
#include <stdint.h>

#include "frontend/scoreboard.h"

#define FE_TICKET_SECRET_MIN 32 /* bytes: 256 bits if random, 192 if base64 */
#define FE_TICKET_SECRET_MAX 4096

struct fe_ticket_secret;

/* Reads path: a regular file that only its owner may read or write (no group
 * or other bits), FE_TICKET_SECRET_MIN..MAX bytes once a trailing newline
 * (LF or CRLF) is taken off, so `openssl rand -base64 48 > file` works. NULL
 * with an error naming the file in err. */
struct fe_ticket_secret *fe_ticket_secret_load(const char *path, char *err, size_t errlen);
/* Wipes and unmaps; NULL is fine. */
void fe_ticket_secret_free(struct fe_ticket_secret *s);
/* The owner of the file when it was read (the master warns when a reload,
 * run as frontend.user, could not read it again). */
unsigned fe_ticket_secret_owner(const struct fe_ticket_secret *s);

/* Period P's key. 0, or -1 (HKDF unavailable) with out wiped. */
int fe_ticket_derive(const struct fe_ticket_secret *s, uint64_t period, struct fe_ticket_key *out);
/* The period now_ms falls in; rotate_ms > 0. */
uint64_t fe_ticket_period(uint64_t now_ms, int rotate_ms);
/* Writes P's key as current and P-1's as previous into t. 0 or -1. */
int fe_ticket_publish(struct fe_tickets *t, const struct fe_ticket_secret *s, uint64_t period);

/* Wall-clock milliseconds since the epoch: the clock every host shares. A
 * weak definition; the clock test's frontend (tests/integration/fe_clock.c)
 * links one that runs ahead, to cross period boundaries in seconds. */
uint64_t fe_ticket_clock_ms(void);

#endif
