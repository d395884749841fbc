"""`triage format`: the helpers it rebuilds, that it never changes a cell's content, that it
is idempotent, `--check`, bad input, and a red flag added the way the `How to edit` sheet
says, end to end."""

from __future__ import annotations

import hashlib
import re
import shutil
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.utils.cell import range_boundaries

from engine.authoring import format_workbook
from engine.authoring.format import FormatRefused
from engine.authoring.format_apply import AUTHOR
from engine.cli import main
from engine.errors import WorkbookError
from engine.loader import content_version, load
from engine.validation.runner import validate
from engine.workbook import read_workbook
from tests.conftest import make_minimal_sheets

BUNDLED = Path(__file__).resolve().parents[2] / "decision_tables" / "muscle_twitching.xlsx"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def open_book(path: Path) -> Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl on extensions of files it did not write
        return load_workbook(path)


def evaluations(path: Path) -> list[dict[str, Any]]:
    """Every vignette's decision (outputs and fired rules)."""
    model = load(path)
    return [model.evaluate(dict(v.facts)).as_dict() for v in model.model.vignettes]


def choices(book: Workbook, sheet: str, cell: str) -> list[Any] | None:
    """The values the drop-down on ``sheet!cell`` offers, read back as Excel would: from the
    range its formula names, or its inline list; None when the cell has no drop-down."""
    ws = book[sheet]
    for dv in ws.data_validations.dataValidation:
        if dv.type == "list" and cell in dv.sqref:
            formula = str(dv.formula1).lstrip("=")
            if formula.startswith('"'):
                return formula.strip('"').split(",")
            source, _, area = formula.partition("!")
            min_col, min_row, max_col, max_row = range_boundaries(area.replace("$", ""))
            rows = book[source.strip("'")].iter_rows(
                min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col,
                values_only=True,
            )
            return [row[0] for row in rows]
    return None


def strip_helpers(path: Path) -> Path:
    """The workbook as it would be had it never been formatted: no drop-downs, colours,
    frozen panes, notes, Lists or How to edit sheet (the bundled workbook is formatted)."""
    from openpyxl.formatting.formatting import ConditionalFormattingList
    from openpyxl.worksheet.datavalidation import DataValidationList

    book = open_book(path)
    for ws in list(book.worksheets):
        if ws.title in ("Lists", "How to edit"):
            book.remove(ws)
            continue
        ws.data_validations = DataValidationList()
        ws.conditional_formatting = ConditionalFormattingList()
        ws.freeze_panes = None
        for row in ws.iter_rows(max_row=8):
            for cell in row:
                if cell.comment is not None:
                    cell.comment = None
    book.active = 0
    book.save(path)
    return path


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    return strip_helpers(Path(shutil.copy(BUNDLED, tmp_path / "muscle_twitching.xlsx")))


@pytest.fixture
def minimal(tmp_workbook: Callable[..., Path]) -> Path:
    path: Path = tmp_workbook(make_minimal_sheets(), "mini.xlsx")
    return path


# --- content and evaluations never change --------------------------------------------------


