"""``triage new``: a ready-to-fill workbook that validates, whose example vignette passes and
whose example rule decides as it says; refusals in one line, never an overwritten file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import engine
from engine.cli import main
from engine.workbook import read_workbook
from tests.libreoffice.office import convert_to, soffice


def triage(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def new_book(tmp_path: Path) -> Path:
    target = tmp_path / "chest_pain.xlsx"
    result = triage("new", "chest_pain", "--title", "Chest pain in adults", str(target))
    assert result.exit_code == 0, result.output
    assert f"wrote {target}" in result.stdout
    return target


def test_the_new_workbook_validates_cleanly(new_book: Path) -> None:
    result = triage("validate", str(new_book), "--strict")
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output
    assert "vignettes: 2 of 2 pass" in result.output
    assert "1 of 1 properties proven" in result.output


def test_the_new_workbook_is_formatted(new_book: Path) -> None:
    """Drop-downs, notes and the full How to edit sheet come with the new file: no chore."""
    result = triage("format", "--check", str(new_book))
    assert result.exit_code == 0, result.output
    names = [s.name for s in read_workbook(new_book)]
    assert "Lists" in names and "How to edit" in names


def test_the_new_workbook_evaluates_its_example(new_book: Path) -> None:
    model = engine.load(new_book)
    assert model.about.table_id == "chest_pain"
    assert model.about.title == "Chest pain in adults"
    assert model.about.version == "0.1.0"
    decision = model.evaluate({"breathless_at_rest": True, "age_years": 40})
    assert decision.outputs["disposition"] == "EMERGENCY"
    assert [f.rule_id for f in decision.fired] == ["D1"]
    assert model.evaluate({"breathless_at_rest": False, "age_years": 40}).outputs == {
        "disposition": "ROUTINE_GP"
    }
    for vignette in model.vignettes:  # each vignette expects what the table gives
        outputs = model.evaluate(dict(vignette.facts)).outputs
        assert {k: outputs[k] for k in vignette.expected} == dict(vignette.expected)


def test_every_sheet_has_a_worked_example_row(new_book: Path) -> None:
    sheets = {s.name: s for s in read_workbook(new_book)}
    assert set(sheets) == {"How to edit", "About", "Inputs", "Disposition", "Tests", "Safety",
                           "Lists"}  # Lists: the hidden sheet triage format feeds drop-downs from
    model = engine.load(new_book)
    assert len(model.inputs) == 2 and len(model.tables[0].rules) == 1
    assert model.vignettes and model.properties
    about = {row[0]: row[1] if len(row) > 1 else None for row in sheets["About"].rows}
    assert "Example" in str(about["Description"])
    assert "triage validate" in " ".join(str(r[0]) for r in sheets["How to edit"].rows)


def test_the_title_defaults_to_the_table_id_in_words(tmp_path: Path) -> None:
    assert triage("new", "back_pain", str(tmp_path / "b.xlsx")).exit_code == 0
    assert engine.load(tmp_path / "b.xlsx").about.title == "Back pain"


def test_an_existing_file_is_kept_unless_forced(new_book: Path) -> None:
    before = new_book.read_bytes()
    refused = triage("new", "other_table", str(new_book))
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        f"Error: {new_book} already exists — choose another name, or add --force to replace it"
    )
    assert new_book.read_bytes() == before
    forced = triage("new", "other_table", "--force", str(new_book))
    assert forced.exit_code == 0, forced.output
    assert engine.load(new_book).about.table_id == "other_table"


@pytest.mark.parametrize(
    ("table_id", "suggestion"),
    [
        ("Back Pain", "for example back_pain"),
        ("back-pain", "for example back_pain"),
        ("9lives", "for example chest_pain"),
        ("", "for example chest_pain"),
        ("Ärger", "for example rger"),
        ("ÄÖ", "for example chest_pain"),
    ],
)
def test_a_bad_table_id_is_one_line(tmp_path: Path, table_id: str, suggestion: str) -> None:
    target = tmp_path / "t.xlsx"
    result = triage("new", table_id, str(target))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: '{table_id}' is not a table id")
    assert suggestion in lines[0]
    assert not target.exists()


def test_a_target_that_is_not_xlsx_is_refused(tmp_path: Path) -> None:
    result = triage("new", "chest_pain", str(tmp_path / "t.ods"))
    assert result.exit_code == 2
    assert "is not an .xlsx file name" in result.output


def test_the_new_workbook_goes_to_dmn_and_back_unchanged(new_book: Path, tmp_path: Path) -> None:
    dmn = tmp_path / "chest_pain.dmn"
    assert triage("convert", str(new_book), str(dmn)).exit_code == 0
    assert triage("convert", str(dmn), str(tmp_path / "back.xlsx")).exit_code == 0
    assert engine.load(tmp_path / "back.xlsx").version == engine.load(new_book).version


def test_the_new_workbook_opens_in_libreoffice(new_book: Path, tmp_path: Path) -> None:
    if soffice() is None:
        pytest.skip(
            "LibreOffice is not installed (no soffice on PATH); "
            "sudo apt-get install libreoffice-calc-nogui"
        )
    (pdf,) = convert_to([new_book], "pdf", tmp_path / "pdf", tmp_path / "profile")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000
