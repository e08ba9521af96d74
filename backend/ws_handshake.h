/* SPDX-License-Identifier: BSD-2-Clause */
/* RFC 6455 section 4.2 opening handshake rules, independent of the HTTP
 * parser: the caller hands over the request line facts and the header values
 * (several lines of one header joined with ", "), and gets back either OK or
 * the HTTP status to answer with. */
#ifndef BACTRIAN_BACKEND_WS_HANDSHAKE_H
#define BACTRIAN_BACKEND_WS_HANDSHAKE_H

#include <stddef.h>

struct bx_buf;

struct be_ws_hs_request {
    const char *method;       /* NUL-terminated */
    int http_major, http_minor;
    int has_host;
    const char *connection;   /* header values, NULL when absent */
    const char *upgrade;
    const char *version;      /* Sec-WebSocket-Version */
    const char *key;          /* Sec-WebSocket-Key */
};

/* Length of a Sec-WebSocket-Accept value plus its NUL. */
#define BE_WS_ACCEPT_LEN 29

/* Returns 0 when the request is a valid upgrade, else the status to answer:
 * 400 (bad or missing header, not GET, not HTTP/1.1 or later, no Host) or 426
 * (another Sec-WebSocket-Version: answer with "Sec-WebSocket-Version: 13").
 * *why gets a short reason for the log. */
int be_ws_hs_check(const struct be_ws_hs_request *r, const char **why);

/* True when a comma-separated header value holds token (case-insensitive,
 * optional whitespace around elements). */
int be_ws_token_list_has(const char *value, const char *token);

/* True when key is base64 of exactly 16 bytes (24 chars ending in "=="). */
int be_ws_key_valid(const char *key);

/* Computes base64(SHA-1(key + GUID)) into out (BE_WS_ACCEPT_LEN bytes). */
void be_ws_accept_key(const char *key, char out[BE_WS_ACCEPT_LEN]);

/* Picks the first of the server's subprotocols (list of NUL-terminated
 * names, NULL-terminated) that the client offers in its
 * Sec-WebSocket-Protocol value, honouring the server's order. NULL if none. */
const char *be_ws_pick_subprotocol(const char *offered, const char *const *supported);

/* Splits a Sec-WebSocket-Protocol list (modified in place) into at most max-1
 * tokens, NULL-terminated in out. */
void be_ws_split_protocols(char *list, const char **out, size_t max);

/* True when s is a non-empty RFC 7230 token: safe to echo in a header. */
int be_ws_token_valid(const char *s);

/* The subprotocol a module chose, if it is one the client offered and a
 * token; else NULL (answered without Sec-WebSocket-Protocol). */
const char *be_ws_chosen_protocol(const char *chosen, const char *const *offered);

/* Appends the whole 101 response to b (grown as needed: a subprotocol has no
 * length limit but the request header's). subprotocol and extensions may be
 * NULL. */
void be_ws_response_101(struct bx_buf *b, const char accept[BE_WS_ACCEPT_LEN],
                        const char *subprotocol, const char *extensions);

#endif
