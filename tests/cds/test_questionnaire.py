"""The FHIR Questionnaire made from the Inputs sheet, checked against the fhir.resources
R4 models (R4B, whose Questionnaire is R4's) and against the sheet it came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fhir.resources.R4B.questionnaire import Questionnaire

import engine
from engine.cli import main
from engine.conditions import parse_condition
from engine.fhir.questionnaire import (
    MAX_EXTENSION,
    MIN_EXTENSION,
    UNIT_EXTENSION,
    bounds,
    questionnaire,
)
from tests.cds.test_responses import labelled_model
from tests.service.conftest import WORKBOOK


@pytest.fixture(scope="module")
def bundled() -> engine.CompiledModel:
    return engine.load(WORKBOOK)


def _extensions(item: dict[str, Any]) -> dict[str, Any]:
    return {e["url"]: e for e in item.get("extension", [])}


def test_the_bundled_table_gives_a_valid_r4_questionnaire(bundled: Any) -> None:
    document = questionnaire(bundled.model, "https://triage.example.org")
    parsed = Questionnaire.model_validate(document)  # raises on anything not R4
    assert parsed.url == "https://triage.example.org/Questionnaire/muscle_twitching"
    assert parsed.version == bundled.model.about.version == "2.0.0"
    assert [i.linkId for i in parsed.item] == [i.name for i in bundled.model.inputs]
    assert {i["type"] for i in document["item"]} == {"integer", "decimal", "boolean", "choice"}
    by_name = {i["linkId"]: i for i in document["item"]}
    age = by_name["age_years"]
    assert age["required"] is True and age["type"] == "integer"
    ext = _extensions(age)
    assert ext[UNIT_EXTENSION]["valueCoding"]["display"] == "years"
    assert ext[MIN_EXTENSION] == {"url": MIN_EXTENSION, "valueInteger": 16}
    assert ext[MAX_EXTENSION] == {"url": MAX_EXTENSION, "valueInteger": 120}
    temperature = by_name["temperature_c"]
    assert temperature["required"] is False and temperature["type"] == "decimal"
    assert _extensions(temperature)[MIN_EXTENSION]["valueDecimal"] == 10
    duration = _extensions(by_name["duration_days"])  # ">= 0": a floor and no ceiling
    assert duration[MIN_EXTENSION]["valueDecimal"] == 0 and MAX_EXTENSION not in duration
    weakness = by_name["weakness"]
    assert [o["valueCoding"]["code"] for o in weakness["answerOption"]] == [
        "none", "gradual", "rapid", "sudden"]
    assert weakness["item"][0]["type"] == "display"  # the description, as help text


def test_labels_and_value_labels_are_the_texts() -> None:
    model = labelled_model()
    document = questionnaire(model)
    Questionnaire.model_validate(document)
    by_name = {i["linkId"]: i for i in document["item"]}
    assert by_name["pattern"]["text"] == "Where is the twitching?"
    assert [o["valueCoding"]["display"] for o in by_name["pattern"]["answerOption"]] == [
        "One spot", "Two, or more, spots", "All over"]
    assert by_name["temperature_c"]["text"] == "Temperature"
    assert by_name["red_flag"]["text"] == "Any red flag?"


@pytest.mark.parametrize(("cell", "integer", "expected"), [
    ("[0..120]", True, (0, 120)),
    ("]0..120[", True, (1, 119)),
    ("> 2.5", True, (3, None)),
    ("<= 7.5", True, (None, 7)),
    ("> 0", False, (None, None)),  # an open bound on a decimal cannot be said inclusively
    ("[0.5..5]", False, (0.5, 5)),
    ("[1..2], [5..6]", True, (None, None)),  # several intervals: left to the fact check
])
def test_ranges_become_inclusive_bounds(cell: str, integer: bool,
                                        expected: tuple[Any, Any]) -> None:
    assert bounds(parse_condition(cell), integer) == expected


def test_the_command_writes_the_same_document(tmp_path: Path, bundled: Any) -> None:
    out = tmp_path / "q.json"
    result = CliRunner().invoke(main, ["questionnaire", str(WORKBOOK), "-o", str(out),
                                       "--base-url", "https://triage.example.org"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == questionnaire(bundled.model,
                                                        "https://triage.example.org")


def test_the_command_refuses_a_missing_workbook(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["questionnaire", str(tmp_path / "none.xlsx")])
    assert result.exit_code == 2
    assert "file not found" in result.output and "Traceback" not in result.output


def test_a_document_that_is_not_r4_is_refused_not_sent(bundled: Any) -> None:
    from engine.fhir.questionnaire import InvalidQuestionnaire, check_r4

    document = questionnaire(bundled.model)
    check_r4(document)
    document["item"][0]["type"] = 7  # a bug in the generator would look like this
    with pytest.raises(InvalidQuestionnaire, match="Questionnaire/muscle_twitching"):
        check_r4(document)
