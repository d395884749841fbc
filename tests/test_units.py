"""A unit typed into a cell gets a message naming both units, not a parse error."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.units import unit_in_cell
from tests.validation.workbooks import base_sheets, build
from tests.xlsx import set_cells


@pytest.mark.parametrize(
    ("text", "declared", "fix"),
    [
        ("> 2 weeks", "days", "write '> 14' (> 2 weeks in days)"),
        ("[1..3] days", "hours", "write '[24..72]' ([1..3] days in hours)"),
        (">= 38 °C", "degrees C", "write the number without the unit: '>= 38', meaning degrees C"),
        ("< 2.5 mmol/L", "mmol/L", "write the number without the unit: '< 2.5', meaning mmol/L"),
        ("> 2 hours", "days", "write the number without the unit: '> 2', meaning days"),
    ],
)
def test_the_fix_converts_time_units_and_names_the_declared_unit(
    text: str, declared: str, fix: str
) -> None:
    found = unit_in_cell(text, "x", declared)
    assert found is not None
    message, given = found
    assert f"in {declared} (Inputs sheet)" in message
    assert given == fix


@pytest.mark.parametrize("text", ["> abc", "focal", ">= 5 and", "[1..5"])
def test_other_mistakes_are_not_taken_for_units(text: str) -> None:
    assert unit_in_cell(text, "x", "days") is None


def test_a_unit_in_a_rule_cell_is_reported_at_the_cell(tmp_path: Path) -> None:
    path = build(tmp_path / "b.xlsx", set_cells(base_sheets(), "Severity", {"D10": ">= 65 years"}))
    with pytest.raises(engine.WorkbookError) as caught:
        engine.load(path)
    [problem] = caught.value.problems
    assert (str(problem.location), problem.code) == ("Severity!D10", "TV201")
    assert "'years'" in problem.message and "age_years is measured in years" in problem.message
    assert problem.fix == "write the number without the unit: '>= 65', meaning years"
