"""Facts from a QuestionnaireResponse: the answers a form collected become the facts, and
anything that is not an answer to this table's questionnaire is refused by name."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

import engine
from engine.fhir.responses import ResponseError, read_facts
from engine.model import Model
from tests.cds.fhirdata import bundle, response
from tests.test_labels import _labelled

FACTS: dict[str, Any] = {"age_years": 40, "temperature_c": 37.5, "red_flag": False,
                         "pattern": "focal"}


def labelled_model() -> Model:
    return engine.load_sheets(_labelled()).model


@pytest.fixture(scope="module")
def model() -> Model:
    return labelled_model()


def _problems(model: Model, data: Any) -> list[tuple[str, str]]:
    with pytest.raises(ResponseError) as caught:
        read_facts(model, data)
    return [(p.field, p.message) for p in caught.value.problems]


def test_answers_become_facts(model: Model) -> None:
    document = response(model, FACTS)
    QuestionnaireResponse.model_validate(document)  # the test data itself is valid R4
    read = read_facts(model, document)
    assert read.facts == FACTS
    assert read.notes == () and read.response_id == "qr-1"


def test_groups_are_read_and_unanswered_items_are_no_facts(model: Model) -> None:
    document = response(model, FACTS)
    document["item"] = [{"linkId": "group", "item": document["item"]},
                        {"linkId": "comment"}, {"linkId": "pattern.help"}]
    assert read_facts(model, document).facts == FACTS


def test_the_latest_of_several_responses_is_read_and_said(model: Model) -> None:
    older = response(model, {**FACTS, "age_years": 70}, "2026-01-01T10:00:00Z", rid="old")
    newer = response(model, FACTS, "2026-11-30T09:15:00Z", rid="new")
    erased = response(model, FACTS, "2026-12-01T09:15:00Z", rid="gone")
    erased["status"] = "entered-in-error"
    data = bundle(older, newer, erased)
    Bundle.model_validate(data)
    read = read_facts(model, data)
    assert read.response_id == "new" and read.facts["age_years"] == 40
    assert read.notes == ("2 questionnaire responses were found; the latest "
                          "(authored 2026-11-30T09:15:00Z) was used.",)


def test_a_response_to_another_questionnaire_is_refused(model: Model) -> None:
    document = response(model, FACTS)
    document["questionnaire"] = "http://other.example.org/Questionnaire/phq9|1.0.0"
    [(field, message)] = _problems(model, document)
    assert field == "QuestionnaireResponse.questionnaire"
    assert "another questionnaire" in message and "mini_triage|1.0.0" in message


def test_a_response_to_another_version_is_refused(model: Model) -> None:
    document = response(model, FACTS)
    document["questionnaire"] = document["questionnaire"].replace("|1.0.0", "|0.9.0")
    [(field, message)] = _problems(model, document)
    assert field == "QuestionnaireResponse.questionnaire"
    assert "version 0.9.0" in message and "version 1.0.0" in message


@pytest.mark.parametrize(("name", "answer", "expected"), [
    ("age_years", {"valueString": "forty"}, "valueString; this is a integer question"),
    ("age_years", {"valueDecimal": 40.5}, "send valueInteger"),
    ("red_flag", {"valueCoding": {"code": "yes"}}, "send valueBoolean"),
    ("pattern", {"valueString": "focal"}, "send valueCoding"),
    ("pattern", {"valueCoding": {"system": "http://snomed.info/sct", "code": "focal"}},
     "valueCoding.system is 'http://snomed.info/sct'"),
    ("pattern", {"valueCoding": {"display": "focal"}}, "must have a code"),
    ("temperature_c", {}, "is no value"),
])
def test_answers_of_the_wrong_type_name_the_item(model: Model, name: str,
                                                 answer: dict[str, Any], expected: str) -> None:
    document = response(model, FACTS)
    item = next(i for i in document["item"] if i["linkId"] == name)
    item["answer"] = [answer]
    [(field, message)] = _problems(model, document)
    assert field == name and expected in message, message


def test_two_answers_to_one_question_are_refused(model: Model) -> None:
    document = response(model, FACTS)
    document["item"][0]["answer"] *= 2
    assert _problems(model, document) == [
        ("age_years", "QuestionnaireResponse.item[0] has 2 answers; this question takes one")]


def test_unknown_link_ids_are_refused_with_a_suggestion(model: Model) -> None:
    document = response(model, FACTS)
    document["item"].append({"linkId": "age_yeers", "answer": [{"valueInteger": 3}]})
    document["item"].append({"linkId": "shoe_size", "answer": [{"valueInteger": 43}]})
    problems = _problems(model, document)
    assert [f for f, _ in problems] == ["age_yeers", "shoe_size"]
    assert "did you mean 'age_years'?" in problems[0][1]
    assert "not a question of this questionnaire" in problems[1][1]


@pytest.mark.parametrize(("data", "field", "expected"), [
    ([], "QuestionnaireResponse", "must be a FHIR resource"),
    ({"resourceType": "Patient"}, "QuestionnaireResponse.resourceType", "is 'Patient'"),
    ({"resourceType": "Bundle", "entry": {}}, "QuestionnaireResponse.entry", "must be a list"),
    ({"resourceType": "Bundle", "entry": [{"fullUrl": "x"}]},
     "QuestionnaireResponse.entry[0].resource", "must be a FHIR resource"),
    ({"resourceType": "Bundle", "entry": [{"resource": {"id": "1"}}]},
     "QuestionnaireResponse.entry[0].resource", "with a resourceType"),
    ({"resourceType": "Bundle", "entry": []}, "QuestionnaireResponse",
     "holds no QuestionnaireResponse"),
    ({"resourceType": "QuestionnaireResponse", "status": "completed", "item": {}},
     "QuestionnaireResponse.questionnaire", "is missing"),
])
def test_malformed_data_is_refused_by_field(model: Model, data: Any, field: str,
                                            expected: str) -> None:
    problems = _problems(model, copy.deepcopy(data))
    assert problems[0][0] == field and expected in problems[0][1], problems


def test_items_that_are_not_items_are_refused(model: Model) -> None:
    document = response(model, FACTS)
    document["item"] = [{"text": "no linkId"}, 3]
    assert [f for f, _ in _problems(model, document)] == [
        "QuestionnaireResponse.item[0]", "QuestionnaireResponse.item[1]"]
