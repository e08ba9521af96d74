/* SPDX-License-Identifier: BSD-2-Clause */
/* Binary upgrade in place (upgrade.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cli.h"
#include "common/proc.h"
#include "common/upgrade.h"
#include "common/upgrade_report.h"
#include "common/words.h"

extern char **environ;

/* More than any configuration has: bounds what a record may make us hold. */
#define MAX_LISTENERS 4096
#define MAX_KIDS 1000000
#define MAX_RECORD (64u << 20)

void bx_upgrade_init(struct bx_upgrade *u)
{
    memset(u, 0, sizeof *u);
    u->pidfd = -1;
}

void bx_upgrade_free(struct bx_upgrade *u)
{
    free(u->ls);
    bx_children_free(&u->kids);
    bx_upgrade_init(u);
}

int bx_upgrade_add_listener(struct bx_upgrade *u, int fd, const struct bx_lplace *at)
{
    if (u->nls >= MAX_LISTENERS || fd < 0)
        return -1;
    const char *text = at->path ? at->path : at->addr;
    if (!text || strlen(text) >= (at->path ? BX_UPGRADE_PATHLEN : BX_ADDRSTRLEN) ||
        strpbrk(text, " \n"))
        return -1;
    struct bx_upgrade_listener *v = realloc(u->ls, (u->nls + 1) * sizeof *v);
    if (!v)
        return -1;
    u->ls = v;
    struct bx_upgrade_listener *l = &v[u->nls++];
    memset(l, 0, sizeof *l);
    l->fd = fd;
    l->unix_socket = at->path != NULL;
    l->port = at->port;
    snprintf(l->unix_socket ? l->path : l->addr, l->unix_socket ? sizeof l->path : sizeof l->addr,
             "%s", text);
    return 0;
}

int bx_upgrade_add_child(struct bx_upgrade *u, pid_t pid, int tag)
{
    if (pid <= 0 || u->kids.n >= MAX_KIDS)
        return -1;
    struct bx_child *v = realloc(u->kids.v, (u->kids.n + 1) * sizeof *v);
    if (!v)
        return -1;
    u->kids.v = v;
    v[u->kids.n++] = (struct bx_child){.pid = pid, .tag = tag};
    return 0;
}

static int set_val(struct bx_upgrade *u, const char *name, long long v, bool is_fd)
{
    if (strlen(name) >= BX_UPGRADE_NAMELEN || strpbrk(name, " \n") || !*name)
        return -1;
    for (size_t i = 0; i < u->nvals; i++)
        if (strcmp(u->vals[i].name, name) == 0) {
            u->vals[i].v = v;
            u->vals[i].is_fd = is_fd;
            return 0;
        }
    if (u->nvals >= BX_UPGRADE_MAXVALS)
        return -1;
    struct bx_upgrade_val *x = &u->vals[u->nvals++];
    snprintf(x->name, sizeof x->name, "%s", name);
    x->v = v;
    x->is_fd = is_fd;
    return 0;
}

int bx_upgrade_set(struct bx_upgrade *u, const char *name, long long v)
{
    return set_val(u, name, v, false);
}

int bx_upgrade_set_fd(struct bx_upgrade *u, const char *name, int fd)
{
    return fd < 0 ? 0 : set_val(u, name, fd, true);
}

long long bx_upgrade_get(const struct bx_upgrade *u, const char *name, long long def)
{
    for (size_t i = 0; i < u->nvals; i++)
        if (strcmp(u->vals[i].name, name) == 0 && !u->vals[i].is_fd)
            return u->vals[i].v;
    return def;
}

int bx_upgrade_get_fd(const struct bx_upgrade *u, const char *name)
{
    for (size_t i = 0; i < u->nvals; i++)
        if (strcmp(u->vals[i].name, name) == 0 && u->vals[i].is_fd)
            return u->vals[i].v >= 0 && u->vals[i].v <= INT_MAX ? (int)u->vals[i].v : -1;
    return -1;
}

/* ---- the record as text ------------------------------------------------- */

