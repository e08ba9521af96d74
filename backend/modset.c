/* SPDX-License-Identifier: BSD-2-Clause */
/* Module loading and settings (see modset.h and bactrian/module.h). */
#include "config.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/modset.h"
#include "backend/router.h"
#include "bactrian/module.h"
#include "common/cfg.h"
#include "common/log.h"
#include "common/xalloc.h"

#define MAX_READ_KEYS 128

struct bm_conf {
    struct bx_config *cfg;
    struct be_modset *set;
    const struct bx_module_conf *mc;
    struct bx_buf *errs;
    int nerrors;
    const char *read[MAX_READ_KEYS];
    size_t nread;
};

/* ---- settings --------------------------------------------------------------------- */

static void conf_verror(struct bm_conf *c, const config_setting_t *s, const char *name,
                        const char *fmt, va_list ap)
{
    if (!s)
        s = c->mc->setting;
    const char *file = config_setting_source_file(s);
    bx_buf_printf(c->errs, "%s:%u: setting '%s%s%s': ", file ? file : c->cfg->path,
                  config_setting_source_line(s), c->mc->setting_path, name ? "." : "",
                  name ? name : "");
    bx_buf_vprintf(c->errs, fmt, ap);
    bx_buf_append_str(c->errs, "\n");
    c->nerrors++;
}

static void conf_error_at(struct bm_conf *c, const config_setting_t *s, const char *name,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void conf_error_at(struct bm_conf *c, const config_setting_t *s, const char *name,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    conf_verror(c, s, name, fmt, ap);
    va_end(ap);
}

void bm_conf_error(struct bm_conf *c, const char *name, const char *fmt, ...)
{
    va_list ap;
    const config_setting_t *s = name ? config_setting_get_member(c->mc->setting, name) : NULL;
    va_start(ap, fmt);
    conf_verror(c, s, name, fmt, ap);
    va_end(ap);
}

static const config_setting_t *lookup(struct bm_conf *c, const char *name)
{
    bool seen = false;
    for (size_t i = 0; i < c->nread; i++)
        if (strcmp(c->read[i], name) == 0)
            seen = true;
    if (!seen && c->nread < MAX_READ_KEYS)
        c->read[c->nread++] = bx_config_strdup(c->cfg, name);
    return config_setting_get_member(c->mc->setting, name);
}

bool bm_conf_has(struct bm_conf *c, const char *name)
{
    return lookup(c, name) != NULL;
}

const char *bm_conf_string(struct bm_conf *c, const char *name, const char *def)
{
    const config_setting_t *s = lookup(c, name);
    if (!s)
        return def ? bx_config_strdup(c->cfg, def) : NULL;
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        conf_error_at(c, s, name, "must be a string");
        return def;
    }
    return bx_config_strdup(c->cfg, config_setting_get_string(s));
}

const char *bm_conf_path(struct bm_conf *c, const char *name, const char *def)
{
    const char *v = bm_conf_string(c, name, def);
    return v ? bx_config_path(c->cfg, v) : NULL;
}

long long bm_conf_int(struct bm_conf *c, const char *name, long long def)
{
    const config_setting_t *s = lookup(c, name);
    if (!s)
        return def;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
        conf_error_at(c, s, name, "must be an integer");
        return def;
    }
    return config_setting_get_int64(s);
}

/* A range error names the mount too: one module is often mounted twice. */
static void range_error(struct bm_conf *c, const config_setting_t *s, const char *name, double lo,
                        double hi, const char *unit)
{
    conf_error_at(c, s, name, "must be %.15g-%.15g%s (module %s on %s)", lo, hi, unit,
                  c->mc->module, c->mc->path);
}

int bm_conf_duration_ms(struct bm_conf *c, const char *name, uint64_t def, uint64_t min,
                        uint64_t max, uint64_t *out)
{
    const config_setting_t *s = lookup(c, name);
    double ms;
    *out = def;
    if (!s)
        return 0;
    if (bx_cfg_duration_ms(s, &ms) == -1) {
        conf_error_at(c, s, name, "%s (module %s on %s)", BX_CFG_DURATION_HINT, c->mc->module,
                      c->mc->path);
        return -1;
    }
    if (ms < (double)min || ms > (double)max) {
        range_error(c, s, name, (double)min / 1000.0, (double)max / 1000.0, " seconds");
        return -1;
    }
    *out = (uint64_t)ms;
    return 0;
}

