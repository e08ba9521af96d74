/* SPDX-License-Identifier: BSD-2-Clause */
/* common/supervise.c: the signal dispatch both masters rely on (what each
 * signal calls, and what it must not call while stopping), the stop's
 * deadline and its escalation, reaping, and the respawned child table. */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/net.h"
#include "common/supervise.h"

/* What the fake master's policy was asked to do. */
static struct {
    int reloads, reopens, upgrades, stops, overdues, exits;
    int last_sig, last_status;
    bool last_again;
    pid_t last_pid;
    uint64_t grace;             /* what stop() returns */
    uint64_t again_ms;          /* what overdue() returns */
} calls;

static void on_reload(void *ctx)
{
    (void)ctx;
    calls.reloads++;
}
static void on_reopen(void *ctx)
{
    (void)ctx;
    calls.reopens++;
}
static void on_upgrade(void *ctx)
{
    (void)ctx;
    calls.upgrades++;
}

static uint64_t on_stop(void *ctx, int sig, bool again)
{
    struct bx_sv *sv = ctx;
    ck_assert(sv->stopping); /* set before the policy runs */
    calls.stops++;
    calls.last_sig = sig;
    calls.last_again = again;
    return calls.grace;
}

static void on_exited(void *ctx, pid_t pid, int status)
{
    (void)ctx;
    calls.exits++;
    calls.last_pid = pid;
    calls.last_status = status;
}

static uint64_t on_overdue(void *ctx, size_t alive)
{
    (void)ctx;
    (void)alive;
    calls.overdues++;
    return calls.again_ms;
}

static const struct bx_sv_ops ops = {
    .reload = on_reload,
    .stop = on_stop,
    .reopen = on_reopen,
    .exited = on_exited,
    .overdue = on_overdue,
};

/* A supervisor without a signalfd, for dispatch tests. */
static struct bx_sv fake(const struct bx_sv_ops *o)
{
    struct bx_sv sv = {.sigfd = -1, .deadline = UINT64_MAX, .ops = o};
    calls = (__typeof__(calls)){.grace = 1000};
    return sv;
}

START_TEST(signals_call_the_policy)
{
    struct bx_sv sv = fake(&ops);
    sv.ctx = &sv;
    bx_sv_dispatch(&sv, SIGHUP);
    bx_sv_dispatch(&sv, SIGUSR1);
    bx_sv_dispatch(&sv, SIGUSR2); /* no upgrade in this policy: ignored */
    bx_sv_dispatch(&sv, SIGWINCH); /* not ours */
    ck_assert_int_eq(calls.reloads, 1);
    ck_assert_int_eq(calls.reopens, 1);
    ck_assert_int_eq(calls.stops, 0);
    ck_assert(!sv.stopping);
    ck_assert_uint_eq(sv.deadline, UINT64_MAX);
}
END_TEST

START_TEST(no_reload_or_upgrade_while_stopping)
{
    struct bx_sv_ops o = ops;
    o.upgrade = on_upgrade;
    struct bx_sv sv = fake(&o);
    sv.ctx = &sv;
    bx_sv_dispatch(&sv, SIGUSR2);
    ck_assert_int_eq(calls.upgrades, 1);
    bx_sv_dispatch(&sv, SIGTERM);
    ck_assert(sv.stopping);
    bx_sv_dispatch(&sv, SIGHUP);
    bx_sv_dispatch(&sv, SIGUSR2);
    ck_assert_int_eq(calls.reloads, 0);
    ck_assert_int_eq(calls.upgrades, 1);
    bx_sv_dispatch(&sv, SIGUSR1); /* log reopen still works */
    ck_assert_int_eq(calls.reopens, 1);
}
END_TEST

START_TEST(stop_sets_deadline_and_repeats)
{
    struct bx_sv sv = fake(&ops);
    sv.ctx = &sv;
    uint64_t t0 = bx_now_ms();
    bx_sv_dispatch(&sv, SIGINT);
    ck_assert_int_eq(calls.stops, 1);
    ck_assert_int_eq(calls.last_sig, SIGINT);
    ck_assert(!calls.last_again);
    ck_assert_uint_ge(sv.deadline, t0 + 1000);
    ck_assert_uint_le(sv.deadline, bx_now_ms() + 1000);
    /* A second stop: the policy hears it (again); 0 keeps the deadline. */
    uint64_t d = sv.deadline;
    calls.grace = 0;
    bx_sv_dispatch(&sv, SIGQUIT);
    ck_assert_int_eq(calls.stops, 2);
    ck_assert_int_eq(calls.last_sig, SIGQUIT);
    ck_assert(calls.last_again);
    ck_assert_uint_eq(sv.deadline, d);
    /* ...and a grace moves it. */
    calls.grace = 5;
    bx_sv_stop(&sv, SIGTERM);
    ck_assert_uint_lt(sv.deadline, d);
}
END_TEST

