"""Production coverage: how often each rule fired in the audited cases, per version, and the
rules that never fired — rules that real patients never reach are either guarding rare
emergencies (keep them, and test them with vignettes) or dead (remove them).

Counts come from the database (:meth:`AuditSource.fired_counts`); the rules each version
has come from its workbook: one given by the caller whose content version matches, or the
version store. A version whose workbook is not at hand still gets its counts, and says that
its never-fired list is unknown rather than empty.

When the database holds the CDS Hooks card feedback, each rule also carries its override
rate (``overrides``: the cards with feedback it fired in, accepted, overridden, the rate and
the most frequent override reasons), computed by :mod:`engine.impact.overrides` exactly as
the audit API's ``GET /v1/admin/audit/overrides`` computes it; without that table
``feedback`` is false and every ``overrides`` is null.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from engine.impact.auditdb import AuditSource, AuditSourceError
from engine.model import Model


def production_coverage(
    source: AuditSource,
    table_id: str | None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    models: Sequence[Model] = (),
    stored: Callable[[str, str], Model | None] | None = None,
) -> dict[str, Any]:
    """Coverage per (table id, version). ``stored(table_id, version)`` may load a version
    from the version store (None when it is not there)."""
    fired: dict[tuple[str, str], dict[tuple[str, str], int]] = {}
    for tid, version, table, rule, count in source.fired_counts(table_id, since, until):
        fired.setdefault((tid, version), {})[(table, rule)] = count
    rates = source.override_rates(table_id, since, until)
    overrides: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {}
    for rate in rates or []:
        overrides.setdefault((rate["table_id"], rate["version"]), {})[
            (rate["table"], rate["rule_id"])] = rate
    by_version = {m.version: m for m in models}
    versions = []
    for tid, version, cases, first, last in source.version_counts(table_id, since, until):
        model = by_version.get(version)
        if model is None and stored is not None:
            try:
                model = stored(tid, version)
            except AuditSourceError:
                model = None
        counts = fired.get((tid, version), {})
        version_ = _version(tid, version, cases, first, last, model, counts)
        if rates is not None:
            _add_overrides(version_["rules"], overrides.get((tid, version), {}))
        versions.append(version_)
    return {
        "table_id": table_id,
        "since": _iso(since),
        "until": _iso(until),
        "feedback": rates is not None,
        "versions": versions,
    }


def _add_overrides(rules: list[dict[str, Any]],
                   rates: dict[tuple[str, str], dict[str, Any]]) -> None:
    for rule in rules:
        rate = rates.get((rule["table"], rule["rule_id"]))
        rule["overrides"] = (
            {k: rate[k] for k in ("cards", "accepted", "overridden", "override_rate",
                                  "reasons")}
            if rate is not None else
            {"cards": 0, "accepted": 0, "overridden": 0, "override_rate": None, "reasons": []})


def _version(table_id: str, version: str, cases: int, first: dt.datetime, last: dt.datetime,
             model: Model | None, counts: dict[tuple[str, str], int]) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    if model is not None:
        for table in model.tables:
            for rule in table.rules:
                n = counts.get((table.name, rule.rule_id), 0)
                rules.append({"table": table.name, "rule_id": rule.rule_id,
                              "sheet": table.sheet, "row": rule.row, "fired": n,
                              "share": n / cases if cases else 0.0, "overrides": None})
        known = {(r["table"], r["rule_id"]) for r in rules}
        unknown = [(t, r) for t, r in counts if (t, r) not in known]
    else:
        unknown = list(counts)
    for table_name, rule_id in sorted(unknown):  # fired, but not in the workbook at hand
        n = counts[(table_name, rule_id)]
        rules.append({"table": table_name, "rule_id": rule_id, "sheet": None, "row": None,
                      "fired": n, "share": n / cases if cases else 0.0, "overrides": None})
    return {
        "table_id": table_id,
        "version": version,
        "cases": cases,
        "first": _iso(first),
        "last": _iso(last),
        "rules_known": model is not None,
        "rules": rules,
        "never_fired": (
            [{"table": r["table"], "rule_id": r["rule_id"], "sheet": r["sheet"], "row": r["row"]}
             for r in rules if r["fired"] == 0]
            if model is not None else None
        ),
    }


def _iso(moment: Any) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return moment.isoformat(timespec="seconds") + "Z"
    return str(moment)


def render_text(report: dict[str, Any]) -> str:
    lines = []
    if not report["versions"]:
        return "no audited cases in this period\n"
    for v in report["versions"]:
        lines.append(f"{v['table_id']} version {v['version']}: {v['cases']:,} cases "
                     f"({v['first']} to {v['last']})")
        for r in sorted(v["rules"], key=lambda r: -r["fired"]):
            where = f" ({r['sheet']} row {r['row']})" if r["row"] else " (not in the workbook)"
            lines.append(f"  {r['table']}/{r['rule_id']}{where}: fired {r['fired']:,} times "
                         f"({100 * r['share']:.1f}%)" + _overrides_text(r["overrides"]))
        if v["never_fired"] is None:
            lines.append("  rules that never fired: unknown — give this version's workbook "
                         "with --workbook, or keep it in the version store")
        elif v["never_fired"]:
            lines.append(f"  never fired ({len(v['never_fired'])}): " + ", ".join(
                f"{r['table']}/{r['rule_id']} (row {r['row']})" for r in v["never_fired"]))
        else:
            lines.append("  every rule fired at least once")
        if report.get("feedback") and not any(r["overrides"]["cards"] for r in v["rules"]):
            lines.append("  no card feedback from the EHR for this version")
    return "\n".join(lines) + "\n"


def _overrides_text(overrides: dict[str, Any] | None) -> str:
    """``; 12 cards with feedback, 3 overridden (25.0%: clinical-judgement 2, ...)``, or
    nothing when there is no feedback table or no feedback on the rule."""
    if not overrides or not overrides["cards"]:
        return ""
    reasons = ", ".join(f"{r['code'] or r['display']} {r['cards']}"
                        for r in overrides["reasons"])
    return (f"; {overrides['cards']:,} cards with feedback, {overrides['overridden']:,} "
            f"overridden ({100 * overrides['override_rate']:.1f}%"
            + (f": {reasons}" if reasons else "") + ")")
