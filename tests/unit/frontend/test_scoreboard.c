/* Scoreboard: slot states, per-IP counting, ticket keys, connection ids. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/scoreboard.h"

static struct sockaddr_storage v4(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    s->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &s->sin_addr);
    return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    s->sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip, &s->sin6_addr);
    return ss;
}

START_TEST(slot_states)
{
    struct fe_scoreboard *sb = fe_scoreboard_create(4);
    ck_assert_ptr_nonnull(sb);
    ck_assert_int_eq(fe_scoreboard_claim(sb), 0);
    fe_slot_set(&sb->slots[0], FE_SLOT_IDLE);
    sb->slots[0].pid = 42;
    ck_assert_int_eq(fe_scoreboard_claim(sb), 1);
    ck_assert(fe_slot_cas(&sb->slots[0], FE_SLOT_IDLE, FE_SLOT_HANDSHAKE));
    ck_assert(!fe_slot_cas(&sb->slots[0], FE_SLOT_IDLE, FE_SLOT_RETIRING));
    ck_assert_str_eq(fe_slot_state_name(fe_slot_get(&sb->slots[0])), "handshake");
    fe_scoreboard_destroy(sb);
}
END_TEST

START_TEST(per_ip_counts_busy_slots_and_mapped_addresses)
{
    struct fe_scoreboard *sb = fe_scoreboard_create(5);
    struct sockaddr_storage a = v4("192.0.2.1"), m = v6("::ffff:192.0.2.1"), b = v6("2001:db8::1");
    fe_slot_set_client(&sb->slots[0], (struct sockaddr *)&a);
    fe_slot_set(&sb->slots[0], FE_SLOT_RELAY);
    fe_slot_set_client(&sb->slots[1], (struct sockaddr *)&m);
    fe_slot_set(&sb->slots[1], FE_SLOT_HANDSHAKE);
    fe_slot_set_client(&sb->slots[2], (struct sockaddr *)&a);
    fe_slot_set(&sb->slots[2], FE_SLOT_IDLE); /* stale address of an idle slot */
    fe_slot_set_client(&sb->slots[3], (struct sockaddr *)&b);
    fe_slot_set(&sb->slots[3], FE_SLOT_RELAY);
    ck_assert_uint_eq(fe_scoreboard_count_ip(sb, (struct sockaddr *)&a, NULL), 2);
    ck_assert_uint_eq(fe_scoreboard_count_ip(sb, (struct sockaddr *)&a, &sb->slots[0]), 1);
    ck_assert_uint_eq(fe_scoreboard_count_ip(sb, (struct sockaddr *)&b, NULL), 1);
    struct sockaddr_storage c = v6("2001:db8::2");
    ck_assert_uint_eq(fe_scoreboard_count_ip(sb, (struct sockaddr *)&c, NULL), 0);
    fe_scoreboard_destroy(sb);
}
END_TEST

/* Processes released at the same moment race to admit clients of one
 * address: however they interleave, exactly max get in. Without the lock,
 * count-then-publish lets more through within a few rounds. */
