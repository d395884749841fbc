"""Which tables of two versions of a workbook can answer differently, and through which
rules: the part of the semantic diff (:mod:`.semantic`) that looks at the two workbooks
only, before any region of the input space is walked."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from engine.conditions import AnyValue
from engine.hitpolicy import HitPolicy, row_key, value_key
from engine.impact.space import JointSpace, TableCells, union_over
from engine.model import Model, Table
from engine.validation.cuts import bits


@dataclass
class TableChange:
    """How one table of the old version relates to the table of the same name in the new:
    ``same_shape`` when everything but the rules and input columns is equal (hit policy,
    outputs and their order, defaults) and the columns both have read the same thing
    (the same input, or the same output of a table itself of the same shape); then the rules
    outside the longest common run (``changed_old``, ``changed_new``, bitsets) are the only
    ones that can make the two differ.

    Rules are compared by the tests they make on each column *by name* (a rule with no test
    on a column accepts any value there), so adding, removing or moving a column changes
    only the rules that test it: a rule that tests a column only one version has is a
    changed rule, and a column's value, where the table that gives it differs, brings its
    readers into the comparison region by region (:meth:`downstream`)."""

    name: str
    same_shape: bool
    changed_old: int
    changed_new: int
    # the changed rules of each version grouped by the gap between two runs of equal rules
    # they sit in (gap k: after the k-th equal rule), for :meth:`_Walker._gaps_equal`
    gaps_old: dict[int, list[int]] = field(default_factory=dict)
    gaps_new: dict[int, list[int]] = field(default_factory=dict)


class Changes:
    """Which tables can make the versions differ, and how (see :class:`TableChange`)."""

    def __init__(self, old: Model, new: Model, space: JointSpace) -> None:
        self.tables: dict[str, TableChange] = {}
        producers_old = {o.name: t.name for t in old.tables for o in t.outputs}
        producers_new = {o.name: t.name for t in new.tables for o in t.outputs}
        for table in old.tables:  # in evaluation order: producers first
            other = new.table(table.name)
            if other is None:
                continue
            both = {c.name for c in table.inputs} & {c.name for c in other.inputs}
            shaped = _shape(table) == _shape(other) and all(
                producers_old.get(name) == producers_new.get(name)
                and (
                    producers_old.get(name) is None
                    or self._same_shape(producers_old[name])
                )
                for name in both
            )
            changed_old, changed_new = _changed_rules(table, other)
            self.tables[table.name] = TableChange(
                table.name, shaped, changed_old, changed_new,
                _gaps(changed_old, len(table.rules)), _gaps(changed_new, len(other.rules)))
        # tables that may give no answer (UNIQUE, ANY): checked wherever anything is evaluated
        self.may_violate = {
            t.name for side in (space.old, space.new) for t in side.model.tables
            if _may_violate(t, side.tables[t.name])
        }
        one_sided = {t.name for t in old.tables if new.table(t.name) is None} ^ {
            t.name for t in new.tables if old.table(t.name) is None}
        self.unshaped = {n for n, c in self.tables.items() if not c.same_shape} | (
            one_sided & self.may_violate)
        self.readers: dict[str, set[str]] = {}
        for model, producers in ((old, producers_old), (new, producers_new)):
            for table in model.tables:
                for column in table.inputs:
                    if column.name in producers:
                        self.readers.setdefault(producers[column.name], set()).add(table.name)

    def _same_shape(self, name: str) -> bool:
        change = self.tables.get(name)
        return change is not None and change.same_shape

    def downstream(self, names: set[str]) -> set[str]:
        """``names`` and every table that reads their outputs, directly or not."""
        found, todo = set(names), list(names)
        while todo:
            for reader in self.readers.get(todo.pop(), ()):
                if reader not in found:
                    found.add(reader)
                    todo.append(reader)
        return found


def _may_violate(table: Table, cells: TableCells) -> bool:
    """Can two rules of a UNIQUE table (of an ANY table, with different outputs) match one
    case? Rules whose input cells never meet cannot; a test on another table's output is
    taken to meet anything."""
    if table.hit_policy not in (HitPolicy.UNIQUE, HitPolicy.ANY):
        return False
    for r, rule in enumerate(cells.rules):
        box = dict(rule.inputs)
        others = cells.everything
        for d, per_atom in cells.atom_rules.items():
            others &= union_over(per_atom, box.get(d, (1 << len(per_atom)) - 1))
        others &= ~((1 << (r + 1)) - 1)  # each pair once
        if table.hit_policy is HitPolicy.ANY:
            mine = row_key(table.rules[r].outputs)
            others = sum(1 << o for o in bits(others) if row_key(table.rules[o].outputs) != mine)
        if others:
            return True
    return False


def _shape(table: Table) -> object:
    """What decides a table's answer besides its rules. The Output values lists count only
    where they rank the rules (PRIORITY, OUTPUT ORDER): elsewhere a value added to the list
    changes nothing until a rule gives it, and that rule is a changed rule."""
    ranked = table.hit_policy.ordered_by_output
    outputs = tuple(
        (o.name, o.kind, tuple(value_key(v) for v in o.allowed_values) if ranked else (),
         o.has_default, value_key(o.default))
        for o in table.outputs
    )
    return (table.hit_policy, table.aggregation, outputs)


def _rule_key(table: Table, rule: Any) -> object:
    """What a rule tests and gives: its cells by column name, "any value" left out."""
    tests = sorted(
        ((column.name, cell.condition) for column, cell in zip(table.inputs, rule.cells,
                                                                 strict=True)
         if not isinstance(cell.condition, AnyValue)),
        key=lambda test: test[0])
    return (tuple(tests), row_key(rule.outputs))


def _changed_rules(old: Table, new: Table) -> tuple[int, int]:
    """Rules outside the longest common runs of equal rules (same tests and outputs)."""
    a = [_rule_key(old, r) for r in old.rules]
    b = [_rule_key(new, r) for r in new.rules]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)  # type: ignore[arg-type]
    kept_a = kept_b = 0
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            kept_a |= 1 << (block.a + k)
            kept_b |= 1 << (block.b + k)
    return ((1 << len(a)) - 1) & ~kept_a, ((1 << len(b)) - 1) & ~kept_b


def _gaps(changed: int, count: int) -> dict[int, list[int]]:
    """The changed rules by gap: the number of equal (unchanged) rules before each."""
    gaps: dict[int, list[int]] = {}
    kept = 0
    for r in range(count):
        if changed >> r & 1:
            gaps.setdefault(kept, []).append(r)
        else:
            kept += 1
    return gaps
