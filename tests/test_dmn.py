"""DMN files: loading them into the workbook model, refusing what cannot be compiled, and
converting between workbooks and DMN (``triage convert``)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

import engine
from engine.cli import main
from engine.conditions import parse_condition
from engine.convert import (
    DMN13_NAMESPACE,
    feel_condition,
    feel_literal,
    model_to_dmn,
    model_to_sheets,
)
from engine.dmn import DmnLocation, list_test_text, read_dmn, snake_case
from engine.errors import FactError, HitPolicyViolation, UnreadableFile, WorkbookError
from engine.model import Aggregation, HitPolicy, Kind, Model
from engine.validation import CHECKS, validate
from engine.workbook import read_workbook
from tests.test_tck import TckTest, read_test_file, run

ROOT = Path(__file__).resolve().parents[1]
WORKBOOK = ROOT / "decision_tables" / "muscle_twitching.xlsx"
NAMESPACES = {
    "1.2": "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "1.3": "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "1.4": "https://www.omg.org/spec/DMN/20211108/MODEL/",
    "1.5": "https://www.omg.org/spec/DMN/20230324/MODEL/",
}
DMN15 = NAMESPACES["1.5"]


# --- writing small DMN files ---------------------------------------------------------------


def _id(name: str) -> str:
    return "id_" + re.sub(r"\W", "_", name)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def input_data(name: str, type_ref: str = "number") -> str:
    return (
        f'<inputData id="{_id(name)}" name="{name}">'
        f'<variable name="{name}" typeRef="{type_ref}"/></inputData>'
    )


def decision(
    name: str,
    logic: str,
    inputs: Sequence[str] = (),
    decisions: Sequence[str] = (),
    type_ref: str | None = None,
) -> str:
    requirements = "".join(
        f'<informationRequirement><requiredInput href="#{_id(i)}"/></informationRequirement>'
        for i in inputs
    ) + "".join(
        f'<informationRequirement><requiredDecision href="#{_id(d)}"/></informationRequirement>'
        for d in decisions
    )
    type_attr = f' typeRef="{type_ref}"' if type_ref else ""
    return (
        f'<decision id="{_id(name)}" name="{name}"><variable name="{name}"{type_attr}/>'
        f"{requirements}{logic}</decision>"
    )


def table(
    columns: Sequence[tuple[str, str | None, str | None]],
    outputs: Sequence[tuple[str | None, str | None, str | None, str | None]],
    rules: Sequence[tuple[Sequence[str], Sequence[str], Sequence[str]]],
    hit_policy: str = "UNIQUE",
    aggregation: str | None = None,
    annotations: Sequence[str] = (),
    ident: str = "dt",
) -> str:
    """``columns``: (expression, typeRef, inputValues); ``outputs``: (name, typeRef,
    outputValues, default); ``rules``: (input entries, output entries, annotation entries)."""
    parts = [f'<decisionTable id="{ident}" hitPolicy="{hit_policy}"']
    if aggregation:
        parts.append(f' aggregation="{aggregation}"')
    parts.append(">")
    for n, (expression, type_ref, values) in enumerate(columns):
        type_attr = f' typeRef="{type_ref}"' if type_ref else ""
        parts.append(
            f'<input id="{ident}_in{n}"><inputExpression{type_attr}>'
            f"<text>{_esc(expression)}</text></inputExpression>"
        )
        if values:
            parts.append(f"<inputValues><text>{_esc(values)}</text></inputValues>")
        parts.append("</input>")
    for n, (name, type_ref, values, default) in enumerate(outputs):
        attrs = (f' name="{name}"' if name else "") + (f' typeRef="{type_ref}"' if type_ref else "")
        parts.append(f'<output id="{ident}_out{n}"{attrs}>')
        if values:
            parts.append(f"<outputValues><text>{_esc(values)}</text></outputValues>")
        if default:
            parts.append(f"<defaultOutputEntry><text>{_esc(default)}</text></defaultOutputEntry>")
        parts.append("</output>")
    parts.extend(f'<annotation name="{a}"/>' for a in annotations)
    for r, (ins, outs, notes) in enumerate(rules):
        parts.append(f'<rule id="{ident}_r{r + 1}">')
        parts.extend(
            f'<inputEntry id="{ident}_r{r + 1}_i{n}"><text>{_esc(t)}</text></inputEntry>'
            for n, t in enumerate(ins)
        )
        parts.extend(f"<outputEntry><text>{_esc(t)}</text></outputEntry>" for t in outs)
        parts.extend(f"<annotationEntry><text>{_esc(t)}</text></annotationEntry>" for t in notes)
        parts.append("</rule>")
    parts.append("</decisionTable>")
    return "".join(parts)


def definitions(*body: str, ns: str = DMN15, name: str = "Test model") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="{ns}" id="defs" '
        f'name="{name}" namespace="urn:test">{"".join(body)}</definitions>'
    ).encode()


def write(tmp_path: Path, data: bytes, name: str = "model.dmn") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def problems_of(tmp_path: Path, data: bytes) -> list[str]:
    with pytest.raises(WorkbookError) as caught:
        engine.load(write(tmp_path, data))
    assert not isinstance(caught.value, UnreadableFile), caught.value
    return [str(p) for p in caught.value.problems]


def chained_model(ns: str = DMN15) -> bytes:
    """Two chained decisions with spaces and capitals in their names."""
    risk = table(
        [("Age", "number", None), ("Risk Category", "string", '"High", "Low", "Medium"')],
        [(None, None, '"High risk", "Normal"', '"Normal"')],
        [
            ([">= 65", "-"], ['"High risk"'], ["R-old", "Guideline 1.1", "older people"]),
            (["-", '"High"'], ['"High risk"'], ["R-high", "Guideline 1.2", ""]),
        ],
        hit_policy="PRIORITY",
        annotations=("Rule id", "Citation", "Note"),
        ident="dt_risk",
    )
    approval = table(
        [("Risk", None, None), ("Is Affordable", "boolean", None)],
        [("Status", "string", '"Approved", "Declined"', None), ("Rate", "number", None, None)],
        [
            (['"Normal"', "true"], ['"Approved"', "1.5"], ["Policy A"]),
            (['"High risk"', "-"], ['"Declined"', "null"], ["Policy B"]),
            (["-", "false"], ['"Declined"', "null"], ["Policy C"]),
        ],
        hit_policy="FIRST",
        annotations=("Citation",),
        ident="dt_approval",
    )
    return definitions(
        input_data("Age"),
        input_data("Risk Category", "string"),
        input_data("Is Affordable", "feel:boolean"),
        decision("Risk", risk, inputs=["Age", "Risk Category"], type_ref="string"),
        decision("Approval", approval, inputs=["Is Affordable"], decisions=["Risk"]),
        ns=ns,
    )


# --- loading -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", sorted(NAMESPACES))
def test_a_dmn_file_loads_into_the_workbook_model(tmp_path: Path, version: str) -> None:
    data = chained_model(NAMESPACES[version])
    model = engine.load(write(tmp_path, data))
    assert model.version == hashlib.sha256(data).hexdigest()[:16]
    assert [t.name for t in model.tables] == ["Risk", "Approval"]
    assert [(i.name, i.kind, i.allowed_values, i.required) for i in model.inputs] == [
        ("Age", Kind.NUMBER, (), False),
        ("Risk Category", Kind.ENUM, ("High", "Low", "Medium"), False),
        ("Is Affordable", Kind.BOOLEAN, (), False),
    ]
    risk, approval = model.tables
    assert risk.hit_policy is HitPolicy.PRIORITY and approval.hit_policy is HitPolicy.FIRST
    (out,) = risk.outputs
    assert (out.name, out.kind, out.allowed_values, out.default) == (
        "Risk",
        Kind.ENUM,
        ("High risk", "Normal"),
        "Normal",
    )
    assert [c.name for c in approval.inputs] == ["Risk", "Is Affordable"]
    assert [(o.name, o.kind) for o in approval.outputs] == [
        ("Status", Kind.ENUM),
        ("Rate", Kind.NUMBER),
    ]
    assert [(r.rule_id, r.citation, r.note) for r in risk.rules] == [
        ("R-old", "Guideline 1.1", "older people"),
        ("R-high", "Guideline 1.2", ""),
    ]
    assert [r.rule_id for r in approval.rules] == [
        "dt_approval_r1",
        "dt_approval_r2",
        "dt_approval_r3",
    ]


def test_results_are_keyed_by_decision_name(tmp_path: Path) -> None:
    model = engine.load(write(tmp_path, chained_model()))
    decision = model.evaluate({"Age": 70, "Risk Category": "Low", "Is Affordable": True})
    assert dict(decision.outputs) == {
        "Risk": "High risk",
        "Approval": {"Status": "Declined", "Rate": None},
    }
    assert [(f.table, f.rule_id, f.citation, f.row) for f in decision.fired] == [
        ("Risk", "R-old", "Guideline 1.1", 1),
        ("Approval", "dt_approval_r2", "Policy B", 2),
    ]
    decision = model.evaluate({"Age": 30, "Risk Category": "Low", "Is Affordable": True})
    assert decision.outputs["Risk"] == "Normal"  # the default output entry
    assert decision.outputs["Approval"] == {"Status": "Approved", "Rate": 1.5}
    with pytest.raises(FactError):
        model.evaluate({"Age": 30, "Risk Category": "Unknown"})  # not in inputValues


def test_a_component_of_a_multi_output_decision_can_be_read(tmp_path: Path) -> None:
    first = table(
        [("x", "number", None)],
        [("Grade", "string", '"a", "b"', None), ("Score", "number", None, None)],
        [(["> 5"], ['"a"', "10"], []), (["<= 5"], ['"b"', "1"], [])],
        ident="dt1",
    )
    second = table(
        [("First.Score", "number", None)],
        [(None, "boolean", None, None)],
        [([">= 10"], ["true"], []), (["< 10"], ["false"], [])],
        ident="dt2",
    )
    data = definitions(
        input_data("x"),
        decision("First", first, inputs=["x"]),
        decision("Second", second, decisions=["First"], type_ref="boolean"),
    )
    model = engine.load(write(tmp_path, data))
    assert model.evaluate({"x": 7}).outputs["Second"] is True
    assert model.evaluate({"x": 2}).outputs["Second"] is False


def test_a_multi_hit_result_is_tested_with_list_contains(tmp_path: Path) -> None:
    flags = table(
        [("x", "number", None)],
        [(None, "string", '"big", "odd"', None)],
        [(["> 5"], ['"big"'], []), (["3, 7, 9"], ['"odd"'], [])],
        hit_policy="COLLECT",
        ident="dt1",
    )
    verdict = table(
        [("Flags", None, None)],
        [(None, "string", None, None)],
        [
            (['list contains(?, "big") or list contains(?, "odd")'], ['"look"'], []),
            (["count(?) = 0"], ['"nothing"'], []),
        ],
        ident="dt2",
    )
    data = definitions(
        input_data("x"),
        decision("Flags", flags, inputs=["x"]),
        decision("Verdict", verdict, decisions=["Flags"]),
    )
    model = engine.load(write(tmp_path, data))
    assert dict(model.evaluate({"x": 7}).outputs) == {"Flags": ["big", "odd"], "Verdict": "look"}
    assert dict(model.evaluate({"x": 1}).outputs) == {"Flags": [], "Verdict": "nothing"}
    # A plain test on a list means equality with the list in FEEL: refused, not reinterpreted.
    plain = data.replace(b"list contains(?, &quot;big&quot;)", b"&quot;big&quot;").replace(
        b'list contains(?, "big") or list contains(?, "odd")', b'"big", "odd"'
    )
    (problem,) = problems_of(tmp_path, plain)
    assert "cannot test the list that 'Flags' holds" in problem
    assert "decision 'Verdict', rule 'dt2_r1' (#1), input 'Flags'" in problem


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('list contains(?, "a")', '"a"'),
        ('list contains(?, "a") or list contains(?, "b")', '"a", "b"'),
        ('list contains(?, "a"), list contains(?, 2)', '"a", 2'),
        ('not(list contains(?, "a"))', 'not("a")'),
        ("count(?) = 0", "null"),
        ("? = []", "null"),
        ('not(count(?) = 0 or list contains(?, "a"))', 'not(null, "a")'),
        ("-", "-"),
        ('"a"', None),
        ("list contains(?, x)", None),
        ('list contains(?, "a") and list contains(?, "b")', None),
    ],
)
def test_list_tests_read_as_workbook_cells(text: str, cell: str | None) -> None:
    assert list_test_text(text) == cell


@pytest.mark.parametrize(
    ("policy", "aggregation", "x", "expected"),
    [
        ("UNIQUE", None, 1, "one"),
        ("ANY", None, 9, "many"),
        ("PRIORITY", None, 5, "many"),
        ("FIRST", None, 5, "few"),
        ("COLLECT", None, 5, ["few", "many"]),
        ("RULE ORDER", None, 5, ["few", "many"]),
        ("OUTPUT ORDER", None, 5, ["many", "few"]),
    ],
)
def test_every_hit_policy(
    tmp_path: Path, policy: str, aggregation: str | None, x: int, expected: Any
) -> None:
    logic = table(
        [("x", "number", None)],
        [(None, "string", '"many", "few", "one"', None)],
        [(["1"], ['"one"'], []), (["[2..5]"], ['"few"'], []), ([">= 5"], ['"many"'], [])],
        hit_policy=policy,
    )
    model = engine.load(write(tmp_path, definitions(input_data("x"), decision("D", logic, ["x"]))))
    assert model.evaluate({"x": x}).outputs["D"] == expected


@pytest.mark.parametrize(
    ("aggregation", "expected_5", "expected_0"),
    [("SUM", 30, None), ("MIN", 10, None), ("MAX", 20, None), ("COUNT", 2, 0)],
)
def test_every_aggregation(
    tmp_path: Path, aggregation: str, expected_5: int, expected_0: int | None
) -> None:
    logic = table(
        [("x", "number", None)],
        [(None, "number", None, None)],
        [([">= 5"], ["10"], []), (["[1..5]"], ["20"], [])],
        hit_policy="COLLECT",
        aggregation=aggregation,
    )
    model = engine.load(write(tmp_path, definitions(input_data("x"), decision("D", logic, ["x"]))))
    assert model.table("D").aggregation is Aggregation(aggregation)  # type: ignore[union-attr]
    assert model.evaluate({"x": 5}).outputs["D"] == expected_5
    assert model.evaluate({"x": 0}).outputs["D"] == expected_0


def test_a_unique_violation_is_an_error(tmp_path: Path) -> None:
    logic = table(
        [("x", "number", None)],
        [(None, "string", None, None)],
        [([">= 1"], ['"a"'], []), ([">= 2"], ['"b"'], [])],
    )
    model = engine.load(write(tmp_path, definitions(input_data("x"), decision("D", logic, ["x"]))))
    with pytest.raises(HitPolicyViolation, match="dt_r1, dt_r2"):
        model.evaluate({"x": 3})


def test_item_definitions_give_types_and_allowed_values(tmp_path: Path) -> None:
    items = (
        '<itemDefinition name="tAge"><typeRef>number</typeRef>'
        "<allowedValues><text>[0..120]</text></allowedValues></itemDefinition>"
        '<itemDefinition name="tColour"><typeRef>string</typeRef>'
        '<allowedValues><text>"red", "green"</text></allowedValues></itemDefinition>'
    )
    logic = table(
        [("Age", "number", None), ("Colour", "string", None)],
        [(None, "boolean", None, None)],
        [(["> 60", '"red"'], ["true"], [])],
    )
    data = definitions(
        items,
        input_data("Age", "tAge"),
        input_data("Colour", "tColour"),
        decision("Old and red", logic, ["Age", "Colour"]),
    )
    model = engine.load(write(tmp_path, data))
    age, colour = model.inputs
    assert str(age.value_range) == "[0..120]"
    assert (colour.kind, colour.allowed_values) == (Kind.ENUM, ("red", "green"))
    assert model.evaluate({"Age": 61, "Colour": "red"}).outputs["Old and red"] is True
    with pytest.raises(FactError, match="outside the allowed range"):
        model.evaluate({"Age": 130, "Colour": "red"})


PRIORITY_BY_TYPE = (
    '<itemDefinition name="tStatus"><typeRef>string</typeRef>'
    '<allowedValues><text>"Approved","Declined","Referred"</text></allowedValues>'
    "</itemDefinition>"
)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("PRIORITY", "Declined"), ("OUTPUT ORDER", ["Declined", "Referred"])],
)
def test_the_priority_order_comes_from_the_output_type_without_output_values(
    tmp_path: Path, policy: str, expected: Any
) -> None:
    """kie-dmn's priority_table.dmn, cut down: the output clause lists no outputValues, the
    decision's type does, and its order ranks "Declined" above "Referred" (not row order)."""
    logic = table(
        [("Affordable", "boolean", None), ("Risk", "string", None)],
        [(None, None, None, None)],
        [
            (["true", '"Low"'], ['"Approved"'], []),
            (["-", '"Medium"'], ['"Referred"'], []),
            (["false", "-"], ['"Declined"'], []),
        ],
        hit_policy=policy,
    )
    data = definitions(
        PRIORITY_BY_TYPE,
        input_data("Affordable", "boolean"),
        input_data("Risk", "string"),
        decision("Status", logic, ["Affordable", "Risk"], type_ref="tStatus"),
    )
    path = write(tmp_path, data)
    model = engine.load(path)
    assert model.tables[0].outputs[0].allowed_values == ("Approved", "Declined", "Referred")
    assert model.evaluate({"Affordable": False, "Risk": "Medium"}).outputs["Status"] == expected
    report = validate(path, vignettes=False)
    assert "TV308" not in {f.code for f in report.findings}, report.findings