char *bx_upgrade_format(const struct bx_upgrade *u, size_t *len)
{
    struct bx_buf b = BX_BUF_INIT;
    bx_buf_printf(&b, "bactrian-upgrade %d\n", BX_UPGRADE_VERSION);
    if (u->pidfd >= 0)
        bx_buf_printf(&b, "pidfile %d\n", u->pidfd);
    for (size_t i = 0; i < u->nls; i++) {
        const struct bx_upgrade_listener *l = &u->ls[i];
        if (l->unix_socket)
            bx_buf_printf(&b, "listen %d unix %s\n", l->fd, l->path);
        else
            bx_buf_printf(&b, "listen %d tcp %d %s\n", l->fd, l->port, l->addr);
    }
    for (size_t i = 0; i < u->kids.n; i++)
        bx_buf_printf(&b, "child %ld %d\n", (long)u->kids.v[i].pid, u->kids.v[i].tag);
    for (size_t i = 0; i < u->nvals; i++)
        bx_buf_printf(&b, "%s %s %lld\n", u->vals[i].is_fd ? "fd" : "set", u->vals[i].name,
                      u->vals[i].v);
    bx_buf_append_str(&b, "end\n");
    *len = bx_buf_unread(&b);
    bx_buf_append(&b, "", 1);
    return b.data; /* the buffer's memory is the caller's now */
}

/* A descriptor's number as a whole word. */
static bool fd_word(const char *w, long long *fd)
{
    return bx_word_ll(w, 0, INT_MAX - 1, fd);
}

static int parse_listen(struct bx_upgrade *u, char **w, int n)
{
    long long fd, port;
    if (n == 5 && strcmp(w[2], "tcp") == 0 && fd_word(w[1], &fd) &&
        bx_word_ll(w[3], 1, 65535, &port))
        return bx_upgrade_add_listener(u, (int)fd,
                                       &(struct bx_lplace){.addr = w[4], .port = (int)port});
    if (n == 4 && strcmp(w[2], "unix") == 0 && fd_word(w[1], &fd))
        return bx_upgrade_add_listener(u, (int)fd, &(struct bx_lplace){.path = w[3]});
    return -1;
}

/* One line but the first (split into words here): 0, or -1 when it is not
 * one of ours. Each field is a whole word, each number fits: nothing is
 * cut short, clamped or skipped (words.h). */
static int parse_line(struct bx_upgrade *u, char *line, bool *end)
{
    char *w[6];
    long long a, b;
    int n = bx_words(line, w, 6);
    if (n < 1)
        return -1;
    if (n == 1 && strcmp(w[0], "end") == 0) {
        *end = true;
        return 0;
    }
    if (n == 2 && strcmp(w[0], "pidfile") == 0 && fd_word(w[1], &a)) {
        u->pidfd = (int)a;
        return 0;
    }
    if (strcmp(w[0], "listen") == 0)
        return parse_listen(u, w, n);
    if (n == 3 && strcmp(w[0], "child") == 0 && bx_word_ll(w[1], 1, INT_MAX - 1, &a) &&
        bx_word_ll(w[2], INT_MIN, INT_MAX, &b))
        return bx_upgrade_add_child(u, (pid_t)a, (int)b);
    if (n == 3 && strcmp(w[0], "set") == 0 && bx_word_ll(w[2], LLONG_MIN, LLONG_MAX, &a))
        return set_val(u, w[1], a, false);
    if (n == 3 && strcmp(w[0], "fd") == 0 && fd_word(w[2], &a))
        return set_val(u, w[1], a, true);
    return -1;
}

/* The first line: this version's, as a whole. */
static bool version_line(char *line)
{
    char *w[2];
    long long v;
    return bx_words(line, w, 2) == 2 && strcmp(w[0], "bactrian-upgrade") == 0 &&
           bx_word_ll(w[1], BX_UPGRADE_VERSION, BX_UPGRADE_VERSION, &v);
}

int bx_upgrade_parse(struct bx_upgrade *u, const char *text, size_t len, char *err, size_t errlen)
{
    char line[256], shown[256];
    size_t at = 0;
    bool end = false;
    for (unsigned no = 1; at < len && !end; no++) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        if (!nl || n >= sizeof line || memchr(text + at, '\0', n)) {
            snprintf(err, errlen, "upgrade record: line %u unterminated or too long", no);
            return -1;
        }
        memcpy(line, text + at, n);
        line[n] = '\0';
        memcpy(shown, line, n + 1); /* line is split into words */
        at += n + 1;
        int rc = no == 1 ? (version_line(line) ? 0 : -2) : parse_line(u, line, &end);
        if (rc == -2) {
            snprintf(err, errlen, "upgrade record: not version %d: '%.64s'", BX_UPGRADE_VERSION,
                     shown);
            return -1;
        }
        if (rc == -1) {
            snprintf(err, errlen, "upgrade record: line %u not understood: '%.64s'", no, shown);
            return -1;
        }
    }
    if (!end) {
        snprintf(err, errlen, "upgrade record: truncated (no end line)");
        return -1;
    }
    return 0;
}