START_TEST(per_ip_admission_is_atomic)
{
    enum { PROCS = 8, MAX = 3, ROUNDS = 30 };
    struct sockaddr_storage a = v4("198.51.100.4");
    int *go = mmap(NULL, sizeof *go, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(go, MAP_FAILED);
    for (int round = 0; round < ROUNDS; round++) {
        struct fe_scoreboard *sb = fe_scoreboard_create(PROCS);
        ck_assert_ptr_nonnull(sb);
        __atomic_store_n(go, 0, __ATOMIC_SEQ_CST);
        pid_t pids[PROCS];
        for (int i = 0; i < PROCS; i++) {
            fe_slot_set(&sb->slots[i], FE_SLOT_HANDSHAKE);
            pids[i] = fork();
            ck_assert_int_ne(pids[i], -1);
            if (pids[i] == 0) {
                while (!__atomic_load_n(go, __ATOMIC_ACQUIRE))
                    sched_yield();
                _exit(fe_scoreboard_admit_ip(sb, &sb->slots[i], (struct sockaddr *)&a, MAX));
            }
        }
        __atomic_store_n(go, 1, __ATOMIC_SEQ_CST);
        int admitted = 0;
        for (int i = 0; i < PROCS; i++) {
            int st;
            ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
            ck_assert(WIFEXITED(st));
            admitted += WEXITSTATUS(st);
        }
        ck_assert_int_eq(admitted, MAX);
        ck_assert_uint_eq(fe_scoreboard_count_ip(sb, (struct sockaddr *)&a, NULL), MAX);
        ck_assert_int_eq(sb->ip_lock, 0);
        fe_scoreboard_destroy(sb);
    }
    munmap(go, sizeof *go);
}
END_TEST

/* A lock left by a process killed while holding it is taken over. */
START_TEST(per_ip_lock_of_dead_owner_is_taken_over)
{
    struct fe_scoreboard *sb = fe_scoreboard_create(2);
    struct sockaddr_storage a = v4("198.51.100.5");
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    sb->ip_lock = (int)p; /* a pid that no longer runs */
    fe_slot_set(&sb->slots[0], FE_SLOT_HANDSHAKE);
    ck_assert(fe_scoreboard_admit_ip(sb, &sb->slots[0], (struct sockaddr *)&a, 1));
    ck_assert_int_eq(sb->ip_lock, 0);
    fe_slot_set(&sb->slots[1], FE_SLOT_HANDSHAKE);
    ck_assert(!fe_scoreboard_admit_ip(sb, &sb->slots[1], (struct sockaddr *)&a, 1));
    ck_assert(fe_scoreboard_admit_ip(sb, &sb->slots[1], (struct sockaddr *)&a, 0));
    fe_scoreboard_destroy(sb);
}
END_TEST

START_TEST(ticket_rotation_keeps_previous)
{
    struct fe_tickets *t = fe_tickets_create();
    struct fe_ticket_key k[2], k2[2];
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(fe_tickets_rotate(t), 0);
    fe_tickets_get(t, k);
    ck_assert_int_eq(fe_tickets_rotate(t), 0);
    fe_tickets_get(t, k2);
    ck_assert_mem_eq(k2[1].name, k[0].name, 16);
    ck_assert_mem_eq(k2[1].aes, k[0].aes, 32);
    ck_assert(memcmp(k2[0].name, k[0].name, 16) != 0);
    ck_assert_uint_eq(t->seq % 2, 0);
    fe_tickets_destroy(t);
}
END_TEST

/* A file scoreboard: mode 0640, the header a reader checks, replaced whole
 * (a reader of the old file keeps a valid mapping), and no key material. */
START_TEST(file_scoreboard_header_and_replace)
{
    char dir[] = "/tmp/bx-sb-XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/scoreboard", dir);
    struct fe_scoreboard *a = fe_scoreboard_create_file(3, path, (uid_t)-1, (gid_t)-1);
    ck_assert_ptr_nonnull(a);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0640);
    ck_assert_uint_eq((size_t)st.st_size, fe_scoreboard_size(3));
    ck_assert_uint_eq(a->magic, FE_SB_MAGIC);
    ck_assert_uint_eq(a->version, FE_SB_VERSION);
    ck_assert_uint_eq(a->slot_size, sizeof(struct fe_slot));
    ck_assert_uint_eq(a->header_size, sizeof(struct fe_scoreboard));
    ck_assert_uint_eq(a->nslots, 3);
    ck_assert_int_eq(a->master_pid, getpid());
    ino_t old = st.st_ino;
    struct fe_scoreboard *b = fe_scoreboard_create_file(5, path, (uid_t)-1, (gid_t)-1);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_ne(st.st_ino, old);
    ck_assert_uint_eq((size_t)st.st_size, fe_scoreboard_size(5));
    a->slots[2].pid = 7; /* the old mapping stays usable */
    fe_scoreboard_destroy(a);
    fe_scoreboard_destroy(b);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0); /* no temporary file left behind */
    ck_assert_ptr_null(fe_scoreboard_create_file(1, "/nonexistent-dir/sb", (uid_t)-1,
                                                 (gid_t)-1));
}
END_TEST

START_TEST(connection_ids_unique)
{
    struct fe_scoreboard *sb = fe_scoreboard_create(1);
    char a[24], b[24];
    fe_scoreboard_conn_id(sb, a, sizeof a);
    fe_scoreboard_conn_id(sb, b, sizeof b);
    ck_assert_str_ne(a, b);
    ck_assert_uint_eq(strlen(a), 19);
    fe_scoreboard_destroy(sb);
}
END_TEST

Suite *suite_fe_scoreboard(void);
Suite *suite_fe_scoreboard(void)
{
    Suite *s = suite_create("fe_scoreboard");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, slot_states);
    tcase_add_test(tc, per_ip_counts_busy_slots_and_mapped_addresses);
    tcase_add_test(tc, per_ip_admission_is_atomic);
    tcase_add_test(tc, per_ip_lock_of_dead_owner_is_taken_over);
    tcase_add_test(tc, ticket_rotation_keeps_previous);
    tcase_add_test(tc, file_scoreboard_header_and_replace);
    tcase_add_test(tc, connection_ids_unique);
    suite_add_tcase(s, tc);
    return s;
}
