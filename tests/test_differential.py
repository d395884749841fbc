"""Differential tests: the engine (durable-rules) against ``tests/reference.py``.

Random decision models (``tests/strategies.py``) are rendered into sheets, loaded with
``engine.load_sheets`` and evaluated on random facts; every result must equal the naive
reference evaluator's, a :class:`HitPolicyViolation` must name exactly the rules the reference
names, and the durable-rules sessions must be left clean after every evaluation. Targeted cases
below pin the tricky semantics of docs/workbook-format.md with hand-computed results, checked
against both the engine and the reference.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from engine import FactError, HitPolicyViolation, WorkbookError, load_sheets
from engine.model import Model
from tests.reference import (
    Cell,
    InputSpec,
    Item,
    ModelSpec,
    OutputSpec,
    RuleSpec,
    TableSpec,
    bad_fact_fields,
    cell_matches,
    evaluate,
    evaluate_all,
    producers,
    same_result,
    table_values,
)
from tests.strategies import Generated, HChooser, gen_bad_facts, gen_facts, models, render

SETTINGS = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- helpers ---------------------------------------------------------------------------------


def say(text: str) -> None:
    """hypothesis.note inside a property test; nothing in a plain test (which reports the
    assertion message alone)."""
    if currently_in_test_context():
        note(text)


def build(spec: ModelSpec) -> Model:
    sheets = render(spec)
    say(f"sheets: {[(s.name, s.rows) for s in sheets]!r}")
    try:
        return load_sheets(sheets)
    except WorkbookError as exc:  # the strategies only generate valid workbooks
        raise AssertionError(f"the engine refused a valid workbook: {exc}") from exc


def matched_ids(spec: ModelSpec, facts: dict[str, Any]) -> dict[str, list[str]]:
    """For failure reports: which rules the reference finds matching, per table."""
    outcome = evaluate_all(spec, facts)
    env: dict[str, tuple[Any, bool]] = {i.name: (facts.get(i.name), False) for i in spec.inputs}
    found = {}
    for table in spec.tables:
        if table.name not in outcome.outputs:
            continue
        try:
            found[table.name] = [
                r.rule_id for r in table.rules
                if all(cell_matches(c, *env[n]) for c, n in zip(r.cells, table.inputs, strict=True))
            ]
        except KeyError:
            continue
        env.update(table_values(table, outcome.outputs[table.name]))
    return found


def check(model: Model, spec: ModelSpec, facts: dict[str, Any]) -> str:
    """Evaluate ``facts`` with the engine and the reference; they must agree."""
    note(f"facts: {facts!r}")
    expected = evaluate_all(spec, facts)
    note(f"reference: outputs={expected.outputs!r} violations={expected.violations!r}")
    note(f"reference matches: {matched_ids(spec, facts)!r}")
    try:
        decision = model.evaluate(facts)
    except HitPolicyViolation as exc:
        note(f"engine: HitPolicyViolation {exc}")
        assert model.is_clean(), "durable-rules session not clean after a violation"
        # any table whose upstream evaluated may be the first to fail, whatever the order
        assert exc.table in expected.violations, (
            f"engine: {exc}; reference violations: {expected.violations}, "
            f"outputs: {expected.outputs}")
        assert tuple(exc.rule_ids) == expected.violations[exc.table], (
            f"engine names rules {exc.rule_ids}, reference {expected.violations[exc.table]}")
        return "violation"
    note(f"engine: outputs={dict(decision.outputs)!r} "
         f"fired={[(f.table, f.rule_id) for f in decision.fired]!r}")
    assert model.is_clean(), "durable-rules session not clean after an evaluation"
    assert not expected.violations, (
        f"reference finds violations {expected.violations}, engine returned {decision.outputs}")
    assert set(decision.outputs) == set(expected.outputs)
    for name, value in expected.outputs.items():
        assert same_result(decision.outputs[name], value), (
            f"table {name}: engine {decision.outputs[name]!r}, reference {value!r}")
    return "ok"


def collect() -> None:
    """Free dropped models' rulesets now (their runners may sit in reference cycles), rather than
    at some later collection in the middle of building the next model."""
    gc.collect()


def describe(spec: ModelSpec) -> None:
    for table in spec.tables:
        event(f"policy {table.policy}{' ' + table.aggregation if table.aggregation else ''}")
    event(f"{len(spec.tables)} table(s)")
    n_rules = max(len(t.rules) for t in spec.tables)
    event("rules " + ("1-6" if n_rules <= 6 else "7-40" if n_rules <= 40 else "41+"))
    made_by = producers(spec)
    if any(n in made_by for t in spec.tables for n in t.inputs):
        event("chained")
    if any(made_by[n].returns_list for t in spec.tables for n in t.inputs if n in made_by):
        event("list-valued chained input")


# --- property tests --------------------------------------------------------------------------


@settings(max_examples=300, **SETTINGS)
@given(generated=models(), data=st.data())
def test_engine_agrees_with_reference(generated: Generated, data: st.DataObject) -> None:
    _agree_on_cases(generated, data, most=6)


@pytest.mark.slow
@settings(max_examples=25, **SETTINGS)
@given(generated=models(large=True), data=st.data())
def test_engine_agrees_with_reference_on_large_tables(
    generated: Generated, data: st.DataObject
) -> None:
    _agree_on_cases(generated, data, most=8)


def _agree_on_cases(generated: Generated, data: st.DataObject, most: int) -> None:
    """Build the generated table and check 1 to ``most`` drawn cases against the reference."""
    spec = generated.spec
    describe(spec)
    model = build(spec)
    c = HChooser(data.draw)
    for _ in range(c.integer(1, most)):
        event(check(model, spec, gen_facts(c, generated)))
    del model
    collect()


@settings(max_examples=150, **SETTINGS)
@given(generated=models(max_tables=2), data=st.data())
def test_fact_errors_name_every_bad_field(generated: Generated, data: st.DataObject) -> None:
    spec = generated.spec
    model = build(spec)
    facts = gen_bad_facts(HChooser(data.draw), generated)
    expected = bad_fact_fields(spec, facts)
    note(f"facts: {facts!r}; expected bad fields: {sorted(expected)}")
    assert expected, "the strategy must spoil at least one field"
    with pytest.raises(FactError) as caught:
        model.evaluate(facts)
    fields = {p.field for p in caught.value.problems}
    assert fields == expected, f"engine names {sorted(fields)}: {caught.value}"
    assert model.is_clean()
    del model
    collect()


# --- targeted cases --------------------------------------------------------------------------
#
# Each case is a hand-written spec (cells written both as the sheet text and as their
# meaning), facts, and the result worked out by hand from docs/workbook-format.md.

ANY = Cell("any", (), "-")


def eq(value: Any) -> Item:
    return Item("eq", value)


def cmp(op: str, value: Any) -> Item:
    return Item("cmp", value, op=op)


def rng(low: Any, high: Any, low_closed: bool = True, high_closed: bool = True) -> Item:
    return Item("range", low=low, high=high, low_closed=low_closed, high_closed=high_closed)


NULL = Item("null")


def anyof(raw: Any, *items: Item) -> Cell:
    return Cell("anyof", items, raw)


def noneof(raw: str, *items: Item) -> Cell:
    return Cell("noneof", items, raw)


def output(name: str, kind: str, values: tuple[Any, ...] | None = None,
           default: Any = None, has_default: bool = False) -> OutputSpec:
    raw_values = None if values is None else ", ".join(
        ("true" if v else "false") if isinstance(v, bool) else str(v) for v in values)
    raw_default = None
    if has_default:
        raw_default = ("true" if default else "false") if isinstance(default, bool) else default
    return OutputSpec(name, kind, values, has_default, default, raw_values, raw_default)


def table(name: str, policy: str, inputs: tuple[str, ...], outputs: tuple[OutputSpec, ...],
          rules: list[tuple[str, tuple[Cell, ...], tuple[Any, ...]]],
          aggregation: str | None = None, policy_text: str | None = None) -> TableSpec:
    specs = tuple(
        RuleSpec(rule_id, cells, outs, tuple(outs), f"source {rule_id}")
        for rule_id, cells, outs in rules
    )
    text = policy_text or (f"{policy} {aggregation}" if aggregation else policy)
    return TableSpec(name, policy, aggregation, inputs, outputs, specs, text, sheet_name=name)


def model_spec(inputs: tuple[InputSpec, ...], *tables: TableSpec) -> ModelSpec:
    return ModelSpec(inputs, tables)


def assert_case(spec: ModelSpec, facts: dict[str, Any], expected: dict[str, Any]) -> None:
    reference = evaluate(spec, facts)
    for name, value in expected.items():
        assert same_result(reference[name], value), (
            f"reference {name}={reference[name]!r}, hand-computed {value!r}")
    model = build(spec)
    decision = model.evaluate(facts)
    assert model.is_clean()
    for name, value in expected.items():
        assert same_result(decision.outputs[name], value), (
            f"engine {name}={decision.outputs[name]!r}, expected {value!r}")


X_OPT = InputSpec("x", "number", required=False)
P_OPT = InputSpec("p", "enum", required=False, allowed=("focal", "widespread"),
                  raw_allowed="focal, widespread")


def one_column(cell: Cell, input_spec: InputSpec = X_OPT) -> ModelSpec:
    """FIRST table: rule M (the cell) -> "hit", else the default "miss"."""
    return model_spec(
        (input_spec,),
        table("t", "FIRST", (input_spec.name,),
              (output("t", "string", None, "miss", True),),
              [("M", (cell,), ("hit",))]),
    )


NULL_VS_NOT = [
    # (cell, value, matches?)
    (anyof("null", NULL), None, True),
    (anyof("null", NULL), 3, False),
    (ANY, None, True),
    (noneof("not(3)", eq(3)), None, False),  # a missing value never satisfies not(...)
    (noneof("not(3)", eq(3)), 4, True),
    (noneof("not(3)", eq(3)), 3, False),
    (noneof("not(null)", NULL), None, False),
    (noneof("not(null)", NULL), 0, True),
    (noneof("not(null, 3)", NULL, eq(3)), 3, False),
    (anyof("null, 3", NULL, eq(3)), None, True),
    (anyof("null, 3", NULL, eq(3)), 3, True),
    (anyof("< 5", cmp("<", 5)), None, False),  # no comparison with a missing value
    (anyof("!= 5", cmp("!=", 5)), None, False),
    (noneof("not(< 5)", cmp("<", 5)), None, False),
    (noneof("not([1..5])", rng(1, 5)), None, False),
    (noneof("not([1..5])", rng(1, 5)), 6, True),
]


@pytest.mark.parametrize(("cell", "value", "hit"), NULL_VS_NOT,
                         ids=[f"{c.raw}~{v}" for c, v, _ in NULL_VS_NOT])
def test_null_against_not(cell: Cell, value: Any, hit: bool) -> None:
    facts = {} if value is None else {"x": value}
    assert_case(one_column(cell), facts, {"t": "hit" if hit else "miss"})


ENUM_NULL_VS_NOT = [
    (noneof('not("focal")', eq("focal")), None, False),
    (noneof('not("focal")', eq("focal")), "widespread", True),
    (anyof('!= "focal"', cmp("!=", "focal")), None, False),
    (anyof('!= "focal"', cmp("!=", "focal")), "widespread", True),
    (anyof("focal, null", eq("focal"), NULL), None, True),
]


@pytest.mark.parametrize(("cell", "value", "hit"), ENUM_NULL_VS_NOT,
                         ids=[f"{c.raw}~{v}" for c, v, _ in ENUM_NULL_VS_NOT])
def test_null_against_not_on_enum(cell: Cell, value: Any, hit: bool) -> None:
    facts = {} if value is None else {"p": value}
    assert_case(one_column(cell, P_OPT), facts, {"t": "hit" if hit else "miss"})


BOUNDS = [
    ("[1..5]", rng(1, 5), [(1, True), (5, True), (0.75, False), (5.25, False), (3, True)]),
    ("(1..5]", rng(1, 5, False), [(1, False), (1.25, True), (5, True)]),
    ("]1..5]", rng(1, 5, False), [(1, False), (1.25, True), (5, True)]),
    ("[1..5)", rng(1, 5, True, False), [(1, True), (5, False), (4.75, True)]),
    ("[1..5[", rng(1, 5, True, False), [(1, True), (5, False), (4.75, True)]),
    ("]1..5[", rng(1, 5, False, False), [(1, False), (5, False), (3, True)]),
    ("(1..5)", rng(1, 5, False, False), [(1, False), (5, False), (1.5, True)]),
    ("[-2.5..-0.5]", rng(-2.5, -0.5), [(-2.5, True), (-0.5, True), (-2.75, False), (0, False)]),
    ("(-2.5..0.25)", rng(-2.5, 0.25, False, False), [(-2.5, False), (0.25, False), (0, True)]),
    ("[3..3]", rng(3, 3), [(3, True), (3.0, True), (2.75, False)]),
    ("< 5", cmp("<", 5), [(5, False), (4.75, True), (5.0, False)]),
    ("<= 5", cmp("<=", 5), [(5, True), (5.25, False)]),
    ("> -1.5", cmp(">", -1.5), [(-1.5, False), (-1.25, True)]),
    (">= -1.5", cmp(">=", -1.5), [(-1.5, True), (-1.75, False)]),
    ("\u2264 5", cmp("<=", 5), [(5, True), (5.25, False)]),
    ("\u2265 5", cmp(">=", 5), [(5, True), (4.75, False)]),
]
BOUND_CASES = [(text, item, value, hit) for text, item, cases in BOUNDS for value, hit in cases]


@pytest.mark.parametrize(("text", "item", "value", "hit"), BOUND_CASES,
                         ids=[f"{t}~{v}" for t, _, v, _ in BOUND_CASES])
def test_bounds_at_the_boundary(text: str, item: Item, value: Any, hit: bool) -> None:
    assert_case(one_column(anyof(text, item)), {"x": value}, {"t": "hit" if hit else "miss"})


NOT_EQUAL = [
    ("!= 5", 5, False), ("!= 5", 5.0, False), ("!= 5", 4.75, True), ("!= 5", -5, True),
    ("!= 0", 0, False), ("!= 0", -0.25, True), ("!= -2.5", -2.5, False), ("!= -2.5", 2.5, True),
    ("\u2260 5", 5, False), ("\u2260 5", 6, True), ("!=5", 5, False), ("!= 5.0", 5, False),
]


@pytest.mark.parametrize(("text", "value", "hit"), NOT_EQUAL,
                         ids=[f"{t}~{v}" for t, v, _ in NOT_EQUAL])
def test_not_equal_on_numbers(text: str, value: Any, hit: bool) -> None:
    number = float(text.lstrip("!=\u2260 "))
    cell = anyof(text, cmp("!=", int(number) if number.is_integer() else number))
    assert_case(one_column(cell), {"x": value}, {"t": "hit" if hit else "miss"})


def test_not_equal_on_integer_input() -> None:
    x = InputSpec("x", "integer", required=True)
    for value, hit in ((3, False), (4, True), (-3, True)):
        assert_case(one_column(anyof("!= 3", cmp("!=", 3)), x), {"x": value},
                    {"t": "hit" if hit else "miss"})


def list_model(downstream: Cell, policy: str = "COLLECT") -> ModelSpec:
    """``flags`` (COLLECT) lists "a" when x >= 1, "b" when x >= 2, "c" when x >= 3; ``t``
    tests the list with ``downstream``."""
    flags = table(
        "flags", policy, ("x",), (output("flags", "string", ("a", "b", "c")),),
        [("F1", (anyof(">= 1", cmp(">=", 1)),), ("a",)),
         ("F2", (anyof(">= 2", cmp(">=", 2)),), ("b",)),
         ("F3", (anyof(">= 3", cmp(">=", 3)),), ("c",))],
    )
    t = table("t", "FIRST", ("flags",), (output("t", "string", None, "miss", True),),
              [("M", (downstream,), ("hit",))])
    return model_spec((InputSpec("x", "number", required=True),), flags, t)


LIST_CASES = [
    # (cell, x, hit): x=0 -> [], 1 -> [a], 2 -> [a, b], 3 -> [a, b, c]
    (anyof('"b"', eq("b")), 1, False),
    (anyof('"b"', eq("b")), 2, True),
    (anyof('"c", "b"', eq("c"), eq("b")), 2, True),
    (anyof('"c", "b"', eq("c"), eq("b")), 1, False),
    (anyof("b", eq("b")), 3, True),
    (noneof('not("b")', eq("b")), 1, True),
    (noneof('not("b")', eq("b")), 2, False),
    (noneof('not("b", "c")', eq("b"), eq("c")), 1, True),
    (noneof('not("a", "c")', eq("a"), eq("c")), 2, False),
    (anyof("null", NULL), 0, True),
    (anyof("null", NULL), 1, False),
    (anyof('null, "c"', NULL, eq("c")), 0, True),
    (anyof('null, "c"', NULL, eq("c")), 3, True),
    (anyof('null, "c"', NULL, eq("c")), 2, False),
    (noneof("not(null)", NULL), 0, False),
    (noneof("not(null)", NULL), 1, True),
    (ANY, 0, True),
    # the empty list contains neither value: not("b") holds (the list rule of the format)
    (noneof('not("b")', eq("b")), 0, True),
]


@pytest.mark.parametrize(("cell", "x", "hit"), LIST_CASES,
                         ids=[f"{c.raw}~{x}" for c, x, _ in LIST_CASES])
@pytest.mark.parametrize("policy", ["COLLECT", "RULE ORDER", "OUTPUT ORDER"])
def test_list_valued_chained_inputs(cell: Cell, x: int, hit: bool, policy: str) -> None:
    spec = list_model(cell, policy)
    expected_list = ["a", "b", "c"][:x]
    assert_case(spec, {"x": x}, {"flags": expected_list, "t": "hit" if hit else "miss"})


def test_list_valued_chained_input_with_default() -> None:
    """A COLLECT table with a default lists [default] when nothing matches."""
    flags = table("flags", "COLLECT", ("x",), (output("flags", "string", ("a", "z"), "z", True),),
                  [("F1", (anyof(">= 1", cmp(">=", 1)),), ("a",))])
    t = table("t", "FIRST", ("flags",), (output("t", "string", None, "miss", True),),
              [("M", (anyof('"z"', eq("z")),), ("hit",))])
    spec = model_spec((InputSpec("x", "number", required=True),), flags, t)
    assert_case(spec, {"x": 0}, {"flags": ["z"], "t": "hit"})
    assert_case(spec, {"x": 1}, {"flags": ["a"], "t": "miss"})


def priority_spec(policy: str) -> ModelSpec:
    """Two output columns: urgency (HIGH > LOW) decides first, then place (ED > GP)."""
    outs = (output("urgency", "string", ("HIGH", "LOW")),
            output("place", "string", ("ED", "GP")))
    every = anyof(">= 0", cmp(">=", 0))
    rules = [
        ("R1", (every,), ("LOW", "ED")),
        ("R2", (anyof(">= 1", cmp(">=", 1)),), ("HIGH", "GP")),
        ("R3", (anyof(">= 2", cmp(">=", 2)),), ("HIGH", "ED")),
        ("R4", (anyof(">= 3", cmp(">=", 3)),), ("LOW", "GP")),
        ("R5", (anyof(">= 4", cmp(">=", 4)),), ("HIGH", "ED")),
    ]
    return model_spec((InputSpec("x", "number", required=True),),
                      table("t", policy, ("x",), outs, rules))


def row(urgency: str, place: str) -> dict[str, str]:
    return {"urgency": urgency, "place": place}


@pytest.mark.parametrize(("x", "expected"), [
    (0, row("LOW", "ED")),
    (1, row("HIGH", "GP")),
    (2, row("HIGH", "ED")),  # urgency ties (HIGH), place decides
    (4, row("HIGH", "ED")),  # R3 and R5 tie completely: the earlier rule, same outputs
])
def test_priority_with_several_output_columns(x: int, expected: dict[str, str]) -> None:
    assert_case(priority_spec("PRIORITY"), {"x": x}, {"t": expected})


def test_priority_with_several_output_columns_sees_rule_ids() -> None:
    """Ties go to the earlier rule: R3 fires, not R5."""
    model = build(priority_spec("PRIORITY"))
    decision = model.evaluate({"x": 4})
    assert [f.rule_id for f in decision.fired if f.table == "t"] == ["R3"]


@pytest.mark.parametrize(("x", "expected"), [
    (0, [row("LOW", "ED")]),
    (2, [row("HIGH", "ED"), row("HIGH", "GP"), row("LOW", "ED")]),
    # ties keep rule order: R3 before R5 (same outputs), R1 before R4 (different places)
    (4, [row("HIGH", "ED"), row("HIGH", "ED"), row("HIGH", "GP"), row("LOW", "ED"),
         row("LOW", "GP")]),
])
def test_output_order_with_several_output_columns(x: int, expected: list[Any]) -> None:
    assert_case(priority_spec("OUTPUT ORDER"), {"x": x}, {"t": expected})


def test_output_order_ties_keep_rule_order() -> None:
    """Equal priorities stay in rule order; visible through the fired rules."""
    outs = (output("level", "string", ("HIGH", "LOW")),)
    every = ANY
    rules = [("A1", (every,), ("LOW",)), ("A2", (every,), ("HIGH",)),
             ("A3", (every,), ("LOW",)), ("A4", (every,), ("HIGH",))]
    spec = model_spec((InputSpec("x", "number", required=False),),
                      table("t", "OUTPUT ORDER", ("x",), outs, rules))
    assert_case(spec, {}, {"t": ["HIGH", "HIGH", "LOW", "LOW"]})
    model = build(spec)
    fired = [f.rule_id for f in model.evaluate({}).fired if f.table == "t"]
    assert fired == ["A2", "A4", "A1", "A3"]


@pytest.mark.parametrize("with_default", [False, True])
def test_collect_count_without_a_match(with_default: bool) -> None:
    """C# counts matches: 0 when nothing matches, whatever the default."""
    outs = (output("n", "string", ("a",), "a", with_default),)
    rules = [("R1", (anyof("> 5", cmp(">", 5)),), ("a",)),
             ("R2", (anyof("> 6", cmp(">", 6)),), ("a",))]
    spec = model_spec((InputSpec("x", "number", required=True),),
                      table("t", "COLLECT", ("x",), outs, rules, "COUNT", "C#"))
    assert_case(spec, {"x": 0}, {"t": 0})
    assert_case(spec, {"x": 5.5}, {"t": 1})
    assert_case(spec, {"x": 7}, {"t": 2})


