/* SPDX-License-Identifier: BSD-2-Clause */
/* HTTP/1.1 request parser (see http1.h). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backend/http1.h"
#include "bactrian/module.h"
#include "common/xalloc.h"

#define MAX_EMPTY_LINES 4
#define MAX_CHUNK_LINE 4096

/* RFC 9110 tchar */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* ---- scanning for the end of the head ------------------------------------------- */

long be_http_scan(struct be_http_scan *s, const char *buf, size_t len,
                  const struct be_http_limits *lim)
{
    while (s->pos < len) {
        const char *lf = memchr(buf + s->pos, '\n', len - s->pos);
        if (!lf) {
            s->pos = len;
            break;
        }
        size_t i = (size_t)(lf - buf);
        s->pos = i + 1;
        if (i == s->line_start || buf[i - 1] != '\r')
            return -400; /* bare LF */
        size_t linelen = i - 1 - s->line_start;
        if (s->headers_start == 0) {
            if (linelen == 0) {
                if (++s->empty_lines > MAX_EMPTY_LINES)
                    return -400;
                s->line_start = s->pos;
                continue;
            }
            if (linelen > lim->max_request_line)
                return -414;
            s->headers_start = s->pos;
        } else if (linelen == 0) {
            return (long)s->pos;
        } else if (++s->nheaders > lim->max_headers) {
            return -431;
        }
        s->line_start = s->pos;
        if (s->pos - s->headers_start > lim->max_header_size)
            return -431;
    }
    /* an unfinished line: judge it by what has arrived */
    if (s->headers_start == 0) {
        if (len - s->line_start > lim->max_request_line + 1)
            return -414;
    } else if (len - s->headers_start > lim->max_header_size) {
        return -431;
    }
    return 0;
}

/* ---- parsing a complete head ------------------------------------------------------ */

void be_http_req_init(struct be_http_req *r)
{
    memset(r, 0, sizeof *r);
}

void be_http_req_free(struct be_http_req *r)
{
    free(r->headers);
    free(r->path);
    memset(r, 0, sizeof *r);
}

static unsigned method_bit(const char *m, size_t n)
{
    static const struct {
        const char *name;
        unsigned bit;
    } tab[] = {
        {"GET", BM_GET},     {"HEAD", BM_HEAD},     {"POST", BM_POST},
        {"PUT", BM_PUT},     {"DELETE", BM_DELETE}, {"OPTIONS", BM_OPTIONS},
        {"PATCH", BM_PATCH}, {"TRACE", BM_TRACE},   {"CONNECT", BM_CONNECT},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strlen(tab[i].name) == n && memcmp(tab[i].name, m, n) == 0)
            return tab[i].bit;
    return BM_OTHER;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

long be_http_normalize_path(const char *p, size_t n, char *out, bool *encoded_slash)
{
    size_t o = 0;
    *encoded_slash = false;
    if (n == 0 || p[0] != '/')
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= n)
                return -1;
            if ((h = hexval((unsigned char)p[i + 1])) < 0 ||
                (l = hexval((unsigned char)p[i + 2])) < 0)
                return -1;
            c = (char)(h * 16 + l);
            if (c == '\0')
                return -1;
            if (c == '/')
                *encoded_slash = true;
            i += 2;
        }
        out[o++] = c;
        /* remove dot segments as soon as a segment ends */
        if (c == '/' || i + 1 == n) {
            size_t end = c == '/' ? o - 1 : o; /* segment is out[seg..end) */
            size_t seg = end;
            while (seg > 0 && out[seg - 1] != '/')
                seg--;
            size_t sl = end - seg;
            if (sl == 1 && out[seg] == '.') {
                o = seg; /* drop "." (keeps the slash before it) */
            } else if (sl == 2 && out[seg] == '.' && out[seg + 1] == '.') {
                if (seg <= 1)
                    return -1; /* above the root */
                size_t prev = seg - 1;
                while (prev > 0 && out[prev - 1] != '/')
                    prev--;
                o = prev;
            }
        }
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return (long)o;
}

/* Splits a comma-separated header value and tells whether token is in it. */
static bool list_has(const char *v, const char *token)
{
    size_t tl = strlen(token);
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        const char *s = v;
        while (*v && *v != ',')
            v++;
        const char *e = v;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - s) == tl && strncasecmp(s, token, tl) == 0)
            return true;
    }
    return false;
}

