"""The prover on hand-made workbooks: verdicts, counterexamples, what it refuses to prove,
and the report (text, JSON, annotations). ``test_differential.py`` compares it with brute
force on random models; this file pins behaviour a reviewer relies on.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import z3
from openpyxl import load_workbook

from engine import load_sheets
from engine.prover import Prover, Verdict, prove_properties
from engine.validation import annotate, render, validate
from engine.workbook import Sheet
from tests.conftest import make_minimal_sheets
from tests.sheets import ABOUT, inputs_sheet, table_sheet

BUNDLED = Path(__file__).resolve().parents[2] / "decision_tables" / "muscle_twitching.xlsx"


def safety(*rows: list[Any], heads: list[str], roles: list[str]) -> Sheet:
    return Sheet(
        "Safety",
        (
            ("Property", *heads, "Severity", "Citation"),
            ("Role", *roles),
            *(tuple(r) for r in rows),
        ),
    )


def mini(*rows: list[Any]) -> list[Sheet]:
    """The conftest workbook with properties on red_flag, temperature_c -> disposition."""
    sheet = safety(*rows, heads=["red_flag", "temperature_c", "disposition"],
                   roles=["When", "When", "Then"])
    return [*make_minimal_sheets(), sheet]


def verdicts(sheets: list[Sheet]) -> dict[str, Any]:
    return {r.prop.property_id: r for r in prove_properties(load_sheets(sheets))}


def test_verdicts_on_the_minimal_workbook() -> None:
    found = verdicts(mini(
        ["P1", True, None, '"EMERGENCY"', "error", "s"],  # S1 -> high -> D1
        ["P2", None, "null", 'not("SELF_CARE")', "warning", "s"],  # S4 -> low -> SELF_CARE
        ["P3", None, "> 50", '"GP"', "error", "s"],  # temperature is [30..45]
        ["P4", False, "> 38.5", '"GP"', "error", "s"],  # S3 medium unless S1
    ))
    assert {k: r.verdict for k, r in found.items()} == {
        "P1": Verdict.PROVEN,
        "P2": Verdict.VIOLATED,
        "P3": Verdict.VACUOUS,
        "P4": Verdict.PROVEN,
    }


def test_a_counterexample_is_a_whole_readable_patient_that_reproduces() -> None:
    sheets = mini(["P1", None, ">= 30", 'not("GP")', "error", "s"])
    compiled = load_sheets(sheets)
    [result] = prove_properties(compiled)
    example = result.counterexample
    assert result.verdict is Verdict.VIOLATED and example is not None
    # every input given, the optional ones included, with short values
    assert all(v is not None for v in example.facts.values()), example.facts
    temperature = example.facts["temperature_c"]
    assert 30 <= temperature <= 45 and len(str(temperature)) <= 4, temperature
    # the engine gives that patient GP, through the rules the counterexample names
    decision = compiled.evaluate({k: v for k, v in example.facts.items() if v is not None})
    assert decision.outputs["disposition"] == "GP" == example.outputs["disposition"]  # type: ignore[index]
    assert [f.rule_id for f in decision.fired] == [f.rule_id for f in example.fired]
    # the Tests row follows the Tests sheet's columns when asked to
    columns = ["Test id", "red_flag", "pattern", "age_years", "temperature_c", "duration_weeks",
               "severity", "disposition", "Note"]
    [again] = prove_properties(compiled, tests_columns=columns)
    assert again.counterexample is not None
    row = again.counterexample.tests_line.split("\t")
    assert len(row) == len(columns) and row[0] == "CX-P1"
    assert row[4] == str(again.counterexample.facts["temperature_c"])
    assert row[6:8] == ["", ""]  # expected outputs are the reviewer's to write
    assert "today disposition \"GP\"" in row[8]


@pytest.mark.parametrize(
    ("exact", "constants", "integer", "expected"),
    [
        (Fraction(77, 2), [35, 38.5, 45], False, 38.5),  # a value a test names stays
        (Fraction(3851, 100), [35, 38.5, 45], False, 42),  # a whole number in (38.5, 45)
        (Fraction(3851, 100), [38.5, 38.75], False, 38.6),  # else a short decimal
        (Fraction(1, 3), [0, 0.5], False, 0.2),
        (Fraction(-7), [0, 10], True, -1),  # below every constant
        (Fraction(70), [0, 10], True, 11),  # above
        (Fraction(5), [2.2, 7.9], True, 5),
        (Fraction(1, 7), [], False, 1 / 7),  # nothing tests it: the solver's value
    ],
)
def test_readable_values_stay_in_their_interval(
    exact: Fraction, constants: list[float], integer: bool, expected: float
) -> None:
    from engine.prover.space import readable

    value = readable(exact, sorted(Fraction(c) for c in constants), integer)
    assert value == expected and (isinstance(value, int) or not integer)


def test_a_case_without_an_answer_breaks_every_property_that_applies() -> None:
    """Two rules of a UNIQUE table match: the patient gets no answer at all."""
    sheets = [
        ABOUT,
        inputs_sheet([("x", "integer", "[0..10]", "yes")]),
        table_sheet("t", "UNIQUE", ["x"], ["out"], [["<= 5", "low"], [">= 5", "high"]],
                    output_values=["low, high"]),
        safety(["P1", ">= 5", '"high"', "error", "s"], ["P2", "<= 5", '"low"', "error", "s"],
               ["P3", "<= 4", '"low"', "error", "s"], heads=["x", "out"], roles=["When", "Then"]),
    ]
    found = verdicts(sheets)
    assert found["P1"].verdict is Verdict.VIOLATED and found["P2"].verdict is Verdict.VIOLATED
    assert found["P3"].verdict is Verdict.PROVEN  # the When keeps away from x = 5
    example = found["P1"].counterexample
    assert example.facts == {"x": 5} and example.outputs is None
    assert "more than one rule matched" in example.no_answer


def test_list_outputs_and_aggregations() -> None:
    sheets = [
        ABOUT,
        inputs_sheet([("x", "integer", "[0..10]", "yes"), ("y", "boolean", None, "no")]),
        table_sheet("flags", "COLLECT", ["x", "y"], ["flags"],
                    [[">= 8", "-", "high_x"], ["-", "true", "y_set"]],
                    output_values=["high_x, y_set"]),
        table_sheet("score", "COLLECT SUM", ["flags"], ["score"],
                    [['"high_x"', 2], ['"y_set"', 3]], defaults=[0]),
        table_sheet("count", "COLLECT COUNT", ["flags"], ["count"],
                    [['"high_x"', "a"], ['"y_set"', "b"], ["null", "c"]]),
        safety(
            ["P1", "not(null)", "> 0", "-", "error", "s"],  # a flag gives a positive score
            ["P2", '"high_x"', ">= 3", "-", "error", "s"],  # fails: high_x alone scores 2
            ["P3", "null", "0", "1", "error", "s"],  # no flag: the default 0, and 'null' fires
            ["P4", '"y_set"', "-", ">= 1", "error", "s"],
            heads=["flags", "score", "count"], roles=["When", "Then", "Then"],
        ),
    ]
    found = verdicts(sheets)
    assert found["P1"].verdict is Verdict.PROVEN
    assert found["P2"].verdict is Verdict.VIOLATED
    assert found["P2"].counterexample.outputs == {"flags": ["high_x"], "score": 2, "count": 1}
    assert found["P4"].verdict is Verdict.PROVEN
    assert found["P3"].verdict is Verdict.PROVEN


def test_sums_floating_point_rounds_are_not_proven(tmp_workbook: Any) -> None:
    """0.1 + 0.2 is not 0.3 in floating point: the prover says it cannot be sure."""
    sheets = [
        ABOUT,
        inputs_sheet([("a", "boolean", None, "yes"), ("b", "boolean", None, "yes")]),
        table_sheet("total", "C+", ["a", "b"], ["total"], [["true", "-", 0.1], ["-", "true", 0.2]]),
        safety(["P1", "true", "true", "<= 0.3", "error", "s"], heads=["a", "b", "total"],
               roles=["When", "When", "Then"]),
    ]
    [result] = prove_properties(load_sheets(sheets))
    # the engine really gives 0.30000000000000004 > 0.3: the replay catches it
    assert result.verdict is Verdict.VIOLATED
    assert result.counterexample.outputs == {"total": 0.1 + 0.2}
    sheets[-1] = safety(["P1", "true", "true", ">= 0.3", "error", "s"], heads=["a", "b", "total"],
                        roles=["When", "When", "Then"])
    [result] = prove_properties(load_sheets(sheets))
    assert result.verdict is Verdict.NOT_PROVEN and "rounds" in result.reason
    report = validate(tmp_workbook(sheets))
    [finding] = [f for f in report.findings if f.code == "TV702"]
    assert (finding.sheet, finding.cells, finding.severity.value) == ("Safety", ("A3",), "warning")


class _Undecided:
    """A solver that gives up on every question, as one that runs out of time does."""

    def __init__(self, solver: z3.Solver) -> None:
        self.inner = solver

    def check(self, *args: Any) -> Any:
        return z3.unknown

    def reason_unknown(self) -> str:
        return "timeout"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_solver_timeout_is_never_proven() -> None:
    prover = Prover(load_sheets(mini(["P1", True, None, '"EMERGENCY"', "error", "s"])))
    prover.solver = _Undecided(prover.solver)  # type: ignore[assignment]
    [result] = prover.prove_all()
    assert (result.verdict, result.reason) == (Verdict.NOT_PROVEN, "the solver ran out of time")


def test_a_replay_that_does_not_break_the_property_is_never_proven(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should the solver and durable-rules ever disagree, the property is not proven."""
    from engine.prover.space import InputSpace

    compiled = load_sheets(mini(["P1", None, "null", 'not("SELF_CARE")', "error", "s"]))
    harmless = {"age_years": 40, "red_flag": True, "pattern": "focal", "duration_weeks": 1}
    monkeypatch.setattr(InputSpace, "facts", lambda self, model: dict(harmless))
    [result] = prove_properties(compiled)
    assert result.verdict is Verdict.NOT_PROVEN
    assert "does not break the property when durable-rules runs it" in result.reason


