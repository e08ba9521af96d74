/* SPDX-License-Identifier: BSD-2-Clause */
/* OpenSSL's allocations on the lean child's bump arena (frontend/arena.c):
 * 16-byte alignment, size classes reused after free, realloc that keeps
 * the bytes, the fall-back to malloc when the arena is full, and real
 * OpenSSL work on it. Each case forks, as the allocator can be installed
 * only before OpenSSL's first allocation in a process. */
#include "config.h"

#include <check.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/arena.h"

#define ARENA (1u << 20)

static int in_child(int (*fn)(void))
{
    pid_t p = fork();
    ck_assert_int_ne(p, -1);
    if (p == 0)
        _exit(fn());
    int st;
    ck_assert_int_eq(waitpid(p, &st, 0), p);
    ck_assert_msg(WIFEXITED(st), "child died of signal %d", WTERMSIG(st));
    return WEXITSTATUS(st);
}

static unsigned char *lo, *hi; /* the arena, known from its first block */

static bool inside(const void *p)
{
    return (const unsigned char *)p >= lo && (const unsigned char *)p < hi;
}

static int setup_arena(void)
{
    if (!fe_arena_install())
        return 1;
    if (!fe_arena_use(ARENA))
        return 2;
    unsigned char *first = OPENSSL_malloc(1);
    if (!first || ((uintptr_t)first & 15))
        return 3;
    lo = first - 16;
    hi = lo + ARENA;
    return 0;
}

static int classes_and_reuse(void)
{
    int rc = setup_arena();
    if (rc)
        return rc;
    unsigned char *a = OPENSSL_malloc(100), *b = OPENSSL_malloc(100);
    if (!inside(a) || !inside(b) || ((uintptr_t)a & 15) || ((uintptr_t)b & 15))
        return 4;
    if (b - a != 16 + 128) /* a 100-byte block takes the 128-byte class */
        return 5;
    memset(a, 0x5a, 100);
    OPENSSL_free(a);
    unsigned char *c = OPENSSL_malloc(120); /* same class: a's block again */
    if (c != a)
        return 6;
    unsigned char *d = OPENSSL_malloc(129); /* the next class: fresh */
    if (d == a || !inside(d))
        return 7;
    OPENSSL_free(NULL);
    return 0;
}

START_TEST(alignment_and_class_reuse)
{
    ck_assert_int_eq(in_child(classes_and_reuse), 0);
}
END_TEST

static int realloc_keeps_bytes(void)
{
    int rc = setup_arena();
    if (rc)
        return rc;
    unsigned char *a = OPENSSL_malloc(40);
    for (int i = 0; i < 40; i++)
        a[i] = (unsigned char)i;
    unsigned char *b = OPENSSL_realloc(a, 5000);
    if (!inside(b))
        return 4;
    for (int i = 0; i < 40; i++)
        if (b[i] != i)
            return 5;
    unsigned char *c = OPENSSL_realloc(b, 10); /* shrink: the first 10 kept */
    for (int i = 0; i < 10; i++)
        if (c[i] != i)
            return 6;
    /* a block too big for any class (bump only) survives realloc too */
    unsigned char *big = OPENSSL_malloc(100000);
    memset(big, 7, 100000);
    unsigned char *big2 = OPENSSL_realloc(big, 200000);
    if (!inside(big2) || big2[99999] != 7)
        return 7;
    OPENSSL_free(big2);
    unsigned char *n = OPENSSL_realloc(NULL, 33); /* realloc(NULL) is malloc */
    if (!inside(n))
        return 8;
    return 0;
}

START_TEST(realloc_keeps_bytes_in_arena)
{
    ck_assert_int_eq(in_child(realloc_keeps_bytes), 0);
}
END_TEST

static int full_arena_falls_back(void)
{
    int rc = setup_arena();
    if (rc)
        return rc;
    unsigned char *a = OPENSSL_malloc(ARENA); /* cannot fit with its header */
    if (!a || inside(a))
        return 4;
    memset(a, 1, ARENA);
    unsigned char *b = OPENSSL_realloc(a, ARENA * 2); /* a malloc block stays malloc's */
    if (!b || inside(b) || b[ARENA - 1] != 1)
        return 5;
    OPENSSL_free(b);
    /* fill the arena: every later block comes from malloc, none overlaps */
    unsigned char *last = NULL;
    for (int i = 0; i < 40; i++) {
        unsigned char *p = OPENSSL_malloc(60000);
        if (!p)
            return 6;
        memset(p, i, 60000);
        if (last && last[0] != i - 1)
            return 7;
        last = p;
    }
    if (inside(last))
        return 8;
    return 0;
}

START_TEST(full_arena_falls_back_to_malloc)
{
    ck_assert_int_eq(in_child(full_arena_falls_back), 0);
}
END_TEST

static int real_openssl_work(void)
{
    int rc = setup_arena();
    if (rc)
        return rc;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return 4;
    SSL *ssl = SSL_new(ctx);
    if (!ssl || !inside(ssl))
        return 5;
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!EVP_Digest("abc", 3, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32 || md[0] != 0xba ||
        md[31] != 0xad)
        return 6;
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return 0;
}

START_TEST(openssl_runs_on_the_arena)
{
    ck_assert_int_eq(in_child(real_openssl_work), 0);
}
END_TEST

static int too_late(void)
{
    void *p = OPENSSL_malloc(8); /* OpenSSL has allocated: no switching now */
    OPENSSL_free(p);
    return fe_arena_install() ? 1 : 0;
}

START_TEST(install_refused_after_first_allocation)
{
    ck_assert_int_eq(in_child(too_late), 0);
}
END_TEST

Suite *suite_fe_arena(void);
Suite *suite_fe_arena(void)
{
    Suite *s = suite_create("fe_arena");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, alignment_and_class_reuse);
    tcase_add_test(tc, realloc_keeps_bytes_in_arena);
    tcase_add_test(tc, full_arena_falls_back_to_malloc);
    tcase_add_test(tc, openssl_runs_on_the_arena);
    tcase_add_test(tc, install_refused_after_first_allocation);
    suite_add_tcase(s, tc);
    return s;
}
