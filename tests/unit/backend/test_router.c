/* SPDX-License-Identifier: BSD-2-Clause */
/* Routing: vhost by name or alias (else the default), then the longest
 * mount path on a segment boundary; named vhost beats "*" on a tie. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "backend/router.h"
#include "common/cfg.h"
#include "tests/unit/testutil.h"

static const char conf_text[] =
    "vhosts = ( { name = \"a.example\"; aliases = [ \"www.a.example\" ]; },\n"
    "           { name = \"b.example\"; } );\n"
    "backend: { socket = \"/tmp/none.sock\"; };\n";

static int T_ROOT, T_STATIC_ANY, T_STATIC_A, T_API_B, T_X_A, T_ECHO;

START_TEST(routes)
{
    char *dir = tu_tmpdir();
    char *path = tu_write_file(dir, "r.conf", conf_text);
    struct bx_config cfg;
    char *errs = NULL;
    ck_assert_msg(bx_config_load(&cfg, path, 0, &errs) == 0, "%s", errs ? errs : "");
    struct be_mount m[] = {
        {"*", "/", &T_ROOT},
        {"*", "/static", &T_STATIC_ANY},
        {"a.example", "/static", &T_STATIC_A},
        {"b.example", "/api/", &T_API_B},
        {"www.a.example", "/x", &T_X_A},
        {"*", "/echo", &T_ECHO},
    };
    struct be_router *rt = be_router_build(&cfg, m, sizeof m / sizeof m[0]);
    size_t ml = 0;
    ck_assert_ptr_eq(be_router_match(rt, "a.example", "/", &ml), &T_ROOT);
    ck_assert_uint_eq(ml, 1);
    ck_assert_ptr_eq(be_router_match(rt, "a.example", "/static/x.css", &ml), &T_STATIC_A);
    ck_assert_ptr_eq(be_router_match(rt, "www.a.example", "/static", &ml), &T_STATIC_A);
    ck_assert_ptr_eq(be_router_match(rt, "b.example", "/static/x.css", &ml), &T_STATIC_ANY);
    ck_assert_uint_eq(ml, 7);
    ck_assert_ptr_eq(be_router_match(rt, "b.example", "/staticky", &ml), &T_ROOT);
    ck_assert_ptr_eq(be_router_match(rt, "b.example", "/api/v1", &ml), &T_API_B);
    ck_assert_ptr_eq(be_router_match(rt, "b.example", "/api", &ml), &T_ROOT);
    ck_assert_ptr_eq(be_router_match(rt, "a.example", "/api/v1", &ml), &T_ROOT);
    /* the x mount belongs to vhost a (named through its alias) */
    ck_assert_ptr_eq(be_router_match(rt, "a.example", "/x/1", &ml), &T_X_A);
    ck_assert_ptr_eq(be_router_match(rt, "b.example", "/x/1", &ml), &T_ROOT);
    /* unknown or missing host: the default vhost (the first) */
    ck_assert_ptr_eq(be_router_match(rt, "nobody.example", "/x", &ml), &T_X_A);
    ck_assert_ptr_eq(be_router_match(rt, "", "/echo", &ml), &T_ECHO);
    be_router_free(rt);

    /* no "/" mount: unmatched paths find nothing */
    struct be_mount m2[] = {{"b.example", "/only", &T_API_B}};
    rt = be_router_build(&cfg, m2, 1);
    ck_assert_ptr_null(be_router_match(rt, "b.example", "/", &ml));
    ck_assert_ptr_null(be_router_match(rt, "a.example", "/only", &ml));
    ck_assert_ptr_eq(be_router_match(rt, "b.example", "/only", &ml), &T_API_B);
    be_router_free(rt);
    bx_config_free(&cfg);
    free(path);
    free(dir);
}
END_TEST

Suite *suite_router(void);
Suite *suite_router(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("match");
    tcase_add_test(tc, routes);
    suite_add_tcase(s, tc);
    return s;
}
