/* The test build's fe_test_hook (frontend/child.h): a plaintext client whose
 * first line is "HOSTILE <action> [<arg>]" gets the action run inside its
 * confined child and the result line back. Actions that need nothing of the
 * child are in actions.c (shared with the backend module); the ones that use
 * the child's own state (scoreboard, slot, hand-off socket) go in
 * child_actions below: a function that returns 0 when the attempt got
 * through and an errno value when it was refused. */
#include "config.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "frontend/child.h"
#include "tests/hostile/actions.h"

/* A busy sibling for the others to attack: says its pid, then keeps its
 * client until the client closes. */
static int act_hold(const struct fe_child_env *env, int fd, const char *arg, char *out,
                    size_t outlen)
{
    (void)env;
    (void)arg;
    char line[64], sink[64];
    int n = snprintf(line, sizeof line, "RESULT hold ok %d\n", (int)getpid());
    if (write(fd, line, (size_t)n) == -1)
        return 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, -1) == 0 || (p.revents & POLLIN && read(fd, sink, sizeof sink) > 0))
        ;
    snprintf(out, outlen, "held");
    return -1; /* answered already */
}

static const struct {
    const char *name;
    int (*fn)(const struct fe_child_env *env, int fd, const char *arg, char *out,
              size_t outlen);
} child_actions[] = {
    {"hold", act_hold},
};

static void answer(int fd, const char *out, size_t len)
{
    if (write(fd, out, len) == -1) {
        /* the test client went away */
    }
}

int fe_test_hook(const struct fe_child_env *env, int fd, const unsigned char *first, size_t len)
{
    char line[256], action[32] = "", arg[200] = "", out[512], detail[128] = "";
    if (len < 8 || memcmp(first, "HOSTILE ", 8) != 0)
        return 0;
    size_t n = 0;
    while (n < len && n + 1 < sizeof line && first[n] != '\r' && first[n] != '\n') {
        line[n] = (char)first[n];
        n++;
    }
    line[n] = '\0';
    if (sscanf(line, "HOSTILE %31s %199s", action, arg) < 1)
        return 0;
    for (size_t i = 0; i < sizeof child_actions / sizeof child_actions[0]; i++) {
        if (strcmp(child_actions[i].name, action) != 0)
            continue;
        int e = child_actions[i].fn(env, fd, arg, detail, sizeof detail);
        int k = e == -1 ? 0
                : e == 0 ? snprintf(out, sizeof out, "RESULT %s ok %s\n", action, detail)
                         : snprintf(out, sizeof out, "RESULT %s denied %d %s\n", action, e,
                                    strerror(e));
        if (k > 0)
            answer(fd, out, (size_t)k < sizeof out ? (size_t)k : sizeof out - 1);
        return 1;
    }
    answer(fd, out, hostile_run(action, arg, out, sizeof out));
    return 1;
}
