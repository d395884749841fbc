"""The triage command: JSON on success, one-line errors and exit codes otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import engine
from engine.cli import main
from engine.explanation import Explainer
from engine.model import Model
from tests.sheets import ABOUT, inputs_sheet, table_sheet
from tests.xlsx import write_workbook


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    inputs = inputs_sheet([("age", "integer", "[0..120]", "yes"), ("kind", "enum", "a, b", "no")])
    table = table_sheet(
        "decision",
        "UNIQUE",
        ["age", "kind"],
        ["advice"],
        [
            ("< 18", "-", "child"),
            (">= 18", '"a"', "adult a"),
            (">= 18", "not(a)", "adult"),
            (">= 100", '"a"', "centenarian"),
        ],
    )
    return write_workbook(tmp_path / "demo.xlsx", [ABOUT, inputs, table])


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_evaluate_prints_the_decision(workbook: Path, tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text('{"age": 40, "kind": "b"}')
    code, out, _ = invoke("evaluate", str(workbook), "--facts", str(facts))
    assert code == 0
    decision = json.loads(out)
    assert decision["outputs"] == {"decision": "adult"}
    assert decision["fired"][0]["rule_id"] == "R3"
    assert decision["fired"][0]["row"] == 11
    assert decision["fired"][0]["conditions"] == [
        {"input": "age", "test": ">= 18", "value": 40},
        {"input": "kind", "test": "not(a)", "value": "b"},
    ]


def test_evaluate_reads_standard_input(workbook: Path) -> None:
    code, out, _ = invoke("evaluate", str(workbook), stdin='{"age": 5}')
    assert code == 0
    assert json.loads(out)["outputs"] == {"decision": "child"}


ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "decision_tables" / "muscle_twitching.xlsx"
EXAMPLE = ROOT / "decision_tables" / "examples" / "muscle_twitching_case.json"


def _disposition_words(model: Model, code: str) -> str:
    """The workbook's label for a disposition code (the Disposition sheet's Labels row)."""
    output = model.output("disposition")
    assert output is not None and output.labels
    return output.labels[output.allowed_values.index(code)]


@pytest.mark.parametrize("change", [{}, {"breathing_difficulty": "at_rest_or_lying_flat"}])
def test_evaluate_explain_speaks_in_labels_with_reasons_and_fired_rules(
    change: dict[str, str]
) -> None:
    facts = {**json.loads(EXAMPLE.read_text()), **change}
    code, out, err = invoke("evaluate", str(BUNDLED), "--explain", stdin=json.dumps(facts))
    assert (code, err) == (0, "")
    compiled = engine.load(BUNDLED)
    model = compiled.model
    decision = compiled.evaluate(facts)
    lines = out.splitlines()
    disposition = decision.outputs["disposition"]
    words = _disposition_words(model, disposition)
    assert f"  Disposition: {words}  [{disposition}]" in lines[: lines.index("Why")]
    why = lines[lines.index("Why") + 1 : lines.index("Rules that fired")]
    assert [line.strip() for line in why if line] == Explainer(model).sentences(decision)
    assert f"Disposition: {words}, by rule " in out
    assert "more condition" not in out
    fired = lines[lines.index("Rules that fired") + 1 :]
    assert fired == [f"  {f.sheet}, row {f.row}, rule {f.rule_id}: {f.citation}"
                     for f in decision.fired]
    assert all(f.citation for f in decision.fired)


def test_evaluate_explain_without_labels_reads_codes_plainly(workbook: Path) -> None:
    code, out, _ = invoke("evaluate", str(workbook), "--explain", stdin='{"age": 40, "kind": "b"}')
    assert code == 0
    assert "  decision: adult" in out.splitlines()
    # a free-text output is shown once, under Results; the sentence names the rule
    assert "decision: from rule R3 (row 11), because age is 40 (at least 18); and kind is b." in out
    assert "  decision, row 11, rule R3: test source" in out.splitlines()
    code, _, err = invoke("evaluate", str(workbook), "--explain", stdin='{"kind": "a"}')
    assert (code, err) == (1, "Error: fact age: is required but missing\n")


@pytest.mark.parametrize(
    ("stdin", "code", "message"),
    [
        (
            '{"age": 500, "colour": 1}',
            1,
            "Error: fact colour: is not an input of this table\n"
            "Error: fact age: 500 is outside the allowed range [0..120]\n",
        ),
        ('{"kind": "a"}', 1, "Error: fact age: is required but missing\n"),
        (
            '{"age": 101, "kind": "a"}',
            1,
            "Error: table 'decision' (UNIQUE): more than one rule matched: rules R2, R4\n",
        ),
        (
            '{"age": ',
            2,
            "Error: standard input: not valid JSON at line 1 column 9: Expecting value\n",
        ),
        ("[1, 2]", 2, "Error: standard input: facts must be a JSON object of names and values\n"),
    ],
)
def test_evaluate_errors(workbook: Path, stdin: str, code: int, message: str) -> None:
    exit_code, _, err = invoke("evaluate", str(workbook), stdin=stdin)
    assert (exit_code, err) == (code, message)


def test_workbook_problems_are_listed_one_per_line(tmp_path: Path) -> None:
    inputs = inputs_sheet([("age", "integer", None, "yes")])
    table = table_sheet("decision", "SOMETIMES", ["agee"], ["out"], [(">= 5 and", "x")])
    path = write_workbook(tmp_path / "bad.xlsx", [ABOUT, inputs, table])
    code, _, err = invoke("compile", str(path))
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == (
        f"Error: {path}: decision!B2: unknown hit policy 'SOMETIMES' — write "
        "UNIQUE, ANY, PRIORITY, FIRST, COLLECT (optionally SUM, MIN, MAX or "
        "COUNT), RULE ORDER or OUTPUT ORDER, or a DMN letter such as U, P, F, C+"
    )
    # the columns are still read, so every other problem is reported in the same run
    assert (
        lines[1]
        == f"Error: {path}: decision!B6: 'agee' is not an input or an output of another "
        "table — did you mean 'age'?"
    )
    assert lines[2].startswith(f"Error: {path}: decision!B9: unexpected 'and' in '>= 5 and'")
    assert len(lines) == 3


def test_unreadable_files_exit_with_2(tmp_path: Path) -> None:
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook")
    code, _, err = invoke("compile", str(text))
    assert code == 2
    assert err == (
        f"Error: {text}: this is not an Excel workbook — save the file as .xlsx from Excel\n"
    )
    code, _, err = invoke("compile", str(tmp_path / "missing.xlsx"))
    assert code == 2
    assert "file not found" in err


def test_compile_prints_rulesets_and_readable_rules(workbook: Path) -> None:
    code, out, _ = invoke("compile", str(workbook))
    assert code == 0
    compiled = json.loads(out)
    (table,) = compiled["tables"]
    assert table["hit_policy"] == "UNIQUE"
    assert [r["rule_id"] for r in table["rules"]] == ["R1", "R2", "R3", "R4"]
    assert table["rules"][0]["when"] == "age [a0] == 0"  # rank 0: below the constant 18
    (ruleset,) = table["rulesets"]
    assert set(ruleset) == {r["durable_rule"] for r in table["rules"]}
    code, _, err = invoke("compile", str(workbook), "--table", "nope")
    assert (code, err) == (2, "Error: no table 'nope' (tables: decision)\n")


def test_console_script_is_installed(workbook: Path) -> None:
    triage = Path(sys.executable).with_name("triage")
    completed = subprocess.run(
        [str(triage), "evaluate", str(workbook)],
        input='{"age": 30, "kind": "b"}',
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["outputs"] == {"decision": "adult"}
