/* SPDX-License-Identifier: BSD-2-Clause */
/* The master's private slot table and its checks (frontend/slottab.c):
 * whatever children write into the shared scoreboard, the master's loops
 * stay within its own table, and a hand-off is taken only from the pid that
 * owns the slot it names, as the kernel vouches for it. */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/lean.h"
#include "frontend/scoreboard.h"
#include "frontend/slottab.h"

START_TEST(claim_and_find)
{
    struct fe_slottab t;
    ck_assert_int_eq(fe_slottab_init(&t, 3), 0);
    for (long i = 0; i < 3; i++) {
        long k = fe_slottab_claim(&t);
        ck_assert_int_ge(k, 0);
        t.o[k].pid = (pid_t)(100 + k);
    }
    ck_assert_int_eq(fe_slottab_claim(&t), -1);
    ck_assert_int_eq(fe_slottab_find(&t, 101), 1);
    ck_assert_int_eq(fe_slottab_find(&t, 99), -1);
    ck_assert_int_eq(fe_slottab_find(&t, 0), -1);
    t.o[1].pid = 0;
    ck_assert_int_eq(fe_slottab_claim(&t), 1);
    fe_slottab_free(&t);
}
END_TEST

/* Garbage in every shared byte (header and slots, as a child gone bad could
 * write without the read-only views): the idle count looks only at owned
 * slots, the hand-off check goes by the private owners. */
START_TEST(checks_survive_a_corrupted_scoreboard)
{
    struct fe_scoreboard *sb = fe_scoreboard_create(4);
    struct fe_slottab t;
    char why[128];
    ck_assert_int_eq(fe_slottab_init(&t, 4), 0);
    t.o[0].pid = 100;
    t.o[1].pid = 101;
    memset(sb->shm.p, 0xff, sb->shm.len);
    ck_assert_uint_eq(fe_slottab_idle(&t, sb), 0);
    for (size_t i = 0; i < 4; i++) {
        fe_slot_set(fe_sb_slot(sb, i), FE_SLOT_IDLE);
        fe_sb_slot(sb, i)->pid = 101; /* every slot claims to be 101's */
    }
    ck_assert_uint_eq(fe_slottab_idle(&t, sb), 2); /* slots 2 and 3 are nobody's */
    ck_assert_int_eq(fe_slottab_check_handoff(&t, sb, 0, 100, why, sizeof why), -1);
    ck_assert_msg(strstr(why, "not relaying"), "%s", why);
    fe_slot_set(fe_sb_slot(sb, 0), FE_SLOT_RELAY);
    fe_slot_set(fe_sb_slot(sb, 1), FE_SLOT_RELAY);
    ck_assert_int_eq(fe_slottab_check_handoff(&t, sb, 0, 101, why, sizeof why), -1);
    ck_assert_str_eq(why, "pid 101 owns slot 1 but claims slot 0");
    ck_assert_int_eq(fe_slottab_check_handoff(&t, sb, 0xffffffffu, 101, why, sizeof why), -1);
    ck_assert_int_eq(fe_slottab_check_handoff(&t, sb, 3, 999, why, sizeof why), -1);
    ck_assert_str_eq(why, "pid 999 owns no slot");
    ck_assert_int_eq(fe_slottab_check_handoff(&t, sb, 0, 100, why, sizeof why), 0);
    ck_assert_int_eq(fe_slottab_check_handoff(&t, sb, 1, 101, why, sizeof why), 1);
    fe_slottab_free(&t);
    fe_scoreboard_destroy(sb);
}
END_TEST

/* A process offers a hand-off naming slot `slot` once go is readable;
 * exits 0 when the master declined, 1 when it accepted, 2 on error. */
static pid_t offerer(int sock, uint32_t slot, int go)
{
    pid_t p = fork();
    ck_assert_int_ne(p, -1);
    if (p)
        return p;
    char c;
    if (read(go, &c, 1) != 1)
        _exit(2);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
        _exit(2);
    struct fe_handoff h;
    memset(&h, 0, sizeof h);
    h.magic = FE_HANDOFF_MAGIC;
    h.slot = slot;
    _exit(fe_handoff_send(sock, &h, sv[0], sv[1], 5000) > 0);
}

/* The master's side of one offer: the check's verdict, acknowledged. */
static long take(int sock, const struct fe_slottab *t, const struct fe_scoreboard *sb, char *why,
                 size_t whylen)
{
    struct fe_handoff h;
    int cfd, bfd, ack;
    pid_t sender;
    int r;
    do
        r = fe_handoff_recv(sock, &h, &cfd, &bfd, &ack, &sender);
    while (r == 0 && usleep(1000) == 0);
    ck_assert_int_eq(r, 1);
    long idx = fe_slottab_check_handoff(t, sb, h.slot, sender, why, whylen);
    close(cfd);
    close(bfd);
    fe_handoff_ack(ack, idx >= 0 ? 4242 : 0);
    return idx;
}

static int exit_code(pid_t p)
{
    int st;
    ck_assert_int_eq(waitpid(p, &st, 0), p);
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* Over a real SOCK_SEQPACKET socket with SO_PASSCRED, as in the master:
 * the owner of slot 0 is taken, the owner naming another slot and a process
 * owning none are refused, whatever the shared slots say. */
START_TEST(forged_handoffs_are_refused)
{
    int sv[2], go[2], on = 1;
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
    ck_assert_int_eq(pipe(go), 0);
    struct fe_scoreboard *sb = fe_scoreboard_create(3);
    struct fe_slottab t;
    ck_assert_int_eq(fe_slottab_init(&t, 3), 0);
    char why[128];
    for (size_t i = 0; i < 3; i++)
        fe_slot_set(fe_sb_slot(sb, i), FE_SLOT_RELAY);

    pid_t owner = offerer(sv[1], 0, go[0]);
    t.o[0].pid = owner;
    t.o[1].pid = 1; /* some other process owns slot 1 */
    fe_sb_slot(sb, 1)->pid = owner; /* and the shared slot lies about it */
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    ck_assert_int_eq(take(sv[0], &t, sb, why, sizeof why), 0);
    ck_assert_int_eq(exit_code(owner), 1);

    pid_t other = offerer(sv[1], 1, go[0]); /* owns nothing, names slot 1 */
    t.o[2].pid = other;                     /* ... now owns slot 2, names 1 */
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    ck_assert_int_eq(take(sv[0], &t, sb, why, sizeof why), -1);
    ck_assert_msg(strstr(why, "owns slot 2 but claims slot 1"), "%s", why);
    ck_assert_int_eq(exit_code(other), 0);

    pid_t stranger = offerer(sv[1], 0, go[0]);
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    ck_assert_int_eq(take(sv[0], &t, sb, why, sizeof why), -1);
    ck_assert_msg(strstr(why, "owns no slot"), "%s", why);
    ck_assert_int_eq(exit_code(stranger), 0);

    fe_slottab_free(&t);
    fe_scoreboard_destroy(sb);
    close(sv[0]);
    close(sv[1]);
    close(go[0]);
    close(go[1]);
}
END_TEST

Suite *suite_fe_slottab(void);
Suite *suite_fe_slottab(void)
{
    Suite *s = suite_create("fe_slottab");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, claim_and_find);
    tcase_add_test(tc, checks_survive_a_corrupted_scoreboard);
    tcase_add_test(tc, forged_handoffs_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
