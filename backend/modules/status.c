#include <bactrian/module.h>
static int h(struct bm_request *r, void *inst) { (void)inst; bm_respond_error(r, 404); return BM_DONE; }
const struct bm_module bactrian_module = { .api_version = BACTRIAN_MODULE_API_VERSION, .name = "status", .handle = h };
