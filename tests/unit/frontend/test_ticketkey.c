/* SPDX-License-Identifier: BSD-2-Clause */
/* Ticket keys from a shared secret (frontend/ticketkey.c): the derivation is
 * pinned by known answers (every frontend of a site, whatever its version,
 * must derive the same keys), the published pair is current + previous, the
 * file checks, and the secret's page is not inherited by a fork. */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/ticketkey.h"
#include "tests/unit/testutil.h"

#define SECRET "0123456789abcdef0123456789abcdef"

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static struct fe_ticket_secret *load(const char *text, mode_t mode, char *err, size_t errlen)
{
    char *dir = tu_tmpdir();
    char *path = tu_write_file(dir, "secret", text);
    ck_assert_int_eq(chmod(path, mode), 0);
    struct fe_ticket_secret *s = fe_ticket_secret_load(path, err, errlen);
    unlink(path);
    rmdir(dir);
    free(dir);
    free(path);
    return s;
}

/* Expected values from an independent HKDF-SHA256 (Python hmac, RFC 5869):
 * salt "bactrian session ticket keys v1", info "bactrian ticket period" and
 * the period as 8 big-endian bytes, 80 bytes = name | aes | hmac. */
START_TEST(derivation_known_answers)
{
    static const struct {
        uint64_t period;
        const char *name, *aes, *hmac;
    } kat[] = {
        {0, "62ed193f4bf51c17eb7e30738ed5af7e",
         "d1d7158725bdad249a9b433d58f8105266856049f04019d9fd3fd86207e9f774",
         "044c9c14045c370e3ddce41ba9256e3d4d37c0a9ba03112f5039370e60475cce"},
        {29000000, "2d013c6cef858f384038b8130f57cf07",
         "c82e99532b44829dec6235c2f27321cc4120831c9fe6b1da1442018d8242fbe8",
         "044976251270e3abab542900906a591df9740cb18a8deba729f4a654ac4a51d1"},
    };
    char err[256], h[65];
    struct fe_ticket_secret *s = load(SECRET "\n", 0600, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        struct fe_ticket_key k;
        ck_assert_int_eq(fe_ticket_derive(s, kat[i].period, &k), 0);
        hex(k.name, 16, h);
        ck_assert_str_eq(h, kat[i].name);
        hex(k.aes, 32, h);
        ck_assert_str_eq(h, kat[i].aes);
        hex(k.hmac, 32, h);
        ck_assert_str_eq(h, kat[i].hmac);
    }
    fe_ticket_secret_free(s);
}
END_TEST

START_TEST(publish_current_and_previous)
{
    char err[256];
    struct fe_ticket_secret *s = load(SECRET, 0400, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    struct fe_tickets *t = fe_tickets_create();
    ck_assert_ptr_nonnull(t);
    uint64_t p = fe_ticket_period(7 * 3600000ull + 3599999, 3600000);
    ck_assert_uint_eq(p, 7);
    ck_assert_int_eq(fe_ticket_publish(t, s, p), 0);
    struct fe_ticket_key got[2], want[2];
    ck_assert_int_eq(fe_tickets_get(t, got), 0);
    ck_assert_int_eq(fe_ticket_derive(s, 7, &want[0]), 0);
    ck_assert_int_eq(fe_ticket_derive(s, 6, &want[1]), 0);
    ck_assert_mem_eq(got, want, sizeof want);
    ck_assert_mem_ne(want[0].name, want[1].name, 16);
    fe_tickets_destroy(t);
    fe_ticket_secret_free(s);
}
END_TEST

START_TEST(file_checks)
{
    char err[256];
    ck_assert_ptr_null(load(SECRET "\n", 0640, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "mode 0640"));
    ck_assert_ptr_nonnull(strstr(err, "/secret"));
    ck_assert_ptr_null(load(SECRET "\n", 0604, err, sizeof err));
    ck_assert_ptr_null(load("0123456789abcdef0123456789abcde\r\n", 0600, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "too short"));
    char *big = malloc(FE_TICKET_SECRET_MAX + 2);
    memset(big, 'x', FE_TICKET_SECRET_MAX + 1);
    big[FE_TICKET_SECRET_MAX + 1] = '\0';
    ck_assert_ptr_null(load(big, 0600, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "too long"));
    big[FE_TICKET_SECRET_MAX] = '\n'; /* exactly the maximum, plus a newline */
    struct fe_ticket_secret *s = load(big, 0600, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    fe_ticket_secret_free(s);
    free(big);
    /* Copies that differ only in a trailing newline give the same keys. */
    struct fe_ticket_key a, b;
    s = load(SECRET, 0600, err, sizeof err);
    ck_assert_int_eq(fe_ticket_derive(s, 1, &a), 0);
    fe_ticket_secret_free(s);
    s = load(SECRET "\r\n", 0600, err, sizeof err);
    ck_assert_int_eq(fe_ticket_derive(s, 1, &b), 0);
    fe_ticket_secret_free(s);
    ck_assert_mem_eq(&a, &b, sizeof a);
}
END_TEST

/* A forked child (every frontend child is one) has no secret page: using
 * it faults, so a taken-over child cannot read the secret from memory. */
START_TEST(secret_not_inherited)
{
    char err[256];
    struct fe_ticket_secret *s = load(SECRET, 0600, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        struct fe_ticket_key k;
        fe_ticket_derive(s, 1, &k); /* reads the secret: must fault */
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "child status %d", st);
    fe_ticket_secret_free(s);
}
END_TEST

Suite *suite_fe_ticketkey(void);
Suite *suite_fe_ticketkey(void)
{
    Suite *s = suite_create("fe_ticketkey");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, derivation_known_answers);
    tcase_add_test(tc, publish_current_and_previous);
    tcase_add_test(tc, file_checks);
    tcase_add_test(tc, secret_not_inherited);
    suite_add_tcase(s, tc);
    return s;
}
