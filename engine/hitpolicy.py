"""Hit policies: what DMN says a decision table returns from the rules that match.

This module is the one home of that knowledge. The evaluator resolves matches with
:func:`resolve`; the validator, the prover, the DMN reader and writer and the service ask
the questions below instead of answering them again:

* :attr:`HitPolicy.single_hit` — one result, or all the matches;
* :func:`returns_list` — a multi-hit table without an aggregation returns a list, and a
  table that reads its output sees a list;
* :func:`priority_rank`, :func:`output_ranks`, :func:`priority_key` — PRIORITY and OUTPUT
  ORDER rank an output value by its position in the Output values list (unlisted values
  last), column by column, ties going to the earlier rule;
* :func:`aggregate` — COLLECT SUM, MIN and MAX ignore nulls; COUNT counts the matches;
* :func:`default_row` — what a table gives when no rule matches;
* :func:`same_value`, :func:`value_key` — value equality in which ``true`` is never ``1``;
* :func:`repeats_matter` — whether one more rule giving the same output changes the result.

It imports no engine and no model at run time, so every other module may import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from engine.errors import HitPolicyViolation

if TYPE_CHECKING:  # pragma: no cover
    from engine.conditions import Value
    from engine.model import OutputDef, Rule, Table


class HitPolicy(StrEnum):
    UNIQUE = "UNIQUE"
    ANY = "ANY"
    PRIORITY = "PRIORITY"
    FIRST = "FIRST"
    COLLECT = "COLLECT"
    RULE_ORDER = "RULE ORDER"
    OUTPUT_ORDER = "OUTPUT ORDER"

    @property
    def single_hit(self) -> bool:
        """One rule's outputs make the result (or a violation); the others gather matches."""
        return self in (HitPolicy.UNIQUE, HitPolicy.ANY, HitPolicy.PRIORITY, HitPolicy.FIRST)

    @property
    def ordered_by_output(self) -> bool:
        """The Output values order decides the result (PRIORITY) or its order (OUTPUT ORDER)."""
        return self in (HitPolicy.PRIORITY, HitPolicy.OUTPUT_ORDER)


class Aggregation(StrEnum):
    SUM = "SUM"
    MIN = "MIN"
    MAX = "MAX"
    COUNT = "COUNT"


def returns_list(policy: HitPolicy, aggregation: Aggregation | None) -> bool:
    """Multi-hit tables without an aggregation return a list (of values, or of dicts)."""
    return not policy.single_hit and aggregation is None


def repeats_matter(policy: HitPolicy, aggregation: Aggregation | None) -> bool:
    """Does one more matching rule with the same outputs change the result? It does where
    every match counts (a list holds the value twice, a sum or a count grows); it does not
    for single-hit policies and for MIN and MAX."""
    if policy.single_hit:
        return False
    return aggregation not in (Aggregation.MIN, Aggregation.MAX)


# --- values ----------------------------------------------------------------------------------


def same_value(a: object, b: object) -> bool:
    """Equality of cell and output values: booleans never equal numbers (Python says
    ``True == 1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def value_key(value: Any) -> tuple[bool, Any]:
    """A hashable key with the equality of :func:`same_value`."""
    return (isinstance(value, bool), value)


def row_key(row: Sequence[Any]) -> tuple[tuple[bool, Any], ...]:
    """The key of a row of outputs: two rules give the same result when their keys are equal."""
    return tuple(value_key(v) for v in row)


# --- priority --------------------------------------------------------------------------------


def priority_rank(output: OutputDef, value: Any) -> int:
    """Position of ``value`` in the output's Output values list (0 = most important); values
    not listed (null included) come after every listed one."""
    for rank, listed in enumerate(output.allowed_values):
        if same_value(listed, value):
            return rank
    return len(output.allowed_values)


def output_ranks(table: Table, row: Sequence[Any]) -> tuple[int, ...]:
    """The ranks of a row of outputs, column by column: rows compare on these first."""
    return tuple(priority_rank(o, v) for o, v in zip(table.outputs, row, strict=True))


def priority_key(table: Table, rule: Rule) -> tuple[int, ...]:
    """Lower sorts first: :func:`output_ranks`, then rule order."""
    return (*output_ranks(table, rule.outputs), rule.index)


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A table's result (``value``), each output column's value for chained tables
    (``by_output``) and the rules that produced the result (``fired``, in result order)."""

    value: Any
    by_output: dict[str, Any]
    fired: tuple[Rule, ...]


def default_row(table: Table) -> tuple[Value | None, ...] | None:
    """The outputs used when no rule matches (DMN's default output entries), or None when the
    table has none."""
    if not any(o.has_default for o in table.outputs):
        return None
    return tuple(o.default for o in table.outputs)


def resolve(table: Table, matched: Sequence[int]) -> Outcome:
    """A table's result from ``matched``: indices of the matching rules, in rule order."""
    rules = [table.rules[i] for i in matched]
    policy = table.hit_policy
    default = default_row(table)
    if policy.single_hit:
        chosen = _single(table, rules)
        if chosen is None:  # DMN: the default output entries, or null when there are none
            row = default or tuple(None for _ in table.outputs)
            value = _shape(table, row) if default is not None else None
            return Outcome(value, _columns(table, row), ())
        return Outcome(_shape(table, chosen.outputs), _columns(table, chosen.outputs), (chosen,))
    if policy is HitPolicy.OUTPUT_ORDER:
        rules = sorted(rules, key=lambda r: priority_key(table, r))
    rows = [r.outputs for r in rules]
    if not rows and default is not None:
        rows = [default]
    if table.aggregation is not None:
        total = aggregate(table.aggregation, [row[0] for row in rows], len(rules))
        return Outcome(total, {table.outputs[0].name: total}, tuple(rules))
    value = [_shape(table, row) for row in rows]
    lists = {o.name: [row[i] for row in rows] for i, o in enumerate(table.outputs)}
    return Outcome(value, lists, tuple(rules))


def _single(table: Table, rules: list[Rule]) -> Rule | None:
    if not rules:
        return None
    policy = table.hit_policy
    if policy is HitPolicy.UNIQUE and len(rules) > 1:
        raise HitPolicyViolation(
            table.name, policy, [r.rule_id for r in rules], "more than one rule matched"
        )
    if policy is HitPolicy.ANY and len({row_key(r.outputs) for r in rules}) > 1:
        raise HitPolicyViolation(
            table.name, policy, [r.rule_id for r in rules], "matching rules give different outputs"
        )
    if policy is HitPolicy.PRIORITY:
        return min(rules, key=lambda r: priority_key(table, r))
    return rules[0]


def aggregate(aggregation: Aggregation, values: Sequence[Value | None], count: int) -> Any:
    """COLLECT with an aggregation: ``values`` are the matches' outputs (or the default),
    ``count`` the number of matching rules. Nulls are ignored; nothing left gives null."""
    if aggregation is Aggregation.COUNT:
        return count
    present = [v for v in values if v is not None]
    if not present:
        return None
    if aggregation is Aggregation.SUM:
        return sum(present)  # type: ignore[arg-type]
    if aggregation is Aggregation.MIN:
        return min(present)  # type: ignore[type-var]
    return max(present)  # type: ignore[type-var]


def _shape(table: Table, row: Sequence[Value | None]) -> Any:
    if len(table.outputs) == 1:
        return row[0]
    return {o.name: v for o, v in zip(table.outputs, row, strict=True)}


def _columns(table: Table, row: Sequence[Value | None]) -> dict[str, Any]:
    return {o.name: v for o, v in zip(table.outputs, row, strict=True)}
