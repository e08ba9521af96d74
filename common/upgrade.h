/* SPDX-License-Identifier: BSD-2-Clause */
/* Binary upgrade in place (SIGUSR2), for either master. The running master
 * checks the new binary with -t first (a binary that cannot run, or that
 * finds the configuration invalid, leaves the running one as it is, with a
 * log line), then writes what the new image needs into a state record and
 * execve()s it: same pid, so its children stay its children (they are
 * reaped by the new image), the pid file's lock stays held (the descriptor
 * stays open), and the listening sockets stay open with the clients queued
 * on them. An execve that fails returns here and the master carries on.
 *
 * The record is text in a memfd whose number is in BACTRIAN_UPGRADE_FD:
 *   bactrian-upgrade 1
 *   pidfile FD
 *   listen FD tcp PORT ADDR | listen FD unix PATH
 *   child PID TAG
 *   set NAME VALUE          (a master's own numbers: its next generation...)
 *   fd NAME FD              (a master's own descriptors: its key process...)
 *   end
 * Words one space apart, each field a whole one, each number fitting
 * (common/words.h: what scanf would cut or clamp is refused).
 * The new image reads it once at start (bx_upgrade_take), refuses another
 * version (it then starts as a fresh daemon would, and fails to bind), and
 * trusts nothing it did not check: a listener must be a listening socket, a
 * child must be its own child (waitid), every number is bounded. */
#ifndef BACTRIAN_COMMON_UPGRADE_H
#define BACTRIAN_COMMON_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/listeners.h"
#include "common/net.h"
#include "common/supervise.h"

#define BX_UPGRADE_ENV "BACTRIAN_UPGRADE_FD"
#define BX_UPGRADE_VERSION 1
#define BX_UPGRADE_NAMELEN 24
#define BX_UPGRADE_MAXVALS 16
#define BX_UPGRADE_PATHLEN 108      /* sun_path */

struct bx_upgrade_listener {
    int fd;
    bool unix_socket;
    char addr[BX_ADDRSTRLEN];       /* TCP */
    int port;
    char path[BX_UPGRADE_PATHLEN];  /* Unix */
    bool opened;                    /* bound for this upgrade (bx_upgrade_add_new_listeners) */
};

struct bx_upgrade_val {
    char name[BX_UPGRADE_NAMELEN];
    long long v;
    bool is_fd;
};

struct bx_upgrade {
    int pidfd;                      /* -1: none */
    struct bx_upgrade_listener *ls;
    size_t nls;
    struct bx_children kids;        /* pid and tag of each child kept */
    struct bx_upgrade_val vals[BX_UPGRADE_MAXVALS];
    size_t nvals;
};

void bx_upgrade_init(struct bx_upgrade *u);
void bx_upgrade_free(struct bx_upgrade *u);
/* Building the record (the running image). Each 0 or -1 (out of room). */
int bx_upgrade_add_listener(struct bx_upgrade *u, int fd, const struct bx_lplace *at);
int bx_upgrade_add_child(struct bx_upgrade *u, pid_t pid, int tag);
int bx_upgrade_set(struct bx_upgrade *u, const char *name, long long v);
int bx_upgrade_set_fd(struct bx_upgrade *u, const char *name, int fd);
/* A number by name (a "set" entry), or def. */
long long bx_upgrade_get(const struct bx_upgrade *u, const char *name, long long def);
/* A descriptor by name: only an "fd" entry (checked open when the record
 * was taken), never a number that a "set" line of the same name gave;
 * -1 when none was passed. */
int bx_upgrade_get_fd(const struct bx_upgrade *u, const char *name);

/* The record as text (what bx_upgrade_exec writes); malloc'ed, NULL when
 * out of memory. */
char *bx_upgrade_format(const struct bx_upgrade *u, size_t *len);
/* Parses text into u (initialised by the caller). Checks only the syntax
 * and bounds; 0, or -1 with err naming the line. */
int bx_upgrade_parse(struct bx_upgrade *u, const char *text, size_t len, char *err, size_t errlen);

/* Our own binary's path (/proc/self/exe: the file we were started from,
 * which an upgrade replaces at that path), or "" if unknown or too long. */
void bx_upgrade_self(char *out, size_t outlen);
struct bx_cli;
/* argv for the new image: exe with the same command line in its canonical
 * form, "-t" for the check before the execve. */
void bx_upgrade_argv(const char *exe, const struct bx_cli *cli, bool check, char *argv[6]);
/* Runs argv (argv[0] is the binary: the new one with -t) with stdout and
 * stderr to out (bounded, NUL-terminated), at most timeout_ms; in_child runs
 * in the child first (the frontend's rules for any fork). 0 when it exited
 * 0, else -1 with out saying why. */
int bx_upgrade_check(char *const argv[], void (*in_child)(void *ctx), void *ctx,
                     unsigned timeout_ms, char *out, size_t outlen);
struct bx_upgrade_report;
/* bx_upgrade_check, and the check's report (upgrade_report.h) in rep, which
 * the caller frees (also on failure); rep->present is false when the new
 * binary wrote none. */
int bx_upgrade_check_report(char *const argv[], void (*in_child)(void *ctx), void *ctx,
                            unsigned timeout_ms, char *out, size_t outlen,
                            struct bx_upgrade_report *rep);
/* Every TCP listener of the report that no listener of u is at, bound now as
 * how says and added to u (opened): the new image, which may run without
 * root, finds it held instead of failing its bind after the execve. A new
 * Unix socket is the daemon's to make first (its mode and owner are its
 * configuration's: bx_upgrade_add_opened); one it did not make is left to
 * the new image, its directory checked. 0, or -1 with err naming the
 * address and port and why (nothing opened kept: bx_upgrade_close_opened). */
int bx_upgrade_add_new_listeners(struct bx_upgrade *u, const struct bx_upgrade_report *rep,
                                 const struct bx_lbind *how, char *err, size_t errlen);
/* Adds fd, bound at at for this upgrade, to u as opened. 0, or -1 (out of
 * room: fd closed, a Unix socket's path unlinked). */
int bx_upgrade_add_opened(struct bx_upgrade *u, int fd, const struct bx_lplace *at);
/* Closes and drops the listeners u opened (a refused or failed upgrade),
 * unlinking the path of each Unix socket among them. */
void bx_upgrade_close_opened(struct bx_upgrade *u);
/* execve(argv[0], argv, environ) with the record: the descriptors it names
 * lose close-on-exec, the record goes into a memfd named by
 * BACTRIAN_UPGRADE_FD. Returns only on failure (-1, err), everything as it
 * was before the call. */
int bx_upgrade_exec(const struct bx_upgrade *u, char *const argv[], char *err, size_t errlen);

/* In the new image, before anything else (u is initialised here: give it
 * one that holds nothing): 1 and u filled when started by an
 * upgrade, 0 when not, -1 (err) when the record is unusable. Every
 * descriptor it names gets close-on-exec again; listeners that are not
 * listening sockets and children that are not ours are dropped. */
int bx_upgrade_take(struct bx_upgrade *u, char *err, size_t errlen);
/* The listeners of u as bx_lheld (pointing into u), for bx_listener_open;
 * NULL when there are none or out of memory. */
struct bx_lheld *bx_upgrade_held(const struct bx_upgrade *u);
/* Closes every descriptor of u but the pid file's (after the new generation
 * took duplicates of the listeners). */
void bx_upgrade_close_listeners(struct bx_upgrade *u);

#endif
