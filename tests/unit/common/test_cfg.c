/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include <check.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cfg.h"
#include "tests/unit/testutil.h"

static char *dir;
static char *conf_path;
static char *errors;
static struct bx_config cfg;

static void setup(void)
{
    dir = tu_tmpdir();
    errors = NULL;
    /* Files a valid config refers to. */
    free(tu_write_file(dir, "a.crt", "x"));
    free(tu_write_file(dir, "a.key", "x"));
    char *mods;
    if (asprintf(&mods, "%s/modules", dir) < 0)
        abort();
    mkdir(mods, 0755);
    free(mods);
}

static void teardown(void)
{
    free(errors);
    bx_config_free(&cfg);
    free(conf_path);
    char *cmd;
    if (asprintf(&cmd, "rm -rf '%s'", dir) >= 0 && system(cmd) != 0) {
        /* best effort */
    }
    free(cmd);
    free(dir);
}

/* Loads text as a config file; returns 0 or -1 with errors set. */
static int load(const char *text, int need)
{
    free(conf_path);
    conf_path = tu_write_file(dir, "bactrian.conf", text);
    free(errors);
    errors = NULL;
    return bx_config_load(&cfg, conf_path, need, &errors);
}

/* Asserts that loading fails with exactly this error line (after "FILE:"). */
static void expect_error(const char *text, int need, const char *want)
{
    ck_assert_int_eq(load(text, need), -1);
    char full[1024];
    snprintf(full, sizeof full, "%s:%s", conf_path, want);
    ck_assert_msg(strstr(errors, full) != NULL, "wanted:\n%sgot:\n%s", full, errors);
}

#define GOOD_BACKEND                                                                               \
    "backend: {\n"                                                                                 \
    "  socket = \"be.sock\";\n"                                                                    \
    "  module_dir = \"modules\";\n"                                                                \
    "  modules = ( { module = \"static\"; path = \"/\"; root = \"/var/www\"; },\n"                 \
    "              { module = \"echo\"; vhost = \"alt.test\"; path = \"/echo\"; } );\n"            \
    "};\n"

#define GOOD_VHOSTS                                                                                \
    "vhosts = ( { name = \"main.test\"; aliases = [ \"www.main.test\" ];\n"                        \
    "             cert = \"a.crt\"; key = \"a.key\"; },\n"                                         \
    "           { name = \"alt.test\"; cert = \"a.crt\"; key = \"a.key\"; } );\n"

#define GOOD_FRONTEND                                                                              \
    "frontend: {\n"                                                                                \
    "  max_children = 100; min_spare = 2; max_spare = 10;\n"                                       \
    "  handshake_timeout = 2.5;\n"                                                                 \
    "  services = ( { port = 8080; bind = [ \"127.0.0.1\", \"::1\" ]; },\n"                        \
    "               { port = 8443; bind = [ \"127.0.0.1\" ]; tls = true;\n"                        \
    "                 proxy_protocol = \"optional\"; proxy_from = [ \"10.0.0.0/8\" ];\n"           \
    "                 allow = [ \"0.0.0.0/0\", \"::/0\" ]; deny = [ \"192.0.2.7\" ]; } );\n"       \
    "  tls = { protocols = \"TLSv1.3\"; default_vhost = \"alt.test\"; };\n"                        \
    "};\n"

