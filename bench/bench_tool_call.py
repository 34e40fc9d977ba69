"""Benchmark: what one MCP tool call costs beyond the SDK and the OHIP call it makes, measured side by side in one run.

    uv run python -m bench.bench_tool_call                       # the table (about 6 minutes on 2 cores)
    uv run python -m bench.bench_tool_call --quick               # fewer calls, one repeat: a smoke run
    uv run python -m bench.bench_tool_call --profile             # and where the time goes (py-spy, c=16, cache off)
    uv run python -m bench.bench_tool_call --profile --profile-cache on   # the same for cached reads
    uv run python -m bench.bench_tool_call --soak 600            # RSS over a 10-minute soak at c=16 (outside CI)
    uv run python -m bench.bench_tool_call --product-dir DIR     # the product from another checkout
    uv run python -m bench.bench_tool_call --baseline-dir DIR    # and another checkout's product beside it, in every
                                                                 # round (before/after, a library change)

Processes, all on 127.0.0.1, each its own process so that each one's CPU is read from /proc:
  sandbox   `opera-cloud-mcp sandbox`, the standalone OHIP emulator every other process talks to
  A         a bare MCPServer with one async tool, served by uvicorn as app/cli.py serves (bench/floors.py)
  A'        floor A answering with the product's own structured result for the read reservation
  B         one pooled httpx.AsyncClient (the issue's floor) with the product's exact getReservation GET to the sandbox
            (bench/floors.py; B2 is the same client on httpx2, the MCP SDK's maintained fork)
  product   `opera-cloud-mcp` pointed at the sandbox: cache off, and cache on (the default)
  baseline  with --baseline-dir, the same two servers from another checkout (its own .venv), measured beside the
            product's cells in every round (after them in one round, before them in the next): the product / baseline
            rows compare two versions in one run
The load generator is `hey` (apt-get install hey) sending sessionless tools/call POSTs (raw JSON-RPC, no SDK
client), in the 2025-11-25 era (stateless, MCP-Protocol-Version header) and the 2026-07-28 era (Mcp-Method/Mcp-Name
headers and _meta). Each repeat runs its rounds interleaved (A, B, product for every cell), so the machine's noise
hits floors and product alike; every ratio is computed within one round and shown as median [min-max] over all
rounds. The machine's load (os.getloadavg) is printed before and after: the ratios are the result, not the
absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
ERAS = ("2025-11-25", "2026-07-28")
HOTEL = "SAND01"
CLK_TCK = os.sysconf("SC_CLK_TCK")
CLIENT_INFO = {"name": "bench", "version": "1"}
SANDBOX_CREDENTIALS = {"OPERA_CLIENT_ID": "sandbox-client", "OPERA_CLIENT_SECRET": "sandbox-secret"}


# --- processes ----------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Proc:
    name: str
    url: str
    popen: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> float:
    """Seconds until `url` answers 200 (polling every 10 ms)."""
    start = time.perf_counter()
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} during start-up")
        try:
            if httpx2.get(url, timeout=1.0).status_code == 200:
                return time.perf_counter() - start
        except httpx2.HTTPError:
            pass
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"{url} not ready in {timeout} s")
        time.sleep(0.01)


@contextmanager
def started(name: str, argv: Sequence[str], env: dict[str, str], ready_path: str, port: int,
            logdir: Path, cwd: Path = ROOT) -> Iterator[Proc]:
    """A server process; `cwd` is the checkout whose `app` it runs (`python -m app` imports from the directory)."""
    log = (logdir / f"{name}.log").open("wb")
    full_env = {**os.environ, **env}
    full_env.pop("VIRTUAL_ENV", None)
    popen = subprocess.Popen(argv, env=full_env, stdout=subprocess.DEVNULL, stderr=log, cwd=str(cwd))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url + ready_path, popen)
        yield Proc(name, url, popen)
    finally:
        popen.send_signal(signal.SIGINT)
        try:
            popen.wait(15)
        except subprocess.TimeoutExpired:
            popen.kill()
        log.close()


def product_env(port: int, sandbox_url: str | None, *, cache: bool) -> dict[str, str]:
    env = {"OPERA_PORT": str(port), "OPERA_HOST": "127.0.0.1", "OPERA_REQUESTS_PER_SECOND": "100000",
           "OPERA_BURST_CAPACITY": "100000", "OPERA_INBOUND_REQUESTS_PER_MINUTE": "100000000",
           "OPERA_ENABLE_CACHE": "true" if cache else "false",
           # The cached cells measure the hit path: one reservation stays cached for the whole run.
           "OPERA_CACHE_TTL_RESERVATION": "300", "OPERA_CACHE_TTL": "300"}
    if sandbox_url is not None:
        from app.config import SANDBOX_APP_KEY, SANDBOX_ENTERPRISE_ID

        env.update(SANDBOX_CREDENTIALS, OPERA_BASE_URL=sandbox_url, OPERA_APP_KEY=SANDBOX_APP_KEY,
                   OPERA_ENTERPRISE_ID=SANDBOX_ENTERPRISE_ID, OPERA_CASHIER_ID="113")
    return env


# --- MCP over raw HTTP ---------------------------------------------------------------------------------------------
def call_request(era: str, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": era}
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    if era == "2026-07-28":
        headers.update({"Mcp-Method": "tools/call", "Mcp-Name": tool})
        params["_meta"] = {"io.modelcontextprotocol/protocolVersion": era,
                           "io.modelcontextprotocol/clientCapabilities": {},
                           "io.modelcontextprotocol/clientInfo": CLIENT_INFO}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}).encode()
    return headers, body


def jsonrpc_answer(text: str) -> dict[str, Any]:
    """The JSON-RPC message of an MCP POST's answer: the SSE event's data line, or the body itself."""
    data = next((line[5:].strip() for line in text.splitlines() if line.startswith("data:")), text)
    message: dict[str, Any] = json.loads(data)
    return message


def call_tool(url: str, era: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """One tools/call; the result's structured content, or SystemExit naming the error (the bench needs 0 errors)."""
    headers, body = call_request(era, tool, arguments)
    answer = httpx2.post(url + "/mcp", content=body, headers=headers, timeout=30.0)
    text = answer.text
    result = jsonrpc_answer(text).get("result")
    if answer.status_code != 200 or not isinstance(result, dict) or result.get("isError"):
        raise SystemExit(f"{tool} at {url} ({era}) failed: HTTP {answer.status_code} {text[:400]}")
    structured = result.get("structuredContent")
    return structured if isinstance(structured, dict) else {}


