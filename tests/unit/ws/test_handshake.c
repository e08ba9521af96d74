/* Opening handshake rules and the accept key. */
#include "config.h"

#include <check.h>
#include <string.h>

#include "backend/ws_handshake.h"

static struct be_ws_hs_request good(void)
{
    struct be_ws_hs_request r = {
        .method = "GET", .http_major = 1, .http_minor = 1, .has_host = 1,
        .connection = "keep-alive, Upgrade", .upgrade = "websocket", .version = "13",
        .key = "dGhlIHNhbXBsZSBub25jZQ==",
    };
    return r;
}

START_TEST(test_accept_key)
{
    char out[BE_WS_ACCEPT_LEN];
    be_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out); /* RFC 6455 1.3 */
    ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}
END_TEST

START_TEST(test_rules)
{
    struct be_ws_hs_request r = good();
    const char *why;
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 0);
    r.connection = "UPGRADE";
    r.upgrade = "WebSocket";
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 0);
    r = good(); r.method = "POST";
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good(); r.http_minor = 0;
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good(); r.has_host = 0;
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good(); r.connection = NULL;
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good(); r.connection = "keep-alive, upgrades";
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good(); r.upgrade = "h2c";
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good(); r.version = NULL;
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good(); r.version = "8";
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 426);
    r = good(); r.version = "13, 8";
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 426);
    const char *badkeys[] = { NULL, "", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ==x",
                              "dGhlIHNhbXBsZSBub25jZ===", "dGhlIHNhbXBsZSBub25j*Q==",
                              "dGhlIHNhbXBsZSBub25jZR==", "YWJj" };
    for (size_t i = 0; i < sizeof(badkeys) / sizeof(*badkeys); i++) {
        r = good(); r.key = badkeys[i];
        ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    }
}
END_TEST

START_TEST(test_token_list_and_subprotocol)
{
    ck_assert(be_ws_token_list_has("a, b ,\tUpgrade\t", "upgrade"));
    ck_assert(be_ws_token_list_has(",,upgrade,,", "upgrade"));
    ck_assert(!be_ws_token_list_has("upgrade2", "upgrade"));
    ck_assert(!be_ws_token_list_has("", "upgrade"));
    const char *sup[] = { "chat.v2", "chat", NULL };
    ck_assert_str_eq(be_ws_pick_subprotocol("chat, chat.v2", sup), "chat.v2");
    ck_assert_str_eq(be_ws_pick_subprotocol("x, chat", sup), "chat");
    ck_assert_ptr_null(be_ws_pick_subprotocol("x, y", sup));
    ck_assert_ptr_null(be_ws_pick_subprotocol(NULL, sup));
}
END_TEST

Suite *suite_ws_handshake(void);
Suite *suite_ws_handshake(void)
{
    Suite *s = suite_create("ws_handshake");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_accept_key);
    tcase_add_test(tc, test_rules);
    tcase_add_test(tc, test_token_list_and_subprotocol);
    suite_add_tcase(s, tc);
    return s;
}
