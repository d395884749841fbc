"""Differential test of the prover: its verdict against brute-force enumeration.

Random small models (``tests/strategies.py``'s generators: every hit policy, aggregations,
chained and list-valued outputs, optional inputs) get random properties on a Safety sheet.
Each property is proven by :mod:`engine.prover` and decided by brute force: every
combination of *representative* input values, evaluated by the independent reference
evaluator (``tests/reference.py``). The representatives of an input are every constant any
cell, property or range names, a point strictly between each two neighbours, a point beyond
each end, and "missing" when the input is optional — one value in every interval on which
every unary test is constant, so the enumeration is exhaustive, not a sample.

The verdicts must be equal (proven, violated, vacuous; the prover may never say "not
proven" on these models), and every counterexample must break its property both through
durable-rules (``CompiledModel.evaluate``) and in the reference evaluator.
"""

from __future__ import annotations

import gc
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st

from engine import WorkbookError, load_sheets
from engine.evaluator import CompiledModel
from engine.prover import Prover, Verdict, breaks
from engine.validation.vignettes import outputs_by_name
from engine.workbook import Sheet
from tests.reference import (
    Cell,
    InputSpec,
    ModelSpec,
    Outcome,
    TableSpec,
    cell_matches,
    evaluate_all,
    fact_is_valid,
    table_values,
)
from tests.strategies import (
    ENUM_WORDS,
    Chooser,
    Column,
    HChooser,
    gen_cell,
    gen_input,
    gen_outputs,
    gen_rules,
    input_column,
    readable_columns,
    render,
)
from tests.strategies import POLICIES as TABLE_POLICIES

MAX_CASES = 6_000  # representative cases per model, so that 300 models run in make test


@dataclass(frozen=True)
class PropertySpec:
    """A Safety-sheet row: (column name, role, cell) triples."""

    prop_id: str
    cells: tuple[tuple[str, str, Cell], ...]


@dataclass(frozen=True)
class Case:
    spec: ModelSpec
    pools: dict[str, list[Any]]
    columns: dict[str, Column]  # every name a property may test
    properties: tuple[PropertySpec, ...]


# --- generating models and properties --------------------------------------------------------


def gen_small_table(c: Chooser, index: int, available: list[Column]) -> tuple[TableSpec, dict]:
    """Like the strategies' tables, with at most 8 rules (brute force stays exhaustive)."""
    name = f"t{index + 1}"
    policy, aggregation, spellings = c.choice(TABLE_POLICIES)
    outputs = gen_outputs(c, name, policy, aggregation)
    chained = [col for col in available if col.name.startswith("t")]
    columns = [
        c.choice(chained) if chained and c.chance(0.5) else c.choice(available)
        for _ in range(c.integer(1, 3))
    ]
    rules = gen_rules(c, columns, outputs, c.integer(1, 8), policy, aggregation)
    table = TableSpec(
        name, policy, aggregation, tuple(col.name for col in columns),
        tuple(out for out, _ in outputs), tuple(rules), c.choice(spellings),
        sheet_name=name.upper(),
    )
    return table, {out.name: pool for out, pool in outputs}


def gen_properties(c: Chooser, columns: dict[str, Column], inputs: set[str]) -> tuple[
    PropertySpec, ...
]:
    outputs = [n for n in columns if n not in inputs]
    if not outputs:  # a COUNT of text cells is the only output, and no cell may read it
        return ()
    chosen: list[tuple[str, str]] = []
    for name in c.permutation(list(columns))[: c.integer(0, 2)]:
        chosen.append((name, "When"))
    for name in c.permutation(outputs)[: c.integer(1, 2)]:
        chosen.append((name, "Then"))
    props = []
    for number in range(c.integer(1, 4)):
        cells = [(n, role, gen_cell(c, columns[n])) for n, role in chosen]
        if all(cell.form == "any" for n, role, cell in cells if role == "Then"):
            position = next(i for i, (_, role, _) in enumerate(cells) if role == "Then")
            name, role, _ = cells[position]
            cell = gen_cell(c, columns[name])
            while cell.form == "any":
                cell = gen_cell(c, columns[name])
            cells[position] = (name, role, cell)
        props.append(PropertySpec(f"P{number + 1}", tuple(cells)))
    return tuple(props)


