"""Workbooks changed in LibreOffice: an edit a clinician makes is seen by the engine, and
what the engine refuses — passwords, macros, embedded objects — is refused when LibreOffice
wrote it, with one located message each (the checks are in :mod:`engine.filesafety`).

The edits are made by a Python-UNO macro (:mod:`tests.libreoffice.uno_jobs`) in a running,
headless LibreOffice, and saved by LibreOffice's own filters.
"""

from __future__ import annotations

import functools
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import engine
from engine.cli import main
from engine.errors import UnreadableFile
from engine.model import Table
from engine.validation import Report, validate
from engine.workbook import Sheet, cell_name, read_workbook
from tests.libreoffice.office import FILTERS, Office
from tests.libreoffice.workbooks import write_every_kind

BUNDLED = Path(__file__).resolve().parents[2] / "decision_tables" / "muscle_twitching.xlsx"
EDITED_RULE, NEW_DISPOSITION = "D5", "URGENT_SAME_DAY"  # D5: serotonin toxicity, EMERGENCY
BASIC = 'Sub Main\n  ThisComponent.Sheets(0).getCellByPosition(1, 1).setString("x")\nEnd Sub\n'
VBA = 'Sub Auto_Open()\n  Sheets("Tests").Range("B2").Value = False\nEnd Sub\n'


def _out(root: Path, name: str) -> dict[str, str]:
    return {"dst": str(root / name), "filter": FILTERS[Path(name).suffix]}