START_TEST(done_and_overdue)
{
    struct bx_sv sv = fake(&ops);
    sv.ctx = &sv;
    ck_assert(!bx_sv_done(&sv, 0, 0)); /* not stopping: never done */
    calls.grace = 100;
    bx_sv_stop(&sv, SIGTERM);
    uint64_t d = sv.deadline;
    ck_assert(!bx_sv_done(&sv, 3, d - 1));
    ck_assert_int_eq(calls.overdues, 0);
    /* Past the deadline: overdue, and again after what it returns. */
    calls.again_ms = 50;
    ck_assert(!bx_sv_done(&sv, 3, d));
    ck_assert_int_eq(calls.overdues, 1);
    ck_assert_uint_eq(sv.deadline, d + 50);
    ck_assert(!bx_sv_done(&sv, 3, d + 10));
    ck_assert_int_eq(calls.overdues, 1);
    /* 0: never again. */
    calls.again_ms = 0;
    ck_assert(!bx_sv_done(&sv, 1, d + 50));
    ck_assert_int_eq(calls.overdues, 2);
    ck_assert_uint_eq(sv.deadline, UINT64_MAX);
    ck_assert(!bx_sv_done(&sv, 1, UINT64_MAX - 1));
    ck_assert_int_eq(calls.overdues, 2);
    ck_assert(bx_sv_done(&sv, 0, d + 60));
}
END_TEST

/* Real signals through the signalfd, and a real child reaped by SIGCHLD. */
START_TEST(signalfd_and_reap)
{
    struct bx_sv sv;
    char err[BX_ERRLEN];
    ck_assert_int_eq(bx_sv_open(&sv, &ops, &sv, err, sizeof err), 0);
    calls = (__typeof__(calls)){.grace = 1000};
    kill(getpid(), SIGHUP);
    kill(getpid(), SIGUSR1);
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    ck_assert_int_gt(pid, 0);
    /* SIGCHLD arrives when the child is a zombie: wait for it without reaping. */
    siginfo_t si;
    ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
    bx_sv_signals(&sv);
    ck_assert_int_eq(calls.reloads, 1);
    ck_assert_int_eq(calls.reopens, 1);
    ck_assert_int_eq(calls.exits, 1);
    ck_assert_int_eq(calls.last_pid, pid);
    ck_assert(WIFEXITED(calls.last_status) && WEXITSTATUS(calls.last_status) == 7);
    bx_sv_reap(&sv); /* nothing left */
    ck_assert_int_eq(calls.exits, 1);
    bx_sv_close(&sv);
    ck_assert_int_eq(sv.sigfd, -1);
    bx_signals_reset();
}
END_TEST

/* ---- the child table ----------------------------------------------------- */

static pid_t next_pid;
static int spawned;

static pid_t fake_spawn(void *ctx, size_t i)
{
    (void)ctx;
    (void)i;
    spawned++;
    return next_pid ? next_pid++ : -1;
}

