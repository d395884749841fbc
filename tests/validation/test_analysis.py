"""The analysis algorithms against brute force, and the table encoding against the engine's
own semantics (:func:`engine.conditions.matches`): a gap must be a case no rule matches,
an overlap group a case exactly its rules match."""

from __future__ import annotations

import itertools
import operator
from functools import reduce
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.builder import build_model
from engine.conditions import matches, parse_condition
from engine.model import Model
from engine.validation.cuts import bits
from engine.validation.domains import numeric_dim, runs_of, values_dim
from engine.validation.index import BoxIndex
from engine.validation.overlaps import find
from engine.validation.partition import Explorer, maximal_groups, merge_all
from engine.validation.space import build_space
from tests.sheets import ABOUT, inputs_sheet, table_sheet

# --- the partition, on random boxes ---------------------------------------------------------


@st.composite
def spaces(draw: st.DrawFn) -> tuple[list[int], list[bool], list[tuple[int, ...]]]:
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))
    ordered = draw(st.lists(st.booleans(), min_size=len(sizes), max_size=len(sizes)))
    box = st.tuples(*(st.integers(1, (1 << s) - 1) for s in sizes))
    boxes = draw(st.lists(box, max_size=7))
    return sizes, ordered, boxes


def _points(sizes: list[int]) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(s) for s in sizes)))


def _inside(point: tuple[int, ...], box: tuple[int, ...]) -> bool:
    return all(m >> p & 1 for p, m in zip(point, box, strict=True))


@settings(max_examples=400, deadline=None)
@given(spaces())
def test_gaps_and_groups_match_brute_force(
    space: tuple[list[int], list[bool], list[tuple[int, ...]]],
) -> None:
    sizes, ordered, boxes = space
    full = tuple((1 << s) - 1 for s in sizes)
    explorer = Explorer(boxes, len(sizes), 100_000, ordered)
    gaps = merge_all(
        explorer.explore(full, (1 << len(boxes)) - 1, True, lambda live: live & (live - 1) != 0),
        len(sizes),
    )
    points = _points(sizes)
    for point in points:
        covered = any(_inside(point, b) for b in boxes)
        assert sum(_inside(point, g) for g in gaps) == (0 if covered else 1)
    together = {frozenset(i for i, b in enumerate(boxes) if _inside(p, b)) for p in points}
    together = {s for s in together if len(s) > 1}
    maximal = {s for s in together if not any(s < t for t in together)}
    found = {
        frozenset(bits(rules))
        for rules, _ in maximal_groups(explorer.leaves, list(range(len(boxes))))
    }
    assert found == maximal
    index = BoxIndex(boxes, len(sizes))
    for i, box in enumerate(boxes):
        earlier = (1 << i) - 1
        hidden = all(any(_inside(p, boxes[j]) for j in range(i)) for p in points if _inside(p, box))
        assert Explorer(boxes, len(sizes), 100_000, ordered).covers(box, earlier) == hidden
        meets = {
            j
            for j in range(len(boxes))
            if j != i and any(_inside(p, box) and _inside(p, boxes[j]) for p in points)
        }
        assert set(bits(index.overlapping(i))) == meets
        inside = {
            j
            for j in range(len(boxes))
            if j != i and all(_inside(p, boxes[j]) for p in points if _inside(p, box))
        }
        assert set(bits(index.containing(i))) == inside


# --- cells as masks, and masks as words -----------------------------------------------------


def test_numeric_atoms_follow_the_allowed_range_and_whole_numbers() -> None:
    allowed = parse_condition("[16..120]")
    dim = numeric_dim("age_years", 0, {16, 18, 65, 120, 3.5}, True, allowed, False)
    assert dim.phrase(dim.mask(parse_condition("< 18")) & dim.possible) == "age_years < 18"
    assert dim.cell(dim.mask(parse_condition("[18..65)")) & dim.possible) == "[18..65)"
    assert dim.mask(parse_condition("< 10")) & dim.possible == 0  # below the range
    assert dim.mask(parse_condition("null")) & dim.possible == 0  # required
    assert dim.phrase(dim.mask(parse_condition(">= 65, < 18")) & dim.possible) == (
        "age_years < 18 or >= 65"
    )