START_TEST(good_config)
{
    int rc = load(GOOD_FRONTEND GOOD_VHOSTS GOOD_BACKEND, BX_CONF_FRONTEND | BX_CONF_BACKEND);
    ck_assert_msg(rc == 0, "%s", errors ? errors : "");
    ck_assert_int_eq(cfg.fe.max_children, 100);
    ck_assert_int_eq(cfg.fe.per_ip_max, 64); /* default */
    ck_assert_int_eq(cfg.fe.handshake_timeout_ms, 2500);
    ck_assert_uint_eq(cfg.fe.nservices, 2);
    ck_assert_int_eq(cfg.fe.services[1].port, 8443);
    ck_assert(cfg.fe.services[1].tls);
    ck_assert_int_eq(cfg.fe.services[1].proxy_protocol, BX_PROXY_OPTIONAL);
    ck_assert_uint_eq(cfg.fe.services[1].proxy_from.n, 1);
    ck_assert_uint_eq(cfg.fe.services[1].allow.n, 2);
    ck_assert_uint_eq(cfg.fe.services[1].deny.n, 1);
    ck_assert_int_eq(cfg.fe.services[1].deny.v[0].prefix, 32);
    ck_assert_uint_eq(cfg.fe.services[0].allow.n + cfg.fe.services[0].deny.n, 0);
    ck_assert_int_eq(cfg.fe.tls.min_version, TLS1_3_VERSION);
    ck_assert_int_eq(cfg.fe.tls.max_version, TLS1_3_VERSION);
    ck_assert_uint_eq(cfg.nvhosts, 2);
    /* Relative paths are taken from the config file's directory. */
    char want[512];
    snprintf(want, sizeof want, "%s/a.crt", dir);
    ck_assert_str_eq(cfg.vhosts[0].cert, want);
    snprintf(want, sizeof want, "%s/be.sock", dir);
    ck_assert_str_eq(cfg.be.socket, want);
    /* A vhost without its own backend uses backend.socket. */
    ck_assert_str_eq(cfg.vhosts[0].backend, want);
    ck_assert_int_eq(cfg.be.socket_mode, 0660);
    ck_assert_int_eq(cfg.be.socket_proxy_protocol, BX_PROXY_OPTIONAL);
    ck_assert_int_ge(cfg.be.workers, 1); /* 0 means one per core */
    ck_assert_uint_eq(cfg.be.nmodules, 2);
    ck_assert_str_eq(cfg.be.modules[1].module, "echo");
    ck_assert_str_eq(cfg.be.modules[1].path, "/echo");
    ck_assert_str_eq(cfg.be.modules[0].vhost, "*");
    ck_assert_str_eq(cfg.be.modules[0].setting_path, "backend.modules.[0]");
    ck_assert_str_eq(config_setting_get_string(
                         config_setting_get_member(cfg.be.modules[0].setting, "root")),
                     "/var/www");
    ck_assert_ptr_eq(bx_config_find_vhost(&cfg, "WWW.Main.Test", 13), &cfg.vhosts[0]);
    ck_assert_ptr_eq(bx_config_default_vhost(&cfg), &cfg.vhosts[1]);
    ck_assert_ptr_null(bx_config_find_vhost(&cfg, "other.test", 10));
}
END_TEST

START_TEST(misspelled_setting)
{
    expect_error("backend: {\n  socket = \"x.sock\";\n  wokers = 4;\n};\n", BX_CONF_BACKEND,
                 "3: setting 'backend.wokers': unknown setting");
    expect_error("frontnd: { };\n", 0, "1: setting 'frontnd': unknown setting");
}
END_TEST

START_TEST(port_out_of_range)
{
    expect_error("frontend: {\n  services = (\n    { port = 80; },\n    { port = 70000; }\n  "
                 ");\n};\n",
                 0, "4: setting 'frontend.services.[1].port': must be 1-65535");
}
END_TEST

START_TEST(wrong_types)
{
    expect_error("backend: { socket = \"s\"; workers = \"four\"; };\n", 0,
                 "1: setting 'backend.workers': must be an integer");
    expect_error("backend: { socket = 5; };\n", 0,
                 "1: setting 'backend.socket': must be a string in double quotes");
    expect_error("frontend: { services = ( { port = 1; tls = \"yes\"; } ); };\n", 0,
                 "1: setting 'frontend.services.[0].tls': must be true or false");
    expect_error("frontend: { services = ( { port = 1; bind = \"127.0.0.1\"; } ); };\n", 0,
                 "1: setting 'frontend.services.[0].bind': must be an array of strings, like [ "
                 "\"a\", \"b\" ]");
    expect_error("backend: { socket = \"s\"; max_body_size = \"12Q\"; };\n", 0,
                 "1: setting 'backend.max_body_size': must be a size in bytes, like 65536 or "
                 "\"64K\", \"16M\", \"1G\"");
    expect_error("backend: { socket = \"s\"; idle_timeout = \"long\"; };\n", 0,
                 "1: setting 'backend.idle_timeout': " BX_CFG_DURATION_HINT);
}
END_TEST

