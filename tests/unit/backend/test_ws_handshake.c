/* SPDX-License-Identifier: BSD-2-Clause */
/* Opening handshake rules and the accept key. */
#include "config.h"

#include <check.h>
#include <string.h>

#include "backend/ws_handshake.h"
#include "common/buf.h"

static struct be_ws_hs_request good(void)
{
    struct be_ws_hs_request r = {
        .method = "GET",
        .http_major = 1,
        .http_minor = 1,
        .has_host = 1,
        .connection = "keep-alive, Upgrade",
        .upgrade = "websocket",
        .version = "13",
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
    r = good();
    r.method = "POST";
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good();
    r.http_minor = 0;
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good();
    r.has_host = 0;
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good();
    r.connection = NULL;
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good();
    r.connection = "keep-alive, upgrades";
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good();
    r.upgrade = "h2c";
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good();
    r.version = NULL;
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 400);
    r = good();
    r.version = "8";
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 426);
    r = good();
    r.version = "13, 8";
    ck_assert_int_eq(be_ws_hs_check(&r, &why), 426);
    const char *badkeys[] = {NULL,
                             "",
                             "dGhlIHNhbXBsZSBub25jZQ=",
                             "dGhlIHNhbXBsZSBub25jZQ==x",
                             "dGhlIHNhbXBsZSBub25jZ===",
                             "dGhlIHNhbXBsZSBub25j*Q==",
                             "dGhlIHNhbXBsZSBub25jZR==",
                             "YWJj"};
    for (size_t i = 0; i < sizeof(badkeys) / sizeof(*badkeys); i++) {
        r = good();
        r.key = badkeys[i];
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
    const char *sup[] = {"chat.v2", "chat", NULL};
    ck_assert_str_eq(be_ws_pick_subprotocol("chat, chat.v2", sup), "chat.v2");
    ck_assert_str_eq(be_ws_pick_subprotocol("x, chat", sup), "chat");
    ck_assert_ptr_null(be_ws_pick_subprotocol("x, y", sup));
    ck_assert_ptr_null(be_ws_pick_subprotocol(NULL, sup));
}
END_TEST

/* The 101 is built in a growing buffer: a subprotocol of any length fits
 * (char resp[512] overflowed from 358 bytes on). */
START_TEST(test_response_101)
{
    char accept[BE_WS_ACCEPT_LEN];
    be_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept);
    char proto[5001];
    memset(proto, 'p', 5000);
    proto[5000] = 0;
    struct bx_buf b = BX_BUF_INIT;
    be_ws_response_101(&b, accept, proto, "permessage-deflate; server_no_context_takeover");
    bx_buf_append(&b, "", 1);
    const char *r = bx_buf_rpos(&b);
    ck_assert(strncmp(r, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0);
    ck_assert_ptr_nonnull(strstr(r, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    const char *p = strstr(r, "Sec-WebSocket-Protocol: ");
    ck_assert_ptr_nonnull(p);
    ck_assert(strncmp(p + 24, proto, 5000) == 0 && p[5024] == '\r');
    ck_assert_ptr_nonnull(strstr(r, "Sec-WebSocket-Extensions: permessage-deflate; "));
    ck_assert_uint_eq(strlen(r), bx_buf_unread(&b) - 1);
    ck_assert(strcmp(r + strlen(r) - 4, "\r\n\r\n") == 0);
    bx_buf_free(&b);
    be_ws_response_101(&b, accept, NULL, NULL);
    bx_buf_append(&b, "", 1);
    ck_assert_ptr_null(strstr(bx_buf_rpos(&b), "Sec-WebSocket-Protocol"));
    ck_assert_ptr_null(strstr(bx_buf_rpos(&b), "Sec-WebSocket-Extensions"));
    bx_buf_free(&b);
}
END_TEST

START_TEST(test_chosen_protocol)
{
    char list[] = "a, b.v1,\tc";
    const char *v[3];
    be_ws_split_protocols(list, v, 3); /* room for two */
    ck_assert_str_eq(v[0], "a");
    ck_assert_str_eq(v[1], "b.v1");
    ck_assert_ptr_null(v[2]);
    ck_assert_str_eq(be_ws_chosen_protocol("b.v1", v), "b.v1");
    ck_assert_ptr_null(be_ws_chosen_protocol("c", v));      /* not offered (cut) */
    ck_assert_ptr_null(be_ws_chosen_protocol("zzz", v));
    ck_assert_ptr_null(be_ws_chosen_protocol(NULL, v));
    const char *odd[] = {"a\r\nX: y", "", NULL};
    ck_assert_ptr_null(be_ws_chosen_protocol(odd[0], odd));  /* not a token */
    ck_assert_ptr_null(be_ws_chosen_protocol(odd[1], odd));
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
    tcase_add_test(tc, test_response_101);
    tcase_add_test(tc, test_chosen_protocol);
    suite_add_tcase(s, tc);
    return s;
}
