/* SPDX-License-Identifier: BSD-2-Clause */
/* How the frontend refuses a client (frontend/refuse.c): the exact alert
 * record, the 503 page then a FIN, no SIGPIPE on a vanished client, and the
 * one-line-a-second log per refusal class with its count of the rest. */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/proc.h"
#include "frontend/refuse.h"
#include "tests/unit/testutil.h"

/* Everything the peer sends until its FIN (bounded: the test fails rather
 * than hangs when no FIN comes). */
static size_t read_to_eof(int fd, char *buf, size_t cap)
{
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t n = 0;
    for (;;) {
        ck_assert_uint_lt(n, cap);
        ssize_t r = read(fd, buf + n, cap - n);
        ck_assert_msg(r >= 0, "no FIN within 2 s");
        if (r == 0)
            return n;
        n += (size_t)r;
    }
}

START_TEST(alert_record_exact_and_bounded)
{
    unsigned char out[16];
    memset(out, 0xaa, sizeof out);
    ck_assert_uint_eq(fe_refuse_alert(out, 6), 0); /* one byte short: nothing written */
    ck_assert_uint_eq(out[0], 0xaa);
    ck_assert_uint_eq(fe_refuse_alert(out, 7), 7);
    static const unsigned char want[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50};
    ck_assert_mem_eq(out, want, sizeof want);
    ck_assert_uint_eq(out[7], 0xaa); /* nothing past the record */
}
END_TEST

START_TEST(plaintext_gets_503_then_fin)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fe_refuse_write(sv[0], false);
    char buf[1024];
    size_t n = read_to_eof(sv[1], buf, sizeof buf - 1);
    buf[n] = '\0';
    ck_assert_msg(strncmp(buf, "HTTP/1.1 503 ", 13) == 0, "%s", buf);
    ck_assert_ptr_nonnull(strstr(buf, "\r\nRetry-After: "));
    ck_assert_ptr_nonnull(strstr(buf, "\r\n\r\n"));
    /* the page says how long its body is, and the body is all there */
    const char *cl = strstr(buf, "\r\nContent-Length: ");
    ck_assert_ptr_nonnull(cl);
    ck_assert_uint_eq(strtoul(cl + 18, NULL, 10), n - (size_t)(strstr(buf, "\r\n\r\n") + 4 - buf));
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(tls_gets_only_the_alert)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fe_refuse_write(sv[0], true);
    unsigned char buf[64];
    ck_assert_uint_eq(read_to_eof(sv[1], (char *)buf, sizeof buf), 7);
    ck_assert_uint_eq(buf[0], 0x15);
    ck_assert_uint_eq(buf[6], 80);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

/* The client closed before we answered: no SIGPIPE kills the child. */
START_TEST(vanished_client_no_sigpipe)
{
    signal(SIGPIPE, SIG_DFL);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    fe_refuse_write(sv[0], false);
    fe_refuse_write(sv[0], true);
    close(sv[0]);
}
END_TEST

/* A burst of one class logs one line; another class has its own budget;
 * an out-of-range class is ignored; the shared page (fe_refuse_init) carries
 * the budget across fork. */
START_TEST(log_rate_limited_per_class_across_fork)
{
    char *path = tu_log_to_tmp();
    fe_refuse_init();
    fe_refuse_init(); /* twice: keeps the same page */
    while (bx_now_ms() % 1000 > 100) /* all of it within one second of the limiter */
        usleep(5000);
    pid_t p = fork();
    ck_assert_int_ne(p, -1);
    if (p == 0) {
        fe_refuse_log(FE_REFUSE_PER_IP, "child burst");
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(p, &st, 0), p);
    for (int i = 0; i < 50; i++)
        fe_refuse_log(FE_REFUSE_PER_IP, "parent burst");
    fe_refuse_log(FE_REFUSE_SLOW, "slow one");
    fe_refuse_log(FE_REFUSE_NCLASSES, "no such class");
    fe_refuse_log((enum fe_refusal)(-1), "no such class");
    char *log = tu_slurp(path);
    ck_assert_uint_eq(tu_count(log, "child burst"), 1);
    ck_assert_uint_eq(tu_count(log, "parent burst"), 0); /* the child spent this second */
    ck_assert_uint_eq(tu_count(log, "slow one"), 1);
    ck_assert_uint_eq(tu_count(log, "no such class"), 0);
    free(log);
    free(path);
}
END_TEST

Suite *suite_fe_refuse(void);
Suite *suite_fe_refuse(void)
{
    Suite *s = suite_create("fe_refuse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, alert_record_exact_and_bounded);
    tcase_add_test(tc, plaintext_gets_503_then_fin);
    tcase_add_test(tc, tls_gets_only_the_alert);
    tcase_add_test(tc, vanished_client_no_sigpipe);
    tcase_add_test(tc, log_rate_limited_per_class_across_fork);
    suite_add_tcase(s, tc);
    return s;
}
