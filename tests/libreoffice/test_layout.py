"""What cell values do not show — merged cells, hidden sheets, rows and columns, formulas,
error values — is found in a workbook LibreOffice saved, as .xlsx and as .ods, at the same
cells as in the workbook Excel (here openpyxl) wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.validation import Finding, validate
from tests.libreoffice.office import FILTERS, Office
from tests.validation.test_corpus import SAVED_FORMULA  # D10: a formula with its result
from tests.validation.workbooks import base_sheets, build, with_openpyxl

LAYOUT_CODES = {"TV120", "TV121", "TV122", "TV123", "TV125"}


def _everything(book: Any) -> None:
    severity = book["Severity"]
    severity.merge_cells("C10:C11")
    severity.row_dimensions[12].hidden = True
    severity.column_dimensions["H"].hidden = True
    severity["E11"] = "=30+8.5"  # no saved result: openpyxl computes nothing
    severity["D12"] = "#N/A"  # an error value
    book["Disposition"].sheet_state = "hidden"


@pytest.fixture(scope="module")
def saved(office: Office, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("layout")
    original = build(root / "layout.xlsx", base_sheets(), with_openpyxl(_everything))
    SAVED_FORMULA(original)
    paths = {"original": original, ".xlsx": root / "resaved.xlsx", ".ods": root / "resaved.ods"}
    outputs = [{"dst": str(paths[s]), "filter": FILTERS[s]} for s in (".xlsx", ".ods")]
    office.run([{"src": str(original), "outputs": outputs}])
    return paths


def _layout(findings: list[Finding]) -> list[tuple[str, str | None, tuple[str, ...]]]:
    return sorted((f.code, f.sheet, f.cells) for f in findings if f.code in LAYOUT_CODES)


def test_the_original_shows_every_layout_finding(saved: dict[str, Path]) -> None:
    assert _layout(validate(saved["original"]).findings) == [
        ("TV120", "Severity", ("C10", "C11")),
        ("TV121", "Disposition", ()),
        ("TV121", "Severity", ("A12",)),
        ("TV121", "Severity", ("H1",)),
        ("TV122", "Severity", ("D10",)),
        ("TV123", "Severity", ("E11",)),
        ("TV125", "Severity", ("D12",)),
    ]


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_libreoffice_keeps_every_layout_finding(saved: dict[str, Path], suffix: str) -> None:
    """The same findings at the same cells, with one change LibreOffice makes on purpose:
    it computes a formula that has no saved result, so E11 now has one (TV122, 38.5)."""
    expected = [
        ("TV122", "Severity", ("E11",)) if finding[1:] == ("Severity", ("E11",)) else finding
        for finding in _layout(validate(saved["original"]).findings)
    ]
    found = validate(saved[suffix]).findings
    assert _layout(found) == sorted(expected)
    e11 = next(f for f in found if f.cells == ("E11",))
    assert "'=30+8.5'; its last saved result 38.5" in e11.message


def test_xlsx_and_ods_from_libreoffice_read_alike(saved: dict[str, Path]) -> None:
    xlsx, ods = validate(saved[".xlsx"]), validate(saved[".ods"])
    assert [str(f) for f in ods.findings] == [str(f) for f in xlsx.findings]