static int parse_request_line(struct be_http_req *r, char *p, char *end)
{
    char *m = p;
    while (p < end && tchar[(unsigned char)*p])
        p++;
    if (p == m || p >= end || *p != ' ')
        return 400;
    *p++ = '\0';
    r->method = m;
    r->method_bit = method_bit(m, (size_t)(p - 1 - m));
    char *t = p;
    while (p < end && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
        p++;
    if (p == t || p >= end || *p != ' ')
        return 400;
    *p++ = '\0';
    r->target = t;
    if ((size_t)(end - p) != 8 || memcmp(p, "HTTP/", 5) != 0 || !isdigit((unsigned char)p[5]) ||
        p[6] != '.' || !isdigit((unsigned char)p[7]))
        return 400;
    if (p[5] != '1')
        return 505;
    r->minor = p[7] - '0';
    if (r->minor > 1)
        r->minor = 1; /* HTTP/1.2+ is served as 1.1 (RFC 9110 2.5) */
    *end = '\0';
    return 0;
}

static int set_path(struct be_http_req *r, const char *t, size_t n)
{
    if (r->pathcap < n + 2) {
        r->pathcap = n + 64;
        r->path = bx_xrealloc(r->path, r->pathcap);
    }
    long pl = be_http_normalize_path(t, n, r->path, &r->encoded_slash);
    return pl < 0 ? 400 : 0;
}

static int set_host(struct be_http_req *r, const char *h, size_t n)
{
    /* strip the port; [v6] literals keep their brackets */
    size_t hl = n;
    if (n > 0 && h[0] == '[') {
        const char *rb = memchr(h, ']', n);
        if (!rb)
            return 400;
        hl = (size_t)(rb - h) + 1;
        if (hl < n && h[hl] != ':')
            return 400;
    } else {
        const char *colon = memchr(h, ':', n);
        if (colon)
            hl = (size_t)(colon - h);
    }
    for (size_t i = hl; i < n; i++)
        if (i > hl && !isdigit((unsigned char)h[i]))
            return 400;
    if (hl >= sizeof r->host)
        return 400;
    for (size_t i = 0; i < hl; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c <= 0x20 || c == '/' || c == '\\' || c == '@' || c == '?' || c == '#' || c >= 0x7f)
            return 400;
        r->host[i] = (char)tolower(c);
    }
    r->host[hl] = '\0';
    return 0;
}

static int parse_target(struct be_http_req *r)
{
    char *t = (char *)r->target;
    if (t[0] == '*' && t[1] == '\0') {
        if (r->method_bit != BM_OPTIONS)
            return 400;
        return set_path(r, "/", 1);
    }
    if (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0) {
        /* absolute form: its authority replaces Host (RFC 9112 3.2.2) */
        char *a = strchr(t, ':') + 3;
        char *slash = a + strcspn(a, "/?");
        if (slash == a)
            return 400;
        int rc = set_host(r, a, (size_t)(slash - a));
        if (rc)
            return rc;
        if (*slash != '/')
            return 400;
        t = slash;
    } else if (r->method_bit == BM_CONNECT || t[0] != '/') {
        return 400;
    }
    char *q = strchr(t, '?');
    if (strchr(t, '#'))
        return 400;
    size_t plen = q ? (size_t)(q - t) : strlen(t);
    r->query = q ? q + 1 : NULL;
    return set_path(r, t, plen);
}

static int add_header(struct be_http_req *r, char *line, char *end,
                      const struct be_http_limits *lim)
{
    if (*line == ' ' || *line == '\t')
        return 400; /* obs-fold */
    char *p = line;
    while (p < end && tchar[(unsigned char)*p])
        p++;
    if (p == line || p >= end || *p != ':')
        return 400; /* empty name, bad character, or space before the colon */
    uint32_t name_len = (uint32_t)(p - line);
    *p++ = '\0';
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    char *v = p;
    for (; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 400; /* CTL, bare CR included */
    }
    char *ve = end;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    *ve = '\0';
    if (r->nheaders == r->capheaders) {
        r->capheaders = r->capheaders ? r->capheaders * 2 : 16;
        if (r->capheaders > lim->max_headers + 1)
            r->capheaders = lim->max_headers + 1;
        r->headers = bx_xrealloc(r->headers, r->capheaders * sizeof *r->headers);
    }
    if (r->nheaders >= lim->max_headers)
        return 431;
    r->headers[r->nheaders++] = (struct be_http_header){.name = line,
                                                        .value = v,
                                                        .name_len = name_len,
                                                        .value_len = (uint32_t)(ve - v)};
    return 0;
}

