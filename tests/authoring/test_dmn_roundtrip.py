"""xlsx -> DMN -> xlsx keeps everything: the content version, the vignettes (as DMN TCK test
cases beside the .dmn), every vignette's evaluation, the Safety properties and the labels
(in the sidecar ``table.dmn.triage.json``). Checked on the bundled workbook and on generated
ones; the test-case file is also read by the independent TCK harness of ``tests/test_tck.py``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

import engine
from engine.cli import main
from engine.conditions import format_value
from engine.convert import dmn_to_workbook, workbook_to_dmn
from engine.dmn.sidecar import sidecar_path
from engine.dmn.testcases import read_testcases, tck_path
from engine.errors import HitPolicyViolation, WorkbookError
from engine.evaluator import CompiledModel
from engine.model import Model
from engine.validation.vignettes import run_vignettes
from engine.values import split_list
from engine.workbook import Sheet, read_workbook
from tests.conftest import make_minimal_sheets
from tests.libreoffice.office import convert_to, soffice
from tests.strategies import HChooser, gen_facts, models, render
from tests.test_tck import TCK_DIR, collect, read_test_file, run
from tests.xlsx import set_cells, sheet, write_workbook

WORKBOOK = Path(__file__).resolve().parents[2] / "decision_tables" / "muscle_twitching.xlsx"


def convert(source: Path, target: Path) -> list[str]:
    """``triage convert`` as a person runs it: the lines it prints."""
    result = CliRunner().invoke(main, ["convert", str(source), str(target)])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def vignettes(model: Model) -> list[tuple[Any, ...]]:
    return [(v.vignette_id, dict(v.facts), dict(v.expected), v.note) for v in model.vignettes]


def properties(model: Model) -> list[tuple[Any, ...]]:
    return [
        (
            p.property_id,
            [(c.name, c.role, c.text) for c in p.when],
            [(c.name, c.role, c.text) for c in p.then],
            p.severity,
            p.citation,
            p.note,
        )
        for p in model.properties
    ]


def labels(model: Model) -> list[Any]:
    return [(i.name, i.label, i.value_labels) for i in model.inputs] + [
        (o.name, o.labels) for t in model.tables for o in t.outputs
    ]


def assert_same_behaviour(original: CompiledModel, back: CompiledModel) -> None:
    """Every vignette evaluates to the same outputs through the same rules."""
    for vignette in original.vignettes:
        try:
            expected = original.evaluate(dict(vignette.facts))
        except HitPolicyViolation:
            with pytest.raises(HitPolicyViolation):
                back.evaluate(dict(vignette.facts))
            continue
        got = back.evaluate(dict(vignette.facts))
        assert dict(got.outputs) == dict(expected.outputs), vignette.vignette_id
        assert [(f.table, f.rule_id, f.row) for f in got.fired] == [
            (f.table, f.rule_id, f.row) for f in expected.fired
        ], vignette.vignette_id


# --- the bundled workbook ------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("roundtrip")
    dmn, xlsx = folder / "muscle_twitching.dmn", folder / "back.xlsx"
    there = convert(WORKBOOK, dmn)
    back = convert(dmn, xlsx)
    return {"dmn": dmn, "xlsx": xlsx, "there": there, "back": back}


def test_the_bundled_workbook_comes_back_the_same(bundled: dict[str, Any]) -> None:
    original, back = engine.load(WORKBOOK), engine.load(bundled["xlsx"])
    assert back.version == original.version
    assert vignettes(back) == vignettes(original) and len(original.vignettes) > 100
    assert properties(back) == properties(original) and original.properties
    assert labels(back) == labels(original)
    assert back.about == original.about
    assert_same_behaviour(original, back)


def test_triage_validate_says_the_same_of_the_workbook_that_came_back(
    bundled: dict[str, Any],
) -> None:
    """Every finding, vignette (with the rules it fired), coverage count and Safety proof."""
    reports = []
    for path in (WORKBOOK, bundled["xlsx"]):
        result = CliRunner().invoke(main, ["validate", str(path), "--format", "json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        report.pop("source")
        for proof in report["properties"]:
            proof.pop("seconds")  # how long the prover took
        reports.append(report)
    assert reports[0]["summary"]["properties_proven"] == 39
    assert reports[1] == reports[0]


def test_the_workbook_that_came_back_is_formatted(bundled: dict[str, Any]) -> None:
    assert any(line.startswith("formatting: drop-downs") for line in bundled["back"])
    result = CliRunner().invoke(main, ["format", "--check", str(bundled["xlsx"])])
    assert result.exit_code == 0, result.output


def test_a_converted_workbook_that_does_not_build_is_kept_and_says_why(tmp_path: Path) -> None:
    """Formatting needs a model; a converted file that has none is still the result."""
    from engine.authoring.format import leave_formatted

    broken = tmp_path / "broken.xlsx"
    write_workbook(broken, [sheet("About", [["Field", "Value"]])])
    before = broken.read_bytes()
    line = leave_formatted(broken)
    assert line.startswith("formatting: not done (") and "triage validate" in line
    assert broken.read_bytes() == before


def test_convert_says_what_went_where(bundled: dict[str, Any]) -> None:
    there = "\n".join(bundled["there"])
    assert "vignettes: 211 as DMN TCK test cases in muscle_twitching-test-01.xml" in there
    assert "Safety properties: 39 in muscle_twitching.dmn.triage.json" in there
    assert "labels:" in there and "muscle_twitching.dmn.triage.json" in there
    assert "not carried: the helper sheets" in there
    back = "\n".join(bundled["back"])
    assert "vignettes: 211 from muscle_twitching-test-01.xml into the Tests sheet" in back
    assert "Safety properties: 39 from muscle_twitching.dmn.triage.json" in back
    assert f"content version {engine.load(WORKBOOK).version}" in back
    # one line per kind: no kind is reported twice
    kinds = [line.split(":", 1)[0] for line in bundled["there"][:-1]]
    assert len(kinds) == len(set(kinds))


def test_the_test_cases_pass_in_the_independent_tck_harness(bundled: dict[str, Any]) -> None:
    """tests/test_tck.py's own reader and runner, as for the TCK's cases, on the DMN model."""
    dmn: Path = bundled["dmn"]
    cases = read_test_file("bundled", dmn, tck_path(dmn))
    assert len(cases) == 211
    model = engine.load(dmn)
    failures = {case.case_id: run(case, model) for case in cases}
    assert {k: v for k, v in failures.items() if v} == {}


def test_without_the_sidecar_the_vignettes_and_results_still_come_back(
    bundled: dict[str, Any], tmp_path: Path
) -> None:
    dmn = tmp_path / "mt.dmn"
    dmn.write_bytes(bundled["dmn"].read_bytes())
    tck_path(dmn).write_bytes(tck_path(bundled["dmn"]).read_bytes())
    lines = convert(dmn, tmp_path / "mt.xlsx")
    assert "Safety properties and labels: none (no mt.dmn.triage.json beside mt.dmn)" in lines
    original, back = engine.load(WORKBOOK), engine.load(tmp_path / "mt.xlsx")
    assert vignettes(back) == vignettes(original)
    assert back.properties == ()
    assert_same_behaviour(original, back)


def test_a_dmn_edited_elsewhere_keeps_its_edit_and_the_sidecar_parts_that_still_fit(
    bundled: dict[str, Any], tmp_path: Path
) -> None:
    dmn = tmp_path / "muscle_twitching.dmn"
    text = bundled["dmn"].read_text(encoding="utf-8")
    edited = text.replace("<text>D1</text>", "<text>D1a</text>", 1)
    assert edited != text
    dmn.write_text(edited, encoding="utf-8")
    for made in (tck_path(bundled["dmn"]), sidecar_path(bundled["dmn"])):
        (tmp_path / made.name).write_bytes(made.read_bytes())
    lines = convert(dmn, tmp_path / "back.xlsx")
    assert any(line.startswith("cell spellings: not used") for line in lines), lines
    original, back = engine.load(WORKBOOK), engine.load(tmp_path / "back.xlsx")
    assert back.version != original.version
    assert "D1a" in {r.rule_id for t in back.tables for r in t.rules}
    assert properties(back) == properties(original)
    assert vignettes(back) == vignettes(original)


# --- generated workbooks -------------------------------------------------------------------


def _cell(value: Any, listed: bool) -> Any:
    """An expected cell; ``None`` (not checked) for a list holding a null, which a Tests
    sheet cannot write."""
    if listed:
        if any(v is None for v in value):
            return None
        return ", ".join(format_value(v) for v in value) if value else "[]"
    if value is None:
        return "null"
    return format_value(value) if isinstance(value, str) else value


def with_tests(sheets: Sequence[Sheet], facts: list[dict[str, Any]]) -> list[Sheet] | None:
    """``sheets`` with a Tests sheet whose vignettes expect what the engine gives (a fact set
    that violates a hit policy is left out)."""
    model = engine.load_sheets(tuple(sheets))
    outputs = [(o.name, t) for t in model.tables for o in t.outputs]
    names = [i.name for i in model.inputs]
    rows: list[list[Any]] = [["Test id", *names, *(n for n, _ in outputs), "Note"]]
    for number, fact_set in enumerate(facts, start=1):
        try:
            decision = model.evaluate(fact_set)
        except HitPolicyViolation:
            continue
        row: list[Any] = [f"T{number}"]
        row += [
            None
            if fact_set.get(n) is None
            else (format_value(fact_set[n]) if isinstance(fact_set[n], str) else fact_set[n])
            for n in names
        ]
        for name, table in outputs:
            result = decision.outputs[table.name]
            if len(table.outputs) > 1:
                result = (
                    [item[name] for item in result]
                    if table.returns_list
                    else (result or {}).get(name)
                )
            allowed = table.outputs[0].allowed_values
            if table.aggregation is not None and allowed and result not in allowed:
                row.append(None)  # a sum the Output values leave out cannot be written
            else:
                row.append(_cell(result, table.returns_list))
        row.append(f"case {number}, generated")
        rows.append(row)
    return [*sheets, sheet("Tests", rows)] if len(rows) > 1 else None


LABEL_WORDS = ("Yes", "Left, right", "Très bien", "x")


def with_labels(sheets: list[Sheet], word: str) -> list[Sheet]:
    """``sheets`` with a Label for every input and Value labels for the enum and boolean
    ones (a label holding a comma in double quotes)."""
    result = []
    for one in sheets:
        if one.name.strip().lower() != "inputs":
            result.append(one)
            continue
        rows = [list(one.rows[0]) + ["Label", "Value labels"]]
        for row in one.rows[1:]:
            kind, allowed = row[1], row[3]
            count = {"boolean": 2, "enum": len(split_list(allowed))}.get(str(kind), 0)
            quoted = f'"{word}"' if "," in word else word
            values = ", ".join(f"{quoted} {n}" if "," not in word else quoted for n in range(count))
            rows.append([*row, *[None] * (6 - len(row)), f"{word} {row[0]}", values or None])
        result.append(sheet(one.name, rows))
    return result


@settings(
    max_examples=60,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking takes minutes here
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(generated=models(), data=st.data())
def test_generated_workbooks_come_back_the_same(
    generated: Any, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    sheets = render(generated.spec)
    if data.draw(st.booleans()):
        sheets = with_labels(sheets, data.draw(st.sampled_from(LABEL_WORDS)))
    facts = [gen_facts(HChooser(data.draw), generated) for _ in range(4)]
    full = with_tests(sheets, facts) if data.draw(st.booleans()) else sheets  # or no Tests
    assume(full is not None)
    assert full is not None
    folder = tmp_path_factory.mktemp("generated")
    source = write_workbook(folder / "gen.xlsx", full)
    original = engine.load(source)
    try:
        there = workbook_to_dmn(source, folder / "gen.dmn")
    except WorkbookError as error:  # DMN needs a table not named like an input (TV109)
        assume("TV109" not in {p.code for p in error.problems})
        raise
    assert not any("warning" in line for line in there.report), there.report
    dmn_to_workbook(folder / "gen.dmn", folder / "back.xlsx")
    back = engine.load(folder / "back.xlsx")
    assert back.version == original.version
    assert vignettes(back) == vignettes(original)
    assert labels(back) == labels(original)
    assert_same_behaviour(original, back)


def test_the_cds_fields_of_the_about_sheet_come_back(tmp_path: Path) -> None:
    """The optional About fields (CDS hook, Card indicators) travel in the DMN extension."""
    sheets = set_cells(make_minimal_sheets(), "About", {
        "A8": "CDS hook", "B8": "encounter-start",
        "A9": "Card indicators", "B9": "GP: warning, SELF_CARE: info",
    })
    source = write_workbook(tmp_path / "cds.xlsx", sheets)
    original = engine.load(source)
    assert original.about.cds_hook == "encounter-start" and original.about.card_indicators
    workbook_to_dmn(source, tmp_path / "cds.dmn")
    assert engine.load(tmp_path / "cds.dmn").about == original.about
    dmn_to_workbook(tmp_path / "cds.dmn", tmp_path / "back.xlsx")
    back = engine.load(tmp_path / "back.xlsx")
    assert back.about == original.about and back.version == original.version


def test_labels_and_safety_of_a_small_workbook_come_back(tmp_path: Path) -> None:
    sheets = set_cells(
        make_minimal_sheets(),
        "Inputs",
        {
            "G1": "Label",
            "H1": "Value labels",
            "G3": "Temperature",
            "G5": "Pattern",
            "H5": 'One spot, "Two, or more", All over',
            "H4": "Yes, No",
        },
    )
    sheets = set_cells(sheets, "Severity", {"A4": "Labels", "F4": "High, Medium, Low"})
    safety = sheet(
        "Safety",
        [
            ["Property", "red_flag", "severity", "Severity", "Citation", "Note"],
            ["Role", "When", "Then"],
            ["P1", "true", '"high"', "error", "Example 1", "a red flag is high"],
        ],
    )
    source = write_workbook(tmp_path / "mini.xlsx", [*sheets, safety])
    original = engine.load(source)
    convert(source, tmp_path / "mini.dmn")
    side = json.loads(sidecar_path(tmp_path / "mini.dmn").read_text(encoding="utf-8"))
    assert side["labels"]["inputs"]["pattern"]["values"] == ["One spot", "Two, or more", "All over"]
    convert(tmp_path / "mini.dmn", tmp_path / "back.xlsx")
    back = engine.load(tmp_path / "back.xlsx")
    assert back.version == original.version
    assert labels(back) == labels(original) and original.inputs[3].value_labels
    assert properties(back) == properties(original) and len(original.properties) == 1


# --- the test-case files -------------------------------------------------------------------


def test_a_test_case_naming_an_unknown_input_is_refused_at_its_node(tmp_path: Path) -> None:
    source = write_workbook(tmp_path / "mini.xlsx", make_minimal_sheets())
    convert(source, tmp_path / "mini.dmn")
    tests = tck_path(tmp_path / "mini.dmn")
    tests.write_text(
        tests.read_text(encoding="utf-8").replace('name="age_years"', 'name="age"', 1),
        encoding="utf-8",
    )
    args = ["convert", str(tmp_path / "mini.dmn"), str(tmp_path / "b.xlsx")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "test case 'T1', inputNode 'age': 'age' is not an input of the model" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "b.xlsx").exists()


@pytest.mark.skipif(not TCK_DIR.is_dir(), reason=f"DMN TCK cases not found at {TCK_DIR}")
def test_the_tck_s_own_test_files_read_as_the_tck_harness_reads_them() -> None:
    """Every TCK case whose model loads: the same facts as tests/test_tck.py's reader, and
    every result node lands on an output of the model."""
    checked = 0
    for case in collect(TCK_DIR):
        try:
            model = engine.load(case.model).model
        except WorkbookError:
            continue
        path = case.model.parent / case.test_file
        ours = {c.case_id: c for c in read_testcases(path.read_bytes(), model, str(path))}
        assert dict(ours[case.case_id].facts) == case.facts, case.name
        for node in case.results:
            table = model.table(node.name)
            assert table is not None and not node.error
            assert {o.name for o in table.outputs} >= set(ours[case.case_id].expected)
        checked += 1
    assert checked > 40


def test_the_converted_workbooks_open_in_libreoffice(
    bundled: dict[str, Any], tmp_path: Path
) -> None:
    """The bundled workbook back from DMN, and a workbook made from a DMN model with renamed
    names and their comments, both convert to PDF in a headless LibreOffice."""
    if soffice() is None:
        pytest.skip(
            "LibreOffice is not installed (no soffice on PATH); "
            "sudo apt-get install libreoffice-calc-nogui"
        )
    tck = TCK_DIR / "0004-simpletable-U" / "0004-simpletable-U.dmn"
    sources = [bundled["xlsx"]]
    if tck.is_file():  # names with spaces and capitals: renamed, with a comment on each cell
        convert(tck, tmp_path / "tck.xlsx")
        sources.append(tmp_path / "tck.xlsx")
    pdfs = convert_to(sources, "pdf", tmp_path / "pdf", tmp_path / "profile")
    for pdf in pdfs:
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000


@pytest.mark.parametrize(
    ("sidecar", "reason"),
    [
        ("{", "the sidecar cannot be read (Expecting property name"),
        ('{"format": "other"}', "it is not a 'triage-rules dmn sidecar 1' file"),
        (
            '{"format": "triage-rules dmn sidecar 1", "safety": "rows"}',
            "'safety' is not a list of rows",
        ),
        (
            '{"format": "triage-rules dmn sidecar 1", "labels": {"inputs": {"age": 3}}}',
            "the labels of input 'age' are not a label and a list",
        ),
    ],
)
def test_a_broken_sidecar_is_refused_in_one_line(tmp_path: Path, sidecar: str, reason: str) -> None:
    source = write_workbook(tmp_path / "mini.xlsx", make_minimal_sheets())
    convert(source, tmp_path / "mini.dmn")
    sidecar_path(tmp_path / "mini.dmn").write_text(sidecar, encoding="utf-8")
    args = ["convert", str(tmp_path / "mini.dmn"), str(tmp_path / "b.xlsx")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0] and "mini.dmn.triage.json" in lines[0]
    assert not (tmp_path / "b.xlsx").exists()


def test_a_negated_fraction_on_an_integer_column_comes_back(tmp_path: Path) -> None:
    """The writer turns ``!= 64.5`` into FEEL's ``not(64.5)``; both hold for every integer."""
    sheets = set_cells(make_minimal_sheets(), "Severity", {"D10": "!= 64.5"})
    source = write_workbook(tmp_path / "mini.xlsx", sheets)
    convert(source, tmp_path / "mini.dmn")
    assert "<text>not(64.5)</text>" in (tmp_path / "mini.dmn").read_text(encoding="utf-8")
    convert(tmp_path / "mini.dmn", tmp_path / "back.xlsx")
    original, back = engine.load(source), engine.load(tmp_path / "back.xlsx")
    assert back.version == original.version
    assert_same_behaviour(original, back)


@pytest.mark.skipif(not TCK_DIR.is_dir(), reason=f"DMN TCK cases not found at {TCK_DIR}")
def test_the_tck_s_test_cases_become_vignettes_that_pass(tmp_path: Path) -> None:
    """Third-party test cases, read into the Tests sheet of the converted workbook (with DMN's
    names renamed to snake_case), pass as vignettes there."""
    converted = 0
    for folder in sorted(p for p in TCK_DIR.iterdir() if p.is_dir()):
        (model_file,) = folder.glob("*.dmn")
        try:
            engine.load(model_file)
        except WorkbookError:
            continue
        target = tmp_path / f"{folder.name}.xlsx"
        lines = convert(model_file, target)
        assert any(
            line.startswith("vignettes: ") and "into the Tests sheet" in line for line in lines
        ), lines
        model = engine.load_sheets(read_workbook(target), str(target), require_citations=False)
        results, findings = run_vignettes(model)
        assert results and all(r.passed for r in results), (folder.name, findings)
        converted += 1
    assert converted >= 15
