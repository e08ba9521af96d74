# SPDX-License-Identifier: BSD-2-Clause
"""Headless Chromium on the demo page: echo round trip and a chat message
crossing two pages (tests/integration/ws_browser.js, playwright-core from
/opt/bactrian-node, Chromium from Debian)."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

NODE_PATH = os.environ.get("BACTRIAN_NODE_PATH", "/opt/bactrian-node/node_modules")


def main():
    node = shutil.which("node")
    if not node or not os.path.exists("/usr/bin/chromium") or \
            not os.path.isdir(os.path.join(NODE_PATH, "playwright-core")):
        print("SKIP: needs node, /usr/bin/chromium and playwright-core (tools/install-deps)")
        return 77
    modules = [
        {"module": "echo", "path": "/echo"},
        {"module": "chat", "path": "/chat"},
        {"module": "static", "path": "/", "root": os.path.join(harness.SRCDIR, "www")},
    ]
    with harness.Stack(modules=modules, workers=2) as s:
        env = dict(os.environ, NODE_PATH=NODE_PATH)
        shots = os.environ.get("BACTRIAN_SCREENSHOTS", "")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ws_browser.js")
        base = "http://127.0.0.1:%d" % s.backend_port
        try:
            p = subprocess.run([node, script, base, shots], env=env, timeout=90,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except subprocess.TimeoutExpired:
            print("FAIL: the browser test did not finish in 90 s")
            return 1
        out = p.stdout.decode(errors="replace")
        print(out)
        if p.returncode != 0:
            print(harness.read_file(s.backend_log)[-3000:])
            print("0 passed, 1 failed")
            return 1
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