@pytest.mark.parametrize(("x", "expected"), [
    (0, 10),     # no match: the default
    (1, 1.5),    # R1 only
    (2, 4),      # R1 + R2 (R3's empty cell is ignored)
    (3, 4),      # R3 matches but holds nothing
    (9, 3.5),    # + R4's -0.5
])
def test_collect_sum_with_a_default(x: int, expected: Any) -> None:
    outs = (output("total", "number", None, 10, True),)
    rules = [("R1", (anyof("[1..9]", rng(1, 9)),), (1.5,)),
             ("R2", (anyof("[2..9]", rng(2, 9)),), (2.5,)),
             ("R3", (anyof("[3..9]", rng(3, 9)),), (None,)),
             ("R4", (anyof("[9..9]", rng(9, 9)),), (-0.5,))]
    spec = model_spec((InputSpec("x", "number", required=True),),
                      table("t", "COLLECT", ("x",), outs, rules, "SUM", "C+"))
    assert_case(spec, {"x": x}, {"t": expected})


def test_collect_sum_of_only_empty_cells_is_null() -> None:
    """Rules matched, so the default (for "no match") does not apply; with their empty cells
    ignored nothing is left to add up, and the sum is null. (The format does not say this in
    so many words; DMN's FEEL gives sum([]) = null.)"""
    outs = (output("total", "number", None, 10, True),)
    rules = [("R1", (ANY,), (None,)), ("R2", (anyof("> 100", cmp(">", 100)),), (3,))]
    spec = model_spec((InputSpec("x", "number", required=True),),
                      table("t", "COLLECT", ("x",), outs, rules, "SUM", "C+"))
    assert_case(spec, {"x": 0}, {"t": None})
    assert_case(spec, {"x": 101}, {"t": 3})


