/* hello: the smallest useful page module, and the template for new ones.
 *
 * Answers every GET or HEAD below its mount with a fixed text. Settings:
 *   text = "Hello, world!\n";          # the body
 *   content_type = "text/plain; charset=utf-8";
 *
 * Copy this file, rename "hello" everywhere, and see doc/modules.md. */
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
    .init = hello_init,
    .handle = hello_handle,
    .fini = hello_fini,
};
