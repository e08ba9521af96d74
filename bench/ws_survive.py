# SPDX-License-Identifier: BSD-2-Clause
"""The "nothing cut" soak (tests/integration/ws_survive.py) at full size:
1,000 sessions through the frontend across 10 backend reloads, 3 backend
upgrades (USR2), 5 frontend reloads and a frontend upgrade, interleaved,
shutdown_timeout = 3. Prints sessions, messages, cut/lost/duplicated/
reordered, hand-off figures, wall time and echo latency p50/p99/max over
the run and in the 2 s after each step; exits non-zero if anything was cut,
lost, duplicated or reordered. From a built tree:

    /usr/bin/python3 bench/ws_survive.py [SESSIONS] [--no-handoff]
                                         [--shutdown-timeout S]

--shutdown-timeout S runs the backend with that shutdown_timeout instead
of 3 (30 is the default of a shipped config: old generations then linger
with the hook-less module's sessions while later reloads come).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import ws_survive  # noqa: E402

if __name__ == "__main__":
    args = sys.argv[1:]
    n = next((a for i, a in enumerate(args)
              if a.isdigit() and not (i and args[i - 1] == "--shutdown-timeout")), "1000")
    extra = [a for i, a in enumerate(args)
             if a.startswith("--") or (i and args[i - 1] == "--shutdown-timeout")]
    ws_survive.bench(["--sessions", n] + extra)
