/* SPDX-License-Identifier: BSD-2-Clause */
/* The key process (frontend/keyproc.c), run for real in a forked process and
 * spoken to as the master and as a (possibly compromised) child would: it
 * signs what it should, and refuses what a hostile child might ask (a raw RSA
 * decryption, another generation, an index out of range, lying lengths),
 * without blocking the others. */
#include "config.h"

#include <check.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/keyctl.h"
#include "frontend/keyproc.h"
#include "tests/unit/frontend/kpfix.h"

static struct kpfix kp;

static void setup(void)
{
    kpfix_start(&kp);
}

static void teardown(void)
{
    kpfix_stop(&kp);
}

/* One request on ch; the answer's status, the signature in sig. */
static int sign(int ch, uint32_t gen, uint32_t vhost, uint32_t op, const void *in, size_t len,
                unsigned char *sig, size_t *siglen)
{
    struct kp_sign_req q = {.seq = ++kp.seq,
                            .gen = gen,
                            .vhost = vhost,
                            .op = op,
                            .len = (uint32_t)len};
    struct kp_sign_rep r;
    memcpy(q.data, in, len);
    ck_assert_int_eq(send(ch, &q, KP_SIGN_REQ_HDR + len, 0), (ssize_t)(KP_SIGN_REQ_HDR + len));
    struct pollfd p = {.fd = ch, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    ssize_t n = recv(ch, &r, sizeof r, 0);
    ck_assert_int_eq(n, (ssize_t)(KP_SIGN_REP_HDR + r.len));
    ck_assert_uint_eq(r.seq, q.seq);
    if (sig) {
        memcpy(sig, r.sig, r.len);
        *siglen = r.len;
    }
    return r.status;
}

/* EVP_PKEY_encrypt with the public key and the given padding. */
static size_t public_op(const unsigned char *in, size_t len, int pad, unsigned char *out)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(kp.rsakey, NULL);
    size_t outlen = 256;
    ck_assert(c && EVP_PKEY_encrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, pad) == 1);
    ck_assert_int_eq(EVP_PKEY_encrypt(c, out, &outlen, in, len), 1);
    EVP_PKEY_CTX_free(c);
    return outlen;
}

START_TEST(test_signs_ecdsa_and_rsa)
{
    int ch = fe_keyctl_channel(&kp.kc);
    unsigned char dg[32], sig[KP_MAX_DATA], em[256], di[51];
    size_t n;
    RAND_bytes(dg, sizeof dg);
    ck_assert_int_eq(sign(ch, 1, 0, KP_ECDSA, dg, sizeof dg, sig, &n), 0);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(kp.eckey, NULL);
    ck_assert(EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_verify(c, sig, n, dg, sizeof dg) == 1);
    EVP_PKEY_CTX_free(c);
    /* PKCS#1 v1.5: the key process pads; the public key recovers the input. */
    RAND_bytes(di, sizeof di);
    ck_assert_int_eq(sign(ch, 1, 1, KP_RSA_PKCS1, di, sizeof di, sig, &n), 0);
    ck_assert_uint_eq(n, 256);
    unsigned char back[256];
    size_t bl = public_op(sig, n, RSA_NO_PADDING, back);
    ck_assert(bl == 256 && back[0] == 0 && back[1] == 1 && memcmp(back + 205, di, 51) == 0);
    /* PSS: a real TLS-style signature, turned back into its encoded block,
     * signs to the same bytes. */
    c = EVP_PKEY_CTX_new(kp.rsakey, NULL);
    ck_assert(EVP_PKEY_sign_init(c) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_signature_md(c, EVP_sha384()) == 1 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST) == 1);
    unsigned char d48[48];
    RAND_bytes(d48, sizeof d48);
    size_t sl = sizeof sig;
    ck_assert_int_eq(EVP_PKEY_sign(c, sig, &sl, d48, sizeof d48), 1);
    EVP_PKEY_CTX_free(c);
    ck_assert_uint_eq(public_op(sig, sl, RSA_NO_PADDING, em), 256);
    unsigned char sig2[KP_MAX_DATA];
    ck_assert_int_eq(sign(ch, 1, 1, KP_RSA_PSS, em, 256, sig2, &n), 0);
    ck_assert(n == sl && memcmp(sig, sig2, n) == 0);
    close(ch);
}
END_TEST

