/* SPDX-License-Identifier: BSD-2-Clause */
/* The backend of tests/integration/be_upgrade.py's mismatch case: the same
 * objects as bactrian-backend, but its workers speak a hand-off wire
 * version one above ours, so the workers of a real backend refuse them. */
#include "config.h"

#include "backend/ws_handoff.h"
#include "backend/ws_handoff_rec.h"

unsigned be_ho_wire_version(void)
{
    return BE_HO_WIRE_VERSION + 1;
}