@pytest.mark.parametrize("which", ["bundled", "minimal"])
def test_formatting_keeps_every_cell_and_every_evaluation(
    which: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(which)
    version, decisions = content_version(read_workbook(path)), evaluations(path)
    assert format_workbook(path).changed
    assert content_version(read_workbook(path)) == version
    assert evaluations(path) == decisions
    assert validate(path).exit_code(False) == 0


def test_formatting_twice_changes_nothing_and_gives_the_same_bytes(
    bundled: Path, tmp_path: Path
) -> None:
    other = Path(shutil.copy(bundled, tmp_path / "other.xlsx"))
    format_workbook(bundled)
    first = digest(bundled)
    again = format_workbook(bundled)
    assert not again.changed and digest(bundled) == first
    assert not format_workbook(bundled, check=True).changed
    format_workbook(other)  # another run, another moment: the same bytes
    assert digest(other) == first


def test_check_reports_an_unformatted_workbook_and_writes_nothing(minimal: Path) -> None:
    before = digest(minimal)
    code, _, err = invoke("format", str(minimal), "--check")
    assert code == 1 and "not formatted" in err and digest(minimal) == before
    code, out, _ = invoke("format", str(minimal))
    assert code == 0 and "formatted" in out and digest(minimal) != before
    code, out, _ = invoke("format", str(minimal), "--check")
    assert code == 0 and "already formatted" in out


def test_the_bundled_workbook_is_formatted() -> None:
    code, out, err = invoke("format", str(BUNDLED), "--check")
    assert code == 0, f"{err} (run: triage format {BUNDLED})"


def test_a_helper_edited_by_hand_is_not_formatted(minimal: Path) -> None:
    format_workbook(minimal)
    book = open_book(minimal)
    book["Severity"].freeze_panes = None
    book.save(minimal)
    assert format_workbook(minimal, check=True).changed
    format_workbook(minimal)
    assert open_book(minimal)["Severity"].freeze_panes == "B9"


# --- what the helpers are ------------------------------------------------------------------


def test_helpers_of_the_minimal_workbook(minimal: Path) -> None:
    format_workbook(minimal)
    book = open_book(minimal)
    assert book["Lists"].sheet_state == "hidden"
    assert book["How to edit"].sheet_state == "visible"
    assert choices(book, "Severity", "C9") == ["focal", "multifocal", "widespread", "-"]
    assert choices(book, "Severity", "B12") == ["true", "false", "-"]
    assert choices(book, "Severity", "F8") == ["high", "medium", "low"]  # the Default too
    assert choices(book, "Severity", "D9") is None  # a number: no list
    assert choices(book, "Disposition", "B9") == ['"high"', '"medium"', '"low"', "-", "null"]
    assert choices(book, "Tests", "B2") == [True, False]
    assert choices(book, "Tests", "H2") == ["EMERGENCY", "GP", "SELF_CARE"]
    assert choices(book, "Inputs", "B8") == ["boolean", "number", "integer", "enum", "text"]
    assert book["Severity"].freeze_panes == "B9" and book["Tests"].freeze_panes == "B2"
    note = book["Severity"]["E6"].comment
    assert note is not None and note.author == AUTHOR
    assert "temperature_c" in note.text and "°C" in note.text and "optional" in note.text
    assert "Body temperature" in note.text
    # severity is a PRIORITY output: coloured by urgency where it is written and read
    coloured = {str(cf.sqref) for cf in book["Severity"].conditional_formatting}
    assert coloured == {"F8:F500"}
    assert {str(cf.sqref) for cf in book["Disposition"].conditional_formatting} == {"B9:B500"}
    assert {str(cf.sqref) for cf in book["Tests"].conditional_formatting} == {"G2:G500"}
    # disposition is UNIQUE: its list is no priority order, so it is not coloured
    guide = [row[0] for row in book["How to edit"].iter_rows(values_only=True)]
    assert any("triage validate --release" in line for line in guide)


def test_a_new_row_needs_no_formatting_unless_it_brings_a_longer_entry(minimal: Path) -> None:
    format_workbook(minimal)
    book = open_book(minimal)
    book["Disposition"].append(["D4", '"low"', "GP", "Local pathway 4"])
    book.save(minimal)
    assert not format_workbook(minimal, check=True).changed
    assert choices(book, "Disposition", "C12") == ["EMERGENCY", "GP", "SELF_CARE"]


def test_lists_grow_with_the_values(minimal: Path) -> None:
    format_workbook(minimal)
    book = open_book(minimal)
    book["Disposition"]["C7"] = "EMERGENCY, GP, SELF_CARE, PHARMACY"
    book.save(minimal)
    assert format_workbook(minimal).changed
    book = open_book(minimal)
    assert choices(book, "Disposition", "C9") == ["EMERGENCY", "GP", "SELF_CARE", "PHARMACY"]
    assert choices(book, "Tests", "H2") == ["EMERGENCY", "GP", "SELF_CARE", "PHARMACY"]


def test_notes_written_by_people_and_by_validate_are_kept(minimal: Path) -> None:
    book = open_book(minimal)
    book["Severity"]["C6"].comment = Comment("ask Dr Smith before changing", "Jane")
    book.save(minimal)
    format_workbook(minimal)
    book = open_book(minimal)
    assert book["Severity"]["C6"].comment.text == "ask Dr Smith before changing"
    assert book["Severity"]["B6"].comment.author == AUTHOR


def test_validate_annotate_leaves_the_copy_formatted(bundled: Path, tmp_path: Path) -> None:
    target = tmp_path / "annotated.xlsx"
    code, _, _ = invoke("validate", str(bundled), "--release", "--no-vignettes",
                        "--annotate", str(target))
    assert code == 1  # a draft: the review fields say Pending, each a finding on its cell
    book = open_book(target)
    assert any(c.comment is not None and "TV" in c.comment.text for c in book["About"]["B"])
    assert not format_workbook(target, check=True).changed
    assert content_version(read_workbook(target)) == content_version(read_workbook(bundled))


# --- bad input -----------------------------------------------------------------------------


def test_a_workbook_that_does_not_load_is_left_untouched(minimal: Path) -> None:
    book = open_book(minimal)
    book["Severity"]["B2"] = "PRIORITYX"
    book.save(minimal)
    before = digest(minimal)
    code, _, err = invoke("format", str(minimal))
    assert code == 1
    assert "Severity!B2: unknown hit policy 'PRIORITYX'" in err
    assert digest(minimal) == before
    with pytest.raises(WorkbookError):
        format_workbook(minimal)


def test_rules_without_citations_are_formatted(minimal: Path) -> None:
    book = open_book(minimal)
    book["Severity"]["G10"] = None  # as `triage convert` leaves a DMN rule with no source
    book.save(minimal)
    assert format_workbook(minimal).changed
    found = [(f.code, f.cells) for f in validate(minimal, vignettes=False).findings]
    assert ("TV114", ["G10"]) in [(code, list(cells)) for code, cells in found]


def test_files_it_does_not_write(tmp_path: Path) -> None:
    ods = tmp_path / "table.ods"
    ods.write_bytes(b"")
    code, _, err = invoke("format", str(ods))
    assert code == 2 and "save it as .xlsx" in err
    with pytest.raises(FormatRefused):
        format_workbook(ods)
    code, _, err = invoke("format", str(tmp_path / "missing.xlsx"))
    assert code == 2 and "file not found" in err


@pytest.mark.parametrize("lock_name", ["~$mini.xlsx", "~$ni.xlsx", ".~lock.mini.xlsx#"])
def test_a_workbook_open_in_excel_gets_a_warning(minimal: Path, lock_name: str) -> None:
    lock = minimal.with_name(lock_name)  # Excel's (full or shortened name), LibreOffice's
    lock.write_bytes(b"\x00" * 165)
    code, _, err = invoke("format", str(minimal))
    assert code == 0 and "Warning:" in err and lock.name in err
    assert not format_workbook(minimal, check=True).changed


def saved_results(path: Path, sheet: int, results: dict[str, tuple[str, str]]) -> None:
    """Give formula cells the results a spreadsheet program saves with them (openpyxl saves
    none): ``{"D2": ("n", "40")}`` writes ``<c r="D2" t="n"><f>…</f><v>40</v></c>``."""
    member = f"xl/worksheets/sheet{sheet}.xml"
    with zipfile.ZipFile(path) as source:
        parts = {i.filename: source.read(i.filename) for i in source.infolist()}
    xml = parts[member].decode()
    for cell, (kind, value) in results.items():
        xml, count = re.subn(
            rf'<c r="{cell}"><f>([^<]*)</f><v\s*/>',
            rf'<c r="{cell}" t="{kind}"><f>\1</f><v>{value}</v>',
            xml,
        )
        assert count == 1, cell
    parts[member] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)