def test_an_output_typed_by_a_range_keeps_row_order_and_is_told_so(tmp_path: Path) -> None:
    """A type constrained by a range gives no order; the validator says so (TV308)."""
    items = (
        '<itemDefinition name="tScore"><typeRef>number</typeRef>'
        "<allowedValues><text>[0..10]</text></allowedValues></itemDefinition>"
    )
    logic = table(
        [("x", "number", None)],
        [(None, None, None, None)],
        [([">= 1"], ["1"], []), ([">= 2"], ["2"], [])],
        hit_policy="PRIORITY",
    )
    path = write(
        tmp_path, definitions(items, input_data("x"), decision("D", logic, ["x"], "tScore"))
    )
    model = engine.load(path)
    assert model.tables[0].outputs[0].allowed_values == ()
    assert model.evaluate({"x": 5}).outputs["D"] == 1
    assert "TV308" in {f.code for f in validate(path, vignettes=False).findings}


def test_dmn_is_parsed_by_local_names_not_by_prefix(tmp_path: Path) -> None:
    data = chained_model().replace(b"<", b"<dmn:").replace(b"<dmn:/", b"</dmn:")
    data = data.replace(b"<dmn:?xml", b"<?xml").replace(b'xmlns="', b'xmlns:dmn="')
    assert b"<dmn:definitions" in data
    model = engine.load(write(tmp_path, data))
    assert [t.name for t in model.tables] == ["Risk", "Approval"]


