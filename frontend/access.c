/* SPDX-License-Identifier: BSD-2-Clause */
/* See access.h. */
#include "config.h"

#include <sys/mman.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/net.h"
#include "common/proc.h"
#include "common/ratelimit.h"
#include "frontend/access.h"

static struct bx_ratelimit own_limit;
static struct bx_ratelimit *limit = &own_limit;

void fe_access_init(void)
{
    if (limit != &own_limit)
        return;
    void *p = mmap(NULL, sizeof *limit, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED)
        limit = p;
}

static void log_refusal(const struct bx_service *sv, const struct sockaddr *sa, socklen_t len,
                        const char *which)
{
    uint64_t more;
    if (!bx_ratelimit_pass(limit, bx_now_ms(), &more))
        return;
    char who[BX_ADDRSTRLEN];
    bx_sockaddr_str(sa, len, true, who, sizeof who);
    if (more)
        bx_log_notice("client %s: refused by the allow/deny list of port %d (%s); %llu more "
                      "refused since the last such line",
                      who, sv->port, which, (unsigned long long)more);
    else
        bx_log_notice("client %s: refused by the allow/deny list of port %d (%s)", who, sv->port,
                      which);
}

static bool check(const struct bx_service *sv, const struct sockaddr *sa, socklen_t len,
                  const char *which)
{
    if (!sv->allow.n && !sv->deny.n)
        return true;
    if (bx_access_allowed(&sv->allow, &sv->deny, sa))
        return true;
    log_refusal(sv, sa, len, which);
    return false;
}

bool fe_access_peer(const struct bx_service *sv, const struct sockaddr *peer, socklen_t len)
{
    if (sv->proxy_protocol != BX_PROXY_OFF &&
        bx_cidr_list_match(sv->proxy_from.v, sv->proxy_from.n, peer))
        return true;
    return check(sv, peer, len, "peer address");
}

bool fe_access_client(const struct bx_service *sv, const struct sockaddr *client, socklen_t len)
{
    return check(sv, client, len, "after the PROXY header");
}
