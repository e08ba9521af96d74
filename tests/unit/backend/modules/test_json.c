/* SPDX-License-Identifier: BSD-2-Clause */
/* The bundled modules' flat JSON reader (backend/modules/json.c): chat's
 * messages, and the PageCamel keep-alive of echo and chat. */
#include "config.h"

#include <check.h>
#include <string.h>

#include "backend/modules/json.h"

static bool ping(const char *s)
{
    return json_is_ping(s, strlen(s));
}

START_TEST(test_ping_forms)
{
    ck_assert(ping("{\"type\":\"PING\"}"));
    ck_assert(ping(JSON_PING));
    ck_assert(ping(" { \"type\" : \"PING\" , \"ts\" : 17 }\n"));
    ck_assert(ping("{\"id\":\"x\",\"type\":\"\\u0050ING\"}")); /* escapes decoded */
    ck_assert(!ping("{\"type\":\"ping\"}"));       /* as PageCamel: exact */
    ck_assert(!ping("{\"type\":\"PINGPONG\"}"));
    ck_assert(!ping("{\"kind\":\"PING\"}"));
    ck_assert(!ping("{\"type\":\"PING\"} x"));      /* trailing garbage */
    ck_assert(!ping("{\"type\":\"PING\""));         /* cut short */
    ck_assert(!ping("{\"type\":\"PING\",\"d\":{}}")); /* nested: refused */
    ck_assert(!ping("\"PING\""));
    ck_assert(!ping(""));
}
END_TEST

START_TEST(test_fields)
{
    char type[8], text[4];
    struct json_field f[] = {{"type", type, sizeof type, false},
                             {"text", text, sizeof text, false}};
    const char *s = "{\"type\":\"say\",\"n\":1,\"text\":\"abc\"}";
    ck_assert_int_eq(json_parse_object(s, strlen(s), f, 2), 0);
    ck_assert(f[0].found && f[1].found);
    ck_assert_str_eq(type, "say");
    ck_assert_str_eq(text, "abc");
    s = "{\"text\":\"abcd\"}"; /* longer than its field */
    ck_assert_int_eq(json_parse_object(s, strlen(s), f, 2), -1);
    s = "{}";
    f[0].found = false;
    ck_assert_int_eq(json_parse_object(s, strlen(s), f, 2), 0);
    ck_assert(!f[0].found);
}
END_TEST

Suite *suite_json(void);
Suite *suite_json(void)
{
    Suite *s = suite_create("modules_json");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ping_forms);
    tcase_add_test(tc, test_fields);
    suite_add_tcase(s, tc);
    return s;
}