def test_values_and_free_text() -> None:
    pattern = values_dim("pattern", 0, ("focal", "multifocal", "widespread"), True)
    mask = pattern.mask(parse_condition("not(focal)")) & pattern.possible
    assert pattern.phrase(mask) == 'pattern is not "focal"'  # a present value, not focal
    assert pattern.cell(mask) == 'not("focal")'
    assert pattern.phrase(pattern.null_bit) == "pattern is missing"
    text = values_dim("comment", 0, ("a",), False, free_text=True)
    other = text.mask(parse_condition('!= "a"')) & text.possible
    assert runs_of(other) == [(1, 1)] and text.unanalysed == other


# --- whole tables, against the engine's semantics --------------------------------------------

NUMBER_CELLS = [
    "-",
    "< 5",
    ">= 5",
    "[2..8]",
    "(3..6)",
    "5",
    "null",
    "not(5)",
    "null, > 7",
    "<= 2, >= 9",
]
ENUM_CELLS = ["-", '"a"', '"a", "b"', "not(a)", "null", "not(a, b)", "null, c"]
BOOL_CELLS = ["-", True, False, "null"]


@st.composite
def tables(draw: st.DrawFn) -> tuple[Model, str]:
    policy = draw(st.sampled_from(["UNIQUE", "ANY", "FIRST"]))
    required = draw(
        st.tuples(
            st.sampled_from(["yes", "no"]),
            st.sampled_from(["yes", "no"]),
            st.sampled_from(["yes", "no"]),
        )
    )
    inputs = inputs_sheet(
        [
            ("x", "integer", "[0..10]", required[0]),
            ("k", "enum", "a, b, c", required[1]),
            ("f", "boolean", None, required[2]),
        ]
    )
    count = draw(st.integers(1, 6))
    rules = [
        (
            draw(st.sampled_from(NUMBER_CELLS)),
            draw(st.sampled_from(ENUM_CELLS)),
            draw(st.sampled_from(BOOL_CELLS)),
            draw(st.sampled_from(["p", "q"])),
        )
        for _ in range(count)
    ]
    sheets = [ABOUT, inputs, table_sheet("t", policy, ["x", "k", "f"], ["out"], rules)]
    return build_model(sheets, "v", require_citations=False), policy


def _facts(space: Any, box: tuple[int, ...]) -> dict[str, Any]:
    return {
        d.name: d.sample((m & -m).bit_length() - 1) for d, m in zip(space.dims, box, strict=True)
    }


def _matching(model: Model, facts: dict[str, Any]) -> set[int]:
    table = model.tables[0]
    return {
        rule.index
        for rule in table.rules
        if all(
            matches(cell.condition, facts[column.name])
            for column, cell in zip(table.inputs, rule.cells, strict=True)
        )
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_gaps_and_groups_are_real_cases(drawn: tuple[Model, str]) -> None:
    model, policy = drawn
    space = build_space(model.tables[0], model, {})
    found = find(space, 100_000)
    for gap in found.gaps:
        assert _matching(model, _facts(space, gap)) == set()
    for rules, live in found.groups:
        boxes = [space.boxes[b] for b in bits(live)]
        point = tuple(reduce(operator.and_, column) for column in zip(*boxes, strict=True))
        assert _matching(model, _facts(space, point)) == set(bits(rules))
    # every case is in a gap exactly when no rule matches it
    atoms = [[1 << a for a in bits(d.possible)] for d in space.dims]
    for point in itertools.product(*atoms):
        facts = _facts(space, point)
        in_gap = any(all(p & g for p, g in zip(point, gap, strict=True)) for gap in found.gaps)
        if found.wanted_gaps:
            assert in_gap == (not _matching(model, facts)), facts
