"""Every command and client configuration in README.md's "Connect an MCP client" section, and every step of
docs/demo.md, is run here as a reader would run it, in order, against real servers on 127.0.0.1.

How each fenced block is run:
- ```sh: each line (backslash continuations joined) runs in bash, in the checkout, with the `export NAME=...` lines
  and `name() { ...; }` definitions of earlier blocks in effect, as in one terminal. `uv run opera-cloud-mcp` (the
  server) and `uv run opera-cloud-mcp sandbox` run in the background as in a second terminal, and a new server
  stops the previous one first (Ctrl-C, SIGINT to the process group this test started), since both hold port 8000.
  Port 8000 (and any other port a block names) is mapped to a free port: OPERA_PORT is set to it and
  `127.0.0.1:8000` in commands, configurations and expected output is rewritten. `npx` runs the pinned Inspector
  (tests/support/node_tools.py) with the Node the README's own PATH line puts first.
  `claude` (Claude Code's CLI) is not installed here: its lines are expanded by bash as a shell would, checked
  against Claude Code's documented `claude mcp add --transport http <name> <url> [--header "K: V"]` form, and the
  url and headers are connected to with the MCP SDK client.
- ```text right after a ```sh block: what the block prints (stdout and stderr); each line must appear, in order, as a
  whole line (leading and trailing blanks ignored). `...` stands for anything; `<name>` matches any text and keeps it
  under that name, so a later command or configuration can use `<name>` (the API key the README makes).
  A server start followed by text without "MCP endpoint:" must fail: exit 2 with exactly those lines on stderr.
  An Inspector tool call whose expected text shows `"isError": true` must exit 5, as the Inspector does then.
- ```json: a client configuration, for the file named in the prose just before it: claude_desktop_config.json (run
  with the SDK's stdio client, from `/`, with this checkout as the directory), .mcp.json (Claude Code), .vscode/mcp.json
  (VS Code) or .cursor/mcp.json (Cursor). Claude Code, VS Code and Cursor cannot run here: their files are checked for
  the shape each client documents (fields, `${VAR}` / `${input:id}` / `${env:VAR}` substitutions), and their url and
  headers are connected to with the MCP SDK client against the server running at that point; an entry with a key is
  also refused without it.
Any other block, a line no handler knows, a placeholder nothing defined, or an inline `uv run`/`npx`/`claude`/
`curl`/`node` command in the prose that no block runs fails the test, so the README cannot drift from what runs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.support.node_tools import INSPECTOR_VERSION, NodeToolsMissing, inspector_command
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DEMO = ROOT / "docs" / "demo.md"
SECTION = "## Connect an MCP client"
CHECKOUT_PLACEHOLDER = "/path/to/opera-cloud-mcp"
INSPECTOR_NPX = f"npx -y @modelcontextprotocol/inspector@{INSPECTOR_VERSION}"
#: The Inspector's exit status when the tool answered with isError (its "tool_is_error" envelope).
INSPECTOR_TOOL_ERROR = 5
CONFIG_FILES = ("claude_desktop_config.json", ".vscode/mcp.json", ".cursor/mcp.json", ".mcp.json")
PLACEHOLDER = re.compile(r"<([a-z][a-z ]*[a-z])>")
ASSIGNMENTS = r"^(?:[A-Z_][A-Z0-9_]*=(?:'[^']*'|\"[^\"]*\"|\S+)\s+)*"
SERVER = re.compile(ASSIGNMENTS + r"uv run opera-cloud-mcp(?:\s+(?:serve|--host\s+\S+|--port\s+\S+))*$")
SANDBOX = re.compile(ASSIGNMENTS + r"uv run opera-cloud-mcp sandbox\b")
#: A port as commands, configurations and output name it: after an IPv4 address, localhost, ] or --port.
PORT = re.compile(r"((?:\d{1,3}\.){3}\d{1,3}:|localhost:|\]:|--port )(\d{4,5})\b")
DEFINITION = re.compile(r"^(export [A-Za-z_][A-Za-z0-9_]*=.*|[a-z_]+\(\) \{.*\}\s*;?)$")
INLINE_COMMAND = re.compile(r"`((?:uv run|npx|claude|curl|node) [^`]+)`")


@dataclass
class Block:
    lang: str
    body: str
    line: int
    prose: str  # the text between the previous block and this one
    expected: Block | None = None


def blocks_of(text: str, first_line: int = 1) -> list[Block]:
    found: list[Block] = []
    lines = text.splitlines()
    prose: list[str] = []
    i = 0
    while i < len(lines):
        opening = re.match(r"^```(\S*)\s*$", lines[i])
        if not opening:
            prose.append(lines[i])
            i += 1
            continue
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        assert i < len(lines), f"line {first_line + start}: a code block is not closed"
        found.append(Block(opening.group(1), "\n".join(body), first_line + start, "\n".join(prose)))
        prose = []
        i += 1
    # A text block is the expected output of the sh block before it.
    kept: list[Block] = []
    for block in found:
        if block.lang == "text":
            assert kept and kept[-1].lang == "sh" and kept[-1].expected is None, (
                f"line {block.line}: a ```text block must follow a ```sh block (it is that block's output)")
            kept[-1].expected = block
            continue
        assert block.lang in ("sh", "json"), f"line {block.line}: ```{block.lang} blocks are not run by any test"
        kept.append(block)
    return kept


def readme_section() -> tuple[str, int]:
    text = README.read_text()
    start = text.index(SECTION + "\n")
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end], text[:start].count("\n") + 1


def command_lines(body: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", body)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def without_comment(line: str) -> str:
    """The command without a trailing `# ...` comment (one outside quotes, after a blank)."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and index > 0 and line[index - 1].isspace():
            return line[:index].rstrip()
    return line


