/* SPDX-License-Identifier: BSD-2-Clause */
/* Scoreboard: slot states, per-IP counting, children's read-only views,
 * ticket keys (read-only in children, never an inconsistent copy),
 * connection ids. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frontend/scoreboard.h"
#include "frontend/tls.h"

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

#define SLOT(sb, i) fe_sb_slot((sb), (i))

START_TEST(slot_states)
{
    struct fe_scoreboard *sb = fe_scoreboard_create(4);
    ck_assert_ptr_nonnull(sb);
    ck_assert_ptr_nonnull(SLOT(sb, 3));
    ck_assert_ptr_null(SLOT(sb, 4));
    ck_assert_ptr_null(SLOT(sb, (size_t)-1));
    fe_slot_set(SLOT(sb, 0), FE_SLOT_IDLE);
    ck_assert(fe_slot_cas(SLOT(sb, 0), FE_SLOT_IDLE, FE_SLOT_HANDSHAKE));
    ck_assert(!fe_slot_cas(SLOT(sb, 0), FE_SLOT_IDLE, FE_SLOT_RETIRING));
    ck_assert_str_eq(fe_slot_state_name(fe_slot_get(SLOT(sb, 0))), "handshake");
    ck_assert_str_eq(fe_slot_state_name(99), "?");
    ck_assert_str_eq(fe_slot_state_name(-1), "?");
    fe_scoreboard_destroy(sb);
}
END_TEST

START_TEST(per_ip_counts_busy_slots_and_mapped_addresses)
{
    struct fe_scoreboard *sb = fe_scoreboard_create(5);
    struct sockaddr_storage a = v4("192.0.2.1"), m = v6("::ffff:192.0.2.1"), b = v6("2001:db8::1");
    fe_slot_set_client(SLOT(sb, 0), (struct sockaddr *)&a);
    fe_slot_set(SLOT(sb, 0), FE_SLOT_RELAY);
    fe_slot_set_client(SLOT(sb, 1), (struct sockaddr *)&m);
    fe_slot_set(SLOT(sb, 1), FE_SLOT_HANDSHAKE);
    fe_slot_set_client(SLOT(sb, 2), (struct sockaddr *)&a);
    fe_slot_set(SLOT(sb, 2), FE_SLOT_IDLE); /* stale address of an idle slot */
    fe_slot_set_client(SLOT(sb, 3), (struct sockaddr *)&b);
    fe_slot_set(SLOT(sb, 3), FE_SLOT_RELAY);
    ck_assert_uint_eq(fe_scoreboard_count_ip(sb, (struct sockaddr *)&a, NULL), 2);
    ck_assert_uint_eq(fe_scoreboard_count_ip(sb, (struct sockaddr *)&a, SLOT(sb, 0)), 1);
    ck_assert_uint_eq(fe_scoreboard_count_ip(sb, (struct sockaddr *)&b, NULL), 1);
    struct sockaddr_storage c = v6("2001:db8::2");
    ck_assert_uint_eq(fe_scoreboard_count_ip(sb, (struct sockaddr *)&c, NULL), 0);
    /* The slot count in the shared header is not what the counting uses. */
    sb->hdr->nslots = (uint64_t)1 << 40;
    ck_assert_uint_eq(fe_scoreboard_count_ip(sb, (struct sockaddr *)&a, NULL), 2);
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
            fe_slot_set(SLOT(sb, (size_t)i), FE_SLOT_HANDSHAKE);
            pids[i] = fork();
            ck_assert_int_ne(pids[i], -1);
            if (pids[i] == 0) {
                if (fe_scoreboard_child(sb, (size_t)i) == -1)
                    _exit(9);
                while (!__atomic_load_n(go, __ATOMIC_ACQUIRE))
                    sched_yield();
                _exit(fe_scoreboard_admit_ip(sb, SLOT(sb, (size_t)i), (struct sockaddr *)&a, MAX,
                                             NULL) == FE_ADMIT_OK);
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
        ck_assert_int_eq(fe_scoreboard_lock_holder(sb), 0);
        fe_scoreboard_destroy(sb);
    }
    munmap(go, sizeof *go);
}
END_TEST

/* A child that holds the lock, for the tests below: takes it, says so on
 * the pipe, waits to be killed. */