# --- the report ------------------------------------------------------------------------------


def test_the_report_carries_the_properties(tmp_workbook: Any, tmp_path: Path) -> None:
    path = tmp_workbook(mini(
        ["P1", True, None, '"EMERGENCY"', "error", "s"],
        ["P2", None, "null", 'not("SELF_CARE")', "warning", "s"],
    ))
    report = validate(path)
    text = render(report)
    assert "1 of 2 properties proven" in text
    assert "TV701" in text and "Tests row: CX-P2\t" in text
    data = json.loads(render(report, "json"))
    assert data["summary"]["properties_proven"] == 1 and data["summary"]["properties"] == 2
    p1, p2 = data["properties"]
    assert (p1["id"], p1["verdict"], p1["counterexample"]) == ("P1", "proven", None)
    assert (p2["id"], p2["verdict"], p2["severity"]) == ("P2", "violated", "warning")
    example = p2["counterexample"]
    assert example["outputs"]["disposition"] == "SELF_CARE"
    assert example["facts"]["temperature_c"] is None
    assert example["tests_columns"][0] == "Test id" and example["tests_row"][0] == "CX-P2"
    assert [f["rule_id"] for f in example["fired"]][-1] == "D3"
    [finding] = [f for f in data["findings"] if f["code"] == "TV701"]
    assert finding["severity"] == "warning" and finding["detail"].startswith("Tests row: ")
    # --annotate: the Tests row is a comment on the property's row
    out = tmp_path / "annotated.xlsx"
    annotate(path, out, report)
    comment = load_workbook(out)["Safety"]["A4"].comment
    assert comment is not None and example["tests_line"] in comment.text
    assert report.exit_code() == 0 and report.exit_code(strict=True) == 1