def test_a_formula_whose_result_would_be_lost_is_refused(minimal: Path) -> None:
    book = open_book(minimal)
    book["Tests"]["D2"] = "=20*2"
    book.save(minimal)
    saved_results(minimal, 5, {"D2": ("n", "40")})  # as Excel saves it; openpyxl cannot
    assert read_workbook(minimal)[4].value(1, 3) == 40
    before = digest(minimal)
    with pytest.raises(WorkbookError) as caught:
        format_workbook(minimal)
    assert any(str(p.location) == "Tests!D2" for p in caught.value.problems)
    assert digest(minimal) == before
    assert [p.name for p in minimal.parent.iterdir() if p.name.startswith(".")] == []


def test_libreoffice_booleans_become_booleans(minimal: Path) -> None:
    book = open_book(minimal)
    book["Tests"]["B2"] = "=TRUE()"
    book["Tests"]["B3"] = "=FALSE()"
    book.save(minimal)
    saved_results(minimal, 5, {"B2": ("b", "1"), "B3": ("b", "0")})  # as LibreOffice does
    version = content_version(read_workbook(minimal))
    format_workbook(minimal)
    assert content_version(read_workbook(minimal)) == version
    book = open_book(minimal)
    assert (book["Tests"]["B2"].value, book["Tests"]["B3"].value) == (True, False)


# --- a red flag, added as the How to edit sheet says ---------------------------------------


def _column(ws: Any, row: int, name: str) -> int:
    return next(c.column for c in ws[row] if c.value == name)


