"""A workbook holding every kind of cell a clinician writes, with drop-downs, to send through
LibreOffice: booleans (inputs, outputs, expected values), whole and decimal numbers (38 and
38.0, 37.5), dates, text (quoted, unquoted, with double spaces and line breaks, text that
looks like a number or a boolean), enums, empty cells, ``-``, ranges and other unary tests.

It is the small valid workbook of :mod:`tests.validation.workbooks` with more rows, so
that it validates clean before LibreOffice touches it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from engine.workbook import Sheet
from tests.validation.workbooks import base_sheets, build, with_openpyxl
from tests.xlsx import sheet

ENUMS = '"-,focal,multifocal,widespread"'
BOOLEANS = '"true,false,-"'


def every_kind_sheets() -> tuple[Sheet, ...]:
    about, inputs, _, _, _ = base_sheets()
    about = sheet(
        "About",
        [
            *about.rows[:6],
            ["Review date", dt.date(2024, 1, 15)],  # a date cell, not text
            ["Description", "Line one\nLine  two, ≥ 3"],
        ],
    )
    inputs = sheet(
        "Inputs", [*inputs.rows, ["weight_kg", "number", "kg", "(0..500]", "no", "Weight"]]
    )
    return (about, inputs, _severity(), _disposition(), _tests())


def _severity() -> Sheet:
    names = ["red_flag", "pattern", "age_years", "temperature_c", "weight_kg", "severity"]
    return sheet(
        "Severity",
        [
            ["Table", "severity"],
            ["Hit policy", "PRIORITY"],
            ["Description", "How serious the presentation is"],
            [],
            ["Kind", "Input", "Input", "Input", "Input", "Input", "Output", "Citation", "Note"],
            ["Name", *names],
            ["Output values", None, None, None, None, None, "high, medium, low"],
            ["Default", None, None, None, None, None, "low"],
            ["S1", True, "-", "-", "-", "-", "high", "Example guideline 1.1", "any red flag"],
            ["S2", "-", "widespread", ">= 65", "-", None, "medium", "Example guideline 1.2"],
            ["S3", "-", "-", "-", "> 38.5", "-", "medium", "Example guideline 1.3"],
            ["S4", False, '"focal", "multifocal"', "[18..64]", "-", "-", "low", "Guide 1.4"],
            ["S5", "-", 'not("focal")', "]90..120]", "-", "-", "high", "Example guideline 1.5"],
            ["S6", "-", "-", 41, "-", "-", "medium", "Example guideline 1.6", "a number"],
            ["S7", "-", "-", "-", "≥ 39", ">= 150", "high", "Example guideline 1.7"],
            ["S8", "-", "-", 38, "-", "-", "medium", "Example guideline 1.8", "38, a number"],
            ["S9", "-", "-", "-", "null", "[0..5)", "medium", "Example guideline 1.9"],
        ],
    )


def _disposition() -> Sheet:
    return sheet(
        "Disposition",
        [
            ["Table", "disposition"],
            ["Hit policy", "UNIQUE"],
            ["Description", "Where the patient goes"],
            [],
            ["Kind", "Input", "Output", "Output", "Citation"],
            ["Name", "severity", "disposition", "urgent"],
            ["Output values", None, "EMERGENCY, GP, SELF_CARE"],
            ["Default"],
            ["D1", '"high"', "EMERGENCY", True, "Local pathway 1"],
            ["D2", '"medium"', "GP", False, "Local pathway 2"],
            ["D3", '"low"', "SELF_CARE", False, "Local pathway 3"],
        ],
    )


def _tests() -> Sheet:
    inputs = ["red_flag", "pattern", "age_years", "temperature_c", "weight_kg"]
    return sheet(
        "Tests",
        [
            ["Test id", *inputs, "severity", "disposition", "urgent", "Note"],
            ["T1", True, "focal", 40, None, None, "high", "EMERGENCY", True, "red flag"],
            ["T2", False, "widespread", 70, 37.5, 80, "medium", "GP", False, "older"],
            ["T3", False, "focal", 30, None, 70.5, "low", "SELF_CARE", False, dt.date(2023, 3, 9)],
            ["T4", False, "multifocal", 95, 36.6, None, "high", "EMERGENCY", True, "TRUE"],
            ["T5", False, "focal", 30, 38.6, None, "medium", "GP", False, "007"],
            ["T6", False, "focal", 30, 38.0, 200.25, "low", "SELF_CARE", False, "38.0, a number"],
            ["T7", False, "focal", 38, None, 60, "medium", "GP", False, "  two  spaces "],
            ["T8", False, "focal", 20, None, 2, "medium", "GP", False, "line one\nline two"],
            ["T9", False, "focal", 30, 39.5, 160, "high", "EMERGENCY", True, None],
            ["T10", False, "focal", 41, 37.0, None, "medium", "GP", False, 41],
        ],
    )


def _dropdowns(book: Any) -> None:
    """Lists on the rule cells, as a clinician's template has them."""
    from openpyxl.worksheet.datavalidation import DataValidation

    for sheet_name, column, values in (
        ("Severity", "B", BOOLEANS),
        ("Severity", "C", ENUMS),
        ("Disposition", "D", BOOLEANS),
        ("Inputs", "B", '"boolean,number,integer,enum,text"'),
        ("Inputs", "E", '"yes,no"'),
    ):
        first = 2 if sheet_name == "Inputs" else 9
        check = DataValidation(type="list", formula1=values, allow_blank=True)
        check.add(f"{column}{first}:{column}40")
        book[sheet_name].add_data_validation(check)


def write_every_kind(path: Path) -> Path:
    return build(path, every_kind_sheets(), with_openpyxl(_dropdowns))
