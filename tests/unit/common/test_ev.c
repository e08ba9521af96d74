/* SPDX-License-Identifier: BSD-2-Clause */
/* The event loop: descriptor events, timer order, re-arming and stopping,
 * and a watcher stopped by an earlier callback in the same batch. */
#include "config.h"

#include <check.h>
#include <string.h>
#include <unistd.h>

#include "common/ev.h"

static int order[16], norder;

static void tcb(struct bx_ev *ev, struct bx_ev_timer *t)
{
    (void)ev;
    order[norder++] = (int)(long)t->data;
}

START_TEST(timers_fire_in_order)
{
    char err[256];
    struct bx_ev *ev = bx_ev_create(err, sizeof err);
    ck_assert_ptr_nonnull(ev);
    struct bx_ev_timer t[5];
    int delays[5] = {30, 10, 20, 5, 40};
    norder = 0;
    for (int i = 0; i < 5; i++) {
        bx_ev_timer_init(&t[i], tcb, (void *)(long)i);
        bx_ev_timer_start(ev, &t[i], (uint64_t)delays[i]);
    }
    bx_ev_timer_stop(ev, &t[4]);
    bx_ev_timer_start(ev, &t[1], 25); /* re-armed later */
    for (int k = 0; k < 50 && norder < 4; k++)
        bx_ev_run_once(ev, 100);
    ck_assert_int_eq(norder, 4);
    ck_assert_int_eq(order[0], 3);
    ck_assert_int_eq(order[1], 2);
    ck_assert_int_eq(order[2], 1);
    ck_assert_int_eq(order[3], 0);
    ck_assert(!bx_ev_timer_armed(&t[4]));
    bx_ev_destroy(ev);
}
END_TEST

static struct bx_ev_io ios[2];
static int fired[2];

static void iocb(struct bx_ev *ev, struct bx_ev_io *io, unsigned events)
{
    int i = io == &ios[0] ? 0 : 1;
    fired[i]++;
    ck_assert(events & BX_EV_READ);
    /* the first to fire stops the other: it must not run in this batch */
    bx_ev_io_stop(ev, &ios[1 - i]);
    bx_ev_io_stop(ev, io);
}

START_TEST(stop_in_batch)
{
    char err[256];
    struct bx_ev *ev = bx_ev_create(err, sizeof err);
    int p1[2], p2[2];
    ck_assert_int_eq(pipe(p1), 0);
    ck_assert_int_eq(pipe(p2), 0);
    ck_assert_int_eq(write(p1[1], "x", 1), 1);
    ck_assert_int_eq(write(p2[1], "x", 1), 1);
    bx_ev_io_init(&ios[0], p1[0], iocb, NULL);
    bx_ev_io_init(&ios[1], p2[0], iocb, NULL);
    ck_assert_int_eq(bx_ev_io_set(ev, &ios[0], BX_EV_READ), 0);
    ck_assert_int_eq(bx_ev_io_set(ev, &ios[1], BX_EV_READ), 0);
    fired[0] = fired[1] = 0;
    ck_assert_int_eq(bx_ev_run_once(ev, 100), 2);
    ck_assert_int_eq(fired[0] + fired[1], 1);
    ck_assert_int_eq(bx_ev_run_once(ev, 10), 0);
    close(p1[0]);
    close(p1[1]);
    close(p2[0]);
    close(p2[1]);
    bx_ev_destroy(ev);
}
END_TEST

Suite *suite_ev(void);
Suite *suite_ev(void)
{
    Suite *s = suite_create("ev");
    TCase *tc = tcase_create("loop");
    tcase_add_test(tc, timers_fire_in_order);
    tcase_add_test(tc, stop_in_batch);
    suite_add_tcase(s, tc);
    return s;
}