def test_suffix_is_matched_without_case(tmp_path: Path) -> None:
    model = engine.load(write(tmp_path, chained_model(), "MODEL.DMN"))
    assert model.tables[0].name == "Risk"


# --- refusing what cannot be compiled ------------------------------------------------------


def _one_decision(logic: str, inputs: Sequence[str] = ("x",)) -> bytes:
    return definitions(*(input_data(i) for i in inputs), decision("D", logic, inputs))


SIMPLE = table([("x", "number", None)], [(None, "number", None, None)], [(["> 1"], ["1"], [])])


@pytest.mark.parametrize(
    ("data", "expected", "code"),
    [
        (
            definitions(
                input_data("x"),
                '<decision id="d1" name="D"><literalExpression id="le1"><text>x + 1</text>'
                "</literalExpression></decision>",
            ),
            "decision 'D', literalExpression 'le1': the decision's logic, a literal expression "
            "(FEEL), is not supported",
            "TV126",
        ),
        (
            definitions(
                '<decision id="d1" name="D"><context id="c1"/></decision>',
            ),
            "decision 'D', context 'c1': the decision's logic, a context (boxed context), is "
            "not supported",
            "TV126",
        ),
        (
            definitions(
                '<decision id="d1" name="D"><invocation id="i1"/></decision>',
            ),
            "the decision's logic, an invocation of a business knowledge model, is not",
            "TV126",
        ),
        (
            definitions(
                '<businessKnowledgeModel id="bkm1" name="Fee"/>',
                decision("D", SIMPLE, ["x"]),
                input_data("x"),
            ),
            "businessKnowledgeModel 'Fee', id 'bkm1': a business knowledge model (a function "
            "that decisions invoke) is not supported",
            "TV126",
        ),
        (
            definitions(
                input_data("x"),
                decision("D", SIMPLE, ["x"]).replace(
                    "<decisionTable",
                    '<knowledgeRequirement id="kr1"><requiredKnowledge '
                    'href="#bkm1"/></knowledgeRequirement><decisionTable',
                ),
            ),
            "decision 'D', knowledgeRequirement 'kr1': a knowledge requirement (a call of a "
            "business knowledge model, a function) is not supported",
            "TV126",
        ),
        (
            _one_decision(SIMPLE.replace("<text>x</text>", "<text>x + 1</text>")),
            "decision 'D', input 'x + 1': the input expression 'x + 1' is a FEEL expression, "
            "not a name",
            "TV126",
        ),
        (
            _one_decision(SIMPLE.replace("<text>x</text>", "<text>${x}</text>")),
            "the input expression '${x}' is JUEL",
            "TV126",
        ),
        (
            definitions(
                input_data("Age"),
                decision("D", SIMPLE.replace("<text>x</text>", "<text>Agee</text>"), ["Age"]),
            ),
            "decision 'D', input 'Agee': the input expression 'Agee' names no inputData, but is "
            "close to inputData 'Age'",
            "TV108",
        ),
        (
            _one_decision(SIMPLE.replace("&gt; 1", 'date("2020-01-01")')),
            "decision 'D', rule 'dt_r1' (#1), input 'x': 'date(\"2020-01-01\")' calls the FEEL "
            "function 'date'",
            "TV126",
        ),
        (
            _one_decision(SIMPLE.replace("&gt; 1", "&gt; y")),
            "rule 'dt_r1' (#1), input 'x': '> y' uses the name 'y'",
            "TV126",
        ),
        (
            _one_decision(SIMPLE.replace("&gt; 1", "? + 1 &gt; 2")),
            "rule 'dt_r1' (#1), input 'x': '? + 1 > 2' is a FEEL expression on the input value",
            "TV126",
        ),
        (
            _one_decision(SIMPLE.replace("&gt; 1", "${x &gt; 1}")),
            "'${x > 1}' is a JUEL expression",
            "TV126",
        ),
        (
            _one_decision(SIMPLE.replace("&gt; 1", "&gt; 1 + 2")),
            "'> 1 + 2' is a FEEL expression, not a unary test",
            "TV126",
        ),
        (
            _one_decision(
                SIMPLE.replace("<outputEntry><text>1</text>", "<outputEntry><text>x*2</text>")
            ),
            "rule 'dt_r1' (#1), output 'D': 'x*2' is a FEEL expression, not a literal value",
            "TV126",
        ),
        (
            _one_decision(
                SIMPLE.replace("<outputEntry><text>1</text>", '<outputEntry><text>["a"]</text>')
            ),
            "'[\"a\"]' is a FEEL list; a list as one output value is not supported",
            "TV126",
        ),
        (
            _one_decision(
                SIMPLE.replace("<outputEntry><text>1</text>", "<outputEntry><text>x</text>")
            ),
            "'x' is a FEEL name, not a value",
            "TV201",
        ),
        (
            _one_decision(
                SIMPLE.replace('hitPolicy="UNIQUE"', 'hitPolicy="FIRST" aggregation="SUM"')
            ),
            "decision 'D', decisionTable 'dt': unknown hit policy 'FIRST with aggregation SUM'",
            "TV113",
        ),
        (
            definitions(input_data("x", "date"), decision("D", SIMPLE, ["x"])),
            "inputData 'x': the type 'date' (a FEEL date) is not supported",
            "TV117",
        ),
        (
            definitions(input_data("x", "tUnknown"), decision("D", SIMPLE, ["x"])),
            "inputData 'x': the type 'tUnknown' is neither a built-in type nor an itemDefinition",
            "TV117",
        ),
        (
            definitions(input_data("x"), decision("D", SIMPLE)),
            "the input expression 'x' names inputData 'x', which the decision does not require",
            "TV108",
        ),
        (
            definitions(
                '<import namespace="urn:other" importType="x"/>',
                input_data("x"),
                decision("D", SIMPLE, ["x"]),
            ),
            "import 'urn:other': an import of another model is not supported",
            "TV126",
        ),
        (
            _one_decision(
                SIMPLE.replace(
                    'hitPolicy="UNIQUE"',
                    'hitPolicy="UNIQUE" expressionLanguage="https://example.org/javascript"',
                )
            ),
            "the expression language JavaScript is not supported",
            "TV126",
        ),
        (
            definitions(input_data("x"), decision("D", SIMPLE, ["x"])).replace(
                b'namespace="urn:test"', b'namespace="urn:test" expressionLanguage="juel"'
            ),
            "definitions: the expression language JUEL (Java Unified Expression Language, ${…}) "
            "is not supported",
            "TV126",
        ),
        (
            _one_decision(
                SIMPLE.replace('<inputEntry id="dt_r1_i0"><text>&gt; 1</text></inputEntry>', "")
            ),
            "decision 'D', rule 'dt_r1' (#1): the rule has 0 input entries for 1 inputs",
            "TV127",
        ),
        (
            _one_decision(SIMPLE.replace("&gt; 1", '"a"')),
            "rule 'dt_r1' (#1), input 'x': '\"a\"' is not a number",
            "TV202",
        ),
        (
            _one_decision(
                SIMPLE.replace(
                    '<output id="dt_out0" typeRef="number">',
                    '<output id="dt_out0" typeRef="string">',
                )
                .replace("<outputEntry><text>1</text>", '<outputEntry><text>"one"</text>')
                .replace('hitPolicy="UNIQUE"', 'hitPolicy="COLLECT" aggregation="SUM"')
            ),
            "decision 'D', output 'D': COLLECT SUM needs a numeric output",
            "TV113",
        ),
    ],
    ids=lambda v: None if isinstance(v, bytes) or len(v) == 5 else v[:40],
)
def test_what_cannot_be_compiled_is_refused_naming_the_element(
    tmp_path: Path, data: bytes, expected: str, code: str
) -> None:
    with pytest.raises(WorkbookError) as caught:
        engine.load(write(tmp_path, data))
    found = [(p.code, str(p)) for p in caught.value.problems]
    assert any(c == code and expected in text for c, text in found), found
    assert all(c in CHECKS for c, _ in found), found
    assert not any("sheet" in text or " row " in text for _, text in found), found


