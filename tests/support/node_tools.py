"""Third-party Node clients for the tests (the MCP Inspector CLI, the MCP conformance suite), pinned, installed once
into `.ci/.cache/` by the test session itself, with a pinned Node 22 from the npm registry (Debian's Node 20 is older
than both tools' engine ranges: the Inspector asks for >= 22.19, the conformance suite calls `fs.globSync`).

Only Debian's `npm` is needed to bootstrap (installed with apt-get when missing and the session runs as root).
`python -m tests.support.node_tools install` does the same from a shell (.ci/run calls it).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".ci" / ".cache"

NODE_VERSION = "22.22.0"
INSPECTOR_VERSION = "2.12.0"
CONFORMANCE_VERSION = "0.2.0-alpha.12"


class NodeToolsMissing(RuntimeError):
    """A tool could not be installed; the message says what to install by hand."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    folder: str
    #: The package's entry script, relative to node_modules/<name>/, run with the pinned node.
    entry: str

    @property
    def directory(self) -> Path:
        return CACHE / self.folder

    @property
    def installed_version(self) -> str | None:
        manifest = self.directory / "node_modules" / self.name / "package.json"
        try:
            return str(json.loads(manifest.read_text())["version"])
        except (OSError, ValueError, KeyError):
            return None

    @property
    def script(self) -> Path:
        return self.directory / "node_modules" / self.name / self.entry


def _node_package() -> Package:
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    if arch is None or not sys.platform.startswith("linux"):
        raise NodeToolsMissing(f"no pinned Node build for {sys.platform}/{machine}: install Node {NODE_VERSION} "
                               "and put it first on PATH")
    return Package(f"node-linux-{arch}", NODE_VERSION, "node22", "bin/node")


INSPECTOR = Package("@modelcontextprotocol/inspector", INSPECTOR_VERSION, "inspector", "")
CONFORMANCE = Package("@modelcontextprotocol/conformance", CONFORMANCE_VERSION, "conformance", "dist/index.js")


def _npm() -> str:
    found = shutil.which("npm")
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nodejs", "npm"]):
            subprocess.run(command, check=False, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        found = shutil.which("npm")
    if found is None:
        raise NodeToolsMissing("npm is not installed: install the Debian packages nodejs and npm "
                               "(apt-get install nodejs npm)")
    return found


def _install(package: Package) -> None:
    if package.installed_version == package.version:
        return
    package.directory.mkdir(parents=True, exist_ok=True)
    manifest = package.directory / "package.json"
    if not manifest.exists():
        manifest.write_text(json.dumps({"name": f"ci-{package.folder}", "private": True}) + "\n")
    command = [_npm(), "install", "--prefix", str(package.directory), "--no-audit", "--no-fund", "--loglevel=error",
               "--engine-strict=false", f"{package.name}@{package.version}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0 or package.installed_version != package.version:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise NodeToolsMissing(f"could not install {package.name}@{package.version} with npm: {' | '.join(tail)}")


def node() -> Path:
    """The pinned Node 22 binary, installed when missing."""
    package = _node_package()
    _install(package)
    binary = package.script
    os.chmod(binary, 0o755)
    return binary


def inspector_command() -> list[str]:
    """How to run the pinned MCP Inspector CLI with the pinned Node."""
    binary = node()
    _install(INSPECTOR)
    manifest = json.loads((INSPECTOR.directory / "node_modules" / INSPECTOR.name / "package.json").read_text())
    bins = manifest.get("bin")
    entry = bins.get("mcp-inspector") if isinstance(bins, dict) else bins
    if not isinstance(entry, str):
        raise NodeToolsMissing("the MCP Inspector package declares no mcp-inspector entry")
    return [str(binary), str(INSPECTOR.directory / "node_modules" / INSPECTOR.name / entry)]


def conformance_command() -> list[str]:
    """How to run the pinned MCP conformance suite with the pinned Node."""
    binary = node()
    _install(CONFORMANCE)
    return [str(binary), str(CONFORMANCE.script)]


def node_env(home: Path) -> dict[str, str]:
    """A small environment for the Node tools: their own HOME, the pinned node first on PATH."""
    return {
        "HOME": str(home),
        "MCP_CATALOG_PATH": str(home / "mcp.json"),
        "PATH": f"{node().parent}:/usr/bin:/bin",
        "NO_COLOR": "1",
    }


def main(argv: list[str]) -> int:
    what = argv[1] if len(argv) > 1 else "install"
    if what != "install":
        print("usage: python -m tests.support.node_tools install", file=sys.stderr)
        return 2
    try:
        inspector_command()
        conformance_command()
    except NodeToolsMissing as exc:
        print(f"node tools: {exc}", file=sys.stderr)
        return 1
    print(f"node {NODE_VERSION}, mcp-inspector {INSPECTOR_VERSION}, mcp conformance {CONFORMANCE_VERSION} "
          f"installed in {CACHE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
