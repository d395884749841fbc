"""The semantic diff against brute force: random small workbooks (``tests/strategies.py``),
a random edit of each, and every case of a grid of values evaluated by durable-rules through
both versions. A case is inside a reported region exactly when the two versions answer it
differently, inside at most one region, and the region's old and new answers are the
engine's. Membership is decided from the region's ``when`` cells, parsed by the engine's
cell parser and tested with :func:`engine.conditions.matches` — not from the analysis' own
bitmasks.
"""

from __future__ import annotations

import itertools
import os
import random
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from engine import FactError, HitPolicyViolation, WorkbookError, load_sheets
from engine.conditions import matches, parse_condition
from engine.evaluator import CompiledModel
from engine.impact.diff import DiffReport, diff
from engine.impact.semantic import freeze
from engine.validation.vignettes import outputs_by_name
from tests.reference import Item, ModelSpec
from tests.strategies import RANGES, Generated, HChooser, models, render

MAX_POINTS = 600


def mutate(c: HChooser, spec: ModelSpec) -> ModelSpec:
    """One to three edits a clinician might make: rules moved, deleted, cells and outputs
    copied from another rule of the same column, a rule inserted (a copy of another with
    one cell copied from a third), an input column removed or two columns swapped, an
    Output values list reversed, an input made optional or required, an allowed range
    changed, a default changed."""
    for _ in range(c.integer(1, 3)):
        kind = c.choice(["swap", "delete", "cell", "output", "required", "range", "default",
                         "insert", "drop column", "swap columns", "values"])
        tables = list(spec.tables)
        t = c.integer(0, len(tables) - 1)
        table = tables[t]
        rules = list(table.rules)
        if kind == "insert" and rules:
            i, j = c.integer(0, len(rules) - 1), c.integer(0, len(rules) - 1)
            cells = list(rules[i].cells)
            if table.inputs:
                col = c.integer(0, len(table.inputs) - 1)
                cells[col] = rules[j].cells[col]
            taken = {r.rule_id for r in rules}
            new_id = next(f"N{n}" for n in itertools.count(1) if f"N{n}" not in taken)
            rules.insert(c.integer(0, len(rules)),
                         replace(rules[i], rule_id=new_id, cells=tuple(cells)))
        elif kind in ("drop column", "swap columns") and len(table.inputs) >= 2:
            i, j = c.integer(0, len(table.inputs) - 1), c.integer(0, len(table.inputs) - 1)
            order = list(range(len(table.inputs)))
            if kind == "drop column":
                del order[i]
            else:
                order[i], order[j] = order[j], order[i]
            rules = [replace(r, cells=tuple(r.cells[k] for k in order)) for r in rules]
            table = replace(table, inputs=tuple(table.inputs[k] for k in order))
        elif kind == "values":
            outputs = [replace(o, values=tuple(reversed(o.values)),
                               raw_values=", ".join(reversed(
                                   [p.strip() for p in str(o.raw_values).split(",")])))
                       if o.values and isinstance(o.raw_values, str) else o
                       for o in table.outputs]
            table = replace(table, outputs=tuple(outputs))
        elif kind == "swap" and len(rules) >= 2:
            i, j = c.integer(0, len(rules) - 1), c.integer(0, len(rules) - 1)
            rules[i], rules[j] = rules[j], rules[i]
        elif kind == "delete" and len(rules) >= 2:
            del rules[c.integer(0, len(rules) - 1)]
        elif kind == "cell" and len(rules) >= 2 and table.inputs:
            i, j = c.integer(0, len(rules) - 1), c.integer(0, len(rules) - 1)
            col = c.integer(0, len(table.inputs) - 1)
            cells = list(rules[i].cells)
            cells[col] = rules[j].cells[col]
            rules[i] = replace(rules[i], cells=tuple(cells))
        elif kind == "output" and len(rules) >= 2:
            i, j = c.integer(0, len(rules) - 1), c.integer(0, len(rules) - 1)
            rules[i] = replace(rules[i], outputs=rules[j].outputs,
                               raw_outputs=rules[j].raw_outputs)
        elif kind in ("required", "range"):
            inputs = list(spec.inputs)
            k = c.integer(0, len(inputs) - 1)
            if kind == "required":
                inputs[k] = replace(inputs[k], required=not inputs[k].required)
            elif inputs[k].kind in ("number", "integer"):
                raw, value = c.choice([*RANGES, (None, None)])
                inputs[k] = replace(inputs[k], raw_range=raw, value_range=value)
            spec = replace(spec, inputs=tuple(inputs))
            continue
        elif kind == "default" and rules and table.aggregation is None:
            outputs = list(table.outputs)
            k = c.integer(0, len(outputs) - 1)
            donor = c.choice(rules)
            value, raw = donor.outputs[k], donor.raw_outputs[k]
            if value is not None:
                outputs[k] = replace(outputs[k], has_default=True, default=value,
                                     raw_default=raw)
                tables[t] = replace(table, outputs=tuple(outputs))
                table = tables[t]
        tables[t] = replace(table, rules=tuple(rules))
        spec = replace(spec, tables=tuple(tables))
    return spec