def test_an_error_property_that_fails_fails_validation(tmp_workbook: Any) -> None:
    report = validate(tmp_workbook(mini(["P2", None, "null", 'not("SELF_CARE")', "error", "s"])))
    assert [f.severity.value for f in report.findings if f.code == "TV701"] == ["error"]
    assert report.exit_code() == 1


# --- the bundled table -----------------------------------------------------------------------

BREATHLESS = [
    ["Property", "breathing_difficulty", "disposition", "Severity", "Citation"],
    ["Role", "When", "Then"],
    ["P1", '"at_rest_or_lying_flat"', '"EMERGENCY"', "error", "NICE CKS breathlessness"],
]


def bundled_copy(path: Path, delete_emergency_rows: bool) -> Path:
    """The bundled workbook with a Safety sheet, optionally without the Disposition rows
    that make respiratory compromise (breathlessness at rest) an emergency."""
    book = load_workbook(BUNDLED)
    if "Safety" in book.sheetnames:
        del book["Safety"]
    sheet = book.create_sheet("Safety")
    for row in BREATHLESS:
        sheet.append(row)
    if delete_emergency_rows:
        disposition = book["Disposition"]
        rows = [r for r in range(9, disposition.max_row + 1)
                if "respiratory_compromise" in str(disposition.cell(r, 2).value)]
        assert rows, "the Disposition sheet no longer reads respiratory_compromise"
        for r in reversed(rows):
            disposition.delete_rows(r)
    book.save(path)
    return path


