"""Workloads for the prover's benchmark (run by ``bench/validate.py``): the bundled workbook
with 20 properties, one 1,500-rule x 15-column PRIORITY table with 10, and a chain of three
300-rule tables (UNIQUE -> COLLECT -> PRIORITY) with 10.

The synthetic tables reuse ``bench/validate.py``'s partition of the input space (integer
columns 0..999, enum columns of 8 values); the PRIORITY tables are then perturbed (overlaps
and gaps) and get a default. Each property's ``When`` is part of a random rule's box on two
or three columns and its ``Then`` excludes one output value, so some hold and some do not.

The timed part is what ``triage validate`` runs for the Safety sheet: encoding the tables
and proving every property, counterexamples replayed through durable-rules included. Loading
the workbook is not timed. Every verdict is checked: a violated property's counterexample was
replayed by the prover; a proven property is evaluated on 300 random patients inside its
``When`` through durable-rules, none of whom may break it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import engine
from engine.builder import build_model
from engine.errors import Problem
from engine.evaluator import CompiledModel
from engine.loader import compile_loaded
from engine.model import SafetyProperty
from engine.properties import read_properties
from engine.prover import Prover, Verdict, breaks
from engine.validation.vignettes import outputs_by_name
from engine.workbook import Sheet

BUNDLED = Path(__file__).resolve().parent.parent / "decision_tables" / "muscle_twitching.xlsx"
DOMAIN = 1000
VALUES = tuple(f"v{i}" for i in range(8))

BUNDLED_PROPERTIES = [  # (When name, When cell, Then name, Then cell)
    ("breathing_difficulty", '"at_rest_or_lying_flat"', "disposition", '"EMERGENCY"'),
    ("weakness", '"sudden"', "disposition", '"EMERGENCY"'),
    ("weakness", '"rapid"', "disposition", '"EMERGENCY"'),
    ("bladder_or_bowel_change", "true", "disposition", 'not("SELF_CARE", "ROUTINE_GP")'),
    ("red_flags", "not(null)", "disposition", 'not("SELF_CARE")'),
    ("temperature_c", "< 35", "disposition", '"EMERGENCY"'),
    ("potassium_mmol_l", "< 2.5", "disposition", '"EMERGENCY"'),
    ("potassium_mmol_l", ">= 6.5", "disposition", '"EMERGENCY"'),
    ("calcium_mmol_l", "< 1.9", "disposition", '"EMERGENCY"'),
    ("temperature_c", ">= 38", "disposition", 'not("SELF_CARE")'),
    ("clonus_or_rigidity", "true", "disposition", 'not("SELF_CARE", "ROUTINE_GP")'),
    ("bulbar_symptoms", "true", "disposition", 'not("SELF_CARE", "ROUTINE_GP")'),
    ("magnesium_mmol_l", "< 0.4", "disposition", 'not("SELF_CARE", "ROUTINE_GP")'),
    ("potassium_mmol_l", "[6.0..6.5)", "disposition", 'not("SELF_CARE", "ROUTINE_GP")'),
    ("weakness", '"gradual"', "disposition", 'not("SELF_CARE")'),
    ("muscle_wasting", "true", "disposition", 'not("SELF_CARE")'),
    ("breathing_difficulty", '"on_exertion"', "disposition", 'not("SELF_CARE")'),
    ("red_flags", '"hypothermia"', "disposition", '"EMERGENCY"'),
    ("disposition", '"SELF_CARE"', "red_flags", "null"),
    ("progressive", "true", "disposition", 'not("SELF_CARE")'),
]


def safety_sheet(props: list[tuple[str, str, str, str]]) -> Sheet:
    """A Safety sheet with one column per (name, role) the properties use."""
    heads: list[tuple[str, str]] = []
    for when, _, then, _ in props:
        for head in ((when, "When"), (then, "Then")):
            if head not in heads:
                heads.append(head)
    rows: list[tuple[Any, ...]] = [
        ("Property", *(n for n, _ in heads), "Severity", "Citation"),
        ("Role", *(r for _, r in heads)),
    ]
    for number, (when, when_cell, then, then_cell) in enumerate(props):
        cells = [None] * len(heads)
        cells[heads.index((when, "When"))] = when_cell  # type: ignore[call-overload]
        cells[heads.index((then, "Then"))] = then_cell  # type: ignore[call-overload]
        rows.append((f"P{number + 1}", *cells, "error", "benchmark"))
    return Sheet("Safety", tuple(rows))


def properties_of(compiled: CompiledModel, sheet: Sheet) -> tuple[SafetyProperty, ...]:
    problems: list[Problem] = []
    found = read_properties(sheet, compiled.inputs, set(), compiled.tables, problems)
    assert not problems, [str(p) for p in problems]
    return found


# --- synthetic tables --------------------------------------------------------------------------


def cell(numeric: bool, part: Any) -> str:
    if numeric:
        lo, hi = part
        if (lo, hi) == (0, DOMAIN):
            return "-"
        return f"[{lo}..{hi})" if lo > 0 else f"< {hi}"
    if len(part) == len(VALUES):
        return "-"
    return ", ".join(f'"{v}"' for v in sorted(part))


def table_rows(
    name: str, policy: str, columns: list[str], numeric: list[bool], boxes: list[list[Any]],
    outputs: list[str], default: bool,
) -> Sheet:
    rows: list[tuple[Any, ...]] = [
        ("Table", name),
        ("Hit policy", policy),
        ("Description", None),
        (),
        ("Kind", *["Input"] * len(columns), "Output"),
        ("Name", *columns, name),
        ("Output values", *[None] * len(columns), ", ".join(VALUES)),
        ("Default", *[None] * len(columns), VALUES[-1] if default else None),
    ]
    for i, (box, out) in enumerate(zip(boxes, outputs, strict=True)):
        cells = [cell(n, part) for n, part in zip(numeric, box, strict=True)]
        rows.append((f"R{i + 1}", *cells, out))
    return Sheet(name.upper(), tuple(rows))


@dataclass(frozen=True)
class Shape:
    """A synthetic table: its input columns, which are numeric, each rule's box and output."""

    columns: list[str]
    numeric: list[bool]
    boxes: list[list[Any]]
    outputs: list[str]


