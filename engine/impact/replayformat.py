"""``triage replay`` reports as text, JSON, HTML (with the transition matrix) and CSV (one
line per case whose answer changes or is refused). Down-triaged cases come first."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from engine.impact.picture import escape, matrix_svg, page
from engine.impact.replay import ReplayRun

CSV_FIELDS = ("request_id", "evaluated_at", "version", "class", "old", "new", "error")


def summary(run: ReplayRun) -> dict[str, Any]:
    o = run.outcome
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
        "down_triaged": len(o.down),
        "up_triaged": o.up,
        "refused": o.refused_count,
        "transitions": [{"old": a, "new": b, "cases": n}
                        for (a, b), n in sorted(o.matrix.items(), key=lambda kv: -kv[1])],
        "down_triaged_cases": o.down,
        "refusals": [{"error": message, "cases": count, "request_ids": ids}
                     for message, (count, ids) in sorted(o.refused.items(),
                                                         key=lambda kv: -kv[1][0])],
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


def render(run: ReplayRun, fmt: str) -> str:
    data = summary(run)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    if fmt == "html":
        return _html(run, data)
    return _text(data)


def _text(data: dict[str, Any]) -> str:
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
        for case in data["down_triaged_cases"][:200]:
            lines.append(f"  {case['request_id']}  {case['evaluated_at']}  "
                         f"{_show(case['old'])} → {_show(case['new'])}")
        if data["down_triaged"] > 200:
            lines.append(f"  … and {data['down_triaged'] - 200:,} more (--format csv or json "
                         "lists every one)")
    if data["refusals"]:
        lines += ["", f"REFUSED BY THE CANDIDATE ({data['refused']:,})"]
        for refusal in data["refusals"]:
            lines.append(f"  {refusal['cases']:,} cases: {refusal['error']}")
            lines.append(f"      e.g. {', '.join(refusal['request_ids'][:5])}")
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


def _html(run: ReplayRun, data: dict[str, Any]) -> str:
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
        for case in data["down_triaged_cases"][:2000]:
            body.append(f"<tr><td><code>{e(case['request_id'])}</code></td>"
                        f"<td>{e(case['evaluated_at'])}</td><td>{e(_show(case['old']))}</td>"
                        f"<td>{e(_show(case['new']))}</td></tr>")
        body.append("</table>")
    else:
        body.append("<p>none</p>")
    body.append(f"<h2>Refused by the candidate ({data['refused']:,})</h2>")
    if data["refusals"]:
        body.append("<table><tr><th>cases</th><th>error</th><th>request ids</th></tr>")
        for r in data["refusals"]:
            body.append(f"<tr><td>{r['cases']:,}</td><td>{e(r['error'])}</td>"
                        f"<td>{e(', '.join(r['request_ids'][:10]))}</td></tr>")
        body.append("</table>")
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
