/* SPDX-License-Identifier: BSD-2-Clause */
/* The key tests' key process: see kpfix.h. */
#include "config.h"

#include <check.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/keyproc.h"
#include "tests/unit/frontend/kpfix.h"

static void write_key(EVP_PKEY *k, char *path)
{
    snprintf(path, 64, "/tmp/bx-kp-test-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_int_eq(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
}

int kpfix_ctl(struct kpfix *f, uint32_t type, uint32_t gen, uint32_t vhost, const char *path)
{
    struct kp_ctl_msg m =
        {.seq = ++f->seq, .type = type, .gen = gen, .vhost = vhost, .nvhosts = 2, .oldest = 0};
    struct kp_ctl_rep r;
    snprintf(m.name, sizeof m.name, "v%u", vhost);
    snprintf(m.path, sizeof m.path, "%s", path ? path : "");
    ck_assert_int_eq(send(f->kc.ctl, &m, sizeof m, 0), (ssize_t)sizeof m);
    ck_assert_int_eq(recv(f->kc.ctl, &r, sizeof r, 0), (ssize_t)sizeof r);
    ck_assert_uint_eq(r.seq, m.seq);
    memcpy(f->err, r.err, sizeof f->err);
    f->err[sizeof f->err - 1] = '\0';
    return r.status;
}

void kpfix_start(struct kpfix *f)
{
    memset(f, 0, sizeof *f);
    signal(SIGPIPE, SIG_IGN);
    f->eckey = EVP_EC_gen("P-256");
    f->rsakey = EVP_RSA_gen(2048);
    ck_assert_ptr_nonnull(f->eckey);
    ck_assert_ptr_nonnull(f->rsakey);
    write_key(f->eckey, f->ecpath);
    write_key(f->rsakey, f->rsapath);
    int sv[2], on = 1;
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
    struct kp_start st = {.ctl = sv[1], .master = getpid()};
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(sv[0]);
        kp_main(&st);
    }
    close(sv[1]);
    f->kc = (struct fe_keyctl){.pid = pid, .ctl = sv[0], .own = -1};
    ck_assert_int_eq(kpfix_ctl(f, KP_CTL_LOAD, 1, 0, f->ecpath), 0);
    ck_assert_int_eq(kpfix_ctl(f, KP_CTL_LOAD, 1, 1, f->rsapath), 0);
    ck_assert_int_eq(kpfix_ctl(f, KP_CTL_COMMIT, 1, 0, NULL), 0);
}

void kpfix_stop(struct kpfix *f)
{
    fe_keyctl_close_pool(&f->kc);
    close(f->kc.ctl);
    waitpid(f->kc.pid, NULL, 0);
    unlink(f->ecpath);
    unlink(f->rsapath);
    EVP_PKEY_free(f->eckey);
    EVP_PKEY_free(f->rsakey);
}