def test_a_decision_with_several_outputs_is_read_one_output_at_a_time(tmp_path: Path) -> None:
    first = table(
        [("x", "number", None)],
        [("A", "number", None, None), ("B", "number", None, None)],
        [(["> 1"], ["1", "2"], [])],
        ident="dt1",
    )
    second = table(
        [("First", None, None)], [(None, "number", None, None)], [(["1"], ["1"], [])], ident="dt2"
    )
    data = definitions(
        input_data("x"),
        decision("First", first, ["x"]),
        decision("Second", second, decisions=["First"]),
    )
    (problem,) = problems_of(tmp_path, data)
    assert "decision 'First' has several outputs" in problem
    assert "First.A, First.B" in problem


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    logic = table(
        [("x", "number", None)],
        [(None, "number", None, None)],
        [(["> y"], ["1"], []), (["[5..1]"], ['"a"'], [])],
    )
    problems = problems_of(tmp_path, _one_decision(logic))
    assert len(problems) == 3, problems


def test_problems_carry_dmn_locations(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError) as caught:
        engine.load(write(tmp_path, _one_decision(SIMPLE.replace("&gt; 1", "&gt; y"))))
    (problem,) = caught.value.problems
    assert isinstance(problem.location, DmnLocation)
    assert problem.as_dict()["sheet"] == "decision 'D'"
    assert str(caught.value).startswith(str(tmp_path / "model.dmn"))


