"""Overlapping rules (UNIQUE, ANY) and gaps (single-hit tables without a default), found in
one walk of :class:`~engine.validation.partition.Explorer` over the table's input space.

Overlaps are reported as *maximal groups*: the sets of rules that can all match one case and
that no larger such set contains — one finding per group, not one per pair. Gaps are merged
into few boxes and written as readable conditions, with the cells of a rule that would
close them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from engine.conditions import AnyValue
from engine.hitpolicy import HitPolicy
from engine.validation.codes import finding
from engine.validation.cuts import Box, bits
from engine.validation.findings import Finding
from engine.validation.partition import OutOfBudget, maximal_groups, merge_all
from engine.validation.space import TableSpace
from engine.validation.tablefindings import (
    MAX_LISTED,
    at_rules,
    chained_note,
    describe,
    in_dmn,
    intersection,
    more,
    names,
    not_analysed,
    outputs_key,
    row_cells,
    rule_cells,
    show_outputs,
)

SINGLE = (HitPolicy.UNIQUE, HitPolicy.ANY, HitPolicy.PRIORITY, HitPolicy.FIRST)


@dataclass
class Analysis:
    """What one walk found: the maximal groups of rules matching together (rules bitset,
    and the boxes of one place where they meet) and the gaps, merged."""

    groups: list[tuple[int, int]] = field(default_factory=list)
    gaps: list[Box] = field(default_factory=list)
    wanted_gaps: bool = False
    wanted_groups: bool = False


def find(space: TableSpace, max_nodes: int) -> Analysis:
    """Walk the table once for what its hit policy needs. Raises :class:`OutOfBudget`."""
    table = space.table
    want_gaps = table.hit_policy in SINGLE and not any(o.has_default for o in table.outputs)
    interesting: Callable[[int], bool] | None = None
    if table.hit_policy is HitPolicy.UNIQUE:
        interesting = _two_or_more
    elif table.hit_policy is HitPolicy.ANY:
        interesting = _conflict_test(space)
    found = Analysis(wanted_gaps=want_gaps, wanted_groups=interesting is not None)
    if not want_gaps and interesting is None:
        return found
    explorer = space.explorer(max_nodes)
    region = tuple(d.possible for d in space.dims)
    gaps = explorer.explore(region, (1 << len(space.boxes)) - 1, want_gaps, interesting)
    found.groups = maximal_groups(explorer.leaves, space.rule_of)
    found.gaps = _trim(space, gaps) if want_gaps else []
    return found


def overlaps_and_gaps(space: TableSpace, max_nodes: int) -> tuple[list[Finding], bool]:
    """The findings, and whether some input may match no rule (True when unknown)."""
    try:
        found = find(space, max_nodes)
    except OutOfBudget:
        return [not_analysed(space.table, "overlaps and gaps", max_nodes)], True
    findings = _groups(space, found.groups) if found.wanted_groups else []
    if not found.wanted_gaps:
        return findings, True
    return findings + _free_text_note(space) + _gaps(space, found.gaps), bool(found.gaps)


def _two_or_more(live: int) -> bool:
    return live & (live - 1) != 0


def _conflict_test(space: TableSpace) -> Callable[[int], bool]:
    """Do the live boxes give more than one distinct output?"""
    by_output: dict[object, int] = {}
    for b, rule in enumerate(space.rule_of):
        key = outputs_key(space.table.rules[rule])
        by_output[key] = by_output.get(key, 0) | 1 << b
    masks = list(by_output.values())

    def differ(live: int) -> bool:
        seen = 0
        for mask in masks:
            if live & mask:
                seen += 1
                if seen > 1:
                    return True
        return False

    return differ


def _groups(space: TableSpace, groups: list[tuple[int, int]]) -> list[Finding]:
    table = space.table
    findings = []
    for number, (rule_bits, live) in enumerate(groups):
        if number == MAX_LISTED:
            findings.append(more(table, len(groups) - MAX_LISTED, "overlapping groups"))
            break
        rules = bits(rule_bits)
        ids = space.rule_ids(rules)
        common = intersection(space, bits(live))
        when = describe(space, common)
        note = chained_note(space, common)
        if table.hit_policy is HitPolicy.UNIQUE:
            findings.append(
                at_rules(
                    space,
                    rules,
                    "TV301",
                    f"rules {names(ids)} can match the same case ({when}); "
                    "a UNIQUE table must match at most one rule" + note,
                    "make their conditions exclude each other, or use FIRST or PRIORITY",
                )
            )
            continue
        given = "; ".join(
            f"{table.rules[r].rule_id} gives {show_outputs(table.rules[r].outputs)}" for r in rules
        )
        findings.append(
            at_rules(
                space,
                rules,
                "TV302",
                f"rules {names(ids)} can match the same case ({when}) but give different "
                f"outputs ({given})" + note,
                "give them the same output, or make their conditions exclude each other",
            )
        )
    return findings


def _trim(space: TableSpace, gaps: list[Box]) -> list[Box]:
    """Leave out what gap analysis does not cover (other texts of a free-text column)."""
    kept = []
    for gap in gaps:
        trimmed = tuple(m & ~d.unanalysed for m, d in zip(gap, space.dims, strict=True))
        if all(trimmed):
            kept.append(trimmed)
    return merge_all(kept, len(space.dims))


def _free_text_note(space: TableSpace) -> list[Finding]:
    table = space.table
    free = sorted(
        {
            d.name
            for d in space.dims
            if d.free_text
            and any(not isinstance(r.cells[d.column].condition, AnyValue) for r in table.rules)
        }
    )
    if not free:
        return []
    cells = [
        c.location.cell for c in table.inputs if c.name in free and c.location and c.location.cell
    ]
    return [
        finding(
            "TV603",
            f"{', '.join(free)} can hold any text, so gaps are looked for only among the texts "
            + ("the rules' entries name" if in_dmn(table) else "the cells name"),
            "give it inputValues (or a type with allowedValues) to have every case checked"
            if in_dmn(table)
            else "make it an enum input with its allowed values to have every case checked",
            sheet=table.sheet,
            cells=[c for c in cells if c],
            table=table.name,
        )
    ]


def _gaps(space: TableSpace, gaps: list[Box]) -> list[Finding]:
    table = space.table
    cells = row_cells(table, 8)
    findings = []
    for number, gap in enumerate(gaps):
        if number == MAX_LISTED:
            findings.append(more(table, len(gaps) - MAX_LISTED, "gaps"))
            break
        rule = rule_cells(space, gap)
        findings.append(
            finding(
                "TV303",
                f"no rule matches when {describe(space, gap)}, and there is no default"
                + chained_note(space, gap),
                (f"add a rule for these cases ({rule}), " if rule else "add rules for them, ")
                + (
                    "or give the output clause a defaultOutputEntry"
                    if in_dmn(table)
                    else "or write a Default in row 8"
                ),
                sheet=table.sheet,
                cells=cells,
                table=table.name,
            )
        )
    return findings
