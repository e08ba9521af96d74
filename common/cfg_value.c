/* SPDX-License-Identifier: BSD-2-Clause */
/* Configuration values to numbers (cfg.h, cfg_int.h): durations ("30s",
 * 0.5, "250ms"), sizes (65536, "64K", "1G"), TLS protocol versions. Also
 * used by the bm_conf_* accessors, so a module's block reads its values as
 * the core's do. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "common/cfg.h"
#include "common/cfg_int.h"

bool bx_cfg_is_int(const config_setting_t *s)
{
    int t = config_setting_type(s);
    return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static int parse_size(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    int64_t mul = 1;
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'K':
        mul = 1024;
        end++;
        break;
    case 'M':
        mul = 1024 * 1024;
        end++;
        break;
    case 'G':
        mul = INT64_C(1024) * 1024 * 1024;
        end++;
        break;
    default: return -1;
    }
    if ((*end == 'B' || *end == 'b') && mul > 1)
        end++;
    if (*end || v > INT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

/* Multiplier to milliseconds of a duration's unit: "ms", "s", "m", "h", "d". */
static double duration_unit(const char *u)
{
    static const struct {
        const char *name;
        double ms;
    } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strcmp(u, units[i].name) == 0)
            return units[i].ms;
    return 0;
}

int bx_cfg_duration_ms(const config_setting_t *s, double *ms)
{
    int t = config_setting_type(s);
    if (bx_cfg_is_int(s)) {
        *ms = (double)config_setting_get_int64(s) * 1000.0;
        return 0;
    }
    if (t == CONFIG_TYPE_FLOAT) {
        *ms = config_setting_get_float(s) * 1000.0;
        return 0;
    }
    if (t != CONFIG_TYPE_STRING)
        return -1;
    const char *str = config_setting_get_string(s);
    char *end;
    errno = 0;
    double n = strtod(str, &end);
    /* digits first: no "inf", "nan", hex or leading blanks */
    if (errno || end == str || !isdigit((unsigned char)*str) || n < 0)
        return -1;
    double mul = duration_unit(end);
    if (mul == 0)
        return -1;
    *ms = n * mul;
    return 0;
}

int bx_cfg_size(const config_setting_t *s, int64_t *bytes)
{
    if (bx_cfg_is_int(s)) {
        *bytes = config_setting_get_int64(s);
        return 0;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return -1;
    return parse_size(config_setting_get_string(s), bytes);
}

int bx_cfg_tls_version(const char *name)
{
    if (strcmp(name, "TLSv1.2") == 0)
        return TLS1_2_VERSION;
    if (strcmp(name, "TLSv1.3") == 0)
        return TLS1_3_VERSION;
    return 0;
}
