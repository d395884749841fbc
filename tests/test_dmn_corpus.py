"""DMN models from the tools people use, with the expected results their own tests state
(``tests/data/dmn-real/``; ``build.py`` there says where each file comes from and
``manifest.json`` records repository, path, commit, licence and the cases).

Every file is loaded: the ones inside the supported subset must give the source test's
result for every case (or, where this engine differs on purpose, the documented one); the
others must be refused with a located problem of the stated check. ``triage validate``
runs on every file without a traceback and speaks of decisions and rules, never of sheets
and rows; every loaded model converts to a workbook.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import engine
from engine.cli import main
from engine.convert import dmn_to_workbook
from engine.errors import FactError, HitPolicyViolation, UnreadableFile, WorkbookError
from engine.validation import CHECKS, validate
from engine.workbook import read_workbook

CORPUS = Path(__file__).resolve().parent / "data" / "dmn-real"
MANIFEST: list[dict[str, Any]] = json.loads((CORPUS / "manifest.json").read_text("utf-8"))
LICENCES = {"Apache-2.0", "MIT"}
# Words of a workbook (not inside a rule id such as row-723033347-1)
WORKBOOK_WORDS = re.compile(
    r"(?i)\b(sheets?|rows?|workbook|cells?|columns?|excel|vignettes?)\b(?!-)"
)
QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")  # names and values, such as rule 'row-1'

ERRORS = {"HitPolicyViolation": HitPolicyViolation, "FactError": FactError}


def _id(entry: dict[str, Any]) -> str:
    return str(entry["file"])


LOADED = [m for m in MANIFEST if "refused" not in m]
REFUSED = [m for m in MANIFEST if "refused" in m]
CASES = [(m, n) for m in LOADED for n in range(len(m["cases"]))]


def test_the_corpus_is_large_and_its_provenance_recorded() -> None:
    with_results = [m for m in LOADED if m["cases"]]
    assert len(with_results) >= 40, len(with_results)
    for entry in MANIFEST:
        assert entry["licence"] in LICENCES, entry
        assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", entry["repository"])
        assert re.fullmatch(r"[0-9a-f]{40}", entry["commit"]), entry
        assert entry["path"] and entry["tests"], entry
        assert (CORPUS / entry["file"]).is_file(), entry
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.suffix in (".dmn", ".xml")}
    assert files == {m["file"] for m in MANIFEST}, "every file is in the manifest, and back"


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    return {m["file"]: engine.load(CORPUS / m["file"]) for m in LOADED}


@pytest.mark.parametrize(
    ("entry", "number"), CASES, ids=lambda v: v["file"] if isinstance(v, dict) else str(v)
)
def test_every_expected_result(models: dict[str, Any], entry: dict[str, Any], number: int) -> None:
    case = entry["cases"][number]
    expected = case.get("here", case["expected"])
    model = models[entry["file"]]
    if "error" in expected:
        with pytest.raises(ERRORS[expected["error"]]):
            model.evaluate(case["facts"])
        return
    outputs = model.evaluate(case["facts"]).outputs
    for name, value in expected.items():
        assert name in outputs, (name, sorted(outputs))
        assert _same(outputs[name], value, case.get("unordered", False)), (
            case["test"],
            name,
            outputs[name],
            value,
        )


def _same(got: Any, expected: Any, unordered: bool = False) -> bool:
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return type(got) is type(expected) and got == expected
    if isinstance(expected, int | float):
        return isinstance(got, int | float) and not isinstance(got, bool) and got == expected
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(expected)
            and all(_same(got[k], v) for k, v in expected.items())
        )
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            return False
        if unordered:
            return Counter(map(repr, got)) == Counter(map(repr, expected))
        return all(_same(g, e) for g, e in zip(got, expected, strict=True))
    raise AssertionError(f"unexpected expected value {expected!r}")


@pytest.mark.parametrize("entry", REFUSED, ids=_id)
def test_a_model_outside_the_subset_is_refused_with_a_located_problem(
    entry: dict[str, Any],
) -> None:
    with pytest.raises(WorkbookError) as caught:
        engine.load(CORPUS / entry["file"])
    assert not isinstance(caught.value, UnreadableFile)
    problems = caught.value.problems
    assert all(p.code in CHECKS and p.location is not None for p in problems), problems
    wanted = entry["refused"]
    assert any(
        p.code == wanted["code"] and wanted["message"] in f"{p.message} {p.fix}" for p in problems
    ), [str(p) for p in problems]


@pytest.mark.parametrize("entry", [m for m in MANIFEST if "validate" in m], ids=_id)
def test_what_validate_says_about_a_model(entry: dict[str, Any]) -> None:
    codes = {f.code for f in validate(CORPUS / entry["file"], vignettes=False).findings}
    assert set(entry["validate"].get("present", ())) <= codes, codes
    assert not set(entry["validate"].get("absent", ())) & codes, codes


@pytest.mark.parametrize("entry", MANIFEST, ids=_id)
def test_triage_validate_runs_on_every_file(entry: dict[str, Any]) -> None:
    path = CORPUS / entry["file"]
    result = CliRunner().invoke(main, ["validate", str(path), "--no-color"])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    shown = QUOTED.sub("", result.output.replace(str(path), ""))
    assert "Traceback" not in shown
    assert not WORKBOOK_WORDS.search(shown), shown
    assert result.exit_code == (1 if "refused" in entry else result.exit_code)


@pytest.mark.parametrize("entry", LOADED, ids=_id)
def test_every_loaded_model_converts_to_a_workbook(entry: dict[str, Any], tmp_path: Path) -> None:
    done = dmn_to_workbook(CORPUS / entry["file"], tmp_path / "model.xlsx")
    assert done.written == [tmp_path / "model.xlsx"]
    assert len(read_workbook(tmp_path / "model.xlsx")) >= 4
