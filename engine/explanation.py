"""A decision told in the workbook's own words, next to the structured ``fired`` list.

One sentence per table, in evaluation order: the result (its label), the rule (id and sheet
row) that gave it, and every condition of that rule that made it apply, each in words — the
input's label, the value's label with its unit, and a range test where one decided::

    Disposition: Book a routine GP appointment, by rule D15 (row 23), because How long the
    twitching has lasted is 21 days (above 14).

Every matched condition is named, however many there are: a clinician checking why a row
fired must not have to go to ``fired`` to see the rest. A free-text output (advice) is not
repeated; the rule that chose it is named instead. The service's ``explanation`` and
``triage evaluate --explain`` both speak through this one module, so the wording has one home.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.conditions import (
    AnyOf,
    Between,
    Compare,
    Condition,
    Equals,
    IsNull,
    Item,
    NoneOf,
    format_value,
    items_of,
)
from engine.labels import labels_of
from engine.model import Decision, FiredRule, Kind, MatchedCondition, Model, Table

__all__ = ["Explainer"]

_COMPARISONS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least", "!=": "not"}


class Explainer:
    """Built once per loaded model (it indexes every rule's parsed cells); :meth:`explain`
    is called per evaluation."""

    def __init__(self, model: Model) -> None:
        self._labels = labels_of(model)
        self._units = {i.name: i.unit for i in model.inputs if i.unit}
        self._tables = model.tables
        self._about = model.about
        self._text = {t.name: all(o.kind is Kind.TEXT for o in t.outputs) for t in model.tables}
        # The parsed cells of each rule that test something, in the order ``fired`` lists them.
        self._cells: dict[tuple[str, str], tuple[Condition, ...]] = {
            (t.name, r.rule_id): tuple(
                c.condition for c in r.cells if isinstance(c.condition, AnyOf | NoneOf)
            )
            for t in model.tables
            for r in t.rules
        }

    def explain(self, decision: Decision) -> str:
        """The whole decision as one paragraph (the service's ``explanation``)."""
        return " ".join(self.sentences(decision))

    def sentences(self, decision: Decision) -> list[str]:
        """One entry per table, in evaluation order; an entry holds one more sentence for
        each further rule of that table that fired."""
        by_table: dict[str, list[FiredRule]] = {}
        for fired in decision.fired:
            by_table.setdefault(fired.table, []).append(fired)
        return [
            self._sentence(t, decision.outputs.get(t.name), by_table.get(t.name, []))
            for t in self._tables
        ]

    def report(self, decision: Decision) -> str:
        """The decision for a reader at a terminal (``triage evaluate --explain``): each
        table's result in words with its code, the explanation a sentence a line, and every
        fired rule with its sheet, row and citation."""
        about = self._about
        lines = [f"{about.title or about.table_id}, version {about.version}", "", "Results"]
        for table in self._tables:
            value = decision.outputs.get(table.name)
            words = self.result(table, value)
            code = "" if self._text[table.name] else _code(value)  # advice is its own words
            shown = f"{words}  [{code}]" if code and code != words else words
            lines.append(f"  {table.sheet}: {shown}")
        lines += ["", "Why"]
        lines += [f"  {sentence}" for sentence in self.sentences(decision)]
        lines += ["", "Rules that fired"]
        lines += [
            f"  {f.sheet}, row {f.row}, rule {f.rule_id}: {f.citation}" for f in decision.fired
        ] or ["  none"]
        return "\n".join(lines)

    def result(self, table: Table, value: Any) -> str:
        """The words for a table's result: "See a doctor today", or "none"; the items of a
        list are separated by semicolons, since labels may hold commas."""
        if value is None or value == []:
            return "none"
        if isinstance(value, list | tuple):
            return "; ".join(self.result(table, v) for v in value)
        if isinstance(value, Mapping):
            return ", ".join(
                f"{self._labels.name(k)} {self._labels.value(k, v)}"
                for k, v in value.items()
            )
        if len(table.outputs) == 1:
            return self._labels.value(table.outputs[0].name, value)
        return self._labels.value(table.name, value)

    def because(self, fired: FiredRule) -> list[str]:
        """Every condition of a fired rule, in words, in column order."""
        cells = self._cells.get((fired.table, fired.rule_id), ())
        if len(cells) != len(fired.conditions):  # a decision from another model version
            cells = ()
        return [
            self._condition(c, cells[i] if cells else None)
            for i, c in enumerate(fired.conditions)
        ]

    def _sentence(self, table: Table, value: Any, fired: Sequence[FiredRule]) -> str:
        """The table's sentence; each further fired rule gets a sentence of its own, since
        its conditions, which may hold commas, are listed with semicolons."""
        name = table.sheet
        text = self._text[table.name]
        if not fired:
            if value is None or value == []:
                return f"{name}: none, as no rule matched."
            if text:
                return f"{name}: the table's default, as no rule matched."
            return f"{name}: {self.result(table, value)}, the table's default, as no rule matched."
        first, rest = fired[0], fired[1:]
        if table.returns_list and not text:
            return " ".join(
                [f"{name}: {self._outputs(first)}, by {self._rule(first)}."]
                + [f"{name} also: {self._outputs(f)}, by {self._rule(f)}." for f in rest]
            )
        if text:
            head = f"{name}: from {self._rule(first)}."
            return " ".join([head] + [f"Also from {self._rule(f)}." for f in rest])
        head = f"{name}: {self.result(table, value)}, by {self._rule(first)}."
        return " ".join([head] + [f"Also by {self._rule(f)}." for f in rest])

    def _rule(self, fired: FiredRule) -> str:
        rule = f"rule {fired.rule_id} (row {fired.row})"
        if not fired.conditions:
            return f"{rule}, which applies to every case"
        conditions = self.because(fired)
        if len(conditions) == 1:
            return f"{rule}, because {conditions[0]}"
        return f"{rule}, because " + "; ".join(conditions[:-1]) + "; and " + conditions[-1]

    def _outputs(self, fired: FiredRule) -> str:
        return ", ".join(self._labels.value(k, v) for k, v in fired.outputs.items())

    def _condition(self, matched: MatchedCondition, condition: Condition | None) -> str:
        name, value = matched.input, matched.value
        label = self._labels.name(name)
        if value is None:
            return f"{label} not known" if label.endswith("?") else f"{label} is not known"
        if isinstance(value, list | tuple):  # fed by a multi-hit table
            return self._listed(label, name, value, condition)
        shown = self._labels.value(name, value)
        unit = self._unit(name)
        if unit and isinstance(value, int | float) and not isinstance(value, bool):
            shown = f"{shown} {unit}"
        said = f"{label} {shown}" if label.endswith("?") else f"{label} is {shown}"
        if condition is None:
            return f"{said} ({matched.test})"
        if any(isinstance(i, Compare | Between) for i in items_of(condition)):
            return f"{said} ({self._test(name, condition)})"
        return said

    def _listed(
        self, label: str, name: str, value: Sequence[Any], condition: Condition | None
    ) -> str:
        if not value:
            return f"no {label}"
        held = [self._labels.value(name, v) for v in value]
        if isinstance(condition, NoneOf):
            return f"{label} include none of {_or(self._items(name, condition))}"
        if isinstance(condition, AnyOf):
            named = [i.value for i in condition.items if isinstance(i, Equals)]
            matched = [self._labels.value(name, v) for v in named if v in value]
            if matched:
                return f"{label} include {_and(matched)}"
        return f"{label} include {_and(held)}"

    def _test(self, name: str, condition: Condition) -> str:
        words = _or(self._items(name, condition))
        return f"not {words}" if isinstance(condition, NoneOf) else words

    def _items(self, name: str, condition: Condition) -> list[str]:
        return [self._item(name, i) for i in items_of(condition)]

    def _item(self, name: str, item: Item) -> str:
        if isinstance(item, IsNull):
            return "not known"
        if isinstance(item, Equals):
            return self._labels.value(name, item.value)
        if isinstance(item, Compare):
            return f"{_COMPARISONS[item.op]} {self._number(name, item.value)}"
        low, high = format_value(item.low), format_value(item.high)
        lower = f"from {low}" if item.low_closed else f"above {low}"
        upper = f"to {high}" if item.high_closed else f"to below {high}"
        return f"{lower} {upper}"  # no "and": several ranges are joined with "or"

    def _number(self, name: str, value: Any) -> str:
        if isinstance(value, str):
            return self._labels.value(name, value)
        return format_value(value)

    def _unit(self, name: str) -> str:
        return self._units.get(name, "")


def _code(value: Any) -> str:
    """A result as integrators see it: its codes."""
    if isinstance(value, list | tuple):
        return ", ".join(_code(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_code(v)}" for k, v in value.items())
    return value if isinstance(value, str) else format_value(value)


def _and(parts: Sequence[str]) -> str:
    return _joined(parts, "and")


def _or(parts: Sequence[str]) -> str:
    return _joined(parts, "or")


def _joined(parts: Sequence[str], word: str) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {word} " + parts[-1]
