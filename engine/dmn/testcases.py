"""Vignettes <-> DMN TCK test cases (``testCases`` XML, namespace :data:`TESTCASE_NAMESPACE`).

DMN has no place for test cases, but the DMN Technology Compatibility Kit has a file format
for them that DMN tools read: one ``testCase`` per vignette, an ``inputNode`` per fact it
gives, and a ``resultNode`` per decision it expects something of (a value; components for a
decision with several outputs; a ``list`` of items for a multi-hit decision). ``triage
convert`` writes the Tests sheet in that format beside the ``.dmn`` file, named as the TCK
names them (``table-test-01.xml`` beside ``table.dmn``), and reads it back into the Tests
sheet.

A vignette's note travels as the test case's ``description``; a fact it leaves empty is left
out; an expected cell it leaves empty is left out too (an unchecked output), so a decision
with several outputs may list only some components.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET
from xml.etree.ElementTree import Element

from engine.dmn.xml import DmnLocation, local_name, parse_xml
from engine.errors import Problem, WorkbookError
from engine.model import Model, Table, Vignette
from engine.workbook import RawValue

TESTCASE_NAMESPACE = "http://www.omg.org/spec/DMN/20160719/testcase"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSD = "http://www.w3.org/2001/XMLSchema"
_NIL = f"{{{_XSI}}}nil"
_TYPE = f"{{{_XSI}}}type"


@dataclass(frozen=True)
class TestCase:
    """One test case read back: facts by input name, expected results by *output* name (as a
    Tests-sheet row has them), and the note."""

    case_id: str
    facts: Mapping[str, Any]
    expected: Mapping[str, Any]
    note: str = ""
    errors: tuple[str, ...] = ()  # decisions expected to fail: a vignette cannot say so

    __test__ = False  # not a pytest class, whatever its name


def tck_path(dmn_path: str | Path, number: int = 1) -> Path:
    """Where the test cases of ``table.dmn`` go: ``table-test-01.xml`` beside it, the name the
    TCK gives them (so TCK runners find them too)."""
    dmn_path = Path(dmn_path)
    return dmn_path.with_name(f"{dmn_path.stem}-test-{number:02d}.xml")


def tck_files_beside(dmn_path: str | Path) -> list[Path]:
    """Every ``table-test-NN.xml`` beside ``table.dmn``, in name order."""
    dmn_path = Path(dmn_path)
    return sorted(dmn_path.parent.glob(f"{_glob_escape(dmn_path.stem)}-test-*.xml"))


def _glob_escape(text: str) -> str:
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in text)


# --- writing -------------------------------------------------------------------------------


def write_testcases(model: Model, model_name: str) -> bytes:
    """The model's vignettes as a TCK ``testCases`` document (UTF-8)."""
    ET.register_namespace("", TESTCASE_NAMESPACE)
    ET.register_namespace("xsi", _XSI)
    ET.register_namespace("xsd", _XSD)
    root = ET.Element(_tag("testCases"))
    ET.SubElement(root, _tag("modelName")).text = model_name
    for vignette in model.vignettes:
        _write_case(root, model, vignette)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    # xsd: is used only inside attribute values, so ElementTree would not declare it
    if f'xmlns:xsd="{_XSD}"' not in body:
        body = body.replace("<testCases ", f'<testCases xmlns:xsd="{_XSD}" ', 1)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode()


def _tag(name: str) -> str:
    return f"{{{TESTCASE_NAMESPACE}}}{name}"


def _write_case(root: Element, model: Model, vignette: Vignette) -> None:
    case = ET.SubElement(root, _tag("testCase"), {"id": vignette.vignette_id})
    if vignette.note:
        ET.SubElement(case, _tag("description")).text = vignette.note
    for item in model.inputs:  # the Inputs sheet's order, whatever the Tests sheet's
        if item.name in vignette.facts:
            node = ET.SubElement(case, _tag("inputNode"), {"name": item.name})
            _write_value(ET.SubElement(node, _tag("value")), vignette.facts[item.name])
    for table in model.tables:
        given = [o.name for o in table.outputs if o.name in vignette.expected]
        if not given:
            continue
        node = ET.SubElement(case, _tag("resultNode"), {"name": table.name, "type": "decision"})
        expected = ET.SubElement(node, _tag("expected"))
        _write_result(expected, table, {name: vignette.expected[name] for name in given})