static pid_t lock_holder_child(struct fe_scoreboard *sb)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        char c = fe_scoreboard_lock_try(sb) == 0 ? 'y' : 'n';
        if (write(p[1], &c, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    char c = 0;
    ck_assert_int_eq(read(p[0], &c, 1), 1);
    ck_assert_int_eq(c, 'y');
    close(p[0]);
    close(p[1]);
    return pid;
}

/* The lock is the kernel's: it names its real holder, and a holder that
 * dies (killed while holding it) frees it without anyone's help. */
START_TEST(per_ip_lock_of_dead_owner_is_freed)
{
    struct fe_scoreboard *sb = fe_scoreboard_create(2);
    struct sockaddr_storage a = v4("198.51.100.5");
    ck_assert_int_eq(fe_scoreboard_lock_holder(sb), 0);
    pid_t pid = lock_holder_child(sb);
    ck_assert_int_eq(fe_scoreboard_lock_holder(sb), pid);
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    ck_assert_int_eq(fe_scoreboard_lock_holder(sb), 0);
    fe_slot_set(SLOT(sb, 0), FE_SLOT_HANDSHAKE);
    ck_assert_int_eq(fe_scoreboard_admit_ip(sb, SLOT(sb, 0), (struct sockaddr *)&a, 1, NULL),
                     FE_ADMIT_OK);
    ck_assert_int_eq(fe_scoreboard_lock_holder(sb), 0);
    fe_slot_set(SLOT(sb, 1), FE_SLOT_HANDSHAKE);
    ck_assert_int_eq(fe_scoreboard_admit_ip(sb, SLOT(sb, 1), (struct sockaddr *)&a, 1, NULL),
                     FE_ADMIT_LIMIT);
    ck_assert_int_eq(fe_scoreboard_admit_ip(sb, SLOT(sb, 1), (struct sockaddr *)&a, 0, NULL),
                     FE_ADMIT_OK);
    fe_scoreboard_destroy(sb);
}
END_TEST

/* A child gone bad holds the lock forever: a waiter gives up after a
 * bounded time with a clear result naming the holder, and does not count
 * or publish. */
START_TEST(per_ip_lock_held_forever_times_out)
{
    struct fe_scoreboard *sb = fe_scoreboard_create(2);
    struct sockaddr_storage a = v4("198.51.100.6");
    pid_t pid = lock_holder_child(sb);
    fe_slot_set(SLOT(sb, 0), FE_SLOT_HANDSHAKE);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int holder = 0;
    ck_assert_int_eq(fe_scoreboard_admit_ip(sb, SLOT(sb, 0), (struct sockaddr *)&a, 5, &holder),
                     FE_ADMIT_LOCK_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_int_ge(ms, FE_IP_LOCK_WAIT_MS - 10);
    ck_assert_int_lt(ms, FE_IP_LOCK_WAIT_MS * 10);
    ck_assert_int_eq(holder, pid);
    ck_assert_int_eq(SLOT(sb, 0)->family, 0);            /* not published */
    ck_assert_int_eq(fe_scoreboard_lock_holder(sb), pid); /* and not stolen */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fe_scoreboard_destroy(sb);
}
END_TEST

START_TEST(ticket_rotation_keeps_previous)
{
    struct fe_tickets *t = fe_tickets_create();
    struct fe_ticket_key k[2], k2[2];
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(fe_tickets_rotate(t), 0);
    ck_assert_int_eq(fe_tickets_get(t, k), 0);
    ck_assert_int_eq(fe_tickets_rotate(t), 0);
    ck_assert_int_eq(fe_tickets_get(t, k2), 0);
    ck_assert_mem_eq(k2[1].name, k[0].name, 16);
    ck_assert_mem_eq(k2[1].aes, k[0].aes, 32);
    ck_assert(memcmp(k2[0].name, k[0].name, 16) != 0);
    ck_assert_uint_eq(t->page->seq % 2, 0);
    fe_tickets_destroy(t);
}
END_TEST

/* A file scoreboard: mode 0440, the header of common/sbfile.h that the
 * reader accepts, replaced whole (a reader of the old file keeps a valid
 * mapping), and no key material. */
START_TEST(file_scoreboard_header_and_replace)
{
    char dir[] = "/tmp/bx-sb-XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/scoreboard", dir);
    struct fe_scoreboard *a = fe_scoreboard_create_file(3, path, (uid_t)-1, (gid_t)-1);
    ck_assert_ptr_nonnull(a);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0440);
    ck_assert_uint_eq((size_t)st.st_size, fe_scoreboard_size(3));
    const struct bx_sb_header *h = a->hdr;
    ck_assert_uint_eq(h->magic, BX_SB_MAGIC);
    ck_assert_uint_eq(h->version, BX_SB_VERSION);
    ck_assert_uint_eq(h->slot_size, (size_t)sysconf(_SC_PAGESIZE));
    ck_assert_uint_eq(h->header_size, (size_t)sysconf(_SC_PAGESIZE));
    ck_assert_uint_eq(h->nslots, 3);
    ck_assert_int_eq(h->master_pid, getpid());
    struct bx_sb_header got;
    ck_assert_ptr_null(bx_sbfile_check(a->hdr, (size_t)st.st_size, &got));
    ck_assert_uint_eq(got.nslots, 3);
    ck_assert_ptr_eq(bx_sbfile_slot(a->hdr, &got, 2), SLOT(a, 2));
    ino_t old = st.st_ino;
    struct fe_scoreboard *b = fe_scoreboard_create_file(5, path, (uid_t)-1, (gid_t)-1);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_ne(st.st_ino, old);
    ck_assert_uint_eq((size_t)st.st_size, fe_scoreboard_size(5));
    SLOT(a, 2)->pid = 7; /* the old mapping stays usable */
    fe_scoreboard_destroy(a);
    fe_scoreboard_destroy(b);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0); /* no temporary file left behind */
    ck_assert_ptr_null(fe_scoreboard_create_file(1, "/nonexistent-dir/sb", (uid_t)-1, (gid_t)-1));
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

