"""What agents see of every tool (name, title, description, input and output schema, annotations) is stored
under tests/snapshots/tools/. A change fails here until the snapshot is updated in the same commit:

    UPDATE_TOOL_SNAPSHOTS=1 uv run pytest tests/e2e/test_tool_snapshots.py
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

from tests.support.apps import embedded_settings, running_app
from tests.support.mcp_client import mcp_client

SNAPSHOTS = Path(__file__).parent.parent / "snapshots" / "tools"


def snapshot_of(tool: Any) -> str:
    annotations = tool.annotations.model_dump(by_alias=True, exclude_none=True) if tool.annotations else None
    record = {
        "name": tool.name,
        "title": tool.title,
        "description": tool.description,
        "annotations": annotations,
        "inputSchema": tool.input_schema,
        "outputSchema": tool.output_schema,
    }
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


async def test_tool_schemas_match_their_snapshots() -> None:
    settings, port = embedded_settings()
    with running_app(settings, port) as srv:
        async with mcp_client(srv.url) as client:
            tools = (await client.list_tools()).tools
    assert len(tools) == 53, sorted(t.name for t in tools)
    update = os.environ.get("UPDATE_TOOL_SNAPSHOTS") == "1"
    problems: list[str] = []
    listed = set()
    for tool in tools:
        listed.add(tool.name)
        path = SNAPSHOTS / f"{tool.name}.json"
        current = snapshot_of(tool)
        if update:
            SNAPSHOTS.mkdir(parents=True, exist_ok=True)
            path.write_text(current)
            continue
        if not path.exists():
            problems.append(f"{tool.name}: no snapshot (run with UPDATE_TOOL_SNAPSHOTS=1)")
            continue
        stored = path.read_text()
        if stored != current:
            diff = "".join(
                difflib.unified_diff(
                    stored.splitlines(True),
                    current.splitlines(True),
                    f"{path.name} (stored)",
                    f"{path.name} (served)",
                    n=2,
                )
            )
            problems.append(f"{tool.name} changed:\n{diff}")
    stale = sorted(p.stem for p in SNAPSHOTS.glob("*.json") if p.stem not in listed)
    if update:
        for name in stale:
            (SNAPSHOTS / f"{name}.json").unlink()
    else:
        problems.extend(f"{name}: snapshot of a tool the server no longer lists" for name in stale)
    assert not problems, "\n".join(problems)
