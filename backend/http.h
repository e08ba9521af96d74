/* SPDX-License-Identifier: BSD-2-Clause */
/* HTTP/1.1 on a connection: reads requests (head, then body), routes them to
 * module instances, writes responses in order (keep-alive, pipelining), and
 * implements the request and response parts of bactrian/module.h. */
#ifndef BACTRIAN_BACKEND_HTTP_H
#define BACTRIAN_BACKEND_HTTP_H

#include <stdbool.h>

struct be_conn;
struct be_instance;
struct bm_request;

/* Makes HTTP the connection's protocol (called right after accept). */
void be_http_start(struct be_conn *c);

/* For the WebSocket upgrade (see conn.h): ends the HTTP request r with
 * status 101 in the access log and counters, and frees the HTTP state
 * without touching the socket or c->in. c->ops and c->proto must be replaced
 * by the caller right after. */
void be_http_detach(struct bm_request *r);

#endif
