"""TV405: a value one table gives that no rule of a table dispatching on it picks up."""

from __future__ import annotations

from pathlib import Path

from engine.validation import validate
from engine.workbook import Sheet, read_workbook
from tests.xlsx import sheet, write_workbook

WORKBOOK = Path(__file__).resolve().parents[2] / "decision_tables" / "muscle_twitching.xlsx"


def _without_rule(rule_id: str, table_sheet: str = "Disposition") -> tuple[Sheet, ...]:
    sheets = read_workbook(WORKBOOK)
    return tuple(
        sheet(s.name, [r for r in s.rows if not (r and r[0] == rule_id)])
        if s.name == table_sheet
        else s
        for s in sheets
    )


def test_the_bundled_workbook_reads_every_red_flag() -> None:
    assert not [f for f in validate(WORKBOOK, vignettes=False).findings if f.code == "TV405"]


def test_a_red_flag_no_disposition_row_reads_is_an_error(tmp_path: Path) -> None:
    disposition = next(s for s in read_workbook(WORKBOOK) if s.name == "Disposition")
    row = next(r for r in disposition.rows if r and r[0] and "bulbar_involvement" in str(r[1]))
    path = write_workbook(tmp_path / "book.xlsx", _without_rule(str(row[0])))
    found = [f for f in validate(path, vignettes=False).findings if f.code == "TV405"]
    assert len(found) == 1
    assert found[0].sheet == "Disposition" and found[0].cells == ("B6",)
    assert '"bulbar_involvement"' in found[0].message
    assert "falls through" in found[0].message and found[0].fix


def test_the_default_of_a_helper_table_need_not_be_picked_up(tmp_path: Path) -> None:
    """A true/false helper table whose Default is false: the reading table acts on true
    only, and false (no finding) falls through, as it should."""
    from tests.validation.workbooks import base_sheets

    helper = sheet(
        "Helper",
        [
            ["Table", "feverish"],
            ["Hit policy", "FIRST"],
            ["Description", "A temperature of 38.5 or more"],
            [],
            ["Kind", "Input", "Output", "Citation"],
            ["Name", "temperature_c", "feverish"],
            ["Output values", None, "true, false"],
            ["Default", None, "false"],
            ["H1", ">= 38.5", "true", "Example guideline 2.1"],
        ],
    )
    reader = sheet(
        "Reader",
        [
            ["Table", "fever_advice"],
            ["Hit policy", "FIRST"],
            ["Description", "Advice on fever"],
            [],
            ["Kind", "Input", "Output", "Citation"],
            ["Name", "feverish", "fever_advice"],
            ["Output values", None, "drink, none"],
            ["Default", None, "none"],
            ["R1", "true", "drink", "Example guideline 2.2"],
        ],
    )
    path = write_workbook(tmp_path / "book.xlsx", (*base_sheets(), helper, reader))
    assert not [f for f in validate(path, vignettes=False).findings if f.code == "TV405"]
    # without a Default, a rule that gives false is a value the reader must pick up
    explicit = sheet(
        helper.name,
        [*helper.rows[:7], ["Default"], *helper.rows[8:], ["H2", "< 38.5", "false", "Ex 2.3"]],
    )
    path = write_workbook(tmp_path / "strict.xlsx", (*base_sheets(), explicit, reader))
    found = [f for f in validate(path, vignettes=False).findings if f.code == "TV405"]
    assert [(f.sheet, f.cells) for f in found] == [("Reader", ("B6",))]
    assert "feverish false" in found[0].message