/* Runs fn(arg) in a forked process; its wait status. */
static int in_child(int (*fn)(void *), void *arg)
{
    pid_t p = fork();
    ck_assert_int_ne(p, -1);
    if (p == 0)
        _exit(fn(arg));
    int st;
    ck_assert_int_eq(waitpid(p, &st, 0), p);
    return st;
}

static bool segv(int st)
{
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
}

/* A fault the test expects kills the process, even under ASan's handler. */
static void expect_fault(void)
{
    signal(SIGSEGV, SIG_DFL);
}

/* Exit codes: 0 all as expected, else the number of the failed check. */
static int own_slot_writable(void *arg)
{
    struct fe_scoreboard *sb = arg;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    char *rw = sb->shm.p;
    if (fe_scoreboard_child(sb, 1) == -1)
        return 1;
    SLOT(sb, 1)->bytes_in = 77; /* our own slot */
    if (SLOT(sb, 0)->bytes_in != 5 || sb->hdr->nslots != 3 || SLOT(sb, 1)->bytes_in != 77)
        return 2; /* the rest still reads, our own slot through the view too */
    /* A child that runs an attacker's code cannot make the rest writable... */
    if (mprotect(sb->hdr, pg, PROT_READ | PROT_WRITE) != -1 || errno != EACCES)
        return 3;
    if (mprotect(SLOT(sb, 0), pg, PROT_READ | PROT_WRITE) != -1 || errno != EACCES)
        return 4;
    if (mprotect(SLOT(sb, 2), pg, PROT_READ | PROT_WRITE) != -1 || errno != EACCES)
        return 5;
    /* ... nor grow or copy its own writable slot over the next ones. */
    if (fe_shm_can_seal()) {
        if (mremap(SLOT(sb, 1), pg, 2 * pg, MREMAP_MAYMOVE) != MAP_FAILED)
            return 6;
        if (mremap(SLOT(sb, 1), 0, 2 * pg, MREMAP_MAYMOVE) != MAP_FAILED)
            return 7;
        if (munmap(SLOT(sb, 1), pg) != -1)
            return 8;
    }
    /* The master's writable mapping of the others is gone. */
    if (msync(rw, pg, MS_ASYNC) != -1 || errno != ENOMEM)
        return 9;
    return 0;
}

static int write_other_slot(void *arg)
{
    struct fe_scoreboard *sb = arg;
    if (fe_scoreboard_child(sb, 1) == -1)
        return 1;
    expect_fault();
    SLOT(sb, 2)->pid = 1;
    return 0;
}

static int write_header(void *arg)
{
    struct fe_scoreboard *sb = arg;
    if (fe_scoreboard_child(sb, 1) == -1)
        return 1;
    expect_fault();
    sb->hdr->nslots = (uint64_t)1 << 40;
    return 0;
}

static void child_views(struct fe_scoreboard *sb)
{
    ck_assert_ptr_nonnull(sb);
    SLOT(sb, 0)->bytes_in = 5;
    ck_assert_int_eq(in_child(own_slot_writable, sb), 0);
    ck_assert_uint_eq(SLOT(sb, 1)->bytes_in, 77);
    ck_assert(segv(in_child(write_other_slot, sb)));
    ck_assert(segv(in_child(write_header, sb)));
    ck_assert_int_eq(SLOT(sb, 2)->pid, 0);
    ck_assert_uint_eq(sb->hdr->nslots, 3);
    fe_scoreboard_destroy(sb);
}

/* After fork a child can write its own slot and nothing else of the
 * scoreboard, and cannot mprotect its way back to writing the rest. */
START_TEST(child_writes_only_its_own_slot)
{
    child_views(fe_scoreboard_create(3));
    char dir[] = "/tmp/bx-sb-XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/scoreboard", dir);
    child_views(fe_scoreboard_create_file(3, path, (uid_t)-1, (gid_t)-1));
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

struct tk_arg {
    struct fe_tickets *t;
    int pipe_rd;
};

