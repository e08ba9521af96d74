/* SPDX-License-Identifier: BSD-2-Clause */
/* The growable byte buffer (see buf.h): appends, formatted appends with a
 * bounded retry, and reads/writes between a buffer and a descriptor. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xalloc.h"

void bx_buf_init(struct bx_buf *b)
{
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

void bx_buf_free(struct bx_buf *b)
{
    free(b->data);
    bx_buf_init(b);
}

void bx_buf_reserve(struct bx_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    /* Reclaim consumed space first: cheaper than growing. */
    if (b->off > 0) {
        size_t unread = b->len - b->off;
        memmove(b->data, b->data + b->off, unread);
        b->off = 0;
        b->len = unread;
        if (b->cap - b->len >= extra)
            return;
    }
    size_t need = b->len + extra;
    if (need < b->len)
        abort(); /* size_t overflow: callers bound their sizes */
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    b->data = bx_xrealloc(b->data, cap);
    b->cap = cap;
}

void bx_buf_append(struct bx_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    bx_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void bx_buf_append_str(struct bx_buf *b, const char *s)
{
    bx_buf_append(b, s, strlen(s));
}

void bx_buf_vprintf(struct bx_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    bx_buf_reserve(b, 128);
    int n = vsnprintf(bx_buf_wpos(b), bx_buf_space(b), fmt, ap);
    if (n >= 0 && (size_t)n >= bx_buf_space(b)) {
        bx_buf_reserve(b, (size_t)n + 1);
        n = vsnprintf(bx_buf_wpos(b), bx_buf_space(b), fmt, ap2);
    }
    va_end(ap2);
    if (n > 0)
        b->len += (size_t)n;
}

void bx_buf_printf(struct bx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bx_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void bx_buf_consume(struct bx_buf *b, size_t n)
{
    if (n >= b->len - b->off)
        b->off = b->len = 0;
    else
        b->off += n;
}

void bx_buf_reset(struct bx_buf *b)
{
    b->off = b->len = 0;
}

ssize_t bx_buf_read_fd(struct bx_buf *b, int fd, size_t max)
{
    bx_buf_reserve(b, max);
    ssize_t n;
    do
        n = read(fd, bx_buf_wpos(b), max);
    while (n == -1 && errno == EINTR);
    if (n > 0)
        b->len += (size_t)n;
    return n;
}

ssize_t bx_buf_write_fd(struct bx_buf *b, int fd)
{
    if (bx_buf_unread(b) == 0)
        return 0;
    ssize_t n;
    do
        n = write(fd, bx_buf_rpos(b), bx_buf_unread(b));
    while (n == -1 && errno == EINTR);
    if (n > 0)
        bx_buf_consume(b, (size_t)n);
    return n;
}
