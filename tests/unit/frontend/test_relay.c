/* SPDX-License-Identifier: BSD-2-Clause */
/* The relay over its plaintext transport (splice through pipes), driven
 * over socket pairs: bytes arrive whole and in order both ways under
 * back-pressure, pre bytes go first, half-close is passed on, the idle and
 * stall timeouts end it, an unanswered request is flagged for replay, and an
 * idle relay is handed off. The relay runs in a forked process; its results
 * come back over a pipe. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/proc.h"
#include "frontend/relay.h"

struct result {
    int rc;
    char path[16], end[32];
    uint64_t in, out;
    bool unanswered;
};

static int cl, be;          /* the test's ends: the client and the backend */
static pid_t relay_pid;
static int res_fd;

static int handed_off(struct fe_relay *r, void *arg)
{
    (void)r, (void)arg;
    return 0;
}

/* Starts a relay between a new client pair and a new backend pair. */
static void start(struct fe_relay proto)
{
    int c[2], b[2], res[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, c), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
    ck_assert_int_eq(pipe(res), 0);
    relay_pid = fork();
    ck_assert_int_ne(relay_pid, -1);
    if (relay_pid == 0) {
        alarm(20);
        close(c[1]);
        close(b[1]);
        close(res[0]);
        struct fe_relay r = proto;
        r.cfd = c[0];
        r.bfd = b[0];
        struct result out = {.rc = fe_relay_run(&r),
                             .in = r.in,
                             .out = r.out,
                             .unanswered = r.unanswered};
        strncpy(out.path, r.path ? r.path : "", sizeof out.path - 1);
        strncpy(out.end, r.end ? r.end : "", sizeof out.end - 1);
        if (write(res[1], &out, sizeof out) != (ssize_t)sizeof out)
            _exit(2);
        _exit(0);
    }
    close(c[0]);
    close(b[0]);
    close(res[1]);
    cl = c[1];
    be = b[1];
    res_fd = res[0];
    fcntl(cl, F_SETFL, 0);
    fcntl(be, F_SETFL, 0);
}

static struct result finish(void)
{
    struct result r;
    struct pollfd p = {.fd = res_fd, .events = POLLIN};
    ck_assert_msg(poll(&p, 1, 10000) == 1, "the relay did not end");
    ck_assert_int_eq(read(res_fd, &r, sizeof r), (ssize_t)sizeof r);
    int st;
    ck_assert_int_eq(waitpid(relay_pid, &st, 0), relay_pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(res_fd);
    return r;
}

static void read_exact(int fd, void *buf, size_t n)
{
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        ck_assert_msg(r > 0, "short read: %zu of %zu", got, n);
        got += (size_t)r;
    }
}

static bool sees_eof(int fd)
{
    char c;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return read(fd, &c, 1) == 0;
}

START_TEST(pre_first_then_both_ways)
{
    static const unsigned char pre[] = "GET / HTTP/1.1\r\n\r\n";
    start(
        (struct fe_relay){.idle_ms = 5000, .stall_ms = 5000, .pre = pre, .prelen = sizeof pre - 1});
    char buf[64];
    read_exact(be, buf, sizeof pre - 1);
    ck_assert_mem_eq(buf, pre, sizeof pre - 1);
    ck_assert_int_eq(write(cl, "more", 4), 4);
    read_exact(be, buf, 4);
    ck_assert_mem_eq(buf, "more", 4);
    ck_assert_int_eq(write(be, "answer", 6), 6);
    read_exact(cl, buf, 6);
    ck_assert_mem_eq(buf, "answer", 6);
    /* the client's FIN reaches the backend; the backend may still answer */
    shutdown(cl, SHUT_WR);
    ck_assert(sees_eof(be));
    ck_assert_int_eq(write(be, "late", 4), 4);
    read_exact(cl, buf, 4);
    ck_assert_mem_eq(buf, "late", 4);
    close(be);
    ck_assert(sees_eof(cl));
    struct result r = finish();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_str_eq(r.path, "splice");
    ck_assert_str_eq(r.end, "closed");
    ck_assert_uint_eq(r.in, sizeof pre - 1 + 4);
    ck_assert_uint_eq(r.out, 10);
    ck_assert(!r.unanswered);
    close(cl);
}
END_TEST

/* The backend end: a process that echoes everything back, then closes. */
static pid_t echo_backend(void)
{
    pid_t p = fork();
    ck_assert_int_ne(p, -1);
    if (p)
        return p;
    alarm(20);
    static char buf[65536];
    ssize_t n;
    while ((n = read(be, buf, sizeof buf)) > 0)
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(be, buf + off, (size_t)(n - off));
            if (w <= 0)
                _exit(1);
            off += w;
        }
    _exit(0);
}

static unsigned char pat(size_t i)
{
    return (unsigned char)(i * 131 + (i >> 16));
}

/* 8 MiB through an echoing backend, writing and reading at once: every byte
 * arrives, in order, through pipes of 64 KiB and socket buffers that fill. */
