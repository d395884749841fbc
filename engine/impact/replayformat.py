"""``triage replay`` reports as text, JSON, HTML (with the transition matrix) and CSV (one
line per case whose answer changes or is refused). Down-triaged cases come first.

The listed cases are read back from the replay's temporary store (:mod:`.spill`): JSON
streams every one of them to its file (:func:`write_json`), text and HTML show the first
ones and say how many more there are and which format lists them all."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable
from typing import Any, TextIO

from engine.impact.picture import escape, matrix_svg, page
from engine.impact.replay import ReplayRun

CSV_FIELDS = ("request_id", "evaluated_at", "version", "class", "old", "new", "error")
TEXT_SHOWN = 200  # down-triaged cases, and refusal messages, shown in a text report
HTML_SHOWN = 2000  # the same in an HTML page
_STREAMED = ("down_triaged_cases", "refusals")  # the lists JSON streams from the store


def summary(run: ReplayRun, shown: int | None = None) -> dict[str, Any]:
    """The report as data, with the first ``shown`` listed cases and refusal messages (all of
    them when None: for a large audit, :func:`write_json` streams them instead)."""
    o = run.outcome
    listed = run.listed
    model = run.candidate
    rules = [f"{t.name}/{r.rule_id}" for t in model.tables for r in t.rules]
    new_fired, old_fired = o.fired, run.old_fired
    return {
        "table_id": run.table_id,
        "candidate": {"source": model.source, "version": model.version},
        "output": run.output,
        "cases": o.cases,
        "unchanged": o.cases - o.changed,
        "changed": o.changed,
        "down_triaged": listed.down_count,
        "up_triaged": o.up,
        "refused": listed.refused_count,
        "transitions": [{"old": a, "new": b, "cases": n}
                        for (a, b), n in sorted(o.matrix.items(), key=lambda kv: -kv[1])],
        "down_triaged_cases": list(listed.down(shown)),
        "refusals": [_refusal(message, count, ids)
                     for message, count, ids in listed.refusals(shown)],
        "rules_firing_for_the_first_time": sorted(
            ({"rule": r, "cases": new_fired[r]} for r in new_fired if r not in old_fired),
            key=lambda x: -x["cases"]),
        "rules_no_longer_firing": sorted(
            ({"rule": r, "cases_before": old_fired[r]} for r in old_fired if r not in new_fired),
            key=lambda x: -x["cases_before"]),
        "candidate_rules_never_firing": [r for r in rules if r not in new_fired],
        "evaluated": o.evaluated,
        "seconds": round(run.seconds, 2),
        "workers": run.workers,
    }


def _refusal(message: str, count: int, ids: list[Any]) -> dict[str, Any]:
    return {"error": message, "cases": count, "request_ids": ids}


def render(run: ReplayRun, fmt: str) -> str:
    """The whole report as one string (JSON: prefer :func:`write_json` for a large audit)."""
    if fmt == "json":
        buffer = io.StringIO()
        write_json(run, buffer)
        return buffer.getvalue()
    shown = HTML_SHOWN if fmt == "html" else TEXT_SHOWN
    data = summary(run, shown)
    more = run.listed.refusal_messages - len(data["refusals"])
    if fmt == "html":
        return _html(run, data, more)
    return _text(data, more)


def write_json(run: ReplayRun, sink: TextIO) -> None:
    """The JSON report, every listed case streamed from the store to ``sink`` one at a time;
    the text is the same as ``json.dumps(summary(run), indent=2, ensure_ascii=False)``."""
    data = summary(run, 0)
    marks = {key: f"@{uuid.uuid4().hex}@" for key in _STREAMED}
    text = json.dumps({k: marks.get(k, v) for k, v in data.items()}, indent=2,
                      ensure_ascii=False, default=str) + "\n"
    lists: dict[str, Iterable[dict[str, Any]]] = {
        "down_triaged_cases": run.listed.down(),
        "refusals": (_refusal(*r) for r in run.listed.refusals()),
    }
    for key in _STREAMED:  # in the order summary() puts them
        before, text = text.split(f'"{marks[key]}"', 1)
        sink.write(before)
        _write_list(lists[key], sink)
    sink.write(text)


def _write_list(items: Iterable[dict[str, Any]], sink: TextIO) -> None:
    """A list that is the value of a top-level key, as ``json.dumps(indent=2)`` lays it out."""
    first = True
    for item in items:
        sink.write("[\n    " if first else ",\n    ")
        sink.write(json.dumps(item, indent=2, ensure_ascii=False, default=str)
                   .replace("\n", "\n    "))
        first = False
    sink.write("[]" if first else "\n  ]")


def _text(data: dict[str, Any], more_refusals: int = 0) -> str:
    lines = [
        f"replayed {data['cases']:,} audited cases of {data['table_id']} against "
        f"{data['candidate']['source']} (version {data['candidate']['version']}) "
        f"in {data['seconds']} s on {data['workers']} processes "
        f"({data['evaluated']:,} evaluated: the others repeated facts already answered)",
        f"{data['output']}: {data['unchanged']:,} unchanged, {data['changed']:,} changed — "
        f"{data['down_triaged']:,} down-triaged, {data['up_triaged']:,} up-triaged, "
        f"{data['refused']:,} refused by the candidate",
    ]
    if data["down_triaged_cases"]:
        lines += ["", f"DOWN-TRIAGED ({data['down_triaged']:,})"]
        for case in data["down_triaged_cases"][:TEXT_SHOWN]:
            lines.append(f"  {case['request_id']}  {case['evaluated_at']}  "
                         f"{_show(case['old'])} → {_show(case['new'])}")
        if data["down_triaged"] > TEXT_SHOWN:
            lines.append(f"  … and {data['down_triaged'] - TEXT_SHOWN:,} more (--format csv or "
                         "json lists every one)")
    if data["refusals"]:
        lines += ["", f"REFUSED BY THE CANDIDATE ({data['refused']:,})"]
        for refusal in data["refusals"]:
            lines.append(f"  {refusal['cases']:,} cases: {refusal['error']}")
            lines.append(f"      e.g. {', '.join(refusal['request_ids'][:5])}")
        if more_refusals:
            lines.append(f"  … and {more_refusals:,} more errors (--format json lists every "
                         "one)")
    lines += ["", f"TRANSITIONS of {data['output']} (old → new: cases)"]
    for t in data["transitions"]:
        mark = "" if t["old"] == t["new"] else "  *"
        lines.append(f"  {t['old']} → {t['new']}: {t['cases']:,}{mark}")
    for title, key, count in (
        ("RULES FIRING FOR THE FIRST TIME", "rules_firing_for_the_first_time", "cases"),
        ("RULES NO LONGER FIRING", "rules_no_longer_firing", "cases_before"),
    ):
        if data[key]:
            lines += ["", title]
            lines += [f"  {r['rule']}: {r[count]:,} cases" for r in data[key]]
    return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def _html(run: ReplayRun, data: dict[str, Any], more_refusals: int = 0) -> str:
    e = escape
    output = run.candidate.output(run.output)
    order = [str(v) for v in output.allowed_values] if output is not None else []
    labels = sorted({t["old"] for t in data["transitions"]} | {t["new"] for t in
                                                               data["transitions"]},
                    key=lambda v: (order.index(v) if v in order else len(order) + (
                        1 if v == "refused" else 0), v))
    counts = {(labels.index(t["old"]), labels.index(t["new"])): t["cases"]
              for t in data["transitions"]}
    body = [
        f"<p>{e(_text(data).splitlines()[0])}</p>",
        f"<p><strong>{e(_text(data).splitlines()[1])}</strong></p>",
        matrix_svg(f"{run.output}: cases by old → new value", labels, counts),
        f'<h2 class="down">Down-triaged cases ({data["down_triaged"]:,})</h2>',
    ]
    if data["down_triaged_cases"]:
        body.append("<table><tr><th>request id</th><th>evaluated at</th><th>old</th>"
                    "<th>new</th></tr>")
        for case in data["down_triaged_cases"]:
            body.append(f"<tr><td><code>{e(case['request_id'])}</code></td>"
                        f"<td>{e(case['evaluated_at'])}</td><td>{e(_show(case['old']))}</td>"
                        f"<td>{e(_show(case['new']))}</td></tr>")
        body.append("</table>")
        if data["down_triaged"] > len(data["down_triaged_cases"]):
            body.append(f"<p>… and {data['down_triaged'] - len(data['down_triaged_cases']):,} "
                        "more: <code>--format csv</code> or <code>--format json</code> lists "
                        "every one.</p>")
    else:
        body.append("<p>none</p>")
    body.append(f"<h2>Refused by the candidate ({data['refused']:,})</h2>")
    if data["refusals"]:
        body.append("<table><tr><th>cases</th><th>error</th><th>request ids</th></tr>")
        for r in data["refusals"]:
            body.append(f"<tr><td>{r['cases']:,}</td><td>{e(r['error'])}</td>"
                        f"<td>{e(', '.join(r['request_ids'][:10]))}</td></tr>")
        body.append("</table>")
        if more_refusals:
            body.append(f"<p>… and {more_refusals:,} more errors: <code>--format json</code> "
                        "lists every one.</p>")
    else:
        body.append("<p>none</p>")
    for title, key, count in (
        ("Rules firing for the first time", "rules_firing_for_the_first_time", "cases"),
        ("Rules no longer firing", "rules_no_longer_firing", "cases_before"),
    ):
        body.append(f"<h2>{title}</h2>")
        items = "".join(f"<li><code>{e(r['rule'])}</code>: {r[count]:,} cases</li>"
                        for r in data[key])
        body.append(f"<ul>{items}</ul>" if items else "<p>none</p>")
    return page("Replay of audited cases", "\n".join(body))


def csv_header(output: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([*CSV_FIELDS[:4], f"old_{output}", f"new_{output}", "error"])
    return buffer.getvalue()


def csv_rows(rows: list[dict[str, Any]], output: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([row["request_id"], row["evaluated_at"], row["version"], row["class"],
                         _cell(row[f"old_{output}"]), _cell(row[f"new_{output}"]),
                         row["error"] or ""])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