@st.composite
def cases(draw: Callable[[Any], Any]) -> Case:
    c = HChooser(draw)
    inputs: list[InputSpec] = []
    pools: dict[str, list[Any]] = {}
    for index in range(c.integer(1, 3)):
        spec, pool = gen_input(c, index)
        inputs.append(spec)
        pools[spec.name] = pool
    available = [input_column(i, pools) for i in inputs]
    tables = []
    for index in range(c.integer(1, 3)):
        table, out_pools = gen_small_table(c, index, available)
        tables.append(table)
        available.extend(readable_columns(table, out_pools))
    columns = {col.name: col for col in available}
    spec = ModelSpec(tuple(inputs), tuple(tables))
    properties = gen_properties(c, columns, {i.name for i in inputs})
    assume(properties)
    return Case(spec, pools, columns, properties)


def safety_sheet(properties: tuple[PropertySpec, ...]) -> Sheet:
    heads = [(name, role) for name, role, _ in properties[0].cells]
    rows: list[tuple[Any, ...]] = [
        ("Property", *(n for n, _ in heads), "Severity", "Citation"),
        ("Role", *(r for _, r in heads)),
    ]
    for prop in properties:
        rows.append((prop.prop_id, *(cell.raw for _, _, cell in prop.cells), "error", "src"))
    return Sheet("Safety", tuple(rows))


# --- brute force -----------------------------------------------------------------------------


def constants(cells: list[Cell]) -> list[Any]:
    found: list[Any] = []
    for cell in cells:
        for item in cell.items:
            if item.kind == "range":
                found += [item.low, item.high]
            elif item.kind in ("eq", "cmp"):
                found.append(item.value)
    return found


def representatives(spec: InputSpec, cells: list[Cell], pool: list[Any]) -> list[Any]:
    """One value in every interval on which every test of this input is constant."""
    named = constants(cells)
    if spec.value_range is not None:
        named += constants([Cell("anyof", (spec.value_range,))])
    if spec.kind == "boolean":
        values: list[Any] = [True, False]
    elif spec.kind == "enum":
        values = list(spec.allowed)
    elif spec.kind == "text":
        texts = [v for v in [*named, *pool] if isinstance(v, str)]
        values = list(dict.fromkeys([*texts, "zz not named"]))
    else:
        numbers = sorted({Fraction(v) for v in named if isinstance(v, int | float)
                          and not isinstance(v, bool)} | {Fraction(0)})
        points = set(numbers) | {numbers[0] - 1, numbers[-1] + 1}
        points |= {(a + b) / 2 for a, b in itertools.pairwise(numbers)}
        if spec.kind == "integer":
            points = {Fraction(f(p)) for p in points for f in (math.floor, math.ceil)}
        values = [int(p) if p.denominator == 1 else float(p) for p in sorted(points)]
    values = [v for v in values if fact_is_valid(spec, v)]
    return values + ([None] if not spec.required else [])


def ref_breaks(prop: PropertySpec, facts: dict[str, Any], outcome: Outcome,
               spec: ModelSpec) -> tuple[bool, bool]:
    """(breaks, applies) for one case, decided on the reference evaluator's outcome."""
    env: dict[str, tuple[Any, bool]] = {i.name: (facts.get(i.name), False) for i in spec.inputs}
    inputs = set(env)
    when_in = all(cell_matches(cell, env[n][0]) for n, role, cell in prop.cells
                  if role == "When" and n in inputs)
    if not when_in:
        return False, False
    if outcome.violations:
        return True, True
    for table in spec.tables:
        env.update(table_values(table, outcome.outputs[table.name]))
    when_out = all(cell_matches(cell, *env[n]) for n, role, cell in prop.cells
                   if role == "When" and n not in inputs)
    then = all(cell_matches(cell, *env[n]) for n, role, cell in prop.cells if role == "Then")
    return when_out and not then, when_out


