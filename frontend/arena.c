/* SPDX-License-Identifier: BSD-2-Clause */
/* OpenSSL allocations on a bump arena; see arena.h. */
#include "config.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "frontend/arena.h"

#define HDR 16 /* keeps blocks 16-byte aligned; holds the block's size */

static unsigned char *base, *cur, *end;

static bool in_arena(const void *p)
{
    return base && (const unsigned char *)p >= base && (const unsigned char *)p < end;
}

/* Freed blocks are kept per power-of-two size class and handed out again:
 * a handshake allocates and frees the same few sizes over and over. */
#define MIN_SHIFT 4
#define NCLASS 13 /* 16 B .. 64 KiB */
static void *freelist[NCLASS];

static int size_class(size_t n)
{
    int c = 0;
    while (c < NCLASS && ((size_t)1 << (c + MIN_SHIFT)) < n)
        c++;
    return c; /* NCLASS: too big for a class, bump only */
}

static void *arena_alloc(size_t n)
{
    int c = size_class(n);
    if (c < NCLASS && freelist[c]) {
        void *p = freelist[c];
        memcpy(&freelist[c], p, sizeof(void *));
        memcpy((unsigned char *)p - HDR, &n, sizeof n);
        return p;
    }
    size_t body = c < NCLASS ? (size_t)1 << (c + MIN_SHIFT) : (n + HDR - 1) & ~(size_t)(HDR - 1);
    size_t room = cur ? (size_t)(end - cur) : 0;
    if (!cur || body < n || room < HDR || room - HDR < body)
        return NULL;
    memcpy(cur, &n, sizeof n);
    void *p = cur + HDR;
    cur += HDR + body;
    return p;
}

static void arena_free(void *p)
{
    size_t n;
    memcpy(&n, (unsigned char *)p - HDR, sizeof n);
    int c = size_class(n);
    if (c == NCLASS)
        return; /* big blocks are rare (and the arena dies with the child) */
    memcpy(p, &freelist[c], sizeof(void *));
    freelist[c] = p;
}

static void *ossl_malloc(size_t n, const char *file, int line)
{
    (void)file, (void)line;
    void *p = cur ? arena_alloc(n) : NULL;
    return p ? p : malloc(n);
}

static void *ossl_realloc(void *old, size_t n, const char *file, int line)
{
    (void)file, (void)line;
    if (!old)
        return ossl_malloc(n, file, line);
    if (!in_arena(old))
        return realloc(old, n);
    size_t had;
    memcpy(&had, (unsigned char *)old - HDR, sizeof had);
    void *p = ossl_malloc(n, file, line);
    if (p) {
        memcpy(p, old, had < n ? had : n);
        arena_free(old);
    }
    return p;
}

static void ossl_free(void *p, const char *file, int line)
{
    (void)file, (void)line;
    if (!p)
        return;
    if (in_arena(p))
        arena_free(p);
    else
        free(p);
}

bool fe_arena_install(void)
{
    return CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) == 1;
}

bool fe_arena_use(size_t size)
{
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return false;
    base = cur = m;
    end = base + size;
    return true;
}