# --- unreadable files ----------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" name="&lol2;"/>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" name="&secret;"/>"""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (BILLION_LAUGHS, "refused for safety"),
        (EXTERNAL, "refused for safety"),
        (b"not xml at all", "not well-formed XML"),
        (b"<definitions xmlns='urn:other'/>", "this is not a DMN model"),
        (b"<html/>", "this is not a DMN model (the document is <html>)"),
    ],
)
def test_unsafe_or_foreign_files_are_unreadable(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(UnreadableFile, match=re.escape(message)):
        engine.load(write(tmp_path, data))


def test_a_missing_dmn_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="file not found"):
        engine.load(tmp_path / "missing.dmn")


# --- the TCK runner's own logic ------------------------------------------------------------


def test_the_tck_runner_expects_errors_and_compares_values(tmp_path: Path) -> None:
    logic = table(
        [("x", "number", None)],
        [(None, "number", None, None)],
        [([">= 1"], ["1.50"], []), ([">= 2"], ["2"], [])],
    )
    model_path = write(tmp_path, _one_decision(logic))
    tests = tmp_path / "model-test-01.xml"
    tests.write_text(
        """<testCases xmlns="http://www.omg.org/spec/DMN/20160719/testcase"
            xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
            xmlns:xsd="http://www.w3.org/2001/XMLSchema">
          <testCase id="ok"><inputNode name="x"><value xsi:type="xsd:decimal">1</value></inputNode>
            <resultNode name="D"><expected><value xsi:type="xsd:decimal">1.5</value></expected>
            </resultNode></testCase>
          <testCase id="error"><inputNode name="x"><value xsi:type="xsd:decimal">3</value>
            </inputNode><resultNode name="D" errorResult="true"><expected>
            <value xsi:nil="true"/></expected></resultNode></testCase>
          <testCase id="wrong"><inputNode name="x"><value xsi:type="xsd:decimal">1</value>
            </inputNode><resultNode name="D"><expected><value xsi:type="xsd:decimal">2</value>
            </expected></resultNode></testCase>
          <testCase id="missed-error"><inputNode name="x"><value xsi:type="xsd:decimal">1</value>
            </inputNode><resultNode name="D" errorResult="true"/></testCase>
        </testCases>"""
    )
    cases: list[TckTest] = read_test_file("case", model_path, tests)
    model = engine.load(model_path)
    outcomes = {c.case_id: run(c, model) for c in cases}
    assert outcomes["ok"] == []
    assert outcomes["error"] == []
    assert outcomes["wrong"] == ["D: expected 2, got 1.5"]
    assert outcomes["missed-error"] == ["D: expected an error, got 1.5"]