@pytest.mark.parametrize(("aggregation", "x", "expected"), [
    ("MIN", 0, None), ("MIN", 2, -1), ("MAX", 2, 2.5), ("MAX", 1, 2.5), ("MIN", 1, 2.5),
])
def test_collect_min_max(aggregation: str, x: int, expected: Any) -> None:
    outs = (output("m", "number", None),)
    rules = [("R1", (anyof(">= 1", cmp(">=", 1)),), (2.5,)),
             ("R2", (anyof(">= 2", cmp(">=", 2)),), (-1,))]
    spec = model_spec((InputSpec("x", "number", required=True),),
                      table("t", "COLLECT", ("x",), outs, rules, aggregation))
    assert_case(spec, {"x": x}, {"t": expected})


def test_unique_violation_names_every_matching_rule() -> None:
    outs = (output("t", "string", ("A", "B")),)
    rules = [("U1", (anyof(">= 1", cmp(">=", 1)),), ("A",)),
             ("U2", (anyof("< 0", cmp("<", 0)),), ("B",)),
             ("U3", (anyof(">= 2", cmp(">=", 2)),), ("B",))]
    spec = model_spec((InputSpec("x", "number", required=True),),
                      table("t", "UNIQUE", ("x",), outs, rules))
    model = build(spec)
    assert model.evaluate({"x": 1}).outputs["t"] == "A"
    with pytest.raises(HitPolicyViolation) as caught:
        model.evaluate({"x": 2})
    assert caught.value.rule_ids == ("U1", "U3")
    assert evaluate_all(spec, {"x": 2}).violations == {"t": ("U1", "U3")}
    assert model.is_clean()


