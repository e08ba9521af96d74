/* SPDX-License-Identifier: BSD-2-Clause */
/* static: files from a directory.
 *
 * Settings:
 *   root = "/var/www";            # required; relative to the config file's directory
 *   index = [ "index.html" ];     # tried in this order for a directory
 *   listing = false;              # a directory without index: listing (true) or 403
 *   symlinks_outside = false;     # follow symlinks that lead out of root
 *   dotfiles = false;             # serve names starting with '.' (.git, .env): 404 if not
 *   default_type = "application/octet-stream";
 *   cache_control = "";           # a Cache-Control header, when not empty
 *
 * Paths never escape root: the core has already decoded the path and removed
 * dot segments; an encoded slash (%2F) is refused; files are opened with
 * openat2(RESOLVE_BENEATH) relative to the root directory, so neither ".."
 * nor a symlink can lead outside unless symlinks_outside is set. Responses
 * carry ETag and Last-Modified, answer If-None-Match / If-Modified-Since with
 * 304, and serve single and multiple byte ranges (multipart/byteranges; parsed,
 * sorted and merged by range.c, more than BE_RANGE_MAX of them get the whole file);
 * bodies go out with sendfile. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bactrian/module.h>

#include "backend/modules/range.h"

#define MAX_LISTING 10000

struct st {
    const char *root;
    const char *const *index;
    size_t nindex;
    bool listing;
    bool symlinks_outside;
    bool dotfiles;
    const char *default_type;
    const char *cache_control;
    int rootfd;                   /* per worker */
    bool no_openat2;
};

/* clang-format off */
static const struct { const char *ext, *type; } mime[] = {
    {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"}, {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"}, {"md", "text/markdown; charset=utf-8"},
    {"xml", "application/xml"}, {"svg", "image/svg+xml"}, {"png", "image/png"},
    {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
    {"webp", "image/webp"}, {"avif", "image/avif"}, {"ico", "image/x-icon"},
    {"bmp", "image/bmp"}, {"woff", "font/woff"}, {"woff2", "font/woff2"}, {"ttf", "font/ttf"},
    {"otf", "font/otf"}, {"pdf", "application/pdf"}, {"zip", "application/zip"},
    {"gz", "application/gzip"}, {"tar", "application/x-tar"}, {"wasm", "application/wasm"},
    {"mp3", "audio/mpeg"}, {"ogg", "audio/ogg"}, {"wav", "audio/wav"}, {"mp4", "video/mp4"},
    {"webm", "video/webm"}, {"csv", "text/csv; charset=utf-8"},
    {"map", "application/json"}, {"webmanifest", "application/manifest+json"},
};
/* clang-format on */

static const char *mime_type(const struct st *s, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot && dot[1])
        for (size_t i = 0; i < sizeof mime / sizeof mime[0]; i++)
            if (strcasecmp(dot + 1, mime[i].ext) == 0)
                return mime[i].type;
    return s->default_type;
}

/* ---- lifecycle -------------------------------------------------------------------- */

static int st_init(struct bm_conf *conf, void **inst)
{
    static const char *const def_index[] = {"index.html", NULL};
    struct st *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->rootfd = -1;
    *inst = s;
    s->root = bm_conf_path(conf, "root", NULL);
    s->nindex = bm_conf_strings(conf, "index", def_index, &s->index);
    s->listing = bm_conf_bool(conf, "listing", false);
    s->symlinks_outside = bm_conf_bool(conf, "symlinks_outside", false);
    s->dotfiles = bm_conf_bool(conf, "dotfiles", false);
    s->default_type = bm_conf_string(conf, "default_type", "application/octet-stream");
    s->cache_control = bm_conf_string(conf, "cache_control", "");
    for (size_t i = 0; i < s->nindex; i++)
        if (!s->index[i][0] || strchr(s->index[i], '/'))
            bm_conf_error(conf, "index", "'%s' must be a plain file name", s->index[i]);
    if (!s->root) {
        bm_conf_error(conf, NULL, "'root' is required: the directory to serve");
        return 0;
    }
    /* A root that does not exist yet (a site not deployed, a disk not
     * mounted) is only a warning: requests get 404 until it appears. */
    struct stat sb;
    if (stat(s->root, &sb) == -1)
        bm_log(BM_LOG_WARN, "static: root %s: %s", s->root, strerror(errno));
    else if (!S_ISDIR(sb.st_mode))
        bm_conf_error(conf, "root", "%s is not a directory", s->root);
    return 0;
}

