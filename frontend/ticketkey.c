/* SPDX-License-Identifier: BSD-2-Clause */
/* Ticket keys from a shared secret; see ticketkey.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "frontend/ticketkey.h"

/* Room for the longest secret plus CRLF plus one byte that shows it is longer. */
#define READ_ROOM (FE_TICKET_SECRET_MAX + 3)

struct fe_ticket_secret {
    size_t len;
    unsigned owner;
    unsigned char b[READ_ROOM];
};

/* A page of its own: not inherited by any process the master forks (children,
 * the key process, the waiting room), not in core dumps. */
static struct fe_ticket_secret *secret_map(void)
{
    void *p = mmap(NULL, sizeof(struct fe_ticket_secret), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (madvise(p, sizeof(struct fe_ticket_secret), MADV_DONTFORK) == -1) {
        munmap(p, sizeof(struct fe_ticket_secret));
        return NULL;
    }
    (void)madvise(p, sizeof(struct fe_ticket_secret), MADV_DONTDUMP); /* best effort */
    return p;
}

void fe_ticket_secret_free(struct fe_ticket_secret *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, sizeof *s);
    munmap(s, sizeof *s);
}

unsigned fe_ticket_secret_owner(const struct fe_ticket_secret *s)
{
    return s->owner;
}

/* The file's kind and mode, checked on the open descriptor (no race with a
 * rename): a regular file nobody but its owner may read or write. */
static int check_file(int fd, const char *path, struct fe_ticket_secret *s, char *err,
                      size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) == -1) {
        snprintf(err, errlen, "ticket_secret_file %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "ticket_secret_file %s: not a regular file", path);
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen,
                 "ticket_secret_file %s: mode %04o lets others at the secret; "
                 "make it owner-only (chmod 600)",
                 path, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    s->owner = (unsigned)st.st_uid;
    return 0;
}

static int read_all(int fd, const char *path, struct fe_ticket_secret *s, char *err, size_t errlen)
{
    s->len = 0;
    while (s->len < READ_ROOM) {
        ssize_t n = read(fd, s->b + s->len, READ_ROOM - s->len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            snprintf(err, errlen, "ticket_secret_file %s: %s", path, strerror(errno));
            return -1;
        }
        if (n == 0)
            break;
        s->len += (size_t)n;
    }
    /* One trailing newline is not part of the secret: hosts whose copies
     * differ only in it (editors add one) still agree. */
    if (s->len && s->b[s->len - 1] == '\n')
        s->len--;
    if (s->len && s->b[s->len - 1] == '\r')
        s->len--;
    if (s->len < FE_TICKET_SECRET_MIN || s->len > FE_TICKET_SECRET_MAX) {
        snprintf(err, errlen,
                 "ticket_secret_file %s: %s (%d to %d bytes needed; e.g. "
                 "openssl rand -base64 48)",
                 path, s->len < FE_TICKET_SECRET_MIN ? "too short" : "too long",
                 FE_TICKET_SECRET_MIN, FE_TICKET_SECRET_MAX);
        return -1;
    }
    return 0;
}

struct fe_ticket_secret *fe_ticket_secret_load(const char *path, char *err, size_t errlen)
{
    struct fe_ticket_secret *s = secret_map();
    if (!s) {
        snprintf(err, errlen, "ticket_secret_file %s: cannot map a page for it: %s", path,
                 strerror(errno));
        return NULL;
    }
    /* O_NONBLOCK: a FIFO put there must not hang the open; fstat refuses it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd == -1) {
        snprintf(err, errlen, "ticket_secret_file %s: %s", path, strerror(errno));
        fe_ticket_secret_free(s);
        return NULL;
    }
    int rc = check_file(fd, path, s, err, errlen);
    if (rc == 0)
        rc = read_all(fd, path, s, err, errlen);
    close(fd);
    if (rc == -1) {
        fe_ticket_secret_free(s);
        return NULL;
    }
    return s;
}

/* HKDF-SHA256(salt = a fixed label, key = the secret, info = label and the
 * period as 8 big-endian bytes): 80 bytes, cut into the key's three parts. */
int fe_ticket_derive(const struct fe_ticket_secret *s, uint64_t period, struct fe_ticket_key *out)
{
    static const char salt[] = "bactrian session ticket keys v1";
    static const char label[] = "bactrian ticket period";
    unsigned char info[sizeof label - 1 + 8];
    unsigned char okm[sizeof out->name + sizeof out->aes + sizeof out->hmac];
    memcpy(info, label, sizeof label - 1);
    for (int i = 0; i < 8; i++)
        info[sizeof label - 1 + i] = (unsigned char)(period >> (56 - 8 * i));
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)s->b, s->len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, sizeof salt - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof info),
        OSSL_PARAM_construct_end(),
    };
    int ok = ctx && EVP_KDF_derive(ctx, okm, sizeof okm, params) == 1;
    EVP_KDF_CTX_free(ctx); /* wipes its copy of the key */
    EVP_KDF_free(kdf);
    if (ok) {
        memcpy(out->name, okm, sizeof out->name);
        memcpy(out->aes, okm + sizeof out->name, sizeof out->aes);
        memcpy(out->hmac, okm + sizeof out->name + sizeof out->aes, sizeof out->hmac);
    } else {
        OPENSSL_cleanse(out, sizeof *out);
    }
    OPENSSL_cleanse(okm, sizeof okm);
    return ok ? 0 : -1;
}

uint64_t fe_ticket_period(uint64_t now_ms, int rotate_ms)
{
    return now_ms / (uint64_t)rotate_ms;
}

int fe_ticket_publish(struct fe_tickets *t, const struct fe_ticket_secret *s, uint64_t period)
{
    struct fe_ticket_key k[2];
    int rc = -1;
    if (fe_ticket_derive(s, period, &k[0]) == 0 && fe_ticket_derive(s, period - 1, &k[1]) == 0)
        rc = fe_tickets_set(t, k);
    OPENSSL_cleanse(k, sizeof k);
    return rc;
}

__attribute__((weak)) uint64_t fe_ticket_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
