/* SPDX-License-Identifier: BSD-2-Clause */
/* What a frontend child does when its master dies, or when the master asks
 * it to end its client politely (reload limits). Both are signals, handled
 * in the child by code that only flips flags and makes async-signal-safe
 * system calls:
 *
 *  - Master death (PR_SET_PDEATHSIG, set right after fork and before
 *    confinement): an idle child exits at once; a busy one lets go of the
 *    listening sockets (dup3 of a harmless descriptor over each, so the
 *    numbers stay taken and nothing else ever gets them) and exits after its
 *    client. So no orphan keeps a port a new master needs to bind.
 *  - End request (FE_SIG_END from the master): the relay's backend socket is
 *    shut down both ways; the relay sees the backend's end and passes it on
 *    as it always does (TLS close_notify, or a FIN on plaintext). */
#ifndef BACTRIAN_FRONTEND_LIFELINE_H
#define BACTRIAN_FRONTEND_LIFELINE_H

#include <stdbool.h>
#include <sys/types.h>

#include <signal.h>

struct fe_gen;

/* Sent by the master to a relay over the reload limits. */
#define FE_SIG_END SIGUSR2
/* The signal the kernel sends a child when the master dies. */
int fe_sig_orphan(void);

/* In a new handshake child, first thing: the death signal, the handlers,
 * and exit when the master died before we got here. spare is any open
 * descriptor of ours to copy over the listeners (the notify eventfd). */
void fe_lifeline_child(const struct fe_gen *g, pid_t master, int spare);
/* In a lean child: the end request only (it holds no listener). */
void fe_lifeline_lean(void);

/* The child is waiting for a client (a death signal then exits at once). */
void fe_lifeline_idle(bool idle);
/* Closes the listeners and the accept epoll for good (last client). */
void fe_lifeline_drop_listeners(void);
/* The relay's backend socket (-1: none); shut down at once when an end
 * request already came. */
void fe_lifeline_relay_fd(int bfd);

/* The client socket before the relay (-1: none), shut down on an end request. */
void fe_lifeline_client_fd(int fd);

bool fe_lifeline_orphaned(void);
bool fe_lifeline_end_asked(void);

#endif