def test_any_agreement_and_disagreement() -> None:
    outs = (output("t", "string", ("A", "B")),)
    rules = [("A1", (anyof(">= 1", cmp(">=", 1)),), ("A",)),
             ("A2", (anyof(">= 2", cmp(">=", 2)),), ("A",)),
             ("A3", (anyof(">= 3", cmp(">=", 3)),), ("B",))]
    spec = model_spec((InputSpec("x", "number", required=True),),
                      table("t", "ANY", ("x",), outs, rules))
    assert_case(spec, {"x": 2}, {"t": "A"})
    model = build(spec)
    with pytest.raises(HitPolicyViolation) as caught:
        model.evaluate({"x": 3})
    assert caught.value.rule_ids == evaluate_all(spec, {"x": 3}).violations["t"]


@pytest.mark.parametrize("text", [
    "a<=b", "a\u2264b", "a\u2265b", "a\u2260b", "x\u2212y", "say \u201chi\u201d", "\u2033",
])
def test_text_in_quotes_is_taken_literally(text: str) -> None:
    """A quoted text is 'that text', even when it holds characters that Excel's autocorrect
    produces (the typographic symbols are accepted as operators and quotes, not inside text)."""
    comment = InputSpec("comment", "text", required=True)
    quoted = '"' + text.replace('"', '\\"') + '"'
    spec = one_column(anyof(quoted, eq(text)), comment)
    assert_case(spec, {"comment": text}, {"t": "hit"})
    assert_case(spec, {"comment": text + "!"}, {"t": "miss"})


