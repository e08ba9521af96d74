/* SPDX-License-Identifier: BSD-2-Clause */
/* The status module (backend/modules/status.c) through the module API in an
 * in-process worker (beloop.h): this worker's counters, and the frontend's
 * scoreboard file read as untrusted data: busy slots listed with their
 * strings escaped (a slot's vhost is 64 bytes a child wrote, unterminated),
 * states out of range skipped, and a truncated or missing file reported as
 * an error, never read beyond its end. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sbfile.h"
#include "tests/unit/backend/beloop.h"

#define MODS                                                                                       \
    "  modules = ( { module = \"status\"; path = \"/st\"; scoreboard = \"@DIR@/sb\"; },\n"         \
    "              { module = \"status\"; path = \"/gone\"; scoreboard = \"@DIR@/none\"; },\n"     \
    "              { module = \"status\"; path = \"/plain\"; } );"

static char resp[65536];
static int fd;

static void up(void)
{
    bl_start(MODS, false);
    fd = bl_connect();
}

static void down(void)
{
    close(fd);
    bl_stop();
}

/* A scoreboard of three slots (relay, idle, a state out of range), written
 * whole or cut to len bytes (0: whole). */
static void write_sb(size_t cut)
{
    struct {
        struct bx_sb_header h;
        struct bx_sb_slot s[3];
    } f;
    memset(&f, 0, sizeof f);
    f.h = (struct bx_sb_header){.magic = BX_SB_MAGIC,
                                .version = BX_SB_VERSION,
                                .header_size = sizeof f.h,
                                .slot_size = sizeof f.s[0],
                                .nslots = 3,
                                .master_pid = 4242};
    f.s[0].state = BX_SB_RELAY;
    f.s[0].pid = 77;
    f.s[0].family = 2; /* AF_INET */
    memcpy(f.s[0].addr, "\xc0\x00\x02\x07", 4);
    f.s[0].port = 40000;
    memset(f.s[0].vhost, 'v', sizeof f.s[0].vhost); /* no terminator */
    memcpy(f.s[0].vhost, "a\"b\\c\n", 6);
    f.s[0].bytes_in = 10;
    f.s[1].state = BX_SB_IDLE;
    f.s[2].state = 99;
    char path[512];
    snprintf(path, sizeof path, "%s/sb", bl_dir());
    int o = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(o, 0);
    size_t n = cut ? cut : sizeof f;
    ck_assert_int_eq(write(o, &f, n), (ssize_t)n);
    close(o);
}

START_TEST(worker_counters)
{
    bl_get(fd, "/plain", resp, sizeof resp);
    ck_assert_int_eq(bl_status(resp), 200);
    char v[64], pid[64];
    ck_assert_str_eq(bl_header(resp, "Content-Type", v, sizeof v), "application/json");
    ck_assert_str_eq(bl_header(resp, "Cache-Control", v, sizeof v), "no-store");
    snprintf(pid, sizeof pid, "\"pid\":%ld,", (long)getpid());
    const char *b = bl_body(resp);
    ck_assert_msg(strstr(b, "\"workers\":[{\"index\":0,") && strstr(b, pid), "%s", b);
    ck_assert_ptr_null(strstr(b, "\"frontend\""));
}
END_TEST

START_TEST(scoreboard_as_untrusted_data)
{
    write_sb(0);
    bl_get(fd, "/st", resp, sizeof resp);
    ck_assert_int_eq(bl_status(resp), 200);
    const char *b = bl_body(resp);
    ck_assert_msg(strstr(b, "\"frontend\":{\"pid\":4242,\"slots\":3,\"busy\":[{\"state\":"
                            "\"relay\",\"pid\":77,\"client\":\"192.0.2.7\",\"port\":40000,"),
                  "%s", b);
    /* the vhost: escaped, and cut at its 64 bytes */
    char want[128] = "\"vhost\":\"a\\\"b\\\\c\\u000a";
    for (int i = 6; i < 64; i++)
        strcat(want, "v");
    strcat(want, "\",");
    ck_assert_msg(strstr(b, want), "%s", b);
    ck_assert_ptr_null(strstr(b, "},{\"state\"")); /* one busy slot only */
    ck_assert_msg(strstr(b, "\"idle\":1") && strstr(b, "\"relay\":1"), "%s", b);
}
END_TEST

START_TEST(truncated_or_missing_scoreboard)
{
    write_sb(sizeof(struct bx_sb_header) + 10); /* the header promises 3 slots */
    bl_get(fd, "/st", resp, sizeof resp);
    ck_assert_int_eq(bl_status(resp), 200);
    ck_assert_msg(strstr(bl_body(resp), "\"frontend\":{\"error\":"), "%s", bl_body(resp));
    write_sb(8); /* not even a header */
    bl_get(fd, "/st", resp, sizeof resp);
    ck_assert_msg(strstr(bl_body(resp), "\"frontend\":{\"error\":"), "%s", bl_body(resp));
    bl_get(fd, "/gone", resp, sizeof resp);
    ck_assert_int_eq(bl_status(resp), 200);
    ck_assert_msg(strstr(bl_body(resp), "\"frontend\":{\"error\":\"No such file or directory\"}"),
                  "%s", bl_body(resp));
}
END_TEST

Suite *suite_status(void);
Suite *suite_status(void)
{
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, up, down);
    tcase_add_test(tc, worker_counters);
    tcase_add_test(tc, scoreboard_as_untrusted_data);
    tcase_add_test(tc, truncated_or_missing_scoreboard);
    suite_add_tcase(s, tc);
    return s;
}