@dataclass
class Run:
    latencies_ms: list[float]
    wall_s: float
    cpu_s: float = 0.0  # the server's (A, product) or the client's (B) CPU over the run
    errors: int = 0
    ohip_calls: float = 0.0  # OHIP requests the sandbox saw per call

    def p(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, round(q * (len(data) - 1)))]

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.wall_s

    @property
    def cpu_ms_per_call(self) -> float:
        return self.cpu_s * 1000 / len(self.latencies_ms)


def hey(url: str, headers: dict[str, str], body: bytes, *, requests: int = 0, concurrency: int,
        duration: float | None = None, tmp: Path) -> Run:
    body_file = tmp / "body.json"
    body_file.write_bytes(body)
    argv = ["hey", "-c", str(concurrency), "-m", "POST", "-D", str(body_file), "-o", "csv", "-t", "30"]
    argv += ["-z", f"{duration}s"] if duration else ["-n", str(requests)]
    for name, value in headers.items():
        if name.lower() == "content-type":
            argv += ["-T", value]
        else:
            argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, url + "/mcp"], capture_output=True, check=True, text=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    latencies = [float(r["response-time"]) * 1000 for r in rows]
    ends = [float(r["offset"]) + float(r["response-time"]) for r in rows]
    starts = [float(r["offset"]) for r in rows]
    errors = sum(1 for r in rows if r["status-code"] != "200")
    return Run(latencies, max(ends) - min(starts), errors=errors)


def sandbox_stats(sandbox: Proc) -> dict[str, Any]:
    from app.sandbox.app import CONTROL_PREFIX

    stats: dict[str, Any] = httpx2.get(sandbox.url + CONTROL_PREFIX + "/stats", timeout=10).json()
    return stats


