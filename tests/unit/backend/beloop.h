/* SPDX-License-Identifier: BSD-2-Clause */
/* An in-process backend worker for unit tests: the real configuration,
 * modules (dlopen'ed from the build tree), connections, HTTP and WebSocket
 * code, driven one loop turn at a time from the test, with no master, no
 * fork and no sandbox. A test connects a client socket, writes bytes and
 * pumps the loop until the answer it expects is there.
 *
 * Only one per process (the worker state is global, as in a worker); Check
 * runs each test in a process of its own. */
#ifndef BACTRIAN_TESTS_UNIT_BACKEND_BELOOP_H
#define BACTRIAN_TESTS_UNIT_BACKEND_BELOOP_H

#include <stdbool.h>
#include <stddef.h>

/* Starts the worker. backend_extra goes inside "backend: { ... }" after
 * module_dir and the listener (a "modules = ( ... );" list at least), with
 * every @DIR@ in it replaced by the test's temporary directory. proxy:
 * the listener is a loopback TCP port requiring a PROXY header from
 * 127.0.0.1 (else a Unix socket). */
void bl_start(const char *backend_extra, bool proxy);
/* Stops it (modules' worker_exit and fini, connections closed). */
void bl_stop(void);
/* The temporary directory (removed by bl_stop). */
const char *bl_dir(void);

/* A new client connection, accepted by the worker (blocking socket). */
int bl_connect(void);
/* Runs the loop for about ms (one or more turns). */
void bl_pump(int ms);
/* Writes all of p to fd, pumping the loop meanwhile. */
void bl_send(int fd, const void *p, size_t n);
/* Reads from fd while pumping the loop until the bytes hold a complete
 * response (head plus Content-Length body, a chunked body's end, or EOF),
 * or ms passed. Returns the length (out NUL-terminated, cap bounded);
 * *eof tells whether the server closed. */
size_t bl_response(int fd, char *out, size_t cap, int ms, bool *eof);
/* Reads exactly n bytes (or fails the test after ms). */
void bl_read_exact(int fd, void *out, size_t n, int ms);
/* True when the server closes fd within ms (nothing more comes). */
bool bl_closed(int fd, int ms);
/* A request and its response in one call (Host: t). */
size_t bl_get(int fd, const char *target, char *out, size_t cap);
/* The status code of a response, or 0. */
int bl_status(const char *resp);
/* Points at the body (after the blank line), or NULL. */
const char *bl_body(const char *resp);
/* The value of header name in resp (copied into out), or NULL. */
const char *bl_header(const char *resp, const char *name, char *out, size_t cap);

/* A WebSocket handshake on a new connection to path (extra: more header
 * lines, each ending in CRLF); fails the test unless it gets the 101 with
 * the right accept key. The 101's head is left in resp. */
int bl_ws_open(const char *path, const char *extra, char *resp, size_t cap);
/* Sends a client frame: b0 is FIN|RSV|opcode; masked unless told otherwise. */
void bl_ws_send(int fd, unsigned b0, const void *p, size_t n, bool masked);
/* The next server frame (which must not be masked): its payload length,
 * payload in out (at most cap), first byte in *b0. */
size_t bl_ws_read(int fd, unsigned *b0, unsigned char *out, size_t cap);

#endif