START_TEST(children_respawn_with_backoff)
{
    struct bx_children t;
    ck_assert_int_eq(bx_children_init(&t, 3), 0);
    ck_assert_int_eq(t.v[0].tag, -1);
    next_pid = 100;
    spawned = 0;
    uint64_t now = 10000;
    ck_assert_int_eq(bx_children_spawn_due(&t, now, 1000, fake_spawn, NULL), 1000);
    ck_assert_int_eq(spawned, 3);
    ck_assert_uint_eq(bx_children_alive(&t), 3);
    ck_assert_int_eq(bx_children_find(&t, 101), 1);
    ck_assert_int_eq(bx_children_find(&t, 999), -1);
    ck_assert_int_eq(bx_children_find(&t, 0), -1);
    /* Running children are not spawned again. */
    ck_assert_int_eq(bx_children_spawn_due(&t, now, 1000, fake_spawn, NULL), 1000);
    ck_assert_int_eq(spawned, 3);
    /* A crash loop: two quick deaths restart at once, the third waits. */
    for (int k = 0; k < 2; k++) {
        ck_assert_uint_eq(bx_children_ended(&t, 1, now + 10, 2000, 10000), 0);
        ck_assert_int_eq(t.v[1].pid, 0);
        bx_children_spawn_due(&t, now + 10, 1000, fake_spawn, NULL);
        ck_assert_int_gt(t.v[1].pid, 0);
    }
    ck_assert_uint_eq(bx_children_ended(&t, 1, now + 20, 2000, 10000), 100);
    ck_assert_int_eq(bx_children_spawn_due(&t, now + 20, 1000, fake_spawn, NULL), 100);
    ck_assert_int_eq(t.v[1].pid, 0);
    ck_assert_int_eq(bx_children_spawn_due(&t, now + 90, 1000, fake_spawn, NULL), 30);
    ck_assert_int_eq(bx_children_spawn_due(&t, now + 120, 1000, fake_spawn, NULL), 1000);
    ck_assert_int_gt(t.v[1].pid, 0);
    /* due_now forgets the back-off (a module's crash, not the worker's). */
    bx_children_ended(&t, 1, now + 130, 2000, 10000);
    bx_children_due_now(&t, 1, now + 130);
    ck_assert_uint_eq(t.v[1].backoff.quick_deaths, 0);
    ck_assert_int_eq(bx_children_spawn_due(&t, now + 130, 1000, fake_spawn, NULL), 1000);
    ck_assert_int_gt(t.v[1].pid, 0);
    /* A failed spawn is tried again on the next call. */
    bx_children_ended(&t, 2, now + 200000, 2000, 10000);
    next_pid = 0;
    bx_children_spawn_due(&t, now + 200000, 1000, fake_spawn, NULL);
    ck_assert_int_eq(t.v[2].pid, 0);
    next_pid = 500;
    bx_children_spawn_due(&t, now + 200000, 1000, fake_spawn, NULL);
    ck_assert_int_eq(t.v[2].pid, 500);
    bx_children_free(&t);
    ck_assert_ptr_null(t.v);
}
END_TEST

START_TEST(children_adopt_and_compact)
{
    struct bx_children cur, old = {0};
    ck_assert_int_eq(bx_children_init(&cur, 4), 0);
    for (int i = 0; i < 4; i++) {
        cur.v[i].tag = 10 + i;
        cur.v[i].pid = i % 2 ? 200 + i : 0; /* 1 and 3 run */
    }
    ck_assert_int_eq(bx_children_adopt(&old, &cur), 0);
    ck_assert_uint_eq(old.n, 2);
    ck_assert_int_eq(old.v[0].pid, 201);
    ck_assert_int_eq(old.v[0].tag, 11);
    ck_assert_int_eq(old.v[1].pid, 203);
    /* The moved entries are cleared; the tags left are the stopped ones'. */
    ck_assert_uint_eq(bx_children_alive(&cur), 0);
    ck_assert_int_eq(cur.v[1].tag, -1);
    ck_assert_int_eq(cur.v[3].tag, -1);
    ck_assert_int_eq(cur.v[0].tag, 10);
    ck_assert_int_eq(cur.v[2].tag, 12);
    /* Nothing running: nothing moved. */
    ck_assert_int_eq(bx_children_adopt(&old, &cur), 0);
    ck_assert_uint_eq(old.n, 2);
    old.v[0].pid = 0;
    bx_children_compact(&old);
    ck_assert_uint_eq(old.n, 1);
    ck_assert_int_eq(old.v[0].pid, 203);
    bx_children_free(&cur);
    bx_children_free(&old);
}
END_TEST

START_TEST(children_signal_reaches_running_only)
{
    struct bx_children t;
    ck_assert_int_eq(bx_children_init(&t, 2), 0);
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        /* Check's SIGTERM handler would kill its whole group: the default. */
        signal(SIGTERM, SIG_DFL);
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    ck_assert_int_gt(pid, 0);
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
    close(ready[1]);
    t.v[1].pid = pid; /* v[0] is not running: pid 0 must not be signalled (our group) */
    bx_children_signal(&t, SIGTERM);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    bx_children_free(&t);
}
END_TEST

Suite *suite_supervise(void);
Suite *suite_supervise(void)
{
    Suite *s = suite_create("supervise");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, signals_call_the_policy);
    tcase_add_test(tc, no_reload_or_upgrade_while_stopping);
    tcase_add_test(tc, stop_sets_deadline_and_repeats);
    tcase_add_test(tc, done_and_overdue);
    tcase_add_test(tc, signalfd_and_reap);
    tcase_add_test(tc, children_respawn_with_backoff);
    tcase_add_test(tc, children_adopt_and_compact);
    tcase_add_test(tc, children_signal_reaches_running_only);
    suite_add_tcase(s, tc);
    return s;
}