START_TEST(test_refuses_what_a_hostile_child_asks)
{
    int ch = fe_keyctl_channel(&kp.kc);
    unsigned char dg[65] = {1}, ct[256], pms[48];
    RAND_bytes(pms, sizeof pms);
    /* A recorded RSA key exchange: decrypting it is never a signature. */
    ck_assert_uint_eq(public_op(pms, sizeof pms, RSA_PKCS1_PADDING, ct), 256);
    ck_assert_int_eq(sign(ch, 1, 1, KP_RSA_PSS, ct, 256, NULL, NULL), -1);
    ck_assert_int_eq(sign(ch, 1, 1, KP_RSA_PSS, ct, 255, NULL, NULL), -1);
    ck_assert_int_eq(sign(ch, 1, 1, KP_RSA_PKCS1, ct, 246, NULL, NULL), -1); /* > k - 11 */
    ck_assert_int_eq(sign(ch, 1, 0, KP_ECDSA, dg, 65, NULL, NULL), -1);
    ck_assert_int_eq(sign(ch, 1, 0, KP_ECDSA, dg, 0, NULL, NULL), -1);
    ck_assert_int_eq(sign(ch, 1, 1, KP_ECDSA, dg, 32, NULL, NULL), -1);   /* RSA key */
    ck_assert_int_eq(sign(ch, 1, 0, KP_RSA_PKCS1, dg, 32, NULL, NULL), -1); /* EC key */
    ck_assert_int_eq(sign(ch, 1, 2, KP_ECDSA, dg, 32, NULL, NULL), -1);   /* no vhost 2 */
    ck_assert_int_eq(sign(ch, 2, 0, KP_ECDSA, dg, 32, NULL, NULL), -1);   /* no generation 2 */
    ck_assert_int_eq(sign(ch, 1, 0, 99, dg, 32, NULL, NULL), -1);
    ck_assert_int_eq(sign(ch, 1, 0, KP_ECDSA, dg, 32, NULL, NULL), 0);    /* still served */
    /* A length that lies: the channel is closed. */
    struct kp_sign_req q = {.seq = 1, .gen = 1, .vhost = 0, .op = KP_ECDSA, .len = 32};
    ck_assert_int_eq(send(ch, &q, KP_SIGN_REQ_HDR + 8, 0), (ssize_t)(KP_SIGN_REQ_HDR + 8));
    char b[8];
    struct pollfd p = {.fd = ch, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    ck_assert_int_eq(recv(ch, b, sizeof b, 0), 0);
    close(ch);
}
END_TEST

START_TEST(test_a_child_that_never_reads_blocks_no_one)
{
    int bad = fe_keyctl_channel(&kp.kc), good = fe_keyctl_channel(&kp.kc);
    unsigned char dg[32] = {2};
    struct kp_sign_req q = {.gen = 1, .vhost = 0, .op = KP_ECDSA, .len = 32};
    memcpy(q.data, dg, 32);
    /* Floods without reading until its socket is full. */
    int sent = 0;
    while (sent < 100000 &&
           send(bad, &q, KP_SIGN_REQ_HDR + 32, MSG_DONTWAIT) == (ssize_t)(KP_SIGN_REQ_HDR + 32))
        sent++;
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(sign(good, 1, 0, KP_ECDSA, dg, 32, NULL, NULL), 0);
    close(bad);
    close(good);
}
END_TEST

START_TEST(test_control_only_from_the_master)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct kp_ctl_msg m = {.type = KP_CTL_ABORT};
        _exit(send(kp.kc.ctl, &m, sizeof m, 0) == (ssize_t)sizeof m ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct pollfd p = {.fd = kp.kc.ctl, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 300), 0); /* dropped: no answer */
    /* And a failed load names the file and keeps generation 1. */
    ck_assert_int_eq(kpfix_ctl(&kp, KP_CTL_LOAD, 2, 0, "/nonexistent/key.pem"), -1);
    ck_assert_ptr_nonnull(strstr(kp.err, "vhost 'v0': cannot read key /nonexistent/key.pem"));
    ck_assert_int_eq(kpfix_ctl(&kp, KP_CTL_COMMIT, 2, 0, NULL), -1); /* incomplete: not taken */
    int ch = fe_keyctl_channel(&kp.kc);
    unsigned char dg[32] = {3};
    ck_assert_int_eq(sign(ch, 1, 0, KP_ECDSA, dg, 32, NULL, NULL), 0);
    close(ch);
}
END_TEST

