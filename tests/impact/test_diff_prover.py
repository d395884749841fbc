"""The semantic diff cross-checked by the prover (:mod:`engine.prover`, z3), which reaches
the same question by another road: both versions encoded side by side over one input space.
For random workbooks and edits that keep the Inputs sheet, comparing one single-hit output,
the solver finds no case outside the reported regions where both versions answer and the
output differs, and no case inside a region where both answer and it does not."""

from __future__ import annotations

import os
from typing import Any

import z3
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from engine import WorkbookError, load_sheets
from engine.conditions import parse_condition
from engine.impact.diff import diff
from engine.impact.semantic import freeze
from engine.prover import InputSpace, conditions_of, encode_model
from engine.prover.values import Choice, to_z3
from tests.impact.test_diff_differential import mutate
from tests.strategies import Generated, HChooser, models, render


def _cells(when: dict[str, Any]) -> dict[str, list[Any]]:
    return {name: [parse_condition(t) for t in (cell if isinstance(cell, list) else [cell])]
            for name, cell in when.items()}


@settings(max_examples=int(os.environ.get("IMPACT_EXAMPLES", "80")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated=models(max_tables=2), data=st.data())
def test_prover_finds_no_difference_outside_the_regions(generated: Generated,
                                                        data: st.DataObject) -> None:
    spec = generated.spec
    assume(all(len(t.rules) <= 40 for t in spec.tables))
    changed = mutate(HChooser(data.draw), spec)
    assume(changed.inputs == spec.inputs)  # one input space for both versions
    try:
        old, new = load_sheets(render(spec)), load_sheets(render(changed))
    except WorkbookError:
        assume(False)
        raise
    names = [o.name for t in new.tables if t.hit_policy.single_hit for o in t.outputs
             if old.output(o.name) is not None]
    assume(names)
    name = data.draw(st.sampled_from(names))
    report = diff(old, new, outputs=[name])
    note(f"{name}: {[(r.when, r.triage) for r in report.regions]}")

    regions = [_cells(r.when) for r in report.regions]
    conditions: dict[str, list[Any]] = {}
    for model in (old.model, new.model):
        for key, found in conditions_of(model).items():
            conditions.setdefault(key, []).extend(found)
    for region in regions:
        for key, found in region.items():
            conditions.setdefault(key, []).extend(found)
    space = InputSpace.of(new.inputs, conditions)
    ctx = space.ctx
    before, after = encode_model(old.model, space, "old."), encode_model(new.model, space, "new.")
    a, b = before.terms[name], after.terms[name]
    assert isinstance(a, Choice) and isinstance(b, Choice)
    differ = z3.Or([z3.And(to_z3(ga, ctx), to_z3(gb, ctx)) for ga, va in a.options
                    for gb, vb in b.options if freeze(va) != freeze(vb)] + [z3.BoolVal(False, ctx)])
    answered = z3.And(z3.Not(to_z3(before.any_violation(), ctx)),
                      z3.Not(to_z3(after.any_violation(), ctx)))

    def inside(region: dict[str, list[Any]]) -> z3.BoolRef:
        return z3.And([z3.Or([to_z3(before.holds(n, c), ctx) for c in cs])
                       for n, cs in region.items()] + [z3.BoolVal(True, ctx)])

    base = [*space.domain, *before.definitions, *after.definitions, answered]
    solver = z3.Solver(ctx=ctx)
    solver.add(*base, differ, z3.Not(z3.Or([inside(r) for r in regions]
                                           + [z3.BoolVal(False, ctx)])))
    assert solver.check() == z3.unsat, f"a difference outside the regions: {solver.model()}"
    for region in regions:
        solver = z3.Solver(ctx=ctx)
        solver.add(*base, inside(region), z3.Not(differ))
        assert solver.check() == z3.unsat, f"no difference inside {region}: {solver.model()}"
