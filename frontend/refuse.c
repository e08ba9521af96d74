/* SPDX-License-Identifier: BSD-2-Clause */
/* See refuse.h. */
#include "config.h"

#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "common/proc.h"
#include "common/ratelimit.h"
#include "frontend/child.h"
#include "frontend/http.h"
#include "frontend/refuse.h"

static struct bx_ratelimit own[FE_REFUSE_NCLASSES];
static struct bx_ratelimit *limits = own;

void fe_refuse_init(void)
{
    if (limits != own)
        return;
    void *p = mmap(NULL, sizeof own, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED)
        limits = p;
}

void fe_refuse_log(enum fe_refusal k, const char *what)
{
    uint64_t more;
    if ((unsigned)k >= FE_REFUSE_NCLASSES || !bx_ratelimit_pass(&limits[k], bx_now_ms(), &more))
        return;
    if (more)
        bx_log_warn("%s; %llu more such %s since the last such line", what,
                    (unsigned long long)more, k == FE_REFUSE_POOL ? "failures" : "refusals");
    else
        bx_log_warn("%s", what);
}

size_t fe_refuse_alert(unsigned char *out, size_t outlen)
{
    /* alert record, legacy version 1.2, length 2: fatal (2), internal_error (80) */
    static const unsigned char alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50};
    if (outlen < sizeof alert)
        return 0;
    for (size_t i = 0; i < sizeof alert; i++)
        out[i] = alert[i];
    return sizeof alert;
}

void fe_refuse_write(int fd, bool tls)
{
    char page[512];
    size_t len = tls ? fe_refuse_alert((unsigned char *)page, sizeof page)
                     : fe_http_page(page, sizeof page, 503, "Service Unavailable",
                                    "The server is busy, please try again.");
    if (send(fd, page, len, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
        /* the client is gone, or its window is full: nothing more to do */
    }
    shutdown(fd, SHUT_WR);
}
