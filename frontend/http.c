/* SPDX-License-Identifier: BSD-2-Clause */
/* The frontend's HTTP bits (http.h): Host sniffing and error pages. Pure
 * functions on buffers, tested by tests/unit/frontend/test_http.c. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "frontend/http.h"

size_t fe_http_page(char *out, size_t outlen, int status, const char *reason, const char *text)
{
    char body[512];
    int b = snprintf(body, sizeof body,
                     "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>"
                     "<body><h1>%d %s</h1><p>%s</p></body></html>\n",
                     status, reason, status, reason, text);
    if (b < 0 || (size_t)b >= sizeof body)
        b = 0;
    int n = snprintf(out, outlen,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
                     "Content-Length: %d\r\nConnection: close\r\nCache-Control: no-store\r\n"
                     "%s\r\n%s",
                     status, reason, b, status == 503 ? "Retry-After: 1\r\n" : "", b ? body : "");
    return n < 0 ? 0 : (size_t)n >= outlen ? outlen - 1 : (size_t)n;
}

int fe_http_find_host(const char *buf, size_t len, char *out, size_t outlen)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return -1;
    const char *p = memchr(buf, '\n', (size_t)(end - buf));
    while (p && p < end) {
        const char *line = p + 1;
        const char *eol = memchr(line, '\n', (size_t)(end + 2 - line));
        if (!eol)
            break;
        if ((size_t)(eol - line) > 5 && strncasecmp(line, "host:", 5) == 0) {
            const char *v = line + 5, *e = eol;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                e--;
            /* strip the port; keep an IPv6 literal's brackets intact */
            const char *colon = NULL;
            for (const char *q = e; q > v; q--)
                if (q[-1] == ':') {
                    colon = q - 1;
                    break;
                } else if (q[-1] == ']') {
                    break;
                }
            if (colon)
                e = colon;
            size_t n = (size_t)(e - v);
            if (n == 0 || n >= outlen)
                return 0;
            memcpy(out, v, n);
            out[n] = '\0';
            return (int)n;
        }
        p = eol;
    }
    return 0;
}