/* Durations and sizes in every form the core takes (the modules read theirs
 * with the same parsers: bm_conf_duration_ms, bm_conf_size). */
START_TEST(duration_and_size_forms)
{
    static const struct {
        const char *v;
        int ms;
    } durs[] = {
        {"90", 90000},       {"2.5", 2500},       {"\"90s\"", 90000}, {"\"500ms\"", 500},
        {"\"1.5m\"", 90000}, {"\"1h\"", 3600000}, {"\"0.5s\"", 500},
    };
    for (size_t i = 0; i < sizeof durs / sizeof *durs; i++) {
        char text[200];
        snprintf(text, sizeof text, "backend: { socket = \"s\"; idle_timeout = %s; };\n",
                 durs[i].v);
        ck_assert_msg(load(text, 0) == 0, "%s: %s", durs[i].v, errors ? errors : "");
        ck_assert_int_eq(cfg.be.idle_timeout_ms, durs[i].ms);
        bx_config_free(&cfg);
    }
    static const char *const bad_durs[] = {"\"30x\"", "\"s\"",  "\" 30s\"", "\"inf\"",
                                           "\"-1s\"", "\"30\"", "true"};
    for (size_t i = 0; i < sizeof bad_durs / sizeof *bad_durs; i++) {
        char text[200];
        snprintf(text, sizeof text, "backend: { socket = \"s\"; idle_timeout = %s; };\n",
                 bad_durs[i]);
        expect_error(text, 0, "1: setting 'backend.idle_timeout': " BX_CFG_DURATION_HINT);
    }
    ck_assert_int_eq(load("backend: { socket = \"s\"; max_body_size = \"64KB\"; };\n", 0), 0);
    ck_assert_int_eq(cfg.be.max_body_size, 65536);
    bx_config_free(&cfg);
    ck_assert_int_eq(load("backend: { socket = \"s\"; max_body_size = \"2M\"; };\n", 0), 0);
    ck_assert_int_eq(cfg.be.max_body_size, 2 << 20);
}
END_TEST

START_TEST(bad_values)
{
    expect_error("frontend: { services = ( { port = 1; proxy_protocol = \"maybe\"; } ); };\n", 0,
                 "1: setting 'frontend.services.[0].proxy_protocol': must be \"off\", \"optional\" "
                 "or \"required\"");
    expect_error("frontend: { services = ( { port = 1; } ); tls = { protocols = "
                 "\"TLSv1.0:TLSv1.3\"; }; };\n",
                 0,
                 "1: setting 'frontend.tls.protocols': must be \"TLSv1.2:TLSv1.3\", \"TLSv1.2\" or "
                 "\"TLSv1.3\" (older versions are not supported)");
    expect_error("backend: { socket = \"s\"; socket_mode = \"0999\"; };\n", 0,
                 "1: setting 'backend.socket_mode': must be an octal file mode in quotes, like "
                 "\"0660\"");
    expect_error("backend: { socket = \"s\"; log_level = \"loud\"; };\n", 0,
                 "1: setting 'backend.log_level': must be one of error, warn, notice, info, debug");
    expect_error("frontend: { debug_ip = \"localhost\"; services = ( { port = 1; } ); };\n", 0,
                 "1: setting 'frontend.debug_ip': 'localhost' is not an IPv4 or IPv6 address");
    expect_error("backend: { listen = ( { address = \"127.0.0.1\"; port = 9; proxy_protocol = "
                 "\"required\";\n"
                 "  proxy_from = [ \"10.0.0.0/40\" ]; } ); };\n",
                 0,
                 "2: setting 'backend.listen.[0].proxy_from': '10.0.0.0/40' is not an address or "
                 "network like 10.0.0.0/8 or ::1");
    expect_error("frontend: { services = ( { port = 1; deny = [ \"10.0.0.1/33\" ]; } ); };\n", 0,
                 "1: setting 'frontend.services.[0].deny': '10.0.0.1/33' is not an address or "
                 "network like 10.0.0.0/8 or ::1");
    expect_error("frontend: { services = ( { port = 1; allow = \"10.0.0.0/8\"; } ); };\n", 0,
                 "1: setting 'frontend.services.[0].allow': must be an array of strings");
    expect_error("frontend: { handshake_timeout = 0.01; services = ( { port = 1; } ); };\n", 0,
                 "1: setting 'frontend.handshake_timeout': must be 0.1-3600 seconds");
}
END_TEST

