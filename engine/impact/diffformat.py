"""``triage diff`` reports as text, JSON and HTML. Every format lists behaviour changes in
the order of :data:`engine.impact.diff.CLASSES`: down-triage first."""

from __future__ import annotations

import json
from typing import Any

from engine.conditions import format_value
from engine.impact.diff import CLASSES, DOWN, UP, DiffReport, Region
from engine.impact.picture import escape, matrix_svg, page

NONE = "(no answer)"


def render(report: DiffReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
    if fmt == "html":
        return _html(report)
    return _text(report)


def show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    return format_value(value)


def _outputs(outputs: dict[str, Any] | str, names: list[str], width: int = 0) -> str:
    if isinstance(outputs, str):
        return f"no answer ({outputs})"
    shown = [(n, show(outputs.get(n))) for n in names]
    if width:  # long texts (advice) cut short in the text report; JSON and HTML keep them
        shown = [(n, v if len(v) <= width else v[: width - 1] + "…") for n, v in shown]
    return ", ".join(f"{n} {v}" for n, v in shown)


def _facts(facts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {show(v)}" for k, v in facts.items()) or "no facts"


def headline(report: DiffReport) -> str:
    if report.identical:
        return "behaviour identical: every case gets the same answer from both versions"
    counts = report.counts()
    parts = [f"{counts[c]} {c}" for c in CLASSES if counts[c]]
    return f"behaviour differs in {len(report.regions)} regions: " + ", ".join(parts)


def _text(report: DiffReport) -> str:
    lines = [
        f"old: {report.old_source} (version {report.old_version})",
        f"new: {report.new_source} (version {report.new_version})",
        headline(report),
    ]
    for limit in report.limits:
        lines.append(f"not exact: {limit}")
    for kind in CLASSES:
        regions = [r for r in report.regions if r.triage == kind]
        if not regions:
            continue
        lines += ["", f"{kind.upper()} ({len(regions)})"]
        for number, region in enumerate(regions, 1):
            lines += _region_lines(number, region)
    lines += ["", "ROW CHANGES"]
    if report.rows.empty:
        lines.append("  none")
    for item in report.rows.items:
        lines.append(f"  {item.where}: {item.what}")
    for rule in report.rows.rules:
        rows = f"row {rule.old_row} → {rule.new_row}" if rule.kind == "moved" else (
            f"row {rule.new_row or rule.old_row}")
        lines.append(f"  table {rule.table}: rule {rule.rule_id} {rule.kind} ({rows})"
                     + (f": {rule.text}" if rule.text else ""))
        for cell in rule.cells:
            where = f" [{cell.cell}]" if cell.cell else ""
            lines.append(f"      {cell.column}: {cell.old} → {cell.new}{where}")
    return "\n".join(lines) + "\n"


def _region_lines(number: int, region: Region) -> list[str]:
    names = region.changed
    arrows = ", ".join(f"{n} {d}" for n, d in region.directions.items() if d != "same")
    return [
        f"  {number}. when {region.description}",
        f"     old: {_outputs(region.example_old, names, 90)}",
        f"     new: {_outputs(region.example_new, names, 90)}"
        + (f"   [{arrows}]" if arrows else ""),
        f"     for example: {_facts(region.example)}",
    ]


def _matrices(report: DiffReport) -> str:
    """One transition matrix per ordered output, counting regions."""
    pictures = []
    for name in report.ordered:
        labels: list[str] = []
        counts: dict[tuple[int, int], int] = {}
        for region in report.regions:
            old, new = region.example_old, region.example_new
            if name not in region.changed:
                continue
            pair = []
            for outputs in (old, new):
                value = outputs.get(name) if isinstance(outputs, dict) else None
                pair.append(_label(value))
            for label in pair:
                if label not in labels:
                    labels.append(label)
            key = (labels.index(pair[0]), labels.index(pair[1]))
            counts[key] = counts.get(key, 0) + 1
        if not counts:
            continue
        order = _order(report, name, labels)
        remap = {labels.index(lab): order.index(lab) for lab in labels}
        counts = {(remap[i], remap[j]): c for (i, j), c in counts.items()}
        pictures.append(matrix_svg(f"{name}: regions by old → new value", order, counts))
    return "".join(pictures)


def _label(value: Any) -> str:
    """A matrix row or column: the value as written in Output values (a list: its first)."""
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value is None:
        return NONE
    return value if isinstance(value, str) else show(value)


def _order(report: DiffReport, name: str, labels: list[str]) -> list[str]:
    """Labels in priority order (most urgent first; no answer last)."""
    listed = report.listed.get(name, [])
    return sorted(labels, key=lambda lab: listed.index(lab) if lab in listed else len(listed))


def _html(report: DiffReport) -> str:
    e = escape
    body = [
        f"<p>old: <code>{e(report.old_source)}</code> (version {e(report.old_version)})<br>"
        f"new: <code>{e(report.new_source)}</code> (version {e(report.new_version)})</p>",
        f"<p><strong>{e(headline(report))}</strong></p>",
    ]
    body += [f'<p class="note">not exact: {e(limit)}</p>' for limit in report.limits]
    body.append(_matrices(report))
    for kind in CLASSES:
        regions = [r for r in report.regions if r.triage == kind]
        if not regions:
            continue
        css = "down" if kind == DOWN else "up" if kind == UP else ""
        body.append(f'<h2 class="{css}">{e(kind)} ({len(regions)})</h2><table>'
                    "<tr><th>#</th><th>when</th><th>old</th><th>new</th><th>example</th></tr>")
        for number, region in enumerate(regions, 1):
            body.append(
                f"<tr><td>{number}</td><td>{e(region.description)}</td>"
                f"<td>{e(_outputs(region.example_old, region.changed))}</td>"
                f"<td>{e(_outputs(region.example_new, region.changed))}</td>"
                f"<td>{e(_facts(region.example))}</td></tr>"
            )
        body.append("</table>")
    body.append("<h2>Row changes</h2>")
    if report.rows.empty:
        body.append("<p>none</p>")
    else:
        body.append("<table><tr><th>where</th><th>change</th></tr>")
        for item in report.rows.items:
            body.append(f"<tr><td>{e(item.where)}</td><td>{e(item.what)}</td></tr>")
        for rule in report.rows.rules:
            cells = "<br>".join(f"{e(c.column)}: {e(c.old)} → {e(c.new)}" for c in rule.cells)
            what = f"{e(rule.kind)}" + (f": {e(rule.text)}" if rule.text else "") + (
                f"<br>{cells}" if cells else "")
            body.append(f"<tr><td>table {e(rule.table)}, rule {e(rule.rule_id)} "
                        f"(row {rule.new_row or rule.old_row})</td><td>{what}</td></tr>")
        body.append("</table>")
    return page("Behaviour diff", "\n".join(body))
