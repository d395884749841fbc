"""The human-readable API page at ``/docs``: one self-contained HTML page (inline CSS, no
script, nothing fetched from a CDN), rendered from the same OpenAPI document clients get,
so the page and ``/openapi.json`` cannot disagree.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from engine.model import Kind
from service.registry import Snapshot

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;
color:#1b1f24}
h1,h2,h3{line-height:1.2}code,pre{font:13px/1.4 ui-monospace,monospace;background:#f3f4f6}
pre{padding:.75rem;overflow-x:auto;border-radius:4px}code{padding:0 .2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.m{font-weight:600;font-family:ui-monospace,monospace}
"""


def _cell(text: Any) -> str:
    return f"<td>{escape(str(text))}</td>"


def _endpoints(document: dict[str, Any]) -> str:
    rows = []
    for path, operations in document["paths"].items():
        if "{" not in path and path.startswith("/v1/tables/"):
            continue  # the per-table copies are listed with each table below
        for method, operation in operations.items():
            statuses = ", ".join(operation["responses"])
            rows.append(
                f"<tr><td class=m>{method.upper()}</td><td><code>{escape(path)}</code></td>"
                f"{_cell(operation.get('summary', ''))}{_cell(statuses)}</tr>"
            )
    head = "<tr><th>Method</th><th>Path</th><th>What it does</th><th>Statuses</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _inputs(snapshot: Snapshot, table_id: str) -> str:
    model = snapshot.slots[table_id].current.model
    rows = []
    for item in model.inputs:
        allowed = ", ".join(item.allowed_values) if item.kind is Kind.ENUM else (
            str(item.value_range) if item.value_range is not None else "")
        rows.append(
            f"<tr><td><code>{escape(item.name)}</code></td>{_cell(item.kind.value)}"
            f"{_cell(allowed)}{_cell(item.unit)}{_cell('yes' if item.required else 'no')}"
            f"{_cell(item.description)}</tr>"
        )
    head = ("<tr><th>Fact</th><th>Type</th><th>Allowed values</th><th>Unit</th>"
            "<th>Required</th><th>Description</th></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _outputs(snapshot: Snapshot, table_id: str) -> str:
    model = snapshot.slots[table_id].current.model
    rows = [
        f"<tr><td><code>{escape(o.name)}</code></td>{_cell(t.hit_policy.value)}"
        f"{_cell('list' if t.returns_list else o.kind.value)}"
        f"{_cell(', '.join(str(v) for v in o.allowed_values))}</tr>"
        for t in model.tables
        for o in t.outputs
    ]
    head = "<tr><th>Output</th><th>Hit policy</th><th>Type</th><th>Allowed values</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _example(snapshot: Snapshot, table_id: str) -> str:
    model = snapshot.slots[table_id].current.model
    facts = dict(model.vignettes[0].facts) if model.vignettes else {}
    body = json.dumps({"facts": facts}, indent=2)
    return (
        f"<pre>curl -s -X POST http://127.0.0.1:8000/v1/tables/{escape(table_id)}/evaluate \\\n"
        f"  -H 'Content-Type: application/json' -d @- &lt;&lt;'EOF'\n{escape(body)}\nEOF</pre>"
    )


def render(document: dict[str, Any], snapshot: Snapshot) -> str:
    """The page, as a string."""
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>{escape(document['info']['title'])}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(document['info']['title'])}</h1>",
        f"<p>{escape(document['info']['description'])}</p>",
        "<p>Every answer is JSON. Errors read <code>{\"error\": code, \"message\": text, "
        "\"request_id\": id}</code>; invalid facts (422) add <code>\"errors\": [{\"field\", "
        "\"message\"}]</code> naming every bad, unknown or missing fact. The machine-readable "
        "description is <a href='/openapi.json'>/openapi.json</a> (OpenAPI 3.1).</p>",
        "<h2>Endpoints</h2>",
        _endpoints(document),
    ]
    for table_id in sorted(snapshot.slots):
        current = snapshot.slots[table_id].current
        about = current.model.about
        parts += [
            f"<h2 id='{escape(table_id)}'>{escape(about.title or table_id)}</h2>",
            f"<p><code>{escape(table_id)}</code> — version {escape(about.version)}, content "
            f"hash <code>{escape(current.version)}</code>. {escape(about.description)}</p>",
            "<h3>Example</h3>",
            _example(snapshot, table_id),
            "<h3>Facts (the Inputs sheet)</h3>",
            _inputs(snapshot, table_id),
            "<h3>Outputs</h3>",
            _outputs(snapshot, table_id),
        ]
    parts.append("</body></html>")
    return "".join(parts)
