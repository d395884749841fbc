"""The explanation in words (engine/explanation.py): labels instead of codes, and every matched
condition of every fired rule named, however many there are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.explanation import Explainer
from engine.model import Kind, Model
from engine.workbook import Sheet
from tests.sheets import ABOUT, inputs_sheet, table_sheet
from tests.validation.workbooks import base_sheets
from tests.xlsx import set_cells

ROOT = Path(__file__).resolve().parents[1]
WORKBOOK = ROOT / "decision_tables" / "muscle_twitching.xlsx"
EXAMPLE = ROOT / "decision_tables" / "examples" / "muscle_twitching_case.json"


def _labelled() -> tuple[Sheet, ...]:
    sheets = set_cells(
        base_sheets(),
        "Inputs",
        {"G1": "Label", "H1": "Value labels", "G2": "Age", "G3": "Temperature",
         "G4": "Any red flag?", "H4": "Yes, No", "G5": "Where is the twitching?",
         "H5": "One spot, Two or more spots, All over"},
    )
    sheets = set_cells(sheets, "Severity", {"A4": "Labels", "F4": "Serious, Fairly, Not serious"})
    return set_cells(sheets, "Disposition", {"A4": "Labels", "C4": "Call 999, See your GP, Rest"})


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (
            {"age_years": 30, "temperature_c": 37, "red_flag": False, "pattern": "focal"},
            "Severity: Not serious, by rule S4 (row 12), because Any red flag? No; Where is the "
            "twitching? One spot; and Age is 30 years (from 18 to 64). Disposition: Rest, "
            "by rule D3 (row 11), because severity is Not serious.",
        ),
        (
            {"age_years": 70, "temperature_c": None, "red_flag": False, "pattern": "widespread"},
            "Severity: Fairly, by rule S2 (row 10), because Where is the twitching? All over; "
            "and Age is 70 years (at least 65). Disposition: See your GP, by rule D2 (row 10), "
            "because severity is Fairly.",
        ),
        (
            {"age_years": 10, "temperature_c": None, "red_flag": False, "pattern": "focal"},
            "Severity: Not serious, the table's default, as no rule matched. Disposition: Rest, "
            "by rule D3 (row 11), because severity is Not serious.",
        ),
    ],
)
def test_the_explanation_speaks_in_the_workbooks_labels(
    facts: dict[str, Any], expected: str
) -> None:
    model = engine.load_sheets(_labelled())
    assert Explainer(model.model).explain(model.evaluate(facts)) == expected


def test_without_labels_the_codes_are_read_plainly() -> None:
    model = engine.load_sheets(base_sheets())
    facts = {"age_years": 30, "temperature_c": 39, "red_flag": False, "pattern": "focal"}
    assert Explainer(model.model).explain(model.evaluate(facts)) == (
        "Severity: medium, by rule S3 (row 11), because temperature c is 39 °C (above 38.5). "
        "Disposition: GP, by rule D2 (row 10), because severity is medium."
    )


def _words(model: Model, name: str, value: Any) -> str | None:
    """The workbook's own label for ``value``, read from the model's fields, or None."""
    definition = model.input(name)
    if definition is not None and definition.value_labels:
        values = (True, False) if definition.kind is Kind.BOOLEAN else definition.allowed_values
        return definition.value_labels[values.index(value)]
    output = model.output(name)
    if output is not None and output.labels and not isinstance(value, list):
        return output.labels[output.allowed_values.index(value)]
    return None


def test_a_rule_with_many_conditions_names_every_one_with_its_labels() -> None:
    """The example case fires a likely-causes row with eleven conditions: each is in the
    explanation, with the input's label and the value's label, and nothing is summed up."""
    compiled = engine.load(WORKBOOK)
    model = compiled.model
    explainer = Explainer(model)
    decision = compiled.evaluate(json.loads(EXAMPLE.read_text()))
    text = explainer.explain(decision)
    widest = max(decision.fired, key=lambda f: len(f.conditions))
    assert len(widest.conditions) > 3  # more than the explanation used to show
    because = explainer.because(widest)
    assert len(because) == len(widest.conditions)
    assert "; ".join(because[:-1]) + "; and " + because[-1] in text
    for words, condition in zip(because, widest.conditions, strict=True):
        definition = model.input(condition.input)
        if definition is not None:
            assert words.startswith(definition.label), words
        expected = _words(model, condition.input, condition.value)
        if expected is not None:
            assert expected in words, (words, expected)
    assert "more condition" not in text


def test_every_vignette_is_explained_condition_by_condition_in_words() -> None:
    """Across the bundled workbook's vignettes, every fired rule's every condition is in
    the explanation, and no input or coded value is shown as its snake_case code."""
    compiled = engine.load(WORKBOOK)
    model = compiled.model
    explainer = Explainer(model)
    codes = {i.name for i in model.inputs if "_" in i.name} | {
        str(v) for t in model.tables for o in t.outputs for v in o.allowed_values if "_" in str(v)
    }
    for vignette in model.vignettes:
        decision = compiled.evaluate(vignette.facts)
        text = explainer.explain(decision)
        for fired in decision.fired:
            because = explainer.because(fired)
            assert len(because) == len(fired.conditions), vignette.vignette_id
            assert all(words in text for words in because), vignette.vignette_id
        shown = [code for code in codes if code in text]
        assert not shown, (vignette.vignette_id, shown)


@pytest.mark.parametrize(
    ("cell", "value", "words"),
    [
        ("< 5", 4, "x is 4 (below 5)"),
        ("<= 5", 5, "x is 5 (at most 5)"),
        ("> 5", 6, "x is 6 (above 5)"),
        (">= 5", 5, "x is 5 (at least 5)"),
        ("!= 5", 6, "x is 6 (not 5)"),
        ("[1..5]", 1, "x is 1 (from 1 to 5)"),
        ("[1..5)", 4.5, "x is 4.5 (from 1 to below 5)"),
        ("(1..5]", 5, "x is 5 (above 1 to 5)"),
        ("]1..5[", 2, "x is 2 (above 1 to below 5)"),
        ("< 0, [1..2], > 9", 10, "x is 10 (below 0, from 1 to 2 or above 9)"),
        ("not([1..5])", 7, "x is 7 (not from 1 to 5)"),
        ("null, > 5", None, "x is not known"),
        ("5", 5, "x is 5"),
    ],
)
def test_a_numeric_test_is_read_in_words(cell: str, value: float | None, words: str) -> None:
    inputs = inputs_sheet([("x", "number", None, "no")])
    table = table_sheet("t", "FIRST", ["x"], ["out"], [(cell, '"hit"')], ["hit, miss"], ["miss"])
    compiled = engine.load_sheets((ABOUT, inputs, table))
    decision = compiled.evaluate({"x": value})
    (fired,) = decision.fired
    assert Explainer(compiled.model).because(fired) == [words]
