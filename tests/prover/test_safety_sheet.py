"""Reading the Safety sheet: every mistake is a problem at its cell, with a fix and a code.

The base is the conftest's minimal workbook (Severity PRIORITY -> Disposition UNIQUE) with
this Safety sheet; each case changes one cell and names the cell, code and words expected::

        A         B          C              D            E            F         G
    1   Property  red_flag   temperature_c  severity     disposition  Severity  Citation
    2   Role      When       When           Then         Then
    3   P1        true       -              "high"       "EMERGENCY"  error     guideline 1
    4   P2        -          null           -            not("SELF_CARE")  warning  guideline 2
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.builder import build_model
from engine.conditions import AnyOf, Equals, IsNull, NoneOf
from engine.errors import Problem, WorkbookError
from engine.model import Role
from engine.workbook import Sheet
from tests.conftest import make_minimal_sheets

ROWS: list[list[Any]] = [
    ["Property", "red_flag", "temperature_c", "severity", "disposition", "Severity", "Citation"],
    ["Role", "When", "When", "Then", "Then"],
    ["P1", True, "-", '"high"', '"EMERGENCY"', "error", "guideline 1"],
    ["P2", None, "null", None, 'not("SELF_CARE")', "warning", "guideline 2"],
]


def safety(**cells: Any) -> Sheet:
    """The Safety sheet with cells changed, e.g. ``safety(D1="x")``."""
    rows = [list(r) for r in ROWS]
    for name, value in cells.items():
        col = ord(name[0]) - ord("A")
        row = int(name[1:]) - 1
        while len(rows) <= row:
            rows.append([])
        rows[row] += [None] * (col + 1 - len(rows[row]))
        rows[row][col] = value
    return Sheet("Safety", tuple(tuple(r) for r in rows))


def problems_of(sheets: list[Sheet]) -> list[Problem]:
    with pytest.raises(WorkbookError) as caught:
        build_model(sheets, "v")
    return list(caught.value.problems)


def test_the_base_safety_sheet_reads() -> None:
    model = build_model([*make_minimal_sheets(), safety()], "v")
    p1, p2 = model.properties
    assert (p1.property_id, p1.row, p1.severity, p1.citation) == ("P1", 3, "error", "guideline 1")
    assert [(c.name, c.role, c.condition) for c in p1.when] == [
        ("red_flag", Role.WHEN, AnyOf((Equals(True),)))
    ]
    assert [c.name for c in p1.then] == ["severity", "disposition"]
    assert str(p1.then[1].location) == "Safety!E3"
    assert [(c.name, c.condition) for c in p2.when] == [("temperature_c", AnyOf((IsNull(),)))]
    assert p2.then[0].condition == NoneOf((Equals("SELF_CARE"),))
    assert p2.severity == "warning"


def test_a_safety_sheet_is_part_of_the_version() -> None:
    from engine.loader import content_version

    base = [*make_minimal_sheets(), safety()]
    changed = [*make_minimal_sheets(), safety(E3='"GP"')]
    assert content_version(base) != content_version(changed)


CASES = [
    # (changed cells, cell, code, words in the message, words in the fix)
    ({"D1": "severty"}, "D1", "TV704", "'severty' is not an input or an output",
     "did you mean 'severity'?"),
    ({"B3": ">= 5 and"}, "B3", "TV201", "unexpected 'and'", "separate alternatives"),
    ({"C3": '"hot"'}, "C3", "TV202", "'\"hot\"' is not a number", "write a number"),
    ({"E3": '"URGENT"'}, "E3", "TV203", "'URGENT' is not one of the allowed values",
     '"EMERGENCY", "GP", "SELF_CARE"'),
    ({"E3": "> 3"}, "E3", "TV202", "compares order", "write one of"),
    ({"C3": "[40..35]"}, "C3", "TV206", "contains no value", "smaller bound first"),
    ({"B2": "Then"}, "B2", "TV705", "'red_flag' is an input", "make this column When"),
    ({"C2": None}, "C2", "TV704", "has no role", "write When"),
    ({"C2": "If"}, "C2", "TV704", "unknown role 'If'", "write When"),
    ({"D3": None, "E3": None}, "A3", "TV706", "property 'P1' has no Then", "Then column"),
    ({"B3": None, "D3": None, "E3": None}, "A3", "TV706", "has no When and no Then",
     "Then column"),
    ({"G3": None}, "G3", "TV707", "property 'P1' has no citation", "name the source"),
    ({"F4": "critical"}, "F4", "TV707", "unknown severity 'critical'", "error or warning"),
    ({"A4": "P1"}, "A4", "TV707", "property id 'P1' is used twice (also at Safety!A3)",
     "its own id"),
    ({"A3": None}, "A3", "TV707", "the property has no id", "such as P1"),
    ({"G1": "Source", "G3": None, "G4": None}, "G1", "TV704", "'Source' is not an input",
     ""),
    ({"A1": "Rule"}, "A1", "TV707", "must read 'Property'", "write Property"),
    ({"A2": "Roles"}, "A2", "TV704", "must read 'Role'", "write Role"),
    ({"H3": "x"}, "H1", "TV704", "the column has no heading", "Severity, Citation or Note"),
    ({"H1": "disposition", "H2": "Then"}, "H1", "TV704", "'disposition' already has a Then "
     "column (Safety!E1)", "put both tests in one cell"),
]


@pytest.mark.parametrize(
    ("changes", "cell", "code", "message", "fix"),
    CASES,
    ids=[f"{c[2]}-{c[1]}-{c[3][:24]}" for c in CASES],
)
def test_bad_safety_cells(
    changes: dict[str, Any], cell: str, code: str, message: str, fix: str
) -> None:
    found = problems_of([*make_minimal_sheets(), safety(**changes)])
    at_cell = [p for p in found if p.location and p.location.cell == cell]
    assert at_cell, f"no problem at {cell}: {[str(p) for p in found]}"
    problem = at_cell[0]
    assert problem.location is not None and problem.location.sheet == "Safety"
    assert (problem.code, message in problem.message, fix in problem.fix) == (code, True, True), (
        str(problem)
    )


def test_no_citation_column() -> None:
    rows = [r[:6] for r in ROWS]
    found = problems_of([*make_minimal_sheets(), Sheet("Safety", tuple(map(tuple, rows)))])
    assert [(str(p.location), p.code) for p in found] == [("Safety!G1", "TV707")]
    assert "no Citation column" in found[0].message


def test_a_safety_sheet_without_tables() -> None:
    about, inputs, *_ = make_minimal_sheets()
    found = problems_of([about, inputs, safety()])
    at_safety = [p for p in found if p.location and p.location.sheet == "Safety"]
    assert [(p.location.cell, p.code) for p in at_safety if p.location] == [("A1", "TV704")]
    assert "the workbook has none" in at_safety[0].message


def test_an_output_named_like_an_annotation_column() -> None:
    """'severity' (an output) and 'Severity' (the column of levels) are told apart."""
    model = build_model([*make_minimal_sheets(), safety()], "v")
    assert model.properties[0].then[0].name == "severity"
    assert model.properties[1].severity == "warning"


def test_findings_carry_the_codes(tmp_workbook: Any) -> None:
    from engine.validation import validate

    path = tmp_workbook([*make_minimal_sheets(), safety(B2="Then", F4="critical")])
    report = validate(path)
    codes = {(f.sheet, f.cells, f.code) for f in report.findings}
    assert ("Safety", ("B2",), "TV705") in codes
    assert ("Safety", ("F4",), "TV707") in codes
    assert report.exit_code() == 1
