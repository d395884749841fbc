"""Facts from a FHIR ``QuestionnaireResponse`` to the table's own Questionnaire.

An answer becomes the fact its ``linkId`` names. Nothing is guessed: a response to another
questionnaire or another version, an unknown ``linkId``, an answer of the wrong type or a
Bundle that is not one is refused with :class:`ResponseError`, which names every bad item or
field at once (the service answers it with a 422). A question left unanswered is simply not
a fact; whether it was required is the caller's business (the service lists the missing
questions on a card rather than evaluating without them).

Where several responses are given (a Bundle from a search), the latest ``authored`` one is
read, and :attr:`ReadFacts.notes` says so, for the card to show.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import FieldProblem, TriageError
from engine.fhir.questionnaire import DEFAULT_BASE, HELP_SUFFIX, canonical_url, value_system
from engine.model import InputDef, Kind, Model

IGNORED_STATUSES = ("entered-in-error",)
VALUE_KEYS = {
    Kind.BOOLEAN: ("valueBoolean",),
    Kind.INTEGER: ("valueInteger",),
    Kind.NUMBER: ("valueDecimal", "valueInteger"),
    Kind.ENUM: ("valueCoding",),
    Kind.TEXT: ("valueString",),
}


class ResponseError(TriageError):
    """The QuestionnaireResponse (or the Bundle holding it) cannot be read as facts;
    ``problems`` names every item or field."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems: tuple[FieldProblem, ...] = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class ReadFacts:
    """The facts one response gives, and what the reader had to choose to get them."""

    facts: dict[str, Any]
    response_id: str | None = None
    authored: str | None = None
    notes: tuple[str, ...] = ()


def responses_in(data: object, where: str) -> list[tuple[str, dict[str, Any]]]:
    """Every QuestionnaireResponse in ``data`` (one resource, or a Bundle of them), each with
    the path it was found at. Entries of other types (an OperationOutcome a search adds) are
    skipped; anything that is not a resource is a :class:`ResponseError` at its path."""
    if not isinstance(data, Mapping):
        raise ResponseError([FieldProblem(where, "must be a FHIR resource (a JSON object)")])
    kind = data.get("resourceType")
    if kind == "QuestionnaireResponse":
        return [(where, dict(data))]
    if kind != "Bundle":
        raise ResponseError([FieldProblem(
            f"{where}.resourceType",
            f"is {_show(kind)}; send a QuestionnaireResponse or a Bundle of them")])
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        raise ResponseError([FieldProblem(f"{where}.entry", "must be a list of entries")])
    found: list[tuple[str, dict[str, Any]]] = []
    problems: list[FieldProblem] = []
    for index, entry in enumerate(entries):
        path = f"{where}.entry[{index}]"
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"), str):
            problems.append(FieldProblem(
                f"{path}.resource", "must be a FHIR resource with a resourceType"))
        elif resource["resourceType"] == "QuestionnaireResponse":
            found.append((f"{path}.resource", dict(resource)))
    if problems:
        raise ResponseError(problems)
    return found


def latest(found: list[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any], list[str]]:
    """The response to read among several: the latest ``authored`` (one without a date
    counts as the oldest), with a note saying so when there was a choice."""
    live = [(p, r) for p, r in found if r.get("status") not in IGNORED_STATUSES]
    if not live:
        raise ResponseError([FieldProblem("QuestionnaireResponse", "no response to read")])
    chosen = max(enumerate(live), key=lambda pair: (_authored(pair[1][1]), pair[0]))[1]
    notes = []
    if len(live) > 1:
        when = _authored(chosen[1]) or "no date"
        notes.append(f"{len(live)} questionnaire responses were found; the latest "
                     f"(authored {when}) was used.")
    return chosen[0], chosen[1], notes


def _authored(response: Mapping[str, Any]) -> str:
    value = response.get("authored")
    return value if isinstance(value, str) else ""


def read_facts(model: Model, data: object, base_url: str = DEFAULT_BASE,
               where: str = "QuestionnaireResponse") -> ReadFacts:
    """The facts in ``data``: a QuestionnaireResponse, or a Bundle holding one or more (the
    latest is read). Raises :class:`ResponseError`."""
    found = responses_in(data, where)
    if not found:
        raise ResponseError([FieldProblem(where, "holds no QuestionnaireResponse")])
    path, response, notes = latest(found)
    _check_questionnaire(model, base_url, response, path)
    facts, problems = _answers(model, base_url, response.get("item", []), f"{path}.item")
    if problems:
        raise ResponseError(problems)
    rid = response.get("id")
    return ReadFacts(facts, rid if isinstance(rid, str) else None,
                     _authored(response) or None, tuple(notes))


