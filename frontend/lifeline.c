/* SPDX-License-Identifier: BSD-2-Clause */
/* See lifeline.h. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frontend/child.h"
#include "frontend/lifeline.h"

static const struct fe_gen *gen;     /* our copy of the generation (from fork) */
static int spare_fd = -1;
static volatile sig_atomic_t idle, orphaned, end_asked, dropped;
static volatile sig_atomic_t relay_fd = -1, client_fd = -1;

int fe_sig_orphan(void)
{
    return SIGRTMIN + 1;
}

/* Async-signal-safe only: flags, dup3, _exit. */
static void on_orphan(int sig)
{
    (void)sig;
    orphaned = 1;
    if (idle)
        _exit(0);
    if (dropped || !gen || spare_fd < 0)
        return;
    for (size_t i = 0; i < gen->nls; i++)
        if (gen->ls[i].fd >= 0)
            dup3(spare_fd, gen->ls[i].fd, O_CLOEXEC);
    if (gen->accept_ep >= 0)
        dup3(spare_fd, gen->accept_ep, O_CLOEXEC);
    dropped = 1;
}

static void on_end(int sig)
{
    (void)sig;
    end_asked = 1;
    /* Relaying: the backend side, so the relay passes the end on. Before
     * that (handshake, waiting for the request): the client's, a FIN. */
    if (relay_fd >= 0)
        shutdown(relay_fd, SHUT_RDWR);
    else if (client_fd >= 0)
        shutdown(client_fd, SHUT_RDWR);
}

static void handle(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void fe_lifeline_child(const struct fe_gen *g, pid_t master, int spare)
{
    gen = g;
    spare_fd = spare;
    /* The kernel sends it when the thread that forked us ends: the master
     * is single-threaded, so that is the master's death. */
    prctl(PR_SET_PDEATHSIG, fe_sig_orphan());
    handle(fe_sig_orphan(), on_orphan);
    handle(FE_SIG_END, on_end);
    if (getppid() != master)
        _exit(0); /* it died between fork and prctl */
}

void fe_lifeline_lean(void)
{
    handle(FE_SIG_END, on_end);
}

void fe_lifeline_idle(bool on)
{
    idle = on;
    if (on && orphaned)
        _exit(0);
}

void fe_lifeline_drop_listeners(void)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, fe_sig_orphan());
    sigprocmask(SIG_BLOCK, &set, &old);
    if (!dropped && gen) {
        for (size_t i = 0; i < gen->nls; i++)
            close(gen->ls[i].fd);
        close(gen->accept_ep);
        dropped = 1;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
}

void fe_lifeline_relay_fd(int bfd)
{
    relay_fd = bfd;
    if (bfd >= 0 && end_asked)
        shutdown(bfd, SHUT_RDWR);
}

void fe_lifeline_client_fd(int fd)
{
    client_fd = fd;
    if (fd >= 0 && end_asked)
        shutdown(fd, SHUT_RDWR);
}

bool fe_lifeline_orphaned(void)
{
    return orphaned;
}

bool fe_lifeline_end_asked(void)
{
    return end_asked;
}
