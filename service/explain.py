"""A decision told in sentences a clinician can read next to the structured ``fired`` list.

One sentence per table, in evaluation order: the result, the rule (id and sheet row) that
gave it, and the facts that made the rule apply — for example::

    Disposition: ROUTINE_GP, by rule D15 (row 23), because duration_days is 21 (> 14).

A free-text output (advice) is not repeated; the rule that chose it is named instead. A rule
with many conditions names the first few and counts the rest, so the explanation stays short;
the complete account is always in ``fired``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.model import Decision, FiredRule, Kind, MatchedCondition, Model, Table

SHOWN_CONDITIONS = 3


class Explainer:
    """Built once per loaded model; :meth:`explain` is called per evaluation."""

    def __init__(self, model: Model) -> None:
        self._tables = model.tables
        self._text = {
            t.name: all(o.kind is Kind.TEXT for o in t.outputs) for t in model.tables
        }

    def explain(self, decision: Decision) -> str:
        by_table: dict[str, list[FiredRule]] = {}
        for fired in decision.fired:
            by_table.setdefault(fired.table, []).append(fired)
        return " ".join(
            self._sentence(t, decision.outputs.get(t.name), by_table.get(t.name, []))
            for t in self._tables
        )

    def _sentence(self, table: Table, value: Any, fired: Sequence[FiredRule]) -> str:
        name = table.sheet
        if not fired:
            if value is None or value == []:
                return f"{name}: none, as no rule matched."
            if self._text[table.name]:
                return f"{name}: the table's default, as no rule matched."
            return f"{name}: {_value(value)}, the table's default, as no rule matched."
        if table.returns_list and not self._text[table.name]:
            parts = [f"{_outputs(f)} by {_because(f)}" for f in fired]
            return f"{name}: " + "; ".join(parts) + "."
        if self._text[table.name]:
            return f"{name}: from {'; '.join(_because(f) for f in fired)}."
        return f"{name}: {_value(value)}, by {'; '.join(_because(f) for f in fired)}."


def _because(fired: FiredRule) -> str:
    rule = f"rule {fired.rule_id} (row {fired.row})"
    if not fired.conditions:
        return f"{rule}, which applies to every case"
    shown = [_condition(c) for c in fired.conditions[:SHOWN_CONDITIONS]]
    rest = len(fired.conditions) - len(shown)
    if rest:
        shown.append(f"{rest} more condition{'s' if rest != 1 else ''} hold")
    return f"{rule}, because {_and(shown)}"


def _condition(condition: MatchedCondition) -> str:
    value = condition.value
    if value is None:
        return f"{condition.input} is not given"
    if isinstance(value, list | tuple):  # fed by a multi-hit table
        if not value:
            return f"{condition.input} is empty"
        named = [w.strip().strip('"') for w in condition.test.split(",")]
        if all(w in value for w in named):
            return f"{condition.input} includes {_and(named)}"
        return f"{condition.input} holds {_value(value)} ({condition.test})"
    shown = _value(value)
    if condition.test in (shown, f'"{shown}"'):
        return f"{condition.input} is {shown}"
    return f"{condition.input} is {shown} ({condition.test})"


def _outputs(fired: FiredRule) -> str:
    return ", ".join(_value(v) for v in fired.outputs.values())


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, list | tuple):
        return _and([_value(v) for v in value]) if value else "none"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_value(v)}" for k, v in value.items())
    return str(value)


def _and(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
