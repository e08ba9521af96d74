/* SPDX-License-Identifier: BSD-2-Clause */
/* The connect-time allow/deny decision (common/cidr.c). */
#include "config.h"

#include <check.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cidr.h"
#include "common/net.h"

static struct bx_cidr slots[2][8];

/* Fills list from a NULL-terminated array of prefixes. */
static struct bx_cidr_list mklist(int which, const char *const *pfx)
{
    struct bx_cidr_list l = {slots[which], 0};
    for (; pfx && *pfx; pfx++) {
        ck_assert_msg(bx_cidr_parse(*pfx, &l.v[l.n]) == 0, "parse %s", *pfx);
        l.n++;
    }
    return l;
}

static bool allowed(const char *const *allow, const char *const *deny, const char *addr)
{
    struct bx_cidr_list a = mklist(0, allow), d = mklist(1, deny);
    struct sockaddr_storage ss;
    socklen_t len;
    ck_assert_msg(bx_sockaddr_parse(addr, 1, &ss, &len) == 0, "address %s", addr);
    return bx_access_allowed(&a, &d, (struct sockaddr *)&ss);
}

START_TEST(empty_lists_allow_everyone)
{
    ck_assert(allowed(NULL, NULL, "127.0.0.1"));
    ck_assert(allowed(NULL, NULL, "::1"));
}
END_TEST

START_TEST(deny_bans_only_its_members)
{
    const char *deny[] = {"127.0.0.2/32", "2001:db8::/32", NULL};
    ck_assert(!allowed(NULL, deny, "127.0.0.2"));
    ck_assert(!allowed(NULL, deny, "::ffff:127.0.0.2")); /* v4-mapped on a dual-stack socket */
    ck_assert(allowed(NULL, deny, "127.0.0.1"));
    ck_assert(!allowed(NULL, deny, "2001:db8:1::5"));
    ck_assert(allowed(NULL, deny, "2001:db9::5"));
    ck_assert(allowed(NULL, deny, "::1"));
}
END_TEST

START_TEST(allow_admits_only_its_members)
{
    const char *allow[] = {"10.0.0.0/8", "::1", NULL};
    ck_assert(allowed(allow, NULL, "10.9.8.7"));
    ck_assert(allowed(allow, NULL, "::1"));
    ck_assert(!allowed(allow, NULL, "192.0.2.1"));
    ck_assert(!allowed(allow, NULL, "::2"));
}
END_TEST

START_TEST(most_specific_entry_decides)
{
    /* a subnet banned inside an allowed network ... */
    const char *allow[] = {"10.0.0.0/8", NULL}, *deny[] = {"10.6.0.0/16", NULL};
    ck_assert(!allowed(allow, deny, "10.6.1.1"));
    ck_assert(allowed(allow, deny, "10.7.1.1"));
    /* ... and a host let through inside a banned one, listed in any order */
    const char *allow2[] = {"0.0.0.0/0", "10.1.2.3", NULL}, *deny2[] = {"10.0.0.0/8", NULL};
    ck_assert(allowed(allow2, deny2, "10.1.2.3"));
    ck_assert(!allowed(allow2, deny2, "10.1.2.4"));
    ck_assert(allowed(allow2, deny2, "192.0.2.1"));
    /* the same prefix in both: deny wins */
    const char *same[] = {"192.0.2.0/24", NULL};
    ck_assert(!allowed(same, same, "192.0.2.1"));
    /* IPv4 and IPv6 entries compare for a v4-mapped client */
    const char *deny6[] = {"::ffff:0:0/96", NULL},
               *allow4[] = {"0.0.0.0/0", "::/0", "10.0.0.0/8", NULL};
    ck_assert(allowed(allow4, deny6, "::ffff:10.0.0.1"));
    ck_assert(!allowed(allow4, deny6, "::ffff:11.0.0.1"));
    ck_assert(allowed(allow4, deny6, "::2"));
}
END_TEST

START_TEST(longest_prefix)
{
    struct bx_cidr_list l = mklist(0, (const char *[]){"10.0.0.0/8", "10.1.0.0/16", "::/0", NULL});
    struct sockaddr_storage ss;
    socklen_t len;
    bx_sockaddr_parse("10.1.2.3", 1, &ss, &len);
    ck_assert_int_eq(bx_cidr_list_longest(l.v, l.n, (struct sockaddr *)&ss), 96 + 16);
    bx_sockaddr_parse("192.0.2.1", 1, &ss, &len);
    ck_assert_int_eq(bx_cidr_list_longest(l.v, l.n, (struct sockaddr *)&ss), -1);
    bx_sockaddr_parse("2001:db8::1", 1, &ss, &len);
    ck_assert_int_eq(bx_cidr_list_longest(l.v, l.n, (struct sockaddr *)&ss), 0);
    struct sockaddr su = {.sa_family = AF_UNIX};
    ck_assert_int_eq(bx_cidr_list_longest(l.v, l.n, &su), -1);
}
END_TEST

Suite *suite_cidr(void);
Suite *suite_cidr(void)
{
    Suite *s = suite_create("cidr");
    TCase *tc = tcase_create("access");
    tcase_add_test(tc, empty_lists_allow_everyone);
    tcase_add_test(tc, deny_bans_only_its_members);
    tcase_add_test(tc, allow_admits_only_its_members);
    tcase_add_test(tc, most_specific_entry_decides);
    tcase_add_test(tc, longest_prefix);
    suite_add_tcase(s, tc);
    return s;
}