static ino_t inode(int fd)
{
    struct stat sb;
    ck_assert_int_eq(fstat(fd, &sb), 0);
    return sb.st_ino;
}

/* Channels come in batches; each is handed out once and works on its own,
 * across a batch boundary too. */
START_TEST(test_pool_gives_each_channel_once)
{
    enum { N = KP_CHAN_BATCH + 3 };
    int ch[N];
    ino_t ino[N];
    unsigned char dg[32] = {4};
    for (int i = 0; i < N; i++) {
        ch[i] = fe_keyctl_channel(&kp.kc);
        ck_assert_int_ge(ch[i], 0);
        ino[i] = inode(ch[i]);
        for (size_t j = 0; j < kp.kc.npool; j++)
            ck_assert_int_ne(kp.kc.pool[j], ch[i]); /* out of the pool */
        for (int j = 0; j < i; j++)
            ck_assert(ino[j] != ino[i]);
    }
    for (int i = N - 1; i >= 0; i--)
        ck_assert_int_eq(sign(ch[i], 1, 0, KP_ECDSA, dg, 32, NULL, NULL), 0);
    for (int i = 0; i < N; i++)
        close(ch[i]);
}
END_TEST

/* Does this process hold a descriptor for one of the sockets in ino[n]? */
static bool holds_any(const ino_t *ino, size_t n)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    bool found = false;
    while (d && (e = readdir(d))) {
        struct stat sb;
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == dirfd(d) || fstat(fd, &sb) == -1)
            continue;
        for (size_t i = 0; i < n; i++)
            found = found || sb.st_ino == ino[i];
    }
    if (d)
        closedir(d);
    return found;
}

/* Two children forked from one batch, as the master forks them: each holds
 * its own channel and none of the pool's, so neither can read the other's
 * answers. */
START_TEST(test_children_of_one_batch_cannot_read_each_other)
{
    int a = fe_keyctl_channel(&kp.kc);
    ck_assert_int_gt(kp.kc.npool, 0);
    ino_t later[KP_CHAN_BATCH];
    size_t nlater = kp.kc.npool;
    for (size_t i = 0; i < nlater; i++)
        later[i] = inode(kp.kc.pool[i]);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid_t pid = fork();
    if (pid == 0) {
        fe_keyctl_close_pool(&kp.kc);
        char c;
        /* Holds no later child's channel, and reads nothing of b's answer. */
        bool clean = !holds_any(later, nlater) && read(sv[1], &c, 1) == 1;
        struct pollfd p = {.fd = a, .events = POLLIN};
        _exit(clean && poll(&p, 1, 200) == 0 ? 0 : 1);
    }
    int b = fe_keyctl_channel(&kp.kc);
    bool b_was_pooled = false;
    for (size_t i = 0; i < nlater; i++)
        b_was_pooled = b_was_pooled || later[i] == inode(b);
    ck_assert(b_was_pooled);
    unsigned char dg[32] = {5};
    ck_assert_int_eq(sign(b, 1, 0, KP_ECDSA, dg, 32, NULL, NULL), 0);
    ck_assert_int_eq(write(sv[0], "x", 1), 1);
    int st;
    waitpid(pid, &st, 0);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(sign(a, 1, 0, KP_ECDSA, dg, 32, NULL, NULL), 0);
    close(a);
    close(b);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

Suite *suite_fe_keyproc(void);
Suite *suite_fe_keyproc(void)
{
    Suite *s = suite_create("fe_keyproc");
    TCase *tc = tcase_create("keyproc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_signs_ecdsa_and_rsa);
    tcase_add_test(tc, test_refuses_what_a_hostile_child_asks);
    tcase_add_test(tc, test_a_child_that_never_reads_blocks_no_one);
    tcase_add_test(tc, test_control_only_from_the_master);
    tcase_add_test(tc, test_pool_gives_each_channel_once);
    tcase_add_test(tc, test_children_of_one_batch_cannot_read_each_other);
    suite_add_tcase(s, tc);
    return s;
}
