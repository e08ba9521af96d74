/* The test build's fe_test_hook (frontend/child.h): a plaintext client whose
 * first line is "HOSTILE <action> [<arg>]" gets the action run inside its
 * confined child (actions.h) and the result line back. */
#include "config.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "frontend/child.h"
#include "tests/hostile/actions.h"

int fe_test_hook(int fd, const unsigned char *first, size_t len)
{
    char line[256], action[32] = "", arg[200] = "";
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
    char out[512];
    size_t olen;
    if (strcmp(action, "hold") == 0) {
        /* A busy sibling for the others to attack: says its pid, then
         * keeps its client until the client closes. */
        olen = (size_t)snprintf(out, sizeof out, "RESULT hold ok %d\n", (int)getpid());
        if (write(fd, out, olen) == -1)
            return 1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        while (poll(&p, 1, -1) == 0 || (p.revents & POLLIN && read(fd, out, sizeof out) > 0))
            ;
        return 1;
    }
    olen = hostile_run(action, arg, out, sizeof out);
    if (write(fd, out, olen) == -1) {
        /* the test client went away */
    }
    return 1;
}