# --- converting ----------------------------------------------------------------------------


def _rules(model: Model) -> list[Any]:
    """Everything about a model's tables that decides results, in comparable form."""
    return [
        (
            t.name,
            t.hit_policy,
            t.aggregation,
            [c.name for c in t.inputs],
            [(o.name, o.allowed_values, o.default, o.has_default) for o in t.outputs],
            [
                (r.rule_id, [str(c.condition) for c in r.cells], r.outputs, r.citation, r.note)
                for r in t.rules
            ],
        )
        for t in model.tables
    ]


def _inputs(model: Model) -> list[Any]:
    return [
        (i.name, i.kind, i.allowed_values, str(i.value_range), i.required, i.unit, i.description)
        for i in model.inputs
    ]


@pytest.fixture(scope="module")
def original() -> Model:
    return engine.load(WORKBOOK)


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory, original: Model) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("convert")
    dmn, xlsx = folder / "muscle_twitching.dmn", folder / "muscle_twitching.xlsx"
    runner = CliRunner()
    first = runner.invoke(main, ["convert", str(WORKBOOK), str(dmn)])
    assert first.exit_code == 0, first.output
    second = runner.invoke(main, ["convert", str(dmn), str(xlsx)])
    assert second.exit_code == 0, second.output
    return {"dmn": dmn, "xlsx": xlsx}


