"""The corpus of broken workbooks: each case breaks the valid workbook of
``tests/validation/workbooks.py`` in one place and names the code and the cell the validator
must report. Every check code is exercised here or, for unreadable files, in
``test_hostile.py``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.errors import Location, Problem
from engine.validation import CHECKS, Finding, Severity, validate
from engine.validation import layout as layout_module
from engine.validation.problems import classify
from engine.workbook import Sheet
from tests.validation.test_hostile import HOSTILE_CODES
from tests.validation.workbooks import (
    Post,
    base_sheets,
    build,
    replace_part,
    sheet_part,
    with_openpyxl,
)
from tests.xlsx import append_rows, remove_sheet, set_cells, sheet

Change = Callable[[tuple[Sheet, ...]], tuple[Sheet, ...]]


def cells(name: str, **values: Any) -> Change:
    return lambda sheets: set_cells(sheets, name, values)


def rows(name: str, *new: list[Any]) -> Change:
    return lambda sheets: append_rows(sheets, name, *new)


def both(*changes: Change) -> Change:
    def apply(sheets: tuple[Sheet, ...]) -> tuple[Sheet, ...]:
        for change in changes:
            sheets = change(sheets)
        return sheets

    return apply


def without(name: str) -> Change:
    return lambda sheets: remove_sheet(sheets, name)


def _drop_last_row(sheets: tuple[Sheet, ...], name: str) -> tuple[Sheet, ...]:
    return tuple(sheet(s.name, s.rows[:-1]) if s.name == name else s for s in sheets)


def rename(old: str, new: str) -> Change:
    return lambda sheets: tuple(sheet(new, s.rows) if s.name == old else s for s in sheets)


def _merge(book: Any) -> None:
    book["Severity"].merge_cells("C10:C11")


def _hide_row(book: Any) -> None:
    book["Severity"].row_dimensions[12].hidden = True


def _error_value(book: Any) -> None:
    book["Severity"]["D12"] = "#N/A"  # openpyxl stores this as an error value


def _formula(book: Any) -> None:
    book["Severity"]["E11"] = "=30+8.5"


SAVED_FORMULA = replace_part(
    sheet_part("Severity"),
    b'<c r="D10" t="inlineStr"><is><t>&gt;= 65</t></is></c>',
    b'<c r="D10" t="str"><f>"&gt;= "&amp;65</f><v>&gt;= 65</v></c>',
)
EXTRA_TABLE = [
    ["Table", "extra"],
    ["Hit policy", "UNIQUE"],
    ["Description"],
    [],
    ["Kind", "Input", "Output", "Citation"],
    ["Name", "comment", "extra"],
    ["Output values"],
    ["Default"],
    ["E1", '"a"', "x", "source"],
    ["E2", '"b"', "y", "source"],
]


SAFETY = [
    ["Property", "red_flag", "temperature_c", "disposition", "Severity", "Citation"],
    ["Role", "When", "When", "Then"],
    ["P1", True, None, '"EMERGENCY"', "error", "Local pathway 1"],
]


def with_safety(**values: Any) -> Change:
    """The base workbook with a Safety sheet (whose one property holds), cells changed."""
    return lambda s: set_cells((*s, sheet("Safety", SAFETY)), "Safety", values)


@dataclass(frozen=True)
class Case:
    id: str
    code: str
    sheet: str | None
    cell: str | None
    change: Change
    post: Post | None = None
    rules: tuple[str, ...] = ()


CASES = [
    # --- structure ---
    Case("missing-inputs-sheet", "TV101", None, None, without("Inputs")),
    Case(
        "no-table",
        "TV102",
        None,
        None,
        both(without("Severity"), without("Disposition"), without("Tests")),
    ),
    Case("misnamed-sheet", "TV103", "Input", None, rename("Inputs", "Input")),
    Case("table-a1-typo", "TV103", "Severity", "A1", cells("Severity", A1="Tabel")),
    Case("notes-sheet", "TV124", "Notes", None, lambda s: (*s, sheet("Notes", [["Read me"]]))),
    Case("inputs-header", "TV104", "Inputs", "C1", cells("Inputs", C1="Units")),
    Case("hit-policy-label", "TV104", "Severity", "A2", cells("Severity", A2="Policy")),
    Case("tests-first-column", "TV104", "Tests", "A1", cells("Tests", A1="Case")),
    Case("about-version", "TV105", "About", "B4", cells("About", B4="1.0")),
    Case("table-name", "TV106", "Severity", "B1", cells("Severity", B1="Severity table")),
    Case("input-name", "TV106", "Inputs", "A2", cells("Inputs", A2="Age years")),
    Case(
        "input-twice",
        "TV107",
        "Inputs",
        "A6",
        rows("Inputs", ["age_years", "integer", None, None, "yes", None]),
    ),
    Case("unknown-input", "TV108", "Severity", "D6", cells("Severity", D6="age")),
    Case(
        "output-named-as-input", "TV109", "Disposition", "C6", cells("Disposition", C6="red_flag")
    ),
    Case("column-kind", "TV110", "Severity", "E5", cells("Severity", E5="Inptu")),
    Case("tests-undeclared-output", "TV111", "Tests", "I1", cells("Tests", I1="urgency")),
    Case("values-under-input", "TV112", "Severity", "B7", cells("Severity", B7="yes")),
    Case("hit-policy", "TV113", "Severity", "B2", cells("Severity", B2="HIGHEST")),
    Case("no-citation", "TV114", "Severity", "G10", cells("Severity", G10=None)),
    Case("rule-id-twice", "TV115", "Severity", "A11", cells("Severity", A11="S1")),
    Case(
        "too-many-alternatives",
        "TV116",
        "Severity",
        "A10",
        cells(  # 60 ages x 16 temperatures, none next to another: 960 alternatives
            "Severity",
            D10=", ".join(str(n) for n in range(1, 120, 2)),
            D12=", ".join(str(n) for n in range(2, 120, 2)),
            E10=", ".join(str(n) for n in range(30, 46)),
            E12=", ".join(str(n + 0.5) for n in range(30, 45)),
        ),
    ),
    Case("input-type", "TV117", "Inputs", "B3", cells("Inputs", B3="decimal")),
    Case("enum-without-values", "TV118", "Inputs", "D5", cells("Inputs", D5=None)),
    Case("required", "TV119", "Inputs", "E2", cells("Inputs", E2="maybe")),
    Case("merged", "TV120", "Severity", "C10", lambda s: s, with_openpyxl(_merge)),
    Case("hidden-row", "TV121", "Severity", "A12", lambda s: s, with_openpyxl(_hide_row)),
    Case("formula-with-result", "TV122", "Severity", "D10", lambda s: s, SAVED_FORMULA),
    Case("formula-no-result", "TV123", "Severity", "E11", lambda s: s, with_openpyxl(_formula)),
    Case("error-value", "TV125", "Severity", "D12", lambda s: s, with_openpyxl(_error_value)),
    # --- cells ---
    Case("syntax", "TV201", "Severity", "D10", cells("Severity", D10=">= 65 and")),
    Case("wrong-type", "TV202", "Severity", "E11", cells("Severity", E11='"hot"')),
    Case("not-allowed", "TV203", "Severity", "C12", cells("Severity", C12="everywhere")),
    Case(
        "outside-range", "TV204", "Severity", "D11", cells("Severity", D11=">= 200"), None, ("S3",)
    ),
    Case("output-not-listed", "TV205", "Severity", "F10", cells("Severity", F10="severe")),
    Case("reversed-range", "TV206", "Severity", "D12", cells("Severity", D12="[64..18]")),
    Case(
        "never-matches",
        "TV207",
        "Severity",
        "C11",
        cells("Severity", C11="not(focal, multifocal, widespread)"),
    ),
    Case("null-on-required", "TV207", "Severity", "B12", cells("Severity", B12="null")),
    Case("dead-item", "TV208", "Severity", "D11", cells("Severity", D11="null, > 70")),
    # --- hit policy ---
    Case(
        "unique-overlap",
        "TV301",
        "Disposition",
        "A10",
        cells("Disposition", B10='"high"'),
        None,
        ("D1", "D2"),
    ),
    Case(
        "any-conflict",
        "TV302",
        "Disposition",
        "A9",
        cells("Disposition", B2="ANY", B10='"high"'),
        None,
        ("D1", "D2"),
    ),
    Case(
        "gap",
        "TV303",
        "Disposition",
        "C8",
        cells("Disposition", A11=None, B11=None, C11=None, D11=None),
    ),
    Case(
        "duplicate",
        "TV304",
        "Severity",
        "A13",
        rows("Severity", ["S5", "-", "widespread", ">= 65", "-", "medium", "Example 1.5"]),
        None,
        ("S2", "S5"),
    ),
    Case(
        "covered-same-output",
        "TV305",
        "Severity",
        "A13",
        rows("Severity", ["S5", "-", "widespread", ">= 70", "-", "medium", "Example 1.5"]),
        None,
        ("S5", "S2"),
    ),
    Case(
        "masked-priority",
        "TV306",
        "Severity",
        "A13",
        rows("Severity", ["S5", True, '"focal"', "-", "-", "low", "Example 1.5"]),
        None,
        ("S5", "S1"),
    ),
    Case(
        "masked-by-union-first",
        "TV306",
        "Disposition",
        "A12",
        both(
            cells("Disposition", B2="FIRST"),
            rows("Disposition", ["D4", '"high", "medium"', "GP", "Local pathway 4"]),
        ),
        None,
        ("D4", "D1", "D2"),
    ),
    Case(
        "output-never-given",
        "TV307",
        "Severity",
        "F7",
        cells("Severity", F7="critical, high, medium, low"),
    ),
    Case(
        "priority-without-order",
        "TV308",
        "Disposition",
        "C7",
        cells("Disposition", B2="PRIORITY", C7=None),
    ),
    # --- chaining ---
    Case("chained-type", "TV401", "Disposition", "B10", cells("Disposition", B10="> 5")),
    Case(
        "cycle",
        "TV402",
        "Severity",
        "A1",
        cells("Severity", E6="disposition", E11="-"),
    ),
    Case(
        "unused-input",
        "TV403",
        "Inputs",
        "A6",
        rows("Inputs", ["weight_kg", "number", "kg", ">= 0", "no", "Weight"]),
    ),
    Case(
        "value-never-given",
        "TV404",
        "Disposition",
        "B11",
        both(cells("Severity", F7=None), cells("Disposition", B11='"lo"')),
    ),
    # --- vignettes ---
    Case("vignette-fails", "TV501", "Tests", "G3", cells("Tests", G3="EMERGENCY")),
    Case("vignette-missing-fact", "TV502", "Tests", "A2", cells("Tests", D2=None)),
    Case("tests-bad-value", "TV503", "Tests", "B2", cells("Tests", B2="maybe")),
    Case("no-tests", "TV504", None, None, without("Tests")),
    # --- safety properties ---
    Case("property-fails", "TV701", "Safety", "A3", with_safety(B3=False)),
    Case("property-never-applies", "TV703", "Safety", "A3", with_safety(C3="> 50")),
    Case("safety-unknown-name", "TV704", "Safety", "D1", with_safety(D1="dispositon")),
    Case("safety-then-on-input", "TV705", "Safety", "B2", with_safety(B2="Then")),
    Case("property-without-then", "TV706", "Safety", "A3", with_safety(D3=None)),
    Case("property-bad-severity", "TV707", "Safety", "E3", with_safety(E3="critical")),
    Case("rule-not-covered", "TV505", "Severity", "A11", lambda s: _drop_last_row(s, "Tests")),
    # --- output cells and reading tables ---
    Case("empty-output-cell", "TV209", "Disposition", "C10", cells("Disposition", C10=None)),
    Case("bare-number", "TV210", "Severity", "E11", cells("Severity", E11=38.5)),
    Case(
        "value-nobody-reads",
        "TV405",
        "Disposition",
        "B6",
        cells("Severity", F7="critical, high, medium, low", F9="critical"),
    ),
    # --- not analysed ---
    Case("deeper-checks-wait", "TV601", None, None, cells("Severity", D10=">= 65 and")),
    Case(
        "free-text",
        "TV603",
        "Extra",
        "B6",
        both(
            rows("Inputs", ["comment", "text", None, None, "no", "Free text"]),
            lambda s: (*s, sheet("Extra", EXTRA_TABLE)),
        ),
    ),
]


def _show(findings: list[Finding]) -> str:
    return "\n".join(str(f) for f in findings)


def test_the_base_workbook_is_clean(tmp_path: Path) -> None:
    report = validate(build(tmp_path / "base.xlsx", base_sheets()))
    assert report.findings == [], _show(report.findings)
    assert report.exit_code() == 0
    assert [v.passed for v in report.vignettes] == [True, True, True, True]
    assert report.covered() == (7, 7)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.code}-{c.id}")
def test_broken_workbook_is_reported_at_its_cell(case: Case, tmp_path: Path) -> None:
    path = build(tmp_path / f"{case.id}.xlsx", case.change(base_sheets()), case.post)
    report = validate(path)
    matching = [
        f
        for f in report.findings
        if f.code == case.code
        and f.sheet == case.sheet
        and (case.cell is None or case.cell in f.cells)
    ]
    assert matching, f"no {case.code} at {case.sheet}!{case.cell}; found:\n{_show(report.findings)}"
    found = matching[0]
    assert found.severity is CHECKS[case.code].severity
    assert found.message and found.fix
    assert set(case.rules) <= set(found.rules), found.rules
    assert report.readable
    expected_exit = 1 if any(f.severity is Severity.ERROR for f in report.findings) else 0
    assert report.exit_code() == expected_exit
    assert not any("the validator failed" in f.message for f in report.findings)
    uncoded = [f for f in report.findings if f.code == "TV199"]
    assert not uncoded, f"problems found without their check's code:\n{_show(uncoded)}"


def test_analysis_out_of_budget_is_reported_not_skipped(tmp_path: Path) -> None:
    report = validate(build(tmp_path / "book.xlsx", base_sheets()), max_nodes=1)
    stopped = [f for f in report.findings if f.code == "TV602"]
    assert {(f.sheet, f.cells) for f in stopped} >= {("Disposition", ("A1",))}
    assert all(f.severity is Severity.INFO for f in stopped)


def test_layout_not_checked_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout_module, "MAX_LAYOUT_CELLS", 10)
    report = validate(build(tmp_path / "book.xlsx", base_sheets()))
    assert [f.code for f in report.findings] == ["TV604"]
    assert report.exit_code() == 0


def test_unrecognised_problem_keeps_its_message() -> None:
    problem = Problem(Location("Somewhere", "B2"), "a brand new kind of problem", "fix it")
    [found] = classify([problem])
    assert (found.code, found.sheet, found.cells, found.message) == (
        "TV199",
        "Somewhere",
        ("B2",),
        "a brand new kind of problem",
    )


ELSEWHERE = {"TV199", "TV602", "TV604"}  # the three tests above
ELSEWHERE |= {"TV702"}  # a property not proven: tests/prover/test_prover.py
DMN_ONLY = {"TV126", "TV127"}  # DMN models: tests/test_dmn.py
ELSEWHERE |= {"TV801"}  # test_release.py: only `--release` looks for it


def test_every_check_code_is_exercised() -> None:
    exercised = {c.code for c in CASES} | ELSEWHERE | HOSTILE_CODES | DMN_ONLY
    assert exercised == set(CHECKS)


def test_every_check_code_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "validation.md").read_text("utf-8")
    for check in CHECKS.values():
        assert f"| `{check.code}` | {check.severity.value} | {check.title} |" in text