def test_collect_count_output_read_downstream_is_a_number() -> None:
    """A C# table's result is a count whatever its output cells hold, so a table reading it
    compares numbers."""
    counter = table("n", "COLLECT", ("x",), (output("n", "string", ("flag",)),),
                    [("C1", (anyof(">= 1", cmp(">=", 1)),), ("flag",)),
                     ("C2", (anyof(">= 2", cmp(">=", 2)),), ("flag",))],
                    "COUNT", "C#")
    t = table("t", "FIRST", ("n",), (output("t", "string", None, "few", True),),
              [("M", (anyof(">= 2", cmp(">=", 2)),), ("many",))])
    spec = model_spec((InputSpec("x", "number", required=True),), counter, t)
    assert_case(spec, {"x": 1}, {"n": 1, "t": "few"})
    assert_case(spec, {"x": 2}, {"n": 2, "t": "many"})


@pytest.mark.parametrize(("facts", "bad"), [
    ({"x": "5"}, {"x"}),
    ({"x": True}, {"x"}),
    ({}, {"x"}),
    ({"x": None}, {"x"}),
    ({"x": 1, "y": 2}, {"y"}),
    ({"x": "a", "y": 2, "zz": None}, {"x", "y", "zz"}),
    ({"x": float("nan")}, {"x"}),
    ({"x": float("inf")}, {"x"}),
    ({"x": 1, "t": "hit"}, {"t"}),  # an output is not a fact
])
def test_fact_errors(facts: dict[str, Any], bad: set[str]) -> None:
    spec = one_column(anyof("-"), InputSpec("x", "number", required=True))
    assert bad_fact_fields(spec, facts) == bad
    model = build(spec)
    with pytest.raises(FactError) as caught:
        model.evaluate(facts)
    assert {p.field for p in caught.value.problems} == bad, str(caught.value)
    assert model.is_clean()