static bool open_root(struct st *s)
{
    if (s->rootfd == -1)
        s->rootfd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return s->rootfd != -1;
}

static int st_worker_init(void *inst)
{
    struct st *s = inst;
    if (!open_root(s))
        bm_log(BM_LOG_WARN, "static: cannot open root %s: %s", s->root, strerror(errno));
    /* The confined worker reads only beneath what we declare: the root, or
     * everything when symlinks may lead out of it. */
    else if (bm_sandbox_allow_read(s->symlinks_outside ? "/" : s->root) == -1)
        bm_log(BM_LOG_WARN, "static: root %s: %s", s->root, strerror(errno));
    return 0;
}

static void st_worker_exit(void *inst)
{
    struct st *s = inst;
    if (s->rootfd != -1)
        close(s->rootfd);
    s->rootfd = -1;
}

static void st_fini(void *inst)
{
    free(inst);
}

/* ---- opening below root ------------------------------------------------------------- */

static int open_below(struct st *s, const char *rel, int flags)
{
    if (!s->symlinks_outside && !s->no_openat2) {
        struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
        long fd = syscall(SYS_openat2, s->rootfd, rel, &how, sizeof how);
        if (fd != -1 || errno != ENOSYS)
            return (int)fd;
        s->no_openat2 = true;
    }
    int fd = openat(s->rootfd, rel, flags | O_CLOEXEC);
    if (fd == -1 || s->symlinks_outside)
        return fd;
    /* old kernels: check where the file really is */
    char proc[64], real[4096];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, real, sizeof real - 1);
    size_t rl = strlen(s->root);
    if (n < 0 || (size_t)n < rl || strncmp(real, s->root, rl) != 0 ||
        (real[rl] != '/' && (size_t)n != rl)) {
        close(fd);
        errno = EXDEV;
        return -1;
    }
    return fd;
}

static int errno_status(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG: return 404;
    default: return 403; /* EACCES, EXDEV (escape), ELOOP ... */
    }
}

/* ---- conditionals and ranges -------------------------------------------------------- */

static bool etag_in_list(const char *list, const char *etag)
{
    /* weak comparison: W/"x" matches "x" */
    const char *bare = etag;
    size_t bl = strlen(bare);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *e = p;
        if (*e == '"') {
            e = strchr(e + 1, '"');
            if (!e)
                return false;
            e++;
        } else {
            while (*e && *e != ',')
                e++;
        }
        if ((size_t)(e - p) == bl && strncmp(p, bare, bl) == 0)
            return true;
        p = e;
    }
    return false;
}

/* ---- responses ------------------------------------------------------------------------ */

static void common_headers(struct st *s, struct bm_request *r, const struct stat *sb,
                           const char *etag)
{
    char date[40];
    struct tm tm;
    gmtime_r(&sb->st_mtime, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    bm_add_header(r, "Last-Modified", date);
    bm_add_header(r, "ETag", etag);
    bm_add_header(r, "Accept-Ranges", "bytes");
    if (s->cache_control[0])
        bm_add_header(r, "Cache-Control", s->cache_control);
}

static bool not_modified(struct bm_request *r, const struct stat *sb, const char *etag)
{
    const char *inm = bm_header(r, "If-None-Match");
    if (inm)
        return etag_in_list(inm, etag);
    const char *ims = bm_header(r, "If-Modified-Since");
    if (ims) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *e = strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        if (e && !*e)
            return sb->st_mtime <= timegm(&tm);
    }
    return false;
}

/* If-Range: the range applies only when the validator still matches. */
static bool if_range_ok(struct bm_request *r, const struct stat *sb, const char *etag,
                        const char *lastmod)
{
    const char *ir = bm_header(r, "If-Range");
    if (!ir)
        return true;
    if (ir[0] == '"')
        return strcmp(ir, etag) == 0;
    return strcmp(ir, lastmod) == 0 && sb != NULL;
}

