/* Placeholder worker until the HTTP engine lands: waits for a stop signal. */
#include "config.h"

#include <signal.h>
#include <unistd.h>

#include "backend/worker.h"
#include "common/log.h"

int be_worker_run(struct bx_config *cfg, struct be_listeners *ls, int index)
{
    (void)cfg;
    (void)ls;
    bx_log_info("worker %d ready (HTTP engine not built yet)", index);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sig;
    sigwait(&set, &sig);
    return 0;
}