START_TEST(required_settings)
{
    expect_error("frontend: {\n  max_children = 5;\n};\n", 0,
                 "1: setting 'frontend.services': required");
    expect_error("vhosts = ( { aliases = [ \"x\" ]; } );\n", 0,
                 "1: setting 'vhosts.[0].name': required");
    expect_error("backend: { workers = 1; };\n", 0,
                 "1: setting 'backend.socket': required unless backend.listen lists a TCP "
                 "listener");
    expect_error("vhosts = ();\n", BX_CONF_BACKEND,
                 "1: setting 'backend': required: bactrian-backend reads this section");
}
END_TEST

START_TEST(relations_between_settings)
{
    expect_error("frontend: {\n  min_spare = 20;\n  max_spare = 10;\n  services = ( { port = 1; } "
                 ");\n};\n",
                 0, "2: setting 'frontend.min_spare': must not be larger than max_spare (10)");
    expect_error("frontend: { services = ( { port = 1; proxy_protocol = \"required\"; } ); };\n", 0,
                 "1: setting 'frontend.services.[0]': proxy_protocol needs proxy_from: the "
                 "addresses allowed to send it");
    expect_error("frontend: { services = ( { port = 8; bind = [\"::1\"]; },\n"
                 "  { port = 8; bind = [\"::1\"]; } ); };\n",
                 0,
                 "2: setting 'frontend.services.[1]': ::1 port 8 is already used by service [0]");
    expect_error("vhosts = ( { name = \"a.test\"; cert = \"a.crt\"; } );\n", 0,
                 "1: setting 'vhosts.[0]': cert and key go together: set both or neither");
}
END_TEST

START_TEST(pubsub_redis)
{
    ck_assert_int_eq(load("backend: { socket = \"s\"; };\n", 0), 0);
    ck_assert_ptr_null(cfg.be.pubsub.redis);
    ck_assert_str_eq(cfg.be.pubsub.channel_prefix, "bactrian:");
    ck_assert_int_eq(cfg.be.pubsub.outage_buffer, 1 << 20);
    bx_config_free(&cfg);
    ck_assert_int_eq(load("backend: { socket = \"s\"; pubsub = { redis = \"127.0.0.1:6380\";\n"
                          "  redis_password = \"pw\"; outage_flush_delay = 0; }; };\n",
                          0),
                     0);
    ck_assert_int_eq(cfg.be.pubsub.redis_port, 6380);
    ck_assert_int_eq(cfg.be.pubsub.redis_addr.ss_family, AF_INET);
    ck_assert_int_eq(cfg.be.pubsub.outage_flush_delay_ms, 0);
    bx_config_free(&cfg);
    ck_assert_int_eq(load("backend: { socket = \"s\"; pubsub = { redis = \"[::1]:7000\"; }; };\n",
                          0),
                     0);
    ck_assert_int_eq(cfg.be.pubsub.redis_addr.ss_family, AF_INET6);
    bx_config_free(&cfg);
    expect_error("backend: { socket = \"s\"; pubsub = { redis = \"127.0.0.1\"; }; };\n", 0,
                 "1: setting 'backend.pubsub.redis': '127.0.0.1' is not HOST:PORT or [IPv6]:PORT");
    expect_error("backend: { socket = \"s\"; pubsub = { redis = \"h:0\"; }; };\n", 0,
                 "1: setting 'backend.pubsub.redis': 'h:0' is not HOST:PORT or [IPv6]:PORT");
    expect_error("backend: { socket = \"s\"; pubsub = { redis = \"no-such-host.invalid:1\"; }; "
                 "};\n",
                 0, "1: setting 'backend.pubsub.redis': cannot resolve 'no-such-host.invalid'");
    expect_error(
        "backend: { socket = \"s\"; pubsub = { redis_retry_min = 9; redis_retry_max = 1; }; };\n",
        0, "1: setting 'backend.pubsub.redis_retry_min': must not be larger than redis_retry_max");
    expect_error("backend: { socket = \"s\"; pubsub = { redis_url = \"x\"; }; };\n", 0,
                 "1: setting 'backend.pubsub.redis_url': unknown setting");
}
END_TEST