static int parse_content_length(struct be_http_req *r, const char *v)
{
    if (r->content_length != -1)
        return 400; /* duplicate, even when equal */
    if (!*v)
        return 400;
    int64_t n = 0;
    for (const char *p = v; *p; p++) {
        if (!isdigit((unsigned char)*p) || p - v >= 18)
            return 400;
        n = n * 10 + (*p - '0');
    }
    r->content_length = n;
    return 0;
}

/* Applies the headers that frame the message or steer the connection. */
static int apply_headers(struct be_http_req *r)
{
    int hosts = 0, te = 0;
    bool conn_close = false, conn_keep = false, conn_upgrade = false, up_ws = false;
    r->content_length = -1;
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct be_http_header *h = &r->headers[i];
        int rc = 0;
        if (strcasecmp(h->name, "content-length") == 0) {
            rc = parse_content_length(r, h->value);
        } else if (strcasecmp(h->name, "transfer-encoding") == 0) {
            if (te++ || r->minor == 0)
                return 400;
            if (strcasecmp(h->value, "chunked") != 0)
                return list_has(h->value, "chunked") ? 501 : (strchr(h->value, ',') ? 400 : 501);
            r->chunked = true;
        } else if (strcasecmp(h->name, "host") == 0) {
            if (hosts++)
                return 400;
            if (!r->host[0]) /* absolute-form wins */
                rc = set_host(r, h->value, h->value_len);
            else if (set_host(&(struct be_http_req){0}, h->value, h->value_len))
                rc = 400;
        } else if (strcasecmp(h->name, "connection") == 0) {
            conn_close |= list_has(h->value, "close");
            conn_keep |= list_has(h->value, "keep-alive");
            conn_upgrade |= list_has(h->value, "upgrade");
        } else if (strcasecmp(h->name, "expect") == 0) {
            if (strcasecmp(h->value, "100-continue") != 0)
                return 417;
            r->expect_continue = true;
        } else if (strcasecmp(h->name, "upgrade") == 0) {
            up_ws |= list_has(h->value, "websocket");
        }
        if (rc)
            return rc;
    }
    if (r->chunked && r->content_length != -1)
        return 400; /* both framings: a smuggling attempt */
    if (r->minor == 1 && hosts == 0)
        return 400;
    r->keep_alive = r->minor == 1 ? !conn_close : (conn_keep && !conn_close);
    r->upgrade_websocket = up_ws && conn_upgrade;
    if (!r->chunked && r->content_length <= 0)
        r->expect_continue = false;
    return 0;
}

int be_http_parse(struct be_http_req *r, char *head, size_t len, const struct be_http_limits *lim)
{
    r->method = r->target = r->query = NULL;
    r->nheaders = 0;
    r->host[0] = '\0';
    r->content_length = -1;
    r->chunked = r->keep_alive = r->expect_continue = r->upgrade_websocket = false;
    r->encoded_slash = false;
    char *p = head, *end = head + len;
    while (p + 1 < end && p[0] == '\r' && p[1] == '\n')
        p += 2;
    char *eol = memchr(p, '\r', (size_t)(end - p));
    if (!eol || eol + 1 >= end || eol[1] != '\n')
        return 400;
    int rc = parse_request_line(r, p, eol);
    if (rc)
        return rc;
    if ((rc = parse_target(r)) != 0)
        return rc;
    for (p = eol + 2; p < end;) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol || eol == p || eol[-1] != '\r')
            return 400;
        char *le = eol - 1;
        if (le == p)
            break; /* the empty line */
        if ((rc = add_header(r, p, le, lim)) != 0)
            return rc;
        p = eol + 1;
    }
    return apply_headers(r);
}

