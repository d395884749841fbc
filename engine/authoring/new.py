"""``triage new TABLE_ID OUT.xlsx``: a ready-to-fill workbook.

A clinician starting a table should not have to learn the layout from the specification
first. The new workbook has every sheet the engine reads, each with its header and one
worked example row that shows what a filled row looks like (and is marked as an example to
replace): an input and a red flag on Inputs, one rule on the decision table, a vignette on
Tests, a property on Safety, and an About sheet with a draft version. It loads and passes
``triage validate`` as it is, so every later edit starts from a clean report, and its
example vignette and property hold.

The ``How to edit`` sheet is a short placeholder here; ``triage format`` rebuilds it, with
the drop-downs and notes, from the content (:func:`_format_written`).
"""

from __future__ import annotations

from pathlib import Path

from engine.authoring.format import format_workbook
from engine.convert import Workbook, write_xlsx
from engine.values import SNAKE_CASE
from engine.workbook import RawValue, Sheet

EXAMPLE = "Example — replace or delete this row"
FIRST_VERSION = "0.1.0"


class NewWorkbookError(ValueError):
    """Why the workbook was not written, in one line; ``usage`` marks a bad argument."""

    def __init__(self, message: str, usage: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


def check_table_id(table_id: str) -> str:
    """The table id, or :class:`NewWorkbookError` saying what to write instead."""
    if not SNAKE_CASE.match(table_id):
        words = "".join(c if c.isascii() and c.isalnum() else " " for c in table_id).split()
        suggestion = "_".join(words).lower()
        if not SNAKE_CASE.match(suggestion):
            suggestion = "chest_pain"
        raise NewWorkbookError(
            f"'{table_id}' is not a table id — write lower-case letters, digits and _, "
            f"starting with a letter, for example {suggestion}"
        )
    return table_id


def new_workbook(table_id: str, target: str | Path, title: str = "", force: bool = False) -> Path:
    """Write the new workbook to ``target`` (an ``.xlsx`` file). An existing file is left
    alone unless ``force``."""
    check_table_id(table_id)
    target = Path(target)
    if target.suffix.lower() != ".xlsx":
        raise NewWorkbookError(f"'{target}' is not an .xlsx file name — name it {target.stem}.xlsx")
    if target.exists() and not force:
        raise NewWorkbookError(
            f"{target} already exists — choose another name, or add --force to replace it",
            usage=False,
        )
    if not target.parent.is_dir():
        raise NewWorkbookError(f"the folder {target.parent} does not exist — create it first")
    partial = target.with_name(f".{target.name}.partial")
    write_xlsx(Workbook(new_sheets(table_id, title)), partial)
    partial.replace(target)  # never half a workbook under the target's name
    _format_written(target)
    return target


def new_sheets(table_id: str, title: str = "") -> list[Sheet]:
    """The sheets of a new workbook, in the order a person fills them."""
    title = title.strip() or table_id.replace("_", " ").capitalize()
    return [
        _sheet("How to edit", HOW_TO_EDIT),
        _sheet(
            "About",
            [
                ["Field", "Value"],
                ["Table id", table_id],
                ["Title", title],
                ["Version", FIRST_VERSION],
                ["Owner", None],
                ["Clinical reviewer", None],
                ["Review date", None],
                [
                    "Description",
                    "Example: who this table triages and what it decides. Owner, Clinical "
                    "reviewer and Review date are filled in when the table is reviewed.",
                ],
            ],
        ),
        _sheet(
            "Inputs",
            [
                ["Name", "Type", "Unit", "Allowed values", "Required", "Description", "Label"],
                ["age_years", "integer", "years", "[16..120]", "yes", f"Age. {EXAMPLE}", "Age"],
                [
                    "breathless_at_rest",
                    "boolean",
                    None,
                    None,
                    "yes",
                    f"Short of breath while resting. {EXAMPLE}",
                    "Breathless at rest?",
                ],
            ],
        ),
        _sheet(
            "Disposition",
            [
                ["Table", "disposition"],
                ["Hit policy", "PRIORITY"],
                ["Description", "Where the patient should go, most urgent first"],
                ["Labels", None, None, "Call 999 now, See your GP"],
                ["Kind", "Input", "Input", "Output", "Citation", "Note"],
                ["Name", "breathless_at_rest", "age_years", "disposition"],
                ["Output values", None, None, "EMERGENCY, ROUTINE_GP"],
                ["Default", None, None, "ROUTINE_GP"],
                ["D1", True, "-", "EMERGENCY", "Example source, section 1.1", EXAMPLE],
            ],
        ),
        _sheet(
            "Tests",
            [
                ["Test id", "breathless_at_rest", "age_years", "disposition", "Note"],
                ["T1", True, 40, "EMERGENCY", EXAMPLE],
                ["T2", False, 40, "ROUTINE_GP", "Example: nothing of concern gives the default"],
            ],
        ),
        _sheet(
            "Safety",
            [
                ["Property", "breathless_at_rest", "disposition", "Severity", "Citation", "Note"],
                ["Role", "When", "Then"],
                ["P1", "true", '"EMERGENCY"', "error", "Example source, section 1.1", EXAMPLE],
            ],
        ),
    ]


HOW_TO_EDIT: list[list[RawValue]] = [
    ["How to edit this workbook"],
    ["Each sheet has one example row. Replace it with your own, or delete it."],
    ["Inputs: one row per fact a nurse or a system supplies."],
    ["Disposition: one rule per row; '-' means any value. Every rule cites its source."],
    ["Tests: one patient per row, with the answer you expect."],
    ["Safety: rules that must always hold, such as 'breathless at rest is an emergency'."],
    ["Then run: triage validate THIS_FILE.xlsx — it lists anything to fix, cell by cell."],
    ["triage format rebuilds this sheet, the drop-downs and the notes from the content."],
]


def _sheet(name: str, rows: list[list[RawValue]]) -> Sheet:
    return Sheet(name, tuple(tuple(r) for r in rows))


def _format_written(path: Path) -> None:
    """Leave the new workbook formatted: the drop-downs, notes and the full How to edit sheet
    come from the same code as ``triage format`` (a new workbook always builds, so a failure
    here is a bug and is raised)."""
    format_workbook(path)