def brute_force(case: Case) -> dict[str, tuple[str, dict[str, Any] | None]]:
    spec = case.spec
    cells: dict[str, list[Cell]] = {}
    for table in spec.tables:
        for rule in table.rules:
            for name, cell in zip(table.inputs, rule.cells, strict=True):
                cells.setdefault(name, []).append(cell)
    for prop in case.properties:
        for name, _, cell in prop.cells:
            cells.setdefault(name, []).append(cell)
    domains = [representatives(i, cells.get(i.name, []), case.pools[i.name])
               for i in spec.inputs]
    total = math.prod(len(d) for d in domains)
    assume(total <= MAX_CASES)
    event(f"cases {'<=100' if total <= 100 else '<=1000' if total <= 1000 else '>1000'}")
    verdicts = {p.prop_id: ("vacuous", None) for p in case.properties}
    for values in itertools.product(*domains):
        facts = {i.name: v for i, v in zip(spec.inputs, values, strict=True) if v is not None}
        outcome = evaluate_all(spec, facts)
        for prop in case.properties:
            if verdicts[prop.prop_id][0] == "violated":
                continue
            broken, applies = ref_breaks(prop, facts, outcome, spec)
            if broken:
                verdicts[prop.prop_id] = ("violated", facts)
            elif applies:
                verdicts[prop.prop_id] = ("proven", None)
    return verdicts


# --- the test --------------------------------------------------------------------------------


def load(case: Case) -> CompiledModel:
    sheets = [*render(case.spec), safety_sheet(case.properties)]
    note(f"sheets: {[(s.name, s.rows) for s in sheets]!r}")
    try:
        return load_sheets(sheets)
    except WorkbookError as exc:
        raise AssertionError(f"the engine refused a valid workbook: {exc}") from exc


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much, HealthCheck.large_base_example])
@given(case=cases())
def test_prover_agrees_with_brute_force(case: Case) -> None:
    expected = brute_force(case)
    compiled = load(case)
    results = Prover(compiled).prove_all()
    for result in results:
        verdict, witness = expected[result.prop.property_id]
        event(f"verdict {result.verdict}")
        note(f"{result.prop.property_id}: prover {result.verdict} {result.reason}; "
             f"brute force {verdict} {witness}")
        assert result.verdict.value == verdict, (
            f"{result.prop.property_id}: prover says {result.verdict} ({result.reason}), "
            f"brute force {verdict} (for example {witness})")
        if result.verdict is Verdict.VIOLATED:
            check_counterexample(case, compiled, result.prop, result.counterexample)
    del compiled
    gc.collect()


def check_counterexample(case: Case, compiled: CompiledModel, prop: Any, example: Any) -> None:
    """The counterexample breaks the property through durable-rules and in the reference."""
    assert example is not None
    facts = {k: v for k, v in example.facts.items() if v is not None}
    for name, value in facts.items():
        spec = next(i for i in case.spec.inputs if i.name == name)
        assert fact_is_valid(spec, value), f"{name}={value!r} is not a valid fact"
    values = {i.name: facts.get(i.name) for i in compiled.inputs}
    try:
        decision = compiled.evaluate(facts)
        outputs: dict[str, Any] | None = outputs_by_name(compiled, decision)
    except Exception as exc:  # only a hit-policy violation may stop the evaluation
        assert type(exc).__name__ == "HitPolicyViolation", exc
        outputs = None
    assert breaks(prop, values, outputs), f"durable-rules does not break {prop.property_id}"
    spec_prop = next(p for p in case.properties if p.prop_id == prop.property_id)
    broken, _ = ref_breaks(spec_prop, facts, evaluate_all(case.spec, facts), case.spec)
    assert broken, f"the reference evaluator does not break {prop.property_id} with {facts}"


def test_representatives_cover_each_interval() -> None:
    """The enumeration's premise: a value inside every interval between named constants."""
    spec = InputSpec("x", "integer", True)
    cells = [Cell("anyof", (__import__("tests.reference").reference.Item("cmp", 2.5, op="<"),))]
    assert representatives(spec, cells, []) == [-1, 0, 1, 2, 3, 4]
    enum = InputSpec("p", "enum", False, allowed=tuple(ENUM_WORDS[:2]))
    assert representatives(enum, [], []) == [*ENUM_WORDS[:2], None]
