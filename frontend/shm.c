/* Shared regions with read-only views for children; see shm.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/shm.h"

#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)

int fe_shm_create(struct fe_shm *m, const char *name, size_t len)
{
    m->p = MAP_FAILED;
    m->len = len;
    m->ro_fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (m->ro_fd == -1)
        return -1;
    if (ftruncate(m->ro_fd, (off_t)len) == -1)
        goto fail;
    m->p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, m->ro_fd, 0);
    if (m->p == MAP_FAILED)
        goto fail;
    /* From here on the descriptor gives read-only mappings only. */
    if (fcntl(m->ro_fd, F_ADD_SEALS, SEALS) == -1)
        goto fail;
    return 0;
fail:;
    int e = errno;
    fe_shm_destroy(m);
    errno = e;
    return -1;
}

/* Sizes and maps the temporary file fd (named tmp); ro_fd opened from tmp. */
static int map_file(struct fe_shm *m, int fd, const char *tmp, uid_t uid, gid_t gid)
{
    if (fchmod(fd, 0440) == -1 ||
        ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) == -1) ||
        ftruncate(fd, (off_t)m->len) == -1)
        return -1;
    m->p = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m->p == MAP_FAILED)
        return -1;
    /* Opened by name: a read-only description of the same file. As root
     * the mode does not stop us; later we are the owner, who may not write. */
    m->ro_fd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    return m->ro_fd == -1 ? -1 : 0;
}

int fe_shm_create_file(struct fe_shm *m, const char *path, size_t len, uid_t uid, gid_t gid)
{
    m->p = MAP_FAILED;
    m->len = len;
    m->ro_fd = -1;
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
    if (m->p != MAP_FAILED && m->p)
        munmap(m->p, m->len);
    m->p = MAP_FAILED;
    fe_shm_close_fd(m);
}

int fe_shm_readonly(const struct fe_shm *m, size_t off, size_t len)
{
    if (len == 0)
        return 0;
    if (off > m->len || len > m->len - off || m->ro_fd == -1) {
        errno = EINVAL;
        return -1;
    }
    void *at = (char *)m->p + off;
    void *v = mmap(at, len, PROT_READ, MAP_SHARED | MAP_FIXED, m->ro_fd, (off_t)off);
    return v == at ? 0 : -1;
}

void fe_shm_close_fd(struct fe_shm *m)
{
    if (m->ro_fd != -1)
        close(m->ro_fd);
    m->ro_fd = -1;
}