class Output:
    """Lines a background process writes, read by a thread, waited on with a condition."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append("\0EOF")
            self.changed.notify_all()

    def until(self, check: Any, timeout: float = 30.0) -> None:
        """Run `check(text so far)` until it passes (the banner may still be arriving) or the time is up."""
        deadline = time.monotonic() + timeout
        while True:
            with self.changed:
                text = "\n".join(line for line in self.lines if line != "\0EOF")
                seen = len(self.lines)
            try:
                check(text)
                return
            except AssertionError:
                if time.monotonic() > deadline or (self.lines and self.lines[-1] == "\0EOF"):
                    raise
            with self.changed:
                if len(self.lines) == seen:
                    self.changed.wait(max(0.0, deadline - time.monotonic()))

    def wait_for(self, needle: str, timeout: float = 90.0) -> str:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                if any(needle in line for line in self.lines):
                    return "\n".join(line for line in self.lines if line != "\0EOF")
                if self.lines and self.lines[-1] == "\0EOF":
                    raise AssertionError(f"the process ended before printing {needle!r}:\n" + "\n".join(self.lines))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {needle!r} within {timeout} s:\n" + "\n".join(self.lines))
                self.changed.wait(left)


@dataclass
class Background:
    process: subprocess.Popen[str]
    stderr: Output
    stdout: Output
    kind: str

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # Ctrl-C in the terminal it runs in
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@dataclass
class Session:
    """One reader's terminal(s): the environment, the definitions made so far, the values the output gave."""

    tmp: Path
    ports: dict[str, int] = field(default_factory=dict)
    definitions: list[str] = field(default_factory=list)
    captured: dict[str, str] = field(default_factory=dict)
    server: Background | None = None
    others: list[Background] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    checked: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.port("8000")
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("OPERA_", "OTEL_"))}
        self.env = {**keep, "OPERA_PORT": str(self.ports["8000"]), "OPERA_SHUTDOWN_DELAY": "0",
                    "MCP_CATALOG_PATH": str(self.tmp / "catalog.json"),
                    "MCP_CLIENT_CONFIG_PATH": str(self.tmp / "client.json"),
                    "npm_config_update_notifier": "false", "NO_COLOR": "1"}

    def port(self, number: str) -> int:
        if number not in self.ports:
            self.ports[number] = free_port()
        return self.ports[number]

    # -- text rewriting ---------------------------------------------------------------------------------------
    def rewrite(self, text: str, where: str) -> str:
        """Ports mapped, the checkout's path, and placeholders replaced by what earlier output gave."""
        text = self.rewrite_ports(text)
        text = text.replace(CHECKOUT_PLACEHOLDER, str(ROOT))

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            assert name in self.captured, f"{where}: <{name}> is used before any output showed it"
            return self.captured[name]

        return PLACEHOLDER.sub(value, text)

    def expect(self, expected: Block, output: str, where: str) -> None:
        """Every line of the expected block appears in the output, in order; <name> captures, `...` is anything."""
        outputs = [line.strip() for line in output.splitlines()]
        captured = dict(self.captured)
        at = 0
        for raw in expected.body.splitlines():
            line = raw.strip()
            if not line or line == "...":
                continue
            line = self.rewrite_ports(line)
            names: list[str] = []
            pattern = ""
            for piece in re.split(r"(<[a-z][a-z ]*[a-z]>|\.\.\.)", line):
                name = PLACEHOLDER.fullmatch(piece)
                if piece == "...":
                    pattern += ".*"
                elif name and name.group(1) in captured:
                    pattern += re.escape(captured[name.group(1)])
                elif name:
                    names.append(name.group(1))
                    pattern += "(.+)"
                else:
                    pattern += re.escape(piece)
            for index in range(at, len(outputs)):
                found = re.fullmatch(pattern, outputs[index])
                if found:
                    captured.update(zip(names, found.groups(), strict=True))
                    at = index + 1
                    break
            else:
                raise AssertionError(f"{where}: expected line {line!r} (line {expected.line} on) not printed, in "
                                     f"order; the output was:\n{output[-6000:]}")
        self.captured = captured

    def rewrite_ports(self, text: str) -> str:
        return PORT.sub(lambda m: m.group(1) + str(self.port(m.group(2))), text)

    # -- running ------------------------------------------------------------------------------------------------
    def bash(self, script: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        full = "\n".join([*self.definitions, script])
        return subprocess.run(["bash", "-c", full], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, check=False)

    def start(self, line: str, kind: str, expected: Block | None, where: str) -> None:
        if kind == "server" and self.server is not None:
            self.server.stop()
            self.server = None
        process = subprocess.Popen(["bash", "-c", "\n".join([*self.definitions, line])], cwd=ROOT,
                                   env=self.env, text=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True)
        assert process.stdout is not None and process.stderr is not None
        started = Background(process, Output(process.stderr), Output(process.stdout), kind)
        if kind == "server":
            self.server = started
        else:
            self.others.append(started)
        banner = started.stderr.wait_for("MCP endpoint:" if kind == "server" else "OHIP sandbox on")
        url = re.search(r"(?:MCP endpoint: |OHIP sandbox on )(http://\S+?)(?:/mcp)?\s", banner + " ")
        assert url, f"{where}: no endpoint in the banner:\n{banner}"
        live(url.group(1) + ("/live" if kind == "server" else "/_sandbox/stats"))
        if expected is not None:
            started.stderr.until(lambda text: self.expect(expected, text, where))

    def stop_all(self) -> None:
        for background in [*([self.server] if self.server else []), *self.others]:
            background.stop()

    def node_is_new_enough(self, where: str) -> None:
        done = self.bash("node --version")
        version = tuple(int(p) for p in re.findall(r"\d+", done.stdout)[:2]) if done.returncode == 0 else (0, 0)
        assert version >= (22, 19), (f"{where}: the Inspector {INSPECTOR_VERSION} needs Node >= 22.19, and the "
                                     f"README's steps so far give {done.stdout.strip() or done.stderr.strip()}")

    def run_sh(self, block: Block, where: str) -> None:
        lines = [without_comment(line) for line in command_lines(block.body)]
        assert lines, f"{where}: an empty ```sh block"
        starts = [line for line in lines if SERVER.match(line) or SANDBOX.match(line)]
        claude = [line for line in lines if line.startswith("claude ")]
        if starts:
            assert len(starts) == len(lines), (
                f"{where}: servers start in blocks of their own (each runs in its own terminal)")
            assert len(lines) == 1 or block.expected is None, f"{where}: expected output of which start?"
            for raw in lines:
                line = self.rewrite(raw, where)
                self.ran.append(raw)
                expected = block.expected
                if SERVER.match(raw) and expected is not None and "MCP endpoint:" not in expected.body:
                    self.refused_start(line, expected, where)
                else:
                    self.start(line, "server" if SERVER.match(raw) else "sandbox", expected, where)
            return
        if claude:
            assert len(claude) == len(lines), f"{where}: `claude` lines must be alone in their block"
            for line in lines:
                self.claude_mcp_add(self.rewrite(line, where), where)
                self.ran.append(line)
            return
        for line in lines:
            assert line.split()[0] in KNOWN_PROGRAMS or DEFINITION.match(line), (
                f"{where}: no handler runs {line!r}")
            for npx in re.finditer(r"\bnpx\b", line):
                assert line[npx.start():].startswith(INSPECTOR_NPX + " "), (
                    f"{where}: npx must run the pinned Inspector ({INSPECTOR_NPX}): {line!r}")
        script = self.rewrite("\n".join(lines), where)
        done = self.bash("set -e\n" + script)
        output = done.stdout + done.stderr
        shows_tool_error = block.expected is not None and '"isError": true' in block.expected.body
        want = INSPECTOR_TOOL_ERROR if shows_tool_error else 0
        assert done.returncode == want, f"{where}: exit {done.returncode}, not {want}:\n{output[-6000:]}"
        if block.expected is not None:
            self.expect(block.expected, output, where)
        self.definitions.extend(self.rewrite(line, where) for line in lines if DEFINITION.match(line))
        self.ran.extend(lines)
        if any(re.search(r"\bnpx\b", line) for line in [*lines, *self.definitions]):
            self.node_is_new_enough(where)  # the Node the README's own steps put first on PATH

    def refused_start(self, line: str, expected: Block, where: str) -> None:
        """A start that must not start: exit 2, the expected lines alone on stderr, nothing on stdout."""
        done = self.bash(line, timeout=60)
        assert done.returncode == 2, f"{where}: exit {done.returncode}, not 2:\n{done.stdout}{done.stderr}"
        wanted = [self.rewrite_ports(x.strip()) for x in expected.body.splitlines() if x.strip()]
        assert [x.strip() for x in done.stderr.splitlines() if x.strip()] == wanted, done.stderr
        assert done.stdout == "", done.stdout

    def claude_mcp_add(self, line: str, where: str) -> None:
        """Claude Code's CLI, not installed here: bash expands the line as a shell would, the arguments are checked
        against `claude mcp add --transport http [--scope S] <name> <url> [--header "K: V"]...`, and the url and
        headers are connected to."""
        done = self.bash("claude() { printf '%s\\0' \"$@\"; }\n" + line)
        assert done.returncode == 0, done.stderr
        argv = done.stdout.split("\0")[:-1]
        assert argv[:2] == ["mcp", "add"], f"{where}: only `claude mcp add` is documented here: {argv}"
        positional: list[str] = []
        options: dict[str, list[str]] = {}
        rest = argv[2:]
        while rest:
            token = rest.pop(0)
            if token.startswith("--"):
                assert token in ("--transport", "--header", "--scope"), f"{where}: unknown option {token}"
                options.setdefault(token, []).append(rest.pop(0))
            else:
                positional.append(token)
        assert options.get("--transport") == ["http"], f"{where}: remote servers need --transport http"
        assert set(options.get("--scope", ["local"])) <= {"local", "project", "user"}
        assert len(positional) == 2, f"{where}: expected <name> <url>, got {positional}"
        headers = {}
        for header in options.get("--header", []):
            name, _, value = header.partition(":")
            assert name and value.strip(), f"{where}: a header is 'Name: value', not {header!r}"
            headers[name.strip()] = value.strip()
        connect(positional[1], headers, where)
        self.note("claude mcp add", headers)

    def exported(self) -> dict[str, str]:
        """The variables the README exported so far, as a client started from that shell would see them."""
        done = self.bash("env -0")
        return dict(item.split("=", 1) for item in done.stdout.split("\0") if "=" in item)

    def note(self, client: str, headers: dict[str, str]) -> None:
        self.checked.setdefault(client, set()).add("key" if "Authorization" in headers else "no key")


KNOWN_PROGRAMS = {"uv", "npx", "node", "curl", "export", "mcp", "call"}


def live(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx2.get(url, timeout=5).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer 200 within {timeout} s"
        time.sleep(0.1)


def connect(url: str, headers: dict[str, str], where: str) -> None:
    """The MCP SDK client at `url` with `headers`: lists the tools, checks the narrowing the url or headers ask for;
    with an Authorization header, the same without it is refused (401)."""

    async def session(with_headers: dict[str, str]) -> list[Any]:
        http = httpx2.AsyncClient(headers=with_headers, timeout=httpx2.Timeout(30.0))
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            tools = (await client.list_tools()).tools
            hotel = re.search(r"/hotels/([A-Za-z0-9]+)", urlsplit(url).path) or re.fullmatch(
                r"([A-Za-z0-9]+)", with_headers.get("X-MCP-Hotel", "-"))
            if hotel:
                arrivals = await client.call_tool("list_arrivals", {})
                assert not arrivals.is_error and arrivals.structured_content, arrivals
                assert arrivals.structured_content["hotel_id"] == hotel.group(1), where
            return list(tools)

    tools = anyio.run(session, headers)
    assert {t.name for t in tools} >= {"search_reservations", "list_arrivals"}, f"{where}: {[t.name for t in tools]}"
    readonly = "/readonly" in urlsplit(url).path or headers.get("X-MCP-Readonly", "").lower() in ("true", "1", "yes")
    if readonly:
        assert all(t.annotations and t.annotations.read_only_hint for t in tools), f"{where}: not read-only"
    if "Authorization" in headers:
        bare = {k: v for k, v in headers.items() if k != "Authorization"}
        refused = httpx2.post(url, headers={**bare, "Accept": "application/json, text/event-stream",
                                           "Content-Type": "application/json"},
                             json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}, timeout=30)
        assert refused.status_code == 401, f"{where}: without its key the entry got {refused.status_code}, not 401"


def expand(value: str, pattern: str, lookup: dict[str, str], where: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in lookup, f"{where}: ${{...{name}}} is not defined at this point of the README"
        return lookup[name]

    return re.sub(pattern, one, value)


def run_json(session: Session, block: Block, where: str) -> None:
    # The configuration is for the file the text just before it names last.
    mentioned = {name: block.prose.rfind(name) for name in CONFIG_FILES if name in block.prose}
    assert mentioned, f"{where}: the text before a JSON block must name its file, one of {CONFIG_FILES}"
    file = max(mentioned, key=lambda name: mentioned[name])
    config = json.loads(session.rewrite(block.body, where))
    env = session.env
    if file == "claude_desktop_config.json":
        assert set(config) == {"mcpServers"}, where
        for entry in config["mcpServers"].values():
            # Claude Desktop connects to remote servers only through its Connectors settings, never this file.
            assert set(entry) <= {"command", "args", "env"} and "command" in entry, where
            run_stdio_entry(entry, env, where)
            session.note("Claude Desktop", {})
        return
    if file == ".vscode/mcp.json":
        assert set(config) <= {"servers", "inputs"} and "servers" in config, f"{where}: VS Code wants \"servers\""
        inputs = {i["id"]: i for i in config.get("inputs", [])}
        for item in inputs.values():
            assert item.get("type") == "promptString" and item.get("password") is True, where
        # VS Code asks the user for each input; the user types the key the README made.
        answers = {name: session.captured.get("the key", "<no key made yet>") for name in inputs}
        for entry in config["servers"].values():
            assert entry.get("type") == "http" and set(entry) <= {"type", "url", "headers"}, where
            headers = {k: expand(v, r"\$\{input:([^}]+)\}", answers, where) for k, v in entry.get(
                "headers", {}).items()}
            connect(entry["url"], headers, where)
            session.note("VS Code", headers)
        return
    assert set(config) == {"mcpServers"}, where
    for entry in config["mcpServers"].values():
        if file == ".mcp.json":  # Claude Code: type http, ${VAR} and ${VAR:-default} expanded from the environment
            assert entry.get("type") == "http" and set(entry) <= {"type", "url", "headers"}, where
            headers = {k: expand(v, r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", session.exported(), where)
                       for k, v in entry.get("headers", {}).items()}
            client = "Claude Code .mcp.json"
        else:  # Cursor: url (type optional), ${env:NAME}
            assert "url" in entry and set(entry) <= {"type", "url", "headers"}, where
            headers = {k: expand(v, r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}", session.exported(), where)
                       for k, v in entry.get("headers", {}).items()}
            client = "Cursor"
        connect(entry["url"], headers, where)
        session.note(client, headers)


def run_stdio_entry(entry: dict[str, Any], env: dict[str, str], where: str) -> None:
    async def listed() -> list[Any]:
        params = StdioServerParameters(command=entry["command"], args=entry.get("args", []),
                                       env={**env, **entry.get("env", {})}, cwd="/")
        async with Client(params) as client:
            return list((await client.list_tools()).tools)

    tools = anyio.run(listed)
    assert "search_reservations" in {t.name for t in tools}, where
    if str(entry.get("env", {}).get("OPERA_READ_ONLY", "")).lower() == "true":
        assert all(t.annotations and t.annotations.read_only_hint for t in tools), f"{where}: not read-only"


@pytest.fixture(scope="module")
def inspector_installed() -> None:
    """The pinned Node and Inspector in .ci/.cache (the README's own install line finds them there)."""
    try:
        inspector_command()
    except NodeToolsMissing as exc:
        pytest.fail(str(exc), pytrace=False)


def run_document(blocks: list[Block], tmp: Path, name: str) -> Session:
    session = Session(tmp)
    try:
        for block in blocks:
            where = f"{name} line {block.line}"
            if block.lang == "sh":
                session.run_sh(block, where)
            else:
                run_json(session, block, where)
    finally:
        session.stop_all()
    return session


def check_inline_commands(text: str, session: Session, name: str) -> None:
    ran = [re.sub(r"\s+", " ", line) for line in session.ran]
    for inline in INLINE_COMMAND.findall(text):
        wanted = re.sub(r"\s+", " ", inline.strip())
        assert any(line.startswith(wanted) for line in ran), (
            f"{name}: the prose names `{inline}`, which no block runs; put it in a ```sh block")


def test_every_command_and_configuration_in_the_readme_client_section(
    inspector_installed: None, tmp_path: Path
) -> None:
    text, first = readme_section()
    blocks = blocks_of(text, first)
    session = run_document(blocks, tmp_path, "README.md")
    check_inline_commands(text, session, "README.md")
    # Each client the section names is shown, and was connected to, without a key and with one.
    for client in ("claude mcp add", "Claude Code .mcp.json", "VS Code", "Cursor"):
        assert session.checked.get(client) == {"key", "no key"}, (client, session.checked.get(client))
    assert "Claude Desktop" in session.checked
    assert f"@modelcontextprotocol/inspector@{INSPECTOR_VERSION}" in text and "22.19" in text


def test_the_five_minute_demo_runs_step_by_step(inspector_installed: None, tmp_path: Path) -> None:
    text = DEMO.read_text()
    blocks = blocks_of(text)
    session = run_document(blocks, tmp_path, "docs/demo.md")
    check_inline_commands(text, session, "docs/demo.md")
    steps = {line.split()[0] for line in session.ran}
    assert {"mcp", "call", "curl"} <= steps
    tools = {line.split()[1] for line in session.ran if line.startswith("call ")}
    assert {"search_reservations", "check_availability", "create_reservation", "check_in", "post_charge",
            "check_out"} <= tools, tools
