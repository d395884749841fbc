"""A small valid workbook as rows, and helpers that break it in one place.

The validator's corpus (``test_corpus.py``) names the cell each broken workbook must be
reported at, so the layout below matters::

    About        Table id, Title, Version (B4), Owner, Clinical reviewer, Review date
    Inputs       row 1 header; rows 2-5: age_years integer [0..120] yes |
                 temperature_c number [30..45] no | red_flag boolean yes |
                 pattern enum focal, multifocal, widespread yes
    Severity     PRIORITY; B red_flag, C pattern, D age_years, E temperature_c (inputs);
                 F severity (high, medium, low; default low); G Citation; H Note;
                 rules S1..S4 in rows 9-12
    Disposition  UNIQUE; B severity (chained); C disposition (EMERGENCY, GP, SELF_CARE,
                 no default); D Citation; rules D1..D3 in rows 9-11
    Tests        Test id | red_flag | pattern | age_years | temperature_c | severity |
                 disposition | Note; vignettes T1..T4 in rows 2-5 (every rule fires)

It validates with no finding at all (``test_corpus.test_the_base_workbook_is_clean``).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from engine.workbook import Sheet
from tests.xlsx import sheet, write_workbook

Post = Callable[[Path], None]


def base_sheets() -> tuple[Sheet, ...]:
    about = sheet(
        "About",
        [
            ["Field", "Value"],
            ["Table id", "mini_triage"],
            ["Title", "Minimal triage"],
            ["Version", "1.0.0"],
            ["Owner", "Test team"],
            ["Clinical reviewer", "Dr Example"],
            ["Review date", "2024-01-15"],
        ],
    )
    inputs = sheet(
        "Inputs",
        [
            ["Name", "Type", "Unit", "Allowed values", "Required", "Description"],
            ["age_years", "integer", "years", "[0..120]", "yes", "Age at presentation"],
            ["temperature_c", "number", "°C", "[30..45]", "no", "Body temperature"],
            ["red_flag", "boolean", None, None, "yes", "Any red-flag symptom"],
            ["pattern", "enum", None, "focal, multifocal, widespread", "yes", "Distribution"],
        ],
    )
    severity = sheet(
        "Severity",
        [
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
        ],
    )
    disposition = sheet(
        "Disposition",
        [
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
        ],
    )
    tests = sheet(
        "Tests",
        [
            [
                "Test id",
                "red_flag",
                "pattern",
                "age_years",
                "temperature_c",
                "severity",
                "disposition",
                "Note",
            ],
            ["T1", True, "focal", 40, None, "high", "EMERGENCY", "red flag"],
            ["T2", False, "widespread", 70, 37.5, "medium", "GP", "older, widespread"],
            ["T3", False, "focal", 30, None, "low", "SELF_CARE", "nothing of concern"],
            ["T4", False, "multifocal", 30, 39, "medium", "GP", "fever"],
        ],
    )
    return (about, inputs, severity, disposition, tests)


def build(path: Path, sheets: Sequence[Sheet], post: Post | None = None) -> Path:
    """Write ``sheets`` to ``path``, then let ``post`` change the file (merge, hide, …)."""
    write_workbook(path, sheets)
    if post is not None:
        post(path)
    return path


def with_openpyxl(change: Callable[..., None]) -> Post:
    """A post-step that opens the workbook with openpyxl, calls ``change(book)`` and saves."""

    def post(path: Path) -> None:
        from openpyxl import load_workbook

        book = load_workbook(path)
        change(book)
        book.save(path)

    return post


def replace_part(part: str, old: bytes, new: bytes) -> Post:
    """A post-step that rewrites one part of the .xlsx archive (for what openpyxl cannot
    write, such as a formula with a saved result)."""

    def post(path: Path) -> None:
        with zipfile.ZipFile(path) as archive:
            members = {i.filename: archive.read(i) for i in archive.infolist()}
        assert old in members[part], (part, old)
        members[part] = members[part].replace(old, new, 1)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)

    return post


def sheet_part(name: str) -> str:
    """The archive part of sheet ``name`` in a workbook written by :func:`build`."""
    order = [s.name for s in base_sheets()]
    return f"xl/worksheets/sheet{order.index(name) + 1}.xml"
