# SPDX-License-Identifier: BSD-2-Clause
"""static does not serve dotfiles (.git, .env, any path component starting
with '.') unless `dotfiles = true`; the mount point itself is not judged."""
import os
import tempfile

import harness

ROOT = tempfile.mkdtemp(prefix="bactrian-dot-")


def make_tree():
    os.makedirs(os.path.join(ROOT, ".git"), exist_ok=True)
    os.makedirs(os.path.join(ROOT, "sub", ".hidden"), exist_ok=True)
    os.makedirs(os.path.join(ROOT, ".well-known", "acme-challenge"), exist_ok=True)
    files = {".env": "SECRET=1\n", ".git/config": "[core]\n", "sub/.hidden/x.txt": "x\n",
             "sub/ok.txt": "ok\n", "a.b.txt": "dots inside names are fine\n",
             ".well-known/acme-challenge/token": "tok\n"}
    for name, text in files.items():
        with open(os.path.join(ROOT, name), "w") as f:
            f.write(text)


def status_of(s, path):
    r = harness.curl("-o", "/dev/null", "-w", "%{http_code}", "--path-as-is",
                     s.backend_url(path))
    return int(r.stdout)


def test_dotfiles_are_not_served_by_default():
    mods = [{"module": "static", "path": "/", "root": ROOT, "listing": True},
            {"module": "static", "path": "/.well-known/acme-challenge",
             "root": os.path.join(ROOT, ".well-known", "acme-challenge")}]
    with harness.Stack(modules=mods) as s:
        for p in ("/.env", "/.git/config", "/.git/", "/.git", "/sub/.hidden/x.txt",
                  "/sub/.hidden/", "/sub/./.hidden/x.txt", "/%2egit/config", "/.well-known/"):
            assert status_of(s, p) == 404, p
        assert status_of(s, "/sub/ok.txt") == 200
        assert status_of(s, "/a.b.txt") == 200
        # mounted on purpose: the mount's own path is not judged
        assert status_of(s, "/.well-known/acme-challenge/token") == 200
        assert ".git" not in harness.curl(s.backend_url("/")).stdout


def test_dotfiles_setting_allows_them():
    with harness.Stack(modules=[{"module": "static", "path": "/", "root": ROOT,
                                 "dotfiles": True}]) as s:
        assert harness.curl(s.backend_url("/.env")).stdout == "SECRET=1\n"
        assert status_of(s, "/.git/config") == 200
        assert status_of(s, "/sub/.hidden/x.txt") == 200


make_tree()
if __name__ == "__main__":
    harness.main(globals())
