"""A host tool from Debian's packages for a test (logrotate, systemd-analyze): found on PATH or in /usr/sbin, else
installed once with apt-get when the session runs as root (as CI does), else the test fails saying what to install;
it never skips."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

_SEARCH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def debian_tool(command: str, package: str) -> str:
    found = shutil.which(command, path=_SEARCH)
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for step in (["apt-get", "update", "-qq"],
                     ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]):
            subprocess.run(step, check=False, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=600)
        found = shutil.which(command, path=_SEARCH)
    if found is None:
        pytest.fail(f"{command} is required for this test: install the Debian package {package} "
                    f"(apt-get install {package}; bash .ci/deploy-checks.sh does it)", pytrace=False)
    return found