static int tickets_read_only(void *arg)
{
    struct tk_arg *a = arg;
    struct fe_ticket_key k[2];
    unsigned char want[16];
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    /* The master's writable mapping was not inherited; the view stays read-only. */
    if (msync(a->t->page, pg, MS_ASYNC) != -1 || errno != ENOMEM)
        return 1;
    if (mprotect((void *)a->t->view, pg, PROT_READ | PROT_WRITE) != -1 || errno != EACCES)
        return 2;
    /* The master's rotation after the fork is seen through the view. */
    if (read(a->pipe_rd, want, sizeof want) != (ssize_t)sizeof want)
        return 3;
    if (fe_tickets_get(a->t, k) == -1 || memcmp(k[0].name, want, 16) != 0)
        return 4;
    expect_fault();
    ((struct fe_ticket_page *)a->t->view)->key[0].name[0] ^= 1; /* must fault */
    return 5;
}

/* Children read the ticket keys through a view they cannot make writable. */
START_TEST(ticket_keys_read_only_in_children)
{
    struct fe_tickets *t = fe_tickets_create();
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(fe_tickets_rotate(t), 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    struct tk_arg a = {.t = t, .pipe_rd = p[0]};
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0)
        _exit(tickets_read_only(&a));
    ck_assert_int_eq(fe_tickets_rotate(t), 0);
    ck_assert_int_eq(write(p[1], t->page->key[0].name, 16), 16);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(segv(st), "status %x", st);
    close(p[0]);
    close(p[1]);
    fe_tickets_destroy(t);
}
END_TEST

/* No keys yet, or a write that never ends (the count stays odd): no copy,
 * an error, and the output wiped rather than half old, half new. */
START_TEST(tickets_inconsistent_read_fails)
{
    struct fe_tickets *t = fe_tickets_create();
    struct fe_ticket_key k[2];
    memset(k, 0xaa, sizeof k);
    ck_assert_int_eq(fe_tickets_get(t, k), -1);
    unsigned char zero[sizeof k];
    memset(zero, 0, sizeof zero);
    ck_assert_mem_eq(k, zero, sizeof k);
    ck_assert_int_eq(fe_tickets_rotate(t), 0);
    ck_assert_int_eq(fe_tickets_get(t, k), 0);
    t->page->seq |= 1; /* a writer stopped mid-write */
    memset(k, 0xaa, sizeof k);
    ck_assert_int_eq(fe_tickets_get(t, k), -1);
    ck_assert_mem_eq(k, zero, sizeof k);
    fe_tickets_destroy(t);
}
END_TEST

static int call_ticket_cb(unsigned char name[16], int enc)
{
    unsigned char iv[16] = {0};
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *h = EVP_MAC_CTX_new(mac);
    int rc = fe_tls_ticket_cb(NULL, name, iv, c, h, enc);
    EVP_MAC_CTX_free(h);
    EVP_MAC_free(mac);
    EVP_CIPHER_CTX_free(c);
    return rc;
}

/* The ticket callback with keys it cannot read: no ticket is made (and no
 * stack bytes go out as its key name), a ticket offered by a client gets a
 * full handshake. With keys, the current key's name goes out. */
START_TEST(ticket_callback_without_consistent_keys)
{
    struct fe_tickets *t = fe_tickets_create();
    ck_assert_int_eq(fe_tickets_rotate(t), 0);
    fe_tls_set_ticket_source(t);
    unsigned char name[16], cur[16];
    memcpy(cur, t->page->key[0].name, 16);
    ck_assert_int_eq(call_ticket_cb(name, 1), 1);
    ck_assert_mem_eq(name, cur, 16);
    ck_assert_int_eq(call_ticket_cb(name, 0), 1);
    t->page->seq |= 1;
    unsigned char sentinel[16];
    memset(sentinel, 0x5c, sizeof sentinel);
    memcpy(name, sentinel, 16);
    ck_assert_int_eq(call_ticket_cb(name, 1), 0);
    ck_assert_mem_eq(name, sentinel, 16);
    memcpy(name, cur, 16);
    ck_assert_int_eq(call_ticket_cb(name, 0), 0);
    fe_tls_set_ticket_source(NULL);
    fe_tickets_destroy(t);
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
    tcase_add_test(tc, per_ip_lock_of_dead_owner_is_freed);
    tcase_add_test(tc, per_ip_lock_held_forever_times_out);
    tcase_add_test(tc, child_writes_only_its_own_slot);
    tcase_add_test(tc, ticket_keys_read_only_in_children);
    tcase_add_test(tc, tickets_inconsistent_read_fails);
    tcase_add_test(tc, ticket_callback_without_consistent_keys);
    tcase_add_test(tc, ticket_rotation_keeps_previous);
    tcase_add_test(tc, file_scoreboard_header_and_replace);
    tcase_add_test(tc, connection_ids_unique);
    suite_add_tcase(s, tc);
    return s;
}