def measured_hey(server: Proc, sandbox: Proc, era: str, tool: str, arguments: dict[str, Any], *, requests: int,
                 concurrency: int, tmp: Path, duration: float | None = None) -> Run:
    headers, body = call_request(era, tool, arguments)
    before_cpu, before_ohip = cpu_seconds(server.pid), sandbox_stats(sandbox)["requests"]
    run = hey(server.url, headers, body, requests=requests, concurrency=concurrency, tmp=tmp, duration=duration)
    run.cpu_s = cpu_seconds(server.pid) - before_cpu
    run.ohip_calls = (sandbox_stats(sandbox)["requests"] - before_ohip) / len(run.latencies_ms)
    return run


def floor_b(python: str, sandbox: Proc, path: str, token: str, *, requests: int, concurrency: int,
            library: str) -> Run:
    out = subprocess.run([python, "-m", "bench.floors", "ohip", "--url", sandbox.url + path, "--token", token,
                          "--hotel", HOTEL, "--concurrency", str(concurrency), "--requests", str(requests),
                          "--library", library], capture_output=True, check=True, text=True, cwd=str(ROOT)).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return Run(data["latencies_ms"], data["wall_s"], cpu_s=data["cpu_s"], ohip_calls=1.0)


def sandbox_token(sandbox: Proc) -> str:
    """A token obtained as the product obtains one (its own TokenManager), for floor B's requests."""
    from app.config import SANDBOX_APP_KEY, SANDBOX_ENTERPRISE_ID, load_settings
    from app.opera.auth import TokenManager
    from app.telemetry.metrics import Metrics

    settings = load_settings(base_url=sandbox.url, app_key=SANDBOX_APP_KEY, enterprise_id=SANDBOX_ENTERPRISE_ID,
                             cashier_id=113,
                             **{k.removeprefix("OPERA_").lower(): v for k, v in SANDBOX_CREDENTIALS.items()})

    async def fetch() -> str:
        async with httpx2.AsyncClient() as client:
            return await TokenManager(settings, Metrics(), client).get_token()

    return asyncio.run(fetch())


# --- the table -----------------------------------------------------------------------------------------------------
def spread(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(values):5.2f} [{min(values):.2f}-{max(values):.2f}]"


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


@dataclass
class Table:
    runs: dict[tuple[str, str, int], list[Run]] = field(default_factory=lambda: defaultdict(list))

    def add(self, cell: str, era: str, c: int, run: Run) -> None:
        self.runs[(cell, era, c)].append(run)

    def ratios(self, top: str, bottoms: Sequence[str], era: str, c: int, stat: str) -> list[float]:
        """Per round: `top`'s statistic over the sum of the bottoms' (B counted once per OHIP call of top)."""
        out = []
        tops = self.runs[(top, era, c)]
        for i, run in enumerate(tops):
            total = 0.0
            for bottom in bottoms:
                key = (bottom, "-" if bottom.startswith("B") else era, c)
                floor_run = self.runs[key][i]
                weight = run.ohip_calls if bottom.startswith("B") else 1.0
                total += weight * _stat(floor_run, stat)
            out.append(_stat(run, stat) / total)
        return out


def _stat(run: Run, stat: str) -> float:
    if stat == "p50":
        return run.p(0.5)
    if stat == "p99":
        return run.p(0.99)
    if stat == "cpu":
        return run.cpu_ms_per_call
    if stat == "rps":
        return run.rps
    raise ValueError(stat)