const char *be_http_header(const struct be_http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* ---- chunked bodies ------------------------------------------------------------- */

/* The states run in this order; be_chunked_decode picks the step by range. */
enum {
    CH_SIZE = 0,
    CH_EXT,
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER,
    CH_TRAILER_LINE,
    CH_TRAILER_LF,
    CH_END_LF,
    CH_DONE,
};

/* Each step below takes one byte and returns how many it consumed (0 when
 * it only changed state), or -status. */

/* The chunk-size line: hex digits, extensions (ignored), CRLF. */
static int chunk_size_byte(struct be_chunked *c, unsigned char ch, const struct bx_buf *body,
                           const struct be_http_limits *lim)
{
    switch (c->state) {
    case CH_SIZE: {
        int h = hexval(ch);
        if (h >= 0) {
            if (++c->digits > 15)
                return -413;
            c->remaining = c->remaining * 16 + (uint64_t)h;
            return 1;
        }
        if (c->digits == 0)
            return -400;
        if (ch == ';' || ch == ' ' || ch == '\t') {
            c->state = CH_EXT;
            return 0;
        }
        if (ch != '\r')
            return -400;
        c->state = CH_SIZE_LF;
        return 1;
    }
    case CH_EXT:
        /* chunk extensions are ignored, but bounded and free of CTLs */
        if (++c->line > MAX_CHUNK_LINE)
            return -400;
        if (ch == '\r')
            c->state = CH_SIZE_LF;
        else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return -400;
        return 1;
    default: /* CH_SIZE_LF */
        if (ch != '\n')
            return -400;
        if ((int64_t)(body->len - body->off + c->remaining) > lim->max_body)
            return -413;
        c->state = c->remaining ? CH_DATA : CH_TRAILER;
        c->line = 0;
        c->digits = 0;
        return 1;
    }
}

/* The CRLF after a chunk's data. */
static int chunk_data_crlf(struct be_chunked *c, unsigned char ch)
{
    if (ch != (c->state == CH_DATA_CR ? '\r' : '\n'))
        return -400;
    c->state = c->state == CH_DATA_CR ? CH_DATA_LF : CH_SIZE;
    return 1;
}

/* One byte of a trailer line: a field name (tchars up to the colon) and a
 * value free of CTLs, bounded in total by max_header_size. */
static int chunk_trailer_line_byte(struct be_chunked *c, unsigned char ch,
                                   const struct be_http_limits *lim)
{
    if (++c->trailer_bytes > lim->max_header_size)
        return -431;
    if (ch == '\r') {
        if (!c->digits)
            return -400;
        c->state = CH_TRAILER_LF;
    } else if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
        return -400;
    } else if (!c->digits) {
        if (ch == ':')
            c->digits = 1;
        else if (!tchar[ch])
            return -400;
    }
    return 1;
}

/* The trailer section (checked, then dropped) and the final CRLF. */
static int chunk_trailer_byte(struct be_chunked *c, unsigned char ch,
                              const struct be_http_limits *lim)
{
    switch (c->state) {
    case CH_TRAILER:
        if (ch == '\r') {
            c->state = CH_END_LF;
            return 1;
        }
        if (ch == ' ' || ch == '\t' || !tchar[ch])
            return -400;
        c->state = CH_TRAILER_LINE;
        c->digits = 0; /* here: whether the name's colon was seen */
        return 0;
    case CH_TRAILER_LINE: return chunk_trailer_line_byte(c, ch, lim);
    case CH_TRAILER_LF:
        if (ch != '\n')
            return -400;
        c->state = CH_TRAILER;
        return 1;
    default: /* CH_END_LF */
        if (ch != '\n')
            return -400;
        c->state = CH_DONE;
        return 1;
    }
}

int be_chunked_decode(struct be_chunked *c, const char *in, size_t len, size_t *used,
                      struct bx_buf *body, const struct be_http_limits *lim)
{
    size_t i = 0;
    while (i < len && c->state != CH_DONE) {
        if (c->state == CH_DATA) {
            size_t n = len - i;
            if (n > c->remaining)
                n = (size_t)c->remaining;
            bx_buf_append(body, in + i, n);
            i += n;
            c->remaining -= n;
            if (c->remaining == 0)
                c->state = CH_DATA_CR;
            continue;
        }
        unsigned char ch = (unsigned char)in[i];
        int n;
        if (c->state < CH_DATA)
            n = chunk_size_byte(c, ch, body, lim);
        else if (c->state < CH_TRAILER)
            n = chunk_data_crlf(c, ch);
        else
            n = chunk_trailer_byte(c, ch, lim);
        if (n < 0)
            return n;
        i += (size_t)n;
    }
    *used = i;
    return c->state == CH_DONE ? 1 : 0;
}

/* ---- status lines and dates ---------------------------------------------------------- */

const char *be_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

static const char wdays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void be_http_date(int64_t t, char out[30])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", wdays[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int64_t be_http_parse_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *e = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);   /* IMF-fixdate */
    if (!e || *e) {
        memset(&tm, 0, sizeof tm);
        e = strptime(s, "%A, %d-%b-%y %H:%M:%S GMT", &tm);           /* RFC 850 */
    }
    if (!e || *e) {
        memset(&tm, 0, sizeof tm);
        e = strptime(s, "%a %b %e %H:%M:%S %Y", &tm);                /* asctime */
    }
    if (!e || *e)
        return -1;
    return (int64_t)timegm(&tm);
}
