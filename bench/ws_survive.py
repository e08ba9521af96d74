# SPDX-License-Identifier: BSD-2-Clause
"""The "nothing cut" soak (tests/integration/ws_survive.py) at full size:
1,000 sessions through the frontend across 10 backend reloads, 3 backend
upgrades (USR2), 5 frontend reloads and a frontend upgrade, interleaved,
shutdown_timeout = 3. Prints sessions, messages, cut/lost/duplicated/
reordered, hand-off figures, wall time and echo latency p50/p99/max over
the run and in the 2 s after each step; exits non-zero if anything was cut,
lost, duplicated or reordered. From a built tree:

    /usr/bin/python3 bench/ws_survive.py [SESSIONS] [--no-handoff]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import ws_survive  # noqa: E402

if __name__ == "__main__":
    n = next((a for a in sys.argv[1:] if a.isdigit()), "1000")
    ws_survive.bench(["--sessions", n] + [a for a in sys.argv[1:] if a.startswith("--")])
