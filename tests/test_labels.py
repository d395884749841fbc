"""Labels: words people read for inputs, their values and output values."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.labels import labels_of, name_label, value_label
from engine.model import Kind
from engine.workbook import Sheet
from tests.validation.workbooks import base_sheets
from tests.xlsx import set_cells

ROOT = Path(__file__).resolve().parents[1]

LABELLED = {
    "G1": "Label",
    "H1": "Value labels",
    "G2": "Age",
    "G3": "Temperature",
    "G4": "Any red flag?",
    "H4": "Yes, No",
    "G5": "Where is the twitching?",
    "H5": 'One spot, "Two, or more, spots", All over',
}


def _labelled() -> tuple[Sheet, ...]:
    sheets = set_cells(base_sheets(), "Inputs", LABELLED)
    return set_cells(
        sheets, "Disposition", {"A4": "Labels", "C4": "Call 999 now, See your GP, Self-care"}
    )


def test_labels_are_read_into_the_model() -> None:
    model = engine.load_sheets(_labelled()).model
    assert model.input("pattern").label == "Where is the twitching?"
    assert model.input("pattern").value_labels == ("One spot", "Two, or more, spots", "All over")
    assert model.output("disposition").labels == ("Call 999 now", "See your GP", "Self-care")
    assert name_label(model, "red_flag") == "Any red flag?"
    assert name_label(model, "severity") == "severity"
    assert value_label(model, "pattern", "multifocal") == "Two, or more, spots"
    assert value_label(model, "red_flag", False) == "No"
    assert value_label(model, "disposition", "EMERGENCY") == "Call 999 now"
    assert value_label(model, "severity", "high") == "high"
    assert value_label(model, "temperature_c", None) == "not known"


def test_without_labels_the_codes_read_plainly() -> None:
    model = engine.load_sheets(base_sheets()).model
    assert name_label(model, "age_years") == "age years"
    assert value_label(model, "red_flag", True) == "yes"
    assert value_label(model, "disposition", "SELF_CARE") == "SELF CARE"


def test_labels_are_content_so_they_change_the_version() -> None:
    assert engine.load_sheets(_labelled()).version != engine.load_sheets(base_sheets()).version


@pytest.mark.parametrize(
    ("sheet", "cells", "at", "code", "words"),
    [
        ("Inputs", {"G1": "Colour"}, "Inputs!G1", "TV104", "unknown column 'Colour'"),
        ("Inputs", {"H1": "Value labels", "H5": "One, Two"}, "Inputs!H5", "TV118", "2 labels"),
        ("Inputs", {"H1": "Value labels", "H2": "Young"}, "Inputs!H2", "TV118", "need a list"),
        ("Disposition", {"A4": "Labels", "C4": "A, B"}, "Disposition!C4", "TV112", "2 labels"),
        ("Disposition", {"A4": "Labels", "B4": "x"}, "Disposition!B4", "TV112", "output columns"),
        ("Disposition", {"A4": "Notes"}, "Disposition!A4", "TV104", "row 4 must be empty"),
        ("Disposition", {"C4": "A, B, C"}, "Disposition!A4", "TV104", "row 4 must be empty"),
    ],
)
def test_label_mistakes_are_reported_at_their_cell(
    sheet: str, cells: dict[str, Any], at: str, code: str, words: str
) -> None:
    with pytest.raises(engine.WorkbookError) as caught:
        engine.load_sheets(set_cells(base_sheets(), sheet, cells))
    [problem] = caught.value.problems
    assert (str(problem.location), problem.code) == (at, code)
    assert words in problem.message and problem.fix


def test_the_bundled_workbook_labels_every_input_and_disposition() -> None:
    """Patients and nurses read the bundled table: no input, choice or disposition shows a
    code where words belong."""
    model = engine.load(ROOT / "decision_tables" / "muscle_twitching.xlsx").model
    for definition in model.inputs:
        assert definition.label, definition.name
        if definition.kind in (Kind.ENUM, Kind.BOOLEAN):
            assert definition.value_labels, definition.name
    for table in model.tables:
        for output in table.outputs:
            if output.allowed_values and output.kind is not Kind.TEXT:
                assert len(output.labels) == len(output.allowed_values), output.name
                assert all("_" not in label for label in output.labels), output.name


def test_the_words_are_indexed_once_per_model_and_freed_with_it() -> None:
    """The service swaps models on every reload: an index must never keep an old one alive."""
    model = engine.load_sheets(_labelled()).model
    assert labels_of(model) is labels_of(model)
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None