int bm_conf_size(struct bm_conf *c, const char *name, uint64_t def, uint64_t min, uint64_t max,
                 uint64_t *out)
{
    const config_setting_t *s = lookup(c, name);
    int64_t n;
    *out = def;
    if (!s)
        return 0;
    if (bx_cfg_size(s, &n) == -1) {
        conf_error_at(c, s, name, "%s (module %s on %s)", BX_CFG_SIZE_HINT, c->mc->module,
                      c->mc->path);
        return -1;
    }
    if (n < 0 || (uint64_t)n < min || (uint64_t)n > max) {
        range_error(c, s, name, (double)min, (double)max, " bytes");
        return -1;
    }
    *out = (uint64_t)n;
    return 0;
}

bool bm_conf_bool(struct bm_conf *c, const char *name, bool def)
{
    const config_setting_t *s = lookup(c, name);
    if (!s)
        return def;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        conf_error_at(c, s, name, "must be true or false");
        return def;
    }
    return config_setting_get_bool(s) != 0;
}

size_t bm_conf_strings(struct bm_conf *c, const char *name, const char *const *def,
                       const char *const **out)
{
    const config_setting_t *s = lookup(c, name);
    size_t n = 0;
    const char **v;
    if (!s || (config_setting_type(s) != CONFIG_TYPE_STRING && !config_setting_is_aggregate(s))) {
        if (s)
            conf_error_at(c, s, name, "must be a string or an array of strings");
        while (def && def[n])
            n++;
        v = bx_xcalloc(n + 1, sizeof *v);
        for (size_t i = 0; i < n; i++)
            v[i] = bx_config_strdup(c->cfg, def[i]);
    } else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        n = 1;
        v = bx_xcalloc(2, sizeof *v);
        v[0] = bx_config_strdup(c->cfg, config_setting_get_string(s));
    } else {
        n = (size_t)config_setting_length(s);
        v = bx_xcalloc(n + 1, sizeof *v);
        for (size_t i = 0; i < n; i++) {
            const char *str = config_setting_get_string_elem(s, (int)i);
            if (!str) {
                conf_error_at(c, s, name, "element %zu must be a string", i);
                str = "";
            }
            v[i] = bx_config_strdup(c->cfg, str);
        }
    }
    /* the vector lives as long as the module set */
    c->set->allocs = bx_xrealloc(c->set->allocs, (c->set->nallocs + 1) * sizeof(void *));
    c->set->allocs[c->set->nallocs++] = v;
    *out = v;
    return n;
}

const char *bm_conf_mount_path(const struct bm_conf *c)
{
    return c->mc->path;
}

const char *bm_conf_vhost(const struct bm_conf *c)
{
    return c->mc->vhost;
}

static void check_unknown(struct bm_conf *c)
{
    static const char *const core[] = {"module", "vhost", "path"};
    int n = config_setting_length(c->mc->setting);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(c->mc->setting, (unsigned)i);
        const char *name = config_setting_name(s);
        bool known = false;
        for (size_t k = 0; k < sizeof core / sizeof core[0] && !known; k++)
            known = strcmp(core[k], name) == 0;
        for (size_t k = 0; k < c->nread && !known; k++)
            known = strcmp(c->read[k], name) == 0;
        if (!known)
            conf_error_at(c, s, name, "unknown setting");
    }
}

/* ---- loading ---------------------------------------------------------------------- */

/* dlopen() returns the object already loaded under the same name without
 * looking at the file, so a module replaced on disk since the running
 * generation loaded it (an upgrade, then HUP) would keep its old code. Opened
 * through a symlink of a name never used before, the loader compares the file
 * itself: an unchanged module shares the loaded object, a replaced one is
 * loaded anew. Any failure falls back to the plain name. */
