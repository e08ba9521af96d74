/* crashtest: a test module that kills its worker, for the crash-loop tests.
 *   GET .../boom...  raises SIGSEGV in the handler (every time)
 *   anything else    answers "alive\n" */
#include <signal.h>
#include <string.h>

#include <bactrian/module.h>

static int crash_handle(struct bm_request *r, void *inst)
{
    (void)inst;
    if (strstr(bm_path(r), "boom")) {
        signal(SIGSEGV, SIG_DFL); /* a real crash under ASan's handler too */
        raise(SIGSEGV);
    }
    bm_respond(r, 200, "text/plain", "alive\n", 6);
    return BM_DONE;
}

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "crashtest",
    .handle = crash_handle,
};
