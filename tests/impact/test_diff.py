"""``triage diff`` on hand-made edits of the small workbook of tests/conftest.py, whose
answers can be worked out by reading it: what each region says, its class, the order of
the report, the formats and the exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import engine
from engine.cli import main
from engine.impact.diff import CLASSES, diff
from engine.workbook import Sheet
from tests.conftest import make_minimal_sheets


def edited(changes: dict[tuple[int, int, int], Any]) -> list[Sheet]:
    """The minimal workbook with cells changed: (sheet index, row, column) -> value."""
    sheets = list(make_minimal_sheets())
    for (s, r, c), value in changes.items():
        rows = [list(row) for row in sheets[s].rows]
        while len(rows[r]) <= c:
            rows[r].append(None)
        rows[r][c] = value
        sheets[s] = Sheet(sheets[s].name, tuple(tuple(row) for row in rows))
    return sheets


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def pair(tmp_workbook: Callable[..., Path]) -> Callable[..., tuple[Path, Path]]:
    def make(changes: dict[tuple[int, int, int], Any]) -> tuple[Path, Path]:
        return tmp_workbook(make_minimal_sheets(), "old.xlsx"), tmp_workbook(edited(changes),
                                                                           "new.xlsx")
    return make


def test_identical_behaviour_exits_0(pair: Callable[..., tuple[Path, Path]]) -> None:
    # a re-typed cell with the same meaning changes no cell the engine reads differently
    old, new = pair({(2, 10, 4): ">38.5"})
    result = run("diff", str(old), str(new))
    assert result.exit_code == 0, result.output
    assert "behaviour identical" in result.output


def test_a_threshold_raised_is_down_triage(pair: Callable[..., tuple[Path, Path]]) -> None:
    old, new = pair({(2, 10, 4): "> 39"})  # S3: fever over 39 instead of 38.5 -> medium
    result = run("diff", str(old), str(new), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["counts"]["down-triage"] == len(data["regions"]) > 0
    for region in data["regions"]:
        assert region["when"]["temperature_c"] == "(38.5..39]"
        assert region["when"]["red_flag"] == "false"
        assert region["old"]["outputs"]["severity"] == "medium"
        assert region["new"]["outputs"]["severity"] == "low"
        assert region["directions"] == {"severity": "down"}
        assert 38.5 < region["example"]["facts"]["temperature_c"] <= 39
    changes = data["row_changes"]["rules"]
    assert changes == [{"table": "severity", "rule_id": "S3", "kind": "changed", "old_row": 11,
                        "new_row": 11, "text": None,
                        "cells": [{"column": "temperature_c", "old": "> 38.5", "new": "> 39",
                                   "cell": "Severity!E11"}]}]


def test_down_triage_comes_first(pair: Callable[..., tuple[Path, Path]]) -> None:
    # S3 lowered (more medium: up-triage) and S1 narrowed to the elderly (down-triage)
    old, new = pair({(2, 10, 4): "> 38", (2, 8, 3): ">= 65"})
    report = diff(engine.load(old), engine.load(new))
    kinds = [r.triage for r in report.regions]
    assert "down-triage" in kinds and "up-triage" in kinds
    assert kinds == sorted(kinds, key=CLASSES.index)
    text = run("diff", str(old), str(new)).output
    assert text.index("DOWN-TRIAGE") < text.index("UP-TRIAGE") < text.index("ROW CHANGES")


def test_an_input_contract_change_is_no_answer(pair: Callable[..., tuple[Path, Path]]) -> None:
    old, new = pair({(1, 1, 3): "[18..120]"})  # age_years from 0 to 18
    data = json.loads(run("diff", str(old), str(new), "--format", "json").output)
    assert [r["triage"] for r in data["regions"]] == ["no answer"]
    region = data["regions"][0]
    assert region["when"] == {"age_years": "< 18"} and region["new"]["refused"]
    assert "age_years" in region["example"]["new"]
    assert {"where": "Inputs", "what": "age_years: allowed values [0..120] → [18..120]"} in \
        data["row_changes"]["items"]


def test_a_change_reaching_a_chained_table(pair: Callable[..., tuple[Path, Path]]) -> None:
    old, new = pair({(3, 10, 2): "GP"})  # D3: low severity now goes to the GP
    data = json.loads(run("diff", str(old), str(new), "--format", "json").output)
    assert data["regions"] and all(
        r["old"]["outputs"] == {"disposition": "SELF_CARE"}
        and r["new"]["outputs"] == {"disposition": "GP"} for r in data["regions"])
    # every case with low severity: the regions join into the complement of S1, S2, S3
    facts = [r["example"]["facts"] for r in data["regions"]]
    assert all(f["red_flag"] is False for f in facts)


def test_html_is_one_offline_page_with_the_matrix(pair: Callable[..., tuple[Path, Path]],
                                                  tmp_path: Path) -> None:
    old, new = pair({(2, 10, 4): "> 39"})
    page = tmp_path / "diff.html"
    assert run("diff", str(old), str(new), "--format", "html", "-o", str(page)).exit_code == 1
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "<script" not in html
    assert "src=" not in html and "href=" not in html  # nothing fetched from anywhere
    assert "medium → low" in html


@pytest.mark.parametrize("args, message", [
    (["missing.xlsx", "missing2.xlsx"], "no file"),
    (["{old}", "{bad}"], "cannot be loaded"),
    (["{old}", "0123456789abcdef"], "no file"),
])
def test_unreadable_input_exits_2(pair: Callable[..., tuple[Path, Path]], tmp_path: Path,
                                  args: list[str], message: str) -> None:
    old, _ = pair({})
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    result = run("diff", *[a.format(old=old, bad=bad) for a in args])
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1


def test_evaluate_frame_one_bad_row_never_fails_the_frame() -> None:
    model = engine.load_sheets(make_minimal_sheets())
    cases = pd.DataFrame([
        {"age_years": 40, "red_flag": True, "pattern": "focal", "duration_weeks": 2, "id": 1},
        {"age_years": 200, "red_flag": False, "pattern": "focal", "duration_weeks": 2, "id": 2},
        {"age_years": 70.0, "red_flag": False, "pattern": "widespread", "duration_weeks": 1,
         "temperature_c": float("nan"), "id": 3},
    ], index=["a", "b", "c"])
    answers = model.evaluate_frame(cases)
    assert list(answers.index) == ["a", "b", "c"]
    assert list(answers.columns) == ["severity", "disposition", "error"]
    assert answers.loc["a", "disposition"] == "EMERGENCY" and answers.loc["a", "error"] is None
    assert "age_years" in answers.loc["b", "error"] and answers.loc["b", "severity"] is None
    loop = model.evaluate({"age_years": 70, "red_flag": False, "pattern": "widespread",
                           "duration_weeks": 1})
    assert answers.loc["c", "severity"] == loop.outputs["severity"] == "medium"
    refused = model.evaluate_frame(cases, unknown="refuse")
    assert refused["error"].str.contains("id").all()  # the extra column is an unknown fact


def test_comparing_one_output(pair: Callable[..., tuple[Path, Path]]) -> None:
    # S3 raised: severity and disposition change; D2 (medium) re-pointed to EMERGENCY too
    old, new = pair({(2, 10, 4): "> 39", (3, 9, 2): "EMERGENCY"})
    both = diff(engine.load(old), engine.load(new))
    only = diff(engine.load(old), engine.load(new), outputs=["severity"])
    assert {r.description for r in only.regions} < {r.description for r in both.regions} or \
        len(only.regions) < len(both.regions)
    assert all(set(r.changed) == {"severity"} for r in only.regions)
    result = run("diff", str(old), str(new), "--output-name", "nope")
    assert result.exit_code == 2 and "'nope' is not an output" in result.output


# --- a refactored COLLECT table: the walk must not decide the rules both versions share ---


def _flags_workbook(refactored: bool, n: int = 22) -> list[Sheet]:
    """A COLLECT table of ``n`` independent flags (rule Fk: bk is true). The refactored
    version splits F01's "age < 50" into two adjacent rules with the same flag, puts the age
    column first, and drops a column no rule tests: the same behaviour, written otherwise."""
    names = [f"b{k:02d}" for k in range(1, n + 1)]
    inputs = [["Name", "Type", "Unit", "Allowed values", "Required", "Description"],
              ["age_years", "integer", "years", "[0..120]", "yes", "Age"],
              ["note", "text", None, None, "no", "Free text"],
              *[[b, "boolean", None, None, "no", f"finding {b}"] for b in names]]
    flags = [f"f{k:02d}" for k in range(1, n + 1)]
    if refactored:
        head = ["age_years", *names]
        rules = [["F01a", "<= 29", True, *["-"] * (n - 1)],
                 ["F01b", "[30..49]", True, *["-"] * (n - 1)]]
        outs = ["f01", "f01"]
    else:
        head = [*names, "age_years", "note"]
        rules = [["F01", True, *["-"] * (n - 1), "< 50", "-"]]
        outs = ["f01"]
    for k in range(2, n + 1):
        cells = ["-"] * n
        cells[k - 1] = True
        rules.append([f"F{k:02d}", *(["-", *cells] if refactored else [*cells, "-", "-"])])
        outs.append(flags[k - 1])
    width = len(head)
    table = [["Table", "flags"], ["Hit policy", "COLLECT"], ["Description", "Findings"], [],
             ["Kind", *["Input"] * width, "Output", "Citation"],
             ["Name", *head, "flags"],
             ["Output values", *[None] * width, ", ".join(flags)],
             ["Default"],
             *[[*rule, out, "Guideline 1"] for rule, out in zip(rules, outs, strict=True)]]
    about = make_minimal_sheets()[0]
    return [about, Sheet("Inputs", tuple(tuple(r) for r in inputs)),
            Sheet("Flags", tuple(tuple(r) for r in table))]


def test_a_refactored_collect_table_is_identical_without_deciding_every_rule() -> None:
    """Before the walk compared changed rules gap by gap, the region where F01 matches was
    cut by each of the 21 other flags (2^21 regions): the diff ran past its limit."""
    old = engine.load_sheets(_flags_workbook(False), require_citations=False)
    new = engine.load_sheets(_flags_workbook(True), require_citations=False)
    report = diff(old, new)
    assert report.identical, [r.when for r in report.regions]
    assert report.explored < 100
    # a real change is still found, with the lists both versions give (on 6 flags: where a
    # list differs, every other flag that may join it cuts the region in two)
    small = _flags_workbook(True, 6)
    rows = [list(r) for r in small[2].rows]
    rows[-1][-2] = "f01"  # F06 now gives f01
    small[2] = Sheet("Flags", tuple(tuple(r) for r in rows))
    found = diff(engine.load_sheets(_flags_workbook(False, 6), require_citations=False),
                 engine.load_sheets(small, require_citations=False))
    assert found.regions and all(r.when.get("b06") == "true" for r in found.regions)
    for region in found.regions:
        assert region.old.outputs is not None and region.new.outputs is not None
        old_flags, new_flags = region.old.outputs["flags"], region.new.outputs["flags"]
        assert "f06" in old_flags and "f06" not in new_flags
        assert new_flags[-1] == "f01"