static void *open_module(const char *file, const char *name)
{
    static unsigned long serial;
    char real[PATH_MAX], dir[PATH_MAX], alias[PATH_MAX + 64];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/bactrian-mod-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!realpath(file, real) || !mkdtemp(dir))
        return dlopen(file, RTLD_NOW | RTLD_LOCAL);
    snprintf(alias, sizeof alias, "%s/%ld-%lu-%s.so", dir, (long)getpid(), ++serial, name);
    void *h = NULL;
    if (symlink(real, alias) == 0) {
        h = dlopen(alias, RTLD_NOW | RTLD_LOCAL);
        unlink(alias);
    }
    rmdir(dir);
    return h ? h : dlopen(file, RTLD_NOW | RTLD_LOCAL); /* the error names the real file */
}

static const struct bm_module *load_one(struct bx_config *cfg, struct be_modset *set,
                                        const struct bx_module_conf *mc, struct bx_buf *errs)
{
    char file[4096];
    snprintf(file, sizeof file, "%s/%s.so", cfg->be.module_dir, mc->module);
    void *h = open_module(file, mc->module);
    if (!h) {
        bx_buf_printf(errs, "%s:%d: setting '%s.module': cannot load module %s: %s\n", cfg->path,
                      mc->line, mc->setting_path, file, dlerror());
        return NULL;
    }
    set->libs = bx_xrealloc(set->libs, (set->nlibs + 1) * sizeof *set->libs);
    set->libs[set->nlibs++] = h;
    const struct bm_module *m = dlsym(h, "bactrian_module");
    if (!m) {
        bx_buf_printf(errs, "%s:%d: setting '%s.module': %s does not export 'bactrian_module'\n",
                      cfg->path, mc->line, mc->setting_path, file);
        return NULL;
    }
    if (m->api_version < BACTRIAN_MODULE_API_MIN_VERSION ||
        m->api_version > BACTRIAN_MODULE_API_VERSION) {
        bx_buf_printf(errs,
                      "%s:%d: setting '%s.module': %s was built for module API version %d, "
                      "this backend takes versions %d to %d: rebuild it\n",
                      cfg->path, mc->line, mc->setting_path, file, m->api_version,
                      BACTRIAN_MODULE_API_MIN_VERSION, BACTRIAN_MODULE_API_VERSION);
        return NULL;
    }
    if (!m->name || strcmp(m->name, mc->module) != 0 || !m->handle) {
        bx_buf_printf(errs, "%s:%d: setting '%s.module': %s: %s\n", cfg->path, mc->line,
                      mc->setting_path, file,
                      !m->handle ? "the descriptor has no handle callback"
                                 : "the descriptor's name does not match the file name");
        return NULL;
    }
    return m;
}

int be_modset_load(struct bx_config *cfg, struct be_modset *set, struct bx_buf *errs)
{
    memset(set, 0, sizeof *set);
    size_t n = cfg->be.nmodules;
    set->v = bx_xcalloc(n + 1, sizeof *set->v);
    struct be_mount *mounts = bx_xcalloc(n + 1, sizeof *mounts);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bx_module_conf *mc = &cfg->be.modules[i];
        struct be_instance *in = &set->v[set->n];
        const struct bm_module *m = load_one(cfg, set, mc, errs);
        if (!m) {
            bad++;
            continue;
        }
        struct bm_conf c = {.cfg = cfg, .set = set, .mc = mc, .errs = errs};
        *in = (struct be_instance){.mod = m,
                                   .path = mc->path,
                                   .vhost = mc->vhost,
                                   .setting_path = mc->setting_path,
                                   .index = set->n,
                                   .methods = m->methods ? m->methods : (BM_GET | BM_HEAD)};
        /* ws_handoff exists only in descriptors of version 3 and later: an
         * older module's descriptor ends before it. */
        if (m->api_version >= 3 && m->ws && m->ws_handoff && m->ws_handoff->save &&
            m->ws_handoff->restore)
            in->handoff = m->ws_handoff;
        bx_ev_timer_init(&in->tick, NULL, in);
        int rc = m->init ? m->init(&c, &in->inst) : 0;
        check_unknown(&c);
        if (rc != 0 && c.nerrors == 0)
            conf_error_at(&c, NULL, NULL, "module '%s' refused its settings", m->name);
        if (rc != 0 || c.nerrors) {
            if (rc == 0 && m->fini)
                m->fini(in->inst);
            bad++;
            continue;
        }
        in->inited = true;
        mounts[set->n] = (struct be_mount){.vhost = mc->vhost, .path = mc->path, .target = in};
        set->n++;
    }
    set->router = be_router_build(cfg, mounts, set->n);
    free(mounts);
    return bad ? -1 : 0;
}