def synthetic(
    layers: list[tuple[str, int, int, bool]], seed: str
) -> tuple[CompiledModel, list[Shape]]:
    """``layers``: (policy, rules, fresh input columns, perturbed) per table; each table
    after the first also reads the previous one's output. Returns the compiled model and
    each table's columns and boxes (for sampling patients)."""
    from bench.validate import partition, perturb  # the overlaps benchmark's tables

    rng = random.Random(seed)
    inputs: list[tuple[Any, ...]] = []
    sheets: list[Sheet] = []
    shapes = []
    previous: str | None = None
    for index, (policy, n_rules, n_columns, perturbed) in enumerate(layers):
        width = n_columns + (1 if previous else 0)
        numeric, boxes = partition(n_rules, width, rng)
        # the chained column is the last; partition() makes every third column an enum
        assert not previous or not numeric[-1], "a chained column must be an enum column"
        if perturbed:
            boxes = perturb(numeric, boxes, rng)
        fresh = [f"x{len(inputs) + c}" for c in range(n_columns)]
        for name, num in zip(fresh, numeric, strict=False):
            kind, allowed = ("integer", f"[0..{DOMAIN - 1}]") if num else (
                "enum", ", ".join(VALUES)
            )
            inputs.append((name, kind, None, allowed, "yes", None))
        columns = fresh + ([previous] if previous else [])
        boxes = [_fit(box, numeric) for box in boxes]
        name = f"t{index + 1}"
        outputs = [rng.choice(VALUES) for _ in boxes]
        sheets.append(table_rows(name, policy, columns, numeric, boxes, outputs, perturbed))
        shapes.append(Shape(columns, numeric, boxes, outputs))
        previous = name
    header = ("Name", "Type", "Unit", "Allowed values", "Required", "Description")
    about = Sheet("About", (("Table id", "bench"), ("Version", "1.0.0")))
    model = build_model([about, Sheet("Inputs", (header, *inputs)), *sheets], "bench",
                        require_citations=False)
    return compile_loaded(model), shapes


def _fit(box: list[Any], numeric: list[bool]) -> list[Any]:
    """partition() draws enum columns from its own 8 values; ours are the same names."""
    return [part if num else frozenset(part) for part, num in zip(box, numeric, strict=True)]


def synthetic_properties(
    shape: Shape, count: int, rng: random.Random
) -> list[tuple[list[tuple[str, str]], str]]:
    """(When cells, Then cell) on the last table: the When is a random rule's box on its
    input columns; every other property's Then excludes a value no rule meeting that box
    gives (nor the default), so it should be proven, the others a random value."""
    props = []
    fresh = [c for c in range(len(shape.columns)) if shape.columns[c].startswith("x")]
    for number in range(count):
        rule = rng.randrange(len(shape.boxes))
        box = shape.boxes[rule]
        when = [(shape.columns[c], cell(shape.numeric[c], box[c])) for c in fresh]
        when = [(n, t) for n, t in when if t != "-"]
        meeting = {
            out
            for other, out in zip(shape.boxes, shape.outputs, strict=True)
            if all(_meet(shape.numeric[c], box[c], other[c]) for c in fresh)
        } | {VALUES[-1]}
        absent = [v for v in VALUES if v not in meeting]
        value = rng.choice(absent) if number % 2 == 0 and absent else rng.choice(VALUES)
        props.append((when, f'not("{value}")'))
    return props