def test_adding_a_red_flag_as_the_guide_says(bundled: Path) -> None:
    """The reviewer's six edits, less the two that formatting now does: a new optional sign
    (an input, so that no existing vignette changes), a rule row giving a new red-flag code,
    the code in the table's Output values, a Disposition row and a vignette. Then `triage
    format` and `triage validate`: clean, and the drop-downs accept the new code."""
    format_workbook(bundled)
    book = open_book(bundled)
    guide = [row[0] for row in book["How to edit"].iter_rows(values_only=True)]
    assert any("add the code to row 7 (Output values)" in line for line in guide)
    code = "new_sign_flag"

    inputs = book["Inputs"]
    inputs.append(["new_sign", "boolean", None, None, "no", "A new warning sign (test)"])

    flags = book["Red flags"]
    out_col = _column(flags, 6, "red_flags")
    flags.insert_cols(out_col)  # a new input column before the output
    flags.cell(5, out_col, "Input")
    flags.cell(6, out_col, "new_sign")
    out_col += 1
    values = flags.cell(7, out_col)
    values.value = f"{values.value}, {code}"
    labels = flags.cell(4, out_col)
    if labels.value:  # a label per code, when the table gives them words (row 4)
        assert any("Row 4 (Labels)" in line for line in guide)
        labels.value = f"{labels.value}, A new sign (test)"
    row = flags.max_row + 1
    flags.cell(row, 1, "RF_NEW")
    flags.cell(row, out_col - 1, "true")
    flags.cell(row, out_col, code)
    flags.cell(row, out_col + 1, "Test citation 1.1")

    disposition = book["Disposition"]
    row = disposition.max_row + 1
    disposition.cell(row, 1, "D_NEW")
    disposition.cell(row, _column(disposition, 6, "red_flags"), f'"{code}"')
    disposition.cell(row, _column(disposition, 6, "disposition"), "URGENT_REFERRAL")
    disposition.cell(row, _column(disposition, 5, "Citation"), "Test citation 1.2")

    tests = book["Tests"]
    header = [c.value for c in tests[1]]
    base = next(  # a vignette with no red flag, routine or self care
        r for r in tests.iter_rows(min_row=2, values_only=True)
        if r[header.index("red_flags")] in (None, "[]")
        and r[header.index("disposition")] in ("ROUTINE_GP", "SELF_CARE")
    )
    new = list(base)
    new[0] = "T_NEW"
    new[header.index("red_flags")] = code
    new[header.index("disposition")] = "URGENT_REFERRAL"
    for name in ("likely_causes", "advice"):  # not checked: empty expected cells
        if name in header:
            new[header.index(name)] = None
    new.append(True)
    tests.cell(1, len(header) + 1, "new_sign")
    tests.append(new)
    book.save(bundled)

    assert format_workbook(bundled).changed
    report = validate(bundled)
    assert [f"{f.code} {f.sheet}!{f.cells} {f.message}" for f in report.findings] == []
    assert report.exit_code(strict=True) == 0
    assert all(v.passed for v in report.vignettes)

    book = open_book(bundled)
    flags, new_row = book["Red flags"], book["Red flags"].max_row
    out_letter = flags.cell(6, out_col).column_letter
    assert code in (choices(book, "Red flags", f"{out_letter}{new_row}") or [])
    assert code in (choices(book, "Red flags", f"{out_letter}{new_row + 1}") or [])  # next row
    letter = book["Disposition"].cell(6, _column(book["Disposition"], 6, "red_flags"))
    assert f'"{code}"' in (choices(book, "Disposition", f"{letter.column_letter}9") or [])
    tests_letter = book["Tests"].cell(1, header.index("red_flags") + 1).column_letter
    assert code in (choices(book, "Tests", f"{tests_letter}{book['Tests'].max_row}") or [])
    assert not format_workbook(bundled, check=True).changed


def test_a_workbook_saved_while_it_is_formatted_is_left_as_saved(
    minimal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.authoring.format as formatting

    saved = formatting._saved

    def save_meanwhile(book: Any) -> bytes:
        data = saved(book)
        edited = open_book(minimal)
        edited["About"]["B3"] = "Saved in Excel meanwhile"
        edited.save(minimal)
        return data

    monkeypatch.setattr(formatting, "_saved", save_meanwhile)
    with pytest.raises(FormatRefused, match="saved again"):
        format_workbook(minimal)
    assert open_book(minimal)["About"]["B3"].value == "Saved in Excel meanwhile"
    code, _, err = invoke("format", str(minimal))
    assert code == 2 and "run triage format again" in err


def test_a_link_stays_a_link(minimal: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.xlsx"
    link.symlink_to(minimal)
    assert format_workbook(link).changed
    assert link.is_symlink() and not format_workbook(minimal, check=True).changed


def test_a_table_sheet_called_lists(minimal: Path) -> None:
    book = open_book(minimal)
    book["Disposition"].title = "Lists"
    book.save(minimal)
    version = content_version(read_workbook(minimal))
    format_workbook(minimal)
    book = open_book(minimal)
    assert content_version(read_workbook(minimal)) == version
    helper = next(ws.title for ws in book.worksheets if ws.sheet_state == "hidden")
    assert helper != "Lists" and choices(book, "Lists", "C9") == ["EMERGENCY", "GP", "SELF_CARE"]
