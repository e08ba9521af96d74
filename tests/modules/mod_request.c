/* SPDX-License-Identifier: BSD-2-Clause */
/* requesttest: a test module for the request side of the module API and the
 * mount's settings, the parts no bundled module reads (module_api.py).
 * Every request gets a streamed text/plain dump, one "key=value" per line:
 *   mount, vhost, flag   bm_conf_mount_path, bm_conf_vhost, bm_conf_has("flag")
 *                        and bm_conf_int("flag") (read in init)
 *   wait, limit          bm_conf_duration_ms("wait", def 1500, 0..60 s) and
 *                        bm_conf_size("limit", def 4096, 1..1 GiB) with their
 *                        return values: "ms rc", "bytes rc"
 *   method, target, minor, headers, h (one per header, "Name: value")
 *   family, addrlen      bm_client_addr
 *   started_before       bm_response_started before the response began (0)
 *   started_after        ... after bm_stream_begin (1)
 *   pending              bm_pending right after bm_stream_begin: the length of
 *                        the queued response head, which the test compares
 *                        with the head it receives */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bactrian/module.h>

struct inst {
    const char *mount, *vhost;
    bool has_flag;
    long long flag;
    uint64_t wait_ms, limit;
    int wait_rc, limit_rc;
};

static int r_init(struct bm_conf *c, void **out)
{
    struct inst *i = calloc(1, sizeof *i);
    if (!i)
        return -1;
    i->mount = bm_conf_mount_path(c);
    i->vhost = bm_conf_vhost(c);
    i->has_flag = bm_conf_has(c, "flag");
    i->flag = bm_conf_int(c, "flag", -1);
    i->wait_rc = bm_conf_duration_ms(c, "wait", 1500, 0, 60000, &i->wait_ms);
    i->limit_rc = bm_conf_size(c, "limit", 4096, 1, UINT64_C(1) << 30, &i->limit);
    *out = i;
    return 0;
}

static void r_fini(void *inst)
{
    free(inst);
}

static void line(struct bm_request *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct bm_request *r, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    bm_stream_write(r, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static int r_handle(struct bm_request *r, void *inst)
{
    struct inst *i = inst;
    bool before = bm_response_started(r);
    bm_add_header(r, "Content-Type", "text/plain");
    bm_stream_begin(r);
    size_t pending = bm_pending(r);
    line(r, "mount=%s\nvhost=%s\nflag=%d %lld\n", i->mount, i->vhost, i->has_flag, i->flag);
    line(r, "wait=%llu %d\nlimit=%llu %d\n", (unsigned long long)i->wait_ms, i->wait_rc,
         (unsigned long long)i->limit, i->limit_rc);
    line(r, "method=%s\ntarget=%s\nminor=%d\n", bm_method(r), bm_target(r), bm_http_minor(r));
    size_t n = bm_header_count(r);
    line(r, "headers=%zu\n", n);
    for (size_t k = 0; k < n; k++) {
        const char *name, *value;
        if (bm_header_at(r, k, &name, &value))
            line(r, "h=%s: %s\n", name, value);
    }
    const char *past, *pastv;
    line(r, "past_end=%d\n", bm_header_at(r, n, &past, &pastv));
    socklen_t len = 0;
    const struct sockaddr *sa = bm_client_addr(r, &len);
    line(r, "family=%d\naddrlen=%u\n", sa ? sa->sa_family : -1, (unsigned)len);
    line(r, "started_before=%d\nstarted_after=%d\npending=%zu\n", before, bm_response_started(r),
         pending);
    bm_stream_end(r);
    return BM_DONE;
}

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "requesttest",
    .methods = BM_ANY_METHOD,
    .init = r_init,
    .handle = r_handle,
    .fini = r_fini,
};
