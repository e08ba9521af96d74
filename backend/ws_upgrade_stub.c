/* Stand-in for the WebSocket engine until backend/ws_*.c lands: a module
 * that declares WebSocket handlers gets "501 Not Implemented" for upgrade
 * requests. The WebSocket developer deletes this file and its line in
 * backend/local.mk (see the seam described in backend/conn.h). It is a weak
 * symbol, so a real be_ws_upgrade linked in beside it wins meanwhile. */
#include "config.h"

#include "backend/http.h"
#include "bactrian/module.h"

__attribute__((weak)) void be_ws_upgrade(struct be_conn *c, struct bm_request *r,
                                         const struct be_instance *inst)
{
    (void)c;
    (void)inst;
    bm_respond_error(r, 501);
}
