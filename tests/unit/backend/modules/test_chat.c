/* SPDX-License-Identifier: BSD-2-Clause */
/* The chat module (backend/modules/chat.c) through the module API in an
 * in-process worker (beloop.h), two clients in one worker: join notices
 * reach the room and only the room, messages carry the sender's nick with
 * the text escaped as JSON, renames and leaving are announced, and bad
 * input (not JSON, a bad room or nick, over-long text, saying before
 * joining, binary frames) gets an error or a close, never a broadcast. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/backend/beloop.h"

#define MODS "  modules = ( { module = \"chat\"; path = \"/chat\"; json_ping = true; } );"

static char resp[8192];
static unsigned char msg[32768];

static void up(void)
{
    bl_start(MODS, false);
}

static void down(void)
{
    bl_stop();
}

static void say(int fd, const char *json)
{
    bl_ws_send(fd, 0x81, json, strlen(json), true);
}

/* The next text message to fd, NUL-terminated in msg. */
static const char *next(int fd)
{
    unsigned b0;
    size_t n = bl_ws_read(fd, &b0, msg, sizeof msg - 1);
    ck_assert_uint_eq(b0, 0x81);
    msg[n] = '\0';
    return (const char *)msg;
}

/* Nothing arrives on fd within ms. */
static void quiet(int fd, int ms)
{
    bl_pump(ms);
    char c;
    ck_assert_int_eq(recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK), -1);
}

START_TEST(room_messages_reach_the_room_only)
{
    int a = bl_ws_open("/chat", "", resp, sizeof resp);
    int b = bl_ws_open("/chat", "", resp, sizeof resp);
    int c = bl_ws_open("/chat", "", resp, sizeof resp);
    say(a, "{\"type\":\"join\",\"room\":\"lobby\",\"nick\":\"alice\"}");
    ck_assert_str_eq(next(a), "{\"type\":\"joined\",\"room\":\"lobby\",\"nick\":\"alice\"}");
    say(b, "{\"type\":\"join\",\"room\":\"lobby\",\"nick\":\"bob\"}");
    ck_assert_str_eq(next(a), "{\"type\":\"joined\",\"room\":\"lobby\",\"nick\":\"bob\"}");
    ck_assert_str_eq(next(b), "{\"type\":\"joined\",\"room\":\"lobby\",\"nick\":\"bob\"}");
    say(c, "{\"type\":\"join\",\"room\":\"other\",\"nick\":\"carol\"}");
    ck_assert_str_eq(next(c), "{\"type\":\"joined\",\"room\":\"other\",\"nick\":\"carol\"}");
    say(a, "{\"type\":\"say\",\"text\":\"hi \\\"all\\\"\\n\"}");
    const char *want = "{\"type\":\"message\",\"room\":\"lobby\",\"nick\":\"alice\","
                       "\"text\":\"hi \\\"all\\\"\\u000a\"}"; /* control characters: JSON escapes */
    ck_assert_str_eq(next(a), want);
    ck_assert_str_eq(next(b), want);
    quiet(c, 50); /* another room hears nothing */
    say(b, "{\"type\":\"nick\",\"nick\":\"robert\"}");
    want = "{\"type\":\"renamed\",\"room\":\"lobby\",\"nick\":\"robert\",\"old\":\"bob\"}";
    ck_assert_str_eq(next(a), want);
    ck_assert_str_eq(next(b), want);
    say(b, "{\"type\":\"leave\"}");
    ck_assert_str_eq(next(a), "{\"type\":\"left\",\"room\":\"lobby\",\"nick\":\"robert\"}");
    say(a, "{\"type\":\"say\",\"text\":\"anyone?\"}");
    next(a);
    quiet(b, 50); /* gone from the room */
    close(b);
    close(c);
    close(a);
}
END_TEST

/* A client that disconnects is announced as gone. */
START_TEST(disconnect_announced)
{
    int a = bl_ws_open("/chat", "", resp, sizeof resp);
    int b = bl_ws_open("/chat", "", resp, sizeof resp);
    say(a, "{\"type\":\"join\",\"room\":\"r\",\"nick\":\"a\"}");
    next(a);
    say(b, "{\"type\":\"join\",\"room\":\"r\",\"nick\":\"b\"}");
    next(a);
    next(b);
    close(b);
    ck_assert_str_eq(next(a), "{\"type\":\"left\",\"room\":\"r\",\"nick\":\"b\"}");
    close(a);
}
END_TEST

START_TEST(bad_input_gets_errors)
{
    int a = bl_ws_open("/chat", "", resp, sizeof resp);
    const char *bad[] = {
        "not json",
        "{\"type\":\"say\",\"text\":\"before joining\"}",
        "{\"type\":\"join\",\"room\":\"no spaces\",\"nick\":\"x\"}",
        "{\"type\":\"join\",\"room\":\"r\",\"nick\":\"\"}",
        "{\"type\":\"join\",\"room\":\"r\",\"nick\":\"a\\u0001b\"}",
        "{\"type\":\"nick\",\"nick\":\"123456789012345678901234567890123\"}", /* 33 bytes */
        "{\"type\":\"dance\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        say(a, bad[i]);
        ck_assert_msg(strncmp(next(a), "{\"type\":\"error\",\"error\":", 24) == 0, "%s -> %s",
                      bad[i], (char *)msg);
    }
    static char big[5000 + 64];
    int n = snprintf(big, sizeof big, "{\"type\":\"say\",\"text\":\"");
    memset(big + n, 'x', 4097);
    strcpy(big + n + 4097, "\"}");
    say(a, "{\"type\":\"join\",\"room\":\"r\",\"nick\":\"a\"}");
    next(a);
    say(a, big); /* text over 4096 bytes */
    ck_assert_msg(strncmp(next(a), "{\"type\":\"error\"", 15) == 0, "%s", (char *)msg);
    say(a, "{\"type\":\"PING\"}"); /* json_ping */
    ck_assert_str_eq(next(a), "{\"type\":\"PING\"}");
    bl_ws_send(a, 0x82, "bin", 3, true);
    unsigned b0;
    size_t len = bl_ws_read(a, &b0, msg, sizeof msg);
    ck_assert_uint_eq(b0, 0x88);
    ck_assert_uint_ge(len, 2);
    ck_assert_uint_eq(((unsigned)msg[0] << 8) | msg[1], 1003);
    close(a);
}
END_TEST

Suite *suite_chat(void);
Suite *suite_chat(void)
{
    Suite *s = suite_create("chat");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, up, down);
    tcase_add_test(tc, room_messages_reach_the_room_only);
    tcase_add_test(tc, disconnect_announced);
    tcase_add_test(tc, bad_input_gets_errors);
    suite_add_tcase(s, tc);
    return s;
}
