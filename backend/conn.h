/* SPDX-License-Identifier: BSD-2-Clause */
/* A client connection in a backend worker.
 *
 * The connection owns the socket, the input buffer and the output queue; the
 * protocol spoken on it is a small vtable (struct be_conn_ops) plus a state
 * pointer. HTTP/1.1 (backend/http.c) is the protocol every connection starts
 * with, after the PROXY header if any.
 *
 * --- The WebSocket seam ---------------------------------------------------------
 * When a request routed to a module whose descriptor has `ws != NULL` carries
 * "Upgrade: websocket" (with "Connection: upgrade"), backend/http.c calls
 *
 *     void be_ws_upgrade(struct be_conn *c, struct bm_request *r,
 *                        const struct be_instance *inst);
 *
 * instead of the module's handle(). The WebSocket code (backend/ws_session.c) then
 * either answers with an HTTP error through the normal response API
 * (bm_respond_error(r, 400) ...), and HTTP goes on, or it
 *   1. queues the "101 Switching Protocols" response itself with
 *      be_conn_queue(),
 *   2. calls be_http_detach(r), which ends the HTTP request (access log line,
 *      counters) and frees the HTTP state WITHOUT touching the socket or the
 *      bytes already buffered in c->in (a client may send frames right behind
 *      its handshake: they are there, unread),
 *   3. sets c->ops to its own vtable and c->proto to its session state, and
 *      then processes c->in right away if it is not empty.
 * From then on on_read/on_write/on_timer/on_close go to the WebSocket code
 * (backend/ws_session.c, declared in ws_session.h).
 * ---------------------------------------------------------------------------------
 *
 * Closing: be_conn_close() may be called from any callback; on_close runs at
 * once, but the memory of the connection and of c->proto (on_free) is
 * released after the current loop iteration, so callers up the stack may
 * still read them (queueing more output is ignored). */
#ifndef BACTRIAN_BACKEND_CONN_H
#define BACTRIAN_BACKEND_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/ev.h"
#include "common/net.h"
#include "common/proxy.h"

struct be_conn;
struct be_listener;
struct be_instance;
struct bm_request;

struct be_conn_ops {
    /* New bytes are in c->in (or the peer closed: c->eof). */
    void (*on_read)(struct be_conn *c);
    /* The output queue went empty after having been non-empty. */
    void (*on_write)(struct be_conn *c);
    /* The connection timer (be_conn_timer) expired. */
    void (*on_timer)(struct be_conn *c);
    /* The connection is closing (the socket is still open): release what
     * the protocol holds, tell modules. Must not free c->proto's memory. */
    void (*on_close)(struct be_conn *c);
    /* When the loop turn ends after the close: free c->proto. May be NULL. */
    void (*on_free)(struct be_conn *c);
    /* The worker is draining (TERM or reload): finish what is in flight and close. */
    void (*on_drain)(struct be_conn *c);
};

/* A queued output piece: len bytes of c->out (fd == -1) or of a file. */
struct be_out_seg {
    int fd;
    off_t off;
    uint64_t len;
};

struct be_conn {
    struct bx_ev_io io;
    struct bx_ev_timer timer;
    uint64_t deadline;            /* when the timer is due (0: not set); see be_conn_timer */
    const struct be_conn_ops *ops;
    void *proto;
    const struct be_listener *listener;
    int fd;
    uint64_t id;                  /* per worker, for logs */
    struct bx_buf in;
    struct bx_buf out;
    struct be_out_seg *segs;
    size_t seg_head, nsegs, capsegs;
    bool reading;                 /* read interest wanted by the protocol */
    bool eof;                     /* the peer will send nothing more */
    bool closed;
    bool close_after_flush;
    bool proxy_pending;           /* a PROXY header is still expected */
    struct sockaddr_storage peer; /* the socket peer */
    socklen_t peerlen;
    struct sockaddr_storage client; /* the client: from PROXY, else the peer */
    socklen_t clientlen;
    char client_str[BX_ADDRSTRLEN]; /* client address without port, "unix" for a local peer */
    struct bx_proxy_info *proxy;  /* NULL when no PROXY header came */
    uint64_t bytes_in, bytes_out;
    struct be_conn *prev, *next;  /* the worker's list */
};

/* Accepts up to max connections (at most ACCEPT_BATCH_MAX) from l. */
void be_conn_accept(const struct be_listener *l, long max);
/* True when the client has already closed its side (an upgrade queued in the
 * backlog while we were out of descriptors, abandoned since). */
bool be_conn_peer_gone(const struct be_conn *c);

/* Hand-off on reload (ws_handoff.c). adopt: a connection on fd, an open
 * WebSocket session another worker handed over (no PROXY header, no HTTP:
 * the caller sets ops and proto). suspend: no more events or timer for c
 * until be_conn_want_read and be_conn_timer are called again. */
struct be_conn *be_conn_adopt(int fd, const struct sockaddr_storage *client, socklen_t len,
                              const char *client_text);
void be_conn_suspend(struct be_conn *c);

void be_conn_queue(struct be_conn *c, const void *p, size_t n);
void be_conn_queue_file(struct be_conn *c, int fd, off_t off, uint64_t len);
/* Bytes queued and not yet written. */
uint64_t be_conn_pending(const struct be_conn *c);
/* Writes what it can now; watches for writability when some is left. */
void be_conn_flush(struct be_conn *c);
/* Turns read interest on or off (flow control). */
void be_conn_want_read(struct be_conn *c, bool on);
/* (Re)arms the connection's single timer; 0 stops it. */
void be_conn_timer(struct be_conn *c, uint64_t ms);
void be_conn_close(struct be_conn *c);
/* Closes once the output queue is written (with a write-stall timeout). */
void be_conn_close_after_flush(struct be_conn *c);

/* Worker-level bookkeeping (backend/worker.c). */
void be_conns_reap(void);          /* frees closed connections */
void be_conns_drain(void);         /* tells every connection to finish up */
size_t be_conns_count(void);
void be_conns_close_all(void);

#endif
