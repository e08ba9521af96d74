/* SPDX-License-Identifier: BSD-2-Clause */
/* mirror: answers with what it was given, for tests, demos and benchmarks.
 *
 * A POST gets its own body back; "?whoami" answers what the request API
 * tells about the client and its TLS connection (from the frontend's PROXY
 * v2 header); "?stream=N" streams the text N times (at most 1000) with
 * chunked encoding; anything else gets the text. Settings:
 *   text = "Hello, world!\n";          # the body
 *   content_type = "text/plain; charset=utf-8";
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bactrian/module.h>

struct mirror {
    const char *text;
    size_t len;
    const char *content_type;
};

/* In the master: read and check the settings, build the instance. */
static int mirror_init(struct bm_conf *conf, void **inst)
{
    struct mirror *m = calloc(1, sizeof *m);
    if (!m)
        return -1;
    m->text = bm_conf_string(conf, "text", "Hello, world!\n");
    m->content_type = bm_conf_string(conf, "content_type", "text/plain; charset=utf-8");
    m->len = strlen(m->text);
    if (m->len > 1 << 20)
        bm_conf_error(conf, "text", "must be at most 1 MiB");
    *inst = m;
    return 0;
}

static int mirror_handle(struct bm_request *r, void *inst)
{
    struct mirror *m = inst;
    if (bm_method_bit(r) == BM_POST) {
        size_t len;
        const void *body = bm_body(r, &len);
        bm_respond(r, 200, "application/octet-stream", body, len);
        return BM_DONE;
    }
    const char *q = bm_query(r);
    if (q && strcmp(q, "whoami") == 0) {
        /* what the request API tells about the client (PROXY v2 data) */
        struct bm_tls_info t;
        char out[1024];
        bm_tls(r, &t);
        int n = snprintf(out, sizeof out,
                         "client=%s host=%s tls=%d version=%s cipher=%s alpn=%s "
                         "sni=%s id_len=%zu\n",
                         bm_client_str(r), bm_host(r), t.tls, t.version, t.cipher, t.alpn, t.sni,
                         t.unique_id_len);
        bm_respond(r, 200, "text/plain", out, (size_t)n);
        return BM_DONE;
    }
    if (q && strncmp(q, "stream=", 7) == 0) {
        int n = atoi(q + 7);
        bm_add_header(r, "Content-Type", m->content_type);
        bm_stream_begin(r);
        for (int i = 0; i < n && i < 1000; i++)
            bm_stream_write(r, m->text, m->len);
        bm_stream_end(r);
        return BM_DONE;
    }
    bm_respond(r, 200, m->content_type, m->text, m->len);
    return BM_DONE;
}

static void mirror_fini(void *inst)
{
    free(inst);
}

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "mirror",
    .methods = BM_GET | BM_HEAD | BM_POST,
    .init = mirror_init,
    .handle = mirror_handle,
    .fini = mirror_fini,
};