def print_table(table: Table, concurrencies: Sequence[int], eras: Sequence[str]) -> None:
    cols = [(era, c) for era in eras for c in concurrencies]
    head = " | ".join(f"{era} c={c}" for era, c in cols)
    print(f"\n| ratio: median [min-max] over rounds | {head} | goal |")
    print("|---|" + "---|" * len(cols) + "---|")
    rows: list[tuple[str, str, Sequence[str], str, str]] = [
        ("get_reservation, cache off, p50 / (A + B)", "off", ("A", "B"), "p50", "<= 1.15"),
        ("get_reservation, cache off, p99 / (A + B)", "off", ("A", "B"), "p99", "<= 1.3"),
        ("get_reservation, cached, p50 / A", "on", ("A",), "p50", "<= 1.2"),
        ("post_charge, p50 / (A + k B), k = OHIP calls per call", "charge", ("A", "B"), "p50", ""),
        ("server CPU per call, cache off / (A server + B client)", "off", ("A", "B"), "cpu", ""),
        ("server CPU per call, cached / A server", "on", ("A",), "cpu", ""),
        # The same two ratios against floor B on the product's own library (httpx2): the product's overhead alone,
        # without what it gains by not using httpx.
        ("get_reservation, cache off, p50 / (A + B2)", "off", ("A", "B2"), "p50", ""),
        ("server CPU per call, cache off / (A server + B2 client)", "off", ("A", "B2"), "cpu", ""),
        # Against floor A', which answers with the product's own result: what the product adds beyond the SDK
        # dumping and sending a result of that size.
        ("get_reservation, cache off, p50 / (A' + B)", "off", ("A'", "B"), "p50", ""),
        ("get_reservation, cached, p50 / A'", "on", ("A'",), "p50", ""),
        ("server CPU per call, cached / A' server", "on", ("A'",), "cpu", ""),
    ]
    for label, top, bottoms, stat, goal in rows:
        cells = [spread(table.ratios(top, bottoms, era, c, stat)) for era, c in cols]
        print(f"| {label} | " + " | ".join(cells) + f" | {goal} |")
    thr = []
    for era, c in cols:
        thr.append(spread([a.rps / o.rps for a, o in zip(table.runs[("A", era, c)], table.runs[("off", era, c)],
                                                         strict=True)]))
    print("| throughput A / cache off | " + " | ".join(thr) + " |  |")
    b2 = [spread([x.cpu_ms_per_call / y.cpu_ms_per_call for x, y in zip(table.runs[("B2", "-", c)],
                                                                     table.runs[("B", "-", c)], strict=True)])
          for _, c in cols]
    print("| floor B on httpx2 / on httpx, client CPU per call | " + " | ".join(b2) + " |  |")
    b2p = [spread([x.p(0.5) / y.p(0.5) for x, y in zip(table.runs[("B2", "-", c)], table.runs[("B", "-", c)],
                                                       strict=True)]) for _, c in cols]
    print("| floor B on httpx2 / on httpx, p50 | " + " | ".join(b2p) + " |  |")

    print("\nabsolute medians over rounds (p50 ms / p99 ms / calls per s / CPU ms per call / OHIP calls per call):")
    for (cell, era, c), runs in sorted(table.runs.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])):
        med = statistics.median
        errors = sum(r.errors for r in runs)
        print(f"  {cell:6s} {era:10s} c={c:<3d} {med(r.p(0.5) for r in runs):7.2f} {med(r.p(0.99) for r in runs):7.2f}"
              f" {med(r.rps for r in runs):8.0f} {med(r.cpu_ms_per_call for r in runs):6.2f}"
              f" {med(r.ohip_calls for r in runs):5.2f}" + (f"  ERRORS {errors}" if errors else ""))