@pytest.mark.parametrize("kind", ["dmn", "xlsx"])
def test_the_bundled_workbook_round_trips_with_the_same_results(
    original: Model, round_trip: dict[str, Path], kind: str
) -> None:
    converted = engine.load(round_trip[kind])
    assert _rules(converted) == _rules(original)
    assert _inputs(converted) == _inputs(original)
    assert converted.about == original.about
    assert original.vignettes
    for vignette in original.vignettes:
        expected = original.evaluate(vignette.facts)
        got = converted.evaluate(vignette.facts)
        assert dict(got.outputs) == dict(expected.outputs), vignette.vignette_id
        assert [(f.table, f.rule_id, f.citation) for f in got.fired] == [
            (f.table, f.rule_id, f.citation) for f in expected.fired
        ]


def test_the_exported_dmn_is_dmn_1_3(round_trip: dict[str, Path], original: Model) -> None:
    root = ET.fromstring(round_trip["dmn"].read_bytes())
    ns = {"d": DMN13_NAMESPACE}
    assert root.tag == f"{{{DMN13_NAMESPACE}}}definitions"
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    hrefs = [el.get("href", "")[1:] for el in root.iter() if el.get("href")]
    assert hrefs and set(hrefs) <= ids
    decisions = root.findall("d:decision", ns)
    assert [d.get("name") for d in decisions] == [t.name for t in original.tables]
    disposition = root.find("d:decision[@name='disposition']", ns)
    assert disposition is not None
    required = disposition.findall("d:informationRequirement/d:requiredDecision", ns)
    assert sorted(r.get("href") for r in required) == [
        "#decision_electrolyte_abnormal", "#decision_red_flags"]
    dt = disposition.find("d:decisionTable", ns)
    assert dt is not None and dt.get("hitPolicy") == "PRIORITY"
    output = dt.find("d:output", ns)
    assert output is not None
    assert output.findtext("d:outputValues/d:text", namespaces=ns, default="").startswith(
        '"EMERGENCY", "URGENT_SAME_DAY"'
    )
    assert output.findtext("d:defaultOutputEntry/d:text", namespaces=ns) == '"ROUTINE_GP"'
    assert [a.get("name") for a in dt.findall("d:annotation", ns)] == [
        "Rule id",
        "Citation",
        "Note",
    ]
    first = dt.find("d:rule", ns)
    assert first is not None
    assert first.findtext("d:inputEntry/d:text", namespaces=ns) == (
        'list contains(?, "respiratory_compromise")'
    )
    assert first.findtext("d:annotationEntry/d:text", namespaces=ns) == "D1"


