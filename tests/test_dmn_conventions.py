"""DMN as other tools write it: Camunda-style models (variables instead of inputData, the
typeRefs integer, long and double, DMN 1.1 and ``*.dmn11.xml``), the valid constructs that
were once refused, requirement cycles, and the messages that must not mislead. Each test is
a small model that reproduces one finding of issue 17."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import engine
from engine.errors import FactError, WorkbookError
from engine.model import Kind
from engine.validation import CHECKS, validate
from engine.validation.formats import render
from tests.test_dmn import decision, definitions, input_data, problems_of, table, write

DMN11 = "http://www.omg.org/spec/DMN/20151101/dmn.xsd"


def _problems(tmp_path: Path, data: bytes) -> list[tuple[str, str]]:
    with pytest.raises(WorkbookError) as caught:
        engine.load(write(tmp_path, data))
    found = [(p.code, str(p)) for p in caught.value.problems]
    assert all(code in CHECKS for code, _ in found), found
    return found


# --- Camunda style -------------------------------------------------------------------------


def _dinner(ns: str = DMN11) -> bytes:
    """camunda-bpm-examples' dinner decisions, cut down: inputData without variables (they
    only document the diagram), input expressions that are variable names, a decision read
    through the name of its output clause, integer and boolean typeRefs."""
    dish = table(
        [("season", "string", None), ("guestCount", "integer", None)],
        [("desiredDish", "string", None, None)],
        [
            (['"Fall"', "<= 8"], ['"Spareribs"'], []),
            (['"Winter"', "<= 8"], ['"Roastbeef"'], []),
            (['"Fall","Winter","Spring"', "> 8"], ['"Stew"'], []),
            (['"Summer"', ""], ['"Light Salad"'], []),
        ],
        ident="dish",
    )
    beverages = table(
        [("desiredDish", "string", None), ("guestsWithChildren", "boolean", None)],
        [("beverages", "string", None, None)],
        [
            (['"Spareribs"', ""], ['"Rauchbier"'], []),
            (['"Stew"', ""], ['"Guiness"'], []),
            (["", "true"], ['"Apple Juice"'], []),
            (["", ""], ['"Water"'], []),
        ],
        hit_policy="COLLECT",
        ident="bev",
    )
    return definitions(
        '<inputData id="id_Season" name="Season"/>',
        '<inputData id="id_Guests" name="Number of Guests"/>',
        decision("Dish", dish, inputs=["Season", "Guests"]),
        decision("Beverages", beverages, decisions=["Dish"]),
        ns=ns,
    )


@pytest.mark.parametrize("name", ["dinner.dmn", "dinner.dmn11.xml"])
def test_a_camunda_style_model_loads_and_evaluates(tmp_path: Path, name: str) -> None:
    model = engine.load(write(tmp_path, _dinner(), name))
    assert [(i.name, i.kind) for i in model.inputs] == [
        ("season", Kind.TEXT),
        ("guestCount", Kind.INTEGER),
        ("guestsWithChildren", Kind.BOOLEAN),
    ]
    assert [c.name for c in model.table("Beverages").inputs] == ["Dish", "guestsWithChildren"]  # type: ignore[union-attr]
    outputs = model.evaluate({"season": "Fall", "guestCount": 12, "guestsWithChildren": True})
    assert dict(outputs.outputs) == {
        "Dish": "Stew",
        "Beverages": ["Guiness", "Apple Juice", "Water"],
    }
    assert model.evaluate({"season": "Winter", "guestCount": 4}).outputs["Beverages"] == ["Water"]
    with pytest.raises(FactError, match="guestCount"):
        model.evaluate({"season": "Winter", "guestCount": 4.5})  # integer: whole numbers only


@pytest.mark.parametrize(
    ("type_ref", "kind"),
    [("integer", Kind.INTEGER), ("long", Kind.INTEGER), ("double", Kind.NUMBER)],
)
def test_camunda_number_types(tmp_path: Path, type_ref: str, kind: Kind) -> None:
    logic = table(
        [("amount", type_ref, None)],
        [("result", "double", None, None)],
        [(["< 10"], ["0.5"], []), ([">= 10"], ["1.5"], [])],
    )
    model = engine.load(write(tmp_path, definitions(decision("D", logic))))
    (amount,) = model.inputs
    assert amount.kind is kind
    assert model.evaluate({"amount": 12}).outputs["D"] == 1.5


def test_a_variable_without_typeref_takes_the_type_its_entries_show(tmp_path: Path) -> None:
    logic = table(
        [("input", None, None)],
        [("result", "string", None, None)],
        [(['"single entry"'], ['"one"'], []), (['"other"'], ['"two"'], [])],
    )
    model = engine.load(write(tmp_path, definitions(decision("D", logic))))
    assert [(i.name, i.kind) for i in model.inputs] == [("input", Kind.TEXT)]
    assert model.evaluate({"input": "other"}).outputs["D"] == "two"


def test_a_variable_whose_type_cannot_be_told_is_refused(tmp_path: Path) -> None:
    logic = table(
        [("input", None, None)],
        [("result", "string", None, None)],
        [(["-"], ['"one"'], [])],
    )
    found = _problems(tmp_path, definitions(decision("D", logic)))
    assert found == [
        (
            "TV117",
            "input 'input', read by decision 'D', input 'input': the input has no type, and its "
            "entries do not show one — give the input expression a typeRef of number, string "
            "or boolean",
        )
    ]


def test_a_decision_without_a_name_is_known_by_its_id(tmp_path: Path) -> None:
    logic = table([("x", "integer", None)], [("r", "integer", None, None)], [(["-"], ["1"], [])])
    data = definitions(decision("D", logic)).replace(b' name="D"', b"")  # and its variable's
    model = engine.load(write(tmp_path, data))
    assert model.evaluate({"x": 1}).outputs == {"id_D": 1}


# --- the valid constructs once refused -------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "matching", "other"),
    [
        ("= 5", 5, 6),  # DMN 1.5
        ("= null", None, 5),
        ("? > 5", 6, 5),  # a test on the input value
        ("? = 5", 5, 4),
        ("[5, 7]", 7, 6),  # a list: the input is one of its items
        ("not(= 5)", 6, 5),
        (">= 5, = 1", 1, 2),
    ],
)
def test_dmn_unary_tests_beyond_the_workbook_syntax(
    tmp_path: Path, entry: str, matching: Any, other: Any
) -> None:
    logic = table(
        [("x", "number", None)],
        [(None, "string", None, None)],
        [([entry], ['"hit"'], [])],
        hit_policy="FIRST",
    )
    model = engine.load(write(tmp_path, definitions(input_data("x"), decision("D", logic, ["x"]))))
    assert model.evaluate({"x": matching}).outputs["D"] == "hit"
    assert model.evaluate({"x": other}).outputs["D"] is None


def test_an_empty_default_output_entry_states_no_default(tmp_path: Path) -> None:
    logic = table(
        [("x", "number", None)], [(None, "string", None, None)], [(["> 1"], ['"a"'], [])]
    ).replace("</output>", "<defaultOutputEntry><text/></defaultOutputEntry></output>")
    model = engine.load(write(tmp_path, definitions(input_data("x"), decision("D", logic, ["x"]))))
    assert not model.tables[0].outputs[0].has_default
    assert model.evaluate({"x": 0}).outputs["D"] is None


def _chained(values: str, upstream_values: str | None) -> bytes:
    first = table(
        [("x", "number", None)],
        [(None, "string", upstream_values, None)],
        [(["> 1"], ['"big"'], []), (["<= 1"], ['"small"'], [])],
        ident="dt1",
    )
    second = table(
        [("First", "string", values)],
        [(None, "boolean", None, None)],
        [(['"big"'], ["true"], []), (['"small"'], ["false"], [])],
        ident="dt2",
    )
    return definitions(
        input_data("x"), decision("First", first, ["x"]), decision("Second", second, [], ["First"])
    )


def test_input_values_on_a_column_reading_a_decision_without_output_values(
    tmp_path: Path,
) -> None:
    model = engine.load(write(tmp_path, _chained('"big", "small"', None)))
    assert model.evaluate({"x": 5}).outputs == {"First": "big", "Second": True}


def test_input_values_must_take_every_output_value_of_the_decision_read(tmp_path: Path) -> None:
    found = _problems(tmp_path, _chained('"big"', '"big", "small"'))
    assert [code for code, _ in found] == ["TV401"]
    assert "the inputValues leave out \"small\", which decision 'First' may give" in found[0][1]


@pytest.mark.parametrize(
    ("values", "allowed"),
    [('"a","b",null', ("a", "b")), ('"a", null, "b"', ("a", "b"))],
)
def test_null_in_a_list_of_allowed_values(
    tmp_path: Path, values: str, allowed: tuple[str, ...]
) -> None:
    logic = table(
        [("c", "string", values)], [(None, "string", None, None)], [(['"a"'], ['"x"'], [])]
    )
    model = engine.load(
        write(tmp_path, definitions(input_data("c", "string"), decision("D", logic, ["c"])))
    )
    assert model.inputs[0].allowed_values == allowed
    assert model.evaluate({"c": None}).outputs["D"] is None


def test_null_in_an_allowed_range(tmp_path: Path) -> None:
    items = (
        '<itemDefinition name="tPositive"><typeRef>number</typeRef>'
        "<allowedValues><text>&gt;0, null</text></allowedValues></itemDefinition>"
    )
    logic = table([("x", "number", None)], [(None, "number", None, None)], [(["-"], ["1"], [])])
    model = engine.load(
        write(
            tmp_path, definitions(items, input_data("x", "tPositive"), decision("D", logic, ["x"]))
        )
    )
    assert str(model.inputs[0].value_range) == "> 0"
    with pytest.raises(FactError):
        model.evaluate({"x": -1})


def test_an_output_range_checks_the_outputs(tmp_path: Path) -> None:
    logic = table(
        [("x", "number", None)],
        [(None, "number", "[0..100]", None)],
        [(["> 1"], ["50"], []), (["<= 1"], ["150"], [])],
    )
    found = _problems(tmp_path, definitions(input_data("x"), decision("D", logic, ["x"])))
    assert found == [
        (
            "TV205",
            "decision 'D', rule 'dt_r2' (#2), output 'D': 150 is outside the output's range "
            "[0..100] — write a number in [0..100], or widen the outputValues (or the type's "
            "allowedValues)",
        )
    ]


# --- information requirements --------------------------------------------------------------


def test_a_cycle_of_requirements_is_refused_naming_it(tmp_path: Path) -> None:
    simple = table([("x", "number", None)], [(None, "number", None, None)], [(["-"], ["1"], [])])
    data = definitions(
        input_data("x"),
        decision("A", simple.replace('id="dt', 'id="a'), ["x"], ["C"]),
        decision("B", simple.replace('id="dt', 'id="b'), ["x"], ["A"]),
        decision("C", simple.replace('id="dt', 'id="c'), ["x"], ["B"]),
        decision("Self", simple.replace('id="dt', 'id="s'), ["x"], ["Self"]),
    )
    found = _problems(tmp_path, data)
    assert found == [
        (
            "TV402",
            "decision 'A': the information requirements form a cycle: 'A' -> 'C' -> 'B' -> "
            "'A'; no decision of the cycle can be evaluated first — remove one "
            "requiredDecision of the cycle",
        ),
        (
            "TV402",
            "decision 'Self': decision 'Self' requires itself; no decision of the cycle can be "
            "evaluated first — remove one requiredDecision of the cycle",
        ),
    ]
    report = validate(write(tmp_path, data))
    assert report.exit_code() == 1
    assert [f.code for f in report.findings if f.code == "TV402"] == ["TV402", "TV402"]


def test_a_long_chain_of_requirements_is_read_without_recursion(tmp_path: Path) -> None:
    simple = table([("x", "number", None)], [(None, "number", None, None)], [(["-"], ["1"], [])])
    chain = [decision("D0", simple.replace('id="dt', 'id="t0'), ["x"])]
    chain += [
        decision(f"D{n}", simple.replace('id="dt', f'id="t{n}'), ["x"], [f"D{n - 1}"])
        for n in range(1, 3000)
    ]
    chain[0] = chain[0].replace(
        "<decisionTable",
        '<informationRequirement><requiredDecision href="#id_D2999"/>'
        "</informationRequirement><decisionTable",
    )
    found = problems_of(tmp_path, definitions(input_data("x"), *chain))
    assert len(found) == 1 and "'D0' -> 'D2999' -> 'D2998'" in found[0]


# --- messages --------------------------------------------------------------------------------


def test_an_unsupported_type_is_not_reported_as_no_type(tmp_path: Path) -> None:
    logic = table([("d", "date", None)], [(None, "string", None, None)], [(["-"], ['"a"'], [])])
    found = _problems(tmp_path, definitions(input_data("d", "date"), decision("D", logic, ["d"])))
    assert [code for code, _ in found] == ["TV117", "TV117"]
    assert not any("no type" in text for _, text in found)
    assert "the type 'date' (a FEEL date) is not supported" in found[0][1]


def test_a_wrong_typeref_is_named_in_the_fix(tmp_path: Path) -> None:
    """Camunda's modeler wrote typeRef="string" by default; on numbers the typeRef is what
    is wrong, and the fix says so."""
    logic = table(
        [("age", "string", None)], [("days", "string", None, None)], [(["> 60"], ["22"], [])]
    )
    found = _problems(tmp_path, definitions(decision("D", logic)))
    assert [code for code, _ in found] == ["TV202", "TV202"]
    assert all("correct the typeRef 'string'" in text for _, text in found), found


def test_a_dmn11_xml_file_is_read_as_dmn(tmp_path: Path) -> None:
    path = write(tmp_path, b"<definitions/>", "broken.dmn11.xml")
    report = validate(path)
    assert report.exit_code() == 2
    assert "this is not a DMN model" in report.findings[0].message
    assert "Excel" not in report.findings[0].message + report.findings[0].fix


def test_an_unresolved_expression_does_not_cascade(tmp_path: Path) -> None:
    first = table(
        [("x", "number", None)],
        [("A", "number", None, None), (None, "number", None, None)],
        [(["-"], ["1", "2"], [])],
        ident="dt1",
    )
    second = table(
        [("", None, None)], [(None, "number", None, None)], [(["1"], ["1"], [])], ident="dt2"
    )
    data = definitions(
        input_data("x"), decision("First", first, ["x"]), decision("Second", second, ["x"])
    )
    found = _problems(tmp_path, data)
    assert sorted(code for code, _ in found) == ["TV106", "TV127"], found


# --- advice to delete a rule: only where deleting it changes no result ----------------------


def _holidays(policy: str, aggregation: str | None = None) -> bytes:
    """The issue's example: extra holiday days by age; the age-65 rule is covered by the
    age-60 one with the same output, and under COLLECT SUM both count."""
    logic = table(
        [("Age", "number", None)],
        [(None, "number", None, None)],
        [(["-"], ["22"], []), ([">= 60"], ["5"], []), ([">= 65"], ["5"], [])],
        hit_policy=policy,
        aggregation=aggregation,
    )
    return definitions(input_data("Age"), decision("Holidays", logic, ["Age"]))


@pytest.mark.parametrize(
    ("policy", "aggregation", "advised", "at_65"),
    [
        ("COLLECT", "SUM", False, 32),
        ("COLLECT", "COUNT", False, 3),
        ("COLLECT", None, False, [22, 5, 5]),
        ("RULE ORDER", None, False, [22, 5, 5]),
        ("OUTPUT ORDER", None, False, [22, 5, 5]),
        ("COLLECT", "MAX", True, 22),
        ("COLLECT", "MIN", True, 5),
        ("PRIORITY", None, True, 22),
        ("ANY", None, None, None),  # rules 1 and 2 disagree: an ANY violation, not this check
    ],
)
def test_a_covered_rule_is_called_deletable_only_where_deleting_changes_nothing(
    tmp_path: Path, policy: str, aggregation: str | None, advised: bool | None, at_65: Any
) -> None:
    path = write(tmp_path, _holidays(policy, aggregation))
    report = validate(path, vignettes=False)
    covered = [f for f in report.findings if f.code == "TV305"]
    if advised is None:
        return
    assert bool(covered) is advised, report.findings
    assert engine.load(path).evaluate({"Age": 65}).outputs["Holidays"] == at_65
    if covered:
        assert covered[0].rules == ("dt_r3", "dt_r2")


def test_tck_0113_repeated_output_is_not_called_deletable(tmp_path: Path) -> None:
    """TCK 0113 test 002 expects ["Approved", "Approved"] at age 19: rule 1 (>= 18) is
    covered by rule 3 (>= 0) with the same output, and deleting it would drop one."""
    logic = table(
        [("Age", "number", None)],
        [(None, "string", '"Approved","Declined"', None)],
        [
            ([">=18"], ['"Approved"'], []),
            (["<18"], ['"Declined"'], []),
            ([">=0"], ['"Approved"'], []),
        ],
        hit_policy="OUTPUT ORDER",
    )
    path = write(
        tmp_path, definitions(input_data("Age"), decision("Approval Status", logic, ["Age"]))
    )
    assert engine.load(path).evaluate({"Age": 19}).outputs["Approval Status"] == [
        "Approved",
        "Approved",
    ]
    codes = {f.code for f in validate(path, vignettes=False).findings}
    assert not codes & {"TV304", "TV305"}


def test_duplicates_that_count_are_described_not_deleted(tmp_path: Path) -> None:
    logic = table(
        [("Age", "number", None)],
        [(None, "number", None, None)],
        [([">= 60"], ["5"], []), ([">= 60"], ["5"], [])],
        hit_policy="COLLECT",
        aggregation="SUM",
    )
    path = write(tmp_path, definitions(input_data("Age"), decision("Holidays", logic, ["Age"])))
    (duplicate,) = [f for f in validate(path, vignettes=False).findings if f.code == "TV304"]
    assert "gets that output 2 times in the COLLECT SUM" in duplicate.message
    assert "delete" not in duplicate.fix


X_ENTRIES = ["-", "< 3", ">= 3", "[2..5]", "> 6", "1", "not(4)", "null"]
Y_ENTRIES = ["-", '"a"', '"b","c"', 'not("a")']
POLICIES = [
    ("UNIQUE", None),
    ("ANY", None),
    ("PRIORITY", None),
    ("FIRST", None),
    ("COLLECT", None),
    ("COLLECT", "SUM"),
    ("COLLECT", "MIN"),
    ("COLLECT", "MAX"),
    ("COLLECT", "COUNT"),
    ("RULE ORDER", None),
    ("OUTPUT ORDER", None),
]
GRID = [{"x": x, "y": y} for x in [None, *range(10)] for y in [None, "a", "b", "c"]]


def _model(policy: tuple[str, str | None], rules: list[tuple[str, str, str]]) -> bytes:
    logic = table(
        [("x", "number", None), ("y", "string", '"a","b","c"')],
        [(None, "number", "3, 1, 2", None)],
        [([x, y], [out], []) for x, y, out in rules],
        hit_policy=policy[0],
        aggregation=policy[1],
    )
    return definitions(input_data("x"), input_data("y", "string"), decision("D", logic, ["x", "y"]))


def _results(path: Path) -> list[Any]:
    model = engine.load(path)
    found = []
    for facts in GRID:
        try:
            found.append(model.evaluate(facts).outputs["D"])
        except engine.HitPolicyViolation:
            found.append("violation")
    return found


@example(policy=("PRIORITY", None), rules=[("-", "-", "1"), ("-", "-", "3")])  # 3 wins
@example(policy=("COLLECT", "SUM"), rules=[(">= 3", "-", "1"), ("> 6", "-", "1")])
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    policy=st.sampled_from(POLICIES),
    rules=st.lists(
        st.tuples(st.sampled_from(X_ENTRIES), st.sampled_from(Y_ENTRIES), st.sampled_from("123")),
        min_size=2,
        max_size=5,
    ),
)
def test_every_advice_to_delete_a_rule_changes_no_result(
    tmp_path: Path, policy: tuple[str, str | None], rules: list[tuple[str, str, str]]
) -> None:
    """Brute force over every case of the inputs: wherever the validator says a rule can be
    deleted (a duplicate, a covered rule, a masked rule), deleting it gives the same result
    for every case, under every hit policy."""
    path = write(tmp_path, _model(policy, rules))
    before = _results(path)
    for f in validate(path, vignettes=False).findings:
        if not f.fix.startswith("delete"):
            continue
        doomed = set(f.rules[1:] if f.code == "TV304" else f.rules[:1])
        kept = [r for n, r in enumerate(rules) if f"dt_r{n + 1}" not in doomed]
        after = _results(write(tmp_path, _model(policy, kept), "after.dmn"))
        assert after == before, (f, policy, rules)


WORKBOOK_WORDS = re.compile(r"(?i)\b(sheets?|rows?|workbook|cells?|excel|vignettes?)\b")


def test_validating_a_dmn_model_never_speaks_of_sheets_or_rows(tmp_path: Path) -> None:
    """Every finding the analysis makes on a DMN model is told in DMN terms: a gap (TV303),
    a PRIORITY output without values (TV308), free text (TV603), a test outside the allowed
    range (TV204), an unused input (TV403), no test cases (TV504)."""
    items = (
        '<itemDefinition name="tAge"><typeRef>number</typeRef>'
        "<allowedValues><text>[0..120]</text></allowedValues></itemDefinition>"
    )
    logic = table(
        [("Age", "number", None), ("Note", "string", None)],
        [(None, "string", None, None)],
        [(["< 18", '"x"'], ['"child"'], []), (["> 130", "-"], ['"old"'], [])],
        hit_policy="PRIORITY",
    )
    data = definitions(
        items,
        input_data("Age", "tAge"),
        input_data("Note", "string"),
        input_data("Unused", "string"),
        decision("Band", logic, ["Age", "Note"]),
    )
    path = write(tmp_path, data)
    report = validate(path)
    codes = {f.code for f in report.findings}
    assert {"TV303", "TV308", "TV603", "TV204", "TV403", "TV504"} <= codes, codes
    for fmt in ("text", "junit"):  # JSON keys such as "sheet" are the format's, not words
        shown = render(report, fmt)
        assert not WORKBOOK_WORDS.search(shown.replace(str(path), "")), (fmt, shown)
    for f in report.findings:
        assert not WORKBOOK_WORDS.search(f"{f.where} {f.message} {f.fix}"), f
    gap = next(f for f in report.findings if f.code == "TV303")
    assert gap.fix.endswith("or give the output clause a defaultOutputEntry")
    assert gap.where == "Band, output 'Band'"


def test_a_name_with_spaces_that_names_nothing_is_not_called_an_expression(
    tmp_path: Path,
) -> None:
    logic = table(
        [("Promo Code", "string", None)], [(None, "string", None, None)], [(["-"], ['"a"'], [])]
    )
    found = _problems(
        tmp_path,
        definitions(
            input_data("Promotion Code", "string"), decision("D", logic, ["Promotion Code"])
        ),
    )
    assert found == [
        (
            "TV108",
            "decision 'D', input 'Promo Code': the input expression 'Promo Code' names no "
            "inputData or decision of the model — write the name of an inputData or required "
            "decision — did you mean 'Promotion Code'?",
        )
    ]
