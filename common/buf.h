/* SPDX-License-Identifier: BSD-2-Clause */
/* A growable byte buffer with a read offset: data lives in [off, len) of
 * [0, cap). Producers append at the end, consumers advance off; compaction
 * moves unread bytes to the front only when space runs out, so the common
 * case (everything consumed) costs nothing. */
#ifndef BACTRIAN_COMMON_BUF_H
#define BACTRIAN_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

struct bx_buf {
    char *data;
    size_t off; /* first unread byte */
    size_t len; /* end of data */
    size_t cap;
};

#define BX_BUF_INIT {NULL, 0, 0, 0}

void bx_buf_init(struct bx_buf *b);
void bx_buf_free(struct bx_buf *b);
/* Makes room for at least extra bytes after len. */
void bx_buf_reserve(struct bx_buf *b, size_t extra);
void bx_buf_append(struct bx_buf *b, const void *p, size_t n);
void bx_buf_append_str(struct bx_buf *b, const char *s);
void bx_buf_printf(struct bx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bx_buf_vprintf(struct bx_buf *b, const char *fmt, va_list ap);
/* Marks n unread bytes as consumed; resets to empty when all are. */
void bx_buf_consume(struct bx_buf *b, size_t n);
void bx_buf_reset(struct bx_buf *b);
/* Reads at most max bytes from fd into the buffer. Returns what read(2) did. */
ssize_t bx_buf_read_fd(struct bx_buf *b, int fd, size_t max);
/* Writes unread bytes to fd, consuming what was written. Returns what write(2) did. */
ssize_t bx_buf_write_fd(struct bx_buf *b, int fd);

static inline char *bx_buf_rpos(const struct bx_buf *b)
{
    return b->data + b->off;
}
static inline size_t bx_buf_unread(const struct bx_buf *b)
{
    return b->len - b->off;
}
static inline char *bx_buf_wpos(const struct bx_buf *b)
{
    return b->data + b->len;
}
static inline size_t bx_buf_space(const struct bx_buf *b)
{
    return b->cap - b->len;
}

#endif
