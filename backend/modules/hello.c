/* hello: the smallest useful page module, and the template for new ones.
 *
 * Answers every GET or HEAD below its mount with a fixed text; a POST gets
 * its own body back; "?stream=N" streams the text N times with chunked
 * encoding. Settings:
 *   text = "Hello, world!\n";          # the body
 *   content_type = "text/plain; charset=utf-8";
 *
 * Copy this file, rename "hello" everywhere, and see doc/modules.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bactrian/module.h>

struct hello {
    const char *text;
    size_t len;
    const char *content_type;
};

/* In the master: read and check the settings, build the instance. */
static int hello_init(struct bm_conf *conf, void **inst)
{
    struct hello *h = calloc(1, sizeof *h);
    if (!h)
        return -1;
    h->text = bm_conf_string(conf, "text", "Hello, world!\n");
    h->content_type = bm_conf_string(conf, "content_type", "text/plain; charset=utf-8");
    h->len = strlen(h->text);
    if (h->len > 1 << 20)
        bm_conf_error(conf, "text", "must be at most 1 MiB");
    *inst = h;
    return 0;
}

static int hello_handle(struct bm_request *r, void *inst)
{
    struct hello *h = inst;
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
        int n = snprintf(out, sizeof out, "client=%s host=%s tls=%d version=%s cipher=%s alpn=%s "
                         "sni=%s id_len=%zu\n", bm_client_str(r), bm_host(r), t.tls, t.version,
                         t.cipher, t.alpn, t.sni, t.unique_id_len);
        bm_respond(r, 200, "text/plain", out, (size_t)n);
        return BM_DONE;
    }
    if (q && strncmp(q, "stream=", 7) == 0) {
        int n = atoi(q + 7);
        bm_add_header(r, "Content-Type", h->content_type);
        bm_stream_begin(r);
        for (int i = 0; i < n && i < 1000; i++)
            bm_stream_write(r, h->text, h->len);
        bm_stream_end(r);
        return BM_DONE;
    }
    bm_respond(r, 200, h->content_type, h->text, h->len);
    return BM_DONE;
}

static void hello_fini(void *inst)
{
    free(inst);
}

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "hello",
    .methods = BM_GET | BM_HEAD | BM_POST,
    .init = hello_init,
    .handle = hello_handle,
    .fini = hello_fini,
};