START_TEST(vhost_names_unique)
{
    expect_error("vhosts = ( { name = \"a.test\"; },\n  { name = \"b.test\"; aliases = [ "
                 "\"A.test\" ]; } );\n",
                 0, "2: setting 'vhosts.[1]': alias 'A.test' is already used by another vhost");
    expect_error("vhosts = ( { name = \"a.test\"; },\n  { name = \"a.test\"; } );\n", 0,
                 "2: setting 'vhosts.[1]': name 'a.test' is already used by another vhost");
    expect_error("vhosts = ( { name = \"a test\"; } );\n", 0,
                 "1: setting 'vhosts.[0]': name 'a test' is not a valid host name");
    expect_error("frontend: { services = ( { port = 1; } ); tls = { default_vhost = \"nope\"; }; "
                 "};\n"
                 "vhosts = ( { name = \"a.test\"; } );\n",
                 0, "1: setting 'frontend.tls.default_vhost': no vhost is named 'nope'");
}
END_TEST

START_TEST(files_must_exist)
{
    expect_error("frontend: { services = ( { port = 1; tls = true; } ); };\n"
                 "vhosts = ( { name = \"a.test\"; cert = \"missing.crt\"; key = \"a.key\"; backend "
                 "= \"/x\"; } );\n",
                 BX_CONF_FRONTEND, "2: setting 'vhosts.[0]': cert file ");
    ck_assert_ptr_nonnull(strstr(errors, "missing.crt: No such file or directory"));
    expect_error("backend: {\n  socket = \"s\";\n  module_dir = \"nowhere\";\n};\n",
                 BX_CONF_BACKEND, "3: setting 'backend.module_dir': ");
    ck_assert_ptr_nonnull(strstr(errors, "nowhere is not a directory"));
}
END_TEST

START_TEST(module_mounts)
{
    expect_error("backend: { socket = \"s\"; modules = ( { module = \"../evil\"; } ); };\n", 0,
                 "1: setting 'backend.modules.[0]': module name '../evil' may hold only letters, "
                 "digits, '_' and '-'");
    expect_error("backend: { socket = \"s\"; modules = ( { module = \"echo\"; path = \"echo\"; } "
                 "); };\n",
                 0, "1: setting 'backend.modules.[0]': path 'echo' must start with '/'");
    expect_error("backend: { socket = \"s\";\n modules = ( { module = \"echo\"; vhost = "
                 "\"x.test\"; } ); };\n",
                 0,
                 "2: setting 'backend.modules.[0]': vhost 'x.test' is not a vhost name or alias");
    expect_error("backend: { socket = \"s\"; modules = ( { module = \"a\"; },\n { module = \"b\"; "
                 "} ); };\n",
                 0,
                 "2: setting 'backend.modules.[1]': vhost '*' path '/' is already mounted by "
                 "backend.modules.[0]");
}
END_TEST

START_TEST(syntax_error_and_many_errors)
{
    ck_assert_int_eq(load("backend: {\n  socket = \"x\";\n  workers = = 2;\n};\n", 0), -1);
    char want[512];
    snprintf(want, sizeof want, "%s:3: syntax error", conf_path);
    ck_assert_msg(strstr(errors, want), "got %s", errors);
    /* Every error is reported, not just the first. */
    ck_assert_int_eq(load("backend: {\n  sockett = \"x\";\n  workers = -1;\n  keepalive = 1;\n};\n",
                          0),
                     -1);
    ck_assert_ptr_nonnull(strstr(errors, ":2: setting 'backend.sockett': unknown setting"));
    ck_assert_ptr_nonnull(strstr(errors, ":3: setting 'backend.workers': must be 0-1024"));
    ck_assert_ptr_nonnull(strstr(errors, ":4: setting 'backend.keepalive': unknown setting"));
    free(errors);
    ck_assert_int_eq(bx_config_load(&cfg, "/nonexistent/bactrian.conf", 0, &errors), -1);
    ck_assert_str_eq(errors,
                     "/nonexistent/bactrian.conf: cannot read: No such file or directory\n");
}
END_TEST