def _meet(numeric: bool, a: Any, b: Any) -> bool:
    return bool(a[0] < b[1] and b[0] < a[1]) if numeric else bool(a & b)


def synthetic_sheet(props: list[tuple[list[tuple[str, str]], str]], output: str) -> Sheet:
    names = sorted({n for when, _ in props for n, _ in when}, key=lambda n: int(n[1:]))
    rows: list[tuple[Any, ...]] = [
        ("Property", *names, output, "Severity", "Citation"),
        ("Role", *["When"] * len(names), "Then"),
    ]
    for number, (when, then) in enumerate(props):
        cells = dict(when)
        rows.append((f"P{number + 1}", *(cells.get(n) for n in names), then, "error", "bench"))
    return Sheet("Safety", tuple(rows))


# --- running and checking ----------------------------------------------------------------------


def prove(compiled: CompiledModel, props: tuple[SafetyProperty, ...]) -> dict[str, Any]:
    start = time.perf_counter()
    prover = Prover(compiled, props)
    encoded = time.perf_counter()
    results = prover.prove_all()
    seconds = time.perf_counter() - start
    verdicts: dict[str, int] = {}
    for r in results:
        verdicts[r.verdict.value] = verdicts.get(r.verdict.value, 0) + 1
    return {
        "seconds": seconds,
        "encode_seconds": encoded - start,
        "verdicts": verdicts,
        "results": results,
    }


def check(compiled: CompiledModel, results: list[Any], sample: Any, rng: random.Random) -> str:
    """Proven properties hold for 300 random patients inside their When (durable-rules)."""
    for result in results:
        if result.verdict is Verdict.VIOLATED and result.counterexample is None:
            return f"{result.prop.property_id}: violated without a counterexample"
        if result.verdict is not Verdict.PROVEN:
            continue
        for _ in range(300):
            facts = sample(result.prop, rng)
            try:
                decision = compiled.evaluate(facts)
                outputs: dict[str, Any] | None = outputs_by_name(compiled, decision)
            except engine.HitPolicyViolation:
                outputs = None
            values = {i.name: facts.get(i.name) for i in compiled.inputs}
            if breaks(result.prop, values, outputs):
                return f"{result.prop.property_id}: proven, but {facts} breaks it"
    return "ok"


def sample_inside(compiled: CompiledModel) -> Any:
    """A sampler of patients inside a property's When: each input drawn at random until its
    own When cells hold (the cells are unary, so inputs are drawn one by one)."""

    def value(name: str, rng: random.Random) -> Any:
        definition = compiled.input(name)
        assert definition is not None
        if definition.kind.value == "integer":
            return rng.randrange(DOMAIN)
        return rng.choice(definition.allowed_values)

    return within(compiled, value)


def within(compiled: CompiledModel, value: Any) -> Any:
    from engine.conditions import matches

    def draw(prop: SafetyProperty, rng: random.Random) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        for i in compiled.inputs:
            cells = [c.condition for c in prop.when if c.name == i.name]
            for _ in range(10_000):
                facts[i.name] = value(i.name, rng) if i.required or rng.random() < 0.7 else None
                if all(matches(c, facts[i.name]) for c in cells):
                    break
            else:
                raise AssertionError(f"no value of {i.name} inside {prop.property_id}'s When")
        return {k: v for k, v in facts.items() if v is not None}

    return draw


def sample_inside_bundled(compiled: CompiledModel) -> Any:
    """Patients for the bundled workbook: booleans and enum values at random, and numbers at,
    just below and just above every constant the tables test (within the allowed range),
    each input redrawn until the property's When cells on it hold."""
    from engine.facts import check_value
    from engine.prover.space import conditions_of, numbers_named

    tested = conditions_of(compiled.model)
    numbers: dict[str, list[float]] = {}
    for i in compiled.inputs:
        if i.kind.value in ("number", "integer"):
            named = numbers_named([*tested.get(i.name, []), *filter(None, [i.value_range])])
            around = {float(c) + d for c in named for d in (-1, -0.1, 0, 0.1, 1)} or {0.0}
            numbers[i.name] = sorted(
                v for v in around if not check_value(i, int(v) if v.is_integer() else v)[1]
            )

    def draw_value(name: str, rng: random.Random) -> Any:
        definition = compiled.input(name)
        assert definition is not None
        kind = definition.kind.value
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "enum":
            return rng.choice(definition.allowed_values)
        value = rng.choice(numbers[name])
        return int(value) if value.is_integer() else value

    return within(compiled, draw_value)