void be_modset_free(struct be_modset *set)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i].inited && set->v[i].mod->fini)
            set->v[i].mod->fini(set->v[i].inst);
    for (size_t i = 0; i < set->nlibs; i++)
        dlclose(set->libs[i]);
    be_router_free(set->router);
    for (size_t i = 0; i < set->nallocs; i++)
        free(set->allocs[i]);
    free(set->allocs);
    free(set->libs);
    free(set->v);
    memset(set, 0, sizeof *set);
}

static void tick_cb(struct bx_ev *ev, struct bx_ev_timer *t)
{
    struct be_instance *in = t->data;
    in->mod->tick(in->inst);
    bx_ev_timer_start(ev, t, in->mod->tick_ms ? in->mod->tick_ms : 1000);
}

int be_modset_worker_init(struct be_modset *set, struct bx_ev *ev)
{
    for (size_t i = 0; i < set->n; i++) {
        struct be_instance *in = &set->v[i];
        if (in->mod->worker_init && in->mod->worker_init(in->inst) != 0) {
            bx_log_error("%s (module %s, mounted at %s): worker_init failed", in->setting_path,
                         in->mod->name, in->path);
            return -1;
        }
        if (in->mod->tick) {
            bx_ev_timer_init(&in->tick, tick_cb, in);
            bx_ev_timer_start(ev, &in->tick, in->mod->tick_ms ? in->mod->tick_ms : 1000);
        }
    }
    return 0;
}

void be_modset_worker_exit(struct be_modset *set, struct bx_ev *ev)
{
    for (size_t i = 0; i < set->n; i++) {
        struct be_instance *in = &set->v[i];
        if (in->mod->tick)
            bx_ev_timer_stop(ev, &in->tick);
        if (in->mod->worker_exit)
            in->mod->worker_exit(in->inst);
    }
}

void be_modset_report_handoff(const struct be_modset *set, bool to_stderr)
{
    for (size_t i = 0; i < set->n; i++) {
        const struct be_instance *in = &set->v[i];
        if (!in->mod->ws || in->handoff)
            continue;
        if (to_stderr)
            fprintf(stderr,
                    "note: %s (module %s, mount %s): WebSocket sessions will not survive "
                    "a reload (the module has no hand-off hooks; they drain)\n",
                    in->setting_path, in->mod->name, in->path);
        else
            bx_log_notice("%s (module %s, mount %s): WebSocket sessions will not survive a "
                          "reload (the module has no hand-off hooks; they drain)",
                          in->setting_path, in->mod->name, in->path);
    }
}

bool be_modset_connect(const struct be_modset *set, const struct sockaddr *client, socklen_t len,
                       const struct be_instance **who)
{
    for (size_t i = 0; i < set->n; i++) {
        const struct be_instance *in = &set->v[i];
        if (in->mod->connect && in->mod->connect(client, len, in->inst) != 0) {
            if (who)
                *who = in;
            return false;
        }
    }
    return true;
}

void be_methods_str(unsigned methods, char *out, size_t outlen)
{
    static const char *const names[] = {"GET",     "HEAD",  "POST",  "PUT",    "DELETE",
                                        "OPTIONS", "PATCH", "TRACE", "CONNECT"};
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(methods & (1u << i)))
            continue;
        int k = snprintf(out + n, outlen - n, "%s%s", n ? ", " : "", names[i]);
        if (k < 0 || (size_t)k >= outlen - n)
            break;
        n += (size_t)k;
    }
}
