"""The FHIR R4 ``Questionnaire`` an Inputs sheet makes: one item per input.

An EHR collects the answers with this form and sends them back as a
``QuestionnaireResponse`` (:mod:`engine.fhir.responses` reads it). Each item's ``linkId`` is
the input's name, so an answer maps to a fact with no table of correspondences to keep; its
``text`` is the input's label. Unit and range use the standard extensions (``questionnaire-
unit``, ``minValue``, ``maxValue``) that form renderers understand; a range that these cannot
state exactly (an open bound on a decimal, several intervals) is left to the service, which
refuses a value outside it with a 422 naming the item.
"""

from __future__ import annotations

import math
from typing import Any

from engine.conditions import AnyOf, Between, Compare, Condition
from engine.errors import TriageError
from engine.labels import name_label, value_label
from engine.model import InputDef, Kind, Model

UNIT_EXTENSION = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
MIN_EXTENSION = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_EXTENSION = "http://hl7.org/fhir/StructureDefinition/maxValue"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
VERSION_SYSTEM = "urn:triage-rules:version"  # the identifier that holds the content hash
HELP_SUFFIX = ".help"  # linkId of the display item holding an input's description

ITEM_TYPES = {
    Kind.BOOLEAN: "boolean",
    Kind.INTEGER: "integer",
    Kind.NUMBER: "decimal",
    Kind.ENUM: "choice",
    Kind.TEXT: "string",
}
DEFAULT_BASE = "http://127.0.0.1:8000"  # what `make run` serves; a deployment sets its own


def canonical_url(model: Model, base_url: str = DEFAULT_BASE) -> str:
    """The questionnaire's canonical URL: the same for every version of a table, which the
    ``version`` tells apart (a response names both, ``url|version``)."""
    return f"{base_url.rstrip('/')}/Questionnaire/{model.about.table_id}"


def value_system(model: Model, base_url: str, name: str) -> str:
    """The code system of an enum input's values (codes are only unique within an input)."""
    return f"{canonical_url(model, base_url)}/{name}"


def questionnaire(model: Model, base_url: str = DEFAULT_BASE) -> dict[str, Any]:
    """The Questionnaire, as JSON data, for the table's current content."""
    about = model.about
    document: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": about.table_id.replace("_", "-"),
        "url": canonical_url(model, base_url),
        "identifier": [{"system": VERSION_SYSTEM, "value": model.version}],
        "version": about.version,
        "name": _computable_name(about.table_id),
        "title": about.title or about.table_id,
        "status": "draft",
        "subjectType": ["Patient"],
        "item": [_item(model, base_url, i) for i in model.inputs],
    }
    if about.description:
        document["description"] = about.description
    if about.owner:
        document["publisher"] = about.owner
    return document


class InvalidQuestionnaire(TriageError):
    """The generated document is not valid FHIR R4: a bug of this module, never the
    workbook's fault, so it is reported rather than sent."""


def check_r4(document: dict[str, Any]) -> None:
    """Check ``document`` against the fhir.resources R4 model (R4B's Questionnaire is R4's).
    The import is here, not at the top: it takes a third of a second, and only the
    command line and the questionnaire endpoint (once per table version) need it."""
    from fhir.resources.R4B.questionnaire import Questionnaire
    from pydantic import ValidationError

    try:
        Questionnaire.model_validate(document)
    except ValidationError as error:
        raise InvalidQuestionnaire(
            f"the Questionnaire made for '{document.get('url')}' is not valid FHIR R4: "
            f"{error.errors(include_url=False)[:3]}") from error


def _computable_name(table_id: str) -> str:
    """FHIR's ``name`` must start with a capital letter: ``muscle_twitching`` ->
    ``MuscleTwitching``."""
    return "".join(part[:1].upper() + part[1:] for part in table_id.split("_")) or "Table"


def _item(model: Model, base_url: str, definition: InputDef) -> dict[str, Any]:
    item: dict[str, Any] = {
        "linkId": definition.name,
        "text": name_label(model, definition.name),
        "type": ITEM_TYPES[definition.kind],
        "required": definition.required,
    }
    extensions = _unit(definition) + _range(definition)
    if extensions:
        item["extension"] = extensions
    if definition.kind is Kind.ENUM:
        system = value_system(model, base_url, definition.name)
        item["answerOption"] = [
            {"valueCoding": {"system": system, "code": value,
                             "display": value_label(model, definition.name, value)}}
            for value in definition.allowed_values
        ]
    if definition.description:
        item["item"] = [{
            "linkId": definition.name + HELP_SUFFIX,
            "text": definition.description,
            "type": "display",
            "extension": [{"url": ITEM_CONTROL, "valueCodeableConcept": {"coding": [
                {"system": ITEM_CONTROL_SYSTEM, "code": "help"}]}}],
        }]
    return item


def _unit(definition: InputDef) -> list[dict[str, Any]]:
    if not definition.unit or definition.kind not in (Kind.INTEGER, Kind.NUMBER):
        return []
    return [{"url": UNIT_EXTENSION, "valueCoding": {"display": definition.unit}}]


def _range(definition: InputDef) -> list[dict[str, Any]]:
    """minValue and maxValue for what can be said exactly with inclusive bounds."""
    if definition.kind not in (Kind.INTEGER, Kind.NUMBER) or definition.value_range is None:
        return []
    low, high = bounds(definition.value_range, definition.kind is Kind.INTEGER)
    key = "valueInteger" if definition.kind is Kind.INTEGER else "valueDecimal"
    found = []
    if low is not None:
        found.append({"url": MIN_EXTENSION, key: low})
    if high is not None:
        found.append({"url": MAX_EXTENSION, key: high})
    return found


def bounds(condition: Condition, integer: bool) -> tuple[float | int | None, float | int | None]:
    """The inclusive (low, high) a single-interval range states; None for a side it leaves
    open or cannot state inclusively (an open bound on a decimal)."""
    items = condition.items if isinstance(condition, AnyOf) else (condition,)
    if len(items) != 1:
        return None, None
    item = items[0]
    if isinstance(item, Between):
        return (_inclusive(item.low, item.low_closed, integer, 1),
                _inclusive(item.high, item.high_closed, integer, -1))
    if isinstance(item, Compare) and isinstance(item.value, int | float):
        value = item.value
        if item.op in (">=", ">"):
            return _inclusive(value, item.op == ">=", integer, 1), None
        if item.op in ("<=", "<"):
            return None, _inclusive(value, item.op == "<=", integer, -1)
    return None, None


def _inclusive(value: float | int, closed: bool, integer: bool,
               step: int) -> float | int | None:
    """An inclusive bound: ``> 2`` on an integer is ``>= 3``; ``> 2.5`` on a decimal has
    none (``step`` is +1 for a low bound, -1 for a high one)."""
    if not integer:
        return value if closed else None
    if step > 0:
        return math.ceil(value) if closed else math.floor(value) + 1
    return math.floor(value) if closed else math.ceil(value) - 1