/* ---- the running image: check, then execve ------------------------------ */

/* Reads what the check prints until it exits or the time is up. */
static int collect(int fd, pid_t pid, unsigned timeout_ms, char *out, size_t outlen)
{
    size_t used = 0;
    uint64_t until = bx_now_ms() + timeout_ms;
    for (;;) {
        uint64_t now = bx_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (now >= until || poll(&p, 1, (int)(until - now)) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            snprintf(out, outlen, "no answer within %u ms", timeout_ms);
            return -1;
        }
        char tmp[512];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t take = (size_t)n < outlen - 1 - used ? (size_t)n : outlen - 1 - used;
        memcpy(out + used, tmp, take);
        used += take;
    }
    out[used] = '\0';
    /* Lines joined with "; " for one log line. */
    for (char *c = out; *c; c++)
        if (*c == '\n')
            *c = c[1] ? ';' : '\0';
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (!*out)
        bx_exit_str(status, out, outlen);
    return -1;
}

void bx_upgrade_self(char *out, size_t outlen)
{
    ssize_t n = readlink("/proc/self/exe", out, outlen - 1);
    out[n > 0 && (size_t)n < outlen - 1 ? (size_t)n : 0] = '\0';
}

void bx_upgrade_argv(const char *exe, const struct bx_cli *cli, bool check, char *argv[6])
{
    size_t n = 0;
    argv[n++] = (char *)exe;
    if (check)
        argv[n++] = "-t";
    else if (cli->foreground)
        argv[n++] = "-f";
    argv[n++] = "-c";
    argv[n++] = (char *)cli->config;
    argv[n] = NULL;
}

/* In the check's child: the report's memfd is for it alone (close-on-exec
 * in the master, so no other child has it) and named in the environment. */
static void give_report_fd(int fd)
{
    char num[16];
    snprintf(num, sizeof num, "%d", fd);
    if (fd >= 0 && fcntl(fd, F_SETFD, 0) == 0)
        setenv(BX_UPGRADE_REPORT_ENV, num, 1);
}

