/* SPDX-License-Identifier: BSD-2-Clause */
/* Connect-time access control (frontend/access.c): which address is judged
 * (the TCP peer, or the PROXY client of a trusted balancer), allow and deny
 * together, and the rate-limited log line naming client and port. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/cidr.h"
#include "common/proc.h"
#include "frontend/access.h"
#include "tests/unit/testutil.h"

static struct bx_cidr allow_v[4], deny_v[4], from_v[2];

static void set_list(struct bx_cidr_list *l, struct bx_cidr *v, const char *const *s)
{
    l->v = v;
    l->n = 0;
    for (; *s; s++)
        ck_assert_int_eq(bx_cidr_parse(*s, &v[l->n++]), 0);
}

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(40000)};
    ck_assert_int_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

static struct sockaddr_in6 v6(const char *ip)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(40000)};
    ck_assert_int_eq(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    return a;
}

static bool peer(const struct bx_service *sv, const char *ip)
{
    if (strchr(ip, ':')) {
        struct sockaddr_in6 a = v6(ip);
        return fe_access_peer(sv, (struct sockaddr *)&a, sizeof a);
    }
    struct sockaddr_in a = v4(ip);
    return fe_access_peer(sv, (struct sockaddr *)&a, sizeof a);
}

static bool client(const struct bx_service *sv, const char *ip)
{
    struct sockaddr_in a = v4(ip);
    return fe_access_client(sv, (struct sockaddr *)&a, sizeof a);
}

START_TEST(no_lists_allow_everyone)
{
    struct bx_service sv = {.port = 443};
    ck_assert(peer(&sv, "203.0.113.9"));
    ck_assert(peer(&sv, "2001:db8::1"));
    ck_assert(client(&sv, "198.51.100.1"));
}
END_TEST

/* allow 10/8 but deny 10.1/16: the longer prefix decides */
START_TEST(allow_and_deny_longest_prefix)
{
    struct bx_service sv = {.port = 8080};
    set_list(&sv.allow, allow_v, (const char *[]){"10.0.0.0/8", "2001:db8::/32", NULL});
    set_list(&sv.deny, deny_v, (const char *[]){"10.1.0.0/16", NULL});
    ck_assert(peer(&sv, "10.2.3.4"));
    ck_assert(!peer(&sv, "10.1.2.3"));
    ck_assert(!peer(&sv, "192.0.2.1")); /* an allow list refuses what it does not name */
    ck_assert(peer(&sv, "2001:db8:1::5"));
    ck_assert(!peer(&sv, "2001:db9::5"));
}
END_TEST

START_TEST(deny_only)
{
    struct bx_service sv = {.port = 80};
    set_list(&sv.deny, deny_v, (const char *[]){"192.0.2.0/24", NULL});
    ck_assert(!peer(&sv, "192.0.2.200"));
    ck_assert(peer(&sv, "192.0.3.1"));
    ck_assert(!client(&sv, "192.0.2.1"));
}
END_TEST

/* A trusted balancer is let through at accept (its client is judged after
 * the header); the same address on a service without PROXY is judged. */
START_TEST(trusted_balancer_judged_by_its_client)
{
    struct bx_service sv = {.port = 443, .proxy_protocol = BX_PROXY_REQUIRED};
    set_list(&sv.allow, allow_v, (const char *[]){"198.51.100.0/24", NULL});
    set_list(&sv.proxy_from, from_v, (const char *[]){"127.0.0.1/32", NULL});
    ck_assert(peer(&sv, "127.0.0.1"));
    ck_assert(!peer(&sv, "127.0.0.2")); /* not a balancer: judged, and not allowed */
    ck_assert(client(&sv, "198.51.100.7"));
    ck_assert(!client(&sv, "127.0.0.1")); /* the balancer itself as the client (LOCAL) */
    sv.proxy_protocol = BX_PROXY_OFF;
    ck_assert(!peer(&sv, "127.0.0.1"));
}
END_TEST

START_TEST(refusals_logged_once_a_second)
{
    char *path = tu_log_to_tmp();
    fe_access_init();
    while (bx_now_ms() % 1000 > 100) /* the burst within one second of the limiter */
        usleep(5000);
    struct bx_service sv = {.port = 8443};
    set_list(&sv.deny, deny_v, (const char *[]){"0.0.0.0/0", NULL});
    for (int i = 0; i < 20; i++)
        ck_assert(!peer(&sv, "203.0.113.5"));
    char *log = tu_slurp(path);
    ck_assert_uint_eq(tu_count(log, "refused by the allow/deny list"), 1);
    ck_assert_msg(strstr(log, "client 203.0.113.5:40000: refused by the allow/deny list of port "
                              "8443 (peer address)"),
                  "%s", log);
    free(log);
    free(path);
}
END_TEST

Suite *suite_fe_access(void);
Suite *suite_fe_access(void)
{
    Suite *s = suite_create("fe_access");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, no_lists_allow_everyone);
    tcase_add_test(tc, allow_and_deny_longest_prefix);
    tcase_add_test(tc, deny_only);
    tcase_add_test(tc, trusted_balancer_judged_by_its_client);
    tcase_add_test(tc, refusals_logged_once_a_second);
    suite_add_tcase(s, tc);
    return s;
}