static void send_ranges(struct bm_request *r, int fd, const struct stat *sb, const char *type,
                        struct be_range *rg, int n)
{
    if (n == 1) {
        bm_add_headerf(r, "Content-Range", "bytes %lld-%lld/%lld", (long long)rg[0].first,
                       (long long)rg[0].last, (long long)sb->st_size);
        bm_add_header(r, "Content-Type", type);
        bm_set_status(r, 206);
        bm_body_add_file(r, fd, rg[0].first, rg[0].last - rg[0].first + 1, true);
        bm_finish(r);
        return;
    }
    char boundary[40];
    snprintf(boundary, sizeof boundary, "bactrian%08lx%08lx", (unsigned long)sb->st_ino,
             (unsigned long)sb->st_mtime ^ (unsigned long)rg[0].first);
    bm_add_headerf(r, "Content-Type", "multipart/byteranges; boundary=%s", boundary);
    bm_set_status(r, 206);
    for (int i = 0; i < n; i++) {
        char part[512];
        int k =
            snprintf(part, sizeof part,
                     "%s--%s\r\nContent-Type: %s\r\nContent-Range: bytes %lld-%lld/%lld\r\n\r\n",
                     i ? "\r\n" : "", boundary, type, (long long)rg[i].first, (long long)rg[i].last,
                     (long long)sb->st_size);
        bm_body_add(r, part, (size_t)k);
        bm_body_add_file(r, fd, rg[i].first, rg[i].last - rg[i].first + 1, false);
    }
    char tail[64];
    int k = snprintf(tail, sizeof tail, "\r\n--%s--\r\n", boundary);
    bm_body_add(r, tail, (size_t)k);
    close(fd);
    bm_finish(r);
}

static void serve_file(struct st *s, struct bm_request *r, int fd, const struct stat *sb,
                       const char *name)
{
    char etag[64], lastmod[40];
    struct tm tm;
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)sb->st_mtime,
             (unsigned long long)sb->st_size);
    gmtime_r(&sb->st_mtime, &tm);
    strftime(lastmod, sizeof lastmod, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    common_headers(s, r, sb, etag);
    if (not_modified(r, sb, etag)) {
        close(fd);
        bm_set_status(r, 304);
        bm_finish(r);
        return;
    }
    const char *type = mime_type(s, name);
    const char *range = bm_header(r, "Range");
    if (range && bm_method_bit(r) == BM_GET && if_range_ok(r, sb, etag, lastmod)) {
        struct be_range rg[BE_RANGE_MAX];
        int n = be_range_parse(range, sb->st_size, rg);
        if (n == 0) {
            close(fd);
            bm_add_headerf(r, "Content-Range", "bytes */%lld", (long long)sb->st_size);
            bm_respond_error(r, 416);
            return;
        }
        if (n > 0) {
            send_ranges(r, fd, sb, type, rg, n);
            return;
        }
    }
    bm_add_header(r, "Content-Type", type);
    bm_body_add_file(r, fd, 0, sb->st_size, true);
    bm_finish(r);
}

/* ---- directory listing ----------------------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void put_html(struct bm_request *r, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': bm_body_add(r, "&lt;", 4); break;
        case '>': bm_body_add(r, "&gt;", 4); break;
        case '&': bm_body_add(r, "&amp;", 5); break;
        case '"': bm_body_add(r, "&quot;", 6); break;
        default: bm_body_add(r, s, 1);
        }
    }
}

static void put_url(struct bm_request *r, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~/", c)) {
            bm_body_add(r, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            bm_body_add(r, e, 3);
        }
    }
}

static void send_listing(struct bm_request *r, int dirfd)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        bm_respond_error(r, 403);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < MAX_LISTING) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn)
                break;
            names = nn;
        }
        size_t l = strlen(de->d_name);
        char *copy = malloc(l + 2);
        if (!copy)
            break;
        memcpy(copy, de->d_name, l + 1);
        if (de->d_type == DT_DIR) {
            copy[l] = '/';
            copy[l + 1] = '\0';
        }
        names[n++] = copy;
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    bm_add_header(r, "Content-Type", "text/html; charset=utf-8");
    bm_body_add(r, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ", 64);
    put_html(r, bm_path(r));
    bm_body_add(r, "</title></head><body><h1>Index of ", 34);
    put_html(r, bm_path(r));
    bm_body_add(r, "</h1><ul>\n", 10);
    for (size_t i = 0; i < n; i++) {
        bm_body_add(r, "<li><a href=\"", 13);
        put_url(r, names[i]);
        bm_body_add(r, "\">", 2);
        put_html(r, names[i]);
        bm_body_add(r, "</a></li>\n", 10);
        free(names[i]);
    }
    free(names);
    bm_body_add(r, "</ul></body></html>\n", 20);
    bm_finish(r);
}

/* ---- the handler ------------------------------------------------------------------------ */