def _check_questionnaire(model: Model, base_url: str, response: Mapping[str, Any],
                         path: str) -> None:
    named = response.get("questionnaire")
    field = f"{path}.questionnaire"
    expected = canonical_url(model, base_url)
    version = model.about.version
    if not isinstance(named, str) or not named:
        raise ResponseError([FieldProblem(field, f"is missing; it must name '{expected}|"
                                                 f"{version}'")])
    url, _, given = named.partition("|")
    if url != expected:
        raise ResponseError([FieldProblem(
            field, f"is '{_clip(named)}', another questionnaire; this service reads answers "
                   f"to '{expected}|{version}'")])
    if given and given != version:
        raise ResponseError([FieldProblem(
            field, f"is version {_clip(given)} of the questionnaire; the table now serving is "
                   f"version {version} — answer '{expected}|{version}'")])


def _answers(model: Model, base_url: str, items: object,
             where: str) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Walk the items (groups included) and read each answered one."""
    facts: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    if not isinstance(items, list):
        return facts, [FieldProblem(where, "must be a list of items")]
    for index, item in enumerate(items):
        path = f"{where}[{index}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("linkId"), str):
            problems.append(FieldProblem(path, "must be an item with a linkId"))
            continue
        link = item["linkId"]
        if "item" in item:
            nested, more = _answers(model, base_url, item["item"], f"{path}.item")
            problems += more
            for name, value in nested.items():
                _put(facts, problems, name, value, path)
        answers = item.get("answer")
        if answers in (None, []):
            continue
        definition = model.input(link)
        if definition is None:
            if not link.endswith(HELP_SUFFIX):
                problems.append(FieldProblem(link, _unknown(model, link, path)))
            continue
        value, problem = _answer(model, base_url, definition, answers, path)
        if problem is not None:
            problems.append(FieldProblem(link, problem))
        else:
            _put(facts, problems, link, value, path)
    return facts, problems


def _put(facts: dict[str, Any], problems: list[FieldProblem], name: str, value: Any,
         path: str) -> None:
    if name in facts:
        problems.append(FieldProblem(name, f"is answered twice (again at {path})"))
    else:
        facts[name] = value


def _answer(model: Model, base_url: str, definition: InputDef, answers: object,
            path: str) -> tuple[Any, str | None]:
    """The one answer's value, or what is wrong with it."""
    if not isinstance(answers, list):
        return None, f"{path}.answer must be a list of answers"
    if len(answers) != 1:
        return None, f"{path} has {len(answers)} answers; this question takes one"
    answer = answers[0]
    where = f"{path}.answer[0]"
    if not isinstance(answer, Mapping):
        return None, f"{where} must be an object with one value[x]"
    keys = [k for k in answer if isinstance(k, str) and k.startswith("value")]
    expected = VALUE_KEYS[definition.kind]
    if len(keys) != 1 or keys[0] not in expected:
        sent = ", ".join(keys) or "no value"
        return None, (f"{where} is {sent}; this is a {definition.kind.value} question — "
                      f"send {' or '.join(expected)}")
    value = answer[keys[0]]
    if definition.kind is Kind.ENUM:
        return _coding(model, base_url, definition, value, f"{where}.valueCoding")
    return value, None  # its type and range are checked with every other fact's


def _coding(model: Model, base_url: str, definition: InputDef, coding: object,
            where: str) -> tuple[Any, str | None]:
    if not isinstance(coding, Mapping) or not isinstance(coding.get("code"), str):
        return None, f"{where} must have a code"
    system = coding.get("system")
    expected = value_system(model, base_url, definition.name)
    if system is not None and system != expected:
        return None, f"{where}.system is '{_clip(str(system))}'; expected '{expected}'"
    return coding["code"], None  # an unknown code is refused by the fact check, by name


def _unknown(model: Model, link: str, path: str) -> str:
    close = difflib.get_close_matches(link, [i.name for i in model.inputs], n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{path}: linkId '{_clip(link)}' is not a question of this questionnaire{hint}"


def _show(value: object) -> str:
    return f"'{_clip(value)}'" if isinstance(value, str) else "missing"


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
