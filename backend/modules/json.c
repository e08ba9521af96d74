/* SPDX-License-Identifier: BSD-2-Clause */
/* A small JSON reader for flat objects of strings, shared by the chat and
 * echo modules (see json.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "backend/modules/json.h"

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int read_hex4(const char *p, const char *e, unsigned *v)
{
    if (e - p < 4)
        return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        *v = *v << 4 | (unsigned)h;
    }
    return 0;
}

/* Reads a JSON string at p (after the quote) into out (NUL-terminated; NULL
 * = skip). Returns the position after the closing quote, or NULL. */
static const char *read_string(const char *p, const char *e, char *out, size_t outlen)
{
    size_t n = 0;
    while (p < e && *p != '"') {
        char tmp[4];
        size_t k = 1;
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            if (++p >= e)
                return NULL;
            switch (*p) {
            case '"':
            case '\\':
            case '/': tmp[0] = *p; break;
            case 'b': tmp[0] = '\b'; break;
            case 'f': tmp[0] = '\f'; break;
            case 'n': tmp[0] = '\n'; break;
            case 'r': tmp[0] = '\r'; break;
            case 't': tmp[0] = '\t'; break;
            case 'u': {
                unsigned cp, lo;
                if (read_hex4(p + 1, e, &cp) < 0)
                    return NULL;
                p += 4;
                if (cp >= 0xd800 && cp < 0xdc00) {
                    if (e - p < 7 || p[1] != '\\' || p[2] != 'u' || read_hex4(p + 3, e, &lo) < 0 ||
                        lo < 0xdc00 || lo > 0xdfff)
                        return NULL;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                    return NULL;
                }
                k = put_utf8(tmp, cp);
                break;
            }
            default: return NULL;
            }
            p++;
        } else {
            tmp[0] = *p++;
        }
        if (out) {
            if (n + k >= outlen)
                return NULL; /* too long for the field */
            memcpy(out + n, tmp, k);
        }
        n += k;
    }
    if (p >= e)
        return NULL;
    if (out)
        out[n] = 0;
    return p + 1;
}

/* Skips a non-string scalar (number, true, false, null). */
static const char *skip_scalar(const char *p, const char *e)
{
    const char *s = p;
    while (p < e && *p != ',' && *p != '}' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
        p++;
    return p > s ? p : NULL;
}

int json_parse_object(const char *p, size_t len, struct json_field *f, size_t nf)
{
    const char *e = p + len;
    p = skip_ws(p, e);
    if (p >= e || *p++ != '{')
        return -1;
    p = skip_ws(p, e);
    if (p < e && *p == '}')
        return skip_ws(p + 1, e) == e ? 0 : -1;
    for (;;) {
        char key[32];
        p = skip_ws(p, e);
        if (p >= e || *p++ != '"' || !(p = read_string(p, e, key, sizeof(key))))
            return -1;
        p = skip_ws(p, e);
        if (p >= e || *p++ != ':')
            return -1;
        p = skip_ws(p, e);
        if (p >= e)
            return -1;
        struct json_field *target = NULL;
        for (size_t i = 0; i < nf; i++)
            if (!strcmp(f[i].key, key))
                target = &f[i];
        if (*p == '"') {
            p = read_string(p + 1, e, target ? target->out : NULL, target ? target->outlen : 0);
            if (!p)
                return -1;
            if (target)
                target->found = true;
        } else if (*p == '{' || *p == '[') {
            return -1;
        } else if (!(p = skip_scalar(p, e))) {
            return -1;
        }
        p = skip_ws(p, e);
        if (p < e && *p == ',') {
            p++;
            continue;
        }
        if (p < e && *p == '}')
            return skip_ws(p + 1, e) == e ? 0 : -1;
        return -1;
    }
}

bool json_is_ping(const char *data, size_t len)
{
    char type[8] = "";
    struct json_field f = {"type", type, sizeof(type), false};
    return json_parse_object(data, len, &f, 1) == 0 && f.found && !strcmp(type, "PING");
}
