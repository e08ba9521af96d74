/* SPDX-License-Identifier: BSD-2-Clause */
/* hello: the skeleton for a new page module. It answers every GET or HEAD
 * below its mount with a fixed text, and does nothing else.
 *
 * To start a module "foo" from it:
 *   1. copy this file to foo.c (in backend/modules/, or out of tree);
 *   2. replace "hello" by "foo" everywhere in it: the descriptor's .name must
 *      match the file name foo.so;
 *   3. build it (doc/modules.md: bundled in backend/modules/local.mk, or with
 *      cc and pkg-config out of tree) and mount it in backend.modules with
 *      module = "foo";
 *   4. then add settings in foo_init and the work in foo_handle.
 *
 * Settings:
 *   text = "Hello, world!\n";          # the body
 *   content_type = "text/plain; charset=utf-8"; */
#include <stdlib.h>
#include <string.h>

#include <bactrian/module.h>

/* One instance per backend.modules entry that mounts the module. */
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

/* In a worker, for each request routed to this instance. */
static int hello_handle(struct bm_request *r, void *inst)
{
    struct hello *h = inst;
    bm_respond(r, 200, h->content_type, h->text, h->len);
    return BM_DONE;
}

/* In the master, when the instance is dropped (reload, exit). */
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