def _write_result(expected: Element, table: Table, values: dict[str, Any]) -> None:
    """A decision's expected result: a value, components, or a list of either."""
    single = len(table.outputs) == 1
    if not table.returns_list:
        if single:
            _write_value(ET.SubElement(expected, _tag("value")), next(iter(values.values())))
        else:
            _write_components(expected, values)
        return
    listed = ET.SubElement(expected, _tag("list"))
    if single:
        for value in next(iter(values.values())):
            _write_value(ET.SubElement(ET.SubElement(listed, _tag("item")), _tag("value")), value)
        return
    for index in range(max(len(v) for v in values.values())):
        item = ET.SubElement(listed, _tag("item"))
        _write_components(item, {k: v[index] for k, v in values.items() if index < len(v)})


def _write_components(parent: Element, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        component = ET.SubElement(parent, _tag("component"), {"name": name})
        _write_value(ET.SubElement(component, _tag("value")), value)


def _write_value(el: Element, value: Any) -> None:
    if value is None:
        el.set(_NIL, "true")
    elif isinstance(value, bool):
        el.set(_TYPE, "xsd:boolean")
        el.text = "true" if value else "false"
    elif isinstance(value, int | float):
        el.set(_TYPE, "xsd:decimal")
        el.text = _decimal(value)
    else:
        el.set(_TYPE, "xsd:string")
        el.text = str(value)


def _decimal(value: int | float) -> str:
    """A number as xsd:decimal: no exponent, no trailing ``.0``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = format(Decimal(repr(value)), "f") if isinstance(value, float) else str(value)
    return text


# --- reading -------------------------------------------------------------------------------


def read_testcases(data: bytes, model: Model, source: str) -> list[TestCase]:
    """Test cases for ``model`` (read from its DMN file) as Tests-sheet rows. Every name that
    is not an input or a decision (or one of its outputs) of the model is a problem, and all
    are reported at once, each at its test case and node."""
    root = parse_xml(data, source)
    problems: list[Problem] = []
    if local_name(root) != "testCases":
        problems.append(
            Problem(
                None,
                f"the root element is <{local_name(root)}>, not <testCases>",
                "write DMN TCK test cases (namespace " + TESTCASE_NAMESPACE + ")",
                "TV127",
            )
        )
        raise WorkbookError(problems, source)
    cases = []
    for number, el in enumerate(_children(root, "testCase"), start=1):
        case_id = el.get("id") or el.get("name") or str(number)
        where = f"test case '{case_id}'"
        facts: dict[str, Any] = {}
        for node in _children(el, "inputNode"):
            name = node.get("name", "")
            if model.input(name) is None:
                problems.append(_unknown(where, f"inputNode '{name}'", name, "an input"))
                continue
            facts[name] = _read_value(node, problems, where)
        expected: dict[str, Any] = {}
        errors: list[str] = []
        if el.get("type", "decision") != "decision" or el.get("invocableName"):
            problems.append(
                Problem(
                    DmnLocation(where),
                    "a test case that invokes a decision service or a knowledge model is not "
                    "supported: only decisions evaluated from their inputs can be vignettes",
                    "test the decisions themselves",
                    "TV126",
                )
            )
        for node in _children(el, "resultNode"):
            name = node.get("name", "")
            if "true" in (node.get("errorResult"), el.get("errorResult")):
                errors.append(name)  # counted, not silently dropped: convert reports them
                continue
            found = _expected(node, model, problems, where)
            if found is None:
                problems.append(_unknown(where, f"resultNode '{name}'", name, "a decision"))
                continue
            expected.update(found)
        description = _children(el, "description")
        note = (description[0].text or "").strip() if description else ""
        cases.append(TestCase(case_id, facts, expected, note, tuple(errors)))
    if problems:
        raise WorkbookError(problems, source)
    return cases


def _children(el: Element, name: str) -> list[Element]:
    return [child for child in el if local_name(child) == name]


def _unknown(where: str, node: str, name: str, what: str) -> Problem:
    return Problem(
        DmnLocation(where, node),
        f"'{name}' is not {what} of the model",
        "name an inputData or a decision of the .dmn file the test cases belong to",
        "TV111",
    )


def _expected(
    node: Element, model: Model, problems: list[Problem], where: str
) -> dict[str, Any] | None:
    """A resultNode's expected value by output name; ``None`` when it names nothing."""
    name = node.get("name", "")
    table = model.table(name)
    values = _children(node, "expected")
    if table is None:
        output = model.output(name)  # a tool that names outputs rather than decisions
        if output is None:
            return None
        return {name: _read_value(values[0], problems, where) if values else None}
    if not values:
        return {}
    value = _read_value(values[0], problems, where)
    outputs = [o.name for o in table.outputs]
    if len(outputs) == 1:
        return {outputs[0]: value}
    if table.returns_list and isinstance(value, list):
        return {
            out: [item[out] for item in value if isinstance(item, dict) and out in item]
            for out in outputs
            if any(isinstance(item, dict) and out in item for item in value)
        }
    if isinstance(value, dict):
        return {out: value[out] for out in outputs if out in value}
    problems.append(
        Problem(
            DmnLocation(where, f"resultNode '{name}'"),
            f"decision '{name}' has several outputs, and the expected result names none",
            "give each expected output as a component",
            "TV503",
        )
    )
    return {}


def _read_value(el: Element, problems: list[Problem], where: str) -> Any:
    """A TCK value element (``value``, ``component``s, ``list``, or nil) as Python data."""
    if el.get(_NIL) == "true":
        return None
    if lists := _children(el, "list"):
        return [_read_value(item, problems, where) for item in _children(lists[0], "item")]
    if components := _children(el, "component"):
        return {c.get("name", ""): _read_value(c, problems, where) for c in components}
    if values := _children(el, "value"):
        return _read_value(values[0], problems, where)
    if local_name(el) != "value":
        return None
    text = el.text or ""
    kind = (el.get(_TYPE) or "").rsplit(":", 1)[-1]
    if kind == "boolean":
        return text.strip() == "true"
    if kind in ("decimal", "integer", "int", "long", "double", "float", "short"):
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            problems.append(
                Problem(
                    DmnLocation(where, f"value '{text.strip()}'"),
                    f"'{text.strip()}' is not a number",
                    "write a decimal number such as 38.5",
                    "TV503",
                )
            )
            return None
        return int(number) if number == number.to_integral_value() else float(number)
    return text


def cases_to_rows(
    model: Model, cases: Sequence[TestCase], order: Sequence[str] = ()
) -> list[tuple[RawValue, ...]]:
    """The Tests sheet for ``cases``: a header (``Test id``, the inputs, the outputs, ``Note``;
    the names in ``order`` first, in that order) and a row per case, written as a clinician
    would type them."""
    from engine.conditions import format_value
    from engine.values import SNAKE_CASE

    def cell(value: Any, listed: bool) -> RawValue:
        if listed:
            items = [
                v if isinstance(v, str) and SNAKE_CASE.match(v) else format_value(v) for v in value
            ]
            return ", ".join(items) if items else "[]"
        if value is None:
            return "null"
        return value

    tables = {o.name: t for t in model.tables for o in t.outputs}
    names = [i.name for i in model.inputs] + list(tables)
    known = [n for n in order if n in names or n == "Note"]
    rest = [n for n in [*names, "Note"] if n not in known]
    if known:  # the workbook's own columns, and only those a case needs besides
        used = {n for c in cases for n in (*c.facts, *c.expected)} | (
            {"Note"} if any(c.note for c in cases) else set()
        )
        rest = [n for n in rest if n in used]
    columns = [*known, *rest]
    rows: list[tuple[RawValue, ...]] = [("Test id", *columns)]
    for case in cases:
        row: list[RawValue] = [case.case_id]
        for name in columns:
            if name == "Note":
                row.append(case.note or None)
            elif name in tables:
                value = case.expected.get(name)
                listed = tables[name].returns_list and isinstance(value, list)
                row.append(cell(value, listed) if name in case.expected else None)
            else:
                row.append(case.facts.get(name))
        rows.append(tuple(row))
    return rows