def candidates(spec: ModelSpec, other: ModelSpec, pools: dict[str, list[Any]]) -> dict[str, list]:
    """Per input, values at and around every constant either version names, and "not given"."""
    found: dict[str, list[Any]] = {}
    for definition in spec.inputs:
        constants: list[Any] = list(pools[definition.name])
        for s in (spec, other):
            for table in s.tables:
                for col, name in enumerate(table.inputs):
                    if name != definition.name:
                        continue
                    for rule in table.rules:
                        constants.extend(_constants(rule.cells[col].items))
            same = next(i for i in s.inputs if i.name == definition.name)
            if same.value_range is not None:
                constants.extend(_constants((same.value_range,)))
        values: list[Any]
        if definition.kind in ("number", "integer"):
            numbers = sorted({float(v) for v in constants if isinstance(v, int | float)
                              and not isinstance(v, bool)} | {0.0})
            if definition.kind == "integer":
                values = sorted({int(n) + d for n in numbers for d in (-1, 0, 1)})
            else:
                values = sorted({n + d for n in numbers for d in (-0.125, 0.0, 0.125)}
                                | {numbers[0] - 1, numbers[-1] + 1})
        elif definition.kind == "boolean":
            values = [True, False]
        elif definition.kind == "enum":
            values = list(definition.allowed)
        else:
            values = sorted({v for v in constants if isinstance(v, str)}) + ["zz other"]
        found[definition.name] = [None, *values]
    return found


def _constants(items: tuple[Item, ...]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item.kind == "range":
            out += [item.low, item.high]
        elif item.kind in ("eq", "cmp"):
            out.append(item.value)
    return out


def answer(model: CompiledModel, facts: dict[str, Any], shared: list[str]) -> object:
    try:
        decision = model.evaluate(facts)
    except FactError:
        return ("refused",)
    except HitPolicyViolation as error:  # no answer from this table; which rules is detail
        return ("violation", error.table)
    outputs = outputs_by_name(model, decision)
    return ("ok", tuple(freeze(outputs.get(n)) for n in shared))


def inside(when: dict[str, Any], facts: dict[str, Any]) -> bool:
    for name, cell in when.items():
        cells = cell if isinstance(cell, list) else [cell]
        if not any(matches(parse_condition(text), facts.get(name)) for text in cells):
            return False
    return True


def check(report: DiffReport, old: CompiledModel, new: CompiledModel,
          grid: dict[str, list[Any]], rng: random.Random) -> int:
    shared = [o.name for t in new.tables for o in t.outputs if old.output(o.name) is not None]
    names = list(grid)
    total = 1
    for values in grid.values():
        total *= len(values)
    if total <= MAX_POINTS:
        points = list(itertools.product(*grid.values()))
    else:
        points = [tuple(rng.choice(grid[n]) for n in names) for _ in range(MAX_POINTS)]
    points += [tuple(r.example.get(n) for n in names) for r in report.regions]
    for point in points:
        facts = {n: v for n, v in zip(names, point, strict=True) if v is not None}
        before, after = answer(old, facts, shared), answer(new, facts, shared)
        accepted = before != ("refused",) or after != ("refused",)
        holding = [r for r in report.regions if accepted and inside(r.when, facts)]
        note(f"facts {facts}: old {before}, new {after}, regions {[r.when for r in holding]}")
        assert len(holding) <= 1, "regions overlap"
        assert bool(holding) == (before != after), "a difference missed, or one reported twice"
        for predicted, got in ((holding[0].old, before), (holding[0].new, after)) if holding \
                else ():
            if predicted.outputs is not None:  # the outputs of the tables that may differ
                assert got[0] == "ok"
                engine_says = dict(zip(shared, got[1], strict=True))
                assert all(freeze(v) == engine_says[n] for n, v in predicted.outputs.items()
                           if n in engine_says)
    return len(points)


@settings(max_examples=int(os.environ.get("IMPACT_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated=models(max_tables=3), data=st.data())
def test_semantic_diff_matches_brute_force(generated: Generated, data: st.DataObject) -> None:
    spec = generated.spec
    assume(all(len(t.rules) <= 40 for t in spec.tables))
    changed = mutate(HChooser(data.draw), spec)
    try:
        old, new = load_sheets(render(spec)), load_sheets(render(changed))
    except WorkbookError:
        assume(False)
        raise
    report = diff(old, new)
    note(f"regions: {[(r.when, r.triage) for r in report.regions]}")
    check(report, old, new, candidates(spec, changed, generated.pools),
          random.Random(data.draw(st.integers(0, 2**32 - 1))))
    # the other way round too: the same cases differ, old and new swapped
    reverse = diff(new, old)
    assert len(reverse.regions) == 0 if report.identical else len(reverse.regions) > 0
