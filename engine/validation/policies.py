"""Hit-policy checks on one table's boxes: duplicates, rules covered by another with the
same output, masked rules (FIRST, PRIORITY), output values no rule gives, and — through
:mod:`.overlaps` — overlaps and gaps.

One rule gets at most one of the rule-level findings, the most specific: a duplicate is not
also reported as covered, and a covered rule not also as masked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from engine.conditions import format_value
from engine.hitpolicy import Aggregation, HitPolicy, repeats_matter, value_key
from engine.model import Table
from engine.validation.codes import finding
from engine.validation.cuts import Box, bits
from engine.validation.findings import Finding
from engine.validation.index import BoxIndex
from engine.validation.overlaps import overlaps_and_gaps
from engine.validation.partition import Explorer, OutOfBudget
from engine.validation.space import TableSpace
from engine.validation.tablefindings import (
    at_rules,
    in_dmn,
    names,
    not_analysed,
    outputs_key,
    priority_key,
    row_cell,
)

SAMPLES = 8  # sample cases tried before the exact search for masking
QUERY_NODES = 20_000  # nodes one exact masking search may spend
MAX_NODES = 120_000  # at most a few seconds; the benchmark tables need under 10,000


@dataclass
class TableAnalysis:
    findings: list[Finding] = field(default_factory=list)
    may_miss: bool = True  # some input may match no rule (unknown counts as yes)
    masked: set[int] = field(default_factory=set)  # rules never chosen


def analyse_table(space: TableSpace, max_nodes: int = MAX_NODES) -> TableAnalysis:
    result = TableAnalysis()
    table = space.table
    index = BoxIndex(space.boxes, len(space.dims))
    handled = _duplicates(space, result)
    if table.hit_policy not in (HitPolicy.UNIQUE, HitPolicy.FIRST) and not repeats_matter(
        table.hit_policy, table.aggregation
    ):
        _covered_by_same(space, index, handled, result)
    if table.hit_policy in (HitPolicy.FIRST, HitPolicy.PRIORITY):
        _masked(space, index, handled, result, max_nodes)
    found, result.may_miss = overlaps_and_gaps(space, max_nodes)
    result.findings.extend(found)
    _unproduced(table, space, result)
    return result


def _duplicates(space: TableSpace, result: TableAnalysis) -> set[int]:
    """Rules with the same conditions. Under UNIQUE (and ANY with different outputs) the
    overlap check reports them; under a multi-hit policy only same-output repeats are
    suspect (two outputs for one case may be intended). Deleting one is advised only where
    that changes no result; where every match counts (COLLECT, SUM, COUNT, RULE ORDER,
    OUTPUT ORDER) the finding says what the repeat does instead."""
    policy = space.table.hit_policy
    counted = repeats_matter(policy, space.table.aggregation)
    groups: dict[tuple[Box, ...], list[int]] = {}
    for rule, mine in enumerate(space.rule_boxes):
        if mine:
            groups.setdefault(tuple(sorted(space.boxes[b] for b in mine)), []).append(rule)
    handled: set[int] = set()
    for rules in groups.values():
        if len(rules) < 2 or policy is HitPolicy.UNIQUE:
            continue
        if policy is HitPolicy.FIRST:
            sets: list[list[int]] = [rules]
        elif policy is HitPolicy.PRIORITY:  # the most important output wins, then rule order
            table = space.table
            sets = [sorted(rules, key=lambda r: (priority_key(table, table.rules[r]), r))]
        else:
            by_output: dict[Any, list[int]] = {}
            for r in rules:
                by_output.setdefault(outputs_key(space.table.rules[r]), []).append(r)
            sets = list(by_output.values())
        for same in sets:
            if len(same) < 2:
                continue
            ids = space.rule_ids(same)
            verb = "is" if len(same) == 2 else "are"
            if counted:
                message = (
                    f"rules {names(ids)} have the same conditions and the same output, so every "
                    f"case they match gets that output {len(same)} times in the {_result(space)}"
                )
                fix = (
                    "if the output should count once, merge them into one rule; if the repeat "
                    "is meant, leave them"
                )
            else:
                effect = f"{verb} never chosen" if policy.single_hit else "only repeat the output"
                message = f"rules {names(ids)} have the same conditions; {names(ids[1:])} {effect}"
                fix = f"delete {names(ids[1:])}, or change its conditions"
            result.findings.append(at_rules(space, same, "TV304", message, fix))
            handled.update(same[1:])
    return handled


def _result(space: TableSpace) -> str:
    """What a repeated output changes, in words: ``list``, ``COLLECT SUM``."""
    table = space.table
    if table.aggregation is not None:
        return f"COLLECT {table.aggregation}"
    return f"{table.hit_policy} list"


def _covered_by_same(
    space: TableSpace, index: BoxIndex, handled: set[int], result: TableAnalysis
) -> None:
    """A rule covered by another with the same output adds nothing, under the policies where
    a repeat changes no result (ANY, PRIORITY, COLLECT MIN and MAX; see
    :func:`engine.hitpolicy.repeats_matter`): there deleting it is safe advice."""
    table = space.table
    for rule, mine in enumerate(space.rule_boxes):
        if len(mine) != 1 or rule in handled:
            continue
        key = outputs_key(table.rules[rule])
        cover = next(
            (
                space.rule_of[b]
                for b in bits(index.containing(mine[0]))
                if space.rule_of[b] != rule and outputs_key(table.rules[space.rule_of[b]]) == key
            ),
            None,
        )
        if cover is None:
            continue
        ids = space.rule_ids([rule, cover])
        effect = (
            "gives nothing more"
            if table.hit_policy.single_hit
            else f"repeats its output, which does not change the COLLECT {table.aggregation}"
        )
        result.findings.append(
            at_rules(
                space,
                [rule],
                "TV305",
                f"rule {ids[0]} is covered by rule {ids[1]}: {ids[1]} matches every case "
                f"{ids[0]} matches and gives the same output, so {ids[0]} {effect}",
                f"delete rule {ids[0]}, or narrow rule {ids[1]}",
                also=[cover],
            )
        )
        handled.add(rule)


def _masked(
    space: TableSpace, index: BoxIndex, handled: set[int], result: TableAnalysis, max_nodes: int
) -> None:
    """A rule is masked when every case it matches is matched by rules that win over it:
    earlier rules under FIRST; under PRIORITY rules with a more important output, or an
    equally important one and an earlier row. Several rules may mask one together.

    Most rules are not masked, and a few sample cases of the rule that no winner matches
    prove it quickly; only the others need the exact search, which has a budget."""
    table = space.table
    first = table.hit_policy is HitPolicy.FIRST
    keys = [() if first else priority_key(table, r) for r in table.rules]
    explorer = space.explorer(max_nodes)
    samples = random.Random(0)
    winners_so_far = 0
    undecided: list[int] = []
    for rule in sorted(range(len(table.rules)), key=lambda r: (keys[r], r)):
        mine = space.rule_boxes[rule]
        allowed = winners_so_far
        for b in mine:
            winners_so_far |= 1 << b
        if not mine or rule in handled:
            continue
        try:
            masking = _masking(space, index, explorer, mine, allowed, samples)
        except OutOfBudget:
            undecided.append(rule)
            continue
        if masking is None:
            continue
        result.masked.add(rule)
        who = "earlier rules" if first else "rules that win over it"
        result.findings.append(
            at_rules(
                space,
                [rule],
                "TV306",
                f"rule {table.rules[rule].rule_id} is never chosen: every case it matches is "
                f"also matched by {who} ({names(space.rule_ids(masking))})",
                "delete it, move it above the rules that hide it, or narrow them",
                also=masking,
            )
        )
    if undecided:
        what = f"whether rules {names(space.rule_ids(sorted(undecided)))} are ever chosen"
        result.findings.append(not_analysed(table, what, max_nodes))


def _masking(
    space: TableSpace,
    index: BoxIndex,
    explorer: Explorer,
    mine: list[int],
    allowed: int,
    samples: random.Random,
) -> list[int] | None:
    """The rules that together hide every box of a rule (only those needed, when there are
    few), or None if some case is left to the rule."""
    near = {}
    for b in mine:
        box = space.boxes[b]
        candidates = index.near(box, allowed)
        if not candidates or _free_case(box, index, candidates, samples):
            return None
        near[b] = index.meeting(box, candidates)
        if not explorer.covers(box, near[b], QUERY_NODES):
            return None
    rules = sorted({space.rule_of[x] for b in mine for x in bits(near[b])})
    if len(rules) <= 12:
        for r in list(rules):
            rest = [x for x in rules if x != r]
            live = sum(1 << b for x in rest for b in space.rule_boxes[x])
            if rest and all(
                explorer.covers(space.boxes[b], live & near[b], QUERY_NODES) for b in mine
            ):
                rules = rest
    return rules


def _free_case(box: Box, index: BoxIndex, near: int, samples: random.Random) -> bool:
    """Is one of a few sample cases of ``box`` matched by none of the ``near`` boxes? Tries
    the lowest and the highest atoms, then random ones."""
    for attempt in range(SAMPLES):
        point = []
        for mask in box:
            if attempt == 0:
                point.append((mask & -mask).bit_length() - 1)
            elif attempt == 1:
                point.append(mask.bit_length() - 1)
            else:
                atoms = bits(mask)
                point.append(atoms[samples.randrange(len(atoms))])
        if not index.at(point, near):
            return True
    return False


def _unproduced(table: Table, space: TableSpace, result: TableAnalysis) -> None:
    if table.aggregation is Aggregation.COUNT:
        return
    for k, out in enumerate(table.outputs):
        cell = row_cell(out.location.cell if out.location else None, 7)
        cells = [cell] if cell else []
        if not out.allowed_values:
            if table.hit_policy in (HitPolicy.PRIORITY, HitPolicy.OUTPUT_ORDER):
                result.findings.append(
                    finding(
                        "TV308",
                        f"output '{out.name}' lists no values, so {table.hit_policy} has no "
                        "order to go by and keeps the rules' order",
                        "list its outputValues (or its type's allowedValues), most important "
                        "first"
                        if in_dmn(table)
                        else "list the values in row 7, most important first",
                        sheet=table.sheet,
                        cells=cells,
                        table=table.name,
                    )
                )
            continue
        given = {
            value_key(r.outputs[k])
            for r in table.rules
            if space.rule_boxes[r.index] and r.index not in result.masked
        }
        if out.has_default:
            given.add(value_key(out.default))
        missing = [v for v in out.allowed_values if value_key(v) not in given]
        if missing:
            shown = ", ".join(format_value(v) for v in missing)
            result.findings.append(
                finding(
                    "TV307",
                    f"no rule gives {shown} for '{out.name}', although Output values lists it",
                    "add a rule that gives it, or take it out of the list",
                    sheet=table.sheet,
                    cells=cells,
                    table=table.name,
                )
            )
