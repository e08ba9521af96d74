/* SPDX-License-Identifier: BSD-2-Clause */
/* crashtest: a test module that kills its worker, for the crash-loop tests.
 *   GET .../boom...  raises SIGSEGV in the handler (every time)
 *   anything else    answers "alive\n"
 *   WebSocket        echoes text; the message "boom" raises SIGSEGV */
#include <signal.h>
#include <string.h>

#include <bactrian/module.h>

static void crash(void)
{
    signal(SIGSEGV, SIG_DFL); /* a real crash under ASan's handler too */
    raise(SIGSEGV);
}

static void crash_text(struct bm_ws *ws, const char *data, size_t len, void *inst)
{
    (void)inst;
    if (len == 4 && memcmp(data, "boom", 4) == 0)
        crash();
    bm_ws_send(ws, BM_WS_TEXT, data, len);
}

static const struct bm_ws_handlers crash_ws = {
    .text = crash_text,
};

static int crash_handle(struct bm_request *r, void *inst)
{
    (void)inst;
    if (strstr(bm_path(r), "boom"))
        crash();
    bm_respond(r, 200, "text/plain", "alive\n", 6);
    return BM_DONE;
}

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "crashtest",
    .handle = crash_handle,
    .ws = &crash_ws,
};
