/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: the bundled modules' flat JSON reader
 * (backend/modules/json.c), which chat runs on every message and echo and
 * chat on the PageCamel keep-alive. Oracle: a field reported found is
 * NUL-terminated within its buffer, no byte past a field's buffer is written
 * (guard bytes), and json_is_ping agrees with a parse of "type". */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/modules/json.h"

#define GUARD 0x5a

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1); /* exact size: ASan sees any read past it */
    if (!p)
        return 0;
    memcpy(p, data, size);
    char type[16 + 1], text[64 + 1];
    memset(type, GUARD, sizeof type);
    memset(text, GUARD, sizeof text);
    struct json_field f[] = {{"type", type, sizeof type - 1, false},
                             {"text", text, sizeof text - 1, false}};
    int rc = json_parse_object(p, size, f, 2);
    if (type[sizeof type - 1] != GUARD || text[sizeof text - 1] != GUARD)
        __builtin_trap();
    if (rc == 0) {
        for (size_t i = 0; i < 2; i++)
            if (f[i].found && !memchr(f[i].out, 0, f[i].outlen))
                __builtin_trap();
    } else if (rc != -1) {
        __builtin_trap();
    }
    memset(type, GUARD, sizeof type);
    struct json_field t = {"type", type, sizeof type - 1, false};
    bool want = json_parse_object(p, size, &t, 1) == 0 && t.found && strcmp(type, "PING") == 0;
    if (json_is_ping(p, size) != want)
        __builtin_trap();
    free(p);
    return 0;
}
