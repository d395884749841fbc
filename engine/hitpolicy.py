"""Turning the set of matched rules into a table's result, by DMN hit policy.

durable-rules tells which rules matched; what a table returns from them is DMN's business
and lives here, free of any engine, so it reads like the specification.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.conditions import Value
from engine.errors import HitPolicyViolation
from engine.model import Aggregation, HitPolicy, Rule, Table


@dataclass(frozen=True)
class Outcome:
    """A table's result (``value``), each output column's value for chained tables
    (``by_output``) and the rules that produced the result (``fired``, in result order)."""

    value: Any
    by_output: dict[str, Any]
    fired: tuple[Rule, ...]


def resolve(table: Table, matched: Sequence[int]) -> Outcome:
    """``matched``: indices of the matching rules, in rule order."""
    rules = [table.rules[i] for i in matched]
    policy = table.hit_policy
    if policy.single_hit:
        chosen = _single(table, rules)
        if chosen is None:  # DMN: the default output entries, or null when there are none
            row = tuple(o.default for o in table.outputs)
            value = _shape(table, row) if any(o.has_default for o in table.outputs) else None
            return Outcome(value, _columns(table, [row])[0], ())
        return Outcome(
            _shape(table, chosen.outputs), _columns(table, [chosen.outputs])[0], (chosen,)
        )
    if policy is HitPolicy.OUTPUT_ORDER:
        rules = sorted(rules, key=lambda r: _priority_key(table, r))
    rows = [r.outputs for r in rules]
    if not rows and any(o.has_default for o in table.outputs):
        rows = [tuple(o.default for o in table.outputs)]
    if table.aggregation is not None:
        total = _aggregate(table.aggregation, [row[0] for row in rows], len(rules))
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
    if policy is HitPolicy.ANY and len({_key(r.outputs) for r in rules}) > 1:
        raise HitPolicyViolation(
            table.name, policy, [r.rule_id for r in rules], "matching rules give different outputs"
        )
    if policy is HitPolicy.PRIORITY:
        return min(rules, key=lambda r: _priority_key(table, r))
    return rules[0]


def _priority_key(table: Table, rule: Rule) -> tuple[Any, ...]:
    """Lower sorts first: position of each output value in its Output values list, column by
    column; values not listed come after listed ones; rule order breaks ties."""
    key: list[int] = []
    for value, output in zip(rule.outputs, table.outputs, strict=True):
        ranks = [i for i, v in enumerate(output.allowed_values) if _same(v, value)]
        key.append(ranks[0] if ranks else len(output.allowed_values))
    return (*key, rule.index)


def _aggregate(aggregation: Aggregation, values: list[Value | None], count: int) -> Any:
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


def _shape(table: Table, row: tuple[Value | None, ...]) -> Any:
    if len(table.outputs) == 1:
        return row[0]
    return {o.name: v for o, v in zip(table.outputs, row, strict=True)}


def _columns(table: Table, rows: list[tuple[Value | None, ...]]) -> list[dict[str, Any]]:
    return [{o.name: v for o, v in zip(table.outputs, row, strict=True)} for row in rows]


def _key(row: tuple[Value | None, ...]) -> tuple[tuple[str, Any], ...]:
    return tuple((type(v).__name__ if isinstance(v, bool) else "v", v) for v in row)


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def repeats_count(policy: HitPolicy, aggregation: Aggregation | None) -> bool:
    """Does a second matching rule with the same output change the table's result? It does
    where every match is kept (COLLECT, RULE ORDER, OUTPUT ORDER: the output is listed
    once more) or counted (COLLECT SUM, COLLECT COUNT); it does not where one rule is chosen
    (UNIQUE, ANY, PRIORITY, FIRST) or only the extremes count (COLLECT MIN, MAX). So only
    under the latter can a rule that repeats another's output be deleted without changing
    any result."""
    if policy.single_hit:
        return False
    return aggregation not in (Aggregation.MIN, Aggregation.MAX)
