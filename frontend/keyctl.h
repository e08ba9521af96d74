/* SPDX-License-Identifier: BSD-2-Clause */
/* The master's side of the key process (keyproc.h): starting it, telling it
 * which keys a generation uses, and making the sign channels handed to the
 * processes that may sign. */
#ifndef BACTRIAN_FRONTEND_KEYCTL_H
#define BACTRIAN_FRONTEND_KEYCTL_H

#include <openssl/evp.h>
#include <stddef.h>
#include <sys/types.h>

#include "frontend/keyproc.h"

struct bx_config;

struct fe_keyctl {
    pid_t pid;                  /* the key process, 0 when not running */
    int ctl;                    /* control socket, -1 when not running */
    int own;                    /* the master's own sign channel (its TLS warm-up) */
    /* Sign channels made ahead, in batches of KP_CHAN_BATCH whose key-process
     * ends went over in one message; our ends, none yet given to anyone. */
    int pool[KP_CHAN_BATCH];
    size_t npool;
};

/* Forks the key process. Called while still root, it switches to the
 * configured user keeping only CAP_DAC_READ_SEARCH; otherwise it runs as we
 * do. close_fds are the master's descriptors it must not keep. Sets this
 * process's sign channel. 0, or -1 with err. */
int fe_keyctl_start(struct fe_keyctl *k, const struct bx_config *cfg, const int *close_fds,
                    size_t nclose, char *err, size_t errlen);
/* Has the key process load every vhost's key as generation gen (dropping
 * generations older than oldest), and gives each key's public half in
 * pubs[cfg->nvhosts] (the caller frees them). On error the running
 * generations stay and err names the vhost and the file. */
int fe_keyctl_load(struct fe_keyctl *k, const struct bx_config *cfg, unsigned gen, unsigned oldest,
                   EVP_PKEY **pubs, char *err, size_t errlen);
/* One key loaded into the pending generation gen (not committed): its
 * public half in *pub (the caller frees it). What fe_keyctl_load does per
 * vhost; an upgrade's check uses it alone, then fe_keyctl_abort, so the key
 * process reads keys of a configuration the master never parsed (its key
 * files, from the -t run's report) and keeps no half generation. 0, or -1
 * with err naming the vhost and the file. */
int fe_keyctl_try(struct fe_keyctl *k, unsigned gen, size_t vhost, size_t nvhosts, const char *name,
                  const char *path, EVP_PKEY **pub, char *err, size_t errlen);
/* Drops the pending generation (the committed ones stay as they are). */
void fe_keyctl_abort(struct fe_keyctl *k);
/* A sign channel never given to anyone: the key process has the other end.
 * Taken from the pool, which is refilled with a batch when empty. The caller
 * gives it to the one child it forks, then closes it. -1 when the key
 * process is gone. */
int fe_keyctl_channel(struct fe_keyctl *k);
/* In every process forked from the master (children of any kind): closes
 * the pool, whose channels belong to children forked later. */
void fe_keyctl_close_pool(struct fe_keyctl *k);
/* After the key process exited (reaped by the caller). */
void fe_keyctl_gone(struct fe_keyctl *k);
/* Closes the control socket (the key process exits) and waits for it briefly. */
void fe_keyctl_stop(struct fe_keyctl *k);

#endif
