"""Reading the ``Safety`` sheet into :class:`~engine.model.SafetyProperty` objects.

The sheet (docs/workbook-format.md) states rules the tables must keep: row 1 names the
columns (``Property``, input and output names, ``Severity``, ``Citation``, ``Note``), row 2
gives each name column its role (``When`` or ``Then``), and each later row is one property.
Cells are unary tests, parsed and type-checked exactly like a rule's input cells, so a
property is written in the language the clinician already uses for rules.

It runs after the tables are read and ordered, when the type of every output (and whether it
holds a list) is known. Every mistake is a :class:`~engine.errors.Problem` at its cell with a
fix and the check code that found it (``TV70x``, or ``TV201``-``TV206`` for cells); nothing is
raised, so one run reports them all.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass

from engine.conditions import AnyValue, CellSyntaxError, parse_condition, type_problems
from engine.errors import Location, Problem
from engine.hitpolicy import Aggregation
from engine.model import (
    InputDef,
    OutputDef,
    PropertyCell,
    Role,
    SafetyProperty,
    Table,
)
from engine.tables import ColumnType, column_type
from engine.values import text_of
from engine.workbook import Sheet

SHEET = "safety"
SEVERITIES = ("error", "warning")
_ANNOTATIONS = ("severity", "citation", "note")
_CODES = {"type": "TV202", "allowed": "TV203", "empty": "TV206"}  # by TypeProblem.kind
_ROLE_FIX = "write When (the case the property is about) or Then (what must hold then)"


@dataclass(frozen=True)
class _Column:
    col: int
    name: str
    role: Role
    ctype: ColumnType | None  # None: the cells are parsed but their type cannot be checked


def read_properties(
    sheet: Sheet | None,
    inputs: Sequence[InputDef],
    broken: Container[str],
    tables: Sequence[Table],
    problems: list[Problem],
) -> tuple[SafetyProperty, ...]:
    """The properties of the Safety sheet (``()`` without one). ``broken``: names declared
    with a problem already reported, whose uses are not reported again."""
    if sheet is None or not any(any(v is not None for v in row) for row in sheet.rows):
        return ()
    at = sheet.location
    if not tables:
        problems.append(
            Problem(
                at(0, 0),
                "the Safety sheet states properties of decision tables, but the workbook has "
                "none",
                "add the decision tables first, or remove the Safety sheet",
                "TV704",
            )
        )
        return ()
    if text_of(sheet.value(0, 0)).lower() != "property":
        problems.append(
            Problem(at(0, 0), "cell A1 must read 'Property'", "write Property", "TV707")
        )
    if text_of(sheet.value(1, 0)).lower() != "role":
        problems.append(Problem(at(1, 0), "cell A2 must read 'Role'", "write Role", "TV704"))
    columns, extra = _read_columns(sheet, inputs, broken, tables, problems)
    if "citation" not in extra:
        problems.append(
            Problem(
                at(0, sheet.width),
                "the Safety sheet has no Citation column",
                "add a column headed Citation and give each property its source",
                "TV707",
            )
        )
    found: list[SafetyProperty] = []
    seen: dict[str, Location] = {}
    for row in range(2, len(sheet.rows)):
        if all(v is None for v in sheet.rows[row]):
            continue
        prop = _read_property(sheet, row, columns, extra, problems)
        if prop.property_id in seen:
            problems.append(
                Problem(
                    at(row, 0),
                    f"property id '{prop.property_id}' is used twice (also at "
                    f"{seen[prop.property_id]})",
                    "give each property its own id",
                    "TV707",
                )
            )
            continue
        seen[prop.property_id] = at(row, 0)
        found.append(prop)
    return tuple(found)


def _read_columns(
    sheet: Sheet,
    inputs: Sequence[InputDef],
    broken: Container[str],
    tables: Sequence[Table],
    problems: list[Problem],
) -> tuple[list[_Column], dict[str, int]]:
    """The name columns with their roles and types, and the annotation columns by kind."""
    at = sheet.location
    by_input = {i.name: i for i in inputs}
    by_output = {o.name: o for t in tables for o in t.outputs}
    lists = {o.name for t in tables if t.returns_list for o in t.outputs}
    counts = {o.name for t in tables if t.aggregation is Aggregation.COUNT for o in t.outputs}
    columns: list[_Column] = []
    extra: dict[str, int] = {}
    taken: dict[tuple[str, Role], int] = {}
    for col in range(1, sheet.width):
        head = text_of(sheet.value(0, col))
        role_text = text_of(sheet.value(1, col))
        named = head in by_input or head in by_output  # an output may be called 'severity'
        if head.lower() in _ANNOTATIONS and not named:
            if head.lower() in extra:
                problems.append(
                    Problem(at(0, col), f"a second {head} column", f"keep one {head} column",
                            "TV707")
                )
            extra.setdefault(head.lower(), col)
            continue
        if not head:
            if role_text or any(sheet.value(r, col) is not None for r in range(2, len(sheet.rows))):
                problems.append(
                    Problem(
                        at(0, col),
                        "the column has no heading",
                        "write the input or output it tests, or Severity, Citation or Note",
                        "TV704",
                    )
                )
            continue
        source: InputDef | OutputDef | None = by_input.get(head) or by_output.get(head)
        if source is None:
            if head not in broken:
                from engine.builder import did_you_mean  # the builder imports this module

                problems.append(
                    Problem(
                        at(0, col),
                        f"'{head}' is not an input or an output of a table",
                        did_you_mean(head, [*by_input, *by_output]),
                        "TV704",
                    )
                )
            continue
        role = _read_role(sheet, col, head, isinstance(source, InputDef), problems)
        if role is None:
            continue
        if (head, role) in taken:
            first = sheet.location(0, taken[(head, role)])
            problems.append(
                Problem(
                    at(0, col),
                    f"'{head}' already has a {role} column ({first})",
                    "put both tests in one cell, or give the second column the other role",
                    "TV704",
                )
            )
            continue
        taken[(head, role)] = col
        columns.append(_Column(col, head, role, column_type(source, lists, counts)))
    return columns, extra


def _read_role(
    sheet: Sheet, col: int, name: str, is_input: bool, problems: list[Problem]
) -> Role | None:
    at = sheet.location(1, col)
    text = text_of(sheet.value(1, col))
    if not text:
        problems.append(Problem(at, f"the column '{name}' has no role", _ROLE_FIX, "TV704"))
        return None
    role = {"when": Role.WHEN, "then": Role.THEN}.get(text.lower())
    if role is None:
        problems.append(Problem(at, f"unknown role '{text}'", _ROLE_FIX, "TV704"))
        return None
    if role is Role.THEN and is_input:
        problems.append(
            Problem(
                at,
                f"'{name}' is an input: a property can only require something of an output",
                "make this column When (the case), and put the requirement on an output",
                "TV705",
            )
        )
        return None
    return role


def _read_property(
    sheet: Sheet,
    row: int,
    columns: list[_Column],
    extra: dict[str, int],
    problems: list[Problem],
) -> SafetyProperty:
    at = sheet.location
    prop_id = text_of(sheet.value(row, 0))
    if not prop_id:
        prop_id = f"row{row + 1}"
        problems.append(
            Problem(at(row, 0), "the property has no id", "write an id such as P1", "TV707")
        )
    when: list[PropertyCell] = []
    then: list[PropertyCell] = []
    for column in columns:
        cell = _read_cell(sheet, row, column, problems)
        if cell is not None:
            (when if column.role is Role.WHEN else then).append(cell)
    if not then:
        missing = "no When and no Then" if not when else "no Then"
        problems.append(
            Problem(
                at(row, 0),
                f"property '{prop_id}' has {missing}: it requires nothing",
                "write what must hold in a Then column, for example not(\"SELF_CARE\")",
                "TV706",
            )
        )
    severity = _annotation(sheet, row, extra, "severity").lower() or "error"
    if severity not in SEVERITIES:
        problems.append(
            Problem(
                at(row, extra["severity"]),
                f"unknown severity '{_annotation(sheet, row, extra, 'severity')}'",
                "write error or warning",
                "TV707",
            )
        )
        severity = "error"
    citation = _annotation(sheet, row, extra, "citation")
    if not citation and "citation" in extra:
        problems.append(
            Problem(
                at(row, extra["citation"]),
                f"property '{prop_id}' has no citation",
                "name the source of this property, for example 'NICE NG127 1.2'",
                "TV707",
            )
        )
    return SafetyProperty(
        prop_id,
        row + 1,
        tuple(when),
        tuple(then),
        severity,
        citation,
        _annotation(sheet, row, extra, "note"),
        at(row, 0),
    )


def _annotation(sheet: Sheet, row: int, extra: dict[str, int], kind: str) -> str:
    return text_of(sheet.value(row, extra[kind])) if kind in extra else ""


def _read_cell(
    sheet: Sheet, row: int, column: _Column, problems: list[Problem]
) -> PropertyCell | None:
    raw = sheet.value(row, column.col)
    where = sheet.location(row, column.col)
    try:
        condition = parse_condition(raw)
    except CellSyntaxError as exc:
        problems.append(Problem(where, exc.message, exc.fix, exc.code))
        return None
    if isinstance(condition, AnyValue):
        return None
    ctype = column.ctype
    if ctype is not None:
        found = type_problems(condition, ctype.kind, ctype.allowed, ctype.is_list)
        for problem in found:
            problems.append(Problem(where, problem.message, problem.fix, _CODES[problem.kind]))
        if found:
            return None
    return PropertyCell(column.name, column.role, text_of(raw), condition, where)