START_TEST(bulk_echo_in_order)
{
    start((struct fe_relay){.idle_ms = 5000, .stall_ms = 5000});
    pid_t echo = echo_backend();
    close(be);
    const size_t total = 8u << 20;
    static unsigned char out[65536], in[65536];
    size_t sent = 0, got = 0;
    fcntl(cl, F_SETFL, O_NONBLOCK);
    uint64_t deadline = bx_now_ms() + 15000;
    while (got < total) {
        ck_assert_msg(bx_now_ms() < deadline, "stuck at %zu sent, %zu received", sent, got);
        struct pollfd p = {.fd = cl, .events = POLLIN | (sent < total ? POLLOUT : 0)};
        poll(&p, 1, 1000);
        if (sent < total && (p.revents & POLLOUT)) {
            size_t n = total - sent < sizeof out ? total - sent : sizeof out;
            for (size_t i = 0; i < n; i++)
                out[i] = pat(sent + i);
            ssize_t w = write(cl, out, n);
            if (w > 0)
                sent += (size_t)w;
            if (sent == total)
                shutdown(cl, SHUT_WR);
        }
        ssize_t r = read(cl, in, sizeof in);
        if (r > 0) {
            /* one check per read: every passing ck_assert costs Check a write */
            bool same = true;
            for (ssize_t i = 0; i < r; i++)
                same &= in[i] == pat(got + (size_t)i);
            ck_assert_msg(same, "wrong bytes in %zu..%zu", got, got + (size_t)r);
            got += (size_t)r;
        }
        ck_assert_msg(r != 0 || got == total, "EOF after %zu bytes", got);
    }
    int st;
    ck_assert_int_eq(waitpid(echo, &st, 0), echo);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct result r = finish();
    ck_assert_str_eq(r.end, "closed");
    ck_assert_uint_eq(r.in, total);
    ck_assert_uint_eq(r.out, total);
    close(cl);
}
END_TEST

START_TEST(idle_timeout_ends)
{
    uint64_t t0 = bx_now_ms();
    start((struct fe_relay){.idle_ms = 200, .stall_ms = 5000});
    ck_assert_int_eq(write(cl, "x", 1), 1);
    struct result r = finish();
    uint64_t took = bx_now_ms() - t0;
    ck_assert_int_eq(r.rc, -1);
    ck_assert_str_eq(r.end, "idle timeout");
    ck_assert_uint_ge(took, 200);
    ck_assert_uint_lt(took, 3000);
    close(cl);
    close(be);
}
END_TEST

/* The client reads nothing while the backend sends: once every buffer is
 * full, no write progresses for stall_ms and the relay gives up. */
START_TEST(stall_timeout_ends)
{
    start((struct fe_relay){.idle_ms = 10000, .stall_ms = 300});
    fcntl(be, F_SETFL, O_NONBLOCK);
    static char junk[65536];
    uint64_t deadline = bx_now_ms() + 8000;
    struct pollfd p = {.fd = res_fd, .events = POLLIN};
    while (poll(&p, 1, 0) == 0) {
        ck_assert_msg(bx_now_ms() < deadline, "no stall seen");
        if (write(be, junk, sizeof junk) < 0)
            usleep(20000);
    }
    struct result r = finish();
    ck_assert_int_eq(r.rc, -1);
    ck_assert_str_eq(r.end, "stall timeout");
    close(cl);
    close(be);
}
END_TEST

/* The backend closes having answered nothing: the request may be replayed. */
START_TEST(unanswered_flagged)
{
    static const unsigned char pre[] = "GET /x HTTP/1.1\r\n\r\n";
    start(
        (struct fe_relay){.idle_ms = 5000, .stall_ms = 5000, .pre = pre, .prelen = sizeof pre - 1});
    char buf[64];
    read_exact(be, buf, sizeof pre - 1);
    close(be);
    struct result r = finish();
    ck_assert_int_eq(r.rc, -1);
    ck_assert(r.unanswered);
    ck_assert_uint_eq(r.out, 0);
    close(cl);
}
END_TEST

/* Once the client sent more than pre, a replay would lose it: not flagged. */
START_TEST(answered_or_extended_not_flagged)
{
    static const unsigned char pre[] = "GET /x HTTP/1.1\r\n\r\n";
    start(
        (struct fe_relay){.idle_ms = 5000, .stall_ms = 5000, .pre = pre, .prelen = sizeof pre - 1});
    char buf[64];
    read_exact(be, buf, sizeof pre - 1);
    ck_assert_int_eq(write(cl, "GET /y HTTP/1.1\r\n\r\n", 19), 19);
    read_exact(be, buf, 19);
    close(be);
    shutdown(cl, SHUT_WR); /* else the relay waits for the client until idle_ms */
    struct result r = finish();
    ck_assert(!r.unanswered);
    close(cl);
}
END_TEST

START_TEST(idle_relay_handed_off)
{
    uint64_t t0 = bx_now_ms();
    start((struct fe_relay){.idle_ms = 10000, .stall_ms = 5000, .handoff = handed_off});
    ck_assert_int_eq(write(cl, "ping", 4), 4);
    char buf[4];
    read_exact(be, buf, 4);
    struct result r = finish();
    ck_assert_int_eq(r.rc, 0);
    ck_assert_str_eq(r.end, "handed off");
    ck_assert_uint_ge(bx_now_ms() - t0, FE_RELAY_HANDOFF_MS);
    close(cl);
    close(be);
}
END_TEST

Suite *suite_fe_relay(void);
Suite *suite_fe_relay(void)
{
    Suite *s = suite_create("fe_relay");
    TCase *tc = tcase_create("splice");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, pre_first_then_both_ways);
    tcase_add_test(tc, bulk_echo_in_order);
    tcase_add_test(tc, idle_timeout_ends);
    tcase_add_test(tc, stall_timeout_ends);
    tcase_add_test(tc, unanswered_flagged);
    tcase_add_test(tc, answered_or_extended_not_flagged);
    tcase_add_test(tc, idle_relay_handed_off);
    suite_add_tcase(s, tc);
    return s;
}
