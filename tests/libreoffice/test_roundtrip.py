"""A workbook opened in LibreOffice and saved again, as .xlsx and as .ods, with nothing
edited, is the same workbook: the same cells, version, findings, evaluations and
drop-downs. Checked on the bundled workbook and on one holding every kind of cell
(:mod:`tests.libreoffice.workbooks`).

LibreOffice writes booleans its own way (the formula ``=TRUE()`` in .xlsx, a number with a
boolean type or that formula in .ods); before the reader took the type from the file, the
bundled workbook re-saved gave 1,408 formula warnings as .xlsx and 1,408 errors as .ods.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import engine
from engine.builder import is_read_sheet
from engine.evaluator import CompiledModel
from engine.validation import Report, validate
from engine.workbook import Sheet, cell_name, read_workbook
from tests.libreoffice.dropdowns import dropdowns
from tests.libreoffice.office import FILTERS, Office, convert_to
from tests.libreoffice.workbooks import write_every_kind

BUNDLED = Path(__file__).resolve().parents[2] / "decision_tables" / "muscle_twitching.xlsx"
WORKBOOKS = ("muscle_twitching", "every_kind")
FORMATS = (".xlsx", ".ods")
CASES = [(name, suffix) for name in WORKBOOKS for suffix in FORMATS]
Books = dict[str, dict[str, Path]]


@pytest.fixture(scope="module")
def books(office: Office, tmp_path_factory: pytest.TempPathFactory) -> Books:
    """Each workbook as written, and as LibreOffice saved it in each format (one batch)."""
    root = tmp_path_factory.mktemp("roundtrip")
    originals = {
        "muscle_twitching": Path(shutil.copy(BUNDLED, root / BUNDLED.name)),
        "every_kind": write_every_kind(root / "every_kind.xlsx"),
    }
    found: Books = {name: {"original": path} for name, path in originals.items()}
    jobs = []
    for name, path in originals.items():
        outputs = []
        for suffix in FORMATS:
            found[name][suffix] = root / "resaved" / f"{name}{suffix}"
            outputs.append({"dst": str(found[name][suffix]), "filter": FILTERS[suffix]})
        jobs.append({"src": str(path), "outputs": outputs})
    (root / "resaved").mkdir()
    office.run(jobs)
    return found


@pytest.fixture(scope="module")
def reports(books: Books) -> dict[Path, Report]:
    return {path: validate(path) for files in books.values() for path in files.values()}


def _findings(report: Report) -> list[tuple[object, ...]]:
    return [
        (f.code, f.severity.value, f.sheet, f.cells, f.table, f.rules, f.message, f.fix)
        for f in report.findings
    ]


@pytest.mark.parametrize(("name", "suffix"), CASES)
def test_resaved_workbook_has_the_same_findings(
    name: str, suffix: str, books: Books, reports: dict[Path, Report]
) -> None:
    before, after = reports[books[name]["original"]], reports[books[name][suffix]]
    assert _findings(after) == _findings(before)
    assert [(v.vignette_id, v.passed) for v in after.vignettes] == [
        (v.vignette_id, v.passed) for v in before.vignettes
    ]
    assert after.exit_code() == before.exit_code() == 0
    assert all(v.passed for v in after.vignettes) and after.vignettes
    serious = [f for f in after.findings if f.severity.value in ("error", "warning")]
    assert serious == []  # 0 errors, 0 warnings


def _read(path: Path) -> dict[str, Sheet]:
    return {s.name: s for s in read_workbook(path) if is_read_sheet(s)}


@pytest.mark.parametrize(("name", "suffix"), CASES)
def test_resaved_workbook_has_the_same_cells_and_version(
    name: str, suffix: str, books: Books
) -> None:
    before, after = _read(books[name]["original"]), _read(books[name][suffix])
    assert sorted(after) == sorted(before)
    differences = []
    for sheet_name, sheet in before.items():
        other = after[sheet_name]
        for r in range(max(len(sheet.rows), len(other.rows))):
            for c in range(max(sheet.width, other.width)):
                old, new = sheet.value(r, c), other.value(r, c)
                if old != new or type(old) is not type(new):
                    differences.append(f"{sheet_name}!{cell_name(r, c)}: {old!r} -> {new!r}")
    assert differences == []
    assert engine.load(books[name][suffix]).version == engine.load(books[name]["original"]).version


def _decisions(model: CompiledModel, facts: list[dict[str, object]]) -> list[dict[str, object]]:
    return [model.evaluate(f).as_dict() for f in facts]


@pytest.mark.parametrize(("name", "suffix"), CASES)
def test_resaved_workbook_evaluates_every_vignette_the_same(
    name: str, suffix: str, books: Books
) -> None:
    before, after = engine.load(books[name]["original"]), engine.load(books[name][suffix])
    assert [(v.vignette_id, dict(v.facts), dict(v.expected)) for v in after.vignettes] == [
        (v.vignette_id, dict(v.facts), dict(v.expected)) for v in before.vignettes
    ]
    facts = [dict(v.facts) for v in before.vignettes]
    assert len(facts) >= 9
    assert _decisions(after, facts) == _decisions(before, facts)  # outputs, fired rules, rows


@pytest.mark.parametrize(("name", "suffix"), CASES)
def test_dropdowns_survive_the_resave(name: str, suffix: str, books: Books) -> None:
    before = dropdowns(books[name]["original"])
    assert len(before) > 100
    assert dropdowns(books[name][suffix]) == before


@pytest.mark.parametrize("suffix", FORMATS)
def test_soffice_convert_to_gives_the_same_workbooks(
    suffix: str, office: Office, books: Books, tmp_path: Path
) -> None:
    """The command a person or a CI job runs, ``soffice --headless --convert-to``, gives
    the same versions and findings. It is not the same file: --convert-to keeps the saved
    results of the =TRUE() formulas LibreOffice makes of .xlsx booleans, and writes them to
    .ods as numbers (``office:value-type="float"``), where a document opened through UNO
    recalculates and writes booleans. Both must read as booleans. (It starts a LibreOffice
    of its own, once for both workbooks.)"""
    sources = [books[name]["original"] for name in WORKBOOKS]
    made = convert_to(sources, suffix.lstrip("."), tmp_path / "out", tmp_path / "profile")
    for name, path in zip(WORKBOOKS, made, strict=True):
        original = books[name]["original"]
        assert engine.load(path).version == engine.load(original).version
        assert _findings(validate(path)) == _findings(validate(original))


def test_the_service_serves_the_workbook_saved_as_ods(books: Books, tmp_path: Path) -> None:
    """A clinician who saves the table as .ods in the served folder has it served: the same
    version, the same answers as the .xlsx it came from."""
    from service import create_app

    folder = tmp_path / "tables"
    folder.mkdir()
    shutil.copy(books["muscle_twitching"][".ods"], folder / "muscle_twitching.ods")
    app = create_app({"TESTING": True, "TABLES_DIR": str(folder), "WATCH": False,
                      "LOG_REQUESTS": False,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'audit.sqlite3'}"})
    client = app.test_client()
    model = engine.load(books["muscle_twitching"]["original"])
    [table] = client.get("/v1/tables").get_json()["tables"]
    assert table["source"] == "muscle_twitching.ods" and table["version"] == model.version
    for vignette in model.vignettes[:20]:
        answer = client.post("/v1/tables/muscle_twitching/evaluate",
                             json={"facts": dict(vignette.facts)}).get_json()
        assert answer["outputs"] == model.evaluate(dict(vignette.facts)).outputs
