"""``triage validate``: exit codes, the three output formats, --strict, --annotate, and the
promise that the input file is never changed."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from engine.authoring import format_workbook
from engine.cli import main
from engine.validation import render, validate
from engine.validation.annotate import FILLS, AnnotateError, annotate
from engine.workbook import read_workbook
from tests.validation.workbooks import base_sheets, build
from tests.xlsx import append_rows, set_cells

ROOT = Path(__file__).resolve().parents[2]
MUSCLE = ROOT / "decision_tables" / "muscle_twitching.xlsx"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    return build(tmp_path / "clean.xlsx", base_sheets())


@pytest.fixture
def warned(tmp_path: Path) -> Path:
    """Valid, with one warning: an input no table reads."""
    sheets = append_rows(base_sheets(), "Inputs", ["weight_kg", "number", "kg", ">= 0", "no", None])
    return build(tmp_path / "warned.xlsx", sheets)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """Loads, with an overlap (error), a gap (warning) and two failing vignettes."""
    sheets = set_cells(base_sheets(), "Disposition", {"B10": '"high"'})
    return build(tmp_path / "broken.xlsx", sheets)


def test_clean_workbook_exits_0(clean: Path) -> None:
    code, out, err = invoke("validate", str(clean))
    assert code == 0, out + err
    assert out.splitlines()[-1] == (
        "OK — 0 errors, 0 warnings, 0 notes, vignettes: 4 of 4 pass, 7 of 7 rules covered"
    )


def test_warnings_pass_unless_strict(warned: Path) -> None:
    code, out, _ = invoke("validate", str(warned))
    assert code == 0
    assert "warning TV403  A6: input 'weight_kg' is declared but no table reads it" in out
    code, out, _ = invoke("validate", str(warned), "--strict")
    assert code == 1
    assert out.splitlines()[-1].startswith("FAILED")


def test_errors_exit_1_and_text_is_grouped_by_sheet(broken: Path) -> None:
    code, out, _ = invoke("validate", str(broken))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == str(broken)
    headings = [line for line in lines if line and not line.startswith(" ")][1:-1]
    assert headings == ["Severity", "Disposition", "Tests"]  # Severity: S1 is not covered
    disposition = lines[lines.index("Disposition") + 1 : lines.index("Tests")]
    assert any(
        line.startswith("  error   TV301  A9, A10: rules D1, D2 can match the same case")
        for line in disposition
    )
    assert "fix: make their conditions exclude each other" in out
    assert "\x1b[" not in out


def test_colour_on_request(broken: Path) -> None:
    _, out, _ = invoke("validate", str(broken), "--color")
    assert "\x1b[31m" in out  # errors in red


def test_json_report(broken: Path) -> None:
    code, out, _ = invoke("validate", str(broken), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["exit_code"] == 1 and data["readable"] and data["analysed"]
    assert data["summary"]["vignettes_failed"] == 3
    assert (data["summary"]["rules_covered"], data["summary"]["rules"]) == (4, 7)
    assert data["coverage"]["disposition"] == {"D1": [], "D2": [], "D3": ["T3"]}
    overlap = next(f for f in data["findings"] if f["code"] == "TV301")
    assert overlap == {
        "code": "TV301",
        "severity": "error",
        "sheet": "Disposition",
        "cells": ["A9", "A10"],
        "table": "disposition",
        "rules": ["D1", "D2"],
        "message": 'rules D1, D2 can match the same case (severity is "high"); a UNIQUE table '
        "must match at most one rule",
        "fix": "make their conditions exclude each other, or use FIRST or PRIORITY",
    }


def test_junit_report(broken: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    code, out, _ = invoke("validate", str(broken), "--format", "junit", "-o", str(target))
    assert code == 1 and out == ""
    root = ET.fromstring(target.read_text("utf-8"))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root}
    assert set(suites) >= {"checks: Disposition", "checks: About", "vignettes"}
    vignettes = suites["vignettes"]
    assert vignettes.get("tests") == "4" and vignettes.get("failures") == "3"
    failures = suites["checks: Disposition"].findall("testcase/failure")
    assert [f.get("type") for f in failures] == ["TV405", "TV301"]
    warnings = suites["checks: Disposition"].findall("testcase/system-out")
    assert warnings and warnings[0].text.startswith("warning: TV303")
    assert suites["checks: About"].find("testcase").get("name") == "all checks pass"
    total = sum(int(s.get("failures")) for s in root)
    assert root.get("failures") == str(total)


def test_junit_strict_makes_warnings_failures(warned: Path) -> None:
    report = validate(warned)
    assert "<failure" not in render(report, "junit")
    assert '<failure type="TV403"' in render(report, "junit", strict=True)


def test_annotated_copy(broken: Path, tmp_path: Path) -> None:
    before = _digest(broken)
    target = tmp_path / "annotated.xlsx"
    code, _, err = invoke("validate", str(broken), "--annotate", str(target))
    assert code == 1
    assert err.strip() == f"wrote {target} (8 cells annotated)"
    assert _digest(broken) == before
    from openpyxl import load_workbook

    book = load_workbook(target)
    cell = book["Disposition"]["A10"]
    assert cell.fill.fgColor.rgb.endswith(FILLS["error"])
    assert cell.comment.text.startswith("TV301 error: rules D1, D2 can match the same case")
    assert "Fix: make their conditions exclude each other" in cell.comment.text
    gap = book["Disposition"]["C8"]
    assert gap.fill.fgColor.rgb.endswith(FILLS["warning"])
    uncovered = book["Severity"]["A9"]  # the row of a rule no vignette fires is marked
    assert uncovered.fill.fgColor.rgb.endswith(FILLS["warning"])
    assert uncovered.comment.text.startswith("TV505 warning: no vignette fires rule S1")
    assert book["Disposition"]["B10"].comment is None
    # the copy still reads as the same workbook, formatted (its helper sheets added)
    copied = {s.name: s.rows for s in read_workbook(target)}
    assert [copied[s.name] for s in read_workbook(broken)] == [
        s.rows for s in read_workbook(broken)
    ]
    assert set(copied) - {s.name for s in read_workbook(broken)} == {"How to edit", "Lists"}
    assert not format_workbook(target, check=True).changed


def test_annotate_keeps_existing_comments(broken: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook
    from openpyxl.comments import Comment

    book = load_workbook(broken)
    book["Disposition"]["A10"].comment = Comment("reviewed by Dr X", "Dr X")
    book.save(broken)
    target = tmp_path / "annotated.xlsx"
    annotate(broken, target, validate(broken))
    text = load_workbook(target)["Disposition"]["A10"].comment.text
    assert text.startswith("reviewed by Dr X\n\nTV301 error")


def test_annotate_refuses_to_overwrite_the_workbook(broken: Path) -> None:
    before = _digest(broken)
    code, _, err = invoke("validate", str(broken), "--annotate", str(broken))
    assert code == 2
    assert err.strip() == "Error: --annotate must name a new file, not the workbook itself"
    assert _digest(broken) == before
    with pytest.raises(AnnotateError):
        annotate(broken, broken, validate(broken))


def test_annotate_needs_xlsx(broken: Path, tmp_path: Path) -> None:
    code, _, err = invoke("validate", str(broken), "--annotate", str(tmp_path / "out.ods"))
    assert code == 2
    assert "--annotate reads and writes .xlsx" in err


def test_workbook_that_does_not_load_still_lists_every_problem(tmp_path: Path) -> None:
    sheets = set_cells(base_sheets(), "Severity", {"D10": ">= 65 and", "C12": "everywhere"})
    sheets = set_cells(sheets, "About", {"B4": "1.0"})
    path = build(tmp_path / "book.xlsx", sheets)
    code, out, _ = invoke("validate", str(path), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert not data["analysed"]
    assert [(f["code"], f["sheet"], f["cells"]) for f in data["findings"]] == [
        ("TV601", None, []),
        ("TV105", "About", ["B4"]),
        ("TV201", "Severity", ["D10"]),
        ("TV203", "Severity", ["C12"]),
    ]


def test_no_vignettes_option(broken: Path) -> None:
    code, out, _ = invoke("validate", str(broken), "--no-vignettes", "--format", "json")
    data = json.loads(out)
    assert data["vignettes"] == [] and code == 1


def test_the_bundled_workbook_validates_clean() -> None:
    before = _digest(MUSCLE)
    code, out, err = invoke("validate", str(MUSCLE))
    assert code == 0, out + err
    report = validate(MUSCLE)
    assert report.findings == []  # the helper 'Lists' sheet of choices is not even a note
    assert out.splitlines()[-1].startswith("OK — 0 errors, 0 warnings, 0 notes, vignettes: ")
    assert [line for line in out.splitlines() if line][1:-1] == []  # nothing but the summary
    assert len(report.vignettes) >= 150 and all(v.passed for v in report.vignettes)
    code, _, _ = invoke("validate", str(MUSCLE), "--strict")
    assert code == 0
    assert _digest(MUSCLE) == before


DMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="Demo"
    namespace="urn:demo">
  <inputData id="in_age" name="Age"><variable name="Age" typeRef="number"/></inputData>
  <decision id="d_band" name="Band">
    <variable name="Band" typeRef="string"/>
    <informationRequirement><requiredInput href="#in_age"/></informationRequirement>
    <decisionTable id="dt" hitPolicy="UNIQUE">
      <input id="i1"><inputExpression typeRef="number"><text>Age</text></inputExpression></input>
      <output id="o1" name="Band" typeRef="string"/>
      <rule id="r1"><inputEntry><text>&lt; 18</text></inputEntry>
        <outputEntry><text>"child"</text></outputEntry></rule>
      <rule id="r2"><inputEntry><text>[16..65]</text></inputEntry>
        <outputEntry><text>"adult"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def test_a_dmn_file_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "demo.dmn"
    path.write_bytes(DMN)
    code, out, err = invoke("validate", str(path), "--format", "json")
    assert code == 1, out + err
    data = json.loads(out)
    codes = {f["code"] for f in data["findings"]}
    assert {"TV301", "TV303"} <= codes
    overlap = next(f for f in data["findings"] if f["code"] == "TV301")
    assert "[16..18)" in overlap["message"]
    gap = next(f for f in data["findings"] if f["code"] == "TV303")
    assert "> 65" in gap["message"]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_annotated_copy(broken: Path, tmp_path: Path) -> None:
    """LibreOffice reads the copy and keeps every comment and fill when it saves it again."""
    target = tmp_path / "annotated.xlsx"
    annotate(broken, target, validate(broken))
    out = tmp_path / "resaved"
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "xlsx", "--outdir", str(out), str(target)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    from openpyxl import load_workbook

    cell = load_workbook(out / "annotated.xlsx")["Disposition"]["A10"]
    assert cell.comment.text.startswith("TV301 error")
    assert cell.fill.fgColor.rgb.endswith(FILLS["error"])
