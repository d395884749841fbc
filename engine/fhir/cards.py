"""A decision as a CDS Hooks card: what the clinician sees in the chart.

The ``summary`` (under 140 characters, as the specification asks) gives the disposition's
label and the main reason: the first condition of the rule that chose it. The ``detail`` is
markdown: the explanation, every rule that fired with its sheet row and citation, and the
advice (the table's free-text outputs). The ``indicator`` comes from the disposition
(:func:`engine.fhir.hooks.indicator`). The service adds the card's ``uuid``, ``source`` and
``links``, which depend on where it runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from engine.fhir.hooks import disposition_output, indicator
from engine.labels import name_label, plain, value_label
from engine.model import Decision, FiredRule, Kind, Model

SUMMARY_LIMIT = 139  # "<140 characters" (CDS Hooks 2.0, Card attributes)
OVERRIDE_SYSTEM = "urn:triage-rules:override-reason"
OVERRIDE_REASONS = (
    ("clinical-judgement", "Clinical judgement differs from the recommendation"),
    ("answers-incorrect", "The questionnaire answers are not right for this patient"),
    ("already-addressed", "Already addressed in this encounter"),
    ("patient-declined", "The patient declined"),
)
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|#])")


def override_reasons() -> list[dict[str, str]]:
    return [{"system": OVERRIDE_SYSTEM, "code": code, "display": display}
            for code, display in OVERRIDE_REASONS]


def decision_card(model: Model, decision: Decision, explanation: str,
                  notes: Sequence[str] = ()) -> dict[str, Any]:
    """The card's content (summary, indicator, detail, override reasons)."""
    output = disposition_output(model.tables)
    value = decision.outputs.get(output.table) if output is not None else None
    if isinstance(value, dict) and output is not None:
        value = value.get(output.name)
    return {
        "summary": summary(model, decision, value),
        "indicator": indicator(model, value) if value is not None else "info",
        "detail": detail(model, decision, explanation, value, notes),
        "overrideReasons": override_reasons(),
    }


def missing_card(model: Model, missing: Sequence[str],
                 notes: Sequence[str] = ()) -> dict[str, Any]:
    """An info card listing the required questions left unanswered: no recommendation is
    made from a questionnaire that is not complete."""
    labels = [name_label(model, name) for name in missing]
    head = f"Triage not done: {len(missing)} required question"
    head += "s" if len(missing) != 1 else ""
    lines = [f"**{_md(head)} unanswered.** Complete the questionnaire and open the "
             "patient again; no recommendation is made from partial answers.", ""]
    lines += [f"- {_md(label)} (`{name}`)" for label, name in zip(labels, missing, strict=True)]
    lines += _notes(notes)
    return {
        "summary": _cut(f"{head} unanswered: " + ", ".join(labels)),
        "indicator": "info",
        "detail": "\n".join(lines),
    }


def summary(model: Model, decision: Decision, value: Any) -> str:
    output = disposition_output(model.tables)
    if output is None or value is None:
        return _cut(f"{model.about.title or model.about.table_id}: no recommendation")
    head = value_label(model, output.name, value)
    return _cut(f"{head}: {main_reason(model, decision, output.table)}")


def main_reason(model: Model, decision: Decision, table: str) -> str:
    """The first condition of the rule that gave the disposition, in words."""
    fired = next((f for f in decision.fired if f.table == table), None)
    if fired is None:
        return "no rule matched; the table's default"
    for condition in fired.conditions:
        if condition.test.strip() in ("-", ""):
            continue
        value = condition.value
        if isinstance(value, list | tuple):
            named = [w.strip().strip('"') for w in condition.test.split(",")]
            shown = [v for v in value if v in named] or list(value)
            return f"{name_label(model, condition.input)}: " + (
                ", ".join(value_label(model, condition.input, v) for v in shown) or "none")
        definition = model.input(condition.input)
        unit = f" {definition.unit}" if definition is not None and definition.unit else ""
        shown_value = value_label(model, condition.input, value)
        return f"{name_label(model, condition.input)}: {shown_value}{unit}"
    return f"rule {fired.rule_id} applies to every case"


def detail(model: Model, decision: Decision, explanation: str, value: Any,
           notes: Sequence[str]) -> str:
    output = disposition_output(model.tables)
    lines = []
    if output is not None and value is not None:
        lines += [f"**{_md(name_label(model, output.name).capitalize())}: "
                  f"{_md(value_label(model, output.name, value))}**", ""]
    lines += [_md(explanation), "", "**Rules that fired**", ""]
    lines += [_fired(model, f) for f in decision.fired] or ["- none: every table gave its default"]
    advice = _advice(model, decision)
    if advice:
        lines += ["", "**Advice**", ""] + [_md(a) for a in advice]
    lines += _notes(notes)
    return "\n".join(lines)


def _fired(model: Model, fired: FiredRule) -> str:
    table = model.table(fired.table)
    sheet = table.sheet if table is not None else fired.sheet
    citation = f" — {_md(fired.citation)}" if fired.citation else ""
    outputs = "; ".join(f"{plain(k)}: {_md(value_label(model, k, v))}"
                        for k, v in fired.outputs.items() if not _is_text(model, k))
    shown = f" → {outputs}" if outputs else ""
    return f"- {_md(sheet)} rule {_md(fired.rule_id)} (row {fired.row}){shown}{citation}"


def _advice(model: Model, decision: Decision) -> list[str]:
    found = []
    for table in model.tables:
        for output in table.outputs:
            if output.kind is not Kind.TEXT:
                continue
            value = decision.outputs.get(table.name)
            if isinstance(value, dict):
                value = value.get(output.name)
            for text in value if isinstance(value, list) else [value]:
                if isinstance(text, str) and text.strip():
                    found.append(text.strip())
    return found


def _is_text(model: Model, name: str) -> bool:
    output = model.output(name)
    return output is not None and output.kind is Kind.TEXT


def _notes(notes: Sequence[str]) -> list[str]:
    return ["", *(f"*{_md(n)}*" for n in notes)] if notes else []


def _md(text: str) -> str:
    """Text from a workbook or a request, shown as text rather than read as markdown."""
    return _MARKDOWN.sub(r"\\\1", text)


def _cut(text: str) -> str:
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1].rstrip() + "…"