static int run_check(char *const argv[], void (*in_child)(void *ctx), void *ctx, int report_fd,
                     unsigned timeout_ms, char *out, size_t outlen)
{
    int p[2];
    if (outlen < 2 || pipe2(p, O_CLOEXEC) == -1) {
        snprintf(out, outlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (in_child)
            in_child(ctx);
        bx_signals_reset();
        give_report_fd(report_fd);
        dup2(p[1], 1);
        dup2(p[1], 2);
        execv(argv[0], argv);
        dprintf(2, "cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(p[1]);
    if (pid == -1) {
        close(p[0]);
        snprintf(out, outlen, "fork: %s", strerror(errno));
        return -1;
    }
    int rc = collect(p[0], pid, timeout_ms, out, outlen);
    close(p[0]);
    return rc;
}

int bx_upgrade_check(char *const argv[], void (*in_child)(void *ctx), void *ctx,
                     unsigned timeout_ms, char *out, size_t outlen)
{
    return run_check(argv, in_child, ctx, -1, timeout_ms, out, outlen);
}

int bx_upgrade_check_report(char *const argv[], void (*in_child)(void *ctx), void *ctx,
                            unsigned timeout_ms, char *out, size_t outlen,
                            struct bx_upgrade_report *rep)
{
    memset(rep, 0, sizeof *rep);
    int fd = memfd_create("bactrian-upgrade-check", MFD_CLOEXEC);
    if (fd == -1) {
        snprintf(out, outlen, "memfd_create: %s", strerror(errno));
        return -1;
    }
    int rc = run_check(argv, in_child, ctx, fd, timeout_ms, out, outlen);
    if (rc == 0 && bx_upgrade_report_read(rep, fd, out, outlen) == -1) {
        bx_upgrade_report_free(rep);
        rc = -1;
    }
    close(fd);
    return rc;
}

/* A place of the new configuration no listener of the record is at. */
static bool in_record(const struct bx_upgrade *u, const struct bx_lplace *want)
{
    for (size_t i = 0; i < u->nls; i++) {
        const struct bx_upgrade_listener *l = &u->ls[i];
        struct bx_lplace at = l->unix_socket ? (struct bx_lplace){.path = l->path}
                                             : (struct bx_lplace){.addr = l->addr, .port = l->port};
        if (bx_lplace_same(&at, want))
            return true;
    }
    return false;
}

/* A new Unix socket the daemon did not bind for us (a report of a binary
 * without unix-socket lines, or a daemon that binds none itself): the new
 * image binds it, and what can be known here is whether its directory lets
 * us, the user the new image runs as. */
static int unix_dir_ok(const char *path, char *err, size_t errlen)
{
    char dir[BX_UPGRADE_PATHLEN];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= sizeof dir)
        n = sizeof dir - 1;
    snprintf(dir, sizeof dir, "%.*s", n ? (int)n : 1, slash ? path : ".");
    if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0)
        return 0;
    snprintf(err, errlen,
             "the new configuration listens on %s, whose directory %s is not "
             "writable for uid %d: %s",
             path, dir, (int)geteuid(), strerror(errno));
    return -1;
}

static int open_new(struct bx_upgrade *u, const struct bx_lplace *at, const struct bx_lbind *how,
                    char *err, size_t errlen)
{
    char e[BX_ERRLEN];
    bool reused;
    int fd = bx_listener_open(NULL, 0, at, how, &reused, e, sizeof e);
    if (fd == -1) {
        int why = errno;
        snprintf(err, errlen,
                 "the new configuration listens on %s port %d, which this master "
                 "cannot bind: %s%s",
                 at->addr, at->port, e,
                 why == EACCES ? " (needs root or CAP_NET_BIND_SERVICE)" : "");
        return -1;
    }
    if (bx_upgrade_add_opened(u, fd, at) == -1) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int bx_upgrade_add_new_listeners(struct bx_upgrade *u, const struct bx_upgrade_report *rep,
                                 const struct bx_lbind *how, char *err, size_t errlen)
{
    for (size_t i = 0; i < rep->nls; i++) {
        const struct bx_lplace *at = &rep->ls[i];
        if (in_record(u, at))
            continue;
        int rc = at->path ? unix_dir_ok(at->path, err, errlen) : open_new(u, at, how, err, errlen);
        if (rc == -1) {
            bx_upgrade_close_opened(u);
            return -1;
        }
    }
    return 0;
}

int bx_upgrade_add_opened(struct bx_upgrade *u, int fd, const struct bx_lplace *at)
{
    if (bx_upgrade_add_listener(u, fd, at) == -1) {
        close(fd);
        if (at->path)
            unlink(at->path);
        return -1;
    }
    u->ls[u->nls - 1].opened = true;
    return 0;
}

void bx_upgrade_close_opened(struct bx_upgrade *u)
{
    size_t j = 0;
    for (size_t i = 0; i < u->nls; i++) {
        if (u->ls[i].opened) {
            /* made for this upgrade only: nothing of it stays */
            close(u->ls[i].fd);
            if (u->ls[i].unix_socket)
                unlink(u->ls[i].path);
        } else
            u->ls[j++] = u->ls[i];
    }
    u->nls = j;
}

/* Every descriptor the record names, for the close-on-exec flips. */
static size_t record_fds(const struct bx_upgrade *u, int *fds, size_t max)
{
    size_t n = 0;
    if (u->pidfd >= 0 && n < max)
        fds[n++] = u->pidfd;
    for (size_t i = 0; i < u->nls && n < max; i++)
        fds[n++] = u->ls[i].fd;
    for (size_t i = 0; i < u->nvals && n < max; i++)
        if (u->vals[i].is_fd)
            fds[n++] = (int)u->vals[i].v;
    return n;
}

static void set_cloexec(const int *fds, size_t n, bool on)
{
    for (size_t i = 0; i < n; i++)
        fcntl(fds[i], F_SETFD, on ? FD_CLOEXEC : 0);
}

/* The record in a memfd (rewound), or -1. */
static int record_fd(const struct bx_upgrade *u, char *err, size_t errlen)
{
    size_t len;
    char *text = bx_upgrade_format(u, &len);
    int fd = text ? memfd_create("bactrian-upgrade", MFD_CLOEXEC) : -1;
    if (fd == -1 || write(fd, text, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "cannot write the upgrade record: %s",
                 text ? strerror(errno) : "out of memory");
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    free(text);
    return fd;
}

int bx_upgrade_exec(const struct bx_upgrade *u, char *const argv[], char *err, size_t errlen)
{
    size_t max = u->nls + u->nvals + 2;
    int *fds = calloc(max, sizeof *fds);
    int rec = fds ? record_fd(u, err, errlen) : -1;
    if (rec == -1) {
        if (!fds)
            snprintf(err, errlen, "out of memory");
        free(fds);
        return -1;
    }
    size_t n = record_fds(u, fds, max - 1);
    fds[n++] = rec;
    char num[16];
    snprintf(num, sizeof num, "%d", rec);
    set_cloexec(fds, n, false);
    if (setenv(BX_UPGRADE_ENV, num, 1) == 0)
        execve(argv[0], argv, environ);
    snprintf(err, errlen, "cannot execute %s: %s", argv[0], strerror(errno));
    unsetenv(BX_UPGRADE_ENV);
    set_cloexec(fds, n, true);
    close(rec);
    free(fds);
    return -1;
}

/* ---- the new image: take the record ------------------------------------- */

static bool is_listening(int fd)
{
    int on = 0;
    socklen_t len = sizeof on;
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
           getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

/* Our own child, alive or not yet reaped (so its pid is not reused). */
static bool is_our_child(pid_t pid)
{
    siginfo_t si = {0};
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

/* Drops what is not what the record says it is; the rest is close-on-exec. */
static void validate(struct bx_upgrade *u)
{
    size_t j = 0;
    for (size_t i = 0; i < u->nls; i++) {
        if (is_listening(u->ls[i].fd))
            u->ls[j++] = u->ls[i];
    }
    u->nls = j;
    for (size_t i = 0; i < u->kids.n; i++)
        if (!is_our_child(u->kids.v[i].pid))
            u->kids.v[i].pid = 0;
    bx_children_compact(&u->kids);
    if (u->pidfd >= 0 && fcntl(u->pidfd, F_GETFD) == -1)
        u->pidfd = -1;
    for (size_t i = 0; i < u->nvals; i++)
        if (u->vals[i].is_fd && fcntl((int)u->vals[i].v, F_GETFD) == -1)
            u->vals[i].v = -1;
    if (u->pidfd >= 0)
        fcntl(u->pidfd, F_SETFD, FD_CLOEXEC);
    for (size_t i = 0; i < u->nls; i++)
        fcntl(u->ls[i].fd, F_SETFD, FD_CLOEXEC);
    for (size_t i = 0; i < u->nvals; i++)
        if (u->vals[i].is_fd && u->vals[i].v >= 0)
            fcntl((int)u->vals[i].v, F_SETFD, FD_CLOEXEC);
}

/* The record's text from its memfd, bounded; NULL with err. */
static char *read_record(int fd, size_t *len, char *err, size_t errlen)
{
    struct bx_buf b = BX_BUF_INIT;
    ssize_t n;
    while ((n = bx_buf_read_fd(&b, fd, 65536)) > 0)
        if (bx_buf_unread(&b) > MAX_RECORD) {
            snprintf(err, errlen, "upgrade record: over %u bytes", MAX_RECORD);
            bx_buf_free(&b);
            return NULL;
        }
    if (n == -1) {
        snprintf(err, errlen, "upgrade record: read: %s", strerror(errno));
        bx_buf_free(&b);
        return NULL;
    }
    *len = bx_buf_unread(&b);
    bx_buf_append(&b, "", 1);
    return b.data;
}

int bx_upgrade_take(struct bx_upgrade *u, char *err, size_t errlen)
{
    bx_upgrade_init(u);
    const char *v = getenv(BX_UPGRADE_ENV);
    if (!v)
        return 0;
    char *endp;
    long fd = strtol(v, &endp, 10);
    unsetenv(BX_UPGRADE_ENV); /* not for our children, nor a later upgrade */
    if (*endp || endp == v || fd < 0 || fd > INT_MAX || fcntl((int)fd, F_GETFD) == -1) {
        snprintf(err, errlen, "%s: not an open descriptor", BX_UPGRADE_ENV);
        return -1;
    }
    size_t len = 0;
    char *text = read_record((int)fd, &len, err, errlen);
    close((int)fd);
    if (!text)
        return -1;
    int rc = bx_upgrade_parse(u, text, len, err, errlen);
    free(text);
    if (rc == -1) {
        bx_upgrade_free(u);
        return -1;
    }
    validate(u);
    return 1;
}

struct bx_lheld *bx_upgrade_held(const struct bx_upgrade *u)
{
    if (!u->nls)
        return NULL;
    struct bx_lheld *h = calloc(u->nls, sizeof *h);
    for (size_t i = 0; h && i < u->nls; i++) {
        const struct bx_upgrade_listener *l = &u->ls[i];
        h[i].fd = l->fd;
        h[i].at = l->unix_socket ? (struct bx_lplace){.path = l->path}
                                 : (struct bx_lplace){.addr = l->addr, .port = l->port};
    }
    return h;
}

void bx_upgrade_close_listeners(struct bx_upgrade *u)
{
    for (size_t i = 0; i < u->nls; i++)
        if (u->ls[i].fd >= 0)
            close(u->ls[i].fd);
    u->nls = 0;
}
