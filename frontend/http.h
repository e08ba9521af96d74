/* SPDX-License-Identifier: BSD-2-Clause */
/* The little HTTP the frontend speaks itself: the Host header of a
 * plaintext request (to pick its vhost) and small error pages (408, 502,
 * 503). Everything else about HTTP is the backend's. */
#ifndef BACTRIAN_FRONTEND_HTTP_H
#define BACTRIAN_FRONTEND_HTTP_H

#include <stddef.h>

/* Finds the Host header value in the start of an HTTP request (port
 * stripped). Returns its length (copied into out, NUL-terminated), 0 when
 * absent, -1 when the headers are not complete in buf yet. */
int fe_http_find_host(const char *buf, size_t len, char *out, size_t outlen);

/* Formats a complete small HTML error response. Returns its length. */
size_t fe_http_page(char *out, size_t outlen, int status, const char *reason, const char *text);

#endif
