/* SPDX-License-Identifier: BSD-2-Clause */
/* A small JSON reader for flat objects of strings ({"k":"v",...}), all the
 * bundled WebSocket modules' protocols need: chat's messages and the
 * PageCamel keep-alive that echo and chat answer. Compiled into each module
 * that uses it (modules link nothing of ours). */
#ifndef BACTRIAN_BACKEND_MODULES_JSON_H
#define BACTRIAN_BACKEND_MODULES_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* A string member to pick out: found is set, out holds it NUL-terminated. */
struct json_field {
    const char *key;
    char *out;
    size_t outlen;
    bool found;
};

/* Parses one object of len bytes at p and fills the requested string
 * members; other members (strings or scalars) are skipped. Nested values,
 * a requested member longer than its field and anything after the object
 * are refused. 0 or -1. */
int json_parse_object(const char *p, size_t len, struct json_field *f, size_t nf);

/* The PageCamel JSON keep-alive: an object whose "type" is "PING" (as
 * PageCamel's clients send, {"type":"PING"}), answered with JSON_PING. */
bool json_is_ping(const char *data, size_t len);
#define JSON_PING "{\"type\":\"PING\"}"

#endif
