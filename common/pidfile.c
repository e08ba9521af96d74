/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/pidfile.h"

static int lock_whole(int fd, short type, int cmd, struct flock *fl)
{
    memset(fl, 0, sizeof *fl);
    fl->l_type = type;
    fl->l_whence = SEEK_SET;
    return fcntl(fd, cmd, fl);
}

pid_t bx_pidfile_holder(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return errno == ENOENT ? 0 : -1;
    struct flock fl;
    pid_t pid = 0;
    if (lock_whole(fd, F_WRLCK, F_GETLK, &fl) == -1)
        pid = -1;
    else if (fl.l_type != F_UNLCK)
        pid = fl.l_pid;
    close(fd);
    return pid;
}

int bx_pidfile_create(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1) {
        snprintf(err, errlen, "cannot open pid file %s: %s", path, strerror(errno));
        return -1;
    }
    struct flock fl;
    if (lock_whole(fd, F_WRLCK, F_SETLK, &fl) == -1) {
        int e = errno;
        if (e == EAGAIN || e == EACCES) {
            pid_t holder = bx_pidfile_holder(path);
            snprintf(err, errlen,
                     "pid file %s is held by running process %ld; is it already running?", path,
                     (long)holder);
        } else {
            snprintf(err, errlen, "cannot lock pid file %s: %s", path, strerror(e));
        }
        close(fd);
        return -1;
    }
    char line[32];
    int n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == -1 || pwrite(fd, line, (size_t)n, 0) != n) {
        snprintf(err, errlen, "cannot write pid file %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void bx_pidfile_remove(const char *path, int fd)
{
    if (fd < 0)
        return;
    char line[32] = {0};
    ssize_t n = pread(fd, line, sizeof line - 1, 0);
    if (n > 0 && strtol(line, NULL, 10) == (long)getpid())
        unlink(path);
    close(fd);
}
