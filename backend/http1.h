/* SPDX-License-Identifier: BSD-2-Clause */
/* HTTP/1.1 request parsing, written for Bactrian (RFC 9112).
 *
 * Two steps. be_http_scan() looks at the bytes received so far, resumes where
 * it stopped last time, and says whether a complete request head is there,
 * or that the head is already too long or malformed (so bytes may arrive
 * split anywhere and a slow client costs a constant amount of work per byte).
 * be_http_parse() then parses a complete head, NUL-terminating its parts in
 * place, and applies the framing and smuggling rules. Bodies are read with
 * Content-Length by the caller or with the incremental chunked decoder.
 *
 * Errors are HTTP status codes: 400 bad syntax, 414 request line too long,
 * 431 header too large or too many, 413 body too large, 417 unknown
 * expectation, 501 unknown transfer coding, 505 unsupported version. */
#ifndef BACTRIAN_BACKEND_HTTP1_H
#define BACTRIAN_BACKEND_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct be_http_limits {
    size_t max_request_line;  /* without CRLF */
    size_t max_header_size;   /* all header lines together, CRLFs included */
    size_t max_headers;
    int64_t max_body;
};

/* Scanner state; zero it (BE_HTTP_SCAN_INIT) before each request. */
struct be_http_scan {
    size_t pos;               /* next byte to look at */
    size_t line_start;
    size_t headers_start;     /* 0 until the request line is complete */
    size_t nheaders;
    unsigned empty_lines;     /* CRLFs before the request line */
};
#define BE_HTTP_SCAN_INIT {0, 0, 0, 0, 0}

/* Returns 0 when more bytes are needed, a positive head length (the CRLFCRLF
 * included) when a head is complete, or -status. */
long be_http_scan(struct be_http_scan *s, const char *buf, size_t len,
                  const struct be_http_limits *lim);

struct be_http_header {
    const char *name;
    const char *value;
    uint32_t name_len;
    uint32_t value_len;
};

struct be_http_req {
    const char *method;       /* all strings NUL-terminated, inside the head */
    unsigned method_bit;      /* BM_GET ... from bactrian/module.h */
    const char *target;
    char *path;               /* decoded, dot segments removed (separate storage) */
    const char *query;        /* NULL when none */
    int minor;                /* HTTP/1.0 or 1.1 */
    struct be_http_header *headers;
    size_t nheaders, capheaders;
    char host[256];           /* lower case, without port; "" when absent */
    int64_t content_length;   /* -1 when absent */
    bool chunked;
    bool keep_alive;          /* after Connection and version */
    bool expect_continue;
    bool upgrade_websocket;   /* Upgrade: websocket with Connection: upgrade */
    bool encoded_slash;
    size_t pathcap;
};

void be_http_req_init(struct be_http_req *r);
void be_http_req_free(struct be_http_req *r);

/* Parses a complete head (as found by be_http_scan) in place. Returns 0 or a
 * status code. */
int be_http_parse(struct be_http_req *r, char *head, size_t len, const struct be_http_limits *lim);

/* Decodes %XX and removes dot segments from the path part of a target into
 * out (capacity n + 1). Returns the length, or -1 for a path that is invalid
 * (bad escape, %00, or ".." above the root). */
long be_http_normalize_path(const char *p, size_t n, char *out, bool *encoded_slash);

const char *be_http_header(const struct be_http_req *r, const char *name);

/* Incremental chunked body decoder. */
struct be_chunked {
    int state;
    uint64_t remaining;       /* bytes left in the current chunk */
    size_t line;              /* bytes in the current size/extension/trailer line */
    size_t trailer_bytes;
    unsigned digits;
};
#define BE_CHUNKED_INIT {0, 0, 0, 0, 0}

/* Consumes what it can of in[0..len) (*used says how much), appending data to
 * body. Returns 0 for more input, 1 when the body (and trailers) ended, or
 * -status. */
int be_chunked_decode(struct be_chunked *c, const char *in, size_t len, size_t *used,
                      struct bx_buf *body, const struct be_http_limits *lim);

/* Reason phrase for a status code ("Not Found"). */
const char *be_http_reason(int status);
/* Formats an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into out[30]. */
void be_http_date(int64_t t, char out[30]);
/* Parses an IMF-fixdate (and the two obsolete forms); -1 when invalid. */
int64_t be_http_parse_date(const char *s);

#endif
