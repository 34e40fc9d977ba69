"""The PromQL we ship (alert rules and Grafana dashboards) and the metric names each expression reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
ALERTS = REPO / "prometheus" / "alerts.yml"
DASHBOARDS = sorted((REPO / "grafana" / "dashboards").glob("*.json"))

#: Grafana's built-in range variables, replaced by a plausible value so promtool can parse the expression.
GRAFANA_RANGES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
#: Series Prometheus makes itself for every target; they are never in the app's /metrics.
SCRAPE_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
                       "group_right", "inf", "nan"})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NUMBER_OR_DURATION = re.compile(r"(?<![A-Za-z0-9_:])\d[\w.]*")
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_GRAFANA_VARIABLE = re.compile(r"\$\{?(\w+)\}?")
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*\w+\s*\)\s*$")


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects: identifiers that are not functions, keywords, labels or literals."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = _GROUPING.sub(" ", text)
    text = _NUMBER_OR_DURATION.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        rest = text[match.end():].lstrip()
        if rest.startswith("(") or match.group().lower() in _KEYWORDS:
            continue
        names.add(match.group())
    return names


def as_promql(grafana_expr: str) -> str:
    """A dashboard expression with Grafana's variables replaced, so it is plain PromQL."""
    text = grafana_expr
    for variable, value in GRAFANA_RANGES.items():
        text = text.replace(variable, value)
    return _GRAFANA_VARIABLE.sub("x", text)


def rule_expressions() -> dict[str, str]:
    """`alerts.yml: <alert>` -> expression, for every rule."""
    doc = yaml.safe_load(ALERTS.read_text())
    out = {}
    for group in doc["groups"]:
        for rule in group["rules"]:
            out[f"alerts.yml: {rule.get('alert') or rule.get('record')}"] = str(rule["expr"])
    return out


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_expressions() -> dict[str, str]:
    """`<file>: <panel title> <refId>` -> PromQL (variables replaced), for every panel target and query variable."""
    out = {}
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in _panels(dashboard.get("panels", [])):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out[f"{path.name}: {panel['title']} {target['refId']}"] = as_promql(target["expr"])
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable.get("query")
            text = query.get("query") if isinstance(query, dict) else None
            match = _LABEL_VALUES.match(text or "")
            if match:
                out[f"{path.name}: variable {variable['name']}"] = as_promql(match.group(1))
    return out


def exposed_names(exposition: str) -> set[str]:
    """Every series name a /metrics text page offers: its samples, plus what its TYPE lines declare (a labelled
    metric with no sample yet still declares its name)."""
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
            elif kind == "summary":
                names |= {f"{name}_sum", f"{name}_count"}
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names