@pytest.mark.skipif(not BUNDLED.exists(), reason="the bundled workbook is not in this checkout")
def test_breathlessness_at_rest_is_an_emergency_in_the_bundled_table(tmp_path: Path) -> None:
    report = validate(bundled_copy(tmp_path / "kept.xlsx", delete_emergency_rows=False))
    assert [(p.prop.property_id, p.verdict) for p in report.properties] == [
        ("P1", Verdict.PROVEN)
    ]
    broken = bundled_copy(tmp_path / "broken.xlsx", delete_emergency_rows=True)
    report = validate(broken, vignettes=False)
    [result] = report.properties
    assert result.verdict is Verdict.VIOLATED
    example = result.counterexample
    assert example.facts["breathing_difficulty"] == "at_rest_or_lying_flat"
    assert example.outputs["disposition"] != "EMERGENCY"
    # the counterexample reproduces through durable-rules
    import engine

    compiled = engine.load(broken)
    decision = compiled.evaluate({k: v for k, v in example.facts.items() if v is not None})
    assert decision.outputs["disposition"] == example.outputs["disposition"]
    assert decision.outputs["disposition"] != "EMERGENCY"
    assert [f.rule_id for f in decision.fired] == [f.rule_id for f in example.fired]
    assert any(f.code == "TV701" and f.cells == ("A3",) for f in report.findings)


def test_junit_lists_each_property(tmp_workbook: Any) -> None:
    from xml.etree import ElementTree as ET

    report = validate(tmp_workbook(mini(
        ["P1", True, None, '"EMERGENCY"', "error", "s"],
        ["P2", None, "null", 'not("SELF_CARE")', "error", "s"],
    )))
    root = ET.fromstring(render(report, "junit"))
    suite = next(s for s in root if s.get("name") == "safety properties")
    cases = {c.get("name"): c for c in suite}
    assert set(cases) == {"P1 (row 3): proven", "P2 (row 4): violated"}
    assert cases["P1 (row 3): proven"].find("failure") is None
    failure = cases["P2 (row 4): violated"].find("failure")
    assert failure is not None and "Tests row: CX-P2" in (failure.text or "")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"


def test_a_prover_failure_leaves_every_property_not_proven(
    tmp_workbook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.validation.safety as safety_module

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(safety_module, "prove_properties", broken)
    report = validate(tmp_workbook(mini(["P1", True, None, '"EMERGENCY"', "error", "s"])))
    assert [(r.prop.property_id, r.verdict) for r in report.properties] == [
        ("P1", Verdict.NOT_PROVEN)
    ]
    [finding] = [f for f in report.findings if f.code == "TV702"]
    assert "the prover failed (RuntimeError: boom)" in finding.message
    assert report.exit_code(strict=True) == 1


def test_two_models_encoded_over_one_input_space() -> None:
    """The ground for a semantic diff: an old and a new model side by side, asked where an
    output differs."""
    from engine.conditions import AnyOf, Equals, IsNull
    from engine.prover import InputSpace, conditions_of, encode_model
    from engine.prover.values import to_z3

    old = load_sheets(mini())
    sheets = list(make_minimal_sheets())
    rows = [list(r) for r in sheets[3].rows]
    rows[10][2] = "GP"  # D3: low -> GP instead of SELF_CARE
    new = load_sheets([*sheets[:3], Sheet("Disposition", tuple(map(tuple, rows))), sheets[4]])
    conditions = conditions_of(old.model)
    for name, found in conditions_of(new.model).items():
        conditions.setdefault(name, []).extend(found)

    def differs(a: Any, b: Any) -> dict[str, Any] | None:
        """A patient the two models answer differently, or None."""
        space = InputSpace.of(a.inputs, conditions)
        left, right = encode_model(a.model, space, "old."), encode_model(b.model, space, "new.")
        solver = z3.Solver(ctx=space.ctx)
        solver.add(*space.domain, *left.definitions, *right.definitions)
        tests = [AnyOf((Equals(v),)) for v in ("EMERGENCY", "GP", "SELF_CARE")]
        tests.append(AnyOf((IsNull(),)))
        solver.add(z3.Or(*[
            to_z3(left.holds("disposition", t), space.ctx)
            != to_z3(right.holds("disposition", t), space.ctx)
            for t in tests
        ]))
        if solver.check() != z3.sat:
            return None
        return space.facts(solver.model())

    assert differs(old, old) is None
    patient = differs(old, new)
    assert patient is not None
    assert old.evaluate(patient).outputs["disposition"] == "SELF_CARE"
    assert new.evaluate(patient).outputs["disposition"] == "GP"


def test_a_failure_inside_one_proof_leaves_that_property_not_proven(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prover = Prover(load_sheets(mini(["P1", True, None, '"EMERGENCY"', "error", "s"])))

    def broken(*args: Any) -> Any:
        raise KeyError("disposition")

    monkeypatch.setattr(prover, "_prove", broken)
    [result] = prover.prove_all()
    assert result.verdict is Verdict.NOT_PROVEN
    assert result.reason.startswith("the prover failed (KeyError: 'disposition')")
