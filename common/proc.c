/* SPDX-License-Identifier: BSD-2-Clause */
/* Process supervision both daemons share (see proc.h): daemonizing, the
 * privilege drop, signals on a signalfd, and crash-loop back-off. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/proc.h"

static const int daemon_signals[] = {SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD};

int bx_daemonize(bool keep_stderr, char *err, size_t errlen)
{
    pid_t pid = fork();
    if (pid == -1) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid > 0)
        _exit(0);
    if (setsid() == -1) {
        snprintf(err, errlen, "setsid: %s", strerror(errno));
        return -1;
    }
    /* The second fork makes sure we can never reacquire a controlling tty. */
    pid = fork();
    if (pid == -1) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid > 0)
        _exit(0);
    if (chdir("/") == -1) {
        snprintf(err, errlen, "chdir /: %s", strerror(errno));
        return -1;
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null == -1) {
        snprintf(err, errlen, "open /dev/null: %s", strerror(errno));
        return -1;
    }
    dup2(null, 0);
    dup2(null, 1);
    if (!keep_stderr)
        dup2(null, 2);
    if (null > 2)
        close(null);
    return 0;
}

int bx_lookup_user(const char *user, const char *group, uid_t *uid, gid_t *gid, char *err,
                   size_t errlen)
{
    *uid = (uid_t)-1;
    *gid = (gid_t)-1;
    if (user && *user) {
        struct passwd *pw = getpwnam(user);
        if (!pw) {
            snprintf(err, errlen, "unknown user '%s'", user);
            return -1;
        }
        *uid = pw->pw_uid;
        *gid = pw->pw_gid;
    }
    if (group && *group) {
        struct group *gr = getgrnam(group);
        if (!gr) {
            snprintf(err, errlen, "unknown group '%s'", group);
            return -1;
        }
        *gid = gr->gr_gid;
    }
    return 0;
}

int bx_drop_privileges(const char *user, const char *group, char *err, size_t errlen)
{
    uid_t uid;
    gid_t gid;
    if (!user || !*user)
        return 0; /* nothing configured: run as whoever started us */
    if (bx_lookup_user(user, group, &uid, &gid, err, errlen) == -1)
        return -1;
    if (geteuid() != 0) {
        if (geteuid() == uid)
            return 0;
        snprintf(err, errlen, "cannot switch to user '%s': not started as root", user);
        return -1;
    }
    if (setgroups(1, &gid) == -1 || setgid(gid) == -1 || setuid(uid) == -1) {
        snprintf(err, errlen, "cannot switch to user '%s': %s", user, strerror(errno));
        return -1;
    }
    /* Verify: a process that can become root again has not dropped anything. */
    if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
        snprintf(err, errlen, "privilege drop to '%s' did not stick: root regained", user);
        return -1;
    }
    if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid) {
        snprintf(err, errlen, "privilege drop to '%s' did not stick", user);
        return -1;
    }
    return 0;
}

int bx_signalfd_open(char *err, size_t errlen)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof daemon_signals / sizeof daemon_signals[0]; i++)
        sigaddset(&set, daemon_signals[i]);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL) == -1) {
        snprintf(err, errlen, "sigprocmask: %s", strerror(errno));
        return -1;
    }
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd == -1)
        snprintf(err, errlen, "signalfd: %s", strerror(errno));
    return fd;
}

int bx_signalfd_read(int fd)
{
    struct signalfd_siginfo si;
    ssize_t n;
    do
        n = read(fd, &si, sizeof si);
    while (n == -1 && errno == EINTR);
    if (n == -1)
        return errno == EAGAIN ? 0 : -1;
    if (n != (ssize_t)sizeof si)
        return -1;
    return (int)si.ssi_signo;
}

void bx_signals_reset(void)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof daemon_signals / sizeof daemon_signals[0]; i++)
        signal(daemon_signals[i], SIG_DFL);
    signal(SIGPIPE, SIG_IGN); /* writes to closed sockets must fail with EPIPE, not kill */
    sigprocmask(SIG_SETMASK, &set, NULL);
}

uint64_t bx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void bx_backoff_started(struct bx_backoff *b, uint64_t now_ms)
{
    b->started_ms = now_ms;
}

uint64_t bx_backoff_exited(struct bx_backoff *b, uint64_t now_ms, uint64_t min_uptime_ms,
                           uint64_t max_delay_ms)
{
    if (now_ms - b->started_ms >= min_uptime_ms) {
        b->quick_deaths = 0;
        b->delay_ms = 0;
        return 0;
    }
    b->quick_deaths++;
    /* Two quick deaths in a row are an accident; more is a crash loop. */
    if (b->quick_deaths <= 2)
        b->delay_ms = 0;
    else if (b->delay_ms == 0)
        b->delay_ms = 100;
    else
        b->delay_ms = b->delay_ms * 2 > max_delay_ms ? max_delay_ms : b->delay_ms * 2;
    return b->delay_ms;
}

const char *bx_exit_str(int status, char *out, size_t outlen)
{
    if (WIFEXITED(status))
        snprintf(out, outlen, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, outlen, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
    else
        snprintf(out, outlen, "stopped with status 0x%x", status);
    return out;
}
