"""Shared fixtures: a small valid workbook as sheets, and a factory writing sheets to .xlsx.

The minimal workbook (cell positions matter: tests name the cells they expect problems at)::

    About        A1 Field | Value, then Table id, Title, Version (B4), Owner,
                 Clinical reviewer, Review date in rows 2-7

    Inputs       row 1 header; rows 2-7:
                 age_years integer [0..120] required | temperature_c number [30..45] optional
                 red_flag boolean required           | pattern enum focal, multifocal, widespread
                 duration_weeks number >= 0 required | comment text optional

    Severity     table 'severity', PRIORITY; B..E inputs red_flag, pattern, age_years,
                 temperature_c; F output severity (high, medium, low; default low);
                 G Citation, H Note; rules S1..S4 in rows 9-12

    Disposition  table 'disposition', UNIQUE; B input severity (chained); C output
                 disposition (EMERGENCY, GP, SELF_CARE); D Citation; rules D1..D3 in rows 9-11

    Tests        Test id | red_flag | pattern | age_years | temperature_c | duration_weeks |
                 severity | disposition | Note; vignettes T1..T3 in rows 2-4
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from engine.workbook import Sheet
from tests.xlsx import sheet, write_workbook


def make_minimal_sheets() -> tuple[Sheet, ...]:
    """The minimal valid workbook described in this module's docstring (a new copy)."""
    about = sheet("About", [
        ["Field", "Value"],
        ["Table id", "mini_triage"],
        ["Title", "Minimal triage"],
        ["Version", "1.0.0"],
        ["Owner", "Test team"],
        ["Clinical reviewer", "Dr Example"],
        ["Review date", "2024-01-15"],
    ])
    inputs = sheet("Inputs", [
        ["Name", "Type", "Unit", "Allowed values", "Required", "Description"],
        ["age_years", "integer", "years", "[0..120]", "yes", "Age at presentation"],
        ["temperature_c", "number", "°C", "[30..45]", "no", "Body temperature"],
        ["red_flag", "boolean", None, None, "yes", "Any red-flag symptom"],
        ["pattern", "enum", None, "focal, multifocal, widespread", "yes", "Distribution"],
        ["duration_weeks", "number", "weeks", ">= 0", "yes", "How long it has lasted"],
        ["comment", "text", None, None, "no", "Free text"],
    ])
    severity = sheet("Severity", [
        ["Table", "severity"],
        ["Hit policy", "PRIORITY"],
        ["Description", "How serious the presentation is"],
        [],
        ["Kind", "Input", "Input", "Input", "Input", "Output", "Citation", "Note"],
        ["Name", "red_flag", "pattern", "age_years", "temperature_c", "severity"],
        ["Output values", None, None, None, None, "high, medium, low"],
        ["Default", None, None, None, None, "low"],
        ["S1", True, "-", "-", "-", "high", "Example guideline 1.1", "any red flag"],
        ["S2", "-", "widespread", ">= 65", "-", "medium", "Example guideline 1.2"],
        ["S3", "-", "-", "-", "> 38.5", "medium", "Example guideline 1.3"],
        ["S4", False, '"focal", "multifocal"', "[18..64]", "-", "low", "Example guideline 1.4"],
    ])
    disposition = sheet("Disposition", [
        ["Table", "disposition"],
        ["Hit policy", "UNIQUE"],
        ["Description", "Where the patient goes"],
        [],
        ["Kind", "Input", "Output", "Citation"],
        ["Name", "severity", "disposition"],
        ["Output values", None, "EMERGENCY, GP, SELF_CARE"],
        ["Default"],
        ["D1", '"high"', "EMERGENCY", "Local pathway 1"],
        ["D2", '"medium"', "GP", "Local pathway 2"],
        ["D3", '"low"', "SELF_CARE", "Local pathway 3"],
    ])
    tests = sheet("Tests", [
        ["Test id", "red_flag", "pattern", "age_years", "temperature_c", "duration_weeks",
         "severity", "disposition", "Note"],
        ["T1", True, "focal", 40, None, 2, "high", "EMERGENCY", "red flag"],
        ["T2", False, "widespread", 70, 37.5, 2, "medium", "GP", "older, widespread"],
        ["T3", False, "focal", 30, None, 2, "low", "SELF_CARE", "nothing of concern"],
    ])
    return (about, inputs, severity, disposition, tests)


@pytest.fixture
def minimal_sheets() -> tuple[Sheet, ...]:
    """A small valid workbook as :class:`Sheet` objects (see the module docstring)."""
    return make_minimal_sheets()


@pytest.fixture
def tmp_workbook(tmp_path: Path) -> Callable[..., Path]:
    """A factory: ``tmp_workbook(sheets, name='book.xlsx')`` writes ``sheets`` to an .xlsx
    file in the test's temporary directory and returns its path."""
    counter = iter(range(1_000_000))

    def write(sheets: Sequence[Sheet], name: str | None = None) -> Path:
        return write_workbook(tmp_path / (name or f"book{next(counter)}.xlsx"), sheets)

    return write
