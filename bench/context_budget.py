"""Benchmark: what `tools/list` costs an agent's context, per tool and in total.

    uv run python bench/context_budget.py [--read-only] [--toolsets reservations,billing] [--out now.json]
                                          [--compare before.json]

Starts the server in sandbox mode on a free loopback port (in this process, as the tests do), sends one JSON-RPC
`tools/list` over HTTP, and measures the JSON of the result as it came over the wire (compact, UTF-8), and of each
tool in it (name, title, description, input and output schemas, annotations). The server instructions, which a
client also puts in the model's context, are measured on their own line.

Token counts are estimates, since no tokenizer ships offline here:
  ~tok/4   bytes / 4, the usual rule of thumb for English and JSON;
  ~pieces  a word-piece count: each run of letters is ceil(len / 6) pieces, each run of digits ceil(len / 3),
           each other non-space character one piece (JSON punctuation and quotes mostly are separate tokens).
Real tokenizers land between the two for this kind of text; compare runs with the same estimate.
Columns: the tool's whole JSON, then its description, input schema and output schema alone (bytes).
`--out` writes the figures as JSON; `--compare` prints the change against such a file.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.server import INSTRUCTIONS
from tests.support.apps import embedded_settings, running_app

HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json",
           "mcp-protocol-version": "2025-11-25"}
_PIECES = re.compile(r"[A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]")


def pieces(text: str) -> int:
    count = 0
    for piece in _PIECES.findall(text):
        if piece[0].isalpha():
            count += math.ceil(len(piece) / 6)
        elif piece[0].isdigit():
            count += math.ceil(len(piece) / 3)
        else:
            count += 1
    return count


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def figures(text: str) -> dict[str, int]:
    size = len(text.encode())
    return {"bytes": size, "tok4": math.ceil(size / 4), "pieces": pieces(text)}


def list_tools(url: str) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    answer = httpx2.post(f"{url}/mcp", json=body, headers=HEADERS, timeout=30)
    answer.raise_for_status()
    if answer.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in answer.text.splitlines() if line.startswith("data:")]
        message = json.loads(data[-1])
    else:
        message = answer.json()
    return dict(message["result"])


def measure(result: dict[str, Any]) -> dict[str, Any]:
    tools = {}
    for tool in result["tools"]:
        tools[tool["name"]] = {
            **figures(compact(tool)),
            "description_bytes": len((tool.get("description") or "").encode()),
            "input_bytes": len(compact(tool.get("inputSchema")).encode()),
            "output_bytes": len(compact(tool.get("outputSchema")).encode()),
        }
    return {"total": figures(compact(result)), "instructions": figures(INSTRUCTIONS), "tools": tools}


def report(now: dict[str, Any], before: dict[str, Any] | None) -> None:
    def change(new: int, old: int | None) -> str:
        if old is None:
            return ""
        return f"  ({new - old:+d}, {100 * (new - old) / old:+.0f}%)" if old else ""

    print(f"{'tool':<26}{'bytes':>8}{'~tok/4':>8}{'~pieces':>9}{'descr':>7}{'input':>7}{'output':>8}")
    for name, f in now["tools"].items():
        old = (before or {}).get("tools", {}).get(name)
        print(f"{name:<26}{f['bytes']:>8}{f['tok4']:>8}{f['pieces']:>9}{f['description_bytes']:>7}"
              f"{f['input_bytes']:>7}{f['output_bytes']:>8}{change(f['bytes'], old['bytes'] if old else None)}")
    for key, label in (("total", f"tools/list ({len(now['tools'])} tools)"), ("instructions", "instructions")):
        f = now[key]
        old = (before or {}).get(key)
        print(f"{label:<26}{f['bytes']:>8}{f['tok4']:>8}{f['pieces']:>9}{'':>22}"
              f"{change(f['bytes'], old['bytes'] if old else None)}")
    sums = {k: sum(f[k] for f in now["tools"].values()) for k in ("description_bytes", "input_bytes", "output_bytes")}
    print(f"of which descriptions {sums['description_bytes']} B, input schemas {sums['input_bytes']} B, output "
          f"schemas {sums['output_bytes']} B")
    if before is not None:
        descr_now = sum(f["description_bytes"] for f in now["tools"].values())
        descr_old = sum(f["description_bytes"] for f in before["tools"].values())
        print(f"descriptions: {descr_old} -> {descr_now} bytes{change(descr_now, descr_old)}; tokens (bytes/4): "
              f"{before['total']['tok4']} -> {now['total']['tok4']}; pieces: {before['total']['pieces']} -> "
              f"{now['total']['pieces']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--read-only", action="store_true", help="measure a read-only server's list")
    parser.add_argument("--toolsets", help="comma list, as OPERA_TOOLSETS (default: all)")
    parser.add_argument("--out", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--compare", type=Path, help="show the change against figures written with --out")
    args = parser.parse_args()
    overrides: dict[str, Any] = {"log_level": "WARNING", "read_only": args.read_only}
    if args.toolsets:
        overrides["toolsets"] = args.toolsets
    settings, port = embedded_settings(**overrides)
    with running_app(settings, port) as server:
        now = measure(list_tools(server.url))
    before = json.loads(args.compare.read_text()) if args.compare else None
    report(now, before)
    if args.out:
        args.out.write_text(json.dumps(now, indent=1) + "\n")


if __name__ == "__main__":
    main()
