/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared regions with read-only views for children; see shm.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "frontend/shm.h"

#ifndef __NR_mseal
#define __NR_mseal 462 /* the same on every architecture (Linux 6.10) */
#endif

#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)

/* The read-only view of fd, which must give no writable mappings now. */
static int map_view(struct fe_shm *m, int fd)
{
    void *v = mmap(NULL, m->len, PROT_READ, MAP_SHARED, fd, 0);
    if (v == MAP_FAILED)
        return -1;
    m->ro = v;
    return 0;
}

int fe_shm_create(struct fe_shm *m, const char *name, size_t len, bool children_write)
{
    m->p = MAP_FAILED;
    m->ro = MAP_FAILED;
    m->len = len;
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd == -1)
        return -1;
    int rc = -1;
    if (ftruncate(fd, (off_t)len) == 0 &&
        (m->p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) != MAP_FAILED &&
        (children_write || madvise(m->p, len, MADV_DONTFORK) == 0) &&
        /* From here on the memfd gives read-only mappings only. */
        fcntl(fd, F_ADD_SEALS, SEALS) == 0 && map_view(m, fd) == 0)
        rc = 0;
    int e = errno;
    close(fd);
    if (rc == -1)
        fe_shm_destroy(m);
    errno = e;
    return rc;
}

/* Sizes and maps the temporary file fd (named tmp); the view through a
 * read-only description of it, opened by name. As root the mode does not
 * stop that open; later we are the owner, who may not write. */
static int map_file(struct fe_shm *m, int fd, const char *tmp, uid_t uid, gid_t gid)
{
    if (fchmod(fd, 0440) == -1 ||
        ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) == -1) ||
        ftruncate(fd, (off_t)m->len) == -1)
        return -1;
    m->p = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m->p == MAP_FAILED)
        return -1;
    int ro = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (ro == -1)
        return -1;
    int rc = map_view(m, ro);
    close(ro);
    return rc;
}

int fe_shm_create_file(struct fe_shm *m, const char *path, size_t len, uid_t uid, gid_t gid)
{
    m->p = MAP_FAILED;
    m->ro = MAP_FAILED;
    m->len = len;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp)
        return -1;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".XXXXXX", 8);
    int fd = mkostemp(tmp, O_CLOEXEC);
    int rc = -1;
    if (fd != -1 && map_file(m, fd, tmp, uid, gid) == 0 && rename(tmp, path) == 0)
        rc = 0;
    int e = errno;
    if (fd != -1)
        close(fd);
    if (rc == -1) {
        if (fd != -1)
            unlink(tmp);
        fe_shm_destroy(m);
    }
    free(tmp);
    errno = e;
    return rc;
}

void fe_shm_destroy(struct fe_shm *m)
{
    if (m->p && m->p != MAP_FAILED)
        munmap(m->p, m->len);
    if (m->ro && m->ro != MAP_FAILED)
        munmap((void *)m->ro, m->len);
    m->p = MAP_FAILED;
    m->ro = MAP_FAILED;
}

int fe_shm_child(const struct fe_shm *m, size_t off, size_t len)
{
    char *p = m->p;
    if (off > m->len || len > m->len - off) {
        errno = EINVAL;
        return -1;
    }
    if ((off && munmap(p, off) == -1) ||
        (off + len < m->len && munmap(p + off + len, m->len - off - len) == -1))
        return -1;
    if (len && syscall(__NR_mseal, p + off, len, 0) == -1 && errno != ENOSYS)
        return -1;
    return 0;
}

bool fe_shm_can_seal(void)
{
    return syscall(__NR_mseal, NULL, 0, 0) == 0 || errno != ENOSYS;
}