static void redirect_slash(struct bm_request *r)
{
    const char *q = bm_query(r);
    char loc[8192];
    snprintf(loc, sizeof loc, "%s/%s%s", bm_path(r), q ? "?" : "", q ? q : "");
    /* the location is a path: re-encode what could be misread */
    char enc[8192 * 3];
    size_t o = 0;
    for (const char *p = loc; *p && o + 4 < sizeof enc; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\') {
            o += (size_t)snprintf(enc + o, sizeof enc - o, "%%%02X", c);
        } else {
            enc[o++] = (char)c;
        }
    }
    enc[o] = '\0';
    bm_add_header(r, "Location", enc);
    bm_respond(r, 301, "text/plain; charset=utf-8", "Moved Permanently\n", 18);
}

/* True when a component of the path below the mount starts with '.': .git,
 * .env, .htpasswd and their contents are not published by accident. The
 * core removed "." and ".." segments already, so any dot here is a name. */
static bool hidden_path(const char *info)
{
    for (const char *p = info; p; p = strchr(p, '/')) {
        while (*p == '/')
            p++;
        if (*p == '.')
            return true;
    }
    return false;
}

static int st_handle(struct bm_request *r, void *inst)
{
    struct st *s = inst;
    if (bm_path_had_encoded_slash(r) || (!s->dotfiles && hidden_path(bm_path_info(r)))) {
        bm_respond_error(r, 404);
        return BM_DONE;
    }
    if (!open_root(s)) {
        bm_respond_error(r, 404);
        return BM_DONE;
    }
    const char *info = bm_path_info(r);
    while (*info == '/')
        info++;
    char rel[4096];
    if (snprintf(rel, sizeof rel, "%s", *info ? info : ".") >= (int)sizeof rel) {
        bm_respond_error(r, 414);
        return BM_DONE;
    }
    int fd = open_below(s, rel, O_RDONLY | O_NONBLOCK);
    if (fd == -1) {
        if (errno == EXDEV || errno == ELOOP)
            bm_log(BM_LOG_INFO, "static: %s: refused %s (leads outside %s)", bm_client_str(r),
                   bm_path(r), s->root);
        bm_respond_error(r, errno_status(errno));
        return BM_DONE;
    }
    struct stat sb;
    if (fstat(fd, &sb) == -1) {
        close(fd);
        return BM_ERROR;
    }
    if (S_ISDIR(sb.st_mode)) {
        size_t pl = strlen(bm_path(r));
        if (pl == 0 || bm_path(r)[pl - 1] != '/') {
            close(fd);
            redirect_slash(r);
            return BM_DONE;
        }
        for (size_t i = 0; i < s->nindex; i++) {
            char ip[4096 + 256];
            snprintf(ip, sizeof ip, "%s/%s", rel, s->index[i]);
            int ifd = open_below(s, ip, O_RDONLY | O_NONBLOCK);
            struct stat isb;
            if (ifd == -1)
                continue;
            if (fstat(ifd, &isb) == 0 && S_ISREG(isb.st_mode)) {
                close(fd);
                serve_file(s, r, ifd, &isb, s->index[i]);
                return BM_DONE;
            }
            close(ifd);
        }
        if (s->listing) {
            send_listing(r, fd);
            return BM_DONE;
        }
        close(fd);
        bm_respond_error(r, 403);
        return BM_DONE;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        bm_respond_error(r, 403);
        return BM_DONE;
    }
    serve_file(s, r, fd, &sb, rel);
    return BM_DONE;
}

const struct bm_module bactrian_module = {
    .api_version = BACTRIAN_MODULE_API_VERSION,
    .name = "static",
    .init = st_init,
    .worker_init = st_worker_init,
    .handle = st_handle,
    .worker_exit = st_worker_exit,
    .fini = st_fini,
};