START_TEST(backend_addresses)
{
    const char *fe = "frontend: { services = ( { port = 1; } ); };\n";
    char text[1024];
    snprintf(text, sizeof text,
             "%svhosts = (\n { name = \"a\";\n  backends = [ \"tcp:127.0.0.1:81\", "
             "\"tcp:[::1]:82\", \"unix:be.sock\" ]; },\n { name = \"b\"; backend = "
             "\"tcp:127.0.0.1:81\"; }\n);\n",
             fe);
    ck_assert_int_eq(load(text, BX_CONF_FRONTEND), 0);
    ck_assert_uint_eq(cfg.vhosts[0].npool, 3);
    ck_assert_int_eq(cfg.vhosts[0].pool[0].kind, BX_BADDR_TCP);
    ck_assert_str_eq(cfg.vhosts[0].pool[1].text, "tcp:[::1]:82");
    char want[512];
    snprintf(want, sizeof want, "unix:%s/be.sock", dir);
    ck_assert_str_eq(cfg.vhosts[0].pool[2].text, want);
    ck_assert_str_eq(cfg.vhosts[1].backend, "tcp:127.0.0.1:81");
    bx_config_free(&cfg);
    /* Errors name the line of the vhost, the vhost and the bad value. */
    snprintf(text, sizeof text,
             "%svhosts = (\n { name = \"a\"; backend = \"/s\"; },\n"
             " { name = \"b\"; backends = [ \"tcp:10.0.0.1:99999\" ]; }\n);\n",
             fe);
    expect_error(text, BX_CONF_FRONTEND,
                 "4: setting 'vhosts.[1]': vhost 'b': backend "
                 "'tcp:10.0.0.1:99999': port '99999' is not a number 1-65535");
    snprintf(text, sizeof text, "%svhosts = ( { name = \"a\"; backend = \"tcp:::1:80\"; } );\n",
             fe);
    expect_error(text, BX_CONF_FRONTEND,
                 "2: setting 'vhosts.[0]': vhost 'a': backend "
                 "'tcp:::1:80': an IPv6 address goes in brackets: tcp:[::1]:PORT");
    snprintf(text, sizeof text,
             "%svhosts = ( { name = \"a\"; backend = \"/s\"; "
             "backends = [ \"/t\" ]; } );\n",
             fe);
    expect_error(text, BX_CONF_FRONTEND,
                 "2: setting 'vhosts.[0]': vhost 'a': backend and "
                 "backends: set one of them");
    snprintf(text, sizeof text,
             "%svhosts = ( { name = \"a\"; "
             "backends = [ \"tcp:127.0.0.1:8\", \"tcp:127.0.0.1:8\" ]; } );\n",
             fe);
    expect_error(text, BX_CONF_FRONTEND,
                 "2: setting 'vhosts.[0]': vhost 'a': backend "
                 "'tcp:127.0.0.1:8' is listed twice");
}
END_TEST

Suite *suite_config(void);
Suite *suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("validation");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, good_config);
    tcase_add_test(tc, misspelled_setting);
    tcase_add_test(tc, port_out_of_range);
    tcase_add_test(tc, wrong_types);
    tcase_add_test(tc, bad_values);
    tcase_add_test(tc, duration_and_size_forms);
    tcase_add_test(tc, required_settings);
    tcase_add_test(tc, relations_between_settings);
    tcase_add_test(tc, vhost_names_unique);
    tcase_add_test(tc, pubsub_redis);
    tcase_add_test(tc, files_must_exist);
    tcase_add_test(tc, module_mounts);
    tcase_add_test(tc, syntax_error_and_many_errors);
    tcase_add_test(tc, backend_addresses);
    suite_add_tcase(s, tc);
    return s;
}
