/* SPDX-License-Identifier: BSD-2-Clause */
/* The key process: the only process of the frontend that ever holds a vhost's
 * private key (the pattern of h2o's neverbleed and the OpenSSH monitor).
 *
 * The master forks it before anything else and talks to it over one
 * SOCK_SEQPACKET control socket (credentials checked on every message): it
 * tells it which key file to load for each vhost of a generation, and hands it
 * one end of a private socketpair per process that may sign (itself and each
 * handshake child; SCM_RIGHTS, KP_CHAN_BATCH at a time). On a sign channel the key process answers one
 * thing only: "sign these bytes with the key of vhost V of generation G". It
 * reads every channel without blocking, one request per channel per turn, so
 * a slow or hostile child delays no one but itself.
 *
 * Everything here is the wire format plus the two halves' entry points; the
 * master side is keyctl.h, the OpenSSL key stub the children use keystub.h. */
#ifndef BACTRIAN_FRONTEND_KEYPROC_H
#define BACTRIAN_FRONTEND_KEYPROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KP_MAX_DATA 1024        /* an RSA-8192 block; the largest input or signature */
#define KP_MAX_PATH 1024
#define KP_MAX_NAME 256
#define KP_MAX_SPKI 2048        /* DER public key of an RSA-8192 key fits */
#define KP_MAX_VHOSTS 4096
#define KP_GENS 8               /* key generations kept (the running one and older) */
#define KP_CHAN_BATCH 32        /* sign channels handed over in one control message */

/* ---- sign channel (one per signing process) ---- */
enum kp_op {
    KP_ECDSA = 1,               /* data: a digest (<= 64 bytes); answer: DER ECDSA-Sig-Value */
    KP_RSA_PKCS1 = 2,           /* data: a DigestInfo; the key process pads (type 1) */
    KP_RSA_PSS = 3,             /* data: a PSS-encoded block of the modulus size; checked to be
                                 * one before the private operation (never a raw decryption) */
};

struct kp_sign_req {
    uint32_t seq;               /* echoed, so a late answer is never taken for the next one */
    uint32_t gen, vhost, op, len;
    unsigned char data[KP_MAX_DATA];
};
#define KP_SIGN_REQ_HDR ((size_t)offsetof(struct kp_sign_req, data))

struct kp_sign_rep {
    uint32_t seq;
    int32_t status;             /* 0 ok, -1 refused or failed */
    uint32_t len;
    unsigned char sig[KP_MAX_DATA];
};
#define KP_SIGN_REP_HDR ((size_t)offsetof(struct kp_sign_rep, sig))

/* ---- control channel (master only) ---- */
enum kp_ctl {
    KP_CTL_LOAD = 1,            /* load path as vhost's key of generation gen (pending) */
    KP_CTL_COMMIT = 2,          /* the pending generation is complete; drop gens < oldest */
    KP_CTL_ABORT = 3,           /* forget the pending generation */
    KP_CTL_CHANNEL = 4,         /* 1 to KP_CHAN_BATCH SCM_RIGHTS descriptors: new sign
                                 * channels, each for one process (no answer) */
};

struct kp_ctl_msg {
    uint32_t seq;               /* echoed in the answer */
    uint32_t type, gen, vhost, nvhosts, oldest;
    char name[KP_MAX_NAME];     /* the vhost's name, for error messages */
    char path[KP_MAX_PATH];
};

struct kp_ctl_rep {
    uint32_t seq;
    int32_t status;             /* 0 ok, -1 with err */
    uint32_t len;               /* LOAD: the key's public half (DER SubjectPublicKeyInfo) */
    unsigned char spki[KP_MAX_SPKI];
    char err[512];
};

/* What the key process starts from (filled by the master before the fork). */
struct kp_start {
    int ctl;                    /* its end of the control socket */
    pid_t master;               /* the only peer allowed on ctl */
    int drop;                   /* 1: switch to uid/gid keeping only CAP_DAC_READ_SEARCH */
    uid_t uid;
    gid_t gid;
};

/* The key process's main: never returns. */
_Noreturn void kp_main(const struct kp_start *st);

/* Loads a private key file (PEM) the key process supports (RSA, EC P-256 or
 * P-384). NULL with err naming the file and the reason. Also used by -t. */
struct evp_pkey_st *kp_load_key(const char *path, char *err, size_t errlen);

/* Confines the key process after its setup: no_new_privs, not dumpable, and
 * its seccomp and Landlock profile (BX_SANDBOX_KEYPROC, common/sandbox.h). */
int keyproc_confine(char *err, size_t errlen);

#endif