def test_a_dmn_model_becomes_an_editable_workbook(tmp_path: Path) -> None:
    dmn = write(tmp_path, chained_model())
    xlsx = tmp_path / "model.xlsx"
    result = CliRunner().invoke(main, ["convert", str(dmn), str(xlsx)])
    assert result.exit_code == 0, result.output
    assert "renamed 'Risk Category' to risk_category" in result.stdout
    assert "no citation" not in result.stderr  # every rule has a Citation annotation
    sheets = {s.name: s for s in read_workbook(xlsx)}
    # the workbook is left formatted: its helper sheets follow the ones the engine reads
    assert list(sheets) == ["About", "Inputs", "Risk", "Approval", "Tests", "How to edit",
                            "Lists"]
    about = {row[0]: sheets["About"].value(r, 1) for r, row in enumerate(sheets["About"].rows)}
    assert about["Table id"] == "test_model" and about["Version"] == "0.1.0"
    assert "'Risk Category' -> risk_category" in about["Description"]
    assert sheets["Inputs"].rows[2][:4] == (
        "risk_category",
        "enum",
        None,
        "High, Low, Medium",  # plain words without quotes, as a clinician writes them
    )
    assert sheets["Approval"].rows[5] == ("Name", "risk", "is_affordable", "status", "rate")
    assert sheets["Tests"].rows == (
        ("Test id", "age", "risk_category", "is_affordable", "risk", "status", "rate", "Note"),
    )
    from openpyxl import load_workbook

    comments = {
        c.coordinate: c.comment.text for c in load_workbook(xlsx)["Inputs"]["A"] if c.comment
    }
    assert comments == {
        "A2": "DMN name: Age",
        "A3": "DMN name: Risk Category",
        "A4": "DMN name: Is Affordable",
    }
    # Once the missing citations are written, the workbook loads and decides as the DMN did.
    model = engine.load_sheets(tuple(sheets.values()), require_citations=False)
    decision = model.evaluate({"age": 70, "risk_category": "Low", "is_affordable": True})
    assert dict(decision.outputs) == {
        "risk": "High risk",
        "approval": {"status": "Declined", "rate": None},
    }


def test_convert_says_when_rules_need_a_citation(tmp_path: Path) -> None:
    dmn = write(tmp_path, _one_decision(SIMPLE))
    result = CliRunner().invoke(main, ["convert", str(dmn), str(tmp_path / "out.xlsx")])
    assert result.exit_code == 0
    assert "1 rule has no citation; fill in the Citation column" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["in.xlsx", "out.txt"], 2, "convert a .dmn file to .xlsx"),
        (["in.dmn", "out.dmn"], 2, "convert a .dmn file to .xlsx"),
        (["missing.dmn", "out.xlsx"], 2, "file not found"),
        (["missing.xlsx", "out.dmn"], 2, "file not found"),
        (["in.dmn"], 2, "Missing argument"),
    ],
)
def test_convert_usage_and_unreadable_files(args: list[str], code: int, message: str) -> None:
    result = CliRunner().invoke(main, ["convert", *args])
    assert result.exit_code == code
    assert message in result.output


def test_convert_reports_content_problems_and_writes_nothing(tmp_path: Path) -> None:
    dmn = write(tmp_path, _one_decision(SIMPLE.replace("&gt; 1", "&gt; y")))
    out = tmp_path / "out.xlsx"
    result = CliRunner().invoke(main, ["convert", str(dmn), str(out)])
    assert result.exit_code == 1
    assert "'> y' uses the name 'y'" in result.stderr
    assert not out.exists()


def test_a_workbook_with_unsupported_names_for_dmn_is_refused(tmp_path: Path) -> None:
    from tests.sheets import ABOUT, inputs_sheet, table_sheet

    sheets = [
        ABOUT,
        inputs_sheet([("x", "number", None, "yes")]),
        table_sheet("x", "UNIQUE", ["x"], ["y"], [("> 1", "a")]),
    ]
    with pytest.raises(WorkbookError, match="has the name of an input") as caught:
        model_to_dmn(engine.load_sheets(sheets))
    assert [p.code for p in caught.value.problems] == ["TV109"]


# --- FEEL text and names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "is_list", "feel"),
    [
        ("-", False, "-"),
        ('!= "a"', False, 'not("a")'),
        ('"a", != "b"', False, '"a", != "b"'),
        ("[1..5), > 0.0000001", False, "[1..5), > 0.0000001"),
        ("1e-07", False, "0.0000001"),
        ("not(1, 2)", False, "not(1, 2)"),
        ('"a", null', True, 'list contains(?, "a") or count(?) = 0'),
        ('not("a")', True, 'not(list contains(?, "a"))'),
    ],
)
def test_feel_text_of_cells(cell: str, is_list: bool, feel: str) -> None:
    assert feel_condition(parse_condition(cell), is_list) == feel


def test_feel_literals() -> None:
    assert [feel_literal(v) for v in (None, True, 3, 2.5, 1e20, 'say "hi"\\')] == [
        "null",
        "true",
        "3",
        "2.5",
        "100000000000000000000",
        '"say \\"hi\\"\\\\"',
    ]


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("Approval Status", "approval_status"),
        ("isAffordable", "is_affordable"),
        ("RiskCategory", "risk_category"),
        ("NumOfYears", "num_of_years"),
        ("HTMLPage", "html_page"),
        ("Approved/Declined", "approved_declined"),
        ("0004-simpletable-U", "x_0004_simpletable_u"),
        ("???", "x"),
    ],
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_names_that_collide_in_snake_case_stay_distinct() -> None:
    logic = table(
        [("Age", "number", None), ("age", "number", None)],
        [(None, "number", None, None)],
        [(["> 1", "> 2"], ["1"], [])],
    )
    model = read_dmn(
        definitions(input_data("Age"), input_data("age"), decision("D", logic, ["Age", "age"]))
    )
    book = model_to_sheets(model)
    inputs = [row[0] for row in book.sheets[1].rows[1:]]
    assert inputs == ["age_2", "age"]
