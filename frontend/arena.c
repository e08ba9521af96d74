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

static void *arena_alloc(size_t n)
{
    size_t body = (n + HDR - 1) & ~(size_t)(HDR - 1);
    size_t room = cur ? (size_t)(end - cur) : 0;
    if (!cur || body < n || room < HDR || room - HDR < body)
        return NULL;
    memcpy(cur, &n, sizeof n);
    void *p = cur + HDR;
    cur += HDR + body;
    return p;
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
    if (p)
        memcpy(p, old, had < n ? had : n);
    return p;
}

static void ossl_free(void *p, const char *file, int line)
{
    (void)file, (void)line;
    if (!in_arena(p))
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