@pytest.fixture(scope="module")
def saved(office: Office, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every file this module needs, made by LibreOffice in one batch."""
    root = tmp_path_factory.mktemp("edits")
    bundled = Path(shutil.copy(BUNDLED, root / BUNDLED.name))
    kinds = write_every_kind(root / "every_kind.xlsx")
    booleans = {"Severity!B9": {"boolean": False}, "Severity!B12": {"boolean": True}}
    disposition = _sheet(BUNDLED, "Disposition")
    row = next(r for r in range(len(disposition.rows)) if disposition.value(r, 0) == EDITED_RULE)
    col = _column(disposition, "disposition", heading_row=5)
    edited_cell = f"Disposition!{cell_name(row, col)}"
    office.run(
        [
            {
                "src": str(bundled),
                "cells": {edited_cell: {"input": NEW_DISPOSITION}},
                "outputs": [_out(root, "edited.xlsx"), _out(root, "edited.ods")],
            },
            {
                "src": str(kinds),
                "cells": booleans,
                "outputs": [_out(root, "booleans.xlsx"), _out(root, "booleans.ods")],
            },
            {
                "src": str(kinds),
                "outputs": [
                    {**_out(root, "password.xlsx"), "password": "s3cret"},
                    {**_out(root, "password.ods"), "password": "s3cret"},
                ],
            },
            {
                "src": str(kinds),
                "basic": BASIC,
                "outputs": [_out(root, "basic.ods"), _out(root, "basic-dropped.xlsx")],
            },
            {"src": str(kinds), "vba": VBA, "outputs": [_out(root, "vba.xlsm")]},
            {
                "src": str(kinds),
                "embed": "Tests",
                "outputs": [_out(root, "embedded.ods"), _out(root, "embedded.xlsx")],
            },
        ]
    )
    return root


def _sheet(path: Path, name: str) -> Sheet:
    return next(s for s in read_workbook(path) if s.name == name)


def _column(sheet: Sheet, heading: str, heading_row: int) -> int:
    return next(c for c in range(sheet.width) if sheet.value(heading_row, c) == heading)


@functools.cache
def _report(path: Path) -> Report:
    """Each file is validated once, whichever tests look at its findings."""
    return validate(path)


def _table(model: engine.CompiledModel, sheet: str) -> Table:
    return next(t for t in model.tables if t.sheet == sheet)


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_a_disposition_changed_in_libreoffice_is_seen(saved: Path, suffix: str) -> None:
    before, after = engine.load(BUNDLED), engine.load(saved / f"edited{suffix}")
    assert after.version != before.version
    old_rules = {r.rule_id: r for r in _table(before, "Disposition").rules}
    changed = {
        r.rule_id: r.outputs
        for r in _table(after, "Disposition").rules
        if (r.outputs, [c.text for c in r.cells])
        != (old_rules[r.rule_id].outputs, [c.text for c in old_rules[r.rule_id].cells])
    }
    assert changed == {EDITED_RULE: (NEW_DISPOSITION,)}
    # the vignettes that relied on the rule now fail, each reported at its Tests cell
    relied = [
        v
        for v in before.vignettes
        if any(f.rule_id == EDITED_RULE for f in before.evaluate(v.facts).fired)
        and after.evaluate(v.facts).outputs["disposition"] != v.expected["disposition"]
    ]
    assert relied, "no vignette exercises the edited rule"
    report = _report(saved / f"edited{suffix}")
    failing = {f.cells for f in report.findings if f.code == "TV501" and f.sheet == "Tests"}
    column = _column(_sheet(BUNDLED, "Tests"), "disposition", heading_row=0)
    assert failing == {(cell_name(v.row - 1, column),) for v in relied}
    # the Safety sheet's properties catch it too, with a patient the edited rule now answers
    # (a case answered differently has D5 matching and no EMERGENCY rule: D5, the first
    # URGENT_SAME_DAY rule in row order, is then the one PRIORITY picks)
    violated = [p for p in report.properties if p.verdict.value == "violated"]
    assert violated, "no Safety property caught the edit"
    for result in violated:
        assert result.counterexample is not None
        assert EDITED_RULE in {f.rule_id for f in result.counterexample.fired}
    unchanged = {f.code for f in _report(BUNDLED).findings}
    assert {f.code for f in report.findings} == unchanged | {"TV501", "TV701"}  # nothing else


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_booleans_set_in_libreoffice_are_booleans(saved: Path, suffix: str) -> None:
    """Calc stores TRUE typed into a cell as the number 1 in the boolean format; saved,
    that is ``t="b"`` in .xlsx and ``office:value-type="boolean"`` in .ods."""
    path = saved / f"booleans{suffix}"
    severity = {s.name: s for s in read_workbook(path)}["Severity"]
    assert (severity.value(8, 1), severity.value(11, 1)) == (False, True)
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("content.xml" if suffix == ".ods" else "xl/worksheets/sheet3.xml")
    typed = b'office:value-type="boolean" office:boolean-value="false"' if suffix == ".ods" else (
        b'<c r="B9" s="4" t="b"><v>0</v>'
    )
    assert typed in xml
    model = engine.load(path)
    rules = {r.rule_id: r for r in _table(model, "Severity").rules}
    assert (rules["S1"].cells[0].text, rules["S4"].cells[0].text) == ("false", "true")
    codes = {f.code for f in _report(path).findings}
    assert not codes & {"TV122", "TV123", "TV202", "TV503"}, codes  # no formula, no type error


def test_the_same_edit_saved_as_xlsx_and_ods_is_the_same_workbook(saved: Path) -> None:
    for name in ("edited", "booleans"):
        xlsx, ods = saved / f"{name}.xlsx", saved / f"{name}.ods"
        assert engine.load(xlsx).version == engine.load(ods).version
        assert [str(f) for f in _report(xlsx).findings] == [
            str(f) for f in _report(ods).findings
        ]


REFUSED = [
    ("password.xlsx", "TV002", "the workbook is password-protected"),
    ("password.ods", "TV002", "the workbook is password-protected"),
    ("vba.xlsm", "TV006", "the workbook holds macros (VBA project xl/vbaProject.bin)"),
    ("basic.ods", "TV006", "the workbook holds macros (Basic module Standard.Module1)"),
    ("embedded.ods", "TV007", "sheet 'Tests' holds an embedded object ('Object 1')"),
]


@pytest.mark.parametrize(("name", "code", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_libreoffice_file_is_refused_with_one_located_message(
    saved: Path, name: str, code: str, words: str
) -> None:
    path = saved / name
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: {words}"), result.stderr
    assert " — " in lines[0]  # and says what to do
    report = validate(path)
    assert [(f.code, f.sheet) for f in report.findings] == [(code, None)]
    with pytest.raises(UnreadableFile):
        engine.load(path)


def test_saving_as_xlsx_drops_basic_macros_as_the_fix_says(saved: Path) -> None:
    assert validate(saved / "basic-dropped.xlsx").findings == []


def test_an_embedded_object_is_refused_or_dropped_in_xlsx(saved: Path) -> None:
    """LibreOffice 7.4 does not write an embedded spreadsheet into .xlsx; if a later
    version does, the file must be refused like any .xlsx holding an OLE object."""
    path = saved / "embedded.xlsx"
    with zipfile.ZipFile(path) as archive:
        embedded = any(n.startswith("xl/embeddings/") for n in archive.namelist())
    codes = [f.code for f in validate(path).findings]
    assert codes == (["TV007"] if embedded else [])
