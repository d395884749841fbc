"""The release gate (`triage validate --release`) and rule coverage."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.model import About
from engine.release import release_problems, review_status
from engine.validation import Severity, validate
from engine.workbook import Sheet
from tests.validation.workbooks import base_sheets, build
from tests.xlsx import remove_sheet, set_cells, sheet


def _book(tmp_path: Path, sheets: tuple[Sheet, ...]) -> Path:
    return build(tmp_path / "book.xlsx", sheets)


def test_a_reviewed_covered_workbook_is_releasable(tmp_path: Path) -> None:
    report = validate(_book(tmp_path, base_sheets()), release=True)
    assert report.findings == []
    assert report.exit_code() == 0 and report.release


@pytest.mark.parametrize(
    ("cell", "value", "words"),
    [
        ("B6", "Pending clinical review", "placeholder"),
        ("B6", "TBD", "placeholder"),
        ("B6", "-", "placeholder"),
        ("B6", None, "empty"),
        ("B6", "12345", "does not name a reviewer"),
        ("B5", "n/a", "placeholder"),
        ("B7", "Pending", "placeholder"),
        ("B7", "2999-01-01", "in the future"),
        ("B7", "last spring", "not a date"),
    ],
)
def test_review_fields_that_are_not_filled_in_block_a_release(
    tmp_path: Path, cell: str, value: str | None, words: str
) -> None:
    path = _book(tmp_path, set_cells(base_sheets(), "About", {cell: value}))
    released = validate(path, release=True)
    [found] = [f for f in released.findings if f.code == "TV801"]
    assert (found.sheet, found.cells, found.severity) == ("About", (cell,), Severity.ERROR)
    assert words in found.message and found.fix
    assert released.exit_code() == 1
    draft = validate(path)  # a draft may be validated and served as a draft
    assert not any(f.code == "TV801" for f in draft.findings)
    assert draft.exit_code() == 0


def test_an_uncovered_rule_is_a_warning_that_blocks_a_release(tmp_path: Path) -> None:
    tests = next(s for s in base_sheets() if s.name == "Tests")
    sheets = (*remove_sheet(base_sheets(), "Tests"), sheet("Tests", tests.rows[:-1]))
    path = _book(tmp_path, sheets)
    report = validate(path)
    [found] = [f for f in report.findings if f.code == "TV505"]
    assert (found.sheet, found.cells, found.rules) == ("Severity", ("A11",), ("S3",))
    assert report.exit_code() == 0 and report.covered() == (6, 7)
    assert report.coverage["severity"]["S3"] == []
    assert report.coverage["severity"]["S1"] == ["T1"]
    assert validate(path, release=True).exit_code() == 1


def test_without_vignettes_a_release_needs_every_rule_covered(tmp_path: Path) -> None:
    path = _book(tmp_path, remove_sheet(base_sheets(), "Tests"))
    assert [f.code for f in validate(path).findings] == ["TV504"]
    released = validate(path, release=True)
    assert sorted(f.rules[0] for f in released.findings if f.code == "TV505") == sorted(
        ["S1", "S2", "S3", "S4", "D1", "D2", "D3"]
    )


def test_release_and_coverage_on_the_command_line(tmp_path: Path) -> None:
    path = _book(tmp_path, set_cells(base_sheets(), "About", {"B7": "Pending"}))
    triage = ["validate", str(path)]
    draft = CliRunner().invoke(main, triage)
    assert draft.exit_code == 0
    assert draft.output.rstrip().endswith("7 of 7 rules covered")
    gate = CliRunner().invoke(main, [*triage, "--release"])
    assert gate.exit_code == 1
    assert "NOT RELEASABLE" in gate.output and "TV801" in gate.output
    data = json.loads(CliRunner().invoke(main, [*triage, "--format", "json"]).output)
    assert data["summary"]["rules_covered"] == data["summary"]["rules"] == 7
    assert data["coverage"]["disposition"] == {"D1": ["T1"], "D2": ["T2", "T4"], "D3": ["T3"]}


def test_review_status_reads_like_a_sentence() -> None:
    reviewed = About("t", owner="Team", clinical_reviewer="Dr A", review_date="2026-01-02")
    assert review_status(reviewed) == "reviewed by Dr A on 2026-01-02"
    draft = About("t", owner="Team", clinical_reviewer="Pending", review_date="")
    assert review_status(draft).startswith("draft")
    assert "Clinical reviewer" in review_status(draft) and "Review date" in review_status(draft)
    assert release_problems(reviewed, today=dt.date(2026, 1, 1))  # reviewed "tomorrow"
    assert not release_problems(reviewed, today=dt.date(2026, 1, 2))