def print_baseline(table: Table, concurrencies: Sequence[int], eras: Sequence[str]) -> None:
    """The product against the baseline checkout's product, round by round: below 1 the product is faster (calls per
    s: above 1)."""
    cols = [(era, c) for era in eras for c in concurrencies]
    print("\n| product / baseline: median [min-max] over rounds | "
          + " | ".join(f"{era} c={c}" for era, c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for label, mine, theirs, stat in (
        ("cache off, p50", "off", "off0", "p50"), ("cache off, p99", "off", "off0", "p99"),
        ("cache off, server CPU per call", "off", "off0", "cpu"), ("cache off, calls per s", "off", "off0", "rps"),
        ("cached, p50", "on", "on0", "p50"), ("cached, p99", "on", "on0", "p99"),
        ("cached, server CPU per call", "on", "on0", "cpu"), ("cached, calls per s", "on", "on0", "rps"),
    ):
        cells = [spread([_stat(x, stat) / _stat(y, stat) for x, y in zip(
            table.runs[(mine, era, c)], table.runs[(theirs, era, c)], strict=True)]) for era, c in cols]
        print(f"| {label} | " + " | ".join(cells) + " |")


# --- profile -------------------------------------------------------------------------------------------------------
#: Own time by the package of the innermost frame (py-spy names a frame `function (package/module.py:line)`).
CATEGORIES = {
    "httpx": "OHIP HTTP client", "httpcore": "OHIP HTTP client", "httpcore2": "OHIP HTTP client",
    # h11 parses HTTP/1.1 for uvicorn (inbound) and for httpcore (to OHIP) alike.
    "h11": "h11 (inbound and OHIP HTTP/1.1)", "httpx2": "OHIP HTTP client", "sniffio": "OHIP HTTP client",
    "opentelemetry": "OTel",
    "logging": "logging", "pythonjsonlogger": "logging", "mcp": "MCP SDK", "mcp_types": "MCP SDK",
    "sse_starlette": "MCP SDK", "anyio": "anyio", "pydantic": "pydantic", "pydantic_core": "pydantic",
    "uvicorn": "uvicorn", "httptools": "uvicorn", "starlette": "starlette", "prometheus_client": "prometheus",
    "json": "json", "app": "our code", "asyncio": "event loop", "selectors.py": "event loop",
    "socket.py": "event loop", "uuid.py": "uuid",
}


def category(frame: str) -> str:
    path = frame.rsplit(" (", 1)[-1].rstrip(")")
    if path.startswith("<frozen importlib"):
        return "imports at run time"
    if path.startswith("app/telemetry/"):
        return "logging"
    head = path.split("/", 1)[0] if "/" in path else path.split(":", 1)[0]
    return CATEGORIES.get(head, f"other ({head})")


def profile(server: Proc, sandbox: Proc, arguments: dict[str, Any], era: str, seconds: float, tmp: Path,
            raw: Path | None = None) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = raw or tmp / "profile.txt"
    recorder = subprocess.Popen([spy, "record", "--pid", str(server.pid), "--format", "raw", "--rate", "250",
                                 "--duration", str(int(seconds)), "--output", str(out), "--nonblocking"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches before the load starts
    measured_hey(server, sandbox, era, "get_reservation", arguments, requests=0, concurrency=16, tmp=tmp,
                 duration=seconds - 1.5)
    recorder.wait(seconds + 30)
    own: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        leaf = frames[-1]
        if "(idle)" in stack or leaf.startswith(("select ", "poll ", "epoll")):
            continue  # the loop waiting for work is not a cost
        total += count
        own[category(leaf)] += count
        leaves[leaf] += count
        for name in {f.split(" (", 1)[0] + " (" + f.split(" (", 1)[1].rsplit(":", 1)[0].rsplit("/", 1)[-1] + ")"
                     for f in frames if " (" in f}:
            inclusive[name] += count
    print(f"\nwhere the server's busy time goes (py-spy, {era}, c=16, cache {server.name}, {total} samples; "
          "own time by package of the innermost frame):")
    for name, count in own.most_common():
        print(f"  {100 * count / total:5.1f}%  {name}")
    print("hottest innermost frames:")
    for name, count in leaves.most_common(12):
        print(f"  {100 * count / total:5.1f}%  {name}")
    print("functions with their callees (inclusive), top 30 below the server's own loop (< 60%):")
    for name, count in [(n, c) for n, c in inclusive.most_common() if c < 0.6 * total][:30]:
        print(f"  {100 * count / total:5.1f}%  {name}")
    print(f"(py-spy's raw stacks: {out}; flamegraph: py-spy record --format flamegraph)" if raw else "")


# --- soak and start-up ---------------------------------------------------------------------------------------------
def soak(server: Proc, sandbox: Proc | None, arguments: dict[str, Any], seconds: float, tmp: Path) -> None:
    headers, body = call_request("2026-07-28", "get_reservation", arguments)
    steps = 10
    hey(server.url, headers, body, requests=2000, concurrency=16, tmp=tmp)  # warm: imports, pools, first pages
    samples = [rss_mib(server.pid)]
    calls = 0
    for _ in range(steps):
        run = hey(server.url, headers, body, concurrency=16, duration=seconds / steps, tmp=tmp)
        calls += len(run.latencies_ms)
        samples.append(rss_mib(server.pid))
    growth = 100 * (samples[-1] - samples[0]) / samples[0]
    print(f"soak {server.name}: {calls} calls in {seconds:.0f} s at c=16; RSS MiB after warm-up then every "
          f"{seconds / steps:.0f} s: {' '.join(f'{s:.0f}' for s in samples)}; growth {growth:+.1f}% "
          f"(max {max(samples):.0f})")


def startup(python: str, product_dir: Path, logdir: Path, times: int = 3) -> list[float]:
    out = []
    for i in range(times):
        port = free_port()
        env = {**os.environ, "OPERA_PORT": str(port), "OPERA_HOST": "127.0.0.1"}
        env.pop("VIRTUAL_ENV", None)
        for name in list(env):
            if name.startswith("OPERA_") and name not in ("OPERA_PORT", "OPERA_HOST"):
                env.pop(name)
        with (logdir / f"startup{i}.log").open("wb") as log:
            popen = subprocess.Popen([python, "-m", "app"], env=env, stdout=subprocess.DEVNULL, stderr=log,
                                     cwd=str(product_dir))
            try:
                out.append(wait_ready(f"http://127.0.0.1:{port}/ready", popen))
            finally:
                popen.send_signal(signal.SIGINT)
                popen.wait(15)
    return out


# --- main ----------------------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per repeat")
    parser.add_argument("--calls-c1", type=int, default=300)
    parser.add_argument("--calls-c16", type=int, default=1600)
    parser.add_argument("--quick", action="store_true", help="one repeat of one round, fewer calls")
    parser.add_argument("--eras", default=",".join(ERAS))
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-seconds", type=float, default=12.0)
    parser.add_argument("--profile-cache", choices=("off", "on"), default="off",
                        help="profile the product with its cache off (default) or on")
    parser.add_argument("--profile-raw", type=Path, default=None, help="keep py-spy's raw stacks in this file")
    parser.add_argument("--connections-calls", type=int, default=10_000,
                        help="calls at c=16 (cache off) whose new TCP connections to OHIP are counted; 0: skip")
    parser.add_argument("--soak", type=float, default=0.0, help="seconds of c=16 load per soaked server; 0: skip")
    parser.add_argument("--startup", type=int, default=3, help="times to start `opera-cloud-mcp` to /ready; 0: skip")
    parser.add_argument("--product-dir", type=Path, default=ROOT,
                        help="the checkout whose product is measured (its own .venv); floors always run from here")
    parser.add_argument("--only-table", action="store_true", help="skip connections, soak and start-up")
    parser.add_argument("--baseline-dir", type=Path, default=None,
                        help="a checkout (with its .venv) whose product runs beside this one in every round")
    args = parser.parse_args()
    if shutil.which("hey") is None:
        print("hey is not installed: apt-get install hey", file=sys.stderr)
        return 2
    if args.quick:
        args.repeats, args.rounds, args.calls_c1, args.calls_c16 = 1, 1, 100, 400
    eras = args.eras.split(",")
    product_dir = args.product_dir.resolve()
    product_python = str(product_dir / ".venv" / "bin" / "python")
    python = sys.executable
    concurrencies = (1, 16)
    print(f"bench_tool_call: product {product_dir} ({_git_head(product_dir)}); {load_line()}")

    with tempfile.TemporaryDirectory(prefix="bench-tool-call-") as tmpdir, ExitStack() as stack:
        tmp = Path(tmpdir)
        sandbox_port = free_port()
        from app.sandbox.app import CONTROL_PREFIX

        # The sandbox is part of the product (`opera-cloud-mcp sandbox`, its keep-alive): run from its checkout.
        sandbox = stack.enter_context(started(
            "sandbox", [product_python, "-m", "app", "sandbox"],
            {"OPERA_PORT": str(sandbox_port), "OPERA_HOST": "127.0.0.1"},
            CONTROL_PREFIX + "/stats", sandbox_port, tmp, product_dir))
        a_port, off_port, on_port = free_port(), free_port(), free_port()
        floor_a = stack.enter_context(_started_mcp_floor(python, a_port, tmp))
        off = stack.enter_context(started("off", [product_python, "-m", "app"],
                                          product_env(off_port, sandbox.url, cache=False), "/ready", off_port, tmp,
                                          product_dir))
        on = stack.enter_context(started("on", [product_python, "-m", "app"],
                                         product_env(on_port, sandbox.url, cache=True), "/ready", on_port, tmp,
                                         product_dir))
        baseline: dict[str, Proc] = {}
        if args.baseline_dir is not None:
            base_dir = args.baseline_dir.resolve()
            print(f"baseline: {base_dir} ({_git_head(base_dir)})")
            for name, cache in (("off0", False), ("on0", True)):
                port = free_port()
                baseline[name] = stack.enter_context(started(
                    name, [str(base_dir / ".venv" / "bin" / "python"), "-m", "app"],
                    product_env(port, sandbox.url, cache=cache), "/ready", port, tmp, base_dir))
        guests = call_tool(off.url, "2026-07-28", "list_in_house", {"limit": 2})
        reservation_id = str(guests["items"][0]["reservation_id"])
        read = {"reservation_id": reservation_id}
        # Charges go to another guest: thousands of postings on the reservation that is read would make every
        # getReservation (OHIP sums the folio for the balance) slower round by round, floors and product alike,
        # burying the product's own cost under a growing OHIP one. The charged folio grows instead (that cell only).
        charged = str(guests["items"][1]["reservation_id"])
        charge = {"reservation_id": charged, "transaction_code": "2010", "amount": 1.0, "currency": "USD"}
        token = sandbox_token(sandbox)
        # The product's exact getReservation GET, its query included (ReservationsAPI.get asks for the full record).
        from app.opera.http import query_pairs, request_target
        from app.opera.reservations import FULL_RECORD

        b_path = request_target(f"/rsv/v1/hotels/{HOTEL}/reservations/{reservation_id}",
                                query_pairs({"fetchInstructions": list(FULL_RECORD)}))
        # Floor A': floor A answering with the product's own result for this reservation (its size, its fields).
        result_file = tmp / "product-result.json"
        result_file.write_text(json.dumps(call_tool(off.url, "2026-07-28", "get_reservation", read)))
        floor_a_sized = stack.enter_context(_started_mcp_floor(python, free_port(), tmp, result_file))
        for era in eras:  # 0 errors or no table
            for server in (off, on, *baseline.values()):
                call_tool(server.url, era, "get_reservation", read)
            call_tool(on.url, era, "post_charge", charge)
            call_tool(floor_a.url, era, "get_reservation", read)
            call_tool(floor_a_sized.url, era, "get_reservation", read)

        table = Table()
        for repeat in range(args.repeats):
            for round_no in range(args.rounds):
                print(f"repeat {repeat + 1}/{args.repeats} round {round_no + 1}/{args.rounds}: {load_line()}",
                      flush=True)
                for c in concurrencies:
                    n = args.calls_c1 if c == 1 else args.calls_c16
                    table.add("B", "-", c, floor_b(python, sandbox, b_path, token, requests=n, concurrency=c,
                                                   library="httpx"))
                    table.add("B2", "-", c, floor_b(python, sandbox, b_path, token, requests=n, concurrency=c,
                                                    library="httpx2"))
                    for era in eras:
                        def baseline_cells(era: str = era, c: int = c, n: int = n) -> None:
                            for name, server in baseline.items():
                                table.add(name, era, c, measured_hey(server, sandbox, era, "get_reservation", read,
                                                                     requests=n, concurrency=c, tmp=tmp))
                        if round_no % 2:  # the baseline first in every other round: neither gains from going first
                            baseline_cells()
                        table.add("A", era, c, measured_hey(floor_a, sandbox, era, "get_reservation", read,
                                                            requests=n, concurrency=c, tmp=tmp))
                        table.add("A'", era, c, measured_hey(floor_a_sized, sandbox, era, "get_reservation", read,
                                                             requests=n, concurrency=c, tmp=tmp))
                        table.add("off", era, c, measured_hey(off, sandbox, era, "get_reservation", read,
                                                              requests=n, concurrency=c, tmp=tmp))
                        table.add("on", era, c, measured_hey(on, sandbox, era, "get_reservation", read,
                                                             requests=n, concurrency=c, tmp=tmp))
                        table.add("charge", era, c, measured_hey(on, sandbox, era, "post_charge", charge,
                                                                 requests=max(n // 4, 50), concurrency=c, tmp=tmp))
                        if not round_no % 2:
                            baseline_cells()
        print_table(table, concurrencies, eras)
        if baseline:
            print_baseline(table, concurrencies, eras)
        print(f"\n{load_line()}")

        if not args.only_table and args.connections_calls:
            # In bursts with idle gaps longer than uvicorn's default keep-alive (5 s) and shorter than the client's
            # (30 s), as a server with quiet moments sees them: a server that drops idle connections first makes
            # the client open new ones after every gap.
            bursts, gap = 5, 6.0
            before = sandbox_stats(sandbox)["connections"]
            calls = errors = 0
            for i in range(bursts):
                if i:
                    time.sleep(gap)
                run = measured_hey(off, sandbox, eras[-1], "get_reservation", read,
                                   requests=args.connections_calls // bursts, concurrency=16, tmp=tmp)
                calls, errors = calls + len(run.latencies_ms), errors + run.errors
            opened = sandbox_stats(sandbox)["connections"] - before
            print(f"TCP connections the sandbox saw opened during {calls} calls at c=16 (cache off, {bursts} bursts "
                  f"{gap:.0f} s apart): {opened} (goal <= 20, the pool's keep-alive size); errors {errors}")
            cold = _cold_burst(on, sandbox, reservation_id)
            print(f"OHIP calls for 16 concurrent cold reads of one key (cache on): {cold} (goal 1)")
        if args.profile:
            profile(off if args.profile_cache == "off" else on, sandbox, read, eras[-1], args.profile_seconds, tmp,
                    args.profile_raw)
        if args.soak:
            soak(off, sandbox, read, args.soak, tmp)
    if args.soak:
        _soak_embedded(product_python, product_dir, args.soak)
    if not args.only_table and args.startup:
        times = startup(product_python, product_dir, Path(tempfile.mkdtemp(prefix="bench-startup-")), args.startup)
        print(f"start-up `opera-cloud-mcp` (embedded sandbox) to /ready: median {statistics.median(times):.2f} s "
              f"({' '.join(f'{t:.2f}' for t in times)})")
    print(load_line())
    return 0


@contextmanager
def _started_mcp_floor(python: str, port: int, tmp: Path, result: Path | None = None) -> Iterator[Proc]:
    name = "A" if result is None else "A'"
    log = (tmp / f"{name}.log").open("wb")
    argv = [python, "-m", "bench.floors", "mcp", "--port", str(port)] + (["--result", str(result)] if result else [])
    popen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, cwd=str(ROOT))
    url = f"http://127.0.0.1:{port}"
    try:
        start = time.perf_counter()
        while True:  # the bare server has no /ready: wait until its port accepts connections
            if popen.poll() is not None:
                raise RuntimeError(f"floor {name} exited during start-up")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.perf_counter() - start > 60:
                    raise TimeoutError(f"floor {name} did not start") from None
                time.sleep(0.01)
        yield Proc(name, url, popen)
    finally:
        popen.send_signal(signal.SIGINT)
        popen.wait(15)
        log.close()


def _cold_burst(server: Proc, sandbox: Proc, reservation_id: str) -> int:
    """OHIP calls for 16 concurrent reads of one reservation whose cached answer a write has just dropped."""
    call_tool(server.url, "2026-07-28", "post_charge", {"reservation_id": reservation_id, "transaction_code": "2010",
                                                        "amount": 1.0, "currency": "USD"})
    before = sandbox_stats(sandbox)["requests"]

    async def burst() -> None:
        headers, body = call_request("2026-07-28", "get_reservation", {"reservation_id": reservation_id})
        async with httpx2.AsyncClient(timeout=30) as client:
            answers = await asyncio.gather(*(client.post(server.url + "/mcp", content=body, headers=headers)
                                             for _ in range(16)))
        assert all(a.status_code == 200 for a in answers)

    asyncio.run(burst())
    return int(sandbox_stats(sandbox)["requests"] - before)


def _soak_embedded(python: str, product_dir: Path, seconds: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    port = free_port()
    # Cache off, so that every call reaches the embedded sandbox and its request log (the part that grew).
    env = {"OPERA_PORT": str(port), "OPERA_HOST": "127.0.0.1", "OPERA_ENABLE_CACHE": "false",
           "OPERA_INBOUND_REQUESTS_PER_MINUTE": "100000000", "OPERA_REQUESTS_PER_SECOND": "100000",
           "OPERA_BURST_CAPACITY": "100000"}
    with started("embedded default, cache off", [python, "-m", "app"], env, "/ready", port, tmp,
                 product_dir) as server:
        guests = call_tool(server.url, "2026-07-28", "list_in_house", {"limit": 1})
        soak(server, None, {"reservation_id": str(guests["items"][0]["reservation_id"])}, seconds, tmp)


def _git_head(path: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(path), "log", "-1", "--format=%h %s"], capture_output=True,
                              text=True, check=True).stdout.strip()[:60]
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "not a git checkout"


if __name__ == "__main__":
    sys.exit(main())
